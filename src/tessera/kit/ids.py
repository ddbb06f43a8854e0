"""Prefixed, sortable identifiers: ``cus_01J9Z3...``.

A ULID sorts by creation time, so a primary key index doubles as a time index and cursor
pagination can page on the id alone. The prefix tells a human what kind of thing an id names.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import time
from collections.abc import Iterator

from ulid import ULID

_PREFIX = re.compile(r"^[a-z]{2,6}$")


def new_id(prefix: str) -> str:
    """A new id such as ``ws_01JAB...``; refuses a prefix that is not 2 to 6 lowercase letters."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"id prefix must be 2-6 lowercase letters, got {prefix!r}")
    return f"{prefix}_{ULID()}"


_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` new ids at once, in ascending order, for bulk writes.

    The same ULID layout as ``new_id`` (48 bits of milliseconds, then 80 bits), several times
    cheaper per id: one timestamp and one random start for the lot, then consecutive values,
    so they sort in the order they were made (as ``new_id``'s do within a process).
    """
    return list(itertools.islice(id_stream(prefix), count))


def id_stream(prefix: str) -> Iterator[str]:
    """``new_ids`` drawn one at a time, as many as wanted: ascending, from one timestamp and
    one random start."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"id prefix must be 2-6 lowercase letters, got {prefix!r}")
    return _stream(prefix)


def _stream(prefix: str) -> Iterator[str]:
    # 48 bits of time as 10 characters: the top 50 of 56 bits, two leading zero bits first.
    head = _encode((int(time.time() * 1000) << 6).to_bytes(7, "big"))[:10]
    value = secrets.randbits(79)  # room below 2**80 for the increments
    high = -1
    stem = ""
    pair = _PAIRS
    while True:
        if value >> 20 != high:  # the first 12 of the 16 characters change rarely
            high = value >> 20
            stem = f"{prefix}_{head}{_encode((high << 4).to_bytes(8, 'big'))[:12]}"
        yield stem + pair[(value >> 10) & 1023] + pair[value & 1023]
        value += 1


def _encode(data: bytes) -> str:
    """Crockford base 32 of ``data``, most significant bits first (RFC 4648 bit order)."""
    return base64.b32encode(data).translate(_CROCKFORD).decode()


# Every 10-bit value as its two characters.
_PAIRS = [_encode((n << 6).to_bytes(2, "big"))[:2] for n in range(1024)]


def has_prefix(value: str, prefix: str) -> bool:
    """Whether ``value`` looks like an id made by ``new_id(prefix)``."""
    head, _, tail = value.partition("_")
    return head == prefix and len(tail) == 26
