"""The workspace's zone and currency: set in Settings, the API or the CLI; pages show times
in the zone, and the orders filter reads its days in it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.models.workspace import Role, Workspace
from tessera.order.service import OrderService
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.order.test_service import PLACED
from tests.support.cli import invoke
from tests.support.factories import Tenant


def test_an_admin_sets_the_zone_and_times_show_in_it(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """After choosing Europe/Stockholm, an audit entry made at 23:30 UTC shows as 00:30 the
    next day, UTC kept in the tooltip; the table header names the zone."""
    WorkspaceService(session).record(tenant.workspace_id, "cli", "test.done", "x", {})
    session.commit()
    entry = WorkspaceService(session).audit_log(tenant.workspace_id, 1).items[0]
    entry.created_at = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    session.commit()
    form = owner.get("/settings/workspace")

    saved = owner.post(
        "/settings/workspace",
        data={"csrf_token": csrf_from(form), "name": "Acme Nordic",
              "time_zone": "Europe/Stockholm", "currency": "sek"},
    )  # fmt: skip
    audit = owner.get("/settings/audit-log?action=test.").text

    assert saved.status_code == 200 and "Saved." in saved.text
    session.expire_all()
    workspace = session.get(Workspace, tenant.workspace_id)
    assert workspace is not None
    assert (workspace.name, workspace.time_zone, workspace.currency) == (
        "Acme Nordic", "Europe/Stockholm", "SEK",
    )  # fmt: skip
    assert 'title="2026-01-31 23:30:00 UTC"><span>2026-02-01</span> 00:30</time>' in audit
    assert "When (Europe/Stockholm)" in audit


def test_a_bad_zone_or_currency_is_named_in_the_form_and_nothing_changes(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    form = owner.get("/settings/workspace")
    token = csrf_from(form)

    zone = owner.post(
        "/settings/workspace",
        data={"csrf_token": token, "name": "Acme", "time_zone": "Mars/Olympus", "currency": "USD"},
    )
    money = owner.post(
        "/settings/workspace",
        data={"csrf_token": token, "name": "Acme", "time_zone": "UTC", "currency": "US$"},
    )
    nul = owner.post(
        "/settings/workspace",
        data={"csrf_token": token, "name": "A\x00", "time_zone": "UTC", "currency": "USD"},
    )

    assert zone.status_code == 422 and 'id="time_zone-error"' in zone.text
    assert "Mars/Olympus" in zone.text  # what was typed stays in the field
    assert money.status_code == 422 and 'id="currency-error"' in money.text
    assert nul.status_code == 422
    session.expire_all()
    workspace = session.get(Workspace, tenant.workspace_id)
    assert workspace is not None and (workspace.time_zone, workspace.currency) == ("UTC", "USD")


def test_a_viewer_sees_the_settings_but_cannot_change_them(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    WorkspaceService(session).add_user(
        tenant.workspace_id, "viewer@acme.example", Role.VIEWER, password="viewer password 1"
    )
    session.commit()
    sign_in(client, "viewer@acme.example", "viewer password 1")
    page = client.get("/settings/workspace")

    answer = client.post(
        "/settings/workspace",
        data={"csrf_token": csrf_from(page), "name": "Mine", "time_zone": "UTC", "currency": "EUR"},
    )

    assert page.status_code == 200 and "Only an admin or the owner" in page.text
    assert answer.status_code == 403
    session.expire_all()
    assert session.get(Workspace, tenant.workspace_id).currency == "USD"  # type: ignore[union-attr]


def test_the_orders_filter_reads_its_days_in_the_workspace_zone(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """An order placed at 23:30 UTC on 31 January is a 1 February order in Stockholm."""
    WorkspaceService(session).update_workspace(
        tenant.workspace_id, "test", time_zone="Europe/Stockholm"
    )
    OrderService(session).apply(
        tenant.workspace_id,
        replace(PLACED, order_number="#9001", placed_at=datetime(2026, 1, 31, 23, 30, tzinfo=UTC)),
    )
    session.commit()

    first_feb = owner.get("/orders?placed_from=2026-02-01&placed_to=2026-02-01").text
    last_jan = owner.get("/orders?placed_from=2026-01-31&placed_to=2026-01-31").text

    assert "#9001" in first_feb
    assert "#9001" not in last_jan


def test_the_api_and_cli_twins_set_and_refuse_alike(
    client: TestClient,
    tenant: Tenant,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    patched = client.patch(
        "/v1/workspace", json={"time_zone": "America/New_York"}, headers=tenant.auth
    )
    refused = client.patch("/v1/workspace", json={"currency": "DOLLARS"}, headers=tenant.auth)
    code, output = invoke(
        settings, session_factory, "workspace", "set", "-w", tenant.slug, "--currency", "GBP"
    )
    bad_code, bad = invoke(
        settings, session_factory, "workspace", "set", "-w", tenant.slug, "--time-zone", "Nowhere"
    )

    assert patched.status_code == 200 and patched.json()["time_zone"] == "America/New_York"
    assert refused.status_code == 422
    assert code == 0 and "America/New_York · GBP" in output
    assert bad_code == 1 and "time_zone must be an IANA zone name" in bad
