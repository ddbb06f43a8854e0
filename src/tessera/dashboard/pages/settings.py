"""Settings: API keys, users, jobs and the audit log.

Everyone in a workspace may read these lists; changing keys or members needs the admin role,
checked here on the server (``Member.require``), whatever the page showed. Two more guards than
the ``/v1`` API has: nobody grants a role above their own (to a key or a member), and a workspace
keeps at least one owner.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from tessera.dashboard.session import Member, SignedIn, flash
from tessera.dashboard.web import DashboardRoute, is_htmx, render
from tessera.http.routing import DbSession
from tessera.job.service import JobService
from tessera.kit.errors import InvalidInput, Problem
from tessera.models.job import JobStatus
from tessera.models.workspace import ApiKey, ApiKeyKind, Role
from tessera.workspace.errors import RoleTooLow
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

KEY_LISTING_LIMIT = 200
AUDIT_LIMIT = 100
JOB_LIMIT = 100
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
        "form": form or {"name": "", "kind": ApiKeyKind.SECRET.value, "role": Role.ADMIN.value},
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


def _users_page(
    request: Request,
    member: Member,
    service: WorkspaceService,
    *,
    status: int = 200,
    error: Problem | None = None,
    form: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    context: dict[str, Any] = {
        "member": member,
        "members": service.members(member.workspace.id),
        "can_manage": member.can(Role.ADMIN),
        "roles": _grantable_roles(member),
        "error": error,
        "form": form or {"email": "", "name": "", "role": Role.VIEWER.value},
        "message": message,
    }
    template = "_users_panel.html" if is_htmx(request) else "settings_users.html"
    return render(request, template, context, status=status)


@pages.get("/settings/users")
def users(request: Request, member: SignedIn, session: DbSession) -> Response:
    return _users_page(request, member, WorkspaceService(session))


@pages.post("/settings/users")
def add_member(
    request: Request,
    member: SignedIn,
    session: DbSession,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = Role.VIEWER.value,
    password: Annotated[str, Form()] = "",
) -> Response:
    """Add a member or change a member's role; admins only.

    Refuses granting a role above one's own, changing the role of someone ranked above oneself,
    and taking the owner role from the workspace's last owner.
    """
    member.require(Role.ADMIN)
    service = WorkspaceService(session)
    form = {"email": email, "name": name, "role": role}
    workspace_id = member.workspace.id
    try:
        new_role = _choice(Role, role, "role")
        if not member.can(new_role):
            raise RoleTooLow(
                f"You cannot grant a role above your own ({member.role.value}).", field="role"
            )
        current = {user.email: held for user, held in service.members(workspace_id)}
        held = current.get(email.strip().lower())
        if held is not None and not member.can(held):
            raise RoleTooLow(f"{email.strip()} is {held.value}, above your role.", field="email")
        owners = sum(1 for existing in current.values() if existing is Role.OWNER)
        if held is Role.OWNER and new_role is not Role.OWNER and owners == 1:
            raise InvalidInput("A workspace keeps at least one owner.", field="role")
        user = service.add_user(
            workspace_id,
            email,
            new_role,
            password=password or None,
            name=name.strip(),
            actor=member.user.id,
        )
    except (InvalidInput, RoleTooLow) as problem:
        return _users_page(
            request, member, service, status=problem.status, error=problem, form=form
        )
    verb = "changed the role of" if held is not None else "added"
    message = f"You {verb} {user.email}: {new_role.value}."
    if is_htmx(request):
        return _users_page(request, member, service, message=message)
    flash(request, message)
    return RedirectResponse("/settings/users", status_code=303)


# Jobs and audit log -----------------------------------------------------------------------------


@pages.get("/settings/jobs")
def job_list(
    request: Request, member: SignedIn, session: DbSession, status: str | None = None
) -> Response:
    """The workspace's newest jobs, optionally of one status, with their last error."""
    wanted = _choice(JobStatus, status, "status") if status else None
    job_service = JobService(session)
    context = {
        "member": member,
        "counts": job_service.count_by_status(member.workspace.id),
        "jobs": job_service.list_jobs(member.workspace.id, wanted, limit=JOB_LIMIT).items,
        "status": wanted,
        "limit": JOB_LIMIT,
    }
    return render(request, "settings_jobs.html", context)


@pages.get("/settings/audit-log")
def audit_log(request: Request, member: SignedIn, session: DbSession) -> Response:
    """The last 100 audit entries, actors shown by email or key name where known."""
    service = WorkspaceService(session)
    workspace_id = member.workspace.id
    actors: dict[str, str] = {user.id: user.email for user, _role in service.members(workspace_id)}
    keys = service.list_api_keys(workspace_id, limit=KEY_LISTING_LIMIT).items
    actors.update({key.id: f"key “{key.name}”" for key in keys})
    context = {
        "member": member,
        "entries": service.audit_log(workspace_id, AUDIT_LIMIT),
        "actors": actors,
        "limit": AUDIT_LIMIT,
    }
    return render(request, "settings_audit.html", context)
