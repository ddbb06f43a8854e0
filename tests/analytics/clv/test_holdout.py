"""Holdout validation: predicted against actual purchases after the calibration end."""

from __future__ import annotations

import numpy as np
import pytest

from tessera.analytics.clv import InvalidHistory, rfm_from_transactions, validate_holdout
from tessera.analytics.clv.holdout import holdout_purchases
from tests.analytics.clv.conftest import Transactions


def test_holdout_purchases_count_distinct_days_of_known_customers() -> None:
    """After the calibration end: two orders on one day are one purchase, a customer first seen
    in the holdout is left out, and a purchase past the holdout end does not count."""
    ids = ["a", "b", "a", "a", "a", "new", "b"]
    days = ["2024-01-01", "2024-01-02", "2024-01-10", "2024-01-10", "2024-01-12", "2024-01-11",
            "2024-02-01"]  # fmt: skip
    calibration = rfm_from_transactions(ids, days, [1.0] * 7, "2024-01-07")

    counts = holdout_purchases(calibration, ids, days, "2024-01-07", "2024-01-31")

    assert list(calibration.customer_ids) == ["a", "b"]
    assert counts.tolist() == [2, 0]


def test_cdnow_holdout_predictions_follow_the_actual_purchases(cdnow: Transactions) -> None:
    """Calibrated to 1997-09-30 and checked on the 39 weeks to 1998-06-30: the buckets hold
    CDNOW's customers by repeat purchases; 1,882 actual purchases against 1,653 predicted, the
    model falling short in every bucket, by 0.097 purchases a customer on average."""
    result = validate_holdout(
        cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30", "1998-06-30"
    )

    assert result.holdout_periods == 39.0
    assert [(bucket.label, bucket.customers) for bucket in result.buckets] == [
        ("0", 1411), ("1", 439), ("2", 214), ("3", 100), ("4", 62), ("5", 38), ("6", 29),
        ("7+", 64),
    ]  # fmt: skip
    assert (result.actual_total, round(result.predicted_total)) == (1882, 1653)
    gaps = np.array([bucket.actual_mean - bucket.predicted_mean for bucket in result.buckets])
    assert np.all(gaps > 0)
    assert round(result.mean_absolute_error, 3) == 0.097
    assert round(result.buckets[0].predicted_mean, 3) == 0.225
    assert round(result.buckets[0].actual_mean, 3) == 0.237


def test_a_holdout_that_ends_before_it_starts_is_refused(cdnow: Transactions) -> None:
    """The holdout end must come after the calibration end."""
    with pytest.raises(InvalidHistory, match="holdout_end must be after calibration_end"):
        validate_holdout(cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30", "1997-09-30")
