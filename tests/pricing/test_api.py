"""``/v1/prices``: set prices, read history with the Omnibus prior price, parity and alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.kit.time import utcnow
from tessera.models.pricing import PriceChange
from tests.support.factories import Tenant, make_tenant


@pytest.fixture
def tenant(session: Session) -> Tenant:
    tenant = make_tenant(session, "priceapi")
    CatalogService(session).create_product(
        tenant.workspace_id, ProductIn(handle="tee", title="Tee", variants=[VariantIn(sku="TEE")])
    )
    session.commit()
    return tenant


def put(client: TestClient, tenant: Tenant, channel: str, amount: int, days_ago: int = 0) -> dict:  # type: ignore[type-arg]
    body = {"sku": "TEE", "channel": channel, "amount": amount, "currency": "EUR",
            "effective_at": (utcnow() - timedelta(days=days_ago)).isoformat()}  # fmt: skip
    response = client.post("/v1/prices", json=body, headers=tenant.auth)
    assert response.status_code == 200, response.text
    result: dict = response.json()  # type: ignore[type-arg]
    return result


def test_prices_history_parity_and_alerts(client: TestClient, tenant: Tenant) -> None:
    """A discount shows the prior 30 days' lowest; Amazon above the site opens an alert."""
    put(client, tenant, "web", 3000, days_ago=40)
    put(client, tenant, "web", 2500, days_ago=20)
    sale = put(client, tenant, "web", 1999)
    policy = client.put("/v1/prices/policy", json={"site_channel": "web",
                                                   "max_above_basis_points": 500},
                        headers=tenant.auth)  # fmt: skip
    amazon = put(client, tenant, "amazon", 2200)

    listed = client.get("/v1/prices?sku=TEE", headers=tenant.auth).json()
    history = client.get("/v1/prices/history?sku=TEE&channel=web", headers=tenant.auth).json()
    parity = client.get("/v1/prices/parity", headers=tenant.auth).json()
    alerts = client.get("/v1/prices/alerts", headers=tenant.auth).json()

    assert sale["price"]["lowest_prior_30_days"] == 2500 and sale["price"]["is_reduction"] is True
    assert amazon["price"]["is_reduction"] is False
    assert policy.json() == {"site_channel": "web", "max_above_basis_points": 500}
    assert [(a["channel"], a["breach"], a["basis_points"]) for a in amazon["open_alerts"]] == [
        ("amazon", "above_site", 1005)
    ]
    assert [(p["channel"], p["amount"]) for p in listed["items"]] == [
        ("web", 1999),
        ("amazon", 2200),
    ]
    assert [c["amount"] for c in history["items"]] == [3000, 2500, 1999]
    assert history["lowest_prior_30_days"] == 2500
    assert parity["breaches"] == 1
    assert [(a["channel"], a["resolved_at"]) for a in alerts["items"]] == [("amazon", None)]


def test_the_parity_report_narrows_to_one_sku(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """With a second SKU priced, ``?sku=TEE`` reports TEE's prices only (the SKU page's
    twin); a SKU with no prices reports none."""
    CatalogService(session).create_product(
        tenant.workspace_id, ProductIn(handle="cap", title="Cap", variants=[VariantIn(sku="CAP")])
    )
    session.commit()
    put(client, tenant, "web", 2000)
    put(client, tenant, "amazon", 2100)
    cap = {"sku": "CAP", "channel": "web", "amount": 900, "currency": "EUR"}
    assert client.post("/v1/prices", json=cap, headers=tenant.auth).status_code == 200

    tee = client.get("/v1/prices/parity?sku=TEE", headers=tenant.auth).json()
    none = client.get("/v1/prices/parity?sku=NOPE", headers=tenant.auth).json()
    every = client.get("/v1/prices/parity", headers=tenant.auth).json()

    assert [(r["sku"], r["channel"]) for r in tee["rows"]] == [("TEE", "amazon"), ("TEE", "web")]
    assert (tee["breaches"], none["rows"]) == (1, [])
    assert len(every["rows"]) == 3


def test_bad_prices_are_refused_and_change_nothing(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """Negative amount, lowercase currency, unknown SKU, unknown floor SKU: 4xx, nothing kept."""
    base = {"sku": "TEE", "channel": "web", "amount": 100, "currency": "EUR"}

    negative = client.post("/v1/prices", json={**base, "amount": -1}, headers=tenant.auth)
    currency = client.post("/v1/prices", json={**base, "currency": "eur"}, headers=tenant.auth)
    unknown = client.post("/v1/prices", json={**base, "sku": "NOPE"}, headers=tenant.auth)
    floor = client.put("/v1/prices/floors", json={"sku": "NOPE", "amount": 1, "currency": "EUR"},
                       headers=tenant.auth)  # fmt: skip
    history = client.get("/v1/prices/history?sku=NOPE&channel=web", headers=tenant.auth)

    assert (negative.status_code, currency.status_code) == (422, 422)
    assert negative.headers["content-type"] == "application/problem+json"
    assert (unknown.status_code, floor.status_code, history.status_code) == (404, 404, 404)
    assert unknown.json()["type"].endswith("/unknown-sku")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(PriceChange)) == 0
