"""The OpenAPI document, completed with the answers every operation can give when it refuses.

FastAPI documents an operation's success and a 422 shaped as its own validation error, in
``application/json``; Tessera answers every refusal as ``application/problem+json`` (RFC 9457)
from a handful of places that routes do not declare: the input guard and the body limit
(``http.intake``), authentication, the problem handlers. ``complete_openapi`` adds those
answers to each operation from what the operation is: one that takes a key can be refused
401 and 403; one that names a thing in its path, or reads data by key, 404; one that changes
state, 409; one that takes a body, 400 (not JSON) and 413 (too large); every operation 422,
since any request can carry text no database stores; the tracking routes 429 when a process
has too many in flight; and every database read 503 when the database gave up on a lock.
Cursor parameters get the length ``kit.pagination.decode_cursor`` enforces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tessera.http.problems import PROBLEM_JSON
from tessera.kit.pagination import CURSOR_MAX_LENGTH

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: what went wrong, for a person and for a program.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "A stable URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What to fix, naming the field"},
        "instance": {"type": "string", "description": "The path that was asked for"},
        "request_id": {"type": "string"},
        "field": {"type": "string", "description": "The input at fault, when there is one"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
TITLES = {
    "400": "The body is not valid JSON, or not what the route reads",
    "401": "The key is missing, unknown or revoked",
    "403": "The key's role does not allow this",
    "404": "No such thing in this workspace",
    "409": "The change conflicts with the thing's current state",
    "413": "The body is over the route's size limit",
    "422": "The input is not valid; the problem names the field",
    "429": "Too many requests in flight; retry after Retry-After seconds",
    "503": "The database gave up on a lock; nothing changed, send it again",
}
_TRACKING_TAG = "tracking (Segment-compatible)"
_WRITES = {"post", "put", "patch", "delete"}


def problem_statuses(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    """The problem answers an operation can give, from what it is."""
    statuses = {"422"}
    is_tracking = _TRACKING_TAG in operation.get("tags", ())
    is_v1 = path.startswith("/v1/")
    takes_key = bool(operation.get("security")) or is_tracking
    if method in _WRITES:
        statuses |= {"400", "413"}
    if takes_key:
        statuses.add("401")
    if operation.get("security"):
        statuses |= {"403", "404"}
        if method in _WRITES:
            statuses.add("409")
    if "{" in path:
        statuses.add("404")
    if is_tracking:
        statuses.add("429")
    if is_v1:
        statuses.add("503")
    return statuses


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the problem schema, each operation's problem answers and cursor bounds."""
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(problem_statuses(path, method, operation)):
                responses[status] = {
                    "description": TITLES[status],
                    "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
                }
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "cursor" and parameter.get("in") == "query":
                    parameter["schema"] = {
                        "type": "string",
                        "maxLength": CURSOR_MAX_LENGTH,
                        "title": "Cursor",
                    }
                    parameter["description"] = (
                        "The `next_cursor` of the previous page; absent for the first page"
                    )
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return spec


def complete_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once, then kept)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
