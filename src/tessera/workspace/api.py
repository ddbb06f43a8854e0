"""``/v1/workspace``, ``/v1/api-keys`` and ``/v1/members``."""

from __future__ import annotations

from fastapi import Query, status

from tessera.http.routing import DbSession, router
from tessera.workspace.auth import Admin, Viewer
from tessera.workspace.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyPage,
    MemberCreate,
    MemberOut,
    WorkspaceOut,
)
from tessera.workspace.service import WorkspaceService

api = router(prefix="/v1", tags=["workspace"])


@api.get("/workspace", response_model=WorkspaceOut, summary="The caller's workspace")
def get_workspace(principal: Viewer, session: DbSession) -> WorkspaceOut:
    workspace = WorkspaceService(session).get_workspace(principal.workspace_id)
    return WorkspaceOut.model_validate(workspace)


@api.get("/api-keys", response_model=ApiKeyPage, summary="List API keys, newest first")
def list_api_keys(
    principal: Admin,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> ApiKeyPage:
    page = WorkspaceService(session).list_api_keys(principal.workspace_id, cursor, limit)
    return ApiKeyPage(
        items=[ApiKeyOut.model_validate(key) for key in page.items], next_cursor=page.next_cursor
    )


@api.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key; the token is in this response only",
)
def create_api_key(body: ApiKeyCreate, principal: Admin, session: DbSession) -> ApiKeyCreated:
    key, token = WorkspaceService(session).create_api_key(
        principal.workspace_id,
        body.kind,
        body.name,
        body.role,
        actor=principal.actor,
        grantor_role=principal.role,
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), token=token)


@api.post("/api-keys/{key_id}/revoke", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_api_key(key_id: str, principal: Admin, session: DbSession) -> ApiKeyOut:
    key = WorkspaceService(session).revoke_api_key(
        principal.workspace_id, key_id, actor=principal.actor
    )
    return ApiKeyOut.model_validate(key)


@api.get("/members", response_model=list[MemberOut], summary="Members and their roles")
def list_members(principal: Admin, session: DbSession) -> list[MemberOut]:
    members = WorkspaceService(session).members(principal.workspace_id)
    return [MemberOut(id=u.id, email=u.email, name=u.name, role=role) for u, role in members]


@api.post(
    "/members",
    response_model=MemberOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a member or change their role",
)
def add_member(body: MemberCreate, principal: Admin, session: DbSession) -> MemberOut:
    user = WorkspaceService(session).add_user(
        principal.workspace_id,
        body.email,
        body.role,
        password=body.password,
        name=body.name,
        actor=principal.actor,
        grantor_role=principal.role,
    )
    return MemberOut(id=user.id, email=user.email, name=user.name, role=body.role)
