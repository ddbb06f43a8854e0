"""The Inventory page: stock by SKU x location x channel, low stock, holds, drift, feeds, parity."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import tessera.feed.tasks  # noqa: F401 - registers the feed jobs on the default registry
from tessera.config import Settings
from tessera.inventory.schemas import ReservationIn, ReservationLineIn
from tessera.inventory.service.reservations import ReservationService
from tessera.job.runner import Worker
from tessera.pricing.schemas import PolicyIn, PriceIn
from tessera.pricing.service import PriceService
from tests.feed.world import build_world
from tests.integrations.fake_channels import fake_channels
from tests.support.factories import Tenant


def spec(page: str, name: str) -> dict[str, object]:
    found = re.search(rf'id="{name}">(.*?)</script>', page, re.S)
    assert found, f"no {name} on the page"
    parsed: dict[str, object] = json.loads(found.group(1))
    return parsed


def table(page: str, table_id: str) -> str:
    found = re.search(rf'<table class="table[^"]*" id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id} on the page"
    return re.sub(r"\s+", " ", found.group(1))


def test_the_page_shows_stock_feeds_holds_and_parity(
    owner: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    tenant: Tenant,
) -> None:
    """After the feeds pushed, a hold and an Amazon price 10% above the site, every section
    shows its exact numbers."""
    with fake_channels() as (base_url, _state):
        build_world(session, base_url, with_feeds=True, workspace_id=tenant.workspace_id)
        session.commit()
        Worker(session_factory, settings, run_periodic=False).run_until_idle()
        ReservationService(session).reserve(tenant.workspace_id, ReservationIn(
            channel="web", lines=[ReservationLineIn(sku="CAP", quantity=1)], idempotency_key="h-1",
        ))  # fmt: skip
        prices = PriceService(session)
        prices.set_policy(tenant.workspace_id, PolicyIn(max_above_basis_points=500))
        prices.set_price(tenant.workspace_id, PriceIn(sku="TEE-M", channel="web", amount=2000,
                                                      currency="USD"))  # fmt: skip
        prices.set_price(tenant.workspace_id, PriceIn(sku="TEE-M", channel="amazon", amount=2200,
                                                      currency="USD"))  # fmt: skip
        session.commit()

        page = owner.get("/inventory")

    assert page.status_code == 200
    text = page.text
    stock = table(text, "stock")
    assert '<th scope="col" class="num">amazon</th>' in stock
    tee = re.search(r"<strong>TEE-M</strong>(.*?)</tr>", stock)
    assert tee is not None
    cells = re.findall(r'<td class="num">(.*?)</td>', tee.group(1))
    assert [re.sub(r"<[^>]+>", "", c).split() for c in cells] == [
        ["0", "(0)"],
        ["10", "(10)"],
        ["5", "(5)"],  # fba-us, main, soho: sellable (on hand)
        ["10", "ok"],
        ["10", "ok"],
        ["15", "ok"],  # amazon, tiktok_shop, web: last pushed
    ]
    feeds = table(text, "feeds")
    assert feeds.count("<tr>") == 4  # header and three channels
    assert "shopify" in feeds and "tiktok_shop" in feeds
    assert re.search(
        r'id="low-stock">.*?<strong>CAP</strong><span class="pill pill-running">2 sellable',
        text,
        re.S,
    )
    holds = table(text, "reservations")
    assert "1 \u00d7 CAP at main" in holds
    assert "none differ" in text
    parity = table(text, "parity")
    assert "22.00 USD" in parity and "+10.00%" in parity and "above site" in parity
    stock_spec = spec(text, "stock-chart-spec")
    assert stock_spec["mark"] == {
        "type": "bar",
        "cornerRadiusTopLeft": 2,
        "cornerRadiusTopRight": 2,
    }
    values = stock_spec["data"]["values"]  # type: ignore[index]
    assert {"sku": "TEE-M", "location": "main", "units": 10} in values
    lag_spec = spec(text, "lag-chart-spec")
    assert {v["channel"] for v in lag_spec["data"]["values"]} == {"amazon", "tiktok_shop", "web"}  # type: ignore[index]


def test_an_empty_workspace_gets_honest_empty_states(owner: TestClient) -> None:
    """With no catalog, feeds or prices the page says how each gets in, with no invented numbers."""
    page = owner.get("/inventory")

    assert page.status_code == 200
    assert "No SKUs yet." in page.text
    assert "No channel feeds yet." in page.text
    assert "No prices yet." in page.text
    assert '<span class="stat-value" id="units-sellable">0</span>' in page.text


def test_the_page_needs_a_signed_in_member(client: TestClient) -> None:
    """Anonymous visitors are sent to the login page."""
    response = client.get("/inventory", follow_redirects=False)

    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")


@pytest.mark.browser
def test_the_page_draws_its_charts_in_chromium(committed_database_url: str) -> None:
    """Signed in, in headless Chromium, the Inventory page draws both charts with no script
    or console error."""
    from playwright.sync_api import ConsoleMessage, expect, sync_playwright

    from tessera.db import make_engine, make_session_factory, session_scope
    from tests.e2e.test_browser import CHROMIUM_ARGS
    from tests.support.factories import PASSWORD, make_tenant
    from tests.support.live import live_server

    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "chromeco")
        build_world(session, "http://127.0.0.1:9", workspace_id=tenant.workspace_id)
        PriceService(session).set_price(
            tenant.workspace_id, PriceIn(sku="TEE-M", channel="web", amount=2000, currency="USD")
        )
    engine.dispose()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    with live_server(committed_database_url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.on("console", on_console)
            page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
            page.goto(base + "/login")
            page.get_by_label("Email").fill(tenant.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(base + "/inventory")

            expect(page.get_by_role("heading", level=1)).to_have_text("Inventory")
            for region in ("Sellable by location", "Feed lag"):
                expect(page.get_by_role("region", name=region).locator("svg.marks")).to_be_visible()
            expect(page.locator("#stock")).to_contain_text("TEE-M")
            page.screenshot(
                path=Path(tempfile.gettempdir()) / "tessera-inventory.png", full_page=True
            )
        finally:
            browser.close()

    assert problems == []
