"""The Segment-compatible tracking API and Collect's management routes.

Tracking: ``POST /v1/{identify,track,page,screen,group,alias,batch,import}`` and the short forms
analytics.js uses (``/v1/{i,t,p,s,g,a,b}``). A brand changes only the SDK's host.

The tracking routes are the hot path, so each runs its whole unit of work (parse, authenticate,
check, insert, commit, close) in one worker-thread call instead of UnitOfWorkRoute's three
(endpoint, commit, close): every hand-off between the event loop and a thread is a wake-up, and
under load those were a large share of a single event's cost. The guarantees are the same as
UnitOfWorkRoute's: the commit happens before the response is returned, so a 2xx means durable;
a refusal commits too, because the quarantine row written for it is the record of the refusal;
anything unexpected rolls back and is answered 500.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from tessera.collect import domain
from tessera.collect.errors import MalformedPayload, PayloadTooLarge
from tessera.collect.http import (
    InflightLimiter,
    RawRequest,
    parse_json,
    read_body,
    write_key_in_body,
)
from tessera.collect.quarantine import QuarantineService, parse_group_token
from tessera.collect.schemas import (
    BulkDiscardRequest,
    BulkOutcomeOut,
    BulkReplayRequest,
    ChannelCreate,
    ChannelOut,
    CollectResponse,
    DiscardRequest,
    EventOut,
    EventPage,
    QuarantineGroupOut,
    QuarantineOut,
    QuarantinePage,
    ReplayRequest,
    SourceOut,
    SourceUpdate,
)
from tessera.collect.service import CollectService, IngestResult
from tessera.collect.sources import SourceService
from tessera.http.routing import DbSession, router
from tessera.kit.errors import NotFound, Problem
from tessera.kit.time import utcnow
from tessera.models.collect import QuarantineStatus
from tessera.workspace.auth import Admin, Marketer, Viewer
from tessera.workspace.errors import InvalidApiKey

api = router(prefix="/v1", tags=["collect"])
# A plain router: each tracking endpoint opens and commits its own session (module docstring).
tracking = APIRouter(prefix="/v1", tags=["tracking (Segment-compatible)"])
limiter = InflightLimiter()
# SQLite has one writer at a time. A process's tracking requests take turns on this lock
# rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms and so left
# the write lock idle while requests slept (other processes still wait in the handler).
_sqlite_writer = threading.Lock()

TRACKING_PATHS: dict[str, str | None] = {
    "identify": "identify", "track": "track", "page": "page", "screen": "screen",
    "group": "group", "alias": "alias", "batch": None, "import": None,
    "i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias",
    "b": None,
}  # fmt: skip
TOO_LARGE_TO_KEEP = b"(the body was over the size limit and was not kept)"


def _tally(result: IngestResult) -> dict[str, Any]:
    return {
        "received": result.received,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [asdict(r) for r in result.rejected],
    }


def _response(result: IngestResult, status_code: int = 200) -> Response:
    """Segment's ``{"success": true}`` plus the tally (the CollectResponse shape)."""
    body = orjson.dumps({"success": True, **_tally(result)})
    return Response(body, status_code=status_code, media_type="application/json")


def _tracking_endpoint(path: str, message_type: str | None) -> Callable[..., Awaitable[Any]]:
    is_batch = message_type is None
    origin = f"POST /v1/{path}"

    async def endpoint(request: Request) -> Response:
        limiter.acquire(request.app.state.settings.collect_max_inflight)
        try:
            raw = await read_body(request, is_batch)
            factory = request.app.state.session_factory
            return await run_in_threadpool(_unit_of_work, factory, raw)
        finally:
            limiter.release()

    def _unit_of_work(factory: sessionmaker[Session], raw: RawRequest) -> Response:
        session = factory()
        if session.get_bind().dialect.name == "sqlite":
            with _sqlite_writer:
                return _commit_or_roll_back(session, raw)
        return _commit_or_roll_back(session, raw)

    def _commit_or_roll_back(session: Session, raw: RawRequest) -> Response:
        try:
            try:
                response = _handle(session, raw)
            except Problem:
                session.commit()  # the quarantine row is the record of the refusal
                raise
            session.commit()
            return response
        except Problem:
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _handle(session: Session, raw: RawRequest) -> Response:
        service = CollectService(session)
        if raw.refusal is not None:
            service.quarantine.keep(
                _sender_or_none(service, raw.token),
                origin,
                raw.refusal.detail,
                raw.body or TOO_LARGE_TO_KEEP,
                "body",
                "request",
            )
            raise raw.refusal
        try:
            document = parse_json(raw.body)
        except MalformedPayload as exc:
            service.quarantine.keep(
                _sender_or_none(service, raw.token), origin, exc.detail, raw.body, "body", "request"
            )
            raise
        token = raw.token or write_key_in_body(document)
        try:
            sender = service.sender_for_write_key(token)
        except Problem as exc:
            service.quarantine.keep(None, origin, exc.detail, raw.body, "writeKey", "request")
            raise
        received_at = utcnow()
        if is_batch:
            items = document.get("batch") if isinstance(document, dict) else None
            if not isinstance(items, list):
                entry = service.quarantine.keep(
                    sender.workspace_id, origin, "a batch needs a `batch` list", raw.body,
                    "batch", "request", sender.source_id,
                )  # fmt: skip
                raise MalformedPayload(
                    "a batch needs a `batch` list", field="batch", quarantine_id=entry.id
                )
            merged = [domain.merge_batch_context(i, document) if isinstance(i, dict) else i
                      for i in items]  # fmt: skip
            sent_at = domain.parse_time(document.get("sentAt"), "sentAt")
            result = service.ingest(
                sender, merged, origin, received_at,
                batch_sent_at=sent_at if not isinstance(sent_at, domain.Rejection) else None,
            )  # fmt: skip
        else:
            result = service.ingest(sender, [document], origin, received_at, message_type)
        return _respond(result, is_batch)

    endpoint.__name__ = f"collect_{path}"
    return endpoint


