"""A local HTTP server speaking a Twilio-style SMS API, holding what it was sent in memory.

``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form-encoded, HTTP Basic with the account
sid and auth token) creates a message and answers 201 with its resource; every POST creates
one, whatever its ``Idempotency-Key`` (the key is recorded, so a test counts duplicates by it,
and it is what ``GET ...Messages.json?IdempotencyKey=`` finds). Errors have Twilio's shape and
codes: 20003 bad credentials, 21211 invalid 'To' number, 21610 unsubscribed recipient (numbers
in ``stopped``). ``fail_next`` scripts the next answers (a 500, a 429). ``callback`` builds the
status callback the provider would send, signed as Twilio signs it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tessera.integrations.sms.signature import sign
from tests.support.live import StatefulServer, serve_locally

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "fake-sms-auth-token-0123456789"
_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass
class Sent:
    sid: str
    to: str
    sender: str
    body: str
    idempotency_key: str | None
    status_callback: str | None
    status: str = "queued"


@dataclass
class SmsState:
    sent: list[Sent] = field(default_factory=list)
    stopped: set[str] = field(default_factory=set)
    scripted: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, code: int | None = None, message: str = "scripted") -> None:
        with self.lock:
            self.scripted.append((status, {"code": code, "message": message, "status": status}))

    def to(self, number: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.to == number]

    def by_key(self) -> dict[str, int]:
        """How many messages were created under each idempotency key."""
        with self.lock:
            counts: dict[str, int] = {}
            for sent in self.sent:
                key = sent.idempotency_key or ""
                counts[key] = counts.get(key, 0) + 1
            return counts

    def callback(
        self, sid: str, status: str, error_code: str | None = None
    ) -> tuple[str, dict[str, str], str]:
        """The status callback for ``sid``: (URL, form, X-Twilio-Signature)."""
        with self.lock:
            sent = next(s for s in self.sent if s.sid == sid)
        assert sent.status_callback, "the message was sent without a StatusCallback"
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": sent.to,
            "From": sent.sender,
            **({"ErrorCode": error_code} if error_code else {}),
        }
        return sent.status_callback, form, sign(AUTH_TOKEN, sent.status_callback, form.items())


def _resource(sent: Sent) -> dict[str, Any]:
    return {
        "sid": sent.sid,
        "account_sid": ACCOUNT_SID,
        "to": sent.to,
        "from": sent.sender,
        "body": sent.body,
        "status": sent.status,
        "num_segments": "1",
        "error_code": None,
        "error_message": None,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self, account: str) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return account == ACCOUNT_SID and self.headers.get("Authorization") == f"Basic {expected}"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        match = _PATH.match(parts.path)
        if match is None:
            return self._answer(404, {"code": 20404, "message": "not found", "status": 404})
        if not self._authorised(match.group(1)):
            return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        key = dict(parse_qsl(parts.query)).get("IdempotencyKey")
        state = self.server.state
        with state.lock:
            state.requests += 1
            found = [_resource(s) for s in state.sent if key and s.idempotency_key == key]
        self._answer(200, {"messages": found})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        match = _PATH.match(urlsplit(self.path).path)
        if match is None:
            return self._answer(404, {"code": 20404, "message": "not found", "status": 404})
        if not self._authorised(match.group(1)):
            return self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        state = self.server.state
        with state.lock:
            state.requests += 1
            if state.scripted:
                status, body = state.scripted.popleft()
                return self._answer(status, body)
        to = form.get("To", "")
        if not _E164.match(to):
            return self._answer(
                400,
                {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.",
                 "status": 400},
            )  # fmt: skip
        if to in state.stopped:
            return self._answer(
                400,
                {"code": 21610, "message": "Attempt to send to unsubscribed recipient",
                 "status": 400},
            )  # fmt: skip
        with state.lock:
            sent = Sent(
                sid=f"SM{len(state.sent) + 1:032x}",
                to=to,
                sender=form.get("From") or form.get("MessagingServiceSid", ""),
                body=form.get("Body", ""),
                idempotency_key=self.headers.get("Idempotency-Key"),
                status_callback=form.get("StatusCallback"),
            )
            state.sent.append(sent)
        self._answer(201, _resource(sent))


_Server = StatefulServer[SmsState]


@contextmanager
def fake_sms() -> Iterator[tuple[str, SmsState]]:
    """Serve the API on a free local port until the block ends; yields (base URL, state)."""
    state = SmsState()
    with serve_locally(_Handler, state) as base_url:
        yield base_url, state
