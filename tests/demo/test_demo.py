"""The demo brand is deterministic, seeded through the services, and runs as one command."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.demo.feed import feed_demo
from tessera.demo.generator import DemoSize, generate_brand
from tessera.demo.omnichannel import generate_omnichannel
from tessera.demo.people import BACKORDERED_SKU
from tessera.demo.seed import DEMO_LOGIN_EMAIL, DEMO_PASSWORD, seed_demo
from tessera.inventory.service.promises import PromiseService
from tessera.kit.time import utcnow
from tessera.models.collect import Event
from tessera.models.inventory import RoutingDecision
from tessera.models.order import Order, OrderLine
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.support.live import live_server

ANCHOR = datetime(2026, 11, 25, 18, tzinfo=UTC)


def test_the_same_seed_gives_the_same_brand() -> None:
    """Generation is a pure function of seed and size."""
    assert generate_brand(3) == generate_brand(3)
    assert generate_brand(3) != generate_brand(4)
    assert len(generate_brand(3, DemoSize.named("large")).team) == 18


def test_the_team_covers_every_role() -> None:
    """Owner, admin, marketer, analyst and viewer all appear in the demo team."""
    roles = {member.role for member in generate_brand(11).team}

    assert roles == set(Role)


def test_seeding_creates_a_login_team_and_keys_once(session: Session) -> None:
    """Seeding twice leaves one workspace; the printed login works."""
    brand = generate_brand(5, DemoSize.named("small"))

    first = seed_demo(session, brand)
    second = seed_demo(session, brand)

    service = WorkspaceService(session)
    assert (first.created, second.created) == (True, False)
    assert first.workspace_id == second.workspace_id
    user = service.authenticate_password(DEMO_LOGIN_EMAIL, DEMO_PASSWORD)
    assert service.role_of(first.workspace_id, user.id) is Role.OWNER
    assert len(service.members(first.workspace_id)) == len(brand.team) + 1
    keys = service.list_api_keys(first.workspace_id, limit=50).items
    assert sorted((k.kind, k.name) for k in keys) == sorted((s.kind, s.name) for s in brand.keys)
    assert sorted(first.tokens) == ["app", "ops", "web"]
    assert service.authenticate_key(first.tokens["web"]).kind is ApiKeyKind.PUBLIC
    assert service.authenticate_key(first.tokens["ops"]).role is Role.ADMIN
    assert second.tokens == {}


LOG_LINE = re.compile(r'\[(debug|info|warning|error) *\]|"level": ?"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_tessera_demo_serves_the_dashboard_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    """`tessera demo` answers /readyz and the login page, and Ctrl-C stops API and worker."""
    port = _free_port()
    env = {**os.environ, "TESSERA_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "tessera", "demo", "--port", str(port), "--size", "small"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(demo, lines), daemon=True)
    reader.start()
    try:
        # Ctrl-C only once the demo says it is running: its login panel is printed last.
        before = _lines_until(lines, DEMO_PASSWORD)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=30)

        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        if demo.poll() is None:
            demo.kill()
        demo.wait()
    output = before + _lines_until(lines, None)
    assert demo.stdout is not None
    demo.stdout.close()

    assert ready.status_code == 200
    assert login.status_code == 200
    assert demo.returncode == 0
    assert DEMO_LOGIN_EMAIL in output and DEMO_PASSWORD in output
    assert "stopped" in output
    # Seeding speaks to the person in sentences; log lines (price parity warnings, ...) are
    # the servers' to print, not the command's.
    assert [line for line in before.splitlines() if LOG_LINE.search(line)] == []


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    """Every line the process prints, then None when its output closes."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _lines_until(lines: queue.Queue[str | None], marker: str | None) -> str:
    """What was printed up to and including the first line holding ``marker`` (or up to the
    end of the output when ``marker`` is None). Fails when the output ends first, or when
    nothing at all is printed for five minutes (the demo is stuck)."""
    seen: list[str] = []
    while True:
        line = lines.get(timeout=300)
        if line is None:
            assert marker is None, f"the demo exited before printing {marker!r}:\n{''.join(seen)}"
            return "".join(seen)
        seen.append(line)
        if marker is not None and marker in line:
            return "".join(seen)


