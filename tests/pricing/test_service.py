"""Prices with history, the Omnibus prior price, floors, the parity policy and its alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.catalog.errors import UnknownSku
from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.kit.time import utcnow
from tessera.models.pricing import PriceAlert, PriceBreach, PriceChange
from tessera.pricing.errors import InvalidPrice
from tessera.pricing.schemas import FloorIn, PolicyIn, PriceIn
from tessera.pricing.service import PriceService
from tests.support.factories import make_workspace


@pytest.fixture
def workspace_id(session: Session) -> str:
    workspace_id = make_workspace(session, "priceco")
    CatalogService(session).create_product(
        workspace_id,
        ProductIn(handle="tee", title="Tee", variants=[VariantIn(sku="TEE"), VariantIn(sku="CAP")]),
    )
    return workspace_id


def price(
    sku: str, channel: str, amount: int, days_ago: float | None = None, **kw: object
) -> PriceIn:
    when = None if days_ago is None else utcnow() - timedelta(days=days_ago)
    return PriceIn(sku=sku, channel=channel, amount=amount, currency="EUR", effective_at=when, **kw)


def test_history_and_the_omnibus_lowest_of_the_prior_30_days(
    session: Session, workspace_id: str
) -> None:
    """A sale today shows the lowest price of the 30 days before it, not older ones."""
    service = PriceService(session)
    service.set_price(workspace_id, price("TEE", "web", 1500, days_ago=60))
    service.set_price(workspace_id, price("TEE", "web", 3000, days_ago=40))
    service.set_price(workspace_id, price("TEE", "web", 2600, days_ago=10))
    service.set_price(workspace_id, price("TEE", "web", 2800, days_ago=5))

    current, _alerts = service.set_price(workspace_id, price("TEE", "web", 1999))

    assert (current.amount, current.currency) == (1999, "EUR")
    assert service.lowest_prior(workspace_id, "TEE", "web") == 2600
    assert [c.amount for c in service.history(workspace_id, "TEE", "web")] == [
        1500, 3000, 2600, 2800, 1999,
    ]  # fmt: skip


def test_a_back_dated_price_fills_history_without_replacing_todays(
    session: Session, workspace_id: str
) -> None:
    """An import of last month's price is history; the price in force stays."""
    service = PriceService(session)
    service.set_price(workspace_id, price("TEE", "amazon", 2500))

    current, _ = service.set_price(workspace_id, price("TEE", "amazon", 1000, days_ago=20))

    assert current.amount == 2500
    assert service.lowest_prior(workspace_id, "TEE", "amazon") == 1000


def test_an_idempotency_key_records_once(session: Session, workspace_id: str) -> None:
    """The same key twice keeps one change, even with another amount."""
    service = PriceService(session)
    service.set_price(workspace_id, price("TEE", "web", 2000, idempotency_key="k-1"))

    current, _ = service.set_price(workspace_id, price("TEE", "web", 2100, idempotency_key="k-1"))

    assert current.amount == 2000
    assert session.scalar(select(func.count()).select_from(PriceChange)) == 1


def test_bad_prices_are_refused_and_change_nothing(session: Session, workspace_id: str) -> None:
    """Unknown SKU, a future date, another currency on the same channel: refused, nothing kept."""
    service = PriceService(session)
    service.set_price(workspace_id, price("TEE", "web", 2000))

    with pytest.raises(UnknownSku):
        service.set_price(workspace_id, price("NOPE", "web", 100))
    with pytest.raises(InvalidPrice) as future:
        service.set_price(workspace_id, price("TEE", "web", 100, days_ago=-1))
    with pytest.raises(InvalidPrice) as currency:
        service.set_price(
            workspace_id, PriceIn(sku="TEE", channel="web", amount=100, currency="USD")
        )

    assert future.value.extensions == {"field": "effective_at"}
    assert currency.value.detail == "TEE is priced in EUR on web"
    assert service.get_price(workspace_id, "TEE", "web").amount == 2000


def test_parity_alerts_open_and_resolve(session: Session, workspace_id: str) -> None:
    """Amazon 10% above the site with 5% allowed opens an alert; a floor breach another;
    fixing the prices resolves both, and the report says so."""
    service = PriceService(session)
    service.set_policy(workspace_id, PolicyIn(site_channel="web", max_above_basis_points=500))
    service.set_price(workspace_id, price("TEE", "web", 2000))
    service.set_floor(workspace_id, FloorIn(sku="TEE", amount=1800, currency="EUR"))

    _, above = service.set_price(workspace_id, price("TEE", "amazon", 2200))
    _, both = service.set_price(workspace_id, price("TEE", "tiktok_shop", 1700))
    report = service.parity(workspace_id)

    assert [(a.channel, a.breach, a.basis_points) for a in above] == [
        ("amazon", PriceBreach.ABOVE_SITE, 1000)
    ]
    assert [(a.channel, a.breach) for a in both] == [
        ("amazon", PriceBreach.ABOVE_SITE), ("tiktok_shop", PriceBreach.BELOW_FLOOR),
    ]  # fmt: skip
    assert report.breaches == 2
    assert [(r.channel, r.basis_points_vs_site, r.breaches) for r in report.rows] == [
        ("amazon", 1000, [PriceBreach.ABOVE_SITE]),
        ("tiktok_shop", -1500, [PriceBreach.BELOW_FLOOR]),
        ("web", 0, []),
    ]

    service.set_price(workspace_id, price("TEE", "amazon", 2100))
    _, after = service.set_price(workspace_id, price("TEE", "tiktok_shop", 1900))

    assert after == []
    resolved = session.scalars(select(PriceAlert).where(PriceAlert.resolved_at.is_not(None))).all()
    assert sorted(a.channel for a in resolved) == ["amazon", "tiktok_shop"]
    assert service.parity(workspace_id).breaches == 0


def test_raising_the_site_price_resolves_an_above_site_alert(
    session: Session, workspace_id: str
) -> None:
    """Parity is rechecked for every channel when the site price moves."""
    service = PriceService(session)
    service.set_price(workspace_id, price("CAP", "web", 1000))
    _, opened = service.set_price(workspace_id, price("CAP", "amazon", 1200))

    _, after = service.set_price(workspace_id, price("CAP", "web", 1200))

    assert len(opened) == 1 and after == []
