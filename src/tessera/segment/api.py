"""``/v1/segments`` and ``/v1/audiences``: rules, members, previews, audiences and exports.

Anyone with a key reads; marketers and above change segments and audiences. A bad rule is
refused as ``invalid-segment-rule`` problem+json (422) with one entry per fault in ``errors``,
each naming its field (``rule.rules.0.within_days``).
"""

from __future__ import annotations

from fastapi import Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from tessera.http.routing import DbSession, router
from tessera.kit.time import Clock
from tessera.models.segment import Audience, Segment
from tessera.segment.schemas import (
    AudienceChangeOut,
    AudienceDetail,
    AudienceIn,
    AudienceList,
    AudienceListItem,
    AudienceOut,
    ExportFormat,
    MemberOut,
    MemberPage,
    PreviewIn,
    PreviewOut,
    SegmentDetail,
    SegmentIn,
    SegmentList,
    SegmentListItem,
    SegmentOut,
    SegmentPatch,
    SizeOut,
)
from tessera.segment.service import SegmentService
from tessera.workspace.auth import Marketer, Viewer

api = router(prefix="/v1", tags=["segments"])


def _service(request: Request, session: DbSession) -> SegmentService:
    clock: Clock = request.app.state.clock
    return SegmentService(session, clock)


def _item(segment: Segment, members: int) -> SegmentListItem:
    return SegmentListItem(**SegmentOut.model_validate(segment).model_dump(), members=members)


def _detail(service: SegmentService, workspace_id: str, segment: Segment) -> SegmentDetail:
    sample = service.members(workspace_id, segment.id, limit=10).items
    return SegmentDetail(
        **_item(segment, service.member_count(segment.id)).model_dump(),
        sample=[m.profile_id for m in sample],
        sizes=[SizeOut(day=d, members=n) for d, n in service.sizes(workspace_id, segment.id)],
    )


@api.get("/segments", response_model=SegmentList, summary="List segments with their sizes")
def list_segments(principal: Viewer, session: DbSession, request: Request) -> SegmentList:
    service = _service(request, session)
    return SegmentList(
        items=[_item(s, n) for s, n in service.list_segments(principal.workspace_id)]
    )


@api.post(
    "/segments",
    response_model=SegmentDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Create a segment (its members are computed by the refresh it queues)",
)
def create_segment(
    body: SegmentIn, principal: Marketer, session: DbSession, request: Request
) -> SegmentDetail:
    service = _service(request, session)
    segment = service.create(principal.workspace_id, body.name, body.rule, body.description)
    return _detail(service, principal.workspace_id, segment)


@api.post(
    "/segments/preview",
    response_model=PreviewOut,
    summary="Who a rule would hold now among the first 5,000 people, saving nothing",
)
async def preview_segment(
    body: PreviewIn, principal: Marketer, session: DbSession, request: Request
) -> PreviewOut:
    service = _service(request, session)
    found = await run_in_threadpool(service.preview, principal.workspace_id, body.rule)
    return PreviewOut(matching=found.matching, scanned=found.scanned, sample=found.sample)


@api.get(
    "/segments/{segment_id}",
    response_model=SegmentDetail,
    summary="One segment: its rule, member count, newest members and sizes over time",
)
def get_segment(
    segment_id: str, principal: Viewer, session: DbSession, request: Request
) -> SegmentDetail:
    service = _service(request, session)
    return _detail(service, principal.workspace_id, service.get(principal.workspace_id, segment_id))


@api.patch(
    "/segments/{segment_id}",
    response_model=SegmentDetail,
    summary="Rename a segment or change its rule (a new rule queues a refresh)",
)
def update_segment(
    segment_id: str, body: SegmentPatch, principal: Marketer, session: DbSession, request: Request
) -> SegmentDetail:
    service = _service(request, session)
    segment = service.update(
        principal.workspace_id,
        segment_id,
        name=body.name,
        rule=body.rule,
        description=body.description,
    )
    return _detail(service, principal.workspace_id, segment)


@api.delete("/segments/{segment_id}", status_code=204, summary="Delete a segment")
def delete_segment(
    segment_id: str, principal: Marketer, session: DbSession, request: Request
) -> Response:
    _service(request, session).delete(principal.workspace_id, segment_id)
    return Response(status_code=204)


