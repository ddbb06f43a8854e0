"""Blocking: which pairs are worth comparing at all.

Comparing every record with every other costs n²/2 comparisons. A blocking rule compares only
records that agree on a key ("same surname and date of birth", "same first three characters of
the postcode and same given name"). Several rules are OR-ed: a pair is a candidate when any rule
puts both records in one block, and each pair is scored once however many rules found it. The
cost grows with the sizes of the blocks, near-linearly in the records when keys are selective.

A block larger than ``max_block_size`` is skipped, not compared: a key shared by thousands of
records (a store's own postcode typed for every walk-in guest) says nothing about who is who, and
comparing it would cost millions of pairs. Skipped blocks are counted in ``CandidatePairs``.

Keys are 64-bit hashes of the key's parts' codes. Two different keys may, very rarely, share a
hash; that only adds candidate pairs (which are then scored on their merits), never loses one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from tessera.identity.match.engine.features import (
    canonical_name,
    parse_date,
    phonetic,
    postcode_part,
)
from tessera.identity.match.engine.records import RecordTable

Transform = Literal[
    "value",
    "prefix",
    "first_word",
    "metaphone",
    "nysiis",
    "soundex",
    "nickname",
    "year",
    "postcode_sector",
    "postcode_district",
    "postcode_area",
]

_MASK = (1 << 64) - 1
_OFFSET = 0xCBF29CE484222325
_PRIME = 0x100000001B3
_FINAL = 0xFF51AFD7ED558CCD


def _year(value: str) -> str | None:
    parsed = parse_date(value)
    return str(parsed[1]) if parsed else None


_TRANSFORMS: dict[str, Callable[[str, int], str | None]] = {
    "value": lambda v, n: v,
    "prefix": lambda v, n: v.replace(" ", "")[:n] or None,
    "first_word": lambda v, n: v.split(" ", 1)[0],
    "metaphone": lambda v, n: phonetic(v, "metaphone"),
    "nysiis": lambda v, n: phonetic(v, "nysiis"),
    "soundex": lambda v, n: phonetic(v, "soundex"),
    "nickname": lambda v, n: canonical_name(v),
    "year": lambda v, n: _year(v),
    "postcode_sector": lambda v, n: postcode_part(v, "sector"),
    "postcode_district": lambda v, n: postcode_part(v, "district"),
    "postcode_area": lambda v, n: postcode_part(v, "area"),
}


@dataclass(frozen=True, slots=True)
class BlockKey:
    """One part of a blocking key: a field, optionally transformed (prefix, phonetic code...)."""

    field: str
    transform: Transform = "value"
    length: int = 0

    def __post_init__(self) -> None:
        if self.transform not in _TRANSFORMS:
            raise ValueError(f"unknown blocking transform {self.transform!r}")
        if self.transform == "prefix" and self.length < 1:
            raise ValueError("a prefix key needs a length of at least 1")

    @property
    def label(self) -> str:
        """How the key reads in reports: ``surname``, ``prefix(postcode,3)``."""
        if self.transform == "value":
            return self.field
        if self.transform == "prefix":
            return f"prefix({self.field},{self.length})"
        return f"{self.transform}({self.field})"

    def apply(self, value: str) -> str | None:
        """The key part for one normalised value, None when the value yields no key."""
        return _TRANSFORMS[self.transform](value, self.length)


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """Records agreeing on every key part are compared; a record missing any part is not."""

    keys: tuple[BlockKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a blocking rule needs at least one key")

    @property
    def label(self) -> str:
        """The rule as it reads in reports: ``first_name & surname``."""
        return " & ".join(key.label for key in self.keys)

    @property
    def fields(self) -> frozenset[str]:
        """The fields the rule reads (comparisons of these are not trained on its pairs)."""
        return frozenset(key.field for key in self.keys)


def block_on(*keys: str | BlockKey) -> BlockingRule:
    """A blocking rule on these fields or keys: ``block_on("surname", prefix("postcode", 3))``."""
    return BlockingRule(tuple(BlockKey(k) if isinstance(k, str) else k for k in keys))


def prefix(field: str, length: int) -> BlockKey:
    """The first ``length`` characters of a field (spaces removed)."""
    return BlockKey(field, "prefix", length)


def transformed(field: str, transform: Transform) -> BlockKey:
    """A field under a named transform: "metaphone", "nickname", "year", "postcode_district"..."""
    return BlockKey(field, transform)


@dataclass(frozen=True, slots=True)
class CandidatePairs:
    """Distinct record pairs (``left < right`` row numbers) and the first rule that found each."""

    left: NDArray[np.int64]
    right: NDArray[np.int64]
    rule: NDArray[np.int8]
    skipped_blocks: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.left)


def mix(parts: Sequence[int]) -> int:
    """The 64-bit key (as a signed int) of a tuple of part codes; see ``mix_columns``."""
    value = _OFFSET
    for part in parts:
        value = ((value ^ (part + 1)) * _PRIME) & _MASK
    value ^= value >> 29
    value = (value * _FINAL) & _MASK
    value ^= value >> 32
    return value - (1 << 64) if value >= 1 << 63 else value


def mix_columns(parts: Sequence[NDArray[np.int64]]) -> NDArray[np.int64]:
    """``mix`` applied row by row to columns of part codes, in unsigned 64-bit arithmetic."""
    value = np.full(len(parts[0]), _OFFSET, dtype=np.uint64)
    for part in parts:
        value = (value ^ (part.astype(np.uint64) + np.uint64(1))) * np.uint64(_PRIME)
    value ^= value >> np.uint64(29)
    value = value * np.uint64(_FINAL)
    value ^= value >> np.uint64(32)
    return value.view(np.int64)


class KeyCoder:
    """Codes for blocking key parts, shared by a batch run or by one ``MatchIndex``.

    Each ``BlockKey`` gets its own dictionary from part value to code, growing as new values are
    seen, so a record added later gets the same key as an equal record coded before.
    """

    __slots__ = ("_codes",)

    def __init__(self) -> None:
        self._codes: dict[BlockKey, dict[str, int]] = {}

    def part_code(self, key: BlockKey, value: str | None, *, grow: bool) -> int | None:
        """The code of one record's key part; None when missing or (without ``grow``) unseen."""
        if value is None:
            return None
        part = key.apply(value)
        if part is None:
            return None
        codes = self._codes.setdefault(key, {})
        code = codes.get(part)
        if code is None and grow:
            code = codes[part] = len(codes)
        return code

    def record_key(
        self, rule: BlockingRule, values: dict[str, str | None], *, grow: bool
    ) -> int | None:
        """One record's key under a rule (``values`` normalised), None if it has no key."""
        parts: list[int] = []
        for key in rule.keys:
            code = self.part_code(key, values.get(key.field), grow=grow)
            if code is None:
                return None
            parts.append(code)
        return mix(parts)

    def table_keys(
        self, table: RecordTable, rule: BlockingRule
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Every record's key under a rule, and whether it has one."""
        parts: list[NDArray[np.int64]] = []
        valid = np.ones(len(table), dtype=np.bool_)
        for key in rule.keys:
            column = table.columns[key.field]
            by_value = np.asarray(
                [
                    -1 if (code := self.part_code(key, value, grow=True)) is None else code
                    for value in column.values
                ]
                + [-1],
                dtype=np.int64,
            )
            codes = by_value[column.codes]  # a missing value's code -1 picks the trailing -1
            valid &= codes >= 0
            parts.append(codes)
        return mix_columns(parts), valid


def pairs_in_blocks(
    keys: NDArray[np.int64],
    valid: NDArray[np.bool_],
    max_block_size: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """All pairs of rows sharing a key (``left < right``), and how many blocks were too large."""
    rows = np.flatnonzero(valid)
    order = np.argsort(keys[rows], kind="stable")
    rows = rows[order]
    sorted_keys = keys[rows]
    if len(rows) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, 0
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(rows)])
    skipped = int(np.count_nonzero(sizes > max_block_size))
    keep = (sizes >= 2) & (sizes <= max_block_size)
    starts, sizes = starts[keep], sizes[keep]
    # Every position in a kept block, then each position paired with those after it.
    position = np.repeat(starts, sizes) + _ramp(sizes)
    block_end = np.repeat(starts + sizes, sizes)
    partners = block_end - position - 1
    left = np.repeat(position, partners)
    right = left + 1 + _ramp(partners)
    first, second = rows[left], rows[right]
    return np.minimum(first, second), np.maximum(first, second), skipped


