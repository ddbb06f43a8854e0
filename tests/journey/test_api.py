"""/v1/journeys over real HTTP: create, versions, publish, pause, resume, archive, the people
inside; every refusal is problem+json naming what to fix."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.journey.flows import T0, Platform, journey_doc, make_templates, track
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"


def journey_tenant(session: Session, name: str) -> Tenant:
    """A workspace with an admin key and the abandoned cart's two templates."""
    tenant = make_tenant(session, name)
    make_templates(session, tenant.workspace_id, journey_doc())
    session.commit()
    return tenant


def create(client: TestClient, tenant: Tenant, document: Any) -> Any:
    return client.post("/v1/journeys", json=document, headers=tenant.auth)


def test_a_journey_is_created_versioned_published_and_listed(
    client: TestClient, session: Session
) -> None:
    """201 with version 1; a second version leaves the first as it was; publishing the newest
    makes it live; the list shows it with nobody inside."""
    tenant = journey_tenant(session, "api-journeys")

    created = create(client, tenant, journey_doc())
    journey_id = created.json()["id"]
    slower = journey_doc(name="Slower cart")
    slower["steps"][0]["timeout"] = "PT4H"
    second = client.post(f"/v1/journeys/{journey_id}/versions", json=slower, headers=tenant.auth)
    published = client.post(f"/v1/journeys/{journey_id}/publish", headers=tenant.auth)
    first = client.get(f"/v1/journeys/{journey_id}/versions/1", headers=tenant.auth)
    listed = client.get("/v1/journeys?status=live", headers=tenant.auth)
    detail = client.get(f"/v1/journeys/{journey_id}", headers=tenant.auth)

    assert created.status_code == 201
    assert (created.json()["status"], created.json()["latest_version"]) == ("draft", 1)
    assert (second.status_code, second.json()["version"]) == (201, 2)
    assert published.json() | {"created_at": None, "updated_at": None} == {
        "id": journey_id,
        "name": "Slower cart",
        "status": "live",
        "live_version": 2,
        "latest_version": 2,
        "created_at": None,
        "updated_at": None,
    }
    assert first.json()["definition"]["steps"][0]["timeout"] == "PT2H"
    assert [(j["id"], j["inside"]) for j in listed.json()["items"]] == [(journey_id, 0)]
    assert [v["version"] for v in detail.json()["versions"]] == [2, 1]
    assert detail.json()["definition"]["name"] == "Slower cart"


def test_an_invalid_graph_is_a_problem_naming_each_step_and_field(
    client: TestClient, session: Session
) -> None:
    """A loop without a wait and a dangling next: 422 problem+json, every fault listed."""
    tenant = journey_tenant(session, "api-journeys-bad")
    broken = journey_doc()
    broken["steps"][1]["next"] = "nowhere"
    broken["steps"][2] = {"id": "day", "type": "send_email", "template": "t", "next": "email"}
    broken["steps"][3]["next"] = "day"

    answer = create(client, tenant, broken)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["type"].endswith("/invalid-journey")
    assert body["detail"] == "step 'sms', next: names no step: 'nowhere'"
    assert body["errors"] == [
        {"step": "sms", "field": "next", "message": "names no step: 'nowhere'"}
    ]
    assert client.get("/v1/journeys", headers=tenant.auth).json()["items"] == []


def test_odd_bodies_are_refused_as_problems_never_a_crash(
    client: TestClient, session: Session
) -> None:
    """A list, a string, an empty object and a huge number are 422 problems."""
    tenant = journey_tenant(session, "api-journeys-odd")
    bad_delay = journey_doc()
    bad_delay["steps"][2]["duration"] = "P99999999D"

    answers = [create(client, tenant, body) for body in ([], "journey", {}, bad_delay)]

    assert [(a.status_code, a.headers["content-type"]) for a in answers] == [(422, PROBLEM)] * 4
    assert answers[3].json()["errors"][0]["step"] == "day"


def test_publishing_an_unknown_event_is_refused_and_the_journey_stays_a_draft(
    client: TestClient, session: Session
) -> None:
    """The problem names the wait step and its event field."""
    tenant = journey_tenant(session, "api-journeys-unknown")
    document = journey_doc()
    document["steps"][0]["event"] = "Order Complete"
    journey_id = create(client, tenant, document).json()["id"]

    answer = client.post(
        f"/v1/journeys/{journey_id}/publish", json={"version": 1}, headers=tenant.auth
    )

    assert answer.status_code == 422
    assert [(e["step"], e["field"]) for e in answer.json()["errors"]] == [("wait_order", "event")]
    assert client.get(f"/v1/journeys/{journey_id}", headers=tenant.auth).json()["status"] == "draft"


