"""The FastAPI application: the API under ``/v1``, the dashboard, health checks, OpenAPI docs."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session, configure_mappers, sessionmaker
from starlette.types import ASGIApp

import tessera
from tessera.config import Settings, get_settings
from tessera.db.engine import make_engine, make_session_factory
from tessera.db.migrate import is_up_to_date
from tessera.http.headers import CONTENT_SECURITY_POLICY, SecurityHeaders, trusting_proxies
from tessera.http.intake import BodyFamily, BodyLimit, InputGuard
from tessera.http.openapi import complete_openapi
from tessera.http.problems import install_problem_handlers
from tessera.kit.ids import new_id
from tessera.kit.logging import configure_logging, get_logger
from tessera.kit.process import PROCESS
from tessera.kit.time import Clock, utcnow

log = get_logger("tessera.http")

# Bodies read whole before authentication (the JSON API, the dashboard's forms): room for a
# quarantined 500 KB batch replayed through the dashboard's form, percent-encoded.
DEFAULT_BODY = BodyFamily("api", re.compile(".*"), 2 * 1024 * 1024)


class Tessera(FastAPI):
    """The app, wrapped (outside Starlette's own error middleware, so a 500 is covered too) in
    the security headers and, when proxies are configured, the reading of their
    X-Forwarded-For."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        stack = SecurityHeaders(
            super().build_middleware_stack(),
            strict_transport=settings.environment == "production",
        )
        return trusting_proxies(stack, settings.trusted_proxies)


