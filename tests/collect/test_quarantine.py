"""The quarantine keeps every refusal, whatever the refused payload looks like."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.collect.quarantine import QuarantineService
from tests.support.factories import make_tenant


def test_a_refusal_naming_a_field_longer_than_its_column_is_kept_cut(session: Session) -> None:
    """A hostile body's key path of 300 characters names the refused field: the entry is
    stored with the path cut to its column (a 500 on PostgreSQL before), and nothing else."""
    tenant = make_tenant(session, "longfield")
    path = "orders[0]." + "x" * 300

    entry = QuarantineService(session).keep(
        tenant.workspace_id, "POST /v1/connectors/tiktok/orders", "not an order", {}, field=path
    )
    session.flush()
    session.expire_all()

    assert entry.field == path[:200]
    assert entry.reason == "not an order"


def test_the_api_groups_lists_and_acts_in_bulk_each_entry_alone(
    client: TestClient, session: Session
) -> None:
    """Through /v1: one group per source, kind and field; a bulk replay reports the entry
    still refused and the one already resolved, and applies neither; a discard without a
    note is a 422 that changes nothing."""
    tenant = make_tenant(session, "bulk")
    service = QuarantineService(session)
    ids = [
        service.keep(tenant.workspace_id, "sdk", "userId or anonymousId is required",
                     {"type": "track", "event": "x"}, "userId").id
        for _ in range(2)
    ]  # fmt: skip
    session.commit()

    groups = client.get("/v1/quarantine/groups", headers=tenant.auth).json()
    listed = client.get(
        "/v1/quarantine", params={"group": groups[0]["group"]}, headers=tenant.auth
    ).json()
    no_note = client.post(
        "/v1/quarantine/discard", json={"ids": ids, "why": ""}, headers=tenant.auth
    )
    discarded = client.post(
        "/v1/quarantine/discard", json={"ids": ids[:1], "why": "noise"}, headers=tenant.auth
    ).json()
    replayed = client.post("/v1/quarantine/replay", json={"ids": ids}, headers=tenant.auth).json()

    assert [(g["entries"], g["kind"], g["field"]) for g in groups] == [(2, "event", "userId")]
    assert sorted(i["id"] for i in listed["items"]) == sorted(ids)
    assert no_note.status_code == 422
    assert discarded == [{"entry_id": ids[0], "is_done": True, "detail": "noise"}]
    assert [(r["entry_id"], r["is_done"]) for r in replayed] == [(ids[0], False), (ids[1], False)]
    assert replayed[0]["detail"] == f"{ids[0]} is already discarded"
    assert replayed[1]["detail"].startswith("still refused: userId or anonymousId")