def _sender_or_none(service: CollectService, token: str | None) -> str | None:
    """The workspace of a token for attributing a refused request, if the token is good."""
    if not token:
        return None
    try:
        return service.sender_for_write_key(token).workspace_id
    except (Problem, InvalidApiKey):
        return None


def _respond(result: IngestResult, is_batch: bool) -> Response:
    """200 with the tally, unless a message was refused in a way the caller must hear about:
    over the size limit (any path), or the one message of a single-event path. Those refusals
    carry the same tally, so the books balance on every answer that parsed."""
    oversize = [r for r in result.rejected if "KB limit" in r.reason]
    if oversize:
        limit = f"{domain.MAX_EVENT_BYTES // 1024} KB per event"
        raise PayloadTooLarge(
            f"{len(oversize)} message(s) over the limit of {limit} were quarantined; "
            f"{result.accepted} accepted, {result.duplicates} duplicate",
            limit=limit,
            **_tally(result),
        )
    if not is_batch and result.rejected:
        rejected = result.rejected[0]
        raise MalformedPayload(
            rejected.reason,
            field=rejected.field,
            quarantine_id=rejected.quarantine_id,
            **_tally(result),
        )
    return _response(result)


for _path, _type in TRACKING_PATHS.items():
    tracking.add_api_route(
        f"/{_path}",
        _tracking_endpoint(_path, _type),
        methods=["POST"],
        response_model=CollectResponse,
        summary=(f"Segment `{_type}` call" if _type else "Segment batch of calls")
        + (" (short form)" if len(_path) == 1 else ""),
        description="Write key as HTTP Basic user, `Authorization: Bearer`, or `writeKey` in "
        "the body. JSON or text/plain, optionally gzip. 32 KB per event, 500 KB per batch.",
        include_in_schema=len(_path) > 1,
    )


# Management ---------------------------------------------------------------------------------


@api.get("/events", response_model=EventPage, summary="Stored events, newest first")
def list_events(
    principal: Viewer,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    channel: str | None = None,
) -> EventPage:
    page = CollectService(session).list_events(principal.workspace_id, cursor, limit, channel)
    return EventPage(
        items=[EventOut.model_validate(e) for e in page.items], next_cursor=page.next_cursor
    )


@api.get("/events/{event_id}", response_model=EventOut, summary="One stored event")
def get_event(event_id: str, principal: Viewer, session: DbSession) -> EventOut:
    event = CollectService(session).find_event(principal.workspace_id, event_id)
    if event is None:
        raise NotFound(f"no event {event_id} in this workspace")
    return EventOut.model_validate(event)


@api.get("/quarantine", response_model=QuarantinePage, summary="Refused records, newest first")
def list_quarantine(
    principal: Viewer,
    session: DbSession,
    status_filter: QuarantineStatus | None = Query(default=QuarantineStatus.OPEN, alias="status"),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    group: str | None = Query(
        default=None, max_length=2000, description="A group from /v1/quarantine/groups"
    ),
) -> QuarantinePage:
    page = QuarantineService(session).list_quarantine(
        principal.workspace_id,
        status_filter,
        cursor,
        limit,
        parse_group_token(group) if group else None,
    )
    return QuarantinePage(
        items=[QuarantineOut.model_validate(q) for q in page.items], next_cursor=page.next_cursor
    )


