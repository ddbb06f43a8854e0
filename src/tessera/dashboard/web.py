"""Rendering, and the route class every dashboard page runs under.

``DashboardRoute`` extends the API's ``UnitOfWorkRoute`` (one transaction per request, committed
before the response, rolled back on any status of 400 or more) with what a browser needs:

- the CSRF check on every unsafe method, before the endpoint (and its transaction) starts;
- errors as pages, not JSON: a ``Problem`` becomes an HTML page with its status, or for an HTMX
  request an alert swapped into the page; ``LoginRequired`` becomes a redirect to ``/login``;
- security headers on every dashboard response: a Content-Security-Policy that allows only the
  app's own scripts, no framing, and ``Cache-Control: no-store`` (pages show workspace data and,
  once, new API tokens; neither belongs in a shared cache or the back-forward cache).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

import tessera
from tessera.dashboard.errors import LoginRequired, NoWorkspace
from tessera.dashboard.session import SAFE_METHODS, check_csrf, csrf_token, take_flashes
from tessera.http.headers import CONTENT_SECURITY_POLICY
from tessera.http.routing import UnitOfWorkRoute
from tessera.kit.errors import InvalidInput, Problem
from tessera.kit.logging import get_logger
from tessera.kit.money import Money
from tessera.kit.time import ensure_utc

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

log = get_logger("tessera.dashboard")


@cache
def static_url(name: str) -> str:
    """``/static/<name>`` with a content hash, so a new release is never served from cache."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


@jinja2.pass_context
def when(context: jinja2.runtime.Context, value: datetime | None, empty: str = "—") -> Markup:
    """A time as ``2025-01-31 14:05`` in the workspace's zone (UTC in the tooltip and in the
    machine-readable ``<time>`` element). The date is a span of its own, so a narrow table may
    put the time of day under it but never break the date at its hyphens."""
    if value is None:
        return Markup('<span class="muted">{}</span>').format(empty)
    utc = ensure_utc(value)
    local = utc.astimezone(zone_of(context.get("member")))
    return Markup('<time datetime="{}" title="{} UTC"><span>{}</span> {}</time>').format(
        utc.isoformat(timespec="seconds"),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        local.strftime("%Y-%m-%d"),
        local.strftime("%H:%M"),
    )


def zone_of(member: Any) -> ZoneInfo:
    """The zone a signed-in member's workspace shows times in; UTC without one."""
    try:
        return _zone(zone_name(member))
    except (ZoneInfoNotFoundError, ValueError):  # a zone a newer tzdata dropped
        return _zone("UTC")


def zone_name(member: Any) -> str:
    """The name of that zone, as page headers show it."""
    return getattr(getattr(member, "workspace", None), "time_zone", None) or "UTC"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def money(amount: int, currency: str) -> str:
    """Minor units as a person reads them: ``38.00 USD``."""
    return str(Money(amount, currency))


def query_string(**values: Any) -> str:
    """Filters (and a cursor) as a query string, leaving out the empty ones, so a filtered
    list or page is a link a colleague can open."""
    return urlencode({k: str(v) for k, v in values.items() if v not in (None, "")})


def link(path: str, anchor: str = "", **values: Any) -> str:
    """``path?query#anchor`` with the empty values left out: a page's own links (its pages,
    its filters) that keep the rest of what was chosen."""
    query = query_string(**values)
    return path + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


def field_value(value: Any) -> str:
    """A stored value as a person reads it: text as is, numbers plainly, yes/no for booleans,
    a list of plain values joined by commas, anything nested as compact JSON (never a Python
    repr with its quotes and ``None``)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    env.globals["version"] = tessera.__version__
    env.filters["when"] = when
    env.filters["field_value"] = field_value
    env.globals["money"] = money
    return env


templates = _environment()


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template`` with the request, the CSRF token and the page's own ``context``."""
    member = (context or {}).get("member")
    values: dict[str, Any] = {
        "zone": zone_name(member),
        "request": request,
        "path": request.url.path,
        "csrf_token": csrf_token(request),
        "take_flashes": lambda: take_flashes(request),
    }
    values.update(context or {})
    html = templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers=dict(headers or {}))


def login_redirect(request: Request) -> Response:
    """Send an anonymous visitor to the login page, coming back here afterwards."""
    if is_htmx(request):  # a fragment's URL is no page to come back to
        return Response(status_code=200, headers={"HX-Redirect": "/login"})
    target = "/login"
    if request.method == "GET" and request.url.path not in ("/", "/login"):
        target += "?next=" + quote(request.url.path, safe="/")
    return RedirectResponse(target, status_code=303)


def problem_page(request: Request, problem: Problem) -> HTMLResponse:
    """A refusal as a readable page, or for HTMX an alert in the page's alert area."""
    context = {"problem": problem}
    if is_htmx(request):
        return render(
            request,
            "_alert.html",
            context,
            status=problem.status,
            headers={"HX-Retarget": "#alerts", "HX-Reswap": "innerHTML"},
        )
    template = "no_workspace.html" if isinstance(problem, NoWorkspace) else "error.html"
    return render(request, template, context, status=problem.status)


class _InternalError(Problem):
    status = 500
    slug = "internal-error"
    title = "Something went wrong"


class DashboardRoute(UnitOfWorkRoute):
    """A dashboard page: CSRF-checked, transactional, answering errors in HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            response: Response
            try:
                if request.method not in SAFE_METHODS:
                    await check_csrf(request)
                response = await inner(request)
            except LoginRequired:
                response = login_redirect(request)
            except Problem as problem:
                log.info("dashboard_refused", path=request.url.path, problem=problem.slug)
                response = problem_page(request, problem)
            except RequestValidationError as exc:
                fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
                response = problem_page(request, InvalidInput(f"Check these fields: {fields}."))
            except Exception:
                log.exception("dashboard_error", path=request.url.path)
                response = problem_page(
                    request,
                    _InternalError(
                        "Something went wrong on our side. Try again; if it keeps happening, "
                        "the request id in the server log helps us find it."
                    ),
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return handler
