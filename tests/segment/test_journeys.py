"""Journeys on segments: entering a segment enters a journey with a segment entry, an
``in_segment`` condition reads membership, and ``audience_add`` fills an audience."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tessera.journey.definition import DefinitionError
from tessera.journey.service import JourneyService
from tessera.segment.service import SegmentService
from tests.journey.flows import ACTOR, Platform, store_order

VIP = {"kind": "orders", "min_spent": 8000, "currency": "USD"}
WELCOME_VIP: dict[str, Any] = {
    "name": "Welcome VIPs",
    "entry": {"kind": "segment", "segment": "VIP"},
    "start": "still_vip",
    "steps": [
        {
            "id": "still_vip",
            "type": "condition",
            "condition": {"kind": "in_segment", "segment": "VIP"},
            "then": "list",
            "otherwise": "done",
        },
        {"id": "list", "type": "audience_add", "audience": "VIP ads", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


def test_entering_a_segment_enters_the_journey_and_fills_the_audience(
    platform: Platform,
) -> None:
    """A second store sale makes Ada a VIP: she enters the journey, is still a VIP at its
    condition, and lands in the audience; her first sale alone entered nobody."""
    service = SegmentService(platform.session, platform.clock)
    service.create(platform.workspace_id, "VIP", VIP)
    audience = service.create_audience(platform.workspace_id, "VIP ads", actor=ACTOR)
    journey = platform.live(WELCOME_VIP)
    platform.order(store_order("S-1", platform.clock(), "ada@example.com"))
    platform.run()
    assert platform.instances(journey.id) == []

    platform.order(store_order("S-2", platform.clock() + timedelta(minutes=1), "ada@example.com"))
    platform.run()

    [instance] = platform.instances(journey.id)
    assert platform.path(instance.id) == [
        ("still_vip", "then"),
        ("list", "added"),
        ("done", "completed"),
    ]
    assert service.audience_members(platform.workspace_id, audience.id) == [instance.profile_id]


def test_publishing_refuses_a_segment_or_audience_that_does_not_exist(
    session: Session, workspace_id: str
) -> None:
    """Both names are refused, each at its field; with both made, the journey publishes."""
    journeys = JourneyService(session)
    journey = journeys.create(workspace_id, WELCOME_VIP, actor=ACTOR)

    with pytest.raises(DefinitionError) as raised:
        journeys.publish(workspace_id, journey.id, actor=ACTOR)
    service = SegmentService(session)
    service.create(workspace_id, "VIP", VIP)
    service.create_audience(workspace_id, "VIP ads", actor=ACTOR)
    published = journeys.publish(workspace_id, journey.id, actor=ACTOR)

    assert [(f.step, f.field, f.message) for f in raised.value.faults] == [
        (None, "entry.segment", "no segment named 'VIP' in this workspace"),
        ("still_vip", "condition.segment", "no segment named 'VIP' in this workspace"),
        ("list", "audience", "no audience named 'VIP ads' in this workspace"),
    ]
    assert published.live_version == 1
