"""The workspace-isolation probes: for every ``/v1`` route, a request by workspace A's key that
names or lists workspace B's data. ``tests/http/test_isolation.py`` runs them all and fails when
a route has no probe, so a new router cannot skip the check.

Each domain adds one builder with ``@probes``: it creates B's data through B's services and
returns the requests A will try.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.service import WorkspaceService
from tests.support.factories import Tenant


@dataclass(frozen=True)
class Probe:
    route: str  # the route template this covers, e.g. "/v1/api-keys/{key_id}/revoke"
    method: str
    path: str  # the concrete path, naming B's ids where the route has parameters
    expect: Literal["not_found", "only_own"]  # B's thing is invisible / a listing shows only A's
    json: Any = field(default=None)


Builder = Callable[[Session, Tenant], list[Probe]]
BUILDERS: list[Builder] = []


def probes(builder: Builder) -> Builder:
    BUILDERS.append(builder)
    return builder


@probes
def workspace_probes(session: Session, b: Tenant) -> list[Probe]:
    key, _token = WorkspaceService(session).create_api_key(
        b.workspace_id, ApiKeyKind.SECRET, "b-analytics", Role.ANALYST
    )
    return [
        Probe("/v1/workspace", "GET", "/v1/workspace", "only_own"),
        Probe("/v1/api-keys", "GET", "/v1/api-keys", "only_own"),
        Probe(
            "/v1/api-keys",
            "POST",
            "/v1/api-keys",
            "only_own",
            json={"name": "x", "kind": "secret", "role": "viewer"},
        ),
        Probe("/v1/api-keys/{key_id}/revoke", "POST", f"/v1/api-keys/{key.id}/revoke", "not_found"),
        Probe("/v1/members", "GET", "/v1/members", "only_own"),
        Probe(
            "/v1/members",
            "POST",
            "/v1/members",
            "only_own",
            json={"email": b.owner_email, "role": "viewer"},
        ),
    ]
