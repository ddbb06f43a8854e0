"""What journey tests share: messages to send, a clock the test moves, and a worker running
every real job kind (stitch, trigger, step, send) on the test's transaction."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.config import Settings
from tessera.job.registry import Registry, import_handler_modules
from tessera.job.registry import registry as default_registry
from tessera.job.runner import Execution, Worker
from tessera.journey import tasks as journey_tasks
from tessera.journey.definition import SendEmail, SendSms, parse
from tessera.journey.service import JourneyService
from tessera.kit.time import ManualClock
from tessera.message import tasks as message_tasks
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.models.journey import Journey, JourneyInstance, JourneyStepRun
from tessera.models.message import Message
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalCustomer, CanonicalLine, CanonicalOrder
from tessera.order.service import OrderService
from tessera.worker import TASK_MODULES

# After the wall clock, so jobs enqueued "now" by real code are due on the test clock.
T0 = datetime(2031, 3, 2, 12, 0, tzinfo=UTC)
ACTOR = "test"

ABANDONED_CART: dict[str, Any] = {
    "name": "Abandoned cart",
    "entry": {"kind": "event", "event": "Checkout Started", "key": "properties.cart_id"},
    "exits": [{"kind": "ordered"}],
    "start": "wait_order",
    "steps": [
        {
            "id": "wait_order",
            "type": "wait_for",
            "event": "Order Completed",
            "key": "properties.checkout_id",
            "timeout": "PT2H",
            "on_event": "done",
            "on_timeout": "sms",
        },
        {"id": "sms", "type": "send_sms", "template": "cart_sms", "next": "day"},
        {"id": "day", "type": "delay", "duration": "PT24H", "next": "email"},
        {"id": "email", "type": "send_email", "template": "cart_email", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}

# Delays, a trait split, a holdout and sends: what the durability test runs on real workers.
BRANCHES = [{"weight": 3, "next": "email"}, {"weight": 1, "next": "email", "holdout": True}]
DURABLE: dict[str, Any] = {
    "name": "Durable",
    "entry": {"kind": "event", "event": "Checkout Started", "key": "properties.cart_id"},
    "start": "settle",
    "steps": [
        {"id": "settle", "type": "delay", "duration": "PT1H", "next": "check"},
        {
            "id": "check",
            "type": "condition",
            "condition": {"kind": "trait", "trait": "tier", "op": "eq", "value": "gold"},
            "then": "text",
            "otherwise": "split",
        },
        {"id": "text", "type": "send_sms", "template": "gold_sms", "next": "split"},
        {"id": "split", "type": "random", "branches": BRANCHES},
        {"id": "email", "type": "send_email", "template": "offer", "next": "mark"},
        {"id": "mark", "type": "set_trait", "trait": "offered", "value": True, "next": "later"},
        {"id": "later", "type": "delay", "duration": "P1D", "next": "end"},
        {"id": "end", "type": "exit"},
    ],
}


def journey_doc(**changes: Any) -> dict[str, Any]:
    """The abandoned cart journey with top-level fields replaced."""
    document = copy.deepcopy(ABANDONED_CART)
    document.update(changes)
    return document


def track(
    message_id: str,
    event: str,
    at: datetime,
    *,
    user_id: str | None = None,
    anonymous_id: str | None = None,
    channel: str | None = None,
    traits: dict[str, Any] | None = None,
    **properties: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "track",
        "event": event,
        "messageId": message_id,
        "timestamp": at.isoformat(),
        "properties": properties,
        "context": {"traits": traits or {}},
    }
    if channel:
        message["context"]["channel"] = channel
    if user_id:
        message["userId"] = user_id
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    return message


def identify(message_id: str, at: datetime, user_id: str, **traits: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": message_id,
        "timestamp": at.isoformat(),
        "userId": user_id,
        "traits": traits,
    }


def store_order(
    number: str, at: datetime, email: str, *, platform: str = "square"
) -> CanonicalOrder:
    """A sale rung up in a store (or any channel but the web), placed at ``at``."""
    return CanonicalOrder(
        platform=platform,
        external_id=f"ext-{number}",
        order_number=number,
        channel="store",
        status=OrderStatus.PLACED,
        currency="USD",
        placed_at=at,
        version=at.isoformat(),
        lines=(CanonicalLine("l1", 1, 4200, 4200, sku="SERUM-30", title="Night Serum"),),
        subtotal=4200,
        total=4200,
        customer=CanonicalCustomer(email=email),
    )


def make_templates(session: Session, workspace_id: str, document: dict[str, Any]) -> None:
    """The templates the document's send steps name, those the workspace lacks, made as a
    merchant would make them (a greeting reading only the person's first name)."""
    known = TemplateService(session).names(workspace_id)
    for step in parse(document).steps:
        if isinstance(step, SendEmail | SendSms) and step.template not in known:
            channel = "email" if isinstance(step, SendEmail) else "sms"
            draft = TemplateDraft(
                name=step.template,
                channel=channel,
                subject="Hello {{ profile.first_name }}",
                body=f"{step.template}: hi {{{{ profile.first_name }}}}",
            )
            row = TemplateService(session).create(workspace_id, draft, actor=ACTOR)
            known[step.template] = row.channel


def worker_registry(settings: Settings, clock: ManualClock | None = None) -> Registry:
    """Every job kind of the worker; the step job on ``settings``, and with ``clock`` the
    message jobs on it and ``settings`` (their SMTP server and SMS provider)."""
    import_handler_modules(TASK_MODULES)
    registry = Registry()
    for kind in default_registry.kinds():
        handler = default_registry.handler(kind)
        own = kind == journey_tasks.STEP_JOB or (clock is not None and kind.startswith("message."))
        if handler is not None and not own:
            registry.job_handler(kind, batchable=default_registry.is_batchable(kind))(handler)
    journey_tasks.register(registry, settings)
    if clock is not None:
        message_tasks.register(registry, clock, settings)
    return registry


class Platform:
    """The platform as a test drives it: ingest at the clock's time, run due jobs."""

    def __init__(
        self,
        session: Session,
        session_factory: sessionmaker[Session],
        settings: Settings,
        workspace_id: str,
        clock: ManualClock,
        *,
        messages: bool = False,
    ) -> None:
        self.session = session
        self.session_factory = session_factory
        self.workspace_id = workspace_id
        self.clock = clock
        self.messages_sent = messages
        self.settings = settings
        self.worker = self._worker()

    def _worker(self) -> Worker:
        registry = worker_registry(self.settings, self.clock if self.messages_sent else None)
        return Worker(
            self.session_factory,
            self.settings,
            registry=registry,
            clock=self.clock,
            run_periodic=False,
        )

    def allow_webhooks(self, *hosts: str) -> None:
        """The deployment's webhook allow-list is ``hosts`` from now on."""
        self.settings = self.settings.model_copy(update={"webhook_allowed_hosts": hosts})
        self.worker = self._worker()

    def send(self, *messages: dict[str, Any]) -> None:
        CollectService(self.session).ingest(
            Sender(self.workspace_id, None), list(messages), "test", received_at=self.clock()
        )
        self.session.commit()

    def order(self, order: CanonicalOrder) -> None:
        """An order arrives from a connector (its events go through Collect)."""
        OrderService(self.session).apply(self.workspace_id, order)
        self.session.commit()

    def run(self) -> list[Execution]:
        """Run every job due at the clock's time, and whatever those make due."""
        self.session.commit()
        executions = self.worker.run_until_idle()
        self.session.expire_all()
        return executions

    def advance(self, **delta: float) -> list[Execution]:
        self.clock.advance(timedelta(**delta))
        return self.run()

    def journeys(self) -> JourneyService:
        return JourneyService(self.session, self.clock, self.settings)

    def templates(self, document: dict[str, Any]) -> None:
        make_templates(self.session, self.workspace_id, document)

    def live(self, document: dict[str, Any], *, templates: bool = True) -> Journey:
        """The journey created and published (its templates made first, unless told not)."""
        if templates:
            self.templates(document)
        service = self.journeys()
        journey = service.create(self.workspace_id, document, actor=ACTOR)
        journey = service.publish(self.workspace_id, journey.id, actor=ACTOR)
        self.session.commit()
        return journey

    def instances(self, journey_id: str) -> list[JourneyInstance]:
        return list(
            self.session.scalars(
                select(JourneyInstance)
                .where(JourneyInstance.journey_id == journey_id)
                .order_by(JourneyInstance.entered_at, JourneyInstance.id)
            )
        )

    def history(self, instance_id: str) -> list[JourneyStepRun]:
        """The instance's step runs, in order."""
        return list(
            self.session.scalars(
                select(JourneyStepRun)
                .where(JourneyStepRun.instance_id == instance_id)
                .order_by(JourneyStepRun.visit)
            )
        )

    def path(self, instance_id: str) -> list[tuple[str, str]]:
        """(step, outcome) of each visit the instance finished, in order."""
        rows: Sequence[JourneyStepRun] = self.session.scalars(
            select(JourneyStepRun)
            .where(JourneyStepRun.instance_id == instance_id)
            .order_by(JourneyStepRun.visit)
        ).all()
        return [(row.step, row.outcome) for row in rows]

    def messages(self, instance_id: str) -> list[Message]:
        """The outbox rows the instance's send steps queued, in order."""
        return list(
            self.session.scalars(
                select(Message)
                .where(Message.origin["instance_id"].as_string() == instance_id)
                .order_by(Message.queued_at, Message.id)
            )
        )
