"""A real SMTP server on localhost (aiosmtpd) that keeps what it receives, for tests and the
demo's outbox: each message with its envelope, parsed, in arrival order.

Recipients listed in ``refuse`` are answered ``550 5.1.1`` at RCPT (a hard bounce) and those in
``defer`` ``451 4.3.0`` (try again later).
"""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Arrived:
    mail_from: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())

    def content(self) -> tuple[str, ...]:
        """What a duplicate must repeat exactly: every header but the server's own, and the body."""
        headers = tuple(
            f"{name}: {value}"
            for name, value in self.message.items()
            if name.lower() not in ("received", "x-peer", "x-mailfrom", "x-rcptto")
        )
        return (*headers, self.part("plain"), self.part("html"))


@dataclass
class Mailbox:
    arrived: list[Arrived] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[Arrived]:
        with self.lock:
            return [a for a in self.arrived if address in a.recipients]

    def all(self) -> list[Arrived]:
        with self.lock:
            return list(self.arrived)


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.mailbox.refuse:
            return "550 5.1.1 No such user here"
        if address in self.mailbox.defer:
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = email.message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        arrived = Arrived(str(envelope.mail_from), list(envelope.rcpt_tos), raw, parsed)
        with self.mailbox.lock:
            self.mailbox.arrived.append(arrived)
        return "250 2.0.0 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """Serve SMTP on a free local port until the block ends; yields (port, mailbox)."""
    mailbox = Mailbox()
    controller = Controller(_Handler(mailbox), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, mailbox
    finally:
        controller.stop()
