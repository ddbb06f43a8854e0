"""Plug the dashboard into the app: the session cookie, ``/static`` and the pages at ``/``."""

from __future__ import annotations

import os
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from tessera.config import Settings
from tessera.dashboard.pages import (
    customers,
    invitations,
    login,
    messages,
    orders,
    overview,
    reviews,
    sources,
    stock,
)
from tessera.dashboard.pages import settings as settings_pages
from tessera.dashboard.session import SESSION_COOKIE, SESSION_MAX_AGE_SECONDS
from tessera.dashboard.web import STATIC_DIR

IMMUTABLE = "public, max-age=31536000, immutable"


class VersionedStaticFiles(StaticFiles):
    """Static files; those asked for with ``?v=<content hash>`` (see ``web.static_url``) never
    change at that URL, so browsers keep them a year instead of asking again on every page."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = "v" in parse_qs(scope.get("query_string", b"").decode("latin-1"))
        response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
        return response


def mount_dashboard(app: FastAPI) -> None:
    """Add the signed session cookie, the static files and the dashboard's routes to ``app``.

    The cookie is signed with ``settings.secret_key`` (which the settings refuse to leave at its
    default in production), HttpOnly, SameSite=Lax, and Secure in production.
    """
    settings: Settings = app.state.settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_SECONDS,
        same_site="lax",
        https_only=settings.environment == "production",
    )
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")
    for router in (
        login.pages,
        invitations.pages,
        stock.pages,
        overview.pages,
        sources.pages,
        settings_pages.pages,
        orders.pages,
        reviews.pages,
        customers.pages,  # after reviews: /customers/reviews is not a customer id
        messages.pages,
    ):
        app.include_router(router)
