"""Where journeys meet segments and audiences (the ``segment`` package), kept apart from the
runtime's modules so each of them changes by a line.

A ``segment`` entry is an entry on the ``Segment Entered`` event the segment package records
when someone enters (its ``properties.segment`` is the segment's name), so it goes through
the triggers' one path: re-entry rules, the unique index of people inside, the event's message
id entering once. ``in_segment`` asks the materialised membership now. ``audience_add`` and
``audience_remove`` change the list at once; both are idempotent, so a visit run twice changes
it once. Publishing refuses a segment or audience the workspace does not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.errors import ProfileNotFound
from tessera.journey.definition import AudienceChange, EventEntry, Fault, SegmentEntry, Use
from tessera.models.journey import JourneyInstance
from tessera.segment.membership import ENTERED
from tessera.segment.service import SegmentService

SEGMENT_ENTERED = ENTERED


def entered_segment(entry: SegmentEntry, message: Mapping[str, Any]) -> bool:
    """Whether a ``Segment Entered`` event is an entry into ``entry``'s segment."""
    properties = message.get("properties")
    return isinstance(properties, Mapping) and properties.get("segment") == entry.segment


def as_event_entry(entry: SegmentEntry) -> EventEntry:
    """The event entry a segment entry stands for (no key, any channel, no condition)."""
    return EventEntry(event=SEGMENT_ENTERED)


def in_segment(session: Session, workspace_id: str, profile_id: str, segment: str) -> bool:
    return SegmentService(session).is_member(workspace_id, segment, profile_id)


def change_audience(
    session: Session, instance: JourneyInstance, step: AudienceChange
) -> tuple[str, dict[str, Any]]:
    """Add the person to (or remove them from) the step's audience: the visit's outcome and
    what to record. A person erased since is ``skipped``."""
    add = step.type == "audience_add"
    try:
        changed = SegmentService(session).change_audience(
            instance.workspace_id,
            step.audience,
            instance.profile_id,
            add=add,
            actor=f"journey:{instance.journey_id}",
        )
    except ProfileNotFound:
        return "skipped", {"reason": "profile erased"}
    outcome = ("added" if add else "removed") if changed else "unchanged"
    return outcome, {"audience": step.audience}


def unknown_name(session: Session, workspace_id: str, use: Use) -> Fault | None:
    """A fault for a segment or audience the workspace does not have, else None."""
    service = SegmentService(session)
    known = (
        service.names(workspace_id)
        if use.kind == "segment"
        else service.audience_names(workspace_id)
    )
    if use.name in known:
        return None
    return Fault(use.step, use.field, f"no {use.kind} named {use.name!r} in this workspace")
