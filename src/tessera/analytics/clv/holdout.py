"""Holdout validation: fit on the transactions up to a calibration end, predict each customer's
purchases in the holdout period that follows, and compare with what they did.

Customers are grouped by their calibration frequency (0, 1, ..., then "N+" for the rest), as
in Fader, Hardie & Lee's Figure 4 ("conditional expectations"); each group reports its mean
predicted and mean actual repeat purchases. Holdout purchases are counted like calibration
ones: distinct days, for the customers who had bought by the calibration end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tessera.analytics.clv.bgnbd import fit_bgnbd
from tessera.analytics.clv.errors import InvalidHistory
from tessera.analytics.clv.rfm import (
    DateLike,
    PurchaseModel,
    Rfm,
    rfm_from_transactions,
    to_days,
)


@dataclass(frozen=True)
class FrequencyBucket:
    """Customers with ``frequency`` repeat purchases in calibration (``top`` when it is the
    last bucket, holding that many and more)."""

    frequency: int
    top: bool
    customers: int
    predicted_mean: float
    actual_mean: float

    @property
    def label(self) -> str:
        return f"{self.frequency}+" if self.top else str(self.frequency)


@dataclass(frozen=True)
class HoldoutValidation:
    """Predicted against actual holdout purchases, per frequency bucket and in total."""

    fit: PurchaseModel
    holdout_periods: float
    buckets: tuple[FrequencyBucket, ...]
    predicted_total: float
    actual_total: int

    @property
    def mean_absolute_error(self) -> float:
        """Mean over customers of |predicted - actual| of each bucket's means, weighted by size."""
        customers = sum(bucket.customers for bucket in self.buckets)
        gap = sum(
            bucket.customers * abs(bucket.predicted_mean - bucket.actual_mean)
            for bucket in self.buckets
        )
        return gap / customers


def holdout_purchases(
    calibration: Rfm,
    customer_ids: npt.ArrayLike,
    dates: npt.ArrayLike | Sequence[DateLike],
    calibration_end: DateLike,
    holdout_end: DateLike,
) -> npt.NDArray[np.int64]:
    """Each calibration customer's distinct purchase days after ``calibration_end`` up to and
    including ``holdout_end``, in ``calibration.customer_ids`` order (which is sorted)."""
    ids = np.asarray(customer_ids)
    days = to_days(dates)
    start, end = (int(to_days([moment])[0]) for moment in (calibration_end, holdout_end))
    inside = (days > start) & (days <= end)
    ids, days = ids[inside], days[inside]
    position = np.searchsorted(calibration.customer_ids, ids)
    known = position < len(calibration.customer_ids)
    known[known] = calibration.customer_ids[position[known]] == ids[known]
    pairs = np.unique(np.stack([position[known], days[known]]), axis=1)
    return np.bincount(pairs[0], minlength=len(calibration)).astype(np.int64)


def validate_holdout(
    customer_ids: npt.ArrayLike,
    dates: npt.ArrayLike | Sequence[DateLike],
    values: npt.ArrayLike,
    calibration_end: DateLike,
    holdout_end: DateLike,
    *,
    unit_days: float = 7.0,
    top_frequency: int = 7,
    fit: PurchaseModel | None = None,
) -> HoldoutValidation:
    """Split the transactions at ``calibration_end``, fit BG/NBD on the first part (unless a
    ``fit`` of the same calibration is given: Pareto/NBD, say) and compare its conditional
    expectations with the second.

    Refuses a holdout end that is not after the calibration end and a ``top_frequency`` below 1.
    """
    start, end = (int(to_days([moment])[0]) for moment in (calibration_end, holdout_end))
    if end <= start:
        raise InvalidHistory("holdout_end must be after calibration_end")
    if top_frequency < 1:
        raise InvalidHistory("top_frequency must be at least 1")
    calibration = rfm_from_transactions(
        customer_ids, dates, values, calibration_end, unit_days=unit_days
    )
    model: PurchaseModel = fit or fit_bgnbd(calibration)
    periods = (end - start) / unit_days
    predicted = model.conditional_expected_purchases(periods, calibration)
    actual = holdout_purchases(calibration, customer_ids, dates, calibration_end, holdout_end)
    bucket_of = np.minimum(calibration.frequency, top_frequency)
    buckets = []
    for frequency in range(top_frequency + 1):
        members = bucket_of == frequency
        if not np.any(members):
            continue
        buckets.append(
            FrequencyBucket(
                frequency=frequency,
                top=frequency == top_frequency,
                customers=int(members.sum()),
                predicted_mean=float(predicted[members].mean()),
                actual_mean=float(actual[members].mean()),
            )
        )
    return HoldoutValidation(
        fit=model,
        holdout_periods=periods,
        buckets=tuple(buckets),
        predicted_total=float(predicted.sum()),
        actual_total=int(actual.sum()),
    )
