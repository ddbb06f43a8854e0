"""``/v1/reports/clv`` and ``tessera report clv``: lifetime value from the orders in the
database equals the pure models fitted on the same purchases; too little history is an empty
report with its reason; a bad horizon or rate is 422 naming the field."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tessera.analytics import clv
from tessera.analytics.report.service import ReportService
from tessera.config import Settings
from tessera.kit.time import ManualClock
from tests.analytics.layer.seed import Shop, at
from tests.analytics.layer.worlds import small_shop
from tests.support.cli import invoke
from tests.support.factories import make_tenant, make_workspace

END = date(2026, 6, 30)
CHANNELS = ("web", "store", "amazon", "tiktok_shop")


def shoppers(
    session: Session, workspace_id: str, people: int = 150, seed: int = 3
) -> list[tuple[str, datetime, int]]:
    """Seeded buy-till-you-die shoppers since 2025: each buys at their own rate until they
    drop out, spending around their own mean (Gamma-Gamma), on one or two channels; returns
    (profile, placed, value) of every order kept (a second order on one day, a refund and a
    cancellation are among them)."""
    rng = random.Random(seed)
    shop = Shop(session, workspace_id)
    kept: list[tuple[str, datetime, int]] = []
    for number in range(people):
        profile = shop.person(f"s{number}")
        channels = rng.sample(CHANNELS, rng.choice((1, 1, 2)))
        when = at("2025-01-01") + timedelta(days=rng.randint(0, 400))
        rate, dropout = rng.uniform(0.01, 0.08), rng.uniform(0.05, 0.5)
        spend_rate = rng.gammavariate(4.0, 1 / 15.0)  # Gamma-Gamma's nu, p=6 q=4 gamma=15
        while when < at("2026-06-30"):
            value = max(100, round(100 * rng.gammavariate(6.0, 1 / spend_rate)))
            refunded = 1000 if rng.random() < 0.05 else 0
            shop.order(profile, rng.choice(channels), when, value, refunded=refunded)
            kept.append((profile, when, max(value - refunded, 0)))
            if rng.random() < 0.03:
                shop.order(profile, channels[0], when + timedelta(hours=1), 999, cancelled=True)
            if rng.random() < dropout:
                break
            when += timedelta(days=max(1, int(rng.expovariate(rate))))
    session.flush()
    return kept


def test_lifetime_value_from_the_database_equals_the_models_on_the_same_purchases(
    session: Session,
) -> None:
    """The report's estimates are the BG/NBD and Gamma-Gamma fits of the orders kept
    (cancelled ones out, refunds netted); segments add up to every customer twice (reach and
    acquisition channel); the top customers come in order of value."""
    tenant = make_tenant(session, "alpha")
    kept = shoppers(session, tenant.workspace_id)
    clock = ManualClock(datetime(2026, 7, 1, 9, 0, tzinfo=at("2026-07-01").tzinfo))

    report = ReportService(session, clock).lifetime_value(tenant.workspace_id, END, months=12)

    rfm = clv.rfm_from_transactions(
        np.array([k[0] for k in kept], dtype=object),
        [k[1] for k in kept],
        np.array([k[2] for k in kept], dtype=np.float64),
        datetime(2026, 6, 30, 23, 59, tzinfo=at("2026-06-30").tzinfo),
    )
    purchases, spend = clv.fit_bgnbd(rfm), clv.fit_gamma_gamma(rfm)
    values = clv.customer_lifetime_value(purchases, spend, rfm, months=12)
    estimates = {(p.model, p.name): p.estimate for p in report.parameters}
    assert report.window.reason is None
    assert report.customers == len(rfm) == 150
    assert report.repeat_buyers == int(rfm.repeat_buyers.sum())
    assert estimates[("bg_nbd", "r")] == pytest.approx(purchases.params.r, abs=1e-4)
    assert estimates[("bg_nbd", "b")] == pytest.approx(purchases.params.b, abs=1e-4)
    assert estimates[("gamma_gamma", "q")] == pytest.approx(spend.params.q, abs=1e-4)
    assert report.average_value == round(float(values.mean()))
    for dimension in ("reach", "acquisition_channel"):
        assert sum(s.customers for s in report.segments if s.dimension == dimension) == 150
    top = [c.value for c in report.top_customers]
    assert top == sorted(top, reverse=True) and top[0] == round(float(values.max()))


def test_too_little_history_is_an_empty_report_with_its_reason(
    client: TestClient, session: Session
) -> None:
    """Three customers cannot be fitted: 200 with no numbers and the reason, never a 500."""
    tenant = make_tenant(session, "alpha")
    small_shop(session, tenant.workspace_id)
    other = make_tenant(session, "bravo")
    session.commit()

    response = client.get("/v1/reports/clv?to=2026-03-31", headers=tenant.auth)
    nothing = client.get("/v1/reports/clv?to=2026-03-31", headers=other.auth)

    assert response.status_code == 200
    assert response.json()["customers"] == 3
    assert "at least 20" in response.json()["window"]["reason"]
    assert response.json()["segments"] == []
    assert nothing.json()["window"]["reason"] == "no orders in this range"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("months=0", "months"),
        ("months=121", "months"),
        ("monthly_discount_rate=2", "monthly_discount_rate"),
        ("monthly_discount_rate=-0.1", "monthly_discount_rate"),
        ("to=2026-13-01", "to"),
    ],
)
def test_a_bad_horizon_or_rate_is_422_naming_the_field(
    client: TestClient, session: Session, query: str, field: str
) -> None:
    tenant = make_tenant(session, "alpha")
    session.commit()

    response = client.get(f"/v1/reports/clv?{query}", headers=tenant.auth)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


def test_the_cli_prints_segments_and_parameters(
    settings: Settings, session_factory: sessionmaker[Session], session: Session
) -> None:
    """``tessera report clv --format json`` answers the service's report; a bad horizon is
    one line naming the option."""
    workspace_id = make_workspace(session, "measure")
    shoppers(session, workspace_id, people=60)
    session.commit()

    code, shown = invoke(settings, session_factory, "report", "clv", "-w", "measure",
                         "--to", "2026-06-30", "--format", "json")  # fmt: skip
    refused_code, refused = invoke(
        settings, session_factory, "report", "clv", "-w", "measure", "--months", "0"
    )

    body = json.loads(shown)
    assert code == 0
    assert body["customers"] == 60
    assert {p["model"] for p in body["parameters"]} == {"bg_nbd", "gamma_gamma"}
    assert refused_code != 0 and "months" in refused
    assert "Traceback" not in refused
