"""Pure rules of Measure's reports: rates from counts, the omnichannel trend, cohort grids,
and attribution journeys from touches and conversions. No session, no clock."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import urlsplit

from tessera.analytics.attribution import Journey, Touch
from tessera.kit.bounds import MAX_MINOR_UNITS

CLICK_CHANNELS = {"Email Link Clicked": "email", "SMS Link Clicked": "sms"}
OWN_ONLINE_CHANNELS = frozenset({"web", "app"})  # their orders convert; they are no touch
DIRECT = "direct"
BROWSE_TYPES = frozenset({"page", "screen"})


def rate(part: int, whole: int) -> float:
    """``part / whole`` rounded to 4 places; 0.0 for an empty whole."""
    return round(part / whole, 4) if whole else 0.0


def month_label(index: int) -> str:
    """``year * 12 + month - 1`` as ``YYYY-MM``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def cumulative_share(arrivals: Sequence[Mapping[str, int]]) -> list[tuple[str, int, int, float]]:
    """(month, customers, omnichannel customers, share) as of each month's end, summing the
    per-month arrivals in month order."""
    customers = omni = 0
    trend = []
    for row in sorted(arrivals, key=lambda r: r["month"]):
        customers += row["new_customers"]
        omni += row["new_omnichannel"]
        trend.append((month_label(row["month"]), customers, omni, rate(omni, customers)))
    return trend


# Attribution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    customer_id: str
    at: datetime
    value: int


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def event_value(properties: str | None) -> int:
    """A conversion event's value in minor units: its ``total``, else ``revenue``, else
    ``value`` (Segment's names), when it is a finite non-negative number; 0 otherwise."""
    found = _json(properties)
    for name in ("total", "revenue", "value"):
        amount = found.get(name)
        if isinstance(amount, int | float) and not isinstance(amount, bool):
            if not math.isfinite(amount) or amount < 0:
                return 0
            minor = int((Decimal(str(amount)) * 100).to_integral_value(ROUND_HALF_EVEN))
            return minor if minor <= MAX_MINOR_UNITS else 0
    return 0


def touch_label(
    event_type: str, name: str | None, campaign: str | None, page: str | None, group_by: str
) -> str | None:
    """The label an event earns as a touch, or None when it is no touch: a campaign's source
    (or its name when grouping by campaign), an email or SMS click, a referrer's host
    (``referral:host``), a bare page or screen view (``direct``)."""
    if name in CLICK_CHANNELS:
        return CLICK_CHANNELS[name]
    tags = _json(campaign)
    source = tags.get("source")
    if isinstance(source, str) and source.strip():
        label = tags.get("name") if group_by == "campaign" else None
        return (
            str(label).strip().lower()
            if isinstance(label, str) and label.strip()
            else (source.strip().lower())
        )
    referrer = _json(page).get("referrer")
    if isinstance(referrer, str) and referrer.strip():
        host = urlsplit(referrer.strip()).hostname
        return f"referral:{host}" if host else "referral"
    return DIRECT if event_type in BROWSE_TYPES else None


def build_journeys(
    touches: Iterable[tuple[str, datetime, str]],
    conversions: Iterable[Conversion],
    lookback: timedelta,
) -> list[Journey]:
    """One journey per conversion: the customer's touches in ``(previous conversion,
    conversion]`` no older than ``lookback``, repeated labels in a row kept once. A
    conversion with no touch in the window is a journey of one ``direct`` touch, so every
    conversion is credited somewhere and the models' totals equal the conversions."""
    by_customer: dict[str, list[tuple[datetime, str]]] = {}
    for customer_id, at, label in touches:
        by_customer.setdefault(customer_id, []).append((at, label))
    for held in by_customer.values():
        held.sort()
    journeys: list[Journey] = []
    previous: dict[str, datetime] = {}
    for conversion in sorted(conversions, key=lambda c: (c.customer_id, c.at)):
        since = conversion.at - lookback
        last = previous.get(conversion.customer_id)
        if last is not None and last > since:
            since = last
        path: list[Touch] = []
        for at, label in by_customer.get(conversion.customer_id, ()):
            if since <= at <= conversion.at and (
                (last is None or at > last) and (not path or path[-1].channel != label)
            ):
                path.append(Touch(label, at))
        if not path:
            path = [Touch(DIRECT, conversion.at)]
        journeys.append(Journey(path, True, conversion.value, conversion.at))
        previous[conversion.customer_id] = conversion.at
    return journeys
