"""A webhook receiver on localhost: records every POST and answers what the test scripts."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.live import serve_locally


@dataclass
class Received:
    path: str
    idempotency_key: str | None
    body: Any


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)  # statuses to give next; then 200
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, self.headers.get("Idempotency-Key"), body)
                )
                status = receiver.answers.popleft() if receiver.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    with serve_locally(Handler, receiver) as url:
        receiver.url = url
        yield receiver
