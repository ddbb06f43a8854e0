"""Plug the dashboard into the app: the session cookie, ``/static`` and the pages at ``/``."""

from __future__ import annotations

import os
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from tessera.config import Settings
from tessera.dashboard.pages import (
    content,
    creators,
    customers,
    invitations,
    journeys,
    locations,
    login,
    loyalty,
    measure,
    measure_plan,
    messages,
    orders,
    overview,
    products,
    reviews,
    segments,
    skus,
    sources,
    stock,
    workspace_settings,
)
from tessera.dashboard.pages import settings as settings_pages
from tessera.dashboard.session import SESSION_COOKIE, SESSION_MAX_AGE_SECONDS
from tessera.dashboard.web import STATIC_DIR, problem_page
from tessera.http.problems import on_http_error
from tessera.kit.errors import NotFound

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
        products.pages,
        skus.pages,
        locations.pages,
        overview.pages,
        sources.pages,
        settings_pages.pages,
        workspace_settings.pages,
        orders.pages,
        reviews.pages,
        customers.pages,  # after reviews: /customers/reviews is not a customer id
        journeys.pages,
        messages.pages,
        segments.pages,
        loyalty.pages,
        creators.pages,
        content.pages,
        measure.pages,
        measure_plan.pages,
    ):
        app.include_router(router)
    _answer_lost_pages_with_a_page(app)


API_PREFIXES = ("/v1/", "/static/", "/readyz", "/healthz", "/livez", "/openapi", "/docs")


def _answer_lost_pages_with_a_page(app: FastAPI) -> None:
    """A person who follows a stale link to a page that does not exist gets the dashboard's
    styled "not found" page; the API (and anything that does not ask for HTML) keeps its
    problem+json answer."""

    async def not_found(request: Request, exc: Exception) -> Response:
        accepts_html = "text/html" in request.headers.get("accept", "")
        if accepts_html and not request.url.path.startswith(API_PREFIXES):
            return problem_page(
                request, NotFound("There is no page at this address. It may have moved.")
            )
        return await on_http_error(request, exc)

    app.add_exception_handler(404, not_found)
