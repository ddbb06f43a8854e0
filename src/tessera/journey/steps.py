"""One step visit, run by its job: decide, claim the visit, act, record, schedule the next.

Each visit of a step is one ``journey.step_due`` job whose idempotency key is (instance,
visit), due when the step's time comes: at once for a split or an action, when a delay ends,
when a wait times out (an awaited event that comes first moves the person on and the timeout
finds its visit gone). The job's payload carries the visit's own time (``at``), and every
time computed from it (a delay's end, the next visit's time) is computed from that, never from
the clock, so a job that runs late or twice schedules the same thing.

The visit is claimed by one conditional UPDATE that names it (``repository.advance``); the
step's action (the sender's ``queue``, a webhook), its history row and the next visit's job
follow in the same transaction, so a worker killed anywhere in between leaves nothing
behind, and a second run of the job finds the visit gone and does nothing. A webhook is the
one effect outside the database: it may be called again after a crash, always with the same
``Idempotency-Key``, and never to a private address (``integrations.webhook``: checked when
published and again at each call, since a name's addresses can change in between).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from tessera.config import Settings, get_settings
from tessera.identity.graph.service import IdentityService
from tessera.integrations.webhook import (
    DestinationRefused,
    WebhookAnswer,
    WebhookUnreachable,
    post_json,
)
from tessera.job.service import JobService
from tessera.journey import domain, segments
from tessera.journey.definition import (
    AudienceChange,
    CallWebhook,
    ConditionSplit,
    Definition,
    Delay,
    Exit,
    RandomSplit,
    SendEmail,
    SendSms,
    SetTrait,
    Step,
    WaitFor,
)
from tessera.journey.facts import Definitions, Person, exit_reason
from tessera.journey.repository import JourneyRepository
from tessera.journey.sending import Sender, current_sender
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow
from tessera.models.journey import JourneyInstance, JourneyStatus

STEP_JOB = "journey.step_due"
COMPLETED = "completed"
TRAIT_SET = "trait_set"
# Answers after which a webhook is called again later (by the job's retry) rather than given up.
RETRIED_STATUSES = frozenset({408, 425, 429})

Post = Callable[[str, dict[str, Any], str], WebhookAnswer]


class WebhookFailed(Exception):
    """The webhook answered 5xx (or 408/425/429) or not at all: the job retries it later."""


def step_job_key(instance_id: str, visit: int, resumed: int = 0) -> str:
    """The idempotency key of a visit's job; a resume of a paused journey wakes the visit
    with a key of its own (``resumed`` counts the journey's resumes)."""
    key = f"journey:{instance_id}:{visit}"
    return f"{key}:resume{resumed}" if resumed else key


def visit_payload(instance_id: str, visit: int, at: datetime) -> dict[str, Any]:
    """The step job's payload: the visit and its own time."""
    return {"instance_id": instance_id, "visit": visit, "at": at.isoformat()}


def enqueue_visit(
    session: Session,
    workspace_id: str,
    instance_id: str,
    visit: int,
    at: datetime,
    resumed: int = 0,
) -> None:
    """The job that runs the instance's ``visit`` at ``at``, once however often it is asked."""
    JobService(session).enqueue(
        STEP_JOB,
        visit_payload(instance_id, visit, at),
        workspace_id=workspace_id,
        run_at=at,
        idempotency_key=step_job_key(instance_id, visit, resumed),
    )


@dataclass(frozen=True)
class Arrival:
    """An instance's columns once it is at a step, and when that step's job is due."""

    values: dict[str, Any]
    run_at: datetime


def arrival(
    definition: Definition, step_id: str, at: datetime, entry_key: str, person: Person
) -> Arrival:
    """Where arriving at ``step_id`` at ``at`` leaves the instance: a delay's end (in the
    person's zone) or a wait's timeout as the wake time, and the event a wait awaits."""
    step = definition.step(step_id)
    values: dict[str, Any] = {
        "current_step": step_id,
        "awaiting_event": None,
        "awaiting_key": None,
        "is_parked": False,
    }
    run_at = at
    if isinstance(step, Delay):
        run_at = domain.delay_end(step, at, person.traits, person.zone).at
    elif isinstance(step, WaitFor):
        run_at = at + step.timeout
        values["awaiting_event"] = step.event
        values["awaiting_key"] = entry_key if step.key else None
    values["wake_at"] = run_at
    return Arrival(values, run_at)


@dataclass
class Decision:
    """What a visit comes to before it is claimed: the outcome, where next, and changes."""

    outcome: str
    next_step: str | None  # None: the instance leaves (an exit step)
    detail: dict[str, Any] = field(default_factory=dict)
    holdout: bool = False


class StepRunner:
    """Runs visits on the caller's session (a job's transaction). Never commits."""

    def __init__(
        self,
        session: Session,
        sender: Sender | None = None,
        post: Post | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.session = session
        self.repository = JourneyRepository(session)
        self.definitions = Definitions(session)
        self.sender = sender or current_sender()
        if post is None:
            allowed = (settings or get_settings()).webhook_allowed_hosts
            post = partial(post_json, allowed_hosts=allowed)
        self.post = post

    def run(self, instance_id: str, visit: int, at: datetime) -> str | None:
        """Run the instance's ``visit`` for the moment ``at``; returns the outcome recorded,
        or None when there was nothing to do (the visit is over, the person left, the
        journey is paused and the person waits on the shelf)."""
        instance = self.repository.instance(instance_id)
        if instance is None or instance.left_at is not None or instance.visit != visit:
            return None
        journey = self.repository.journeys_by_id([instance.journey_id])[instance.journey_id]
        if journey.status is JourneyStatus.PAUSED:
            self.repository.park(instance.id, visit)
            return None
        if journey.status is JourneyStatus.ARCHIVED:
            self.repository.leave(instance.id, visit, at, "archived")
            return None
        version = self.repository.version(instance.journey_id, instance.version)
        assert version is not None, "versions are never deleted while instances refer to them"
        definition = self.definitions.of(version)
        step = definition.step(instance.current_step)
        person = Person(self.session, instance.workspace_id, instance.profile_id)
        if not person.exists:  # erased since: nothing more happens to them
            self.repository.leave(instance.id, visit, at, "erased")
            return None
        if isinstance(step, SendEmail | SendSms):  # the last look before anything is sent
            reason = exit_reason(definition, instance, person)
            if reason is not None:
                self.repository.leave(instance.id, visit, at, reason)
                return None
        decision = self._decide(instance, step, person)
        if decision.next_step is None:
            if not self.repository.leave(instance.id, visit, at, decision.outcome):
                return None
            self._record(instance, visit, step.id, decision, at)
            return decision.outcome
        landing = arrival(definition, decision.next_step, at, instance.entry_key, person)
        values = dict(landing.values)
        if decision.holdout:
            values["is_holdout"] = True
        if not self.repository.advance(instance.id, visit, values):
            return None
        self._act(instance, visit, step, decision, at)
        self._record(instance, visit, step.id, decision, at)
        enqueue_visit(self.session, instance.workspace_id, instance.id, visit + 1, landing.run_at)
        return decision.outcome

    def _decide(self, instance: JourneyInstance, step: Step, person: Person) -> Decision:
        match step:
            case Delay():
                return Decision("waited", step.next)
            case WaitFor():  # this visit's job is the timeout
                return Decision("timeout", step.on_timeout)
            case ConditionSplit():
                if domain.holds(step.condition, person.facts(instance.entered_at)):
                    return Decision("then", step.then)
                return Decision("otherwise", step.otherwise)
            case RandomSplit():
                index = domain.pick_branch(instance.id, step.id, step.branches)
                branch = step.branches[index]
                outcome = "holdout" if branch.holdout else f"branch_{index + 1}"
                return Decision(outcome, branch.next, {"branch": index + 1}, branch.holdout)
            case SendEmail() | SendSms() | CallWebhook():  # acted on once claimed (``_act``)
                held = instance.is_holdout
                return Decision("held_out" if held else "pending", step.next)
            case SetTrait():
                return Decision("pending", step.next, {step.trait: step.value})
            case AudienceChange():  # idempotent: a visit run twice changes the list once
                outcome, detail = segments.change_audience(self.session, instance, step)
                return Decision(outcome, step.next, detail)
            case Exit():
                return Decision(COMPLETED, None)
        raise AssertionError(f"unhandled step {step!r}")

    def _act(
        self, instance: JourneyInstance, visit: int, step: Step, decision: Decision, at: datetime
    ) -> None:
        """The visit's effect, once it is claimed: queue a message, call a webhook, set a
        trait (the identity graph's write, stamped with the visit's time)."""
        if decision.outcome != "pending":
            return
        key = f"journey:{instance.id}:{step.id}:{visit}"
        if isinstance(step, SetTrait):
            IdentityService(self.session).set_traits(
                instance.workspace_id, instance.profile_id, {step.trait: step.value}, at
            )
            decision.outcome = TRAIT_SET
            return
        if isinstance(step, SendEmail | SendSms):
            sent = self.sender.queue(self.session, instance, step, key, at)
            decision.outcome, decision.detail = sent.outcome, dict(sent.detail)
        elif isinstance(step, CallWebhook):
            body = {
                "journey_id": instance.journey_id,
                "instance_id": instance.id,
                "profile_id": instance.profile_id,
                "entry_key": instance.entry_key or None,
                "step": step.id,
                "at": at.isoformat(),
            }
            try:
                answer = self.post(step.url, body, key)
            except WebhookUnreachable as exc:
                raise WebhookFailed(f"{step.url}: {exc}") from exc
            except DestinationRefused as refusal:  # checked again now: DNS may have changed
                decision.outcome, decision.detail = "refused", {"destination": str(refusal)}
                return
            if answer.status >= 500 or answer.status in RETRIED_STATUSES:
                raise WebhookFailed(f"{step.url} answered {answer.status}")
            decision.outcome = "called" if answer.status < 400 else "refused"
            decision.detail = {"status": answer.status}

    def _record(
        self, instance: JourneyInstance, visit: int, step_id: str, decision: Decision, at: datetime
    ) -> None:
        record_visit(
            self.repository, instance, visit, step_id, decision.outcome, at, decision.detail
        )


def record_visit(
    repository: JourneyRepository,
    instance: JourneyInstance,
    visit: int,
    step_id: str,
    outcome: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """The history row of a visit another path ended (an awaited event)."""
    repository.add_step_run(
        {
            "id": new_id("jsr"),
            "instance_id": instance.id,
            "journey_id": instance.journey_id,
            "visit": visit,
            "step": step_id,
            "outcome": outcome,
            "detail": detail or {},
            "at": at,
            "recorded_at": utcnow(),
        }
    )
