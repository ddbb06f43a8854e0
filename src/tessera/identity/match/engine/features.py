"""What a comparison or a blocking key derives from one value: phonetic codes, nickname groups,
dates (and whether one is known to the year only) and postcode parts. Each is a pure function
of the value, cached because the same values recur across many pairs.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

import jellyfish

PhoneticAlgorithm = Literal["metaphone", "nysiis", "soundex"]
PostcodePart = Literal["sector", "district", "area"]

_LETTERS = re.compile(r"[^a-z]")
_DATE = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})")
_YEAR = re.compile(r"^\d{4}$")
_UK_INWARD = re.compile(r"^(.+)(\d[a-z]{2})$")
_AREA = re.compile(r"^[a-z]+")
_CACHE = 1 << 18
_PACKAGE = __name__.rpartition(".")[0]


def letters(value: str) -> str:
    """The value's ASCII letters only ("o'brien" -> "obrien")."""
    return _LETTERS.sub("", value)


@lru_cache(maxsize=_CACHE)
def phonetic(value: str, algorithm: PhoneticAlgorithm) -> str | None:
    """The value's phonetic code (Metaphone, NYSIIS or Soundex), None if it has no letters."""
    text = letters(value)
    if not text:
        return None
    if algorithm == "metaphone":
        code = jellyfish.metaphone(text)
    elif algorithm == "nysiis":
        code = jellyfish.nysiis(text)
    else:
        code = jellyfish.soundex(text)
    return code or None


@cache
def _nickname_data() -> tuple[dict[str, frozenset[int]], tuple[str, ...]]:
    """Each name's group numbers, and each group's formal name, from the packaged table."""
    text = resources.files(_PACKAGE).joinpath("data/nicknames.txt").read_text("utf-8")
    groups: dict[str, set[int]] = {}
    roots: list[str] = []
    for line in text.splitlines():
        names = line.split()
        if not names or names[0].startswith("#"):
            continue
        for name in names:
            groups.setdefault(name, set()).add(len(roots))
        roots.append(names[0])
    return {name: frozenset(found) for name, found in groups.items()}, tuple(roots)


@lru_cache(maxsize=_CACHE)
def nickname_groups(value: str) -> frozenset[int]:
    """The nickname groups a given name belongs to (by its first word), empty if none."""
    table = _nickname_data()[0]
    found = table.get(letters(value))
    if found is None and " " in value:
        found = table.get(letters(value.split(" ", 1)[0]))
    return found or frozenset()


def are_nicknames(left: str, right: str) -> bool:
    """True when one nickname group holds both given names ("bill" and "william")."""
    return not nickname_groups(left).isdisjoint(nickname_groups(right))


@lru_cache(maxsize=_CACHE)
def canonical_name(value: str) -> str:
    """A given name's formal form for blocking: its first group's formal name, else itself.

    A name in several groups ("bert") maps to one of them only, so blocking on it finds most
    but not all nickname pairs; the comparison itself checks every group.
    """
    groups = nickname_groups(value)
    if not groups:
        return letters(value) or value
    roots = _nickname_data()[1]
    return min(roots[g] for g in groups)


@lru_cache(maxsize=_CACHE)
def parse_date(value: str) -> tuple[int, int, int, int] | None:
    """(ordinal day, year, month, day) of a YYYY-MM-DD or YYYYMMDD date; None if not a date."""
    found = _DATE.match(value)
    if found is None:
        return None
    year, month, day = (int(part) for part in found.groups())
    try:
        return date(year, month, day).toordinal(), year, month, day
    except ValueError:
        return None


@lru_cache(maxsize=_CACHE)
def year_only(value: str) -> int | None:
    """The year of a date known only to the year, else None: "1980", and the placeholders
    imports write for an unknown day and month ("1980-01-01", "1980-00-00", "19800000").

    A real 1 January birthday reads as a placeholder too: in imported data most of them are,
    and comparing it to the year only costs a little evidence, never a wrong "exact".
    """
    if _YEAR.match(value):
        return int(value)
    found = _DATE.match(value)
    if found is None:
        return None
    year, month, day = (int(part) for part in found.groups())
    return year if (month, day) in ((1, 1), (0, 0)) else None


@lru_cache(maxsize=_CACHE)
def postcode_parts(value: str) -> tuple[str, str, str] | None:
    """(sector, district, area) of a postcode, finest first; None if too short to split.

    UK postcodes split on their inward code ("sw1a 1aa": "sw1a1", "sw1a", "sw"). Other postcodes
    (US ZIP, Australian, most of Europe) are treated as hierarchical digits: dropping one, two
    and three trailing characters ("94107": "9410", "941", "94").
    """
    text = value.replace(" ", "").replace("-", "")
    uk = _UK_INWARD.match(text)
    if uk is not None and uk.group(1)[:1].isalpha() and len(text) >= 5:
        outward, inward = uk.group(1), uk.group(2)
        area = _AREA.match(outward)
        return outward + inward[0], outward, area.group(0) if area else outward
    if len(text) < 4:
        return None
    return text[:-1], text[:-2], text[:-3]


def postcode_part(value: str, part: PostcodePart) -> str | None:
    """One part of a postcode (see ``postcode_parts``)."""
    parts = postcode_parts(value)
    if parts is None:
        return None
    return parts[("sector", "district", "area").index(part)]
