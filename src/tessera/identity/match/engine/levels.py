"""Comparison levels: the tests that sort a pair of values into "exact", "nickname", "close
spelling", "same postcode district"... A comparison tries its levels strongest first; the first
that holds is the pair's level for that field.

A level tests many pairs at once. It receives the distinct values involved (a NumPy object
array) and, per pair, the positions of its two values in it; equal positions mean equal values.
Levels are symmetric: swapping sides never changes the answer.

Two kinds of level keep this fast on millions of pairs:

- string levels (Jaro-Winkler, Levenshtein, token set) run in rapidfuzz's C++ over the pairs;
- feature levels (phonetic code, nickname group, postcode part, date) derive a feature once per
  distinct value involved, then compare features with NumPy, never a Python call per pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein as _DamerauLevenshtein
from rapidfuzz.distance import JaroWinkler as _JaroWinkler
from rapidfuzz.distance import Levenshtein as _Levenshtein

from tessera.identity.match.engine.features import (
    PhoneticAlgorithm,
    PostcodePart,
    nickname_groups,
    parse_date,
    phonetic,
    postcode_part,
    year_only,
)

BoolArray = NDArray[np.bool_]
Codes = NDArray[np.int64]
Values = NDArray[np.object_]


class Level(Protocol):
    """One way two values can agree."""

    @property
    def label(self) -> str:
        """A short name shown as evidence ("exact", "jaro_winkler>=0.92")."""
        ...

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        """For each pair (values[left[i]], values[right[i]]), whether this level holds."""
        ...


def _referenced(left: Codes, right: Codes, values: Values) -> tuple[Values, Codes, Codes]:
    """Only the values the pairs use (when far fewer than all), with positions into them."""
    if 2 * len(left) >= len(values):
        return values, left, right
    used, position = np.unique(np.concatenate([left, right]), return_inverse=True)
    position = position.reshape(-1)
    return values[used], position[: len(left)], position[len(left) :]


def _feature_codes(
    left: Codes, right: Codes, values: Values, feature: Callable[[str], str | None]
) -> tuple[Codes, Codes]:
    """Each side's feature as an integer code (-1 where the value has none)."""
    values, left, right = _referenced(left, right, values)
    codes: dict[str, int] = {}
    by_value = np.asarray(
        [
            -1 if (item := feature(value)) is None else codes.setdefault(item, len(codes))
            for value in values
        ],
        dtype=np.int64,
    )
    return by_value[left], by_value[right]


