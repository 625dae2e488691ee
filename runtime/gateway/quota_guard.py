"""When a quota check may be skipped: only while Redis cannot be reached.

A Redis that answers with an error (a refused AUTH, out of memory, a broken script) is not an outage the
platform should ride out by serving without limits: those requests get 503. While Redis is unreachable,
requests are served unchecked (inference must not go down with Redis) and ``helixflow_quota_fail_open`` is 1.
"""

from __future__ import annotations

from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from helixflow.runtime.common.errors import ApiError


def may_fail_open(err: BaseException) -> bool:
    """Whether ``err`` says Redis is unreachable (a refused or dropped connection, a timeout)."""
    if isinstance(err, AuthenticationError):  # redis-py files a refused AUTH under ConnectionError
        return False
    return isinstance(err, RedisConnectionError | RedisTimeoutError | OSError)


def quota_unavailable(err: BaseException) -> ApiError:
    return ApiError(503, f"quota backend unavailable ({type(err).__name__})", code="quota_unavailable",
                    headers={"Retry-After": "1"})
