"""Events from any channel move people through journeys: they enter (once per key), an awaited
event with their key moves them on, an order on any channel makes them leave, and merges and
erasure take effect at once. Everything runs through the real jobs: ingest, stitch, trigger,
step."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tessera.customer.privacy import PrivacyService
from tessera.job.service import JobService
from tessera.journey.sending import QUEUED
from tessera.journey.triggers import TRIGGER_JOB
from tessera.models.job import Job, JobStatus
from tessera.models.journey import JourneyStepRun
from tests.journey.flows import ACTOR, T0, Platform, identify, journey_doc, store_order, track

ANA = "ana@example.com"
HOUR = timedelta(hours=1)


def checkout(message_id: str, cart: str, at_hours: float = 0, user: str = "u1", **extra: object):  # type: ignore[no-untyped-def]
    return track(
        message_id,
        "Checkout Started",
        T0 + timedelta(hours=at_hours),
        user_id=user,
        cart_id=cart,
        **extra,
    )


def test_an_abandoned_cart_times_out_texts_waits_a_day_emails_and_completes(
    platform: Platform,
) -> None:
    """Nothing happens before the two hours; then the SMS and, a day later, the email are
    queued in the outbox with their idempotency keys and the journey as their origin, and the
    person completes the journey."""
    journey = platform.live(journey_doc())
    platform.send(checkout("c1", "cart-1"))
    platform.run()
    [inside] = platform.instances(journey.id)
    assert (inside.current_step, inside.awaiting_event, inside.awaiting_key, inside.wake_at) == (
        "wait_order",
        "Order Completed",
        "cart-1",
        T0 + 2 * HOUR,
    )

    platform.advance(hours=1, minutes=59)
    assert platform.path(inside.id) == []
    platform.advance(minutes=1)
    platform.advance(hours=24)

    [done] = platform.instances(journey.id)
    assert platform.path(done.id) == [
        ("wait_order", "timeout"),
        ("sms", QUEUED),
        ("day", "waited"),
        ("email", QUEUED),
        ("done", "completed"),
    ]
    assert (done.exit_reason, done.left_at, done.entry_key) == (
        "completed",
        T0 + 26 * HOUR,
        "cart-1",
    )
    sms_run = platform.session.scalar(
        select(JourneyStepRun).where(
            JourneyStepRun.instance_id == done.id, JourneyStepRun.visit == 2
        )
    )
    sms, email = platform.messages(done.id)
    assert sms_run is not None
    assert (sms_run.at, sms_run.detail) == (
        T0 + 2 * HOUR,
        {"channel": "sms", "template": "cart_sms", "message_id": sms.id},
    )
    assert [
        (m.channel.value, m.template_name, m.idempotency_key, m.queued_at, m.origin)
        for m in (sms, email)
    ] == [
        (
            "sms",
            "cart_sms",
            f"journey:{done.id}:sms:2",
            T0 + 2 * HOUR,
            {"kind": "journey", "journey_id": journey.id, "instance_id": done.id, "step": "sms"},
        ),
        (
            "email",
            "cart_email",
            f"journey:{done.id}:email:4",
            T0 + 26 * HOUR,
            {"kind": "journey", "journey_id": journey.id, "instance_id": done.id, "step": "email"},
        ),
    ]


def test_only_the_awaited_event_with_the_carts_key_moves_the_person_on(
    platform: Platform,
) -> None:
    """An order for another checkout changes nothing; the one for this cart ends the wait."""
    journey = platform.live(journey_doc())
    platform.send(checkout("c1", "cart-1"))
    platform.run()

    platform.clock.advance(HOUR)
    platform.send(
        track("o1", "Order Completed", T0 + HOUR, user_id="u1", order_id="7", checkout_id="cart-9")
    )
    platform.run()
    [waiting] = platform.instances(journey.id)
    assert (waiting.current_step, waiting.left_at) == ("wait_order", None)

    platform.send(
        track("o2", "Order Completed", T0 + HOUR, user_id="u1", order_id="8", checkout_id="cart-1")
    )
    platform.run()
    platform.advance(hours=30)  # the timeout finds its visit gone

    [done] = platform.instances(journey.id)
    assert platform.path(done.id) == [("wait_order", "event"), ("done", "completed")]
    assert (done.exit_reason, done.left_at) == ("completed", T0 + HOUR)


def test_a_store_sale_on_another_channel_ends_the_journey_before_any_message(
    platform: Platform,
) -> None:
    """A checkout started on TikTok Shop, then a sale rung up in a store an hour later (found
    through the same email): the person leaves ("ordered") and no SMS is ever queued."""
    journey = platform.live(journey_doc())
    platform.send(checkout("c1", "cart-1", channel="tiktok_shop", traits={"email": ANA}))
    platform.run()

    platform.clock.advance(HOUR)
    platform.order(store_order("S-1", T0 + HOUR, ANA))
    platform.run()
    platform.advance(hours=30)

    [left] = platform.instances(journey.id)
    assert (left.exit_reason, left.current_step, left.left_at) == (
        "ordered",
        "wait_order",
        T0 + HOUR,
    )
    assert (platform.path(left.id), platform.messages(left.id)) == ([], [])


def test_an_order_placed_before_entering_does_not_count(platform: Platform) -> None:
    """A store sale from yesterday imported late is not "ordered since entry": the SMS goes."""
    journey = platform.live(journey_doc())
    platform.send(checkout("c1", "cart-1", traits={"email": ANA}))
    platform.run()

    platform.order(store_order("S-0", T0 - timedelta(days=1), ANA))
    platform.run()
    platform.advance(hours=2)

    [instance] = platform.instances(journey.id)
    assert platform.path(instance.id)[:2] == [("wait_order", "timeout"), ("sms", QUEUED)]


def test_exit_rules_are_read_again_just_before_a_send(platform: Platform) -> None:
    """The order is linked to the person but its trigger job has not run (a backlog): the send
    step reads the orders itself and the person leaves at the SMS, which is never queued."""
    document = journey_doc()
    document["steps"][0]["on_timeout"] = "hold"
    document["steps"].append({"id": "hold", "type": "delay", "duration": "PT1H", "next": "sms"})
    journey = platform.live(document)
    platform.send(checkout("c1", "cart-1", traits={"email": ANA}))
    platform.run()
    platform.advance(hours=2)  # timed out; now in the hour's delay

    platform.order(store_order("S-1", T0 + 2 * HOUR, ANA))
    queued = platform.session.scalars(
        select(Job).where(Job.kind.in_(["identity.stitch"]), Job.status == JobStatus.QUEUED)
    ).all()
    assert len(queued) == 1
    platform.worker.run_until_idle(max_jobs=1)  # the stitch links the order to Ana
    for job in platform.session.scalars(
        select(Job).where(Job.kind == TRIGGER_JOB, Job.status == JobStatus.QUEUED)
    ).all():
        JobService(platform.session).cancel(job.id)
    platform.advance(hours=1)

    [left] = platform.instances(journey.id)
    assert (left.exit_reason, left.current_step) == ("ordered", "sms")
    assert platform.path(left.id) == [("wait_order", "timeout"), ("hold", "waited")]


def test_one_instance_per_person_and_key_is_inside_and_never_means_never(
    platform: Platform,
) -> None:
    """The same cart twice while inside enters once; another cart enters; with re-entry
    ``never`` the first cart cannot come back after leaving, even with a new event."""
    journey = platform.live(journey_doc(reentry={"mode": "never"}))

    platform.send(checkout("c1", "cart-1"), checkout("c2", "cart-1", 0.5), checkout("c3", "cart-2"))
    platform.run()
    platform.advance(hours=30)
    platform.send(checkout("c4", "cart-1", 31))
    platform.run()

    assert sorted((i.entry_key, i.entry_message_id) for i in platform.instances(journey.id)) == [
        ("cart-1", "c1"),
        ("cart-2", "c3"),
    ]


def test_after_exit_a_person_comes_back_once_the_cooldown_has_passed(
    platform: Platform,
) -> None:
    """Cooldown of two days since the last entry: a day after leaving is too soon; later is not."""
    journey = platform.live(journey_doc(reentry={"mode": "after_exit", "cooldown": "P2D"}))
    platform.send(checkout("c1", "cart-1"))
    platform.run()
    platform.advance(hours=30)  # completed at 26 h

    platform.send(checkout("c2", "cart-1", 31))
    platform.run()
    platform.clock.advance(timedelta(hours=20))
    platform.send(checkout("c3", "cart-1", 51))
    platform.run()

    assert [i.entry_message_id for i in platform.instances(journey.id)] == ["c1", "c3"]


def test_entries_need_their_key_their_channel_and_their_condition(platform: Platform) -> None:
    """A keyed journey cannot hold a checkout without a cart id; a channel filter and an entry
    condition on a trait keep the others out."""
    document = journey_doc(
        entry={
            "kind": "event",
            "event": "Checkout Started",
            "key": "properties.cart_id",
            "channels": ["tiktok_shop"],
            "condition": {"kind": "trait", "trait": "email", "op": "exists"},
        }
    )
    journey = platform.live(document)

    platform.send(
        track("k1", "Checkout Started", T0, user_id="u1", channel="tiktok_shop"),
        checkout("k2", "cart-2", channel="web", traits={"email": ANA}),
        checkout("k3", "cart-3", user="u3", channel="tiktok_shop"),
        checkout("k4", "cart-4", user="u2", channel="tiktok_shop", traits={"email": "b@x.io"}),
    )
    platform.run()

    assert [i.entry_message_id for i in platform.instances(journey.id)] == ["k4"]


def test_publishing_a_new_version_moves_nobody_already_inside(platform: Platform) -> None:
    """Ana entered version 1 (two hours' wait); Ben enters version 2 (four hours): each times
    out on their own version's schedule."""
    journey = platform.live(journey_doc())
    platform.send(checkout("c1", "cart-1", user="ana"))
    platform.run()
    slower = journey_doc()
    slower["steps"][0]["timeout"] = "PT4H"
    service = platform.journeys()
    service.save_version(platform.workspace_id, journey.id, slower, actor=ACTOR)
    service.publish(platform.workspace_id, journey.id, actor=ACTOR)
    platform.send(checkout("c2", "cart-2", user="ben"))
    platform.run()

    platform.advance(hours=3)

    ana, ben = platform.instances(journey.id)
    assert (ana.version, ana.current_step) == (1, "day")
    assert (ben.version, ben.current_step, ben.wake_at) == (2, "wait_order", T0 + 4 * HOUR)


def test_when_two_people_turn_out_to_be_one_only_one_instance_goes_on(
    platform: Platform,
) -> None:
    """A web visitor and an app user each started cart-1; an identify joins them. The
    survivor's instance goes on; the other leaves ("merged"). A cart only the absorbed profile
    had moves to the survivor and goes on."""
    journey = platform.live(journey_doc())
    platform.send(
        track("w1", "Checkout Started", T0, anonymous_id="anon-1", cart_id="cart-1"),
        track("w2", "Checkout Started", T0, anonymous_id="anon-1", cart_id="cart-7"),
    )
    platform.run()
    platform.send(checkout("a1", "cart-1", 0.1, user="ana"))
    platform.run()

    platform.clock.advance(timedelta(minutes=30))
    platform.send({**identify("join", T0 + timedelta(minutes=30), "ana"), "anonymousId": "anon-1"})
    platform.run()

    instances = platform.instances(journey.id)
    going_on = [i for i in instances if i.exit_reason is None]
    assert sorted((i.entry_key, i.exit_reason or "inside") for i in instances) == [
        ("cart-1", "inside"),
        ("cart-1", "merged"),
        ("cart-7", "inside"),
    ]
    assert len({i.profile_id for i in going_on}) == 1
    platform.advance(hours=30)
    completed = [i for i in platform.instances(journey.id) if i.exit_reason == "completed"]
    assert sorted(i.entry_key for i in completed) == ["cart-1", "cart-7"]


def test_an_erased_person_leaves_every_journey_at_once(platform: Platform) -> None:
    """Erasure ends the instance in its own transaction ("erased", key forgotten); the step
    job due later finds nothing to do and nothing is ever queued."""
    journey = platform.live(journey_doc())
    platform.send(checkout("c1", "cart-1", traits={"email": ANA}))
    platform.run()
    [inside] = platform.instances(journey.id)

    PrivacyService(platform.session).erase(platform.workspace_id, inside.profile_id, actor=ACTOR)
    platform.session.commit()
    platform.advance(hours=30)

    [erased] = platform.instances(journey.id)
    assert (erased.exit_reason, erased.entry_key, erased.current_step) == (
        "erased",
        "",
        "wait_order",
    )
    assert platform.path(erased.id) == []


def test_nothing_is_queued_for_a_workspace_without_live_journeys(platform: Platform) -> None:
    """A draft journey listens to nothing: the stitch announces, no trigger job is made."""
    platform.journeys().create(platform.workspace_id, journey_doc(), actor=ACTOR)
    platform.session.commit()

    platform.send(checkout("c1", "cart-1"))
    kinds = [execution.kind for execution in platform.run()]

    assert TRIGGER_JOB not in kinds
    assert "identity.stitch" in kinds
