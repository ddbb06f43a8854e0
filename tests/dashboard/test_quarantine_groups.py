"""The quarantine page groups refusals by source and reason, pages them, and acts in bulk."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.models.collect import QuarantineEntry, QuarantineStatus
from tests.dashboard.conftest import csrf_from
from tests.support.factories import Tenant


def send(client: TestClient, tenant: Tenant, batch: list[dict[str, object]]) -> list[str]:
    auth = base64.b64encode(f"{tenant.write_token}:".encode()).decode()
    answer = client.post(
        "/v1/batch", json={"batch": batch}, headers={"Authorization": f"Basic {auth}"}
    ).json()
    return [r["quarantine_id"] for r in answer["rejected"]]


def no_order_id(n: int) -> list[dict[str, object]]:
    return [
        {"type": "track", "event": "Order Completed", "userId": f"u{i}", "messageId": f"m{i}"}
        for i in range(n)
    ]


def statuses(session: Session, ids: list[str]) -> list[QuarantineStatus]:
    session.expire_all()
    rows = session.scalars(select(QuarantineEntry).where(QuarantineEntry.id.in_(ids))).all()
    return sorted(row.status for row in rows)


def test_alike_refusals_are_one_group_and_the_group_lists_only_its_own(
    owner: TestClient, tenant: Tenant
) -> None:
    """Seven orders without an order id and two unknown types: two groups, largest first;
    following a group's link lists its entries and not the others."""
    send(owner, tenant, no_order_id(7))
    send(owner, tenant, [{"type": "teleport", "userId": "a"}, {"type": "warp", "userId": "b"}])

    groups = owner.get("/v1/quarantine/groups", headers=tenant.auth).json()
    page = owner.get(f"/sources/quarantine?group={groups[0]['group']}")

    assert [(g["entries"], g["field"]) for g in groups] == [(7, "properties.order_id"), (2, "type")]
    assert page.status_code == 200
    assert page.text.count('class="card quarantine-entry"') == 7
    assert "teleport" not in page.text.split("Grouped by source")[1].split("</table>")[1]


def test_a_group_is_replayed_or_discarded_in_bulk_and_a_discard_needs_a_note(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Discarding a group without a note changes nothing; with one, every open entry of the
    group closes with that note and the other group stays open."""
    order_ids = send(owner, tenant, no_order_id(3))
    other = send(owner, tenant, [{"type": "teleport", "userId": "a"}])
    token = owner.get("/v1/quarantine/groups", headers=tenant.auth).json()[0]["group"]
    page = owner.get(f"/sources/quarantine?group={token}")
    form = {"csrf_token": csrf_from(page), "group": token, "action": "discard"}

    refused = owner.post("/sources/quarantine/bulk", data={**form, "why": "  "})
    unchanged = statuses(session, order_ids)
    done = owner.post("/sources/quarantine/bulk", data={**form, "why": "test store"})

    assert "Say why these records are discarded." in refused.text
    assert unchanged == [QuarantineStatus.OPEN] * 3
    assert "Discarded 3 of 3." in done.text
    assert statuses(session, order_ids) == [QuarantineStatus.DISCARDED] * 3
    assert statuses(session, other) == [QuarantineStatus.OPEN]
    notes = session.scalars(
        select(QuarantineEntry.resolution).where(QuarantineEntry.id.in_(order_ids))
    ).all()
    assert set(notes) == {"test store"}


def test_a_bulk_replay_of_ticked_entries_reports_each_that_still_fails(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Ticked entries replay alone: the still-refused stay open and the answer says so."""
    ids = send(owner, tenant, no_order_id(2))
    page = owner.get("/sources/quarantine")

    answer = owner.post(
        "/sources/quarantine/bulk",
        data={"csrf_token": csrf_from(page), "action": "replay", "ids": ids},
    )

    assert "Replayed 0 of 2. Not " in answer.text and "(and 1 more)" in answer.text
    assert statuses(session, ids) == [QuarantineStatus.OPEN] * 2


def test_the_list_pages_with_a_cursor(owner: TestClient, tenant: Tenant) -> None:
    """Fifty entries a page: the 51st is on the next page, none is shown twice."""
    ids = send(owner, tenant, no_order_id(51))

    first = owner.get("/sources/quarantine")
    next_url = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = owner.get(next_url.replace("&amp;", "&"))

    shown = [i for i in ids if f'id="{i}"' in first.text]
    assert len(shown) == 50
    assert [i for i in ids if f'id="{i}"' in second.text] == sorted(set(ids) - set(shown))


def test_a_forged_group_or_action_is_a_clear_error_not_a_500(
    owner: TestClient, tenant: Tenant
) -> None:
    send(owner, tenant, no_order_id(1))
    page = owner.get("/sources/quarantine")

    forged = owner.get("/sources/quarantine?group=bm90IGpzb24")
    nul = owner.get("/sources/quarantine?group=WyJceDAwIiwiZXZlbnQiLG51bGwsbnVsbF0")
    action = owner.post(
        "/sources/quarantine/bulk",
        data={"csrf_token": csrf_from(page), "action": "explode", "ids": ["qtn_x"]},
    )

    assert (forged.status_code, nul.status_code, action.status_code) == (422, 422, 422)
