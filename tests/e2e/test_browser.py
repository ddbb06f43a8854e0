"""In headless Chromium against the real server: sign in, see the overview, create a secret key,
see its token once, and prove the token works on the API; then revoke it and see it refused."""

from __future__ import annotations

import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from tessera.app import create_app
from tessera.config import load_settings
from tessera.db import make_engine, make_session_factory, session_scope
from tests.support.factories import PASSWORD, Tenant, make_tenant

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Looked at by whoever changes the design; the last run's pictures stay in the temp directory.
SCREENSHOTS = {
    "overview": Path(tempfile.gettempdir()) / "tessera-overview.png",
    "keys": Path(tempfile.gettempdir()) / "tessera-api-keys.png",
}


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    tenant: Tenant


@pytest.fixture
def live_server(committed_database_url: str) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free local port, in a thread, on a committed database."""
    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "acme")
    engine.dispose()
    settings = load_settings(
        database_url=committed_database_url,
        environment="test",
        log_json=False,
        secret_key="browser-test-secret-key-of-enough-length",
    )
    app = create_app(settings)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, ws="none", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", tenant)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()
        app.state.engine.dispose()


@pytest.fixture
def page() -> Iterator[Page]:
    """A 1366x768 page in headless Debian Chromium."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport={"width": 1366, "height": 768})
        finally:
            browser.close()


