"""Each kind of step, run by its job: delays in the recipient's zone across daylight saving,
splits on consent and at random with a holdout, webhooks to a real local server, traits,
and what pausing, resuming and archiving do to people inside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tessera.customer.privacy import PrivacyService
from tessera.customer.profiles import ProfileService
from tessera.customer.schemas import ConsentCreate
from tessera.identity.graph.service import IdentityService
from tessera.job.runner import JobOutcome
from tessera.journey import domain
from tessera.journey.definition import Branch, DefinitionError
from tessera.journey.sending import QUEUED
from tessera.models.identity import ConsentStatus
from tessera.workspace.service import WorkspaceService
from tests.journey.flows import ACTOR, T0, Platform, identify, track
from tests.journey.receiver import webhook_receiver

HOUR = timedelta(hours=1)


def journey(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A journey entered on Checkout Started that runs ``steps`` from the first."""
    return {
        "name": fields.pop("name", "Steps"),
        "entry": {"kind": "event", "event": "Checkout Started"},
        "start": steps[0]["id"],
        "steps": [*steps, {"id": "end", "type": "exit"}],
        **fields,
    }


def checkout(message_id: str, user: str, at: datetime = T0) -> dict[str, Any]:
    return track(message_id, "Checkout Started", at, user_id=user)


def test_a_morning_delay_keeps_each_persons_local_time_across_the_dst_change(
    platform: Platform,
) -> None:
    """New York springs forward on 9 March 2031. Ana (zone trait New York) checks out at 20:00
    on the 8th and gets her email at 9:00 EDT (13:00 UTC); Ben, with no zone, at 9:00 in the
    workspace's Stockholm (08:00 UTC)."""
    WorkspaceService(platform.session).update_workspace(
        platform.workspace_id, ACTOR, time_zone="Europe/Stockholm"
    )
    evening = datetime(2031, 3, 9, 1, 0, tzinfo=UTC)
    platform.clock.now = evening
    flow = platform.live(
        journey(
            {"id": "morning", "type": "delay", "until_local_time": "09:00", "next": "email"},
            {"id": "email", "type": "send_email", "template": "welcome", "next": "end"},
        )
    )
    platform.send(identify("i1", evening, "ana", timezone="America/New_York"))
    platform.run()

    platform.send(checkout("c1", "ana", evening), checkout("c2", "ben", evening))
    platform.run()
    ana, ben = sorted(platform.instances(flow.id), key=lambda i: i.entry_message_id)
    assert ana.wake_at == datetime(2031, 3, 9, 13, 0, tzinfo=UTC)
    assert ben.wake_at == datetime(2031, 3, 9, 8, 0, tzinfo=UTC)

    platform.advance(hours=7, minutes=1)  # 08:01 UTC: Ben's morning, not yet Ana's
    assert platform.path(ben.id)[:2] == [("morning", "waited"), ("email", QUEUED)]
    assert platform.path(ana.id) == []
    platform.advance(hours=5)
    assert platform.path(ana.id) == [
        ("morning", "waited"),
        ("email", QUEUED),
        ("end", "completed"),
    ]


def test_a_consent_split_texts_those_who_said_yes_and_emails_the_others(
    platform: Platform,
) -> None:
    """Ana granted marketing SMS consent for her phone; Ben said nothing."""
    flow = platform.live(
        journey(
            {
                "id": "split",
                "type": "condition",
                "condition": {"kind": "consented", "channel": "sms"},
                "then": "sms",
                "otherwise": "email",
            },
            {"id": "sms", "type": "send_sms", "template": "t_sms", "next": "end"},
            {"id": "email", "type": "send_email", "template": "t_email", "next": "end"},
        )
    )
    platform.send(identify("i1", T0, "ana", phone="+14155550100"), identify("i2", T0, "ben"))
    platform.run()
    ana_profile = IdentityService(platform.session).find_profile(
        platform.workspace_id, "user_id", "ana"
    )
    assert ana_profile is not None
    PrivacyService(platform.session).record_consent(
        platform.workspace_id,
        ana_profile.id,
        ConsentCreate(
            identifier_type="phone",
            identifier_value="+14155550100",
            purpose="marketing",
            channel="sms",
            status=ConsentStatus.GRANTED,
            source="checkout form",
        ),
        actor=ACTOR,
    )
    platform.session.commit()

    platform.send(checkout("c1", "ana"), checkout("c2", "ben"))
    platform.run()

    paths = {i.entry_message_id: platform.path(i.id) for i in platform.instances(flow.id)}
    assert paths == {
        "c1": [("split", "then"), ("sms", QUEUED), ("end", "completed")],
        "c2": [("split", "otherwise"), ("email", QUEUED), ("end", "completed")],
    }


