"""``/v1/workspace``, ``/v1/api-keys``, ``/v1/members`` and ``/v1/invitations``.

People join a workspace by accepting an invitation (``POST /v1/invitations``), never by being
added: ``POST /v1/members`` only changes the role of someone already a member.
"""

from __future__ import annotations

from fastapi import Query, Request, Response, status

from tessera.http.routing import DbSession, router
from tessera.workspace import domain
from tessera.workspace.auth import Admin, Viewer
from tessera.workspace.membership.service import MembershipService
from tessera.workspace.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyPage,
    AuditEntryOut,
    AuditPage,
    InvitationCreate,
    InvitationCreated,
    InvitationOut,
    MemberOut,
    MemberRoleChange,
    PasswordResetCreated,
    WorkspaceOut,
    WorkspaceUpdate,
)
from tessera.workspace.service import WorkspaceService

api = router(prefix="/v1", tags=["workspace"])


@api.get("/workspace", response_model=WorkspaceOut, summary="The caller's workspace")
def get_workspace(principal: Viewer, session: DbSession) -> WorkspaceOut:
    workspace = WorkspaceService(session).get_workspace(principal.workspace_id)
    return WorkspaceOut.model_validate(workspace)


@api.patch("/workspace", response_model=WorkspaceOut, summary="Rename, or set zone and currency")
def update_workspace(body: WorkspaceUpdate, principal: Admin, session: DbSession) -> WorkspaceOut:
    workspace = WorkspaceService(session).update_workspace(
        principal.workspace_id,
        principal.actor,
        name=body.name,
        time_zone=body.time_zone,
        currency=body.currency,
    )
    return WorkspaceOut.model_validate(workspace)


@api.get("/audit-log", response_model=AuditPage, summary="Who did what, newest first")
def list_audit_entries(
    principal: Admin,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    action: str | None = Query(
        default=None, max_length=80, description="Actions starting with this (`quarantine.`)"
    ),
    actor: str | None = Query(default=None, max_length=80, description="One actor's entries"),
) -> AuditPage:
    page = WorkspaceService(session).audit_log(principal.workspace_id, limit, cursor, action, actor)
    return AuditPage(
        items=[AuditEntryOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


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


@api.post("/members", response_model=MemberOut, summary="Change a member's role")
def change_member_role(body: MemberRoleChange, principal: Admin, session: DbSession) -> MemberOut:
    """Someone not a member here is 404: invite them with ``POST /v1/invitations``."""
    members = MembershipService(session)
    user, _held = members.member_by_email(principal.workspace_id, body.email)
    members.change_role(
        principal.workspace_id, user.id, body.role, actor=principal.actor, actor_role=principal.role
    )
    return MemberOut(id=user.id, email=user.email, name=user.name, role=body.role)


@api.delete(
    "/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a member from this workspace (their account stays)",
)
def remove_member(user_id: str, principal: Admin, session: DbSession) -> Response:
    MembershipService(session).remove_member(
        principal.workspace_id, user_id, actor=principal.actor, actor_role=principal.role
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.post(
    "/members/{user_id}/password-reset",
    response_model=PasswordResetCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a one-time password reset link for a member; shown in this response only",
)
def reset_member_password(
    user_id: str, principal: Admin, session: DbSession, request: Request
) -> PasswordResetCreated:
    issued = MembershipService(session, request.app.state.clock).issue_password_reset(
        principal.workspace_id, user_id, actor=principal.actor, actor_role=principal.role
    )
    return PasswordResetCreated(
        user_id=issued.user.id,
        email=issued.user.email,
        expires_at=issued.reset.expires_at,
        token=issued.token,
        url=domain.link_url(str(request.base_url), domain.RESET_PATH, issued.token),
    )


@api.get("/invitations", response_model=list[InvitationOut], summary="Open invitations")
def list_invitations(principal: Admin, session: DbSession) -> list[InvitationOut]:
    invitations = MembershipService(session).invitations(principal.workspace_id)
    return [InvitationOut.model_validate(invitation) for invitation in invitations]


@api.post(
    "/invitations",
    response_model=InvitationCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Invite someone by email; the link is in this response only",
)
def create_invitation(
    body: InvitationCreate, principal: Admin, session: DbSession, request: Request
) -> InvitationCreated:
    """The same answer whether or not the address has an account anywhere."""
    issued = MembershipService(session, request.app.state.clock).invite(
        principal.workspace_id,
        body.email,
        body.role,
        actor=principal.actor,
        grantor_role=principal.role,
    )
    return InvitationCreated(
        **InvitationOut.model_validate(issued.invitation).model_dump(),
        token=issued.token,
        url=domain.link_url(str(request.base_url), domain.INVITATION_PATH, issued.token),
    )


@api.post(
    "/invitations/{invitation_id}/revoke",
    response_model=InvitationOut,
    summary="Revoke an open invitation; its link stops working",
)
def revoke_invitation(
    invitation_id: str, principal: Admin, session: DbSession, request: Request
) -> InvitationOut:
    invitation = MembershipService(session, request.app.state.clock).revoke_invitation(
        principal.workspace_id, invitation_id, actor=principal.actor
    )
    return InvitationOut.model_validate(invitation)
