"""People, templates and a worker for the message tests, made through the real services.

People arrive as Collect events and are stitched as a worker would stitch them; consent is
recorded through the privacy service; the worker runs the real job handlers on a registry of
its own, with the test's ``ManualClock``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.config import Settings, load_settings
from tessera.customer import schemas
from tessera.customer.privacy import PrivacyService
from tessera.identity.graph.service import IdentityService
from tessera.job.registry import Registry, import_handler_modules
from tessera.job.registry import registry as default_registry
from tessera.job.runner import Execution, Worker
from tessera.kit.time import ManualClock
from tessera.message.configuration import MessageSettings, SettingsChange
from tessera.message.tasks import register
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.models.identity import ConsentStatus
from tessera.models.message import MessageTemplate
from tessera.worker import TASK_MODULES
from tests.identity.stitching import run_stitch_jobs
from tests.support.fake_sms import ACCOUNT_SID, AUTH_TOKEN

# A Tuesday, 15:00 UTC: 08:00 in San Francisco, 11:00 in New York.
T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
SMS_FROM = "+14155550199"


def message_settings(database_url: str, smtp_port: int, sms_url: str, **more: Any) -> Settings:
    return load_settings(
        database_url=database_url,
        environment="test",
        log_json=False,
        secret_key="test-secret-key-with-enough-length",
        public_url="https://tessera.test",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        sms_base_url=sms_url,
        sms_account_sid=ACCOUNT_SID,
        sms_auth_token=AUTH_TOKEN,
        **more,
    )


@dataclass
class Person:
    profile_id: str
    email: str | None
    phone: str | None


def person(
    session: Session,
    workspace_id: str,
    user_id: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    **traits: Any,
) -> Person:
    """Someone who signed up on the web: an identify with their traits, stitched."""
    all_traits = {
        **traits,
        **({"email": email} if email else {}),
        **({"phone": phone} if phone else {}),
    }
    message = {
        "type": "identify",
        "messageId": f"identify-{user_id}",
        "userId": user_id,
        "timestamp": (T0 - timedelta(days=30)).isoformat(),
        "traits": all_traits,
    }
    CollectService(session).ingest(Sender(workspace_id, None), [message], "test")
    run_stitch_jobs(session)
    profile = IdentityService(session).find_profile(workspace_id, "user_id", user_id)
    assert profile is not None
    return Person(profile.id, email, phone)


def consent(
    session: Session,
    workspace_id: str,
    who: Person,
    channel: str,
    status: ConsentStatus = ConsentStatus.GRANTED,
    at: datetime | None = None,
) -> None:
    kind, value = ("email", who.email) if channel == "email" else ("phone", who.phone)
    assert value
    PrivacyService(session).record_consent(
        workspace_id,
        who.profile_id,
        schemas.ConsentCreate(
            identifier_type=kind,
            identifier_value=value,
            purpose="marketing",
            channel=channel,
            status=status,
            source="https://shop.test/signup",
            wording="Yes, send me offers",
            recorded_at=at or T0 - timedelta(days=10),
        ),
        actor="test",
    )


def template(
    session: Session,
    workspace_id: str,
    name: str,
    channel: str = "email",
    body: str = '<p>Hi {{ profile.first_name }}, your cart: <a href="{{ cart.url }}">back</a></p>',
    subject: str = "Still thinking, {{ profile.first_name }}?",
    format: str | None = None,
) -> MessageTemplate:
    return TemplateService(session).create(
        workspace_id,
        TemplateDraft(name=name, channel=channel, body=body, subject=subject, format=format),
        actor="test",
    )


def configure(session: Session, workspace_id: str, settings: Settings, **change: Any) -> None:
    values = {"sms_from": SMS_FROM, "email_from": "Acme <hello@acme.test>", **change}
    MessageSettings(session, settings).change(workspace_id, SettingsChange(**values), "test")


def worker_registry(clock: ManualClock, settings: Settings) -> Registry:
    """Every job kind of the worker, the message ones on ``clock`` and ``settings``."""
    import_handler_modules(TASK_MODULES)
    registry = Registry()
    for kind in default_registry.kinds():
        handler = default_registry.handler(kind)
        if handler is not None and not kind.startswith("message."):
            registry.job_handler(kind, batchable=default_registry.is_batchable(kind))(handler)
    register(registry, clock, settings)
    return registry


def run_jobs(
    factory: sessionmaker[Session], clock: ManualClock, settings: Settings
) -> list[Execution]:
    """Run every job due at ``clock``'s time, as a worker would."""
    worker = Worker(
        factory,
        settings,
        registry=worker_registry(clock, settings),
        clock=clock,
        run_periodic=False,
        random=lambda: 0.5,
    )
    return worker.run_until_idle()
