"""RFC 9457 problem details for every error the API returns, 4xx and 5xx alike."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tessera.db.errors import DATABASE_ERRORS, transient_reason
from tessera.kit.errors import PROBLEM_BASE, Problem
from tessera.kit.logging import get_logger

PROBLEM_JSON = "application/problem+json"
log = get_logger(__name__)

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_response(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body.setdefault("request_id", request_id)
    body.setdefault("instance", request.url.path)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="tessera"')
    return problem_response(request, exc.status, exc.to_dict(), headers or None)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        errors.append({"field": ".".join(location), "message": error.get("msg", "")})
    is_json_syntax = any(e.get("type") == "json_invalid" for e in exc.errors())
    slug, title, status = (
        ("malformed-json", "The body is not valid JSON", 400)
        if is_json_syntax
        else ("invalid-input", "The input is not valid", 422)
    )
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or title
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body["errors"] = errors
    return problem_response(request, status, body)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": exc.status_code,
        "detail": str(exc.detail),
    }
    return problem_response(request, exc.status_code, body, dict(exc.headers or {}) or None)


async def _on_database(request: Request, exc: Exception) -> JSONResponse:
    """A deadlock or a lock wait the database gave up on: 503 and try again (nothing of the
    request was kept; ADR 0001 rolled it back). Any other database error goes on, as every
    unexpected error does, to the server's 500 handler (``_on_unexpected``)."""
    reason = transient_reason(exc)
    if reason is None:
        raise exc
    log.warning("database_busy", path=request.url.path, reason=reason)
    body = {
        "type": PROBLEM_BASE + "database-busy",
        "title": "Busy, try again",
        "status": 503,
        "detail": f"The database stopped this request because of {reason} with another one; "
        "nothing was changed. Send it again.",
    }
    return problem_response(request, 503, body, {"Retry-After": "1"})


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", path=request.url.path)
    body = {
        "type": PROBLEM_BASE + "internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "Something went wrong on our side; the request id helps us find it.",
    }
    return problem_response(request, 500, body)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
