"""The seam through which a journey's send steps hand a message over: one method, ``queue``.

A send step's job checks the journey's exit rules, claims its visit, and then asks the
registered ``Sender`` to queue the message in the same transaction, with an idempotency key
per (instance, step, visit) (ADR 0022): the message package writes its outbox row there, so
the message exists if and only if the step's visit commits, once, however often the job runs.
What the sender answers becomes the visit's outcome in the step history.

The sender every process uses is ``QueueMessage``: it writes the outbox row through
``MessageService.queue`` (origin ``journey``, so the outbox, the timeline and the journey's
metrics know where it came from) and the message package's send job decides and delivers it.
A test or a script may ``register_sender`` another one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tessera.identity.errors import ProfileNotFound
from tessera.journey.definition import SendEmail, SendSms
from tessera.kit.errors import InvalidInput
from tessera.message.context import EventContexts
from tessera.message.errors import TemplateNotFound
from tessera.message.service import MessageService
from tessera.models.journey import JourneyInstance
from tessera.models.message import MessageChannel, MessagePurpose

QUEUED = "queued"
NOT_QUEUED = "not_queued"
ORIGIN_KIND = "journey"


@dataclass(frozen=True)
class SendOutcome:
    """What became of a send: a word for the step history (``queued``, ``not_queued``...)
    and anything worth keeping with it (never the message's text or the address)."""

    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)


class Sender(Protocol):
    def queue(
        self,
        session: Session,
        instance: JourneyInstance,
        step: SendEmail | SendSms,
        idempotency_key: str,
        at: datetime,
    ) -> SendOutcome:
        """Queue the step's message for the instance's person in the caller's transaction,
        as of the visit's time ``at``; the same ``idempotency_key`` twice queues one message.
        Never commits."""
        ...


def journey_origin(instance: JourneyInstance, step_id: str) -> dict[str, Any]:
    """What a journey's message carries as its ``origin``: the pre-send check and the
    journey's metrics find the instance and the step through it."""
    return {
        "kind": ORIGIN_KIND,
        "journey_id": instance.journey_id,
        "instance_id": instance.id,
        "step": step_id,
    }


class QueueMessage:
    """Writes the step's message to the outbox (``MessageService.queue``)."""

    def queue(
        self,
        session: Session,
        instance: JourneyInstance,
        step: SendEmail | SendSms,
        idempotency_key: str,
        at: datetime,
    ) -> SendOutcome:
        """The outbox row, queued at the visit's time. A template deleted or changed to
        another channel since the journey was published, or a person gone, is recorded
        (``not_queued`` with the reason) and the person goes on: retrying would not help."""
        channel = MessageChannel.EMAIL if isinstance(step, SendEmail) else MessageChannel.SMS
        purpose = MessagePurpose.TRANSACTIONAL if step.transactional else MessagePurpose.MARKETING
        described = {"channel": channel.value, "template": step.template}
        try:
            message = MessageService(session, clock=lambda: at).queue(
                instance.workspace_id,
                instance.profile_id,
                channel,
                step.template,
                idempotency_key=idempotency_key,
                purpose=purpose,
                context=EventContexts(session).of_message(
                    instance.workspace_id, instance.entry_message_id
                ),
                origin=journey_origin(instance, step.id),
            )
        except (TemplateNotFound, ProfileNotFound, InvalidInput) as refusal:
            return SendOutcome(NOT_QUEUED, {**described, "reason": str(refusal)[:300]})
        return SendOutcome(QUEUED, {**described, "message_id": message.id})


_registered: list[Sender] = [QueueMessage()]


def register_sender(sender: Sender) -> None:
    """Send steps go through ``sender`` from now on in this process."""
    _registered[0] = sender


def current_sender() -> Sender:
    return _registered[0]
