"""``/v1/reports/advice`` (which channel to add next, with the figures) and
``/v1/reports/mmm-export`` (the weekly channel table for marketing-mix tools, CSV or
Parquet). Read-only; a bad parameter is 422 problem+json naming it."""

from __future__ import annotations

from datetime import date

from fastapi import Query
from fastapi.responses import Response

from tessera.analytics.advice.schemas import AdviceReport
from tessera.analytics.advice.service import ChannelService
from tessera.http.routing import DbSession, router
from tessera.workspace.auth import Viewer

api = router(prefix="/v1", tags=["reports"])
From = Query(default=None, alias="from", description="First day, in the workspace's zone")
To = Query(default=None, alias="to", description="Last day (inclusive), workspace's zone")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@api.get("/reports/advice", response_model=AdviceReport, summary="Channel advice")
def advice_report(
    principal: Viewer, session: DbSession, start: date | None = From, end: date | None = To
) -> AdviceReport:
    return ChannelService(session).advice(principal.workspace_id, start, end)


@api.get(
    "/reports/mmm-export",
    summary="Weekly channel table for marketing-mix models",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
def mmm_export(
    principal: Viewer,
    session: DbSession,
    start: date | None = From,
    end: date | None = To,
    shape: str = Query(default="wide", description="wide (one row a week) or long"),
    fmt: str = Query(default="csv", alias="format", description="csv or parquet"),
) -> Response:
    body = ChannelService(session).mmm_export(
        principal.workspace_id, start, end, shape=shape, fmt=fmt
    )
    extension = "parquet" if fmt == "parquet" else "csv"
    return Response(
        body,
        media_type=MEDIA_TYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="mmm-weekly.{extension}"'},
    )
