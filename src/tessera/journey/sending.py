"""The seam through which a journey's send steps hand a message over: one method, ``queue``.

A send step's job checks the journey's exit rules, claims its visit, and then asks the
registered ``Sender`` to queue the message in the same transaction, with an idempotency key
per (instance, step, visit) (ADR 0022): the message package writes its outbox row there, so
the message exists if and only if the step's visit commits, once, however often the job runs.
What the sender answers becomes the visit's outcome in the step history.

Until the message package is wired in, the registered sender is ``RecordIntent``: it sends
nothing and answers ``send_pending``, so a journey runs end to end and its history shows what
would have been sent. Each process's edge (the app, the worker) registers the real one with
``register_sender`` when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tessera.journey.definition import SendEmail, SendSms
from tessera.models.journey import JourneyInstance

SEND_PENDING = "send_pending"


@dataclass(frozen=True)
class SendOutcome:
    """What became of a send: a word for the step history (``queued``, ``skipped``...) and
    anything worth keeping with it (never the message's text or the address)."""

    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)


class Sender(Protocol):
    def queue(
        self,
        session: Session,
        instance: JourneyInstance,
        step: SendEmail | SendSms,
        idempotency_key: str,
    ) -> SendOutcome:
        """Queue the step's message for the instance's person in the caller's transaction;
        the same ``idempotency_key`` twice queues one message. Never commits."""
        ...


class RecordIntent:
    """The sender in place until the message package is: records what would be sent."""

    def queue(
        self,
        session: Session,
        instance: JourneyInstance,
        step: SendEmail | SendSms,
        idempotency_key: str,
    ) -> SendOutcome:
        channel = "email" if isinstance(step, SendEmail) else "sms"
        return SendOutcome(
            SEND_PENDING,
            {
                "channel": channel,
                "template": step.template,
                "transactional": step.transactional,
                "idempotency_key": idempotency_key,
            },
        )


_registered: list[Sender] = [RecordIntent()]


def register_sender(sender: Sender) -> None:
    """Send steps go through ``sender`` from now on in this process."""
    _registered[0] = sender


def current_sender() -> Sender:
    return _registered[0]
