"""Random version-4 UUIDs for request and row ids, without a system call each.

``uuid.uuid4()`` reads ``os.urandom`` (a getrandom call) every time; these ids need to be
unique, not secret, so they come from ``random``, which is seeded from the OS at start and
again in every forked child.
"""

from __future__ import annotations

import random

_VERSION_4 = (0x4 << 76) | (0x2 << 62)  # the version nibble and the RFC 4122 variant bits
_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)


def uuid4_hex() -> str:
    return f"{random.getrandbits(128) & _MASK | _VERSION_4:032x}"


def uuid4_str() -> str:
    h = uuid4_hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