def _ramp(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """0, 1, ..., c-1 for each count c, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - offsets


def candidate_pairs(
    table: RecordTable,
    rules: Sequence[BlockingRule],
    *,
    link_only: bool = False,
    max_block_size: int = 5_000,
    coder: KeyCoder | None = None,
) -> CandidatePairs:
    """The distinct pairs any rule puts in one block; with ``link_only``, across sources only."""
    if link_only and table.sources is None:
        raise ValueError("link_only needs a table with sources")
    coder = coder or KeyCoder()
    size = len(table)
    codes: list[NDArray[np.int64]] = []
    rule_numbers: list[NDArray[np.int8]] = []
    skipped: list[int] = []
    for number, rule in enumerate(rules):
        keys, valid = coder.table_keys(table, rule)
        left, right, too_big = pairs_in_blocks(keys, valid, max_block_size)
        if link_only and table.sources is not None:
            across = table.sources[left] != table.sources[right]
            left, right = left[across], right[across]
        codes.append(left * size + right)
        rule_numbers.append(np.full(len(left), number, dtype=np.int8))
        skipped.append(too_big)
    if not codes:
        empty = np.empty(0, dtype=np.int64)
        return CandidatePairs(empty, empty, np.empty(0, dtype=np.int8), ())
    # np.unique keeps each pair's first occurrence, and rules were concatenated in order.
    pair_codes, first = np.unique(np.concatenate(codes), return_index=True)
    found_by = np.concatenate(rule_numbers)[first]
    return CandidatePairs(pair_codes // size, pair_codes % size, found_by, tuple(skipped))