@pytest.mark.browser
def test_sign_in_create_a_secret_key_and_use_it(live_server: LiveServer, page: Page) -> None:
    """The whole story of a new admin, in a browser, with no script or policy error on the way."""
    base, tenant = live_server.base_url, live_server.tenant
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(base + "/")
    expect(page).to_have_url(base + "/login")
    page.get_by_label("Email").fill(tenant.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(base + "/overview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Brand")
    page.screenshot(path=SCREENSHOTS["overview"], full_page=True)
    page.goto(base + "/settings/jobs")
    expect(
        page.get_by_role("region", name="Jobs finished per hour").locator("svg.marks")
    ).to_be_visible()
    expect(page.locator("#chart-empty")).to_contain_text("No data yet.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    expect(page).to_have_url(base + "/settings/api-keys")
    page.get_by_label("Name").fill("deploy")
    page.get_by_label("Kind").select_option("secret")
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Create key").click()

    token_box = page.get_by_label("New API token")
    expect(token_box).to_have_value(re.compile(r"^tsk_[A-Za-z0-9_-]{43}$"))
    token = token_box.input_value()
    expect(page.get_by_role("row").filter(has_text="deploy")).to_contain_text("active")
    page.screenshot(path=SCREENSHOTS["keys"], full_page=True)

    page.reload()
    expect(page.get_by_label("New API token")).to_have_count(0)
    assert token not in page.content()

    with httpx.Client(base_url=base) as api:
        used = api.get("/v1/workspace", headers={"Authorization": f"Bearer {token}"})
        page.get_by_role("button", name="Revoke deploy").click()
        expect(page.get_by_role("status")).to_contain_text("Revoked “deploy”")
        refused = api.get("/v1/workspace", headers={"Authorization": f"Bearer {token}"})

    assert (used.status_code, used.json()["slug"]) == (200, "acme")
    assert refused.status_code == 401
    assert problems == []


def signed_in_owner(page: Page, live_server: LiveServer, width: int) -> list[str]:
    """Sign the tenant's owner in at ``width`` px; the list collects console errors."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.base_url + "/login")
    page.get_by_label("Email").fill(live_server.tenant.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.base_url + "/overview")
    return problems


def _no_horizontal_overflow(page: Page) -> bool:
    """Whether the page and every card fit their width (nothing scrolls sideways)."""
    return bool(
        page.evaluate(
            """() => document.documentElement.scrollWidth <= window.innerWidth &&
                 [...document.querySelectorAll('.card, .table-wrap')].every(
                   (el) => el.scrollWidth <= el.clientWidth + 1)"""
        )
    )


@pytest.mark.browser
def test_filter_export_and_open_orders_then_find_a_customer(
    live_server: LiveServer, committed_database_url: str, page: Page, tmp_path: Path
) -> None:
    """An owner filters orders by channel, downloads them as CSV, opens one, and finds Ana by
    her surname as she types; every page fits 1280 px and raises no console error."""
    from tests.identity.people import ana_and_ben

    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        story = ana_and_ben(session, live_server.tenant.workspace_id)
    engine.dispose()
    base = live_server.base_url
    problems = signed_in_owner(page, live_server, 1440)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    expect(page.locator("#orders-table tbody tr")).to_have_count(3)
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "tessera-orders.png"), full_page=True)
    page.get_by_label("Channel").select_option("tiktok_shop")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/orders\?.*channel=tiktok_shop"))
    expect(page.locator("#orders-table tbody tr")).to_have_count(1)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    exported = saved.read_text(encoding="utf-8").splitlines()
    page.get_by_role("link", name="TT-2002").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Order TT-2002")
    expect(page.locator("#order-lines")).to_contain_text("Night Serum")
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "tessera-order.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    order_fits = _no_horizontal_overflow(page)
    page.get_by_role("link", name=re.compile("^Open the customer.s 360$")).click()
    expect(page).to_have_url(base + f"/customers/{story.ana}")
    customer_fits = _no_horizontal_overflow(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "tessera-customer.png"), full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    page.get_by_label("Email, phone, loyalty id, order number or name").press_sequentially("Silv")
    expect(page.locator("#customer-results-table")).to_contain_text("Ana Silva")
    page.set_viewport_size({"width": 1280, "height": 900})
    list_fits = _no_horizontal_overflow(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "tessera-customers.png"), full_page=True)

    assert download.suggested_filename == "orders.csv"
    assert [line.split(",")[3:5] for line in exported] == [
        ["order_number", "channel"],
        ["TT-2002", "tiktok_shop"],
    ]
    assert (order_fits, customer_fits, list_fits) == (True, True, True)
    assert problems == []


@pytest.mark.browser
def test_receive_stock_through_the_form_and_see_the_ledger_line(
    live_server: LiveServer, committed_database_url: str, page: Page
) -> None:
    """An owner opens TEE-M's page from the product list, opens the Receive form, receives 4
    units at main with a reason, and lands on the ledger: the new line says receive, +4 and
    the reason, on hand went up by 4 (main's row from 10 to 14), the page fits 1280 px, no
    console error."""
    from tests.dashboard.stock_world import build_stock_world

    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        world = build_stock_world(session, live_server.tenant.workspace_id)
    engine.dispose()
    base = live_server.base_url
    problems = signed_in_owner(page, live_server, 1280)

    page.goto(base + f"/variants/{world.variants['TEE-M']}")
    before = page.locator("#sku-on-hand").inner_text()
    form = page.locator("#receive-form")
    form.locator("summary").click()
    form.get_by_label("Location").select_option("main")
    form.get_by_label("Units received").fill("4")
    form.get_by_label("Reason").fill("PO 88 from the supplier")
    form.get_by_role("button", name="Receive stock").click()
    expect(page).to_have_url(base + f"/variants/{world.variants['TEE-M']}#ledger")
    newest = page.locator("#ledger-table tbody tr").first
    expect(newest).to_contain_text("receive")
    cells = [c.strip() for c in newest.locator("td").all_inner_texts()]
    main = page.locator("#sku-stock tbody tr", has_text="main warehouse").locator("td").nth(1)
    fits = _no_horizontal_overflow(page)

    assert int(page.locator("#sku-on-hand").inner_text()) == int(before) + 4
    assert main.inner_text().strip() == "14"
    assert cells[1:6] == ["main", "receive", "on hand +4", "receipt", "PO 88 from the supplier"]
    assert fits is True
    assert problems == []
