"""One JSON line per request on stdout. Fields are chosen by the caller, so no header (key, token) leaks in."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import orjson

LOGGER_NAME = "helixflow.requests"
FLUSH_DELAY = 0.05


def request_logger() -> logging.Logger:
    """A logger writing bare JSON lines; configured once per process."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def log_request(logger: logging.Logger, fields: dict[str, Any]) -> None:
    logger.info(orjson.dumps(fields).decode())


def request_log_writer() -> Callable[[bytes], Any]:
    """Writes finished JSON lines straight to stdout: the logging module's records cost more than the proxying.

    Inside an event loop lines are flushed FLUSH_DELAY after the first unflushed one (or when the 8 KiB
    buffer fills): a write per line was a system call per request, and on a pipe each one wakes the reader.
    A crash loses at most that much of the log, never usage (that is on the Redis stream). Outside a loop
    each line is flushed at once.
    """
    stream = sys.stdout.buffer
    lock = threading.Lock()
    pending = False

    def flush() -> None:
        nonlocal pending
        with lock:
            pending = False
            stream.flush()

    def write(line: bytes) -> None:
        nonlocal pending
        with lock:
            stream.write(line)
            if pending:
                return
            try:
                asyncio.get_running_loop().call_later(FLUSH_DELAY, flush)
                pending = True
            except RuntimeError:  # no loop in this thread
                stream.flush()

    return write
