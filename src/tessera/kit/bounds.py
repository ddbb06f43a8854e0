"""What a number or a piece of text must be for the database to keep it.

PostgreSQL's ``integer`` holds 32 bits and ``bigint`` 64; its text and JSON hold no NUL
character, and no string that is not valid Unicode (a lone surrogate) can be sent to it at all.
A value past those is refused where it enters, naming its field, never left to become an
"integer out of range" or "text fields cannot contain NUL" 500 deep inside a request. The
annotated types below are the bounds pydantic schemas use; the functions serve parsers that
read files and bodies by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, Field

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Money in minor units is a bigint; a quantity times a price must still fit one, so amounts
# stop at a quadrillion minor units (10^13 dollars), which no order or price comes near.
MAX_MINOR_UNITS = 10**15
MAX_QUANTITY = 1_000_000  # units in one line, one adjustment, one count

Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
# Signed, for payloads whose mapping refuses negatives itself with its own words.
Units = Annotated[int, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
MinorAmount = Annotated[int, Field(ge=-MAX_MINOR_UNITS, le=MAX_MINOR_UNITS)]

NUL = "\x00"
# Days a person can mean: far enough from 0001 and 9999 that a window, the period before it or
# the day after it never falls off the calendar (an OverflowError, a 500).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9000, 12, 31)


def day_problem(day: date) -> str | None:
    """Why ``day`` is no day to ask about, or None when it is one."""
    if not FIRST_DAY <= day <= LAST_DAY:
        return f"must be between {FIRST_DAY} and {LAST_DAY}"
    return None


def storable_text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if NUL in value:
        return "must not contain the NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds a lone surrogate)"
    return None


def _storable(value: str) -> str:
    problem = storable_text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


StorableText = Annotated[str, AfterValidator(_storable)]


def unstorable_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field, problem) for every string or key inside a JSON value that cannot be stored,
    the field written as ``items.0.sku``; also numbers that are not finite (NaN, Infinity),
    which JSON has no words for."""
    if isinstance(value, str):
        problem = storable_text_problem(value)
        if problem is not None:
            yield path, problem
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            yield path, "must be a finite number"
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            key_problem = storable_text_problem(str(key))
            if key_problem is not None:
                yield path, f"keys {key_problem}"
                continue
            yield from unstorable_in(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_in(item, f"{path}.{index}" if path else str(index))


def printable(text: str) -> str:
    """Text fit to log, answer with and store as a field name: NUL and lone surrogates shown
    as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace(NUL, "\\x00")


def fits_int32(value: int) -> bool:
    return -INT32_MAX - 1 <= value <= INT32_MAX
