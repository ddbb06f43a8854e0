"""Journeys are saved as immutable versions, published only when every name they use is
known to the workspace, and paused, resumed and archived by one conditional change each."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from tessera.journey.definition import DefinitionError
from tessera.journey.errors import JourneyNotFound, JourneyStateConflict
from tessera.journey.service import JourneyService
from tessera.models.journey import JourneyStatus
from tessera.models.message import MessageChannel, MessageTemplate, TemplateFormat
from tessera.models.workspace import AuditEntry
from tests.journey.flows import ACTOR, T0, Platform, identify, journey_doc, track
from tests.support.factories import make_workspace


def faults(raised: pytest.ExceptionInfo[DefinitionError]) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = raised.value.extensions["errors"]
    return errors


def test_a_journey_is_created_as_a_draft_with_its_first_version(
    session: Session, workspace_id: str
) -> None:
    """Version 1 holds the definition as checked; nobody can enter a draft."""
    service = JourneyService(session)

    journey = service.create(workspace_id, journey_doc(), actor=ACTOR)

    assert (journey.name, journey.status, journey.live_version, journey.latest_version) == (
        "Abandoned cart",
        JourneyStatus.DRAFT,
        None,
        1,
    )
    [version] = service.versions(workspace_id, journey.id)
    assert version.version == 1
    assert version.definition["steps"][0]["timeout"] == "PT2H"
    assert version.published_at is None


def test_an_invalid_definition_is_refused_and_nothing_is_saved(
    session: Session, workspace_id: str
) -> None:
    """A dangling ``next`` names its step and field; no journey row is left behind."""
    broken = journey_doc()
    broken["steps"][1]["next"] = "nowhere"
    service = JourneyService(session)

    with pytest.raises(DefinitionError) as raised:
        service.create(workspace_id, broken, actor=ACTOR)

    assert faults(raised) == [
        {"step": "sms", "field": "next", "message": "names no step: 'nowhere'"}
    ]
    assert service.list_journeys(workspace_id).items == []


def test_every_save_is_a_new_version_and_earlier_ones_never_change(
    session: Session, workspace_id: str
) -> None:
    """Saving twice makes versions 2 and 3; version 1 keeps its two-hour wait."""
    service = JourneyService(session)
    journey = service.create(workspace_id, journey_doc(), actor=ACTOR)
    longer = journey_doc(name="Abandoned cart, slower")
    longer["steps"][0]["timeout"] = "PT4H"

    service.save_version(workspace_id, journey.id, longer, actor=ACTOR)
    third = service.save_version(workspace_id, journey.id, longer, actor=ACTOR)

    assert third.version == 3
    assert [v.version for v in service.versions(workspace_id, journey.id)] == [3, 2, 1]
    assert service.version(workspace_id, journey.id, 1).definition["steps"][0]["timeout"] == "PT2H"
    assert service.get(workspace_id, journey.id).name == "Abandoned cart, slower"


def test_publishing_makes_the_newest_version_live_and_is_audited(
    session: Session, workspace_id: str
) -> None:
    """E-commerce event names are known everywhere; the version gets its publish time."""
    service = JourneyService(session)
    journey = service.create(workspace_id, journey_doc(), actor=ACTOR)

    published = service.publish(workspace_id, journey.id, actor=ACTOR)

    assert (published.status, published.live_version) == (JourneyStatus.LIVE, 1)
    assert service.version(workspace_id, journey.id, 1).published_at is not None
    actions = [entry.action for entry in session.query(AuditEntry).filter_by(subject=journey.id)]
    assert actions == ["journey.created", "journey.published"]


def test_an_event_nobody_sent_is_refused_at_publish_naming_the_step_and_field(
    session: Session, workspace_id: str
) -> None:
    """A typo in a wait's event would wait forever: refused, and the journey stays a draft."""
    document = journey_doc()
    document["steps"][0]["event"] = "Order Complete"
    service = JourneyService(session)
    journey = service.create(workspace_id, document, actor=ACTOR)

    with pytest.raises(DefinitionError) as raised:
        service.publish(workspace_id, journey.id, actor=ACTOR)

    assert faults(raised) == [
        {
            "step": "wait_order",
            "field": "event",
            "message": "no event 'Order Complete' arrived in this workspace lately, and it is "
            "not a Segment e-commerce event",
        }
    ]
    assert service.get(workspace_id, journey.id).status is JourneyStatus.DRAFT