def create_app(
    settings: Settings | None = None,
    session_factory: sessionmaker[Session] | None = None,
    engine: Engine | None = None,
    clock: Clock = utcnow,
) -> FastAPI:
    """Build the app. Tests pass their own session factory (and a clock they can hold still);
    production builds one from settings and reads the system clock."""
    settings = settings or get_settings()
    owned_engine: Engine | None = None
    if session_factory is None:
        engine = owned_engine = engine or make_engine(settings.database_url)
        session_factory = make_session_factory(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # At start-up rather than in the first request that builds a model (ADR 0011).
        configure_mappers()
        yield
        PROCESS.close()
        if owned_engine is not None:  # close pooled connections when the server stops
            owned_engine.dispose()

    app = Tessera(
        lifespan=lifespan,
        title="Tessera",
        version=tessera.__version__,
        summary="One customer, one inventory and one message stream across every sales channel.",
        docs_url=None,  # served below from the package's own copy of Swagger UI (no CDN)
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.engine = session_factory.kw.get("bind") or engine
    install_problem_handlers(app)
    families = _body_families()
    app.add_middleware(InputGuard, families=families, default=DEFAULT_BODY)
    app.add_middleware(BodyLimit, families=families, default=DEFAULT_BODY)
    app.middleware("http")(_request_context)
    # Browsers send events from brands' pages (analytics.js). Tokens travel in headers or the
    # body, never in cookies, so allowing any origin without credentials exposes nothing.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PATCH", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id"],
        expose_headers=["X-Request-Id", "Retry-After"],
        max_age=86400,
    )
    _mount_health(app)
    _mount_docs(app)
    _mount_routers(app)
    complete_openapi(app)
    return app


def _body_families() -> list[BodyFamily]:
    """The routes that read their own bodies, each with the most it may send (ADR 0019)."""
    from tessera.collect.api import TRACKING_PATHS
    from tessera.collect.http import compressed_limit
    from tessera.connector.api import UPLOAD_LIMIT, WEBHOOK_LIMIT
    from tessera.content.api import UPLOAD_BODY_LIMIT, UPLOAD_PATHS

    tracking = "|".join(re.escape(path) for path in TRACKING_PATHS)
    return [
        BodyFamily("tracking", re.compile(f"/v1/(?:{tracking})"), compressed_limit(True), True),
        BodyFamily(
            "webhooks", re.compile("/v1/connectors/shopify/[^/]+/webhooks"), WEBHOOK_LIMIT, True
        ),
        BodyFamily(
            "uploads",
            re.compile("/v1/connectors/(?:amazon/orders|tiktok/orders|square/orders|retail/.+)"),
            UPLOAD_LIMIT,
            True,
        ),
        BodyFamily("content", UPLOAD_PATHS, UPLOAD_BODY_LIMIT, True),
    ]


async def _request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give every request an id (or keep the caller's), log it, and return it in a header."""
    incoming = request.headers.get("x-request-id", "")
    request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else new_id("req")
    request.state.request_id = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    response.headers["X-Request-Id"] = request_id
    log.info(
        "request",
        request_id=request_id,
        method=request.method,
        path=request.url.path,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return response


def _mount_docs(app: FastAPI) -> None:
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Tessera API",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )
    # Swagger UI starts from one inline script: the policy allows that script by its hash.
    inline = re.findall(rb"<script>(.*?)</script>", page.body, re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in inline
    )
    policy = CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI, with its script and stylesheet served by this app, not a CDN."""
        return HTMLResponse(page.body, headers={"Content-Security-Policy": policy})


def _mount_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="The database answers and is migrated",
        responses={503: {"description": "Not ready: the database is unreachable or behind"}},
    )
    def readyz(request: Request) -> JSONResponse:
        factory: sessionmaker[Session] = request.app.state.session_factory
        try:
            with factory() as session:
                # Reading the migration table is the round trip that proves the database answers.
                migrated = is_up_to_date(session.connection())
        except Exception as exc:  # readiness reports, it does not raise
            return JSONResponse(
                {"status": "unavailable", "database": f"error: {type(exc).__name__}"}, 503
            )
        if not migrated:
            return JSONResponse(
                {"status": "unavailable", "database": "migrations pending: tessera db upgrade"},
                503,
            )
        return JSONResponse({"status": "ok", "database": "ok"})


def _mount_routers(app: FastAPI) -> None:
    from tessera.analytics.advice.api import api as advice_api
    from tessera.analytics.forecast.api import api as forecast_api
    from tessera.analytics.report.api import api as reports_api
    from tessera.catalog.api import api as catalog_api
    from tessera.collect.api import api as collect_api
    from tessera.collect.api import tracking
    from tessera.connector.api import api as connectors_api
    from tessera.connector.replay import register_replayers
    from tessera.content.api import api as content_api
    from tessera.creator.api import api as creators_api
    from tessera.customer.api import api as identity_api
    from tessera.dashboard.mount import mount_dashboard
    from tessera.feed.api import api as feeds_api
    from tessera.identity.graph.api import api as identity_merge_api
    from tessera.identity.match.api import api as identity_match_api
    from tessera.inventory.api import api as inventory_api
    from tessera.job.api import api as job_api
    from tessera.journey.api import api as journeys_api
    from tessera.loyalty.api import api as loyalty_api
    from tessera.message.api import api as messages_api
    from tessera.message.links import links as message_links
    from tessera.order.api import api as orders_api
    from tessera.pricing.api import api as pricing_api
    from tessera.rights.api import api as rights_api
    from tessera.segment.api import api as segments_api
    from tessera.workspace.api import api as workspace_api

    register_replayers()  # the quarantine's replay (API and dashboard) applies connector records
    app.include_router(workspace_api)
    app.include_router(job_api)
    app.include_router(tracking)
    app.include_router(collect_api)
    app.include_router(connectors_api)
    app.include_router(orders_api)
    app.include_router(catalog_api)
    app.include_router(inventory_api)
    app.include_router(identity_match_api)
    app.include_router(identity_api)
    app.include_router(identity_merge_api)
    app.include_router(feeds_api)
    app.include_router(pricing_api)
    app.include_router(journeys_api)
    app.include_router(reports_api)
    app.include_router(forecast_api)
    app.include_router(advice_api)
    app.include_router(messages_api)
    app.include_router(message_links)
    app.include_router(segments_api)
    app.include_router(loyalty_api)
    app.include_router(rights_api)
    app.include_router(creators_api)
    app.include_router(content_api)
    mount_dashboard(app)  # the session cookie, /static and the pages at /


def build_app() -> FastAPI:
    """Entry point for ``uvicorn --factory --no-proxy-headers tessera.app:build_app`` (the app
    reads X-Forwarded-For itself, from TESSERA_TRUSTED_PROXIES only; ``tessera serve`` passes
    the flag)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
