"""Transactions to the summary the buy-till-you-die models read: per customer, frequency,
recency, age and mean repeat value.

The definitions are those of Fader, Hardie & Lee (2005), as their CDNOW estimates use them:

- purchases on the same calendar day are one purchase (their values are summed);
- frequency ``x`` is the number of *repeat* purchase days: a one-time buyer has 0;
- recency ``t_x`` is the time from the first purchase to the last one (0 when ``x`` is 0);
- age ``T`` is the time from the first purchase to the end of the calibration period;
- monetary is the mean value of the repeat purchases only (0 when ``x`` is 0), because the
  first purchase is often unlike the rest (a welcome offer, a bundle).

Time is counted in whole days divided by ``unit_days`` (7 by default, so weeks as fractions:
CDNOW's 39-week calibration is 272 days / 7 = 38.86, not 38 or 39). The calibration end is a
day and is included: a purchase on that day is in the summary. A timezone-aware timestamp is
taken on its UTC calendar day; pass local dates to count days in the shop's zone instead.

Pure NumPy, no loop over customers: the grouping is one sort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tessera.analytics.clv.errors import InvalidHistory
from tessera.kit.time import ensure_utc

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
DateLike = date | datetime | np.datetime64 | str
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, eq=False)
class Rfm:
    """One row per customer, in the order of ``customer_ids`` (sorted when built from
    transactions). ``frequency`` is an integer count; the times are in units of ``unit_days``."""

    customer_ids: npt.NDArray[Any]
    frequency: IntArray
    recency: FloatArray
    T: FloatArray
    monetary: FloatArray
    unit_days: float = 7.0

    def __post_init__(self) -> None:
        if self.frequency.ndim != 1:
            raise InvalidHistory("frequency, recency, T and monetary must be 1-d columns")
        check_summary(self.frequency, self.recency, self.T, self.monetary)
        if len(self.customer_ids) != len(self.frequency):
            raise InvalidHistory("customer_ids must have one entry per customer")
        if not (self.unit_days > 0 and np.isfinite(self.unit_days)):
            raise InvalidHistory("unit_days must be a positive number of days")

    def __len__(self) -> int:
        return len(self.frequency)

    @property
    def repeat_buyers(self) -> npt.NDArray[np.bool_]:
        """Which customers bought again after their first day."""
        return self.frequency > 0

    @property
    def periods_per_month(self) -> float:
        """How many time units make an average month (365.25 / 12 days)."""
        return DAYS_PER_MONTH / self.unit_days

    @classmethod
    def from_summary(
        cls,
        frequency: npt.ArrayLike,
        recency: npt.ArrayLike,
        T: npt.ArrayLike,
        monetary: npt.ArrayLike | None = None,
        *,
        customer_ids: npt.ArrayLike | None = None,
        unit_days: float = 7.0,
    ) -> Rfm:
        """A summary computed elsewhere (SQL, a published table), checked like one built here."""
        x = np.asarray(frequency, dtype=np.float64)
        if x.ndim != 1 or np.any(~np.isfinite(x)) or np.any(x != np.round(x)):
            raise InvalidHistory("frequency must be whole numbers of repeat purchases")
        t_x = np.asarray(recency, dtype=np.float64)
        age = np.asarray(T, dtype=np.float64)
        value = np.zeros_like(t_x) if monetary is None else np.asarray(monetary, np.float64)
        ids = np.arange(len(x)) if customer_ids is None else np.asarray(customer_ids)
        return cls(ids, x.astype(np.int64), t_x, age, value, unit_days)


class PurchaseModel(Protocol):
    """A fitted purchase-count model (BG/NBD, Pareto/NBD) as lifetime value and holdout
    validation use it."""

    @property
    def unit_days(self) -> float: ...

    def conditional_expected_purchases(self, t: npt.ArrayLike, rfm: Rfm) -> FloatArray:
        """Expected purchases in the ``t`` units after the calibration end (``t`` broadcast
        against the customers: a column of horizons gives one row per horizon)."""
        ...


def check_summary(
    frequency: npt.NDArray[Any],
    recency: npt.NDArray[Any],
    T: npt.NDArray[Any],
    monetary: npt.NDArray[Any] | None = None,
) -> None:
    """Refuse a summary no purchase history could produce, naming the column and a customer."""
    columns = {"frequency": frequency, "recency": recency, "T": T}
    if monetary is not None:
        columns["monetary"] = monetary
    sizes = {name: column.shape for name, column in columns.items()}
    if len(set(sizes.values())) != 1:
        raise InvalidHistory(f"frequency, recency, T and monetary must be of one length: {sizes}")
    for name, column in columns.items():
        _refuse_where(~np.isfinite(column), f"{name} must be a finite number")
        _refuse_where(column < 0, f"{name} must not be negative")
    _refuse_where(recency > T, "recency must not exceed T (the last purchase is after the end)")
    _refuse_where((frequency == 0) & (recency != 0), "recency must be 0 when frequency is 0")


def _refuse_where(bad: npt.NDArray[np.bool_], message: str) -> None:
    if np.any(bad):
        first = int(np.flatnonzero(bad.ravel())[0])
        raise InvalidHistory(f"{message} (row {first})", row=first)


def rfm_from_transactions(
    customer_ids: npt.ArrayLike,
    dates: npt.ArrayLike | Sequence[DateLike],
    values: npt.ArrayLike,
    calibration_end: DateLike,
    *,
    unit_days: float = 7.0,
) -> Rfm:
    """Summarise transactions up to and including ``calibration_end``'s day, one row per customer
    who bought by then. Later transactions are ignored (see ``holdout`` for using them).

    Refuses columns of different lengths, a missing date or customer, and a negative or missing
    value, naming the row: a refund is not a purchase, and netting it here would hide it.
    """
    ids = np.asarray(customer_ids)
    days = to_days(dates)
    amounts = np.asarray(values, dtype=np.float64)
    if not (ids.ndim == days.ndim == amounts.ndim == 1) or not (
        len(ids) == len(days) == len(amounts)
    ):
        raise InvalidHistory("customer_ids, dates and values must be 1-d columns of one length")
    _refuse_where(~np.isfinite(amounts), "value must be a number")
    _refuse_where(amounts < 0, "value must not be negative")
    if ids.dtype == object:
        _refuse_where(np.array([item is None for item in ids], dtype=bool), "customer id missing")
    end = int(to_days([calibration_end])[0])
    kept = days <= end
    if not np.any(kept):
        raise InvalidHistory("no transaction on or before the calibration end")
    unique_ids, codes = np.unique(ids[kept], return_inverse=True)
    return _summarise(unique_ids, codes.astype(np.int64), days[kept], amounts[kept], end, unit_days)


def _summarise(
    unique_ids: npt.NDArray[Any],
    codes: IntArray,
    days: IntArray,
    amounts: FloatArray,
    end: int,
    unit_days: float,
) -> Rfm:
    order = np.lexsort((days, codes))
    codes, days, amounts = codes[order], days[order], amounts[order]
    new_day = np.ones(len(codes), dtype=bool)
    new_day[1:] = (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])
    day_starts = np.flatnonzero(new_day)
    day_codes, day_numbers = codes[day_starts], days[day_starts]
    day_values = np.add.reduceat(amounts, day_starts)

    new_customer = np.ones(len(day_codes), dtype=bool)
    new_customer[1:] = day_codes[1:] != day_codes[:-1]
    starts = np.flatnonzero(new_customer)
    purchase_days = np.diff(np.append(starts, len(day_codes)))
    first = day_numbers[starts]
    last = day_numbers[starts + purchase_days - 1]
    repeat_values = day_values.copy()
    repeat_values[starts] = 0.0
    frequency = (purchase_days - 1).astype(np.int64)
    repeat_total = np.add.reduceat(repeat_values, starts)
    monetary = np.divide(repeat_total, frequency, out=np.zeros(len(starts)), where=frequency > 0)
    return Rfm(
        customer_ids=unique_ids[day_codes[starts]],
        frequency=frequency,
        recency=(last - first) / unit_days,
        T=(end - first) / unit_days,
        monetary=monetary,
        unit_days=unit_days,
    )


def to_days(dates: npt.ArrayLike | Sequence[DateLike]) -> IntArray:
    """Calendar days since 1970-01-01 of dates, datetimes (aware ones on their UTC day),
    ``datetime64`` values or ISO strings; refuses a missing or unreadable one, naming the row."""
    as_days = _read_at_once(dates)
    if as_days is None:
        as_days = _read_one_by_one(dates)
    _refuse_where(np.isnat(as_days), "date is missing")
    return as_days.astype(np.int64)


def _read_at_once(dates: object) -> npt.NDArray[np.datetime64] | None:
    """``datetime64`` values, or ISO strings NumPy reads in one go; None for anything else or
    a string it cannot read (read one by one, to name the row)."""
    if not isinstance(dates, np.ndarray) or dates.dtype.kind not in "MU":
        return None
    try:
        return dates.astype("datetime64[D]")
    except ValueError:
        return None


def _read_one_by_one(dates: npt.ArrayLike | Sequence[DateLike]) -> npt.NDArray[np.datetime64]:
    converted: list[Any] = []
    for row, item in enumerate(np.asarray(dates, dtype=object).ravel()):
        if isinstance(item, datetime):
            converted.append(ensure_utc(item).date())
        elif isinstance(item, date | np.datetime64):
            converted.append(item)
        elif isinstance(item, str):
            try:
                converted.append(np.datetime64(item, "D"))
            except ValueError:
                raise InvalidHistory(f"date is not a date (row {row})", row=row) from None
        else:
            raise InvalidHistory(f"date is missing or not a date (row {row})", row=row)
    return np.array(converted, dtype="datetime64[D]")