def test_send_steps_naming_unusable_templates_are_refused_at_publish_by_their_place(
    session: Session, workspace_id: str
) -> None:
    """A misspelt template, an SMS template on an email step, and a template saved before a
    filter it uses stopped existing (it no longer renders): each refused at
    ``steps[i].template``, and the journey stays a draft."""
    session.add(
        MessageTemplate(
            workspace_id=workspace_id,
            name="old_email",
            channel=MessageChannel.EMAIL,
            format=TemplateFormat.HTML,
            subject="Hi",
            body="<p>{{ profile.first_name | shout }}</p>",
            description="",
            created_by=ACTOR,
            updated_by=ACTOR,
            created_at=T0,
            updated_at=T0,
        )
    )
    document = journey_doc()
    document["steps"][1]["template"] = "cart_smss"
    document["steps"][3]["template"] = "cart_sms"
    document["steps"].insert(
        4, {"id": "old", "type": "send_email", "template": "old_email", "next": "done"}
    )
    document["steps"][3]["next"] = "old"
    service = JourneyService(session)
    journey = service.create(workspace_id, document, actor=ACTOR)

    with pytest.raises(DefinitionError) as raised:
        service.publish(workspace_id, journey.id, actor=ACTOR)

    found = [(f["step"], f["field"], f["path"], f["message"]) for f in faults(raised)]
    assert found[:2] == [
        ("sms", "template", "steps[1].template", "no template 'cart_smss' in this workspace"),
        ("email", "template", "steps[3].template", "template 'cart_sms' is for sms, not email"),
    ]
    assert found[2][:3] == ("old", "template", "steps[4].template")
    assert found[2][3].startswith("template 'old_email' does not render: ")
    assert len(found) == 3
    assert raised.value.extensions["field"] == "steps[1].template"
    assert service.get(workspace_id, journey.id).status is JourneyStatus.DRAFT


def test_an_event_and_a_trait_the_workspace_has_seen_are_known(
    platform: Platform, session: Session, workspace_id: str
) -> None:
    """A custom event that arrived, and a trait a profile holds, pass the publish check."""
    platform.send(
        identify("i1", T0, "u1", loyalty_tier="gold"),
        track("e1", "Quiz Finished", T0, user_id="u1"),
    )
    platform.run()
    document = journey_doc(entry={"kind": "event", "event": "Quiz Finished"})
    document["steps"][1] = {
        "id": "sms",
        "type": "condition",
        "condition": {"kind": "trait", "trait": "loyalty_tier", "op": "eq", "value": "gold"},
        "then": "day",
        "otherwise": "done",
    }
    service = JourneyService(session)
    journey = service.create(workspace_id, document, actor=ACTOR)

    assert service.publish(workspace_id, journey.id, actor=ACTOR).status is JourneyStatus.LIVE


def test_unknown_traits_segments_and_audiences_are_refused_each_by_its_place(
    session: Session, workspace_id: str
) -> None:
    """Every unknown name is reported at once, in the definition's order."""
    document = journey_doc(
        entry={
            "kind": "event",
            "event": "Checkout Started",
            "condition": {"kind": "in_segment", "segment": "vip"},
        },
        exits=[
            {
                "kind": "condition",
                "condition": {"kind": "trait", "trait": "churned", "op": "exists"},
            }
        ],
    )
    document["steps"][2] = {
        "id": "day",
        "type": "audience_add",
        "audience": "meta",
        "next": "email",
    }
    service = JourneyService(session)
    journey = service.create(workspace_id, document, actor=ACTOR)

    with pytest.raises(DefinitionError) as raised:
        service.publish(workspace_id, journey.id, actor=ACTOR)

    assert [(f["step"], f["field"]) for f in faults(raised)] == [
        (None, "entry.condition.segment"),
        (None, "exits.0.condition.trait"),
        ("day", "audience"),
    ]
    assert faults(raised)[0]["message"] == "no segment named 'vip' in this workspace"


def test_pause_resume_and_archive_move_only_from_where_they_may(
    session: Session, workspace_id: str
) -> None:
    """Each change is refused (409) from a status it does not apply to, and nothing moves."""
    service = JourneyService(session)
    journey = service.create(workspace_id, journey_doc(), actor=ACTOR)

    with pytest.raises(JourneyStateConflict):
        service.pause(workspace_id, journey.id, actor=ACTOR)
    service.publish(workspace_id, journey.id, actor=ACTOR)
    assert service.pause(workspace_id, journey.id, actor=ACTOR).status is JourneyStatus.PAUSED
    with pytest.raises(JourneyStateConflict):
        service.pause(workspace_id, journey.id, actor=ACTOR)
    resumed = service.resume(workspace_id, journey.id, actor=ACTOR)
    assert (resumed.status, resumed.resumes) == (JourneyStatus.LIVE, 1)
    assert service.archive(workspace_id, journey.id, actor=ACTOR).status is JourneyStatus.ARCHIVED
    for change in (service.archive, service.resume):
        with pytest.raises(JourneyStateConflict):
            change(workspace_id, journey.id, actor=ACTOR)
    with pytest.raises(JourneyStateConflict):
        service.save_version(workspace_id, journey.id, journey_doc(), actor=ACTOR)
    with pytest.raises(JourneyStateConflict):
        service.publish(workspace_id, journey.id, actor=ACTOR)
    assert service.get(workspace_id, journey.id).status is JourneyStatus.ARCHIVED


def test_another_workspaces_journey_is_not_found(session: Session, workspace_id: str) -> None:
    """Ids do not leak across workspaces: reading or publishing it is 404."""
    other = make_workspace(session, "journeys-other")
    journey = JourneyService(session).create(other, journey_doc(), actor=ACTOR)

    with pytest.raises(JourneyNotFound):
        JourneyService(session).get(workspace_id, journey.id)
    with pytest.raises(JourneyNotFound):
        JourneyService(session).publish(workspace_id, journey.id, actor=ACTOR)