@api.get(
    "/segments/{segment_id}/members",
    response_model=MemberPage,
    summary="A segment's members, newest entry first",
)
def segment_members(
    segment_id: str,
    principal: Viewer,
    session: DbSession,
    request: Request,
    cursor: str | None = Query(default=None, max_length=500),
    limit: int = Query(default=50, ge=1, le=200),
) -> MemberPage:
    page = _service(request, session).members(principal.workspace_id, segment_id, cursor, limit)
    return MemberPage(
        items=[MemberOut.model_validate(m) for m in page.items], next_cursor=page.next_cursor
    )


# Audiences ------------------------------------------------------------------------------------


def _audience(service: SegmentService, workspace_id: str, audience: Audience) -> AudienceDetail:
    ids = service.audience_members(workspace_id, audience.id)
    return AudienceDetail(
        **AudienceOut.model_validate(audience).model_dump(), members=len(ids), profile_ids=ids
    )


@api.get("/audiences", response_model=AudienceList, summary="List audiences with their sizes")
def list_audiences(principal: Viewer, session: DbSession, request: Request) -> AudienceList:
    rows = _service(request, session).audiences(principal.workspace_id)
    return AudienceList(
        items=[
            AudienceListItem(**AudienceOut.model_validate(a).model_dump(), members=n)
            for a, n in rows
        ]
    )


@api.post(
    "/audiences",
    response_model=AudienceDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Create an audience, empty or fed by a segment",
)
def create_audience(
    body: AudienceIn, principal: Marketer, session: DbSession, request: Request
) -> AudienceDetail:
    service = _service(request, session)
    audience = service.create_audience(
        principal.workspace_id, body.name, body.segment_id, actor=principal.actor
    )
    return _audience(service, principal.workspace_id, audience)


@api.get("/audiences/{audience_id}", response_model=AudienceDetail, summary="One audience")
def get_audience(
    audience_id: str, principal: Viewer, session: DbSession, request: Request
) -> AudienceDetail:
    service = _service(request, session)
    return _audience(
        service, principal.workspace_id, service.audience(principal.workspace_id, audience_id)
    )


@api.delete("/audiences/{audience_id}", status_code=204, summary="Delete an audience")
def delete_audience(
    audience_id: str, principal: Marketer, session: DbSession, request: Request
) -> Response:
    _service(request, session).delete_audience(principal.workspace_id, audience_id)
    return Response(status_code=204)


@api.put(
    "/audiences/{audience_id}/members/{profile_id}",
    response_model=AudienceChangeOut,
    summary="Add a person to an audience",
)
def add_member(
    audience_id: str, profile_id: str, principal: Marketer, session: DbSession, request: Request
) -> AudienceChangeOut:
    service = _service(request, session)
    audience = service.audience(principal.workspace_id, audience_id)
    changed = service.change_audience(
        principal.workspace_id, audience.id, profile_id, add=True, actor=principal.actor
    )
    return AudienceChangeOut(changed=changed)


@api.delete(
    "/audiences/{audience_id}/members/{profile_id}",
    response_model=AudienceChangeOut,
    summary="Remove a person from an audience",
)
def remove_member(
    audience_id: str, profile_id: str, principal: Marketer, session: DbSession, request: Request
) -> AudienceChangeOut:
    service = _service(request, session)
    audience = service.audience(principal.workspace_id, audience_id)
    changed = service.change_audience(
        principal.workspace_id, audience.id, profile_id, add=False, actor=principal.actor
    )
    return AudienceChangeOut(changed=changed)


@api.get(
    "/audiences/{audience_id}/export",
    response_class=Response,
    summary="The audience's consenting members as a hashed custom-audience CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def export_audience(
    audience_id: str,
    principal: Marketer,
    session: DbSession,
    request: Request,
    format_: ExportFormat = Query(default="meta", alias="format"),
) -> Response:
    service = _service(request, session)
    audience = service.audience(principal.workspace_id, audience_id)
    body = service.export_csv(principal.workspace_id, audience.id, format_)
    name = f"audience-{audience.id}-{format_}.csv"
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
