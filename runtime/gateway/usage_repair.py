"""What a usage record PostgreSQL rejects is, and how it still gets its billing row.

Only SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation) say that the record itself
is at fault. Everything else (too many connections 53300, read-only after a failover 25006, disk full 53100,
statement timeout 57014, admin or crash shutdown 57P01/57P02, deadlock 40P01, serialization 40001, a dropped
connection, a missing table during a migration) is an incident: the batch is retried with backoff and nothing
is dead-lettered for it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
import orjson

DATA_CLASSES = ("22", "23")
DROPPED = "content dropped: PostgreSQL rejected the record's data"
# A JSON ``\u0000`` escape not itself escaped (an even run of backslashes before it): PostgreSQL's text and
# jsonb refuse NUL (22P05). Stripped in the JSON text, so a batch is not decoded and encoded again.
_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def is_data_error(err: BaseException) -> bool:
    """Whether PostgreSQL (or the record's encoding) refused the record for its content, not for an outage."""
    if isinstance(err, UnicodeDecodeError | orjson.JSONDecodeError):
        return True
    sqlstate = getattr(err, "sqlstate", None)
    return isinstance(err, asyncpg.PostgresError) and isinstance(sqlstate, str) and sqlstate[:2] in DATA_CLASSES


def strip_nul(batch: bytes) -> bytes:
    return _NUL.sub(rb"\1", batch) if b"\\u0000" in batch else batch


def without_content(record: bytes, reason: str) -> bytes:
    """The record with only what billing needs: no messages, parameters, response; the reason as its error.

    Raises ValueError when the record is not a JSON object (nothing to bill from: it is dead-lettered).
    """
    try:  # the standard library's parser: it takes what orjson refuses (an unpaired surrogate's escape)
        data: Any = json.loads(record)
    except (ValueError, RecursionError) as err:
        raise ValueError("not a JSON record") from err
    if not isinstance(data, dict):
        raise ValueError("not a JSON record")
    data.update(messages=None, parameters=None, response=None, error_message=f"{DROPPED} ({reason})"[:500])
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "replace")
