"""The Measure scorecard in headless Chromium: every KPI card (omnichannel share, lifetime
value, retention, attribution) shows its number, its drawn Vega-Lite chart and the time its
numbers were read, from the stored snapshot, at 1280 px with nothing wider than its box."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from tessera.analytics.report.snapshots import SnapshotService
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.kit.time import ManualClock
from tests.analytics.layer.worlds import random_shop
from tests.analytics.report.test_clv import shoppers
from tests.e2e.test_every_page import LAYOUT_PROBLEMS, browser  # noqa: F401 - the fixture
from tests.support.factories import PASSWORD, make_tenant
from tests.support.live import live_server

KPIS = ("omnichannel", "clv", "retention", "attribution")
AS_OF = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
# Looked at by whoever changes the scorecard's design; the last run's picture stays here.
SCREENSHOT = Path(tempfile.gettempdir()) / "tessera-scorecard.png"


@dataclass(frozen=True)
class Shop:
    base_url: str
    owner_email: str


@pytest.fixture
def shop(committed_database_url: str) -> Iterator[Shop]:
    """150 buy-till-you-die shoppers and 40 with campaign touches, their snapshots stored as
    of 2026-07-01 09:30 UTC, served by the real app under uvicorn."""
    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "acme")
        shoppers(session, tenant.workspace_id, people=150)
        random_shop(session, tenant.workspace_id, people=40)
        SnapshotService(session, ManualClock(AS_OF)).refresh(tenant.workspace_id)
    engine.dispose()
    with live_server(committed_database_url) as base_url:
        yield Shop(base_url, tenant.owner_email)


@pytest.mark.browser
def test_every_kpi_has_its_number_chart_and_as_of_time(
    shop: Shop,
    browser: Browser,  # noqa: F811 - the imported fixture
) -> None:
    """Owner at 1280 px: four KPI cards, each with a number, an SVG chart with marks drawn
    and the snapshot's as-of time; no overflow and no console error."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto(shop.base_url + "/login")
    page.get_by_label("Email").fill(shop.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(shop.base_url + "/overview")

    answer = page.goto(shop.base_url + "/measure")
    cards = {}
    for kpi in KPIS:
        card = page.locator(f'section.card[data-kpi="{kpi}"]')
        expect(card.locator(".stat-value").first).to_have_text(re.compile(r"\d"))
        expect(card.locator(".chart svg.marks").first).to_be_visible()
        cards[kpi] = {
            "drawn": card.locator(".chart svg.marks g.role-mark path").count(),
            "as_of": card.locator(".as-of time").get_attribute("datetime"),
        }
    source = page.locator("#scorecard-source").inner_text()
    snapshot = page.locator("#scorecard-source .as-of time").get_attribute("datetime")
    layout = page.evaluate(LAYOUT_PROBLEMS)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    assert answer is not None and answer.status == 200
    assert source.startswith("Snapshot as of 2026-07-01 09:30")
    assert snapshot == "2026-07-01T09:30:00+00:00"
    assert {kpi: c["as_of"] for kpi, c in cards.items()} == dict.fromkeys(KPIS, snapshot)
    assert all(c["drawn"] > 0 for c in cards.values()), cards
    assert layout == []
    assert problems == []
