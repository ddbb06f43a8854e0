"""/v1/segments and /v1/audiences over real HTTP: rules refused naming the field, members
counted and paged, previews that save nothing, audiences fed by segments and exported hashed,
with only consenting people."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.identity import ConsentStatus
from tessera.segment.export import sha256
from tessera.segment.membership import Membership
from tests.message.world import consent, person
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"
GOLD = {"kind": "trait", "trait": "tier", "op": "eq", "value": "gold"}


def people(session: Session, tenant: Tenant) -> list[str]:
    ada = person(session, tenant.workspace_id, "u-ada", email="Ada@Example.com", tier="gold",
                 phone="+14155552671")  # fmt: skip
    bo = person(session, tenant.workspace_id, "u-bo", email="bo@example.com", tier="gold")
    cy = person(session, tenant.workspace_id, "u-cy", email="cy@example.com", tier="silver")
    consent(session, tenant.workspace_id, ada, "email")
    consent(session, tenant.workspace_id, ada, "sms")
    consent(session, tenant.workspace_id, bo, "email", ConsentStatus.WITHDRAWN)
    session.commit()
    return [ada.profile_id, bo.profile_id, cy.profile_id]


def create(client: TestClient, tenant: Tenant, rule: Any, name: str = "Gold") -> Any:
    return client.post("/v1/segments", json={"name": name, "rule": rule}, headers=tenant.auth)


def test_a_bad_rule_is_a_problem_naming_the_field(client: TestClient, session: Session) -> None:
    """An empty group, a huge window and an unknown trait value type are 422 problem+json,
    each naming its field; nothing is saved."""
    tenant = make_tenant(session, "seg-bad")

    empty = create(client, tenant, {"kind": "all", "rules": []})
    huge = create(client, tenant, {"kind": "event", "event": "Viewed", "within_days": 99999})
    typed = create(client, tenant, {"kind": "trait", "trait": "tier", "op": "eq", "value": [1]})
    listed = client.get("/v1/segments", headers=tenant.auth)

    assert (empty.status_code, empty.headers["content-type"]) == (422, PROBLEM)
    assert empty.json()["errors"][0]["field"] == "rule.all.rules"
    assert huge.json()["errors"][0]["field"] == "rule.event.within_days"
    assert typed.json()["errors"][0]["field"].startswith("rule.trait.value")
    assert listed.json() == {"items": []}


def test_a_segment_is_created_counted_paged_previewed_and_deleted(
    client: TestClient, session: Session
) -> None:
    """Two gold shoppers of three: the preview says so without saving, the saved segment
    holds both once recomputed, members page one at a time, and delete leaves nothing."""
    tenant = make_tenant(session, "seg-api")
    ada, bo, _ = people(session, tenant)

    preview = client.post("/v1/segments/preview", json={"rule": GOLD}, headers=tenant.auth)
    created = create(client, tenant, GOLD)
    segment_id = created.json()["id"]
    Membership(session).recompute(tenant.workspace_id, [ada, bo])
    session.commit()
    detail = client.get(f"/v1/segments/{segment_id}", headers=tenant.auth)
    first = client.get(f"/v1/segments/{segment_id}/members?limit=1", headers=tenant.auth)
    second = client.get(
        f"/v1/segments/{segment_id}/members?limit=1&cursor={first.json()['next_cursor']}",
        headers=tenant.auth,
    )
    renamed = client.patch(
        f"/v1/segments/{segment_id}", json={"name": "Gold tier"}, headers=tenant.auth
    )
    taken = create(client, tenant, GOLD, name="Gold tier")
    deleted = client.delete(f"/v1/segments/{segment_id}", headers=tenant.auth)
    gone = client.get(f"/v1/segments/{segment_id}", headers=tenant.auth)

    assert preview.json() == {"matching": 2, "scanned": 3, "sample": sorted([ada, bo])}
    assert created.status_code == 201
    assert created.json()["members"] == 0
    assert (detail.json()["members"], sorted(detail.json()["sample"])) == (2, sorted([ada, bo]))
    paged = [m["profile_id"] for m in first.json()["items"] + second.json()["items"]]
    assert sorted(paged) == sorted([ada, bo])
    assert second.json()["next_cursor"] is None
    assert renamed.json()["name"] == "Gold tier"
    assert (taken.status_code, taken.json()["type"].rsplit("/", 1)[1]) == (409, "name-taken")
    assert (deleted.status_code, gone.status_code) == (204, 404)


def test_an_audience_fed_by_a_segment_exports_only_consenting_people_hashed(
    client: TestClient, session: Session
) -> None:
    """Ada consented to email and SMS, Bo withdrew: the Meta file holds Ada's normalised,
    hashed email and phone and nobody else; a person added by hand shows in the audience."""
    tenant = make_tenant(session, "seg-export")
    ada, bo, cy = people(session, tenant)
    segment_id = create(client, tenant, GOLD).json()["id"]
    Membership(session).recompute(tenant.workspace_id, [ada, bo, cy])
    session.commit()

    audience = client.post(
        "/v1/audiences", json={"name": "Gold ads", "segment_id": segment_id}, headers=tenant.auth
    )
    audience_id = audience.json()["id"]
    added = client.put(f"/v1/audiences/{audience_id}/members/{cy}", headers=tenant.auth)
    again = client.put(f"/v1/audiences/{audience_id}/members/{cy}", headers=tenant.auth)
    exported = client.get(f"/v1/audiences/{audience_id}/export?format=meta", headers=tenant.auth)
    wrong = client.get(f"/v1/audiences/{audience_id}/export?format=x", headers=tenant.auth)
    listed = client.get("/v1/audiences", headers=tenant.auth)

    assert sorted(audience.json()["profile_ids"]) == sorted([ada, bo])
    assert (added.json(), again.json()) == ({"changed": True}, {"changed": False})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text == f"email,phone\n{sha256('ada@example.com')},{sha256('14155552671')}\n"
    assert wrong.status_code == 422
    assert [(a["name"], a["members"]) for a in listed.json()["items"]] == [("Gold ads", 3)]
