"""Where a request enters: its body limited while it is read, and text no database can keep
refused, before anything authenticates, parses or queries.

``BodyLimit`` counts a body's bytes as they stream in and answers 413 at its route family's
limit (ADR 0019); a declared ``Content-Length`` over the limit is answered at once, unread.
``InputGuard`` refuses a NUL character or a lone surrogate in the path, the query, a header
(and the credentials an ``Authorization: Basic`` header carries), a JSON body at any depth, or
a form field, as 422 problem+json naming the field (``query.sku``, ``body.lines.0.sku``): such
text cannot be stored in PostgreSQL and once reached a query as a 500. JSON numbers that are
not finite (``NaN``, ``Infinity``, which Python's parser accepts) are refused with them.

Bodies of families that read themselves (``reads_itself``: Segment tracking, connector uploads
and webhooks) stream through untouched; their readers keep what they refuse and their parsers
refuse such text record by record. Every other body is read whole here, within its limit, so
the limit holds before authentication for the JSON API and the dashboard's forms alike.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tessera.http.problems import problem_response
from tessera.kit.bounds import printable, storable_text_problem, unstorable_in
from tessera.kit.errors import PROBLEM_BASE
from tessera.kit.logging import get_logger

log = get_logger(__name__)

# What makes a JSON body worth walking: an escaped NUL or surrogate, or a non-finite number.
_SUSPECT_JSON = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF][0-9a-fA-F]{2})|NaN|Infinity")


@dataclass(frozen=True, slots=True)
class BodyFamily:
    """Routes whose bodies share a limit: ``pattern`` matches their paths."""

    name: str
    pattern: re.Pattern[str]
    limit: int
    reads_itself: bool = False


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body passes its limit. An HTTPException, so the app's
    own body readers (FastAPI's among them) pass it on to the problem handlers as a 413."""

    def __init__(self, family: BodyFamily) -> None:
        super().__init__(413, f"the body is over the limit of {_size(family.limit)}")
        self.family = family


def family_of(families: Sequence[BodyFamily], default: BodyFamily, path: str) -> BodyFamily:
    return next((f for f in families if f.pattern.fullmatch(path)), default)


class BodyLimit:
    """Refuses a body over its family's limit while reading it (ADR 0019)."""

    def __init__(self, app: ASGIApp, families: Sequence[BodyFamily], default: BodyFamily) -> None:
        self.app = app
        self.families = tuple(families)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        family = family_of(self.families, self.default, scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > family.limit:
            await _too_large(scope, receive, send, family)
            return
        read = 0

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > family.limit:
                    raise BodyTooLarge(family)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(scope, receive, send, family)


async def _too_large(scope: Scope, receive: Receive, send: Send, family: BodyFamily) -> None:
    log.info("body_too_large", path=scope["path"], family=family.name, limit=family.limit)
    what = _size(family.limit)
    body = {
        "type": PROBLEM_BASE + "payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"the body is over the limit of {what} for this route",
        "limit": what,
    }
    # The rest of the body is not read; the connection closes after the answer.
    response = problem_response(Request(scope), 413, body, {"Connection": "close"})
    await response(scope, receive, send)


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    return f"{limit // 1024} KB"


class InputGuard:
    """Refuses text no database can store, and non-finite JSON numbers, where they enter."""

    def __init__(self, app: ASGIApp, families: Sequence[BodyFamily], default: BodyFamily) -> None:
        self.app = app
        self.families = tuple(families)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _in_path(scope) or _in_query(scope) or _in_headers(scope)
        family = family_of(self.families, self.default, scope["path"])
        if found is None and not family.reads_itself:
            body = await _read_all(receive)
            found = await _in_body(Headers(scope=scope), body)
            receive = _replay(body, receive)
        if found is None:
            await self.app(scope, receive, send)
            return
        field, problem = found
        detail = f"{field}: {problem}"
        log.info("unstorable_input", path=printable(scope["path"]), field=field)
        refusal = {
            "type": PROBLEM_BASE + "invalid-input",
            "title": "The input is not valid",
            "status": 422,
            "detail": detail,
            "errors": [{"field": field, "message": problem}],
        }
        request = Request({**scope, "path": printable(scope["path"])})
        await problem_response(request, 422, refusal)(scope, receive, send)


Found = tuple[str, str] | None


def _in_path(scope: Scope) -> Found:
    problem = storable_text_problem(scope["path"])
    if problem is None:
        return None
    return f"path.{_path_parameter(scope)}", problem


def _path_parameter(scope: Scope) -> str:
    """The name of the path parameter holding the bad text, found among the OpenAPI's path
    templates (rare, so matched here rather than kept ready)."""
    app: Any = scope.get("app")
    schema = app.openapi() if hasattr(app, "openapi") else {}
    for template in schema.get("paths", {}):
        match = _template_pattern(template).fullmatch(scope["path"])
        if match is None:
            continue
        for name, value in match.groupdict().items():
            if storable_text_problem(value) is not None:
                return name
    return "url"


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(
        f"(?P<{part}>[^/]*)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(pattern, re.DOTALL)


def _in_query(scope: Scope) -> Found:
    raw: bytes = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        for text in (name, value):
            problem = storable_text_problem(text)
            if problem is not None:
                return f"query.{printable(name)}", problem
    return None


def _in_headers(scope: Scope) -> Found:
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if b"\x00" in raw_value:
            return f"header.{printable(name)}", "must not contain the NUL character"
        if name == "authorization" and raw_value[:6].lower() == b"basic ":
            try:
                credentials = base64.b64decode(raw_value[6:].strip(), validate=True)
            except (binascii.Error, ValueError):
                continue
            if b"\x00" in credentials:
                return f"header.{name}", "must not carry credentials with the NUL character"
    return None


async def _read_all(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then waits as the server's."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _in_body(headers: Headers, body: bytes) -> Found:
    if not body:
        return None
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return _in_form(body)
    if media == "multipart/form-data":
        return await _in_multipart(headers, body)
    if media == "application/json" or media.endswith("+json"):
        return _in_json(body)
    return None


def _in_json(body: bytes) -> Found:
    if not _SUSPECT_JSON.search(body):
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the route's own parser says so, as 400
    for field, problem in unstorable_in(document):
        return printable("body." + field if field else "body"), problem
    return None


def _in_form(body: bytes) -> Found:
    if b"%00" not in body and b"\x00" not in body:
        return None
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        for text in (name, value):
            problem = storable_text_problem(text)
            if problem is not None:
                return f"form.{printable(name)}", problem
    return None


async def _in_multipart(headers: Headers, body: bytes) -> Found:
    if b"\x00" not in body:
        return None

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(headers, stream()).parse()
    except Exception:  # a broken form: the route's own parser refuses it
        return None
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                continue  # files are read by the parsers that know their format
            for text in (name, value):
                problem = storable_text_problem(text)
                if problem is not None:
                    return f"form.{printable(name)}", problem
    finally:
        await form.close()
    return None
