"""Records to match, held column by column with each distinct value coded once.

Comparing millions of candidate pairs one at a time in Python is slow, but most pairs repeat a
few values (the same surname, the same postcode). So each column keeps its distinct values once
and an ``int32`` code per record (``-1`` when the value is missing); comparisons work on pairs of
codes and compute each distinct pair of values once.

Values are normalised on the way in: surrounding and repeated whitespace removed, case folded,
and empty strings (and pandas' NaN) treated as missing. A field whose comparison cleans its
values (names lose honorifics) is cleaned too, once, when the engine first reads the table for
those settings (``RecordTable.clean``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import NDArray

MISSING = -1
# What a field's values lose after normalising, such as a name's honorifics (None: nothing
# is left); each comparison says its own (``Comparison.clean``).
Cleaner = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Record:
    """One record to match: its id and its field values (``None`` or ``""`` when unknown)."""

    id: str
    fields: Mapping[str, str | None]


def normalise(value: object) -> str | None:
    """The comparable form of a raw value: trimmed, single-spaced, case-folded; None if empty."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = " ".join(str(value).split()).casefold()
    return text or None


class Column:
    """One field of many records: a code per record and the distinct values the codes name.

    The column grows by ``append`` (amortised O(1)); ``codes`` is a view of the filled part.
    """

    __slots__ = ("_codes", "_index", "_size", "values")

    def __init__(self) -> None:
        self._codes: NDArray[np.int32] = np.empty(16, dtype=np.int32)
        self._size = 0
        self._index: dict[str, int] = {}
        self.values: list[str] = []

    @classmethod
    def from_values(cls, raw: Iterable[object]) -> Column:
        """A column holding these values in order, normalised."""
        column = cls()
        index = column._index
        values = column.values
        seen: dict[object, int] = {}  # raw value -> code, so repeated values normalise once
        codes: list[int] = []
        for item in raw:
            code = seen.get(item)
            if code is None:
                value = normalise(item)
                if value is None:
                    code = MISSING
                else:
                    code = index.get(value)
                    if code is None:
                        code = index[value] = len(values)
                        values.append(value)
                seen[item] = code
            codes.append(code)
        column._codes = np.asarray(codes, dtype=np.int32) if codes else column._codes
        column._size = len(codes)
        return column

    @property
    def codes(self) -> NDArray[np.int32]:
        """Each record's value code, ``-1`` where the value is missing."""
        return self._codes[: self._size]

    def __len__(self) -> int:
        return self._size

    def code_of(self, value: str | None) -> int | None:
        """The code of an already normalised value: -1 for missing, None if never seen."""
        if value is None:
            return MISSING
        return self._index.get(value)

    def value_at(self, row: int) -> str | None:
        """The value of one record, None when missing."""
        code = int(self._codes[row])
        return None if code == MISSING else self.values[code]

    def append(self, value: str | None) -> None:
        """Add one record's (normalised) value."""
        code = MISSING
        if value is not None:
            known = self._index.get(value)
            if known is None:
                known = self._index[value] = len(self.values)
                self.values.append(value)
            code = known
        if self._size == len(self._codes):
            grown = np.empty(max(16, 2 * len(self._codes)), dtype=np.int32)
            grown[: self._size] = self._codes[: self._size]
            self._codes = grown
        self._codes[self._size] = code
        self._size += 1

    def clear(self, row: int) -> None:
        """Forget one record's value (erasure); the distinct value stays only if others use it."""
        self._codes[row] = MISSING

    def cleaned(self, clean: Cleaner) -> Column:
        """This column with each distinct value cleaned: values that clean alike share a code,
        and those that clean to nothing are missing."""
        column = Column()
        recoded = np.full(len(self.values) + 1, MISSING, dtype=np.int32)  # last: missing
        for code, value in enumerate(self.values):
            kept = clean(value)
            if kept is not None:
                found = column._index.get(kept)
                if found is None:
                    found = column._index[kept] = len(column.values)
                    column.values.append(kept)
                recoded[code] = found
        column._codes = recoded[self.codes]
        column._size = len(self)
        return column


