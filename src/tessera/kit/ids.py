"""Prefixed, sortable identifiers: ``cus_01J9Z3...``.

A ULID sorts by creation time, so a primary key index doubles as a time index and cursor
pagination can page on the id alone. The prefix tells a human what kind of thing an id names.
"""

from __future__ import annotations

import re

from ulid import ULID

_PREFIX = re.compile(r"^[a-z]{2,6}$")


def new_id(prefix: str) -> str:
    """A new id such as ``ws_01JAB...``; refuses a prefix that is not 2 to 6 lowercase letters."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"id prefix must be 2-6 lowercase letters, got {prefix!r}")
    return f"{prefix}_{ULID()}"


def has_prefix(value: str, prefix: str) -> bool:
    """Whether ``value`` looks like an id made by ``new_id(prefix)``."""
    head, _, tail = value.partition("_")
    return head == prefix and len(tail) == 26
