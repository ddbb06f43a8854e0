"""Cursor pagination on sortable ids: the cursor is the last id seen, opaque to callers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from tessera.kit.bounds import storable_text_problem
from tessera.kit.errors import InvalidInput


class HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T")
R = TypeVar("R", bound=HasId)

MAX_LIMIT = 200
CURSOR_MAX_LENGTH = 200  # this API's cursors are under 60 characters


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id a cursor points after; refuses a cursor this API did not make."""
    if not cursor:
        return None
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not one this API returned", field="cursor") from None
    if "_" not in value or storable_text_problem(value) is not None:
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return value


def clamp_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor for the next, or None at the end."""

    items: Sequence[T]
    next_cursor: str | None


def page_from(rows: Sequence[R], limit: int) -> Page[R]:
    """Build a page from ``limit + 1`` fetched rows (the extra one only says there is more)."""
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].id) if has_more and items else None
    return Page(items=items, next_cursor=next_cursor)
