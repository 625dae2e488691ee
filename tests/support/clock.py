"""The runtime's limits count in calendar minutes of the wall clock (quotas, sign-in attempts): a test that
counts requests against one must not see it roll over part way."""

from __future__ import annotations

import time


def avoid_minute_boundary(room_s: float = 5) -> None:
    """Returns with at least `room_s` seconds left in the current minute, sleeping into the next if need be."""
    left = 60 - time.time() % 60
    if left < room_s:
        time.sleep(left + 0.1)
