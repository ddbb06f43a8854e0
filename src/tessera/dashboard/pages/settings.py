"""Settings: API keys, users (members, invitations, removal, reset links), jobs, audit log.

Everyone in a workspace may read these lists; changing keys or members needs the admin role,
checked here on the server (``Member.require``), whatever the page showed. People join by
invitation only: the page shows the invitation's link once, for the admin to hand over, and
the same answer whether or not the address has an account. The service refuses granting a role
above one's own, acting on someone ranked above oneself, and leaving a workspace ownerless.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from tessera.dashboard import charts
from tessera.dashboard.session import Member, SignedIn, flash
from tessera.dashboard.web import DashboardRoute, is_htmx, link, query_string, render
from tessera.http.routing import DbSession
from tessera.job.service import JobService
from tessera.kit.errors import InvalidInput, Problem
from tessera.kit.time import utcnow
from tessera.models.job import JobStatus
from tessera.models.workspace import ApiKey, ApiKeyKind, Role
from tessera.workspace import domain
from tessera.workspace.errors import AlreadyMember, MemberNotFound, RoleTooLow, SharedLogin
from tessera.workspace.membership.service import MembershipService
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

KEY_LISTING_LIMIT = 200
AUDIT_LIMIT = 50
JOB_LIMIT = 50
E = TypeVar("E", bound=enum.StrEnum)


def _choice(enum_class: type[E], value: str, field: str) -> E:
    try:
        return enum_class(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise InvalidInput(f"{field} must be one of {allowed}", field=field) from None


def _grantable_roles(member: Member) -> list[Role]:
    return [role for role in Role if member.can(role)]


@pages.get("/settings")
def settings_home() -> Response:
    return RedirectResponse("/settings/api-keys", status_code=303)


# API keys ---------------------------------------------------------------------------------------


def _keys_page(
    request: Request,
    member: Member,
    service: WorkspaceService,
    *,
    status: int = 200,
    created: ApiKey | None = None,
    token: str | None = None,
    error: Problem | None = None,
    form: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    page = service.list_api_keys(member.workspace.id, limit=KEY_LISTING_LIMIT)
    context: dict[str, Any] = {
        "member": member,
        "keys": page.items,
        "truncated": page.next_cursor is not None,
        "can_manage": member.can(Role.ADMIN),
        "roles": _grantable_roles(member),
        "created": created,
        "token": token,
        "error": error,
        "form": form or {"name": "", "kind": ApiKeyKind.SECRET.value, "role": Role.VIEWER.value},
        "message": message,
    }
    template = "_keys_panel.html" if is_htmx(request) else "settings_api_keys.html"
    return render(request, template, context, status=status)


@pages.get("/settings/api-keys")
def api_keys(request: Request, member: SignedIn, session: DbSession) -> Response:
    return _keys_page(request, member, WorkspaceService(session))


@pages.post("/settings/api-keys")
def create_api_key(
    request: Request,
    member: SignedIn,
    session: DbSession,
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = ApiKeyKind.SECRET.value,
    role: Annotated[str, Form()] = "",
) -> Response:
    """Create a key and show its token once; admins only, and never above the creator's role."""
    member.require(Role.ADMIN)
    service = WorkspaceService(session)
    form = {"name": name, "kind": kind, "role": role}
    try:
        key_kind = _choice(ApiKeyKind, kind, "kind")
        key_role = _choice(Role, role, "role") if key_kind is ApiKeyKind.SECRET else None
        if key_role is not None and not member.can(key_role):
            raise RoleTooLow(
                f"You cannot create a key with more power than your own role "
                f"({member.role.value}).",
                field="role",
            )
        key, token = service.create_api_key(
            member.workspace.id, key_kind, name, key_role, actor=member.user.id
        )
    except (InvalidInput, RoleTooLow) as problem:
        return _keys_page(request, member, service, status=problem.status, error=problem, form=form)
    return _keys_page(request, member, service, created=key, token=token)


