"""Helpers for connector tests: fixture payloads, keyed workspaces, signed Shopify deliveries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from tessera.integrations.shopify.webhooks import sign
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.support.factories import make_workspace

FIXTURES = Path(__file__).parent.parent / "fixtures"
SECRET = "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"


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True)
class Keyed:
    """A workspace and a secret key's headers (no users: no slow password hashing)."""

    workspace_id: str
    headers: dict[str, str]


def keyed_workspace(session: Session, slug: str, role: Role = Role.ADMIN) -> Keyed:
    workspace_id = make_workspace(session, slug)
    _key, token = WorkspaceService(session).create_api_key(
        workspace_id, ApiKeyKind.SECRET, "connectors", role
    )
    session.commit()
    return Keyed(workspace_id, {"Authorization": f"Bearer {token}"})


def register_shop(client: TestClient, keyed: Keyed, shop: str = "glow-lab.myshopify.com") -> str:
    """Register a Shopify shop through the API; returns the source id."""
    response = client.post(
        "/v1/connectors/shopify",
        headers=keyed.headers,
        json={"shop_domain": shop, "webhook_secret": SECRET},
    )
    assert response.status_code == 201, response.text
    source_id: str = response.json()["id"]
    return source_id


def deliver(
    client: TestClient,
    source_id: str,
    topic: str,
    body: bytes | dict[str, Any],
    webhook_id: str | None = None,
    secret: str = SECRET,
    shop: str = "glow-lab.myshopify.com",
) -> Response:
    """POST a webhook the way Shopify does: raw body, HMAC of the exact bytes, headers."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, raw),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Triggered-At": "2026-11-20T14:14:05.221Z",
    }
    if webhook_id is not None:
        headers["X-Shopify-Webhook-Id"] = webhook_id
    return client.post(f"/v1/connectors/shopify/{source_id}/webhooks", content=raw, headers=headers)
