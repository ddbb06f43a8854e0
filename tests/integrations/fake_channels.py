"""A local HTTP server that speaks the stock APIs of Shopify (GraphQL inventorySetQuantities),
Amazon (Listings Items patch) and TikTok Shop (inventory update), holding quantities in memory.

It checks what the real APIs check that matters here: credentials, the request shape, Shopify's
compare-and-set and idempotency key, TikTok's signature. Tests script failures (429 with
Retry-After, 5xx, refusals) with ``fail_next``. Every request is logged with its arrival time,
which the feed-lag bench reads.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tessera.integrations.tiktok.stock import sign
from tests.support.live import StatefulServer, serve_locally

SHOPIFY_TOKEN = "shpat_test_token"
AMAZON_TOKEN = "Atza|test-token"
TIKTOK_TOKEN = "tts-test-token"
TIKTOK_APP_KEY = "app-key-1"
TIKTOK_SECRET = "tiktok-app-secret"

_AMAZON_PATH = re.compile(r"^/listings/2021-08-01/items/([^/]+)/([^/]+)$")
_TIKTOK_PATH = re.compile(r"^/product/202309/products/([^/]+)/inventory/update$")


@dataclass
class Arrival:
    vendor: str
    at: float  # time.time() when the request arrived
    body: Any
    status: int
    path: str = ""


@dataclass
class Scripted:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class ChannelState:
    shopify: dict[tuple[str, str], int] = field(default_factory=dict)
    amazon: dict[str, int] = field(default_factory=dict)
    tiktok: dict[tuple[str, str, str], int] = field(default_factory=dict)
    idempotency: dict[str, Any] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    scripted: dict[str, deque[Scripted]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def reset(self) -> ChannelState:
        """Forget every quantity, request and scripted answer (a fresh channel per test)."""
        with self.lock:
            self.shopify.clear()
            self.amazon.clear()
            self.tiktok.clear()
            self.arrivals.clear()
            self.scripted.clear()
            self.idempotency.clear()
        return self

    def fail_next(
        self, vendor: str, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """The next request to ``vendor`` (shopify, amazon, tiktok) gets this answer instead."""
        with self.lock:
            self.scripted.setdefault(vendor, deque()).append(
                Scripted(status, body if body is not None else {}, headers or {})
            )

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        """Block until ``count`` requests in all have arrived; returns them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.arrivals) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.arrived.wait(left)
            return list(self.arrivals)

    def of(self, vendor: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.vendor == vendor]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length)

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        arrived = time.time()
        raw = self._read()
        parts = urlsplit(self.path)
        vendor = (
            "shopify"
            if parts.path.endswith("/graphql.json")
            else "amazon"
            if parts.path.startswith("/listings/")
            else "tiktok"
        )
        state = self.server.state
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with state.lock:
            queue = state.scripted.get(vendor)
            scripted = queue.popleft() if queue else None
        if scripted is not None:
            status, answer, headers = scripted.status, scripted.body, scripted.headers
        else:
            headers = {}
            if vendor == "shopify" and method == "POST":
                status, answer = self._shopify(body)
            elif vendor == "amazon" and method == "PATCH":
                status, answer = self._amazon(parts.path, parts.query, body)
            else:
                status, answer = self._tiktok(parts.path, parts.query, raw, body)
        with state.arrived:
            state.arrivals.append(Arrival(vendor, arrived, body, status, parts.path))
            state.arrived.notify_all()
        self._answer(status, answer, headers)

    # Shopify ---------------------------------------------------------------------------------

    def _shopify(self, body: Any) -> tuple[int, Any]:
        if self.headers.get("X-Shopify-Access-Token") != SHOPIFY_TOKEN:
            return 401, {"errors": "[API] Invalid API key or access token"}
        if not isinstance(body, dict) or "query" not in body:
            return 400, {"errors": {"query": "Required parameter missing or invalid"}}
        query: str = body["query"]
        variables = body.get("variables") or {}
        state = self.server.state
        if "inventorySetQuantities" in query:
            key = variables.get("idempotencyKey")
            if "@idempotent" not in query or not key:
                return 200, {"errors": [{"message": "Idempotency key required",
                                         "extensions": {"code": "BAD_REQUEST"}}]}  # fmt: skip
            with state.lock:
                if key in state.idempotency:
                    return 200, state.idempotency[key]
                answer = self._shopify_set(variables.get("input") or {})
                state.idempotency[key] = answer
            return 200, answer
        if "inventoryItem" in query:
            item, location = variables.get("inventoryItemId"), variables.get("locationId")
            with state.lock:
                quantity = state.shopify.get((item, location))
            level = None if quantity is None else {
                "quantities": [{"name": "available", "quantity": quantity}]
            }  # fmt: skip
            return 200, {"data": {"inventoryItem": {"inventoryLevel": level}}}
        return 200, {"errors": [{"message": "unknown query"}]}

    def _shopify_set(self, given: dict[str, Any]) -> dict[str, Any]:
        state = self.server.state
        errors = []
        if given.get("name") != "available":
            errors.append({"code": "INVALID_NAME", "field": ["input", "name"], "message": "bad"})
        changes = []
        for index, quantity in enumerate(given.get("quantities") or []):
            if "changeFromQuantity" not in quantity:
                errors.append({"code": "CHANGE_FROM_QUANTITY_REQUIRED",
                               "field": ["input", "quantities", str(index)],
                               "message": "changeFromQuantity must be given"})  # fmt: skip
                continue
            item_key = (quantity["inventoryItemId"], quantity["locationId"])
            held = state.shopify.get(item_key, 0)
            expected = quantity["changeFromQuantity"]
            if expected is not None and expected != held:
                field_path = ["input", "quantities", str(index), "changeFromQuantity"]
                errors.append({"code": "CHANGE_FROM_QUANTITY_STALE", "field": field_path,
                               "message": "changeFromQuantity does not match"})  # fmt: skip
                continue
            changes.append((item_key, held, int(quantity["quantity"])))
        if errors:
            return {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": None,
                                                         "userErrors": errors}}}  # fmt: skip
        for item_key, _held, new in changes:
            state.shopify[item_key] = new
        group = {
            "id": f"gid://shopify/InventoryAdjustmentGroup/{len(state.arrivals) + 1}",
            "reason": "correction",
            "changes": [{"name": "available", "delta": new - held, "quantityAfterChange": new}
                        for _key, held, new in changes],
        }  # fmt: skip
        return {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group,
                                                     "userErrors": []}}}  # fmt: skip

    # Amazon ----------------------------------------------------------------------------------

    def _amazon(self, path: str, query: str, body: Any) -> tuple[int, Any]:
        if self.headers.get("x-amz-access-token") != AMAZON_TOKEN:
            return 403, {"errors": [{"code": "Unauthorized", "message": "Access denied"}]}
        match = _AMAZON_PATH.match(path)
        params = dict(parse_qsl(query))
        if match is None or not params.get("marketplaceIds"):
            return 400, {"errors": [{"code": "InvalidInput", "message": "bad path or query"}]}
        sku = unquote(match.group(2))
        try:
            patch = body["patches"][0]
            value = patch["value"][0]
            assert body["productType"]
            assert patch["op"] in ("replace", "merge")
            assert patch["path"] == "/attributes/fulfillment_availability"
            assert value["fulfillment_channel_code"] == "DEFAULT"
            quantity = int(value["quantity"])
        except (KeyError, IndexError, TypeError, AssertionError, ValueError):
            return 400, {"errors": [{"code": "InvalidInput", "message": "bad patch"}]}
        if quantity < 0:
            return 200, {"sku": sku, "status": "INVALID", "submissionId": "s-0",
                         "issues": [{"code": "90220", "message": "quantity must be >= 0",
                                     "severity": "ERROR"}]}  # fmt: skip
        with self.server.state.lock:
            self.server.state.amazon[sku] = quantity
            number = len(self.server.state.arrivals) + 1
        return 200, {"sku": sku, "status": "ACCEPTED", "submissionId": f"sub-{number}",
                     "issues": []}  # fmt: skip

    # TikTok Shop ------------------------------------------------------------------------------

    def _tiktok(self, path: str, query: str, raw: bytes, body: Any) -> tuple[int, Any]:
        params = dict(parse_qsl(query))
        if self.headers.get("x-tts-access-token") != TIKTOK_TOKEN:
            return 401, {"code": 105002, "message": "Invalid access token", "data": None}
        expected = sign(TIKTOK_SECRET, path, params, raw)
        if params.get("app_key") != TIKTOK_APP_KEY or params.get("sign") != expected:
            return 401, {"code": 106001, "message": "Invalid signature", "data": None}
        match = _TIKTOK_PATH.match(path)
        if match is None:
            return 404, {"code": 404, "message": "no such path", "data": None}
        try:
            sku = body["skus"][0]
            stock = sku["inventory"][0]
            key = (match.group(1), str(sku["id"]), str(stock["warehouse_id"]))
            quantity = int(stock["quantity"])
        except (KeyError, IndexError, TypeError, ValueError):
            return 200, {"code": 12052700, "message": "invalid body", "data": None}
        with self.server.state.lock:
            self.server.state.tiktok[key] = quantity
        return 200, {"code": 0, "message": "Success", "request_id": f"req-{key[1]}", "data": {}}


_Server = StatefulServer[ChannelState]


@contextmanager
def fake_channels() -> Iterator[tuple[str, ChannelState]]:
    """Serve the three APIs on a free local port until the block ends; yields (base URL, state)."""
    state = ChannelState()
    with serve_locally(_Handler, state) as base_url:
        yield base_url, state
