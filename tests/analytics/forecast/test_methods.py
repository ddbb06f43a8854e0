"""The forecast maths on series whose answers are known: Croston/SBA/TSB worked by hand and
against statsforecast (Nixtla's implementation, a test oracle only), MASE by its definition,
reorder points by the formula, and properties over random series (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from statsforecast.models import TSB, CrostonClassic, CrostonSBA, SimpleExponentialSmoothing

from tessera.analytics.forecast import backtest as bt
from tessera.analytics.forecast import methods as m

series = arrays(
    np.float64, st.integers(3, 60),
    elements=st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 7.0, 20.0]),
)  # fmt: skip


def test_croston_by_hand() -> None:
    """Demand 4 in week 1, 2 in week 4: size 4 then 4 + 0.1 x (2 - 4) = 3.8; interval 2 then
    2 + 0.1 x (3 - 2) = 2.1; forecast 3.8 / 2.1, SBA x 0.95."""
    y = [0, 4, 0, 0, 2, 0]
    fitted, next_ = m.croston(y)
    assert fitted[0].tolist()[:2] == [0.0, 0.0]
    assert fitted[0, 2] == pytest.approx(4 / 2)
    assert next_[0] == pytest.approx(3.8 / 2.1)
    assert m.sba(y)[1][0] == pytest.approx(0.95 * 3.8 / 2.1)


def test_a_constant_series_is_forecast_exactly_by_ses_and_croston() -> None:
    y = np.full((2, 30), 5.0)
    assert m.ses(y)[1] == pytest.approx([5.0, 5.0])
    assert m.croston(y)[1] == pytest.approx([5.0, 5.0])
    assert m.tsb(y)[1] == pytest.approx([5.0, 5.0])


@settings(max_examples=60, deadline=None)
@given(series)
def test_croston_sba_tsb_and_ses_match_statsforecast(y: np.ndarray) -> None:
    """The next week's forecast equals Nixtla's statsforecast on the same series (for TSB
    and SES from the first week; Croston-type once there was demand)."""
    if not (y > 0).any():
        return
    assert m.croston(y)[1][0] == pytest.approx(CrostonClassic().forecast(y, h=1)["mean"][0])
    assert m.sba(y)[1][0] == pytest.approx(CrostonSBA().forecast(y, h=1)["mean"][0])
    assert m.tsb(y)[1][0] == pytest.approx(TSB(0.1, 0.1).forecast(y, h=1)["mean"][0])
    assert m.ses(y)[1][0] == pytest.approx(
        SimpleExponentialSmoothing(0.1).forecast(y, h=1)["mean"][0]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(series, min_size=1, max_size=5).filter(lambda ys: len({len(y) for y in ys}) == 1))
def test_many_series_at_once_equal_each_alone(ys: list[np.ndarray]) -> None:
    """Vectorising over series changes nothing: each row is forecast as if alone; forecasts
    are never negative and one-step forecasts use no future week."""
    y = np.stack(ys)
    for method in m.METHODS.values():
        fitted, next_ = method(y)
        assert (next_ >= 0).all()
        for i, row in enumerate(ys):
            alone_fitted, alone_next = method(row)
            assert next_[i] == pytest.approx(alone_next[0])
            np.testing.assert_allclose(fitted[i], alone_fitted[0])
        if y.shape[1] > 2:
            changed = y.copy()
            changed[:, -1] += 5
            np.testing.assert_allclose(method(changed)[0], fitted)


def test_mase_by_its_definition() -> None:
    """Training 1, 3, 1, 3 (naive lag 1: errors 2, 2, 2, scale 2); the forecast of 2 for the
    last two weeks (actual 4 and 0) errs 2 each: MASE 1. Seasonal naive (lag 1) errs 1, 4."""
    y = np.array([[1.0, 3.0, 1.0, 3.0, 4.0, 0.0]])
    fitted = np.full_like(y, 2.0)
    result = bt.backtest(y, fitted, origins=2, season=52)
    assert result.season == 1
    assert result.mase[0] == pytest.approx(1.0)
    assert result.naive_mase[0] == pytest.approx((1 + 4) / 2 / 2)
    assert result.mean() == pytest.approx(1.0)


def test_the_seasonal_scale_uses_the_season_when_the_history_holds_more_than_one() -> None:
    y = np.array([[1.0, 5.0, 1.0, 5.0, 2.0, 6.0, 9.0]])
    scale = bt.mase_scale(y, training=6, season=2)
    assert scale[0] == pytest.approx((0 + 0 + 1 + 1) / 4)
    assert np.isnan(bt.mase_scale(np.zeros((1, 8)), 6, 2)[0])


def test_weeks_before_the_first_sale_are_not_in_the_scale() -> None:
    """Zeros, then 2, 4, 2, 4: the naive errors from the first sale on are 2, 2, 2."""
    y = np.array([[0.0] * 30 + [2.0, 4.0, 2.0, 4.0, 9.0]])
    assert bt.mase_scale(y, training=34, season=52)[0] == pytest.approx(2.0)


def test_reorder_point_is_lead_time_demand_plus_z_sigma_root_lead_time() -> None:
    """Forecast 10 a week, sigma 4, lead time 4 weeks, 95 %: 40 + 1.6449 x 4 x 2 = 53.16.
    Position 50 orders up to 53.16 + 2 weeks x 10 = 73.16, so 24; position 60 orders none."""
    plan = bt.reorder(np.array([10.0, 10.0]), np.array([4.0, 4.0]), np.array([50, 60]), 4, 0.95, 2)
    assert plan.reorder_point == pytest.approx([53.159, 53.159], abs=1e-3)
    assert plan.safety_stock[0] == pytest.approx(13.159, abs=1e-3)
    assert plan.order_quantity.tolist() == [24, 0]


def test_intervals_cover_the_forecast_and_never_go_below_zero() -> None:
    y = np.array([[0.0, 2.0, 0.0, 9.0, 0.0, 1.0, 0.0, 0.0]])
    fitted, next_ = m.sba(y)
    lower, upper = bt.intervals(y, fitted, next_, 0.9)
    assert 0 <= lower[0] <= next_[0] <= upper[0]


def test_demand_classes_follow_syntetos_boylan_cut_offs() -> None:
    y = [[5, 5, 5, 5], [0, 0, 5, 0], [1, 30, 2, 40], [0, 1, 0, 40], [0, 0, 0, 0]]
    assert m.classify(y) == ["smooth", "intermittent", "erratic", "lumpy", "none"]


def test_auto_picks_by_training_error_only() -> None:
    """A smooth series gets SES or SBA; the pick never looks at the backtest's weeks."""
    y = np.array([[3.0] * 20 + [100.0] * 4])
    _, _, picks = bt.choose(y, training=20)
    _, _, again = bt.choose(np.array([[3.0] * 20 + [0.0] * 4]), training=20)
    assert picks == again


def test_bad_demand_is_refused() -> None:
    with pytest.raises(ValueError, match="not negative"):
        m.sba([[1.0, -1.0]])


def test_a_store_channel_per_location_counts_as_selling_in_stores() -> None:
    """Store-locator searches ask for retail, not for stores, when ``store:soho`` sells."""
    from collections import Counter

    from tessera.analytics.advice.advice import build

    rows = [{"customer_id": "c1", "channel": "store:soho", "orders": 1, "revenue": 100}]
    advice = build(rows, Counter({"store_locator": 5, "web": 5}))[0]
    assert [a.channel for a in advice if a.kind == "add_channel"] == ["retail"]
