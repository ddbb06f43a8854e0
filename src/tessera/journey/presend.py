"""The journey's last word before its message goes out: the check the message package runs in
its send job (``message.policy.PRE_SEND_CHECKS``), just before the provider is called.

Between the step that queued a message and the send job (a quiet-hours hold, a queue behind
other jobs) the person may have left the journey, or an exit rule may have come to hold
without anything announcing it yet: a store sale imported late reads as "ordered since entry"
the moment its order row exists, before its event has travelled through the stitch and the
trigger. Both skip the message with the reason ``journey_exited`` (ADR 0022: exits are checked
again inside the send job). A person who walked on to the journey's end (``completed``) still
gets it: that is where the journey meant to take them.

The check reads and writes nothing else: the instance leaves through the trigger, as always.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.journey.facts import Definitions, Person, exit_reason
from tessera.journey.repository import JourneyRepository
from tessera.journey.sending import ORIGIN_KIND
from tessera.message.policy import PRE_SEND_CHECKS
from tessera.models.message import Message

JOURNEY_EXITED = "journey_exited"
STILL_SENT_AFTER = frozenset({"completed"})


def journey_still_wants(session: Session, message: Message) -> str | None:
    """None when the message is not a journey's, or its person is still inside (or completed)
    with no exit rule holding; ``journey_exited`` otherwise."""
    origin = message.origin or {}
    if origin.get("kind") != ORIGIN_KIND or not origin.get("instance_id"):
        return None
    repository = JourneyRepository(session)
    instance = repository.instance(str(origin["instance_id"]))
    if instance is None:
        return JOURNEY_EXITED
    if instance.exit_reason is not None and instance.exit_reason not in STILL_SENT_AFTER:
        return JOURNEY_EXITED
    version = repository.version(instance.journey_id, instance.version)
    if version is None:
        return JOURNEY_EXITED
    definition = Definitions(session).of(version)
    person = Person(session, instance.workspace_id, instance.profile_id)
    if exit_reason(definition, instance, person) is not None:
        return JOURNEY_EXITED
    return None


def register_pre_send_check() -> None:
    """Journey messages are checked before every send in this process (once however often
    this is called)."""
    if journey_still_wants not in PRE_SEND_CHECKS:
        PRE_SEND_CHECKS.append(journey_still_wants)
