"""Customer lifetime value as a report: the layer's linked orders up to the window's end, the
BG/NBD and Gamma-Gamma fits of ``analytics.clv``, and each customer's predicted purchases,
P(alive) and discounted value over a horizon, summed per segment (omnichannel or single
channel, and the channel of the first order).

Time is counted in weeks (days / 7) from each customer's first order day, as the published
models do; same-day orders are one purchase; an order's value is its total net of refunds
(never below zero). Money is taken as the workspace's currency (orders in other currencies are
counted as they are, like the overview's KPIs). A history the models cannot fit (too few
customers, no repeat buyers, a maximum on a parameter bound) is not an error: the report is
empty and ``window.reason`` says why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from tessera.analytics import clv
from tessera.analytics.report import domain
from tessera.analytics.report.schemas import (
    ClvCustomerOut,
    ClvParameterOut,
    ClvReport,
    ClvSegmentOut,
    Window,
)

MIN_CUSTOMERS = 20  # fewer than this and the fit says more about chance than the customers
TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class Customer:
    channels: frozenset[str]
    acquisition_channel: str


def customers_of(rows: Iterable[Mapping[str, Any]]) -> dict[str, Customer]:
    """Each customer's channels and the channel of their first order, from order rows
    (``customer_id``, ``channel``, ``placed_at``)."""
    channels: dict[str, set[str]] = defaultdict(set)
    first: dict[str, tuple[datetime, str]] = {}
    for row in rows:
        customer, channel, at = row["customer_id"], row["channel"], row["placed_at"]
        channels[customer].add(channel)
        if customer not in first or (at, channel) < first[customer]:
            first[customer] = (at, channel)
    return {c: Customer(frozenset(channels[c]), first[c][1]) for c in channels}


def lifetime_report(
    window: Window,
    rows: Sequence[Mapping[str, Any]],
    calibration_end: datetime,
    *,
    months: int,
    monthly_discount_rate: float,
) -> ClvReport:
    """Fit and value the customers of ``rows`` (linked orders placed before the window's end)."""
    empty = ClvReport(
        window=window,
        months=months,
        monthly_discount_rate=monthly_discount_rate,
        customers=0,
        repeat_buyers=0,
    )
    people = customers_of(rows)
    if not rows:
        window.reason = "no orders in this range"
        return empty
    if len(people) < MIN_CUSTOMERS:
        window.reason = f"{len(people)} customers: the models need at least {MIN_CUSTOMERS}"
        return empty.model_copy(update={"customers": len(people)})
    try:
        rfm = clv.rfm_from_transactions(
            np.array([r["customer_id"] for r in rows], dtype=object),
            [r["placed_at"] for r in rows],
            np.array([max(int(r["net_total"]), 0) for r in rows], dtype=np.float64),
            calibration_end,
        )
        purchases = clv.fit_bgnbd(rfm)
        spend = clv.fit_gamma_gamma(rfm)
        values = clv.customer_lifetime_value(
            purchases, spend, rfm, months=months, monthly_discount_rate=monthly_discount_rate
        )
    except (clv.NotFittable, clv.InvalidHistory) as refusal:
        window.reason = f"the models cannot be fitted on this history: {refusal}"
        return empty.model_copy(update={"customers": len(people)})
    alive = purchases.probability_alive(rfm)
    horizon_weeks = months * rfm.periods_per_month
    expected = purchases.conditional_expected_purchases(horizon_weeks, rfm)
    ids = [str(i) for i in rfm.customer_ids]
    return ClvReport(
        window=window,
        months=months,
        monthly_discount_rate=monthly_discount_rate,
        customers=len(ids),
        repeat_buyers=int(rfm.repeat_buyers.sum()),
        parameters=_parameters(purchases, spend),
        average_value=round(float(values.mean())),
        segments=_segments(ids, values, alive, people),
        top_customers=[
            ClvCustomerOut(
                customer_id=ids[i],
                purchases=int(rfm.frequency[i]) + 1,
                probability_alive=round(float(alive[i]), 4),
                expected_purchases=round(float(expected[i]), 3),
                value=round(float(values[i])),
            )
            for i in np.argsort(-values, kind="stable")[:TOP_CUSTOMERS]
        ],
    )


def _parameters(purchases: clv.BgNbdFit, spend: clv.GammaGammaFit) -> list[ClvParameterOut]:
    fitted = []
    for model, params, errors in (
        ("bg_nbd", purchases.params, purchases.standard_errors),
        ("gamma_gamma", spend.params, spend.standard_errors),
    ):
        for name, value in vars(params).items():
            error = float(getattr(errors, name))
            fitted.append(
                ClvParameterOut(
                    model=model,
                    name=name,
                    estimate=round(float(value), 4),
                    standard_error=round(error, 4) if np.isfinite(error) else None,
                )
            )
    return fitted


def _segments(
    ids: list[str], values: Any, alive: Any, people: Mapping[str, Customer]
) -> list[ClvSegmentOut]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, customer_id in enumerate(ids):
        person = people[customer_id]
        reach = "omnichannel" if len(person.channels) > 1 else "single_channel"
        groups[("reach", reach)].append(index)
        groups[("acquisition_channel", person.acquisition_channel)].append(index)
    return [
        ClvSegmentOut(
            dimension=dimension,
            segment=segment,
            customers=len(members),
            average_value=round(float(values[members].mean())),
            total_value=round(float(values[members].sum())),
            share_alive=domain.rate(int((alive[members] >= 0.5).sum()), len(members)),
        )
        for (dimension, segment), members in sorted(groups.items())
    ]