def test_the_shoppers_overlap_across_channels_like_real_data() -> None:
    """Some shoppers use both site and app, some a second email, some buy on TikTok; every
    order is traced to its true person."""
    data = generate_omnichannel(7, 200, ANCHOR)

    both = [p for p in data.people if p.web_device and p.app_device]
    assert both and any(p.second_email for p in data.people)
    assert data.expected_rejections > 0  # the buggy app build gives the quarantine real cases
    assert data.tiktok_orders and data.amazon_rows and data.square_orders and data.retail_rows
    assert {o["source_name"] for o in data.shopify_orders} == {"web", "pos"}
    assert len(data.truth) == len(data.shopify_orders) + len(data.tiktok_orders) + len(
        data.square_orders
    ) + len({r["amazon-order-id"] for r in data.amazon_rows})
    assert generate_omnichannel(7, 200, ANCHOR) == data


def test_feeding_the_demo_goes_through_the_api_and_stores_each_record_once(
    committed_database_url: str,
) -> None:
    """Every generated event arrives through /v1/import and every order through its
    connector; a second feed stores nothing new."""
    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        seeded = seed_demo(session, generate_brand(2, DemoSize.named("small")))
    data = generate_omnichannel(2, 25, utcnow())

    with live_server(committed_database_url) as base_url:
        first = feed_demo(base_url, seeded.tokens, data)
        second = feed_demo(base_url, seeded.tokens, data)
    with session_scope(make_session_factory(engine)) as session:
        channels = dict(
            session.execute(
                select(Event.channel, func.count())
                .where(Event.workspace_id == seeded.workspace_id)
                .where(~Event.message_id.startswith("order:"))  # not the orders' own events
                .where(~Event.message_id.startswith("registration:"))  # nor the seed's QR one
                .where(~Event.message_id.startswith("demo-sms-"))  # nor its night SMS shoppers
                .group_by(Event.channel)
            ).all()
        )
        orders = session.scalar(
            select(func.count()).where(Order.workspace_id == seeded.workspace_id)
        )
        decisions = session.scalars(
            select(RoutingDecision.reasons).where(
                RoutingDecision.workspace_id == seeded.workspace_id
            )
        ).all()
        cancelled_items = session.execute(
            select(Order.platform, OrderLine.quantity, OrderLine.total)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.workspace_id == seeded.workspace_id, OrderLine.is_cancelled)
        ).all()
        oversold = [
            (p.balance.variant_id, p.short, bool(p.orders))
            for p in PromiseService(session).oversold(seeded.workspace_id)
        ]
        eye_gel = CatalogService(session).variant_by_sku(seeded.workspace_id, BACKORDERED_SKU)
    engine.dispose()
    first_lines = {order["id"]: len(order["line_items"]) for order in data.shopify_orders}
    edits = [
        payload
        for topic, payload in data.shopify_followups
        if topic == "orders/updated" and len(payload["line_items"]) > first_lines[payload["id"]]
    ]
    expected_orders = (
        len(data.shopify_orders) + len(data.tiktok_orders) + len(data.square_orders)
        + len({row["amazon-order-id"] for row in data.amazon_rows})
        + len({(row["store_id"], row["week"]) for row in data.retail_rows})
    )  # fmt: skip

    assert (first.received, first.accepted, first.rejected, first.failed_requests) == (
        data.event_count, data.event_count - data.expected_rejections, data.expected_rejections, 0,
    )  # fmt: skip
    assert (second.accepted, second.duplicates) == (0, data.event_count - data.expected_rejections)
    assert (first.orders.rejected, second.orders.rejected, second.orders.accepted) == (0, 0, 0)
    assert orders == expected_orders
    # The Amazon order whose buyer cancelled one item: a line of no money, the order lives on.
    assert [(platform, total) for platform, _quantity, total in cancelled_items] == [("amazon", 0)]
    # Orders edited to add an item: the added line was routed, and the decision says so.
    assert edits
    assert sum(any("added by an edit" in r for r in reasons) for reasons in decisions) == len(edits)
    # The eye gel the warehouse has none of is oversold by the channels' orders, named.
    assert [(v, short > 0, named) for v, short, named in oversold if v == eye_gel.id] == [
        (eye_gel.id, True, True)
    ]
    # One checkout was started on TikTok Shop (the cart later bought in a store).
    assert channels == {
        "web": sum(len(b["batch"]) for b in data.web_batches) - 1,
        "app": sum(len(b["batch"]) for b in data.app_batches) - data.expected_rejections,
        "tiktok_shop": 1,
    }
