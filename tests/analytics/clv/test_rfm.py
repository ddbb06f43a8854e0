"""Transactions to frequency, recency, age and repeat value as BG/NBD reads them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from random import Random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.analytics.clv import InvalidHistory, Rfm, rfm_from_transactions
from tests.analytics.clv.conftest import Transactions, lifetimes_data


def test_same_day_purchases_are_one_and_monetary_counts_repeats_only() -> None:
    """Two orders on one day are one purchase of their summed value; the first day's value is
    left out of the mean; times are days / 7 from the first purchase."""
    ids = ["b", "a", "a", "a", "a", "c"]
    days = ["2024-01-08", "2024-01-01", "2024-01-01", "2024-01-15", "2024-01-15", "2024-01-29"]
    values = [5.0, 100.0, 50.0, 10.0, 20.0, 7.0]

    rfm = rfm_from_transactions(ids, days, values, date(2024, 1, 29))

    assert list(rfm.customer_ids) == ["a", "b", "c"]
    assert rfm.frequency.tolist() == [1, 0, 0]
    assert rfm.recency.tolist() == [2.0, 0.0, 0.0]
    assert rfm.T.tolist() == [4.0, 3.0, 0.0]
    assert rfm.monetary.tolist() == [30.0, 0.0, 0.0]


def test_the_calibration_end_day_is_in_and_later_purchases_are_not() -> None:
    """A purchase on the calibration end's day counts; one the day after does not, and a
    customer whose first purchase is after the end is not in the summary."""
    ids = ["a", "a", "a", "b"]
    days = [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 9), date(2024, 1, 9)]

    rfm = rfm_from_transactions(ids, days, [1.0, 2.0, 4.0, 8.0], "2024-01-08")

    assert list(rfm.customer_ids) == ["a"]
    assert (rfm.frequency.tolist(), rfm.recency.tolist(), rfm.monetary.tolist()) == (
        [1],
        [1.0],
        [2.0],
    )


def test_aware_timestamps_count_on_their_utc_day() -> None:
    """23:30 in New York on 1 January is 2 January in UTC: a different day from 00:30 UTC on
    1 January, so it is a repeat purchase."""
    new_york = timezone(timedelta(hours=-5))
    moments = [
        datetime(2024, 1, 1, 0, 30, tzinfo=UTC),
        datetime(2024, 1, 1, 23, 30, tzinfo=new_york),
    ]

    rfm = rfm_from_transactions([7, 7], moments, [1.0, 1.0], "2024-01-08", unit_days=1.0)

    assert (rfm.frequency.tolist(), rfm.recency.tolist(), rfm.T.tolist()) == ([1], [1.0], [7.0])


def test_dates_read_the_same_in_every_form() -> None:
    """ISO strings in a NumPy array, datetime64 values, dates and naive datetimes give one
    summary; a bad string in an array is still refused naming its row."""
    days = ["2024-01-01", "2024-01-05", "2024-01-05"]
    forms = [
        np.array(days),
        np.array(days, dtype="datetime64[D]"),
        [date.fromisoformat(day) for day in days],
        [datetime.fromisoformat(day + "T12:00") for day in days],
    ]

    summaries = [
        rfm_from_transactions(["a"] * 3, form, [1.0, 2.0, 3.0], "2024-01-08") for form in forms
    ]

    assert {(s.frequency[0], s.recency[0], s.T[0], s.monetary[0]) for s in summaries} == {
        (1, 4 / 7, 1.0, 5.0)
    }
    with pytest.raises(InvalidHistory, match=r"date is not a date \(row 2\)"):
        rfm_from_transactions(["a"] * 3, np.array([*days[:2], "5th"]), [1.0] * 3, "2024-01-08")


def test_cdnow_summary_matches_the_published_one(cdnow: Transactions) -> None:
    """From CDNOW's raw purchases, the summary is Fader & Hardie's to the cent and the
    hundredth of a week: 2,357 customers, 946 repeat buyers, T = 38.86 for 1 January."""
    published = np.loadtxt(
        lifetimes_data("cdnow_customers_summary_with_transactions.csv"), delimiter=",", skiprows=1
    )

    rfm = rfm_from_transactions(cdnow.customer_ids, cdnow.dates, cdnow.values, "1997-09-30")

    assert len(rfm) == 2357
    assert int(rfm.repeat_buyers.sum()) == 946
    assert rfm.customer_ids.astype(int).tolist() == published[:, 0].astype(int).tolist()
    assert rfm.frequency.tolist() == published[:, 1].astype(int).tolist()
    assert np.abs(rfm.recency - published[:, 2]).max() <= 0.005 + 1e-9
    assert np.abs(rfm.T - published[:, 3]).max() <= 0.005 + 1e-9
    assert np.abs(rfm.monetary - published[:, 4]).max() <= 0.005 + 1e-9


@pytest.mark.parametrize(
    ("ids", "days", "values", "message"),
    [
        (["a", "a"], ["2024-01-01", "2024-01-02"], [1.0, -1.0],
         "value must not be negative (row 1)"),
        (["a", "a"], ["2024-01-01", None], [1.0, 1.0], "date is missing or not a date (row 1)"),
        (["a", "a"], ["2024-01-01", "soon"], [1.0, 1.0], "date is not a date (row 1)"),
        (["a", "a"], ["2024-01-01", "2024-01-02"], [1.0, float("nan")], "value must be a number"),
        (["a"], ["2024-01-01", "2024-01-02"], [1.0, 1.0], "one length"),
        (["a"], ["2024-02-01"], [1.0], "no transaction on or before the calibration end"),
    ],
)  # fmt: skip
def test_a_history_that_is_not_one_is_refused_naming_the_row(
    ids: list[str], days: list[str | None], values: list[float], message: str
) -> None:
    """Negative, missing or unreadable values and dates are refused, naming the row."""
    with pytest.raises(InvalidHistory, match=message.replace("(", r"\(").replace(")", r"\)")):
        rfm_from_transactions(ids, days, values, "2024-01-31")


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, 2], [3.0, 1.0], [2.0, 5.0], "recency must not exceed T"),
        ([0], [1.0], [2.0], "recency must be 0 when frequency is 0"),
        ([1.5], [1.0], [2.0], "frequency must be whole numbers"),
        ([-1], [0.0], [2.0], "frequency must not be negative"),
        ([1], [1.0], [float("inf")], "T must be a finite number"),
    ],
)
def test_a_summary_no_history_could_produce_is_refused(
    frequency: list[float], recency: list[float], T: list[float], message: str
) -> None:
    """A summary built elsewhere is checked like one built here."""
    with pytest.raises(InvalidHistory, match=message):
        Rfm.from_summary(frequency, recency, T)


purchases = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 60), st.integers(0, 10_000)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(purchases, st.randoms(use_true_random=False))
def test_the_summary_counts_every_purchase_day_once_in_any_order(
    rows: list[tuple[int, int, int]], shuffle: Random
) -> None:
    """Whatever the order of the rows, each customer's purchase days are 1 + frequency, the
    repeat values add up to frequency x monetary, and recency never exceeds T."""
    ids = np.array([row[0] for row in rows])
    days = np.datetime64("2024-01-01") + np.array([row[1] for row in rows])
    cents = np.array([row[2] for row in rows], dtype=np.float64) / 100
    order = list(range(len(rows)))
    shuffle.shuffle(order)

    rfm = rfm_from_transactions(ids[order], days[order], cents[order], "2024-03-31", unit_days=1)

    for customer, x, t_x, T, value in zip(
        rfm.customer_ids, rfm.frequency, rfm.recency, rfm.T, rfm.monetary, strict=True
    ):
        mine = ids == customer
        own_days = sorted(set(days[mine].astype(int).tolist()))
        first_day_value = cents[mine & (days == days[mine].min())].sum()
        assert x == len(own_days) - 1
        assert t_x == own_days[-1] - own_days[0] <= T
        assert np.isclose(value * x, cents[mine].sum() - first_day_value)
