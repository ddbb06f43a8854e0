"""A journey's metrics: people in and out, its messages sent, delivered and clicked per step,
orders on any channel within the window after entry, and holdout against treatment; through
the service, ``GET /v1/journeys/{id}/metrics`` and ``tessera journeys metrics`` (the page's
test is with the dashboard's)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.identity.graph.service import IdentityService
from tessera.journey.metrics import MetricsService
from tessera.kit.errors import InvalidInput
from tessera.kit.time import ManualClock
from tessera.message.feedback import Feedback
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.models.journey import JourneyInstance
from tests.journey.flows import ACTOR, T0, Platform, identify, store_order, track
from tests.message.world import Person, configure, consent, message_settings
from tests.support.cli import invoke
from tests.support.factories import make_tenant
from tests.support.fake_sms import SmsState
from tests.support.smtp_server import Mailbox

DAY = timedelta(days=1)
PEOPLE = 16  # a 1:1 split leaves a group empty once in 2**15 runs, not once in 128
OFFER: dict[str, Any] = {
    "name": "Offer",
    "entry": {"kind": "event", "event": "Checkout Started"},
    "start": "split",
    "steps": [
        {
            "id": "split",
            "type": "random",
            "branches": [
                {"weight": 1, "next": "email"},
                {"weight": 1, "next": "end", "holdout": True},
            ],
        },
        {"id": "email", "type": "send_email", "template": "offer", "next": "end"},
        {"id": "end", "type": "exit"},
    ],
}


@pytest.fixture
def settings(
    database_url: str, smtp: tuple[int, Mailbox], sms_server: tuple[str, SmsState]
) -> Settings:
    return message_settings(database_url, smtp[0], sms_server[0])


@pytest.fixture
def platform(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace_id: str,
    clock: ManualClock,
) -> Platform:
    """The platform whose worker also sends, to the local SMTP server."""
    return Platform(session, session_factory, settings, workspace_id, clock, messages=True)


def email(n: int) -> str:
    return f"buyer{n}@example.com"


def run_offer(platform: Platform, settings: Settings) -> tuple[str, list[JourneyInstance]]:
    """Sixteen people who said yes to email check out; the split holds some out, the others get
    the offer by email. The first email is reported delivered and its link clicked. Person n
    orders in a store n days after entering when n is even (day 0, 2, 4, 6); person 7 on
    day 8, outside the week."""
    configure(platform.session, platform.workspace_id, settings)
    TemplateService(platform.session).create(
        platform.workspace_id,
        TemplateDraft(
            name="offer", channel="email", subject="10% off",
            body='<p>Hi {{ profile.first_name }}, <a href="https://shop.example/offer">shop</a></p>',
        ),
        actor=ACTOR,
    )  # fmt: skip
    platform.send(
        *(
            identify(f"i{n}", T0 - DAY, f"u{n}", email=email(n), first_name="B")
            for n in range(PEOPLE)
        )
    )
    platform.run()
    for n in range(PEOPLE):
        profile = IdentityService(platform.session).find_profile(
            platform.workspace_id, "user_id", f"u{n}"
        )
        assert profile is not None
        consent(
            platform.session, platform.workspace_id, Person(profile.id, email(n), None), "email"
        )
    journey = platform.live(OFFER)
    platform.send(*(track(f"c{n}", "Checkout Started", T0, user_id=f"u{n}") for n in range(PEOPLE)))
    platform.run()
    instances = platform.instances(journey.id)
    sent = [m for i in instances for m in platform.messages(i.id)]
    feedback = Feedback(platform.session, platform.clock)
    feedback.email_event(platform.workspace_id, sent[0].id, "delivered", "")
    assert feedback.click(sent[0].id, 0) == "https://shop.example/offer"
    platform.session.commit()
    for n, at in [(0, 0), (2, 2), (4, 4), (6, 6), (7, 8)]:
        platform.order(store_order(f"S-{n}", T0 + at * DAY + timedelta(hours=1), email(n)))
    platform.advance(days=9)
    return journey.id, instances


def buyer(instance: JourneyInstance, platform: Platform) -> int:
    return int(str(instance.entry_message_id).removeprefix("c"))


def test_metrics_count_people_messages_and_orders_within_the_window_against_the_holdout(
    platform: Platform, settings: Settings
) -> None:
    """Treatment people got the email (sent per step, one delivered, one clicked); four
    people ordered within 7 days (one of them held out or not as the hash says), $42 each;
    widening the window to 10 days counts person 7's order too."""
    journey_id, instances = run_offer(platform, settings)
    held = {i.id for i in instances if i.is_holdout}
    treated = [i for i in instances if i.id not in held]
    converted = {i.id for i in instances if buyer(i, platform) in (0, 2, 4, 6)}

    week = MetricsService(platform.session).metrics(platform.workspace_id, journey_id)
    ten_days = MetricsService(platform.session).metrics(platform.workspace_id, journey_id, 10)

    assert 0 < len(held) < PEOPLE
    assert (week.entered, week.inside, week.exited) == (PEOPLE, 0, {"completed": PEOPLE})
    assert (week.sent, week.delivered, week.clicked) == (len(treated), 1, 1)
    steps = {s.step: (s.entered, s.queued, s.sent, s.delivered, s.clicked) for s in week.steps}
    assert steps == {
        "split": (PEOPLE, 0, 0, 0, 0),
        "email": (len(treated), len(treated), len(treated), 1, 1),
        "end": (PEOPLE, 0, 0, 0, 0),
    }
    assert (week.conversion.people, week.conversion.converted, week.conversion.revenue) == (
        PEOPLE, 4, {"USD": 4 * 4200},
    )  # fmt: skip
    [split] = week.splits
    assert (split.step, split.holdout.people, split.treatment.people) == (
        "split", len(held), len(treated),
    )  # fmt: skip
    assert split.holdout.converted == len(converted & held)
    assert split.treatment.converted == len(converted - held)
    assert split.lift == round(split.treatment.rate - split.holdout.rate, 4)
    assert (ten_days.conversion.converted, ten_days.conversion.revenue) == (5, {"USD": 5 * 4200})