def test_a_holdout_branch_is_drawn_per_instance_and_receives_nothing(
    platform: Platform,
) -> None:
    """Twenty people split 1:1; each takes the branch the instance's hash picks, and those
    held out walk the same steps with their send recorded as ``held_out``."""
    branches = [{"weight": 1, "next": "email"}, {"weight": 1, "next": "email", "holdout": True}]
    flow = platform.live(
        journey(
            {"id": "split", "type": "random", "branches": branches},
            {"id": "email", "type": "send_email", "template": "offer", "next": "end"},
        )
    )

    platform.send(*(checkout(f"c{n}", f"user-{n}") for n in range(20)))
    platform.run()

    instances = platform.instances(flow.id)
    typed = [Branch.model_validate(b) for b in branches]
    held = [i for i in instances if domain.pick_branch(i.id, "split", typed) == 1]
    assert 0 < len(held) < 20
    for instance in instances:
        is_held = instance in held
        assert instance.is_holdout is is_held
        assert platform.path(instance.id) == [
            ("split", "holdout" if is_held else "branch_1"),
            ("email", "held_out" if is_held else QUEUED),
            ("end", "completed"),
        ]


def test_a_webhook_is_posted_with_one_idempotency_key_and_retried_after_a_5xx(
    platform: Platform,
) -> None:
    """The receiver answers 503 first: the job retries, sends the same key again, and the
    person moves on once it answers 200. A 404 is a refusal: recorded, and the person goes on."""
    platform.allow_webhooks("127.0.0.1")
    with webhook_receiver() as receiver:
        flow = platform.live(
            journey(
                {"id": "hook", "type": "webhook", "url": f"{receiver.url}/cart", "next": "mark"},
                {
                    "id": "mark",
                    "type": "set_trait",
                    "trait": "reminded",
                    "value": True,
                    "next": "end",
                },
            )
        )
        receiver.answers.extend([503])
        platform.send(checkout("c1", "ana"))
        outcomes = [e.outcome for e in platform.run() if e.kind == "journey.step_due"]
        assert outcomes == [JobOutcome.RETRYING]

        platform.advance(minutes=30)
        receiver.answers.extend([404])
        platform.send(checkout("c2", "ben", T0 + timedelta(minutes=30)))
        platform.run()

    ana, ben = sorted(platform.instances(flow.id), key=lambda i: i.entry_message_id)
    first, second, third = receiver.received
    assert first.idempotency_key == second.idempotency_key == f"journey:{ana.id}:hook:1"
    assert (first.path, first.body) == (
        "/cart",
        {
            "journey_id": flow.id,
            "instance_id": ana.id,
            "profile_id": ana.profile_id,
            "entry_key": None,
            "step": "hook",
            "at": T0.isoformat(),
        },
    )
    assert third.body["instance_id"] == ben.id
    assert platform.path(ana.id) == [
        ("hook", "called"),
        ("mark", "trait_set"),
        ("end", "completed"),
    ]
    assert platform.path(ben.id)[0] == ("hook", "refused")


def test_a_webhook_to_a_private_address_is_refused_at_publish_and_at_call_time(
    platform: Platform,
) -> None:
    """Without the allow-list, publishing a webhook to 127.0.0.1 is refused at
    ``steps[0].url``. Published while the host was allowed, and called after it no longer
    is, the call is refused: nothing reaches the receiver, the history says why, and the
    person goes on."""
    with webhook_receiver() as receiver:
        document = journey(
            {"id": "hook", "type": "webhook", "url": f"{receiver.url}/cart", "next": "end"}
        )
        service = platform.journeys()
        draft = service.create(platform.workspace_id, document, actor=ACTOR)
        with pytest.raises(DefinitionError) as refused:
            service.publish(platform.workspace_id, draft.id, actor=ACTOR)
        platform.allow_webhooks("127.0.0.0/8")
        platform.journeys().publish(platform.workspace_id, draft.id, actor=ACTOR)
        platform.session.commit()
        platform.allow_webhooks()

        platform.send(checkout("c1", "ana"))
        platform.run()

    assert refused.value.extensions["field"] == "steps[0].url"
    assert refused.value.faults[0].message == (
        "127.0.0.1 is not a public address; webhooks go to public addresses"
    )
    [instance] = platform.instances(draft.id)
    assert receiver.received == []
    assert platform.path(instance.id) == [("hook", "refused"), ("end", "completed")]
    [run] = platform.history(instance.id)[:1]
    assert run.detail == {
        "destination": "127.0.0.1 is not a public address; webhooks go to public addresses"
    }


