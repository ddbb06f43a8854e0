"""Incremental matching: one new record against existing profiles, without a rescan.

``MatchIndex`` keeps every known record column by column and, per blocking rule, an inverted
index from the rule's key to the rows holding it: a sorted array of 64-bit keys searched by
bisection, plus a dictionary for rows added since the last compaction. Matching a new record
looks up its keys, scores only the rows found (vectorised, like batch scoring), and returns the
best-scoring record of each profile with per-field evidence.

Profile ids belong to the caller (the identity graph): the index never re-clusters. A new
record joins a profile when the caller ``add``-s it with that profile's id; profiles merged or
split elsewhere are mirrored with ``merge_profiles`` and ``assign``; erased records are
``remove``-d and never returned again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tessera.identity.match.engine.blocking import KeyCoder
from tessera.identity.match.engine.comparisons import NULL_LEVEL
from tessera.identity.match.engine.model import (
    FieldEvidence,
    MatchModel,
    partial_weight,
    probability_of,
)
from tessera.identity.match.engine.records import Record, RecordTable, ValuesWithExtra
from tessera.identity.match.engine.settings import Decision

_EMPTY = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An existing profile that may be the new record's person, via its best-scoring record."""

    profile_id: str
    record_id: str
    match_weight: float
    probability: float
    decision: Decision
    evidence: tuple[FieldEvidence, ...]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The candidates for one new record, best first and one per profile."""

    candidates: tuple[Candidate, ...]
    compared: int  # records scored
    skipped_rules: tuple[str, ...]  # rules whose block was larger than max_block_size

    @property
    def best(self) -> Candidate | None:
        """The most likely profile, if any record was compared."""
        return self.candidates[0] if self.candidates else None

    @property
    def decision(self) -> Decision:
        """The decision for the best candidate; distinct when there is none."""
        return self.candidates[0].decision if self.candidates else Decision.DISTINCT


class _Growable:
    """An append-only NumPy array with amortised O(1) appends."""

    __slots__ = ("_data", "_size")

    def __init__(self, dtype: type[np.generic], initial: NDArray[np.generic] | None = None):
        data = np.empty(16, dtype=dtype) if initial is None else initial.astype(dtype)
        self._data: NDArray[np.generic] = data
        self._size = 0 if initial is None else len(initial)

    @property
    def view(self) -> NDArray[np.generic]:
        return self._data[: self._size]

    def append(self, value: int | bool) -> None:
        if self._size == len(self._data):
            grown = np.empty(max(16, 2 * len(self._data)), dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size] = value
        self._size += 1


class _Buckets:
    """One rule's inverted index: key -> rows, sorted arrays plus recent additions."""

    __slots__ = ("_keys", "_pending", "_pending_count", "_rows")

    def __init__(self, keys: NDArray[np.int64], rows: NDArray[np.int64]) -> None:
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._rows = rows[order]
        self._pending: dict[int, list[int]] = {}
        self._pending_count = 0

    def lookup(self, key: int) -> NDArray[np.int64]:
        start = int(np.searchsorted(self._keys, key, side="left"))
        end = int(np.searchsorted(self._keys, key, side="right"))
        found = self._rows[start:end]
        recent = self._pending.get(key)
        if recent:
            return np.concatenate([found, np.asarray(recent, dtype=np.int64)])
        return found

    def add(self, key: int, row: int) -> None:
        self._pending.setdefault(key, []).append(row)
        self._pending_count += 1
        if self._pending_count > max(4096, len(self._keys) // 8):
            self._compact()

    def _compact(self) -> None:
        keys = [k for k, rows in self._pending.items() for _ in rows]
        rows = [r for found in self._pending.values() for r in found]
        merged_keys = np.concatenate([self._keys, np.asarray(keys, dtype=np.int64)])
        merged_rows = np.concatenate([self._rows, np.asarray(rows, dtype=np.int64)])
        order = np.argsort(merged_keys, kind="stable")
        self._keys, self._rows = merged_keys[order], merged_rows[order]
        self._pending = {}
        self._pending_count = 0


class MatchIndex:
    """Existing records with their profile ids, ready to match one new record at a time.

    In-memory and single-writer: ``match`` may run alongside other ``match`` calls, but
    ``add``, ``assign``, ``merge_profiles`` and ``remove`` need the caller to serialise them
    (one index per worker process, rebuilt from the system of record at start).
    """

    def __init__(self, model: MatchModel, table: RecordTable, profile_ids: Sequence[str]):
        """Index the rows of ``table`` (which the index then owns) under these profile ids.

        Refuses a table without a column for every field the settings read, and a profile id
        count that differs from the row count.
        """
        settings = model.settings
        missing = [f for f in settings.fields if f not in table.columns]
        if missing:
            raise ValueError(f"the table has no column for {', '.join(missing)}")
        if len(profile_ids) != len(table):
            raise ValueError(f"{len(profile_ids)} profile ids for {len(table)} records")
        if table.sources is not None:
            raise ValueError("an index matches new records against one set of profiles: no sources")
        table.clean(settings.cleaners)
        self._model = model
        self._table = table
        self._coder = KeyCoder()
        self._profile_ids: list[str] = []
        self._profile_index: dict[str, int] = {}
        codes = [self._profile_code(p) for p in profile_ids]
        self._profiles = _Growable(np.int32, np.asarray(codes, dtype=np.int32))
        self._alive = _Growable(np.bool_, np.ones(len(table), dtype=np.bool_))
        self._buckets: list[_Buckets] = []
        for rule in settings.blocking:
            keys, valid = self._coder.table_keys(table, rule)
            rows = np.flatnonzero(valid).astype(np.int64)
            self._buckets.append(_Buckets(keys[rows], rows))

    @classmethod
    def build(
        cls, model: MatchModel, records: Iterable[Record], profile_ids: Iterable[str]
    ) -> MatchIndex:
        """An index of these records, each under the profile id at the same position."""
        return cls(
            model,
            RecordTable.from_records(records, model.settings.fields),
            list(profile_ids),
        )

    def __len__(self) -> int:
        return int(np.count_nonzero(self._alive.view))

    def __contains__(self, record_id: object) -> bool:
        if not isinstance(record_id, str):
            return False
        try:
            return bool(self._alive.view[self._table.row_of(record_id)])
        except KeyError:
            return False

    def _profile_code(self, profile_id: str) -> int:
        code = self._profile_index.get(profile_id)
        if code is None:
            code = self._profile_index[profile_id] = len(self._profile_ids)
            self._profile_ids.append(profile_id)
        return code

    def _live_row(self, record_id: str) -> int:
        try:
            row = self._table.row_of(record_id)
        except KeyError:
            raise KeyError(f"no record {record_id!r} in the index") from None
        if not self._alive.view[row]:
            raise KeyError(f"record {record_id!r} was removed")
        return row

    def add(self, record: Record, profile_id: str) -> None:
        """Index a record under a profile id; refuses a record id already indexed."""
        row = self._table.append(record)
        self._profiles.append(self._profile_code(profile_id))
        self._alive.append(True)
        values = {
            f: self._table.value_of(f, record.fields.get(f)) for f in self._model.settings.fields
        }
        for rule, buckets in zip(self._model.settings.blocking, self._buckets, strict=True):
            key = self._coder.record_key(rule, values, grow=True)
            if key is not None:
                buckets.add(key, row)

    def profile_of(self, record_id: str) -> str:
        """The profile a record belongs to."""
        return self._profile_ids[int(self._profiles.view[self._live_row(record_id)])]

    def records_of(self, profile_id: str) -> tuple[str, ...]:
        """The ids of a profile's live records, in the order they were indexed."""
        code = self._profile_index.get(profile_id)
        if code is None:
            return ()
        rows = np.flatnonzero((self._profiles.view == code) & self._alive.view)
        return tuple(self._table.ids[int(r)] for r in rows)

    def assign(self, record_id: str, profile_id: str) -> None:
        """Move one record to another (possibly new) profile, as when a merge is undone."""
        row = self._live_row(record_id)
        self._profiles.view[row] = self._profile_code(profile_id)

    def merge_profiles(self, source: str, target: str) -> None:
        """Move every record of profile ``source`` to ``target`` (ids stay the caller's)."""
        code = self._profile_index.get(source)
        if code is None or source == target:
            return
        profiles = self._profiles.view
        profiles[profiles == code] = self._profile_code(target)

    def remove(self, record_id: str) -> None:
        """Forget a record (erasure): its values are cleared and it is never matched again."""
        row = self._live_row(record_id)
        self._alive.view[row] = False
        for column in self._table.columns.values():
            column.clear(row)

    def _rows_for(self, values: dict[str, str | None]) -> tuple[NDArray[np.int64], list[str]]:
        settings = self._model.settings
        found: list[NDArray[np.int64]] = []
        skipped: list[str] = []
        for rule, buckets in zip(settings.blocking, self._buckets, strict=True):
            key = self._coder.record_key(rule, values, grow=False)
            if key is None:
                continue
            rows = buckets.lookup(key)
            if len(rows) > settings.max_block_size:
                skipped.append(rule.label)
                continue
            found.append(rows)
        if not found:
            return _EMPTY, skipped
        rows = np.unique(np.concatenate(found))
        return rows[self._alive.view[rows].astype(np.bool_)], skipped

    def match(self, record: Record, *, limit: int = 5) -> MatchResult:
        """Score a record against the indexed records its blocking keys reach.

        Returns up to ``limit`` profiles, best first, each with the score and evidence of its
        best-matching record. The record itself (same id) is never its own candidate. Nothing in
        the index changes.
        """
        model = self._model
        comparisons = model.settings.comparisons
        values = {f: self._table.value_of(f, record.fields.get(f)) for f in model.settings.fields}
        rows, skipped = self._rows_for(values)
        if record.id in self:
            rows = rows[rows != self._table.row_of(record.id)]
        count = len(rows)
        if count == 0:
            return MatchResult((), 0, tuple(skipped))
        weight = np.full(count, model.prior_weight, dtype=np.float64)
        levels: list[NDArray[np.int8]] = []
        partials: list[NDArray[np.float64]] = []
        for index, comparison in enumerate(comparisons):
            column = self._table.columns[comparison.field]
            value = values[comparison.field]
            if value is None:
                level = np.full(count, NULL_LEVEL, dtype=np.int8)
                frequency = None
            else:
                code = column.code_of(value)
                known: Sequence[str] = column.values
                if code is None:
                    code = len(column.values)
                    known = ValuesWithExtra(column.values, value)
                level = comparison.compare(
                    np.full(count, code, dtype=np.int32), column.codes[rows], known
                )
                frequency = None
                if model.adjusts(comparison):
                    frequency = np.full(count, model.frequency(comparison.field, value))
            partial = partial_weight(model, index, level, frequency)
            weight += partial
            levels.append(level)
            partials.append(partial)
        probability = probability_of(weight)
        profiles = self._profiles.view[rows]
        order = np.lexsort((rows, -weight))
        _, first = np.unique(profiles[order], return_index=True)
        best = order[np.sort(first)][:limit]
        thresholds = model.settings.thresholds
        candidates = []
        for position in best.tolist():
            row = int(rows[position])
            evidence = tuple(
                FieldEvidence(
                    comparison=comparison.label,
                    field=comparison.field,
                    left=values[comparison.field],
                    right=self._table.columns[comparison.field].value_at(row),
                    level=(
                        "missing"
                        if levels[k][position] == NULL_LEVEL
                        else comparison.level_labels[int(levels[k][position])]
                    ),
                    weight=float(partials[k][position]),
                )
                for k, comparison in enumerate(comparisons)
            )
            candidates.append(
                Candidate(
                    profile_id=self._profile_ids[int(profiles[position])],
                    record_id=self._table.ids[row],
                    match_weight=float(weight[position]),
                    probability=float(probability[position]),
                    decision=thresholds.decide(float(probability[position])),
                    evidence=evidence,
                )
            )
        return MatchResult(tuple(candidates), count, tuple(skipped))