def test_a_window_outside_a_day_to_ninety_is_refused(session: Session, workspace_id: str) -> None:
    """0 and 91 days name the field ``window_days``."""
    for days in (0, 91):
        with pytest.raises(InvalidInput) as refused:
            MetricsService(session).metrics(workspace_id, "jrn_nope", days)
        assert refused.value.extensions["field"] == "window_days"


def test_the_api_and_the_cli_show_the_same_numbers(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: ManualClock,
    client: TestClient,
) -> None:
    """The API answers the service's numbers (422 for a bad window); the CLI prints them."""
    tenant = make_tenant(session, "metrics")
    platform = Platform(session, session_factory, settings, tenant.workspace_id, clock,
                        messages=True)  # fmt: skip
    journey_id, instances = run_offer(platform, settings)
    treated = len([i for i in instances if not i.is_holdout])

    answer = client.get(f"/v1/journeys/{journey_id}/metrics", headers=tenant.auth)
    bad = client.get(f"/v1/journeys/{journey_id}/metrics?window_days=0", headers=tenant.auth)
    code, output = invoke(settings, session_factory, "journeys", "metrics", journey_id,
                          "-w", "metrics")  # fmt: skip

    body = answer.json()
    assert answer.status_code == 200
    assert (body["entered"], body["sent"], body["window_days"]) == (PEOPLE, treated, 7)
    assert body["conversion"] == {
        "people": PEOPLE, "converted": 4, "rate": 0.25, "revenue": {"USD": 16800},
    }  # fmt: skip
    assert [s["step"] for s in body["splits"]] == ["split"]
    assert bad.status_code == 422
    assert code == 0, output
    assert f"messages: {treated} sent, 1 delivered, 1 clicked" in output
    assert "converted within 7 days: 4/16 (25.0%), revenue 168.00 USD" in output
