"""Email over SMTP with smtplib: one MIME message (text and HTML alternatives) per send.

SMTP has no idempotency key. What stands in for one is the ``Message-ID`` header: the caller
names it, and a message sent twice with the same id (after a crash between the server's "250"
and the caller's commit) is one message to the mailbox providers that collapse duplicates by
it. So everything that goes into the message, ``Date`` included, comes from the caller, and
the same ``OutgoingEmail`` always makes the same bytes.

A reply in the 5xx range refuses this message for good (``EmailRefused``: an unknown mailbox
is a hard bounce); a 4xx reply, a timeout or a broken connection may pass later
(``EmailUnavailable``).
"""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    message_id: str  # with its angle brackets: <msg_...@tessera>
    sender: str  # "Brand <hello@brand.example>"
    recipient: str
    subject: str
    html: str
    text: str
    date: datetime
    headers: Mapping[str, str] = field(default_factory=dict)  # List-Unsubscribe...


class EmailError(Exception):
    retryable = True

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class EmailRefused(EmailError):
    """The server refused the message or its recipient for good (a 5xx reply)."""

    retryable = False


class EmailUnavailable(EmailError):
    """A 4xx reply, a timeout or a broken connection: try again later."""


def build_message(email: OutgoingEmail) -> EmailMessage:
    """The MIME message: text first, HTML as the preferred alternative."""
    message = EmailMessage(policy=SMTP)
    message["Message-ID"] = email.message_id
    message["Date"] = format_datetime(email.date)
    message["From"] = email.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text, cte="quoted-printable")
    message.add_alternative(email.html, subtype="html", cte="quoted-printable")
    # The boundary too comes from the message, not from chance: a re-send is the same bytes.
    message.set_boundary("=_" + hashlib.sha256(email.message_id.encode()).hexdigest()[:32])
    return message


class SmtpTransport:
    """Sends through one SMTP server; a connection per send (a worker sends one at a time)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, email: OutgoingEmail) -> None:
        """Hand the message to the server; returns once it answered 250 to the data."""
        message = build_message(email)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as connection:
                if self.starttls:
                    connection.starttls()
                if self.username:
                    connection.login(self.username, self.password)
                refused = connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b"refused"))
            raise _by_code(code, f"the server refused {email.recipient}: {_text(reply)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, f"the server answered: {_text(exc.smtp_error)}") from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise EmailUnavailable(f"the SMTP server could not take the message: {exc}") from exc
        if refused:  # one recipient only, so this cannot be a partial success
            code, reply = next(iter(refused.values()))
            raise _by_code(code, f"the server refused {email.recipient}: {_text(reply)}")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _by_code(code: int, text: str) -> EmailError:
    if 500 <= code < 600:
        return EmailRefused(text, code=code)
    return EmailUnavailable(text, code=code)