class ValuesWithExtra(Sequence[str]):
    """A column's distinct values plus one more at the next code, without copying the column.

    Used to compare a new record whose value the column has never seen.
    """

    __slots__ = ("_base", "_extra")

    def __init__(self, base: Sequence[str], extra: str) -> None:
        self._base = base
        self._extra = extra

    def __len__(self) -> int:
        return len(self._base) + 1

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._extra if index == len(self._base) else self._base[index]

    def __iter__(self) -> Iterator[str]:
        yield from self._base
        yield self._extra


class RecordTable:
    """Many records of one schema, column by column, with optional source datasets.

    ``sources`` names the dataset each record came from; with ``MatchSettings.link_only`` only
    pairs from different sources are compared (linking two files that each hold one record per
    person).
    """

    __slots__ = ("_position", "cleaners", "columns", "ids", "source_names", "sources")

    def __init__(
        self,
        ids: Sequence[str],
        columns: Mapping[str, Sequence[object]],
        sources: Sequence[str] | None = None,
    ) -> None:
        count = len(ids)
        for name, values in columns.items():
            if len(values) != count:
                raise ValueError(f"column {name!r} has {len(values)} values for {count} ids")
        self.ids: list[str] = [str(i) for i in ids]
        self._position: dict[str, int] = {}
        for row, record_id in enumerate(self.ids):
            if self._position.setdefault(record_id, row) != row:
                raise ValueError(f"record id {record_id!r} appears twice")
        self.columns: dict[str, Column] = {
            name: Column.from_values(values) for name, values in columns.items()
        }
        self.cleaners: dict[str, Cleaner] = {}
        self.source_names: list[str] = []
        self.sources: NDArray[np.int32] | None = None
        if sources is not None:
            if len(sources) != count:
                raise ValueError(f"{len(sources)} sources for {count} ids")
            source_codes: dict[str, int] = {}
            self.sources = np.asarray(
                [source_codes.setdefault(str(s), len(source_codes)) for s in sources],
                dtype=np.int32,
            )
            self.source_names = list(source_codes)

    @classmethod
    def from_records(
        cls,
        records: Iterable[Record],
        fields: Sequence[str],
        sources: Sequence[str] | None = None,
    ) -> RecordTable:
        """A table of these records' values for ``fields`` (absent fields are missing)."""
        rows = list(records)
        columns = {field: [r.fields.get(field) for r in rows] for field in fields}
        return cls([r.id for r in rows], columns, sources)

    def __len__(self) -> int:
        return len(self.ids)

    def row_of(self, record_id: str) -> int:
        """The row holding this record id; KeyError if absent."""
        return self._position[record_id]

    def record(self, row: int) -> Record:
        """The record at one row, with normalised values."""
        return Record(
            self.ids[row], {name: column.value_at(row) for name, column in self.columns.items()}
        )

    def clean(self, cleaners: Mapping[str, Cleaner]) -> None:
        """Clean the columns these cleaners name (those not cleaned yet), in place: the engine
        does it before it reads a table for settings whose comparisons clean a field, so every
        way a table is built meets the same values. Refuses a second, different cleaner."""
        for name, clean in cleaners.items():
            done = self.cleaners.get(name)
            if done is clean or name not in self.columns:
                continue
            if done is not None:
                raise ValueError(f"column {name!r} was cleaned another way already")
            self.columns[name] = self.columns[name].cleaned(clean)
            self.cleaners[name] = clean

    def value_of(self, name: str, raw: object) -> str | None:
        """A raw value as the column ``name`` holds it: normalised, and cleaned if it is."""
        value = normalise(raw)
        clean = self.cleaners.get(name)
        return clean(value) if value is not None and clean is not None else value

    def append(self, record: Record) -> int:
        """Add a record (its fields outside the table's columns are ignored); returns its row."""
        if record.id in self._position:
            raise ValueError(f"record id {record.id!r} appears twice")
        if self.sources is not None:
            raise ValueError("records with sources are added by building a new table")
        row = len(self.ids)
        self.ids.append(record.id)
        self._position[record.id] = row
        for name, column in self.columns.items():
            column.append(self.value_of(name, record.fields.get(name)))
        return row
