"""In headless Chromium on the demo brand's workspace: build a journey in the dashboard's
editor, publish it, make its entry event happen through the API, run the worker's due jobs,
and see the message arrive in the outbox (and in a real SMTP server on localhost)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, expect

from tessera.app import create_app
from tessera.config import Settings, load_settings
from tessera.customer.privacy import PrivacyService
from tessera.customer.schemas import ConsentCreate
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.demo.generator import DemoSize, generate_brand
from tessera.demo.seed import SeedResult, seed_demo
from tessera.identity.graph.service import IdentityService
from tessera.job.runner import Worker
from tessera.kit.time import ManualClock, utcnow
from tessera.models.identity import ConsentStatus
from tests.e2e.test_browser import page  # noqa: F401 - the headless Chromium page fixture
from tests.journey.flows import worker_registry
from tests.support.smtp_server import Mailbox, smtp_server

WISHLIST_NUDGE = {
    "name": "Wishlist nudge",
    "entry": {"kind": "event", "event": "Product Added to Wishlist"},
    "reentry": {"mode": "never"},
    "exits": [{"kind": "ordered"}],
    "start": "nudge",
    "steps": [
        {"id": "nudge", "type": "send_email", "template": "cart_email", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


@dataclass(frozen=True)
class DemoServer:
    base_url: str
    seeded: SeedResult
    settings: Settings
    mailbox: Mailbox


@pytest.fixture
def demo_server(committed_database_url: str) -> Iterator[DemoServer]:
    """The real app under uvicorn on a free local port, on the seeded demo brand, sending
    email through a real SMTP server on localhost."""
    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        seeded = seed_demo(session, generate_brand(3, DemoSize.named("small")))
    engine.dispose()
    with smtp_server() as (smtp_port, mailbox):
        settings = load_settings(
            database_url=committed_database_url,
            environment="test",
            log_json=False,
            secret_key="browser-test-secret-key-of-enough-length",
            smtp_port=smtp_port,
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
            yield DemoServer(f"http://127.0.0.1:{port}", seeded, settings, mailbox)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            listener.close()
            app.state.engine.dispose()


@pytest.mark.browser
def test_a_journey_built_in_the_editor_sends_its_message_to_the_outbox(
    demo_server: DemoServer,
    page: Page,  # noqa: F811 - the imported fixture
) -> None:
    """Sign in, write the journey in the editor, save and publish it; a shopper adds a product
    to their wishlist; after the worker's due jobs the email is in the outbox, sent."""
    base, seeded = demo_server.base_url, demo_server.seeded
    page.goto(base + "/login")
    page.get_by_label("Email").fill(seeded.login_email)
    page.get_by_label("Password").fill(seeded.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/overview")

    page.goto(base + "/journeys")
    page.locator("#new-journey").click()
    expect(page).to_have_url(base + "/journeys/new")
    page.locator("#journey-definition").fill(json.dumps(WISHLIST_NUDGE, indent=2))
    page.locator("#journey-publish").click()

    expect(page).to_have_url(re.compile(re.escape(base) + r"/journeys/jrn_\w+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wishlist nudge")
    expect(page.get_by_role("heading", level=1)).to_contain_text("live")

    write_key = (seeded.tokens["web"], "")
    identified = httpx.post(base + "/v1/identify", auth=write_key, json={
        "userId": "browser-shopper", "traits": {"email": "ada@example.com", "first_name": "Ada"},
    })  # fmt: skip
    engine = make_engine(demo_server.settings.database_url)
    factory = make_session_factory(engine)
    clock = ManualClock(utcnow() + timedelta(minutes=1))  # every job the requests made is due
    worker = Worker(factory, demo_server.settings, clock=clock, run_periodic=False,
                    registry=worker_registry(demo_server.settings, clock))  # fmt: skip
    worker.run_until_idle()  # the shopper's profile is stitched
    with session_scope(factory) as session:
        profile = IdentityService(session).find_profile(
            seeded.workspace_id, "user_id", "browser-shopper"
        )
        assert profile is not None
        PrivacyService(session).record_consent(seeded.workspace_id, profile.id, ConsentCreate(
            identifier_type="email", identifier_value="ada@example.com", purpose="marketing",
            channel="email", status=ConsentStatus.GRANTED, source="https://shop.test/signup",
        ), actor="test")  # fmt: skip
    tracked = httpx.post(base + "/v1/track", auth=write_key, json={
        "userId": "browser-shopper", "event": "Product Added to Wishlist",
        "properties": {"product_id": "p-1", "sku": "SW-001"},
    })  # fmt: skip
    assert (identified.status_code, tracked.status_code) == (200, 200)
    worker.run_until_idle()
    engine.dispose()

    page.goto(base + "/messages?template=cart_email")
    row = page.locator("tr", has_text="ada@example.com")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("You left something behind")
    expect(row).to_contain_text("sent")
    assert [a.recipients for a in demo_server.mailbox.all()] == [["ada@example.com"]]