def test_publishing_a_send_step_without_its_template_is_a_problem_naming_the_step(
    client: TestClient, session: Session
) -> None:
    """422 problem+json whose field is ``steps[1].template``; the journey stays a draft."""
    tenant = journey_tenant(session, "api-journeys-template")
    document = journey_doc()
    document["steps"][1]["template"] = "cart_text"
    journey_id = create(client, tenant, document).json()["id"]

    answer = client.post(f"/v1/journeys/{journey_id}/publish", headers=tenant.auth)

    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM)
    body = answer.json()
    assert (body["field"], body["detail"]) == (
        "steps[1].template",
        "step 'sms', template: no template 'cart_text' in this workspace",
    )
    assert body["errors"] == [
        {
            "step": "sms",
            "field": "template",
            "path": "steps[1].template",
            "message": "no template 'cart_text' in this workspace",
        }
    ]
    assert client.get(f"/v1/journeys/{journey_id}", headers=tenant.auth).json()["status"] == "draft"


def test_status_changes_out_of_order_are_conflicts(client: TestClient, session: Session) -> None:
    """Resume a live journey, pause an archived one, publish a version that does not exist."""
    tenant = journey_tenant(session, "api-journeys-states")
    journey_id = create(client, tenant, journey_doc()).json()["id"]
    path = f"/v1/journeys/{journey_id}"
    client.post(f"{path}/publish", headers=tenant.auth)

    resumed = client.post(f"{path}/resume", headers=tenant.auth)
    paused = client.post(f"{path}/pause", headers=tenant.auth)
    archived = client.post(f"{path}/archive", headers=tenant.auth)
    again = client.post(f"{path}/pause", headers=tenant.auth)
    missing = client.post(f"{path}/publish", json={"version": 9}, headers=tenant.auth)

    assert (resumed.status_code, resumed.headers["content-type"]) == (409, PROBLEM)
    assert resumed.json()["type"].endswith("/journey-state-conflict")
    assert (paused.json()["status"], archived.json()["status"]) == ("paused", "archived")
    assert again.status_code == 409
    assert missing.status_code == 404


def test_a_viewer_reads_but_cannot_change_journeys(client: TestClient, session: Session) -> None:
    """Viewer keys list (200) and are refused creating (403)."""
    tenant = journey_tenant(session, "api-journeys-viewer")
    _key, token = WorkspaceService(session).create_api_key(
        tenant.workspace_id, ApiKeyKind.SECRET, "reader", Role.VIEWER
    )
    session.commit()
    viewer = {"Authorization": f"Bearer {token}"}

    assert client.get("/v1/journeys", headers=viewer).status_code == 200
    assert client.post("/v1/journeys", json=journey_doc(), headers=viewer).status_code == 403


def test_the_people_inside_are_listed_and_filtered(
    client: TestClient, session: Session, platform: Platform
) -> None:
    """After a checkout the person is inside at the wait; filters narrow, a bad reason is 422."""
    tenant = journey_tenant(session, "api-journeys-people")
    platform.workspace_id = tenant.workspace_id
    journey_id = create(client, tenant, journey_doc()).json()["id"]
    client.post(f"/v1/journeys/{journey_id}/publish", headers=tenant.auth)
    platform.send(track("c1", "Checkout Started", T0, user_id="u1", cart_id="cart-1"))
    platform.run()
    path = f"/v1/journeys/{journey_id}/instances"

    inside = client.get(f"{path}?inside=true&step=wait_order", headers=tenant.auth).json()
    left = client.get(f"{path}?inside=false", headers=tenant.auth).json()
    bad = client.get(f"{path}?exit_reason=bored", headers=tenant.auth)
    detail = client.get(f"/v1/journeys/{journey_id}", headers=tenant.auth).json()

    [person] = inside["items"]
    assert (person["entry_key"], person["awaiting_event"], person["awaiting_key"]) == (
        "cart-1",
        "Order Completed",
        "cart-1",
    )
    assert left["items"] == []
    assert (bad.status_code, bad.json()["field"]) == (422, "exit_reason")
    assert detail["steps"] == [{"step": "wait_order", "entered": 1, "waiting": 1, "exited": {}}]


def test_the_journey_routes_are_documented_with_their_problems(client: TestClient) -> None:
    """OpenAPI lists each route; a change may answer 404, 409 and 422 problem+json."""
    paths = client.get("/openapi.json").json()["paths"]

    publish = paths["/v1/journeys/{journey_id}/publish"]["post"]
    assert {"404", "409", "422"} <= set(publish["responses"])
    assert PROBLEM in publish["responses"]["409"]["content"]
    assert {"/v1/journeys", "/v1/journeys/{journey_id}/instances"} <= set(paths)