@pages.post("/settings/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, member: SignedIn, session: DbSession, key_id: str) -> Response:
    """Revoke a key of this workspace; admins only. A key of another workspace is not found."""
    member.require(Role.ADMIN)
    service = WorkspaceService(session)
    key = service.revoke_api_key(member.workspace.id, key_id, actor=member.user.id)
    message = f"Revoked “{key.name}” ({key.token_prefix}…). Requests using it now get 401."
    if is_htmx(request):
        return _keys_page(request, member, service, message=message)
    flash(request, message)
    return RedirectResponse("/settings/api-keys", status_code=303)


# Users ------------------------------------------------------------------------------------------

USER_FIELDS = ("email", "role")


@dataclass(frozen=True)
class IssuedLink:
    """A one-time link to show the admin once: what it is for, and the link."""

    title: str
    url: str
    note: str


def _users_page(
    request: Request,
    member: Member,
    session: Session,
    *,
    status: int = 200,
    error: Problem | None = None,
    form: dict[str, str] | None = None,
    invite_form: dict[str, str] | None = None,
    message: str | None = None,
    link: IssuedLink | None = None,
) -> Response:
    workspace_id = member.workspace.id
    can_manage = member.can(Role.ADMIN)
    context: dict[str, Any] = {
        "member": member,
        "members": WorkspaceService(session).members(workspace_id),
        "invitations": MembershipService(session).invitations(workspace_id) if can_manage else [],
        "can_manage": can_manage,
        "roles": _grantable_roles(member),
        "error": error,
        "form": form or {"email": "", "role": Role.VIEWER.value},
        "invite_form": invite_form or {"email": "", "role": Role.VIEWER.value},
        "message": message,
        "link": link,
        "now": request.app.state.clock(),
    }
    template = "_users_panel.html" if is_htmx(request) else "settings_users.html"
    return render(request, template, context, status=status)


def _after_change(request: Request, member: Member, session: Session, message: str) -> Response:
    if is_htmx(request):
        return _users_page(request, member, session, message=message)
    flash(request, message)
    return RedirectResponse("/settings/users", status_code=303)


def _members(request: Request, session: Session) -> MembershipService:
    return MembershipService(session, request.app.state.clock)


@pages.get("/settings/users")
def users(request: Request, member: SignedIn, session: DbSession) -> Response:
    return _users_page(request, member, session)


@pages.post("/settings/users")
def change_role(
    request: Request,
    member: SignedIn,
    session: DbSession,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = Role.VIEWER.value,
) -> Response:
    """Change a member's role; admins only. Someone not a member here is to be invited.

    Refuses granting a role above one's own, changing the role of someone ranked above oneself,
    and taking the owner role from the workspace's last owner.
    """
    member.require(Role.ADMIN)
    form = {"email": email, "role": role}
    try:
        new_role = _choice(Role, role, "role")
        members = _members(request, session)
        user, _held = members.member_by_email(member.workspace.id, email)
        members.change_role(
            member.workspace.id, user.id, new_role, actor=member.user.id, actor_role=member.role
        )
    except (InvalidInput, RoleTooLow, MemberNotFound) as problem:
        return _users_page(
            request, member, session, status=problem.status, error=problem, form=form
        )
    return _after_change(
        request, member, session, f"You changed the role of {user.email}: {new_role.value}."
    )


@pages.post("/settings/invitations")
def invite(
    request: Request,
    member: SignedIn,
    session: DbSession,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = Role.VIEWER.value,
) -> Response:
    """Invite someone by email and show the link once; admins only, never above one's role.

    The answer is the same whether or not the address has an account anywhere.
    """
    member.require(Role.ADMIN)
    invite_form = {"email": email, "role": role}
    try:
        issued = _members(request, session).invite(
            member.workspace.id,
            email,
            _choice(Role, role, "role"),
            actor=member.user.id,
            grantor_role=member.role,
        )
    except (InvalidInput, RoleTooLow, AlreadyMember) as problem:
        return _users_page(
            request, member, session, status=problem.status, error=problem,
            invite_form=invite_form,
        )  # fmt: skip
    invitation = issued.invitation
    link = IssuedLink(
        title=f"Invitation for {invitation.email} ({invitation.role.value})",
        url=domain.link_url(str(request.base_url), domain.INVITATION_PATH, issued.token),
        note="Hand this link to them; it works once, for 7 days. Someone with a Tessera "
        "account signs in to accept; someone new chooses a password.",
    )
    return _users_page(request, member, session, link=link)


@pages.post("/settings/invitations/{invitation_id}/revoke")
def revoke_invitation(
    request: Request, member: SignedIn, session: DbSession, invitation_id: str
) -> Response:
    """Revoke an open invitation; admins only. Another workspace's invitation is not found."""
    member.require(Role.ADMIN)
    invitation = _members(request, session).revoke_invitation(
        member.workspace.id, invitation_id, actor=member.user.id
    )
    message = f"Revoked the invitation for {invitation.email}; its link no longer works."
    return _after_change(request, member, session, message)


@pages.post("/settings/users/{user_id}/remove")
def remove_member(request: Request, member: SignedIn, session: DbSession, user_id: str) -> Response:
    """Remove a member; admins only, never someone ranked above oneself or the last owner."""
    member.require(Role.ADMIN)
    try:
        user = _members(request, session).remove_member(
            member.workspace.id, user_id, actor=member.user.id, actor_role=member.role
        )
    except (InvalidInput, RoleTooLow) as problem:
        return _users_page(request, member, session, status=problem.status, error=problem)
    message = f"You removed {user.email} from {member.workspace.name}."
    return _after_change(request, member, session, message)


@pages.post("/settings/users/{user_id}/password-reset")
def reset_password(
    request: Request, member: SignedIn, session: DbSession, user_id: str
) -> Response:
    """Issue a one-time password reset link and show it once; admins only.

    Refused for someone ranked above oneself and for a member who also signs in to other
    workspaces (their login is not this workspace's to hand out).
    """
    member.require(Role.ADMIN)
    try:
        issued = _members(request, session).issue_password_reset(
            member.workspace.id, user_id, actor=member.user.id, actor_role=member.role
        )
    except (RoleTooLow, SharedLogin) as problem:
        return _users_page(request, member, session, status=problem.status, error=problem)
    link = IssuedLink(
        title=f"Password reset link for {issued.user.email}",
        url=domain.link_url(str(request.base_url), domain.RESET_PATH, issued.token),
        note="Hand this link to them; it works once, for a day, and they choose the password.",
    )
    return _users_page(request, member, session, link=link)


# Jobs and audit log -----------------------------------------------------------------------------


@pages.get("/settings/jobs")
def job_list(
    request: Request,
    member: SignedIn,
    session: DbSession,
    status: str | None = None,
    kind: str = "",
    cursor: str | None = None,
) -> Response:
    """The workspace's jobs a page at a time, by status and kind, with their last error, and
    the jobs finished per hour."""
    wanted = _choice(JobStatus, status, "status") if status else None
    job_service = JobService(session)
    page = job_service.list_jobs(member.workspace.id, wanted, cursor, JOB_LIMIT, kind or None)
    filters = query_string(status=status, kind=kind)
    hours = job_service.finished_per_hour(member.workspace.id, utcnow())
    context = {
        "member": member,
        "counts": job_service.count_by_status(member.workspace.id),
        "jobs": page.items,
        "status": wanted,
        "kind": kind,
        "kinds": job_service.kinds(member.workspace.id),
        "filters": filters,
        "next_url": link("/settings/jobs", status=status, kind=kind, cursor=page.next_cursor)
        if page.next_cursor
        else None,
        "is_first_page": not cursor,
        "jobs_chart": charts.jobs_finished_per_hour(hours),
        "finished_today": sum(bucket.count for bucket in hours),
    }
    return render(request, "settings_jobs.html", context)


@pages.get("/settings/audit-log")
def audit_log(
    request: Request,
    member: SignedIn,
    session: DbSession,
    action: str = "",
    actor: str = "",
    cursor: str | None = None,
) -> Response:
    """Audit entries a page at a time, filtered by action (prefix) and actor; actors shown by
    email or key name where known."""
    service = WorkspaceService(session)
    workspace_id = member.workspace.id
    actors: dict[str, str] = {user.id: user.email for user, _role in service.members(workspace_id)}
    keys = service.list_api_keys(workspace_id, limit=KEY_LISTING_LIMIT).items
    actors.update({key.id: f"key “{key.name}”" for key in keys})
    page = service.audit_log(workspace_id, AUDIT_LIMIT, cursor, action or None, actor or None)
    filters = query_string(action=action, actor=actor)
    context = {
        "member": member,
        "entries": page.items,
        "actors": actors,
        "action": action,
        "actor": actor,
        "filters": filters,
        "next_url": link("/settings/audit-log", action=action, actor=actor, cursor=page.next_cursor)
        if page.next_cursor
        else None,
        "is_first_page": not cursor,
    }
    return render(request, "settings_audit.html", context)
