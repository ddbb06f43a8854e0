"""A local HTTP server speaking Meta's custom-audience upload and TikTok's segment mapping,
keeping what it was sent. It checks what the real APIs check that matters here: the token, the
schema, hashes that look like SHA-256, and Meta's 10,000-row limit per call."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.live import StatefulServer, serve_locally

META_TOKEN = "meta-test-token"
TIKTOK_TOKEN = "tiktok-test-token"
_META_PATH = re.compile(r"^/v19\.0/([^/]+)/users$")
_HASH = re.compile(r"^([0-9a-f]{64})?$")


@dataclass
class AudienceState:
    meta: dict[str, list[list[str]]] = field(default_factory=dict)
    tiktok: dict[str, list[list[str]]] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)  # (vendor, rows)
    fail_next: int | None = None


class Handler(BaseHTTPRequestHandler):
    server: StatefulServer[AudienceState]

    def log_message(self, *args: Any) -> None:
        return

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        state = self.server.state
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if state.fail_next is not None:
            status, state.fail_next = state.fail_next, None
            self._answer(status, {"error": {"message": "scripted failure"}})
            return
        meta = _META_PATH.match(self.path)
        if meta:
            self._meta(meta.group(1), body)
        elif self.path == "/open_api/v1.3/segment/mapping/":
            self._tiktok(body)
        else:
            self._answer(404, {"error": {"message": "no such path"}})

    def _meta(self, audience_id: str, body: Any) -> None:
        if self.headers.get("Authorization") != f"Bearer {META_TOKEN}":
            self._answer(401, {"error": {"message": "Invalid OAuth access token"}})
            return
        payload = body.get("payload", {})
        data = payload.get("data", [])
        if payload.get("schema") != ["EMAIL_SHA256", "PHONE_SHA256"] or len(data) > 10_000:
            self._answer(400, {"error": {"message": "bad schema or too many rows"}})
            return
        invalid = sum(1 for row in data if not all(_HASH.match(v) for v in row))
        self.server.state.meta.setdefault(audience_id, []).extend(data)
        self.server.state.calls.append(("meta", len(data)))
        self._answer(
            200,
            {"audience_id": audience_id, "num_received": len(data), "num_invalid_entries": invalid},
        )

    def _tiktok(self, body: Any) -> None:
        if self.headers.get("Access-Token") != TIKTOK_TOKEN:
            self._answer(200, {"code": 40105, "message": "Access token is incorrect"})
            return
        if body.get("id_schema") != ["EMAIL_SHA256", "PHONE_SHA256"] or body.get("action") != "add":
            self._answer(200, {"code": 40002, "message": "bad id_schema"})
            return
        rows = [[item["id"] for item in row] for row in body["batch_data"]]
        self.server.state.tiktok.setdefault(body["segment_id"], []).extend(rows)
        self.server.state.calls.append(("tiktok", len(rows)))
        self._answer(200, {"code": 0, "message": "OK", "data": {}})


@contextmanager
def audience_server() -> Iterator[tuple[str, AudienceState]]:
    state = AudienceState()
    with serve_locally(Handler, state) as url:
        yield url, state
