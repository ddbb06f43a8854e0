"""Joining a workspace and regaining access: the signed-in user's invitations, an invitation's
link and a password reset link.

The links carry their token in the query string (``?token=``), which the request log leaves
out; the forms send it back in the body. A link's page shows the same thing whether or not the
invited address has an account: sign in to accept, or, new to Tessera, choose a password.
Consent is the addressee's: a signed-in user accepts only invitations to their own email.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from tessera.dashboard.session import (
    SignedInUser,
    choose_workspace,
    end_session,
    flash,
    start_session,
)
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.kit.errors import InvalidInput
from tessera.models.workspace import User, Workspace
from tessera.workspace import domain
from tessera.workspace.membership.service import MembershipService
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
HOME = "/overview"


def _members(request: Request, session: DbSession) -> MembershipService:
    return MembershipService(session, request.app.state.clock)


def _signed_in(request: Request, session: DbSession) -> User | None:
    user_id = request.session.get("user_id")
    return WorkspaceService(session).get_user(user_id) if isinstance(user_id, str) else None


def _joined(
    request: Request, members: MembershipService, user: User, workspace: Workspace
) -> Response:
    choose_workspace(request, workspace.id)
    members.remember_workspace(user, workspace.id)
    flash(request, f"Welcome to {workspace.name}.")
    return RedirectResponse(HOME, status_code=303)


@pages.get("/invitations")
def my_invitations(request: Request, user: SignedInUser, session: DbSession) -> Response:
    """The invitations addressed to the signed-in user's email that are still open."""
    context: dict[str, Any] = {
        "user": user,
        "pending": _members(request, session).pending_for(user),
    }
    return render(request, "invitations.html", context)


@pages.post("/invitations/{invitation_id}/accept")
def accept_listed(
    request: Request, user: SignedInUser, session: DbSession, invitation_id: str
) -> Response:
    """Accept one of the user's own invitations; anyone else's id is not found."""
    members = _members(request, session)
    workspace = members.accept(user, invitation_id=invitation_id)
    return _joined(request, members, user, workspace)


@pages.get(domain.INVITATION_PATH)
def invitation_link(request: Request, session: DbSession, token: str = "") -> Response:
    """An invitation's link: what it invites to and how to accept (refused if not open)."""
    invitation, workspace = _members(request, session).open_invitation(token)
    context: dict[str, Any] = {
        "invitation": invitation,
        "workspace": workspace,
        "token": token,
        "user": _signed_in(request, session),
        "error": None,
        "name": "",
        "login_url": f"/login?next={domain.INVITATION_PATH}%3Ftoken%3D{token}",
    }
    return render(request, "invitation.html", context)


@pages.post(domain.INVITATION_PATH)
def accept_link(
    request: Request,
    user: SignedInUser,
    session: DbSession,
    token: Annotated[str, Form()] = "",
) -> Response:
    """Accept the link's invitation as the signed-in user, whose email must be the one invited."""
    members = _members(request, session)
    workspace = members.accept(user, token=token)
    return _joined(request, members, user, workspace)


@pages.post("/invitations/join")
def join_with_new_account(
    request: Request,
    session: DbSession,
    token: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Create the invited account with a name and password, accept, and sign it in.

    A short password re-shows the form; an address that already has an account is told to
    sign in instead (a link never sets an existing account's password).
    """
    members = _members(request, session)
    try:
        user, workspace = members.join_with_new_account(token, name, password)
    except InvalidInput as problem:
        invitation, workspace = members.open_invitation(token)
        context: dict[str, Any] = {
            "invitation": invitation,
            "workspace": workspace,
            "token": token,
            "user": None,
            "error": problem,
            "name": name,
            "login_url": f"/login?next={domain.INVITATION_PATH}%3Ftoken%3D{token}",
        }
        return render(request, "invitation.html", context, status=problem.status)
    start_session(request, user.id)
    return _joined(request, members, user, workspace)


@pages.get(domain.RESET_PATH)
def reset_link(request: Request, session: DbSession, token: str = "") -> Response:
    """A password reset link: a form for the new password (refused if not open)."""
    _reset, user = _members(request, session).open_reset(token)
    context = {"email": user.email, "token": token, "error": None}
    return render(request, "password_reset.html", context)


@pages.post(domain.RESET_PATH)
def reset_password(
    request: Request,
    session: DbSession,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Set the new password, close the link, and send the person to sign in with it."""
    members = _members(request, session)
    try:
        user = members.reset_password(token, password)
    except InvalidInput as problem:
        _reset, user = members.open_reset(token)
        context = {"email": user.email, "token": token, "error": problem}
        return render(request, "password_reset.html", context, status=problem.status)
    end_session(request)
    flash(request, f"Your password is changed. Sign in as {user.email} with it.")
    return RedirectResponse("/login", status_code=303)
