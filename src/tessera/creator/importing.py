"""Reading a creators CSV: one ``CreatorIn`` per row, or the row's problems, each naming its
line and column, so one bad row never stops the rest.

Columns (any order; unknown columns are ignored, ``name`` is required):
``name, email, status, niches, bio, captions, notes, currency, rates, audience_countries,
audience_ages, audience_genders`` and, per platform (``tiktok``, ``instagram``, ``youtube``,
``pinterest``, ...), ``<platform>`` (a handle or the profile's URL), ``<platform>_followers``
(``48200``, ``48,200``, ``48.2k``, ``1.2M``), ``<platform>_engagement`` (``5.2%`` or
``0.052``) and ``<platform>_url``. Lists are separated by ``;`` or ``|``; splits and rates are
``key:value`` pairs (``US:61%;CA:12%``, ``tiktok_video:45000`` in minor units).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tessera.creator import domain
from tessera.creator.schemas import CreatorIn

LIST_SEPARATOR = re.compile(r"[;|]")
_COUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmM]?)$")
MAX_CELL = 20_000
MAX_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    detail: str


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # the file's line where the row starts (the header is line 1)
    creator: CreatorIn | None
    problems: list[Problem] = field(default_factory=list)


class HeaderError(ValueError):
    """The file has no header or no ``name`` column."""


def read_rows(lines: Iterable[str]) -> Iterator[Row]:
    """Each data row of the file, parsed or with its problems."""
    reader = csv.reader(lines)
    try:
        header = [h.strip().lower().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise HeaderError("the file is empty") from None
    except csv.Error as exc:
        raise HeaderError(f"line 1: {exc}") from None
    if "name" not in header:
        raise HeaderError("line 1: the header has no 'name' column")
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(start, None, [Problem("(row)", str(exc))])
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield Row(line, None, [Problem("(row)", f"{len(cells)} cells, the header has "
                                                    f"{len(header)}")])  # fmt: skip
            continue
        yield parse_row(line, dict(zip(header, cells, strict=False)))


def parse_row(line: int, cells: dict[str, str]) -> Row:
    """One row's creator, or every problem found in it."""
    problems: list[Problem] = []
    body: dict[str, Any] = {}
    for column, value in cells.items():
        if len(value) > MAX_CELL:
            problems.append(Problem(column, f"longer than {MAX_CELL} characters"))
    if problems:
        return Row(line, None, problems)

    def text(column: str) -> str:
        return cells.get(column, "").strip()

    body["name"] = text("name")
    for column in ("email", "bio", "captions", "notes", "status", "currency"):
        if text(column):
            body[column] = text(column).lower() if column == "status" else text(column)
    if "captions" in body:
        body["captions"] = cells["captions"].strip()
    if text("niches"):
        body["niches"] = [n.strip().lower() for n in LIST_SEPARATOR.split(text("niches")) if n]
    for column, as_share in (("audience_countries", True), ("audience_ages", True),
                             ("audience_genders", True), ("rates", False)):  # fmt: skip
        if text(column):
            try:
                body[column] = _pairs(text(column), as_share, upper=column == "audience_countries")
            except ValueError as exc:
                problems.append(Problem(column, str(exc)))
    accounts: list[dict[str, Any]] = []
    columns: list[str] = []
    for platform in sorted(domain.PLATFORMS):
        if not text(platform):
            continue
        account: dict[str, Any] = {"platform": platform, "handle": text(platform)}
        try:
            domain.handle_key(platform, text(platform))
        except domain.HandleError as exc:
            problems.append(Problem(platform, str(exc)))
        if text(f"{platform}_url"):
            account["url"] = text(f"{platform}_url")
        for suffix, parse in (("followers", _count), ("engagement", _rate)):
            raw = text(f"{platform}_{suffix}")
            if raw:
                try:
                    account["followers" if suffix == "followers" else "engagement_rate"] = parse(
                        raw
                    )
                except ValueError as exc:
                    problems.append(Problem(f"{platform}_{suffix}", str(exc)))
        accounts.append(account)
        columns.append(platform)
    if not accounts:
        problems.append(Problem("(accounts)", "no platform column holds a handle"))
    body["accounts"] = accounts
    if problems:
        return Row(line, None, problems)
    try:
        return Row(line, CreatorIn.model_validate(body))
    except ValidationError as exc:
        return Row(line, None, [_problem(error, columns) for error in exc.errors()])


def _problem(error: Any, columns: list[str]) -> Problem:
    loc = list(error["loc"])
    if loc and loc[0] == "accounts" and len(loc) >= 2 and isinstance(loc[1], int):
        platform = columns[loc[1]]
        rest = loc[2] if len(loc) > 2 else "handle"
        name = {"handle": platform, "engagement_rate": f"{platform}_engagement"}.get(
            str(rest), f"{platform}_{rest}"
        )
        return Problem(name, error["msg"])
    return Problem(str(loc[0]) if loc else "(row)", _message(error))


def _message(error: Any) -> str:
    loc = error["loc"]
    inner = f"{loc[1]}: " if len(loc) > 1 else ""
    return f"{inner}{error['msg']}"


def _count(raw: str) -> int:
    match = _COUNT.match(raw.replace(",", "").replace("_", "").strip())
    if match is None:
        raise ValueError(f"{raw!r} is not a count (48200, 48.2k, 1.2M)")
    value = float(match.group(1)) * {"": 1, "k": 10**3, "m": 10**6}[match.group(2).lower()]
    if not math.isfinite(value) or value > domain.MAX_FOLLOWERS:
        raise ValueError(f"{raw!r} is more than {domain.MAX_FOLLOWERS:,}")
    return round(value)


def _rate(raw: str) -> float:
    text = raw.strip()
    percent = text.endswith("%")
    try:
        value = float(text.rstrip("%").strip())
    except ValueError:
        raise ValueError(f"{raw!r} is not a rate (5.2% or 0.052)") from None
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a rate (5.2% or 0.052)")
    if percent:
        value /= 100
    elif value > 1:
        raise ValueError(f"{raw!r} is over 1: write a percent with its sign (5.2%)")
    if not 0 <= value <= 1:
        raise ValueError(f"{raw!r} is not between 0 and 100 %")
    return value


def _pairs(raw: str, as_share: bool, *, upper: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for part in LIST_SEPARATOR.split(raw):
        if not part.strip():
            continue
        key, sep, value = part.partition(":")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{part.strip()!r} is not key:value")
        name = key.strip().upper() if upper else key.strip().lower()
        if as_share:
            result[name] = _rate(value)
        else:
            try:
                result[name] = int(value.strip())
            except ValueError:
                raise ValueError(f"{part.strip()!r}: a rate is whole minor units") from None
    return result
