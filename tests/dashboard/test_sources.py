"""Sources: channel and source activity, the live tail, and the quarantine's replay and discard."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.kit.time import utcnow
from tessera.models.collect import Event, QuarantineEntry, QuarantineStatus
from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from, sign_in
from tests.support.factories import Tenant


def send(client: TestClient, tenant: Tenant, batch: list[dict[str, object]]) -> dict[str, object]:
    auth = base64.b64encode(f"{tenant.write_token}:".encode()).decode()
    response = client.post(
        "/v1/batch", json={"batch": batch}, headers={"Authorization": f"Basic {auth}"}
    )
    body: dict[str, object] = response.json()
    return body


def test_sources_shows_each_channel_and_source_with_its_volume(
    owner: TestClient, tenant: Tenant
) -> None:
    """Events sent now are counted per channel and per write-key source, and charted."""
    now = utcnow().isoformat()
    send(owner, tenant, [
        {"type": "track", "event": "Viewed", "userId": "u1", "messageId": "w1", "timestamp": now},
        {"type": "track", "event": "Viewed", "userId": "u1", "messageId": "w2", "timestamp": now},
        {"type": "screen", "name": "Home", "userId": "u1", "messageId": "a1", "timestamp": now,
         "context": {"library": {"name": "analytics-ios"}}},
    ])  # fmt: skip

    page = owner.get("/sources")

    assert page.status_code == 200
    text = page.text
    assert '<td><code>web</code></td>\n        <td>web</td>\n        <td class="num">2</td>' in text
    assert '<td><code>app</code></td>\n        <td>app</td>\n        <td class="num">1</td>' in text
    assert "3 events" in text
    spec = json.loads(text.split('id="events-chart-spec">')[1].split("</script>")[0])
    assert {row["channel"] for row in spec["data"]["values"]} == {"app", "web"}
    assert sum(row["count"] for row in spec["data"]["values"]) == 3


def test_the_live_tail_lists_the_newest_events(owner: TestClient, tenant: Tenant) -> None:
    """The tail partial shows the event just sent, newest first."""
    send(owner, tenant, [{"type": "track", "event": "Product Viewed", "userId": "tail-user",
                          "messageId": "tail-1"}])  # fmt: skip

    tail = owner.get("/sources/tail", headers={"HX-Request": "true"})

    assert tail.status_code == 200
    assert "Product Viewed" in tail.text and "tail-user" in tail.text
    assert "<html" not in tail.text


def test_the_live_tail_notes_money_sent_as_text(owner: TestClient, tenant: Tenant) -> None:
    """An order whose revenue came as "64.50" is marked coerced, the field named on hover;
    an event sent with numbers is not."""
    send(owner, tenant, [
        {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "c-1",
         "properties": {"order_id": "1", "revenue": "64.50"}},
        {"type": "track", "event": "Order Completed", "userId": "u1", "messageId": "c-2",
         "properties": {"order_id": "2", "revenue": 64.5}},
    ])  # fmt: skip

    tail = owner.get("/sources/tail", headers={"HX-Request": "true"}).text

    assert tail.count(">coerced</span>") == 1
    assert 'title="sent as text, stored as numbers: properties.revenue"' in tail


def test_a_quarantined_event_is_fixed_and_replayed_from_the_page(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Editing the record in the page and pressing Replay stores it and closes the entry."""
    result = send(owner, tenant, [{"type": "track", "event": "Order Completed", "userId": "u9",
                                   "messageId": "q-1", "properties": {"total": 12}}])  # fmt: skip
    entry_id = result["rejected"][0]["quarantine_id"]  # type: ignore[index]
    page = owner.get("/sources/quarantine")
    fixed = {"type": "track", "event": "Order Completed", "userId": "u9", "messageId": "q-1",
             "properties": {"order_id": "77", "total": 12}}  # fmt: skip

    answer = owner.post(
        f"/sources/quarantine/{entry_id}/replay",
        data={"payload": json.dumps(fixed), "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )

    assert "properties.order_id" in page.text
    assert answer.status_code == 303
    session.expire_all()
    entry = session.get(QuarantineEntry, entry_id)
    assert entry is not None and entry.status is QuarantineStatus.REPLAYED
    stored = session.scalars(select(Event).where(Event.workspace_id == tenant.workspace_id)).all()
    assert [(e.message_id, e.payload["properties"]["order_id"]) for e in stored] == [("q-1", "77")]
    assert "Replayed" in owner.get("/sources/quarantine?status=replayed").text


def test_a_replay_that_still_fails_says_why_and_keeps_the_entry_open(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Replaying the unchanged bad record shows the reason and changes nothing."""
    result = send(owner, tenant, [{"type": "track", "event": "Order Completed", "userId": "u9"}])
    entry_id = result["rejected"][0]["quarantine_id"]  # type: ignore[index]
    page = owner.get("/sources/quarantine")

    answer = owner.post(
        f"/sources/quarantine/{entry_id}/replay",
        data={"payload": "", "csrf_token": csrf_from(page)},
    )

    assert "Not replayed: still refused" in answer.text
    session.expire_all()
    entry = session.get(QuarantineEntry, entry_id)
    assert entry is not None and entry.status is QuarantineStatus.OPEN


def test_a_viewer_cannot_replay_or_discard(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Roles are enforced on the server: a viewer's replay is refused and nothing changes."""
    WorkspaceService(session).add_user(
        tenant.workspace_id, "viewer@acme.example", Role.VIEWER, password="viewer password 1"
    )
    session.commit()
    result = send(client, tenant, [{"type": "track", "event": "Order Completed", "userId": "u"}])
    entry_id = result["rejected"][0]["quarantine_id"]  # type: ignore[index]
    sign_in(client, "viewer@acme.example", "viewer password 1")
    page = client.get("/sources/quarantine")

    replay = client.post(
        f"/sources/quarantine/{entry_id}/replay", data={"csrf_token": csrf_from(page)}
    )
    discard = client.post(
        f"/sources/quarantine/{entry_id}/discard", data={"csrf_token": csrf_from(page)}
    )

    assert "Replay</button>" not in page.text
    assert (replay.status_code, discard.status_code) == (403, 403)
    session.expire_all()
    entry = session.get(QuarantineEntry, entry_id)
    assert entry is not None and entry.status is QuarantineStatus.OPEN


def test_discarding_closes_the_entry_with_the_reason(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Discard keeps the record, marked discarded with the note given."""
    result = send(owner, tenant, [{"type": "teleport", "userId": "u"}])
    entry_id = result["rejected"][0]["quarantine_id"]  # type: ignore[index]
    page = owner.get("/sources/quarantine")

    owner.post(
        f"/sources/quarantine/{entry_id}/discard",
        data={"why": "test data", "csrf_token": csrf_from(page)},
    )

    session.expire_all()
    entry = session.get(QuarantineEntry, entry_id)
    assert entry is not None
    assert (entry.status, entry.resolution) == (QuarantineStatus.DISCARDED, "test data")
