"""``/``, ``/login``, ``/logout`` and the workspace switcher.

``POST /login`` is throttled per account and per client address (ADR 0016): the attempt is
counted in a short transaction of its own, committed before the password is checked, so the
rollback of a refused login (ADR 0001) cannot erase it. The client address is what the server
was told: behind a reverse proxy, uvicorn must trust the proxy's ``X-Forwarded-For``
(``FORWARDED_ALLOW_IPS``), or every visitor shares the proxy's address and its limit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.dashboard.errors import NotAMember
from tessera.dashboard.session import (
    SignedIn,
    choose_workspace,
    end_session,
    flash,
    start_session,
)
from tessera.dashboard.web import DashboardRoute, render
from tessera.db.engine import session_scope
from tessera.http.routing import DbSession
from tessera.kit.logging import get_logger
from tessera.models.workspace import User
from tessera.workspace.errors import InvalidLogin
from tessera.workspace.membership.service import MembershipService
from tessera.workspace.service import WorkspaceService
from tessera.workspace.throttle.domain import ThrottlePolicy, TooManyLoginAttempts
from tessera.workspace.throttle.service import Admission, LoginThrottle

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
log = get_logger("tessera.dashboard")
HOME = "/overview"


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (never another host), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if target.startswith("/login"):
        return None
    return target


@pages.get("/")
def home(request: Request) -> Response:
    signed_in = isinstance(request.session.get("user_id"), str)
    return RedirectResponse(HOME if signed_in else "/login", status_code=303)


@pages.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if isinstance(request.session.get("user_id"), str):
        return RedirectResponse(safe_next(next) or HOME, status_code=303)
    return render(request, "login.html", {"email": "", "error": None, "next": safe_next(next)})


@pages.post("/login")
def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Sign in with email and password; a wrong pair re-shows the form with one vague error.

    Refused with 429 and ``Retry-After``, without checking the password, while the account
    or the client address is blocked after too many attempts (ADR 0016).
    """
    try:
        admission = _admit(request, email)
    except TooManyLoginAttempts as refusal:
        log.warning("dashboard_login_throttled", scope=refusal.scope, wait=refusal.retry_after)
        context = {"email": email, "error": refusal.detail, "next": safe_next(next)}
        return render(
            request, "login.html", context, status=refusal.status, headers=refusal.headers
        )
    throttle = LoginThrottle(session, _policy(request))
    try:
        user = WorkspaceService(session).authenticate_password(email, password)
    except InvalidLogin:
        log.info("dashboard_login_failed")
        # The audit entry of a blocked account is the record of this refusal: keep it.
        if throttle.failed(admission):
            request.state.commit_on_error = True
        context = {"email": email, "error": "Email or password is wrong.", "next": safe_next(next)}
        return render(request, "login.html", context, status=401)
    throttle.succeeded(admission)
    start_session(request, user.id)
    _land(request, session, user)
    log.info("dashboard_login", user_id=user.id)
    return RedirectResponse(safe_next(next) or HOME, status_code=303)


def _land(request: Request, session: Session, user: User) -> None:
    """Show the workspace the user used last (or their first), and remember it as last used."""
    members = MembershipService(session)
    workspace = members.landing_workspace(user)
    if workspace is not None:
        choose_workspace(request, workspace.id)
        members.remember_workspace(user, workspace.id)


def _admit(request: Request, email: str) -> Admission:
    """Count this attempt in its own transaction, committed now (before the request's)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    address = request.client.host if request.client else None
    with session_scope(factory) as own:
        return LoginThrottle(own, _policy(request)).admit(email, address, request.app.state.clock())


def _policy(request: Request) -> ThrottlePolicy:
    """The limits of the server's settings (TESSERA_LOGIN_*)."""
    settings: Settings = request.app.state.settings
    return ThrottlePolicy(
        account_limit=settings.login_account_limit,
        address_limit=settings.login_address_limit,
        window=timedelta(seconds=settings.login_window_seconds),
        lockout=timedelta(seconds=settings.login_lockout_seconds),
    )


@pages.post("/logout")
def logout(request: Request) -> Response:
    end_session(request)
    flash(request, "You are signed out.")
    return RedirectResponse("/login", status_code=303)


@pages.post("/workspace")
def switch_workspace(
    request: Request,
    member: SignedIn,
    session: DbSession,
    workspace_id: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Show another workspace, where the next sign-in lands too; refused (and nothing stored)
    unless the user is a member."""
    if WorkspaceService(session).role_of(workspace_id, member.user.id) is None:
        raise NotAMember("You can only switch to a workspace you are a member of.")
    choose_workspace(request, workspace_id)
    MembershipService(session).remember_workspace(member.user, workspace_id)
    return RedirectResponse(safe_next(next) or HOME, status_code=303)