def _same_feature(
    left: Codes, right: Codes, values: Values, feature: Callable[[str], str | None]
) -> BoolArray:
    first, second = _feature_codes(left, right, values, feature)
    return np.asarray((first == second) & (first >= 0), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class Exact:
    """The values are equal (after normalisation)."""

    @property
    def label(self) -> str:
        return "exact"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        return np.asarray(left == right, dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class JaroWinkler:
    """Jaro-Winkler similarity at least ``threshold`` (0..1): good for short names."""

    threshold: float

    @property
    def label(self) -> str:
        return f"jaro_winkler>={self.threshold:g}"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        scores = process.cpdist(
            values[left],
            values[right],
            scorer=_JaroWinkler.normalized_similarity,
            dtype=np.float64,
        )
        return np.asarray(scores >= self.threshold, dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class Levenshtein:
    """At most ``max_distance`` edits apart; with ``damerau`` a swap of neighbours is one edit.

    With ``same_digits`` the digits must still agree: "ann.lee82@" and "ann.lee182@" are one
    edit apart but, most likely, two people.
    """

    max_distance: int
    damerau: bool = False
    same_digits: bool = False

    @property
    def label(self) -> str:
        name = "damerau_levenshtein" if self.damerau else "levenshtein"
        return f"{name}<={self.max_distance}" + (",same_digits" if self.same_digits else "")

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        scorer = _DamerauLevenshtein.distance if self.damerau else _Levenshtein.distance
        distances = process.cpdist(
            values[left], values[right], scorer=scorer, score_cutoff=self.max_distance
        )
        near = np.asarray(distances <= self.max_distance, dtype=np.bool_)
        return near & _same_digits(left, right, values) if self.same_digits else near


@dataclass(frozen=True, slots=True)
class TokenSet:
    """Token-set similarity at least ``threshold`` (0..1): word order and extra words ignored.

    Suits full names with middle names and address lines ("12 high st" / "high st 12"). With
    ``same_digits`` the numbers must agree ("12 high st" is not "14 high st").
    """

    threshold: float
    same_digits: bool = False

    @property
    def label(self) -> str:
        return f"token_set>={self.threshold:g}" + (",same_digits" if self.same_digits else "")

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        scores = process.cpdist(
            values[left], values[right], scorer=fuzz.token_set_ratio, dtype=np.float64
        )
        near = np.asarray(scores >= 100.0 * self.threshold, dtype=np.bool_)
        return near & _same_digits(left, right, values) if self.same_digits else near


@dataclass(frozen=True, slots=True)
class EmailUser:
    """Same email user name at different domains ("ann.lee@gmail.com", "ann.lee@outlook.com")."""

    @property
    def label(self) -> str:
        return "same_username"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        return _same_feature(left, right, values, _user_name)


def _user_name(value: str) -> str | None:
    user, at, _ = value.partition("@")
    return user if at and user else None


@lru_cache(maxsize=1 << 16)
def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _same_digits(left: Codes, right: Codes, values: Values) -> BoolArray:
    first, second = _feature_codes(left, right, values, _digits)
    return np.asarray(first == second, dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class Phonetic:
    """Same phonetic code ("smith"/"smyth" under Metaphone)."""

    algorithm: PhoneticAlgorithm = "metaphone"

    @property
    def label(self) -> str:
        return self.algorithm

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        algorithm = self.algorithm
        return _same_feature(left, right, values, lambda value: phonetic(value, algorithm))


@dataclass(frozen=True, slots=True)
class Prefix:
    """The first ``length`` characters agree (``Prefix(1)`` is "same initial")."""

    length: int

    @property
    def label(self) -> str:
        return "initial" if self.length == 1 else f"prefix{self.length}"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        size = self.length
        return _same_feature(
            left, right, values, lambda value: value[:size] if len(value) >= size else None
        )


@dataclass(frozen=True, slots=True)
class Postcode:
    """Same postcode sector, district or area (see ``features.postcode_parts``)."""

    part: PostcodePart

    @property
    def label(self) -> str:
        return f"postcode_{self.part}"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        part = self.part
        return _same_feature(left, right, values, lambda value: postcode_part(value, part))


@dataclass(frozen=True, slots=True)
class Nickname:
    """Given names of one nickname group ("bill"/"william", "peggy"/"margaret")."""

    @property
    def label(self) -> str:
        return "nickname"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        values, left, right = _referenced(left, right, values)
        groups = [sorted(nickname_groups(value)) for value in values]
        width = max((len(g) for g in groups), default=0)
        if width == 0:
            return np.zeros(len(left), dtype=np.bool_)
        table = np.full((len(values), width), -1, dtype=np.int64)
        for row, found_groups in enumerate(groups):
            table[row, : len(found_groups)] = found_groups
        first, second = table[left], table[right]
        hit = np.zeros(len(left), dtype=np.bool_)
        for a in range(width):
            for b in range(width):
                hit |= (first[:, a] == second[:, b]) & (first[:, a] >= 0)
        return hit


def _dates(
    left: Codes, right: Codes, values: Values
) -> tuple[NDArray[np.int64], NDArray[np.int64], BoolArray, BoolArray]:
    """(ordinal, year, month, day) columns for each side, whether both sides are dates, and
    whether either is known to the year only (``features.year_only``)."""
    values, left, right = _referenced(left, right, values)
    parsed = np.asarray([_date_row(value) for value in values], dtype=np.int64).reshape(-1, 5)
    first, second = parsed[left], parsed[right]
    both = (first[:, 0] >= 0) & (second[:, 0] >= 0)
    coarse = (first[:, 4] == 1) | (second[:, 4] == 1)
    return first[:, :4], second[:, :4], np.asarray(both), np.asarray(coarse)


def _date_row(value: str) -> tuple[int, int, int, int, int]:
    year = year_only(value)
    if year is not None:
        return 0, year, 0, 0, 1
    return (*(parse_date(value) or (-1, -1, -1, -1)), 0)


def _year_only_pairs(left: Codes, right: Codes, values: Values) -> BoolArray:
    """Whether either value of each pair is a date known to the year only."""
    values, left, right = _referenced(left, right, values)
    coarse = np.asarray([year_only(value) is not None for value in values], dtype=np.bool_)
    return np.asarray(coarse[left] | coarse[right], dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class FullDates:
    """``level`` only between two dates known to the day: "1980-01-01" (a placeholder for an
    unknown day, as imports write it) and "1980-01-01" agree on the year and no more, and
    "1980-01-01" is not one typo from "1981-01-01". Shown under ``level``'s label."""

    level: Level

    @property
    def label(self) -> str:
        return self.level.label

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        held = self.level.test(left, right, values)
        return np.asarray(held & ~_year_only_pairs(left, right, values), dtype=np.bool_)


_YEAR_DAYS = 365.25


@dataclass(frozen=True, slots=True)
class DateWithin:
    """Both values are dates at most ``days`` apart.

    When either is known to the year only, the level holds if it would for any days of the
    two years: the same year is within 366 days but not within 31; years nine apart are
    within ten years (3653 days), ten apart are not.
    """

    days: int

    @property
    def label(self) -> str:
        return f"within_{self.days}_days"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        first, second, both, coarse = _dates(left, right, values)
        close = np.abs(first[:, 0] - second[:, 0]) <= self.days
        years_apart = np.abs(first[:, 1] - second[:, 1])
        close_years = (years_apart + 1) * _YEAR_DAYS <= self.days
        return np.asarray(both & np.where(coarse, close_years, close))


@dataclass(frozen=True, slots=True)
class DateTransposed:
    """Same year with day and month swapped (03/04 typed as 04/03); never for a date known to
    the year only."""

    @property
    def label(self) -> str:
        return "day_month_swapped"

    def test(self, left: Codes, right: Codes, values: Values) -> BoolArray:
        first, second, both, coarse = _dates(left, right, values)
        return np.asarray(
            both
            & ~coarse
            & (first[:, 1] == second[:, 1])
            & (first[:, 2] == second[:, 3])
            & (first[:, 3] == second[:, 2])
        )