def test_set_trait_writes_the_trait_on_the_profile_for_the_next_step_to_read(
    platform: Platform,
) -> None:
    """Ana's checkout marks her ``cart_reminded`` (stamped with the visit's time) and the
    condition right after reads it from her profile; a value she states later wins, an
    older statement replayed does not."""
    platform.send(identify("i0", T0 - HOUR, "ana", cart_reminded=False))
    platform.run()
    flow = platform.live(
        journey(
            {
                "id": "mark",
                "type": "set_trait",
                "trait": "cart_reminded",
                "value": True,
                "next": "check",
            },
            {
                "id": "check",
                "type": "condition",
                "condition": {"kind": "trait", "trait": "cart_reminded", "op": "eq", "value": True},
                "then": "end",
                "otherwise": "end",
            },
        )
    )

    platform.send(checkout("c1", "ana"))
    platform.run()
    [instance] = platform.instances(flow.id)
    marked = ProfileService(platform.session).resolve(platform.workspace_id, instance.profile_id)
    traits, stamps = dict(marked.traits), dict(marked.trait_stamps)
    platform.send(identify("i-old", T0 - 2 * HOUR, "ana", cart_reminded="old"))
    platform.run()
    replayed = ProfileService(platform.session).resolve(platform.workspace_id, instance.profile_id)
    assert replayed.traits["cart_reminded"] is True
    platform.send(identify("i-new", T0 + HOUR, "ana", cart_reminded="later"))
    platform.clock.advance(HOUR)
    platform.run()
    later = ProfileService(platform.session).resolve(platform.workspace_id, instance.profile_id)

    assert platform.path(instance.id) == [
        ("mark", "trait_set"),
        ("check", "then"),
        ("end", "completed"),
    ]
    assert (traits["cart_reminded"], stamps["cart_reminded"]) == (True, T0.isoformat())
    assert later.traits["cart_reminded"] == "later"


def test_a_paused_journey_holds_people_where_they_are_until_resumed(platform: Platform) -> None:
    """Paused at 30 min: nobody new enters, and the hour's delay that ends meanwhile waits on
    the shelf; resumed at three hours, the person goes on at once."""
    flow = platform.live(
        journey(
            {"id": "wait", "type": "delay", "duration": "PT1H", "next": "email"},
            {"id": "email", "type": "send_email", "template": "t", "next": "end"},
        )
    )
    platform.send(checkout("c1", "ana"))
    platform.run()
    platform.clock.advance(timedelta(minutes=30))
    platform.journeys().pause(platform.workspace_id, flow.id, actor=ACTOR)
    platform.session.commit()

    platform.send(checkout("c2", "ben", T0 + timedelta(minutes=30)))
    platform.advance(hours=2)
    [parked] = platform.instances(flow.id)
    assert (parked.is_parked, parked.current_step, platform.path(parked.id)) == (True, "wait", [])

    platform.clock.advance(timedelta(minutes=30))
    platform.journeys().resume(platform.workspace_id, flow.id, actor=ACTOR)
    platform.run()

    [resumed] = platform.instances(flow.id)
    assert platform.path(resumed.id) == [
        ("wait", "waited"),
        ("email", QUEUED),
        ("end", "completed"),
    ]
    assert resumed.left_at == T0 + 3 * HOUR


def test_archiving_lets_everyone_out_and_counts_show_where_people_are(
    platform: Platform,
) -> None:
    """Per step: visits begun, people waiting there, and people who left there by reason."""
    flow = platform.live(
        journey(
            {"id": "wait", "type": "delay", "duration": "PT2H", "next": "email"},
            {"id": "email", "type": "send_email", "template": "t", "next": "end"},
        )
    )
    platform.send(checkout("c1", "ana"))
    platform.run()
    platform.advance(hours=3)
    platform.send(checkout("c2", "ben", T0 + 3 * HOUR))
    platform.run()
    service = platform.journeys()

    before = service.step_counts(platform.workspace_id, flow.id)
    service.archive(platform.workspace_id, flow.id, actor=ACTOR)
    platform.session.commit()
    platform.advance(hours=3)
    after = service.step_counts(platform.workspace_id, flow.id)

    assert {s: (c.entered, c.waiting, c.exited) for s, c in before.items()} == {
        "wait": (2, 1, {}),
        "email": (1, 0, {}),
        "end": (1, 0, {"completed": 1}),
    }
    assert {s: (c.entered, c.waiting, c.exited) for s, c in after.items()} == {
        "wait": (2, 0, {"archived": 1}),
        "email": (1, 0, {}),
        "end": (1, 0, {"completed": 1}),
    }
