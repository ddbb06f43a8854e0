"""The reports' pure rules: which events are touches and what they are called, journeys cut
at the previous conversion and the lookback, conversion values, the share's trend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tessera.analytics.report import domain
from tessera.analytics.report.domain import Conversion
from tests.analytics.layer.seed import at


@pytest.mark.parametrize(
    ("event_type", "name", "campaign", "page", "group_by", "label"),
    [
        ("track", "Email Link Clicked", None, None, "channel", "email"),
        ("track", "SMS Link Clicked", '{"source": "x"}', None, "channel", "sms"),
        ("page", None, '{"source": " TikTok ", "name": "Glow"}', None, "channel", "tiktok"),
        ("page", None, '{"source": "tiktok", "name": "Glow"}', None, "campaign", "glow"),
        ("page", None, None, '{"referrer": "https://news.example/a?b"}', "channel",
         "referral:news.example"),
        ("page", None, "not json", None, "channel", "direct"),
        ("screen", None, None, None, "channel", "direct"),
        ("track", "Product Viewed", None, None, "channel", None),
    ],
)  # fmt: skip
def test_an_event_is_labelled_by_what_brought_the_person(
    event_type: str,
    name: str | None,
    campaign: str | None,
    page: str | None,
    group_by: str,
    label: str | None,
) -> None:
    """Clicks name their channel, campaigns their source (or name), referrers their host; a
    bare view is direct and other tracked events are no touch."""
    assert domain.touch_label(event_type, name, campaign, page, group_by) == label


def test_a_journey_starts_after_the_previous_conversion_and_within_the_lookback() -> None:
    """The second order's journey has only what came after the first; a touch older than the
    lookback is dropped; repeats in a row count once; an order with no touch is direct."""
    touches = [
        ("p", at("2026-01-01"), "tiktok"),
        ("p", at("2026-01-20"), "email"),
        ("p", at("2026-01-21"), "email"),
        ("p", at("2026-02-02"), "instagram"),
    ]
    conversions = [
        Conversion("p", at("2026-01-22"), 100),
        Conversion("p", at("2026-02-03"), 200),
        Conversion("q", at("2026-02-03"), 300),
    ]

    journeys = domain.build_journeys(touches, conversions, timedelta(days=7))

    assert [[t.channel for t in j.touches] for j in journeys] == [
        ["email"], ["instagram"], ["direct"],
    ]  # fmt: skip
    assert [j.value for j in journeys] == [100, 200, 300]


@pytest.mark.parametrize(
    ("properties", "value"),
    [('{"total": 12.345}', 1234), ('{"revenue": 3}', 300), ('{"value": -1}', 0),
     ('{"total": "12"}', 0), ('{"total": 1e20}', 0), (None, 0)],
)  # fmt: skip
def test_a_conversion_event_is_worth_its_stated_amount(properties: str | None, value: int) -> None:
    """Total, else revenue, else value, in minor units; text, negative or huge amounts are 0."""
    assert domain.event_value(properties) == value


def test_the_trend_adds_arrivals_month_by_month() -> None:
    """Customers and omnichannel customers accumulate; the share is as of each month's end."""
    arrivals = [
        {"month": 2026 * 12 + 1, "new_customers": 1, "new_omnichannel": 1},
        {"month": 2026 * 12, "new_customers": 3, "new_omnichannel": 0},
    ]

    assert domain.cumulative_share(arrivals) == [
        ("2026-01", 3, 0, 0.0), ("2026-02", 4, 1, 0.25),
    ]  # fmt: skip
