"""``/v1/journeys``: journeys, their versions, publishing, and the people inside.

Anyone with a key reads (a journey's metrics too); marketers and above change journeys. A
definition is refused as ``invalid-journey`` problem+json with one entry per fault in
``errors``, each naming the step (or null for the journey) and the field.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Body, Query, status

from tessera.http.routing import DbSession, router
from tessera.journey import library
from tessera.journey.metrics import (
    DEFAULT_WINDOW_DAYS,
    MAX_WINDOW_DAYS,
    Conversion,
    MetricsService,
)
from tessera.journey.schemas import (
    DEFINITION_EXAMPLE,
    InstalledOut,
    InstanceOut,
    InstancePage,
    JourneyDetail,
    JourneyListItem,
    JourneyOut,
    JourneyPage,
    MetricsOut,
    PublishIn,
    ShippedJourneyOut,
    StepCountOut,
    VersionDetail,
    VersionOut,
)
from tessera.journey.service import JourneyService
from tessera.models.journey import Journey, JourneyStatus
from tessera.workspace.auth import Marketer, Viewer

api = router(prefix="/v1", tags=["journeys"])
DefinitionBody = Body(
    ...,
    description="A journey definition: entry, re-entry, exit rules and the graph of steps",
    examples=[DEFINITION_EXAMPLE],
)


def _detail(service: JourneyService, workspace_id: str, journey: Journey) -> JourneyDetail:
    versions = service.versions(workspace_id, journey.id)
    counts = service.step_counts(workspace_id, journey.id)
    return JourneyDetail(
        **JourneyOut.model_validate(journey).model_dump(),
        versions=[VersionOut.model_validate(v) for v in versions],
        definition=versions[0].definition,
        steps=[
            StepCountOut(step=c.step, entered=c.entered, waiting=c.waiting, exited=c.exited)
            for c in counts.values()
        ],
    )


@api.get("/journeys", response_model=JourneyPage, summary="List journeys, newest first")
def list_journeys(
    principal: Viewer,
    session: DbSession,
    status_filter: JourneyStatus | None = Query(default=None, alias="status"),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> JourneyPage:
    service = JourneyService(session)
    page = service.list_journeys(principal.workspace_id, status_filter, cursor, limit)
    inside = service.inside_counts([j.id for j in page.items])
    return JourneyPage(
        items=[
            JourneyListItem(**JourneyOut.model_validate(j).model_dump(), inside=inside.get(j.id, 0))
            for j in page.items
        ],
        next_cursor=page.next_cursor,
    )


@api.post(
    "/journeys",
    response_model=JourneyDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Create a draft journey from a definition (its version 1)",
)
def create_journey(
    principal: Marketer, session: DbSession, document: dict[str, Any] = DefinitionBody
) -> JourneyDetail:
    service = JourneyService(session)
    journey = service.create(principal.workspace_id, document, actor=principal.actor)
    return _detail(service, principal.workspace_id, journey)


@api.get(
    "/journeys/library",
    response_model=list[ShippedJourneyOut],
    summary="The journeys shipped with Tessera, ready to install",
)
def list_shipped(principal: Viewer) -> list[ShippedJourneyOut]:
    return [
        ShippedJourneyOut(
            name=j.name,
            title=j.title,
            description=j.description,
            entry_event=j.entry_event,
            templates=[str(t.name) for t in j.templates],
            definition=j.definition,
        )
        for j in library.shipped()
    ]


@api.post(
    "/journeys/library/{name}/install",
    response_model=InstalledOut,
    status_code=status.HTTP_201_CREATED,
    summary="Install a shipped journey as a draft, with the templates it sends that are missing",
)
def install_shipped(name: str, principal: Marketer, session: DbSession) -> InstalledOut:
    found = library.install(session, principal.workspace_id, name, actor=principal.actor)
    return InstalledOut(
        journey=JourneyOut.model_validate(found.journey),
        created_templates=found.created_templates,
        kept_templates=found.kept_templates,
    )


@api.get(
    "/journeys/{journey_id}",
    response_model=JourneyDetail,
    summary="One journey: its versions, newest definition and per-step counts",
)
def get_journey(journey_id: str, principal: Viewer, session: DbSession) -> JourneyDetail:
    service = JourneyService(session)
    return _detail(service, principal.workspace_id, service.get(principal.workspace_id, journey_id))


@api.get(
    "/journeys/{journey_id}/versions/{version}",
    response_model=VersionDetail,
    summary="One version of a journey, with its definition",
)
def get_version(
    journey_id: str, version: int, principal: Viewer, session: DbSession
) -> VersionDetail:
    found = JourneyService(session).version(principal.workspace_id, journey_id, version)
    return VersionDetail.model_validate(found)


@api.post(
    "/journeys/{journey_id}/versions",
    response_model=VersionDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Save a new version (nobody moves to it until it is published)",
)
def save_version(
    journey_id: str,
    principal: Marketer,
    session: DbSession,
    document: dict[str, Any] = DefinitionBody,
) -> VersionDetail:
    version = JourneyService(session).save_version(
        principal.workspace_id, journey_id, document, actor=principal.actor
    )
    return VersionDetail.model_validate(version)


@api.post(
    "/journeys/{journey_id}/publish",
    response_model=JourneyOut,
    summary="Make a version the one people enter; checks every event and trait it names",
)
def publish_journey(
    journey_id: str, principal: Marketer, session: DbSession, body: PublishIn | None = None
) -> JourneyOut:
    journey = JourneyService(session).publish(
        principal.workspace_id,
        journey_id,
        body.version if body else None,
        actor=principal.actor,
    )
    return JourneyOut.model_validate(journey)


@api.post(
    "/journeys/{journey_id}/pause",
    response_model=JourneyOut,
    summary="Stop entries; people inside wait where they are",
)
def pause_journey(journey_id: str, principal: Marketer, session: DbSession) -> JourneyOut:
    journey = JourneyService(session).pause(
        principal.workspace_id, journey_id, actor=principal.actor
    )
    return JourneyOut.model_validate(journey)


@api.post(
    "/journeys/{journey_id}/resume",
    response_model=JourneyOut,
    summary="Let people enter and move on again",
)
def resume_journey(journey_id: str, principal: Marketer, session: DbSession) -> JourneyOut:
    journey = JourneyService(session).resume(
        principal.workspace_id, journey_id, actor=principal.actor
    )
    return JourneyOut.model_validate(journey)


@api.post(
    "/journeys/{journey_id}/archive",
    response_model=JourneyOut,
    summary="End the journey: everyone inside leaves, for good",
)
def archive_journey(journey_id: str, principal: Marketer, session: DbSession) -> JourneyOut:
    journey = JourneyService(session).archive(
        principal.workspace_id, journey_id, actor=principal.actor
    )
    return JourneyOut.model_validate(journey)


@api.get(
    "/journeys/{journey_id}/instances",
    response_model=InstancePage,
    summary="The journey's people (instances), newest first, filtered",
)
def list_instances(
    journey_id: str,
    principal: Viewer,
    session: DbSession,
    inside: bool | None = Query(default=None, description="Only those inside, or only those out"),
    step: str | None = Query(default=None, max_length=64, description="At (or left at) a step"),
    profile_id: str | None = Query(default=None, max_length=40),
    exit_reason: str | None = Query(default=None, max_length=40),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> InstancePage:
    page = JourneyService(session).instances(
        principal.workspace_id,
        journey_id,
        inside=inside,
        step=step,
        profile_id=profile_id,
        exit_reason=exit_reason,
        cursor=cursor,
        limit=limit,
    )
    return InstancePage(
        items=[InstanceOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor
    )


@api.get(
    "/journeys/{journey_id}/metrics",
    response_model=MetricsOut,
    summary="People, messages and conversions of a journey, in total and per step",
)
def journey_metrics(
    journey_id: str,
    principal: Viewer,
    session: DbSession,
    window_days: int = Query(
        default=DEFAULT_WINDOW_DAYS,
        ge=1,
        le=MAX_WINDOW_DAYS,
        description="An order on any channel within this many days of entry is a conversion",
    ),
) -> MetricsOut:
    found = MetricsService(session).metrics(principal.workspace_id, journey_id, window_days)
    return MetricsOut.model_validate(asdict(found) | {
        "conversion": _conversion(found.conversion),
        "splits": [
            {"step": s.step, "holdout": _conversion(s.holdout),
             "treatment": _conversion(s.treatment), "lift": s.lift}
            for s in found.splits
        ],
    })  # fmt: skip


def _conversion(found: Conversion) -> dict[str, Any]:
    return asdict(found) | {"rate": found.rate}
