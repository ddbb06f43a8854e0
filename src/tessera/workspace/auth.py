"""Who is calling: API keys for the API (Bearer or HTTP Basic user), sessions for the dashboard."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from tessera.http.routing import DbSession
from tessera.models.workspace import ApiKeyKind, Role
from tessera.workspace.domain import Principal
from tessera.workspace.errors import InvalidApiKey, RoleTooLow
from tessera.workspace.service import WorkspaceService

# Declared for the OpenAPI page's "Authorize" button; parsing is done by token_from_request.
_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`Bearer tsk_...` (secret key) or HTTP Basic with the key as the user name",
)


def token_from_request(request: Request) -> str | None:
    """The API token from ``Authorization: Bearer`` or ``Basic base64(token:)``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return user or None
    return None


def require_role(needed: Role) -> Callable[..., Principal]:
    """A dependency: the caller's secret key, which must allow ``needed``."""

    def dependency(
        request: Request,
        session: DbSession,
        _header: Annotated[str | None, Depends(_authorization)] = None,
    ) -> Principal:
        token = token_from_request(request)
        if not token:
            raise InvalidApiKey("send a secret key as `Authorization: Bearer tsk_...`")
        principal = WorkspaceService(session).authenticate_key(token)
        if principal.kind is not ApiKeyKind.SECRET:
            raise InvalidApiKey("this endpoint needs a secret key (tsk_...), not a write key")
        if not principal.allows(needed):
            raise RoleTooLow(f"this needs the {needed.value} role or higher")
        request.state.principal = principal
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Analyst = Annotated[Principal, Depends(require_role(Role.ANALYST))]
Marketer = Annotated[Principal, Depends(require_role(Role.MARKETER))]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
