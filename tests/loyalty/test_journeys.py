"""Journeys can enter on loyalty's events: a retail purchase registered through the QR code
starts a welcome journey for the profile it made, and a tier change starts a tier journey."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import tessera.journey.tasks  # noqa: F401  (subscribes journeys to Identify's announcements)
from tessera.journey.service import JourneyService
from tessera.journey.triggers import TRIGGER_JOB, Triggers
from tessera.kit.time import ManualClock
from tessera.loyalty.registration import Registrations
from tessera.loyalty.schemas import RegistrationIn
from tessera.loyalty.service import LoyaltyService
from tessera.models.job import Job, JobStatus
from tessera.models.journey import JourneyInstance
from tessera.models.loyalty import LoyaltyRegistration
from tests.loyalty.world import apply, order, person, product, program, run_jobs
from tests.support.factories import make_workspace


def welcome(event: str) -> dict[str, Any]:
    return {
        "name": f"On {event}",
        "entry": {"kind": "event", "event": event},
        "start": "wait",
        "steps": [
            {"id": "wait", "type": "delay", "duration": "P1D", "next": "done"},
            {"id": "done", "type": "exit"},
        ],
    }


def run_triggers(session: Session, clock: ManualClock) -> None:
    """Loyalty's jobs and stitches, then the journeys' trigger jobs they announced."""
    run_jobs(session, clock)
    for job in session.scalars(
        select(Job).where(Job.kind == TRIGGER_JOB, Job.status == JobStatus.QUEUED)
    ).all():
        job.status = JobStatus.SUCCEEDED
        Triggers(session, job.payload["workspace_id"], clock).events_arrived(job.payload["events"])
    session.flush()


def inside(session: Session, journey_id: str) -> list[str]:
    return list(
        session.scalars(
            select(JourneyInstance.profile_id).where(JourneyInstance.journey_id == journey_id)
        )
    )


def test_a_qr_registration_starts_a_welcome_journey(session: Session, clock: ManualClock) -> None:
    """The second shopper's registration, after the journey is live, enters it on the profile
    the registration made."""
    ws = make_workspace(session, "acme")
    program(session, ws)
    product(session, ws)
    key = LoyaltyService(session).program(ws).registration_key
    form = RegistrationIn(email="lee@example.com", name="Lee", sku="KETTLE-1", serial="S1",
                          retailer="Target", receipt_number="R1")  # fmt: skip
    Registrations(session, clock).register(key, form)
    run_triggers(session, clock)  # the workspace now knows the event
    journey = JourneyService(session).create(ws, welcome("Product Registered"), actor="test")
    JourneyService(session).publish(ws, journey.id, actor="test")

    Registrations(session, clock).register(
        key,
        form.model_copy(
            update={"email": "kim@example.com", "serial": "S2", "receipt_number": "R2"}
        ),
    )
    run_triggers(session, clock)

    kim = session.scalars(
        select(LoyaltyRegistration.profile_id).where(LoyaltyRegistration.serial == "S2")
    ).one()
    assert kim is not None
    assert inside(session, journey.id) == [kim]


def test_a_tier_change_starts_a_journey(session: Session, clock: ManualClock) -> None:
    """Reaching Gold after the tier journey is live enters it once, for that member."""
    ws = make_workspace(session, "acme")
    program(session, ws)
    ana = person(session, ws, "u-ana", "ana@example.com")
    apply(session, ws, order("1", 15000, "ana@example.com"))  # Silver: the event is known
    run_triggers(session, clock)
    journey = JourneyService(session).create(ws, welcome("Loyalty Tier Changed"), actor="test")
    JourneyService(session).publish(ws, journey.id, actor="test")

    apply(session, ws, order("2", 40000, "ana@example.com"))  # Gold
    run_triggers(session, clock)

    assert LoyaltyService(session).member(ws, ana).member.tier == "Gold"
    assert inside(session, journey.id) == [ana]