@api.get(
    "/quarantine/groups",
    response_model=list[QuarantineGroupOut],
    summary="Refused records grouped by source, kind and field (or reason), largest first",
)
def quarantine_groups(
    principal: Viewer,
    session: DbSession,
    status_filter: QuarantineStatus | None = Query(default=QuarantineStatus.OPEN, alias="status"),
) -> list[QuarantineGroupOut]:
    groups = QuarantineService(session).groups(principal.workspace_id, status_filter)
    return [
        QuarantineGroupOut(
            group=g.token,
            source_id=g.key.source_id,
            source_name=g.source_name,
            kind=g.key.kind,
            field=g.key.field,
            entries=g.entries,
            sample_reason=g.sample_reason,
            newest=g.newest,
        )
        for g in groups
    ]


@api.post(
    "/quarantine/replay",
    response_model=list[BulkOutcomeOut],
    summary="Replay many refused records as stored; each succeeds or fails alone",
)
def replay_quarantine_entries(
    body: BulkReplayRequest, principal: Marketer, session: DbSession
) -> list[BulkOutcomeOut]:
    outcomes = QuarantineService(session).replay_many(
        principal.workspace_id, body.ids, actor=principal.actor
    )
    return [BulkOutcomeOut.model_validate(o) for o in outcomes]


@api.post(
    "/quarantine/discard",
    response_model=list[BulkOutcomeOut],
    summary="Discard many refused records with one note",
)
def discard_quarantine_entries(
    body: BulkDiscardRequest, principal: Marketer, session: DbSession
) -> list[BulkOutcomeOut]:
    outcomes = QuarantineService(session).discard_many(
        principal.workspace_id, body.ids, body.why, actor=principal.actor
    )
    return [BulkOutcomeOut.model_validate(o) for o in outcomes]


@api.get("/quarantine/{entry_id}", response_model=QuarantineOut, summary="One refused record")
def get_quarantine_entry(entry_id: str, principal: Viewer, session: DbSession) -> QuarantineOut:
    entry = QuarantineService(session).get_quarantine_entry(principal.workspace_id, entry_id)
    return QuarantineOut.model_validate(entry)


@api.post(
    "/quarantine/{entry_id}/replay",
    response_model=QuarantineOut,
    summary="Apply a refused record again, as stored or fixed",
)
def replay_quarantine_entry(
    entry_id: str, body: ReplayRequest, principal: Marketer, session: DbSession
) -> QuarantineOut:
    entry = QuarantineService(session).replay(
        principal.workspace_id, entry_id, body.payload, actor=principal.actor
    )
    return QuarantineOut.model_validate(entry)


@api.post(
    "/quarantine/{entry_id}/discard",
    response_model=QuarantineOut,
    summary="Close a refused record without applying it",
)
def discard_quarantine_entry(
    entry_id: str, body: DiscardRequest, principal: Marketer, session: DbSession
) -> QuarantineOut:
    entry = QuarantineService(session).discard(
        principal.workspace_id, entry_id, body.why, actor=principal.actor
    )
    return QuarantineOut.model_validate(entry)


@api.get("/channels", response_model=list[ChannelOut], summary="The workspace's channels")
def list_channels(principal: Viewer, session: DbSession) -> list[ChannelOut]:
    channels = SourceService(session).list_channels(principal.workspace_id)
    return [ChannelOut.model_validate(c) for c in channels]


@api.post(
    "/channels",
    response_model=ChannelOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a store, retail partner or other channel",
)
def create_channel(body: ChannelCreate, principal: Admin, session: DbSession) -> ChannelOut:
    channel = SourceService(session).add_channel(
        principal.workspace_id, body.kind, body.name, body.key, body.external_refs
    )
    return ChannelOut.model_validate(channel)


@api.get("/sources", response_model=list[SourceOut], summary="Where data comes from")
def list_sources(principal: Viewer, session: DbSession) -> list[SourceOut]:
    return [
        SourceOut.model_validate(s)
        for s in SourceService(session).list_sources(principal.workspace_id)
    ]


@api.patch("/sources/{source_id}", response_model=SourceOut, summary="Set a source's channel")
def update_source(
    source_id: str, body: SourceUpdate, principal: Admin, session: DbSession
) -> SourceOut:
    source = SourceService(session).set_default_channel(
        principal.workspace_id, source_id, body.default_channel
    )
    if source is None:
        raise NotFound(f"no source {source_id} in this workspace")
    return SourceOut.model_validate(source)


__all__ = ["api", "tracking"]
