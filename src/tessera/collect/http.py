"""Reading a tracking request the way Segment's SDKs send it: raw bytes, gzip, text/plain,
the write key in the body, as HTTP Basic user or as Bearer; limits enforced while reading."""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request

from tessera.collect.domain import MAX_BATCH_BYTES, MAX_EVENT_BYTES
from tessera.collect.errors import MalformedPayload, Overloaded, PayloadTooLarge
from tessera.kit.errors import Problem
from tessera.workspace.auth import token_from_request


class InflightLimiter:
    """Counts the collection requests one process is handling; past the limit, 429."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inflight = 0

    def acquire(self, limit: int) -> None:
        with self._lock:
            if self._inflight >= limit:
                raise Overloaded(
                    "too many collection requests in flight; retry shortly",
                    headers={"Retry-After": "1"},
                )
            self._inflight += 1

    def release(self) -> None:
        with self._lock:
            self._inflight -= 1


MAX_DEPTH = 254  # levels of nesting a body may have (orjson writes no deeper)


@dataclass(slots=True)
class RawRequest:
    """A tracking request's body and token. ``refusal`` is set when the body could not be
    read (over a limit, broken gzip); ``body`` then holds what is worth keeping of it."""

    body: bytes
    token: str | None
    refusal: Problem | None = None


def body_limit(is_batch: bool) -> int:
    return MAX_BATCH_BYTES if is_batch else MAX_EVENT_BYTES


def compressed_limit(is_batch: bool) -> int:
    """The most a gzip body is read before it is refused unread (it inflates to at most
    ``body_limit``); a body sent uncompressed stops at ``body_limit`` itself."""
    return body_limit(is_batch) * 4 + 1


async def read_body(request: Request, is_batch: bool) -> RawRequest:
    """The (decompressed) body, refusing more than the limit without reading it all."""
    token = token_from_request(request)
    limit = body_limit(is_batch)
    what = f"{limit // 1024} KB per {'batch' if is_batch else 'event'}"
    too_large = PayloadTooLarge(f"the body is over the limit of {what}", limit=what)
    chunks: list[bytes] = []
    size = 0
    is_gzip = request.headers.get("content-encoding", "").lower() == "gzip"
    hard_cap = compressed_limit(is_batch) if is_gzip else limit
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
        if size > hard_cap:
            return RawRequest(b"", token, too_large)
    body = b"".join(chunks)
    if is_gzip:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            inflated = inflater.decompress(body, limit + 1)
        except zlib.error:
            return RawRequest(
                body, token, MalformedPayload("the body is not valid gzip", field="body")
            )
        if len(inflated) > limit or inflater.unconsumed_tail:
            return RawRequest(b"", token, too_large)
        body = inflated
    elif len(body) > limit:
        return RawRequest(b"", token, too_large)
    return RawRequest(body, token)


def parse_json(body: bytes) -> Any:
    """The body as JSON; refuses an empty body, invalid JSON and absurd nesting.

    Deeper than MAX_DEPTH levels nothing downstream can write it back out (orjson stops at
    254, ``json`` at the recursion limit), so such a body is refused whole and kept as sent.
    Fewer brackets than that cannot nest that deep, which spares the check for most bodies.
    """
    if not body.strip():
        raise MalformedPayload("the body is empty", field="body")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedPayload(f"the body is not valid JSON: {exc}", field="body") from None
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
        try:
            orjson.dumps(document)
        except orjson.JSONEncodeError:
            raise MalformedPayload(
                f"the body nests deeper than {MAX_DEPTH} levels", field="body"
            ) from None
    return document


def write_key_in_body(document: Any) -> str | None:
    if isinstance(document, dict):
        key = document.get("writeKey") or document.get("write_key")
        return key if isinstance(key, str) else None
    return None
