"""Who is signed in to the dashboard, in which workspace, and the CSRF token of their session.

The session is Starlette's signed cookie (``SessionMiddleware``, keyed by ``settings.secret_key``):
it holds the user id, the current workspace id, a CSRF token and one-shot flash messages, never
a password or an API token. The cookie is signed, not encrypted, so it holds nothing secret.

Every request re-reads the user and their memberships (two queries), so a removed member loses
access at their next click even though the cookie is still valid. What a cookie session cannot
do: signing out everywhere at once, or ending a stolen cookie before it expires (that needs a
server-side session table; it is not built yet). Failed logins are throttled per account and
per address in ``auth.py`` (ADR 0016).

CSRF: each session gets a random token. Every unsafe request must send it back, either as the
``csrf_token`` form field or the ``X-CSRF-Token`` header (which HTMX adds from ``hx-headers`` on
``<body>``); the dashboard's route class checks it before the endpoint runs.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from tessera.dashboard.errors import CsrfRefused, LoginRequired, NoWorkspace
from tessera.http.routing import DbSession
from tessera.models.workspace import Role, User, Workspace
from tessera.workspace.domain import role_allows
from tessera.workspace.errors import RoleTooLow
from tessera.workspace.service import WorkspaceService

SESSION_COOKIE = "tessera_session"
SESSION_MAX_AGE_SECONDS = 7 * 24 * 60 * 60
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_USER = "user_id"
_WORKSPACE = "workspace_id"
_CSRF = "csrf"
_FLASH = "flash"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token is missing or not this session's."""
    expected = request.session.get(_CSRF)
    sent: object = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(_FORM_TYPES):
        sent = (await request.form()).get(CSRF_FIELD)
    if not (
        isinstance(expected, str)
        and isinstance(sent, str)
        and expected
        and hmac.compare_digest(expected.encode(), sent.encode())
    ):
        raise CsrfRefused(
            "The page was open too long, or the form came from another site. "
            "Reload the page and try again."
        )


def start_session(request: Request, user_id: str) -> None:
    """Begin a signed-in session: a fresh session dict and a fresh CSRF token."""
    request.session.clear()
    request.session[_USER] = user_id
    csrf_token(request)


def end_session(request: Request) -> None:
    request.session.clear()


def choose_workspace(request: Request, workspace_id: str) -> None:
    """Remember the workspace to show; the caller has checked the membership."""
    request.session[_WORKSPACE] = workspace_id


def flash(request: Request, message: str, level: str = "success") -> None:
    """A message shown once, on the next full page."""
    messages = list(request.session.get(_FLASH, []))
    messages.append({"message": message, "level": level})
    request.session[_FLASH] = messages


def take_flashes(request: Request) -> list[dict[str, Any]]:
    messages = request.session.pop(_FLASH, [])
    return list(messages) if isinstance(messages, list) else []


@dataclass(frozen=True)
class Member:
    """The signed-in user, the workspace they are looking at and their role there."""

    user: User
    workspace: Workspace
    role: Role
    workspaces: Sequence[tuple[Workspace, Role]]

    def can(self, needed: Role) -> bool:
        return role_allows(self.role, needed)

    def require(self, needed: Role) -> None:
        """Refuse unless the role allows ``needed``: the server's check, not the page's."""
        if not self.can(needed):
            raise RoleTooLow(
                f"This needs the {needed.value} role or higher; you are {self.role.value} "
                f"in {self.workspace.name}."
            )


def signed_in_user(request: Request, session: DbSession) -> User:
    """The signed-in user, member of a workspace or not (pages about joining one need this)."""
    user_id = request.session.get(_USER)
    if not isinstance(user_id, str):
        raise LoginRequired("Sign in to see this page.")
    user = WorkspaceService(session).get_user(user_id)
    if user is None:
        end_session(request)
        raise LoginRequired("Sign in to see this page.")
    return user


def signed_in_member(request: Request, session: DbSession) -> Member:
    """The dependency behind every dashboard page: refuses anonymous visitors.

    The workspace is the one stored in the session when the user is still a member of it,
    otherwise the one they used last, otherwise their first workspace by name.
    """
    user = signed_in_user(request, session)
    service = WorkspaceService(session)
    workspaces = service.workspaces_of(user.id)
    if not workspaces:
        raise NoWorkspace(
            f"{user.email} is signed in but belongs to no workspace. Ask an owner or admin of "
            "your brand's workspace to invite you, then accept the invitation here."
        )
    wanted = request.session.get(_WORKSPACE) or user.last_workspace_id
    workspace, role = next(((w, r) for w, r in workspaces if w.id == wanted), workspaces[0])
    if workspace.id != request.session.get(_WORKSPACE):
        choose_workspace(request, workspace.id)
    return Member(user=user, workspace=workspace, role=role, workspaces=workspaces)


SignedIn = Annotated[Member, Depends(signed_in_member)]
SignedInUser = Annotated[User, Depends(signed_in_user)]
