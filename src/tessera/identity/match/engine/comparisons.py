"""Comparisons: for one field, the ordered levels a pair of values can fall into.

A pair's level for a comparison is the index of the first level that holds (0 is the strongest),
``len(levels)`` when none does ("else"), and ``-1`` when either value is missing: a missing value
is neither evidence for nor against a match.

The helper constructors (``name_comparison``, ``date_comparison``...) give the shapes that work
for people's data; ``Comparison`` itself takes any levels, so any schema can be matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tessera.identity.match.engine.levels import (
    DateTransposed,
    DateWithin,
    EmailUser,
    Exact,
    FullDates,
    JaroWinkler,
    Level,
    Levenshtein,
    Nickname,
    Phonetic,
    Postcode,
    TokenSet,
)
from tessera.identity.match.engine.records import Cleaner
from tessera.kit.names import without_honorifics

NULL_LEVEL = -1


@dataclass(frozen=True, slots=True)
class Comparison:
    """How to compare one field: its levels, strongest first, and whether rare values weigh more.

    With ``term_frequency`` an exact agreement on a rare value ("zebedee") counts for more than
    on a common one ("john"): the exact level's weight uses the value's own frequency.
    ``clean`` is what the field's values lose before anything reads them, blocking included
    (a name its honorifics: ``clean_name``); None when cleaning leaves nothing.
    """

    field: str
    levels: tuple[Level, ...]
    term_frequency: bool = False
    name: str = ""
    clean: Cleaner | None = None

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"comparison of {self.field!r} needs at least one level")

    @property
    def label(self) -> str:
        """The comparison's name in evidence and reports (the field unless named)."""
        return self.name or self.field

    @property
    def level_count(self) -> int:
        """Levels including the final "else" level."""
        return len(self.levels) + 1

    @property
    def level_labels(self) -> tuple[str, ...]:
        """Each level's label, then "else"."""
        return (*(level.label for level in self.levels), "else")

    @property
    def exact_level(self) -> int | None:
        """The index of the exact-match level, the one term frequencies adjust."""
        for index, level in enumerate(self.levels):
            if isinstance(level, Exact):
                return index
        return None

    def compare(
        self,
        left_codes: NDArray[np.int32],
        right_codes: NDArray[np.int32],
        values: Sequence[str],
    ) -> NDArray[np.int8]:
        """The level of each pair of value codes (``values[code]`` is the value; -1 missing).

        Each distinct pair of values is tested once (in canonical order, so the result is
        symmetric), and only against the levels stronger levels did not already claim.
        """
        result = np.full(len(left_codes), NULL_LEVEL, dtype=np.int8)
        present = (left_codes >= 0) & (right_codes >= 0)
        if not present.any():
            return result
        low = np.minimum(left_codes[present], right_codes[present]).astype(np.int64)
        high = np.maximum(left_codes[present], right_codes[present]).astype(np.int64)
        radix = int(high.max()) + 1
        distinct, inverse = np.unique(low * radix + high, return_inverse=True)
        # The distinct values involved, once; levels see positions into this small array.
        involved, position = np.unique(
            np.concatenate([distinct // radix, distinct % radix]), return_inverse=True
        )
        position = position.reshape(-1)
        low_at, high_at = position[: len(distinct)], position[len(distinct) :]
        found = np.empty(len(involved), dtype=object)
        found[:] = [values[int(code)] for code in involved]
        levels = np.full(len(distinct), len(self.levels), dtype=np.int8)
        pending = np.ones(len(distinct), dtype=np.bool_)
        for index, level in enumerate(self.levels):
            todo = np.flatnonzero(pending)
            hit = level.test(low_at[todo], high_at[todo], found)
            levels[todo[hit]] = index
            pending[todo[hit]] = False
            if not pending.any():
                break
        result[present] = levels[inverse.reshape(-1)]
        return result


def clean_name(value: str) -> str | None:
    """A normalised name without its honorifics and suffixes ("sir john smith bt." -> "john
    smith", "dr." -> None): they say nothing about who someone is (``kit.names``)."""
    return without_honorifics(value) or None


def exact_comparison(field: str, *, term_frequency: bool = False) -> Comparison:
    """Equal or not: gender, state, occupation, a loyalty tier."""
    return Comparison(field, (Exact(),), term_frequency=term_frequency)


def name_comparison(
    field: str, *, nicknames: bool = False, term_frequency: bool = True
) -> Comparison:
    """A person's given name or surname: exact, nickname (given names), then ever looser spelling.
    Honorifics and suffixes are cleaned away first (``clean_name``).

    Levels: exact · nickname (with ``nicknames``) · Jaro-Winkler >= 0.92 · same Metaphone code
    · Jaro-Winkler >= 0.8 · else.
    """
    levels: list[Level] = [Exact()]
    if nicknames:
        levels.append(Nickname())
    levels += [JaroWinkler(0.92), Phonetic("metaphone"), JaroWinkler(0.8)]
    return Comparison(field, tuple(levels), term_frequency=term_frequency, clean=clean_name)


def date_comparison(field: str) -> Comparison:
    """A date of birth: exact, one typo, day and month swapped, within a month, a year, ten years.

    Takes ``YYYY-MM-DD`` or ``YYYYMMDD``; a value that is no date still compares by spelling. A
    date known to the year only ("1980", or an import's "1980-01-01" placeholder) compares at
    year precision: at best "within a year" (``levels.FullDates``, ``levels.DateWithin``).
    """
    return Comparison(
        field,
        (
            FullDates(Exact()),
            FullDates(Levenshtein(1, damerau=True)),
            DateTransposed(),
            DateWithin(31),
            DateWithin(366),
            DateWithin(3653),
        ),
    )


def postcode_comparison(field: str, *, term_frequency: bool = False) -> Comparison:
    """A postcode: exact, one typo, same sector, same district, same area."""
    return Comparison(
        field,
        (
            Exact(),
            Levenshtein(1, damerau=True),
            Postcode("sector"),
            Postcode("district"),
            Postcode("area"),
        ),
        term_frequency=term_frequency,
    )


def string_comparison(
    field: str,
    *,
    jaro_winkler: Sequence[float] = (0.9, 0.8),
    term_frequency: bool = False,
) -> Comparison:
    """Any short text (a city, a birthplace): exact, then Jaro-Winkler at each threshold."""
    levels: list[Level] = [Exact()]
    levels += [JaroWinkler(t) for t in sorted(jaro_winkler, reverse=True)]
    return Comparison(field, tuple(levels), term_frequency=term_frequency)


def edit_distance_comparison(
    field: str, *, distances: Sequence[int] = (1, 2), term_frequency: bool = False
) -> Comparison:
    """Codes and numbers typed by hand (ids, street numbers): exact, then within each distance."""
    levels: list[Level] = [Exact()]
    levels += [Levenshtein(d, damerau=True) for d in sorted(distances)]
    return Comparison(field, tuple(levels), term_frequency=term_frequency)


def text_comparison(
    field: str, *, token_set: Sequence[float] = (0.9, 0.7), term_frequency: bool = False
) -> Comparison:
    """Longer text whose words move about (full names, address lines): exact, then token-set.

    Numbers must agree at the token-set levels: "12 high street" is not "14 high street".
    """
    levels: list[Level] = [Exact()]
    levels += [TokenSet(t, same_digits=True) for t in sorted(token_set, reverse=True)]
    return Comparison(field, tuple(levels), term_frequency=term_frequency)


def email_comparison(field: str) -> Comparison:
    """An email address: exact, one typo (digits kept), same user name at another domain.

    No looser similarity: emails embed names, so "john.smith1@" and "john.smith7@" look alike
    because the names do, and the name comparisons already count that.
    """
    return Comparison(field, (Exact(), Levenshtein(1, damerau=True, same_digits=True), EmailUser()))


def phone_comparison(field: str) -> Comparison:
    """A phone number (already E.164): exact, one typo, two typos."""
    return Comparison(field, (Exact(), Levenshtein(1, damerau=True), Levenshtein(2, damerau=True)))
