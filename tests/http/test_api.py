"""The HTTP surface: auth, problem+json errors, request ids, health and readiness."""

from __future__ import annotations

import base64
import subprocess
import sys

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.support.factories import make_tenant

PROBLEM = "application/problem+json"


def test_healthz_and_readyz_answer_ok_on_a_migrated_database(client: TestClient) -> None:
    """Both health endpoints answer 200 when the database is reachable and migrated."""
    health = client.get("/healthz")
    ready = client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})


def test_a_missing_key_gets_401_problem_json(client: TestClient) -> None:
    """No Authorization header: 401 with a stable problem type."""
    response = client.get("/v1/workspace")

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "https://tessera.dev/problems/invalid-api-key"
    assert body["status"] == 401
    assert body["instance"] == "/v1/workspace"
    assert body["request_id"] == response.headers["x-request-id"]


def test_an_unknown_key_gets_401(client: TestClient) -> None:
    """A well-formed token that was never issued is refused."""
    response = client.get("/v1/workspace", headers={"Authorization": "Bearer tsk_" + "x" * 43})

    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-api-key")


def test_a_revoked_key_gets_401(client: TestClient, session: Session) -> None:
    """Once revoked, the key's next request is refused."""
    tenant = make_tenant(session, "acme")
    assert client.get("/v1/workspace", headers=tenant.auth).status_code == 200

    revoke = client.post(f"/v1/api-keys/{tenant.admin_key_id}/revoke", headers=tenant.auth)
    after = client.get("/v1/workspace", headers=tenant.auth)

    assert revoke.status_code == 200
    assert revoke.json()["revoked_at"] is not None
    assert after.status_code == 401
    assert after.headers["content-type"] == PROBLEM


def test_basic_auth_with_the_key_as_user_name_works(client: TestClient, session: Session) -> None:
    """HTTP Basic with the token as the user name and no password is accepted."""
    tenant = make_tenant(session, "acme")
    basic = base64.b64encode(f"{tenant.admin_token}:".encode()).decode()

    response = client.get("/v1/workspace", headers={"Authorization": f"Basic {basic}"})

    assert response.status_code == 200
    assert response.json()["slug"] == "acme"


def test_a_public_write_key_cannot_use_the_management_api(
    client: TestClient, session: Session
) -> None:
    """Write keys are for sending events only."""
    tenant = make_tenant(session, "acme")

    response = client.get(
        "/v1/workspace", headers={"Authorization": f"Bearer {tenant.write_token}"}
    )

    assert response.status_code == 401


def test_a_viewer_key_cannot_create_keys(client: TestClient, session: Session) -> None:
    """A role below admin gets 403 and no key is created."""
    tenant = make_tenant(session, "acme")
    _, viewer = WorkspaceService(session).create_api_key(
        tenant.workspace_id, ApiKeyKind.SECRET, "viewer", Role.VIEWER
    )
    session.commit()
    before = client.get("/v1/api-keys", headers=tenant.auth).json()["items"]

    response = client.post(
        "/v1/api-keys",
        headers={"Authorization": f"Bearer {viewer}"},
        json={"name": "sneaky", "kind": "secret", "role": "owner"},
    )

    assert response.status_code == 403
    assert response.json()["type"].endswith("/role-too-low")
    assert client.get("/v1/api-keys", headers=tenant.auth).json()["items"] == before


def test_malformed_json_gets_400_problem_json(client: TestClient, session: Session) -> None:
    """A body that is not JSON is a 400 naming the problem, never a 500."""
    tenant = make_tenant(session, "acme")

    response = client.post(
        "/v1/api-keys",
        headers={**tenant.auth, "Content-Type": "application/json"},
        content=b'{"name": "x",',
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/malformed-json")


def test_wrong_types_get_422_naming_the_field(client: TestClient, session: Session) -> None:
    """A body of the wrong shape is a 422 whose errors name each bad field."""
    tenant = make_tenant(session, "acme")

    response = client.post(
        "/v1/api-keys", headers=tenant.auth, json={"name": 5, "kind": "golden", "extra": 1}
    )

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.name", "body.kind", "body.extra"}


def test_a_secret_key_without_a_role_is_a_422_from_the_service(
    client: TestClient, session: Session
) -> None:
    """The service's own rule surfaces as problem+json with the field named."""
    tenant = make_tenant(session, "acme")

    response = client.post("/v1/api-keys", headers=tenant.auth, json={"name": "ci"})

    assert response.status_code == 422
    assert response.json()["field"] == "role"


def test_creating_a_key_returns_the_token_once(client: TestClient, session: Session) -> None:
    """The token is in the create response, never in listings, and it works."""
    tenant = make_tenant(session, "acme")

    created = client.post(
        "/v1/api-keys", headers=tenant.auth, json={"name": "ci", "role": "analyst"}
    ).json()
    listing = client.get("/v1/api-keys", headers=tenant.auth)
    used = client.get("/v1/workspace", headers={"Authorization": f"Bearer {created['token']}"})

    assert created["token"].startswith("tsk_")
    assert created["token"] not in listing.text
    assert created["id"] in listing.text
    assert used.status_code == 200


def test_an_unknown_route_is_problem_json(client: TestClient) -> None:
    """Even a 404 for a path that does not exist is problem+json."""
    response = client.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_a_caller_request_id_is_kept(client: TestClient) -> None:
    """A request id sent by the caller comes back; otherwise one is made."""
    kept = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    made = client.get("/healthz")

    assert kept.headers["x-request-id"] == "abc-123"
    assert made.headers["x-request-id"].startswith("req_")


def test_openapi_documents_the_routes(client: TestClient) -> None:
    """The OpenAPI document lists the management routes and the docs page renders."""
    spec = client.get("/openapi.json").json()
    docs = client.get("/docs")

    assert {"/v1/workspace", "/v1/api-keys", "/v1/api-keys/{key_id}/revoke"} <= set(spec["paths"])
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()
    assert '<script src="/static/vendor/swagger-ui-bundle.js">' in docs.text
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200


def test_an_admin_key_cannot_mint_an_owner_key_or_owner_member(
    client: TestClient, session: Session
) -> None:
    """No key grants more than its own role: 403 role-too-low, and nothing is created."""
    tenant = make_tenant(session, "acme")
    before = client.get("/v1/api-keys", headers=tenant.auth).json()["items"]

    key = client.post(
        "/v1/api-keys", headers=tenant.auth, json={"name": "x", "kind": "secret", "role": "owner"}
    )
    member = client.post(
        "/v1/members", headers=tenant.auth, json={"email": tenant.owner_email, "role": "owner"}
    )

    assert (key.status_code, member.status_code) == (403, 403)
    assert key.json()["type"].endswith("/role-too-low")
    assert client.get("/v1/api-keys", headers=tenant.auth).json()["items"] == before


def test_the_server_configures_the_orm_mappers_at_start_up_not_in_a_request() -> None:
    """A fresh process: importing and building the app leaves the mappers unconfigured (the
    first use case to build a model would pay for it, a few hundred ms); starting it does."""
    script = (
        "from fastapi.testclient import TestClient\n"
        "from sqlalchemy import inspect\n"
        "from tessera.app import create_app\n"
        "from tessera.config import Settings\n"
        "from tessera.models.inventory import Reservation\n"
        "app = create_app(Settings(database_url='sqlite:///:memory:'))\n"
        "before = inspect(Reservation).configured\n"
        "with TestClient(app):\n"
        "    print(before, inspect(Reservation).configured)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )

    assert shown.stdout.split() == ["False", "True"]
