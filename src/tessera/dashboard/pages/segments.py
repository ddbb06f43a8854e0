"""Segment pages: the list with each segment's size, and one segment with its rule, its
newest members and its size over time (a line drawn on the server as SVG, no script)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response

from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, render
from tessera.http.routing import DbSession
from tessera.segment.service import SegmentService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

CHART_WIDTH, CHART_HEIGHT = 480, 120


def size_line(sizes: list[tuple[date, int]]) -> str:
    """The SVG polyline points of members per day, scaled into the chart (empty with fewer
    than two days: one point is no line)."""
    if len(sizes) < 2:
        return ""
    top = max(n for _, n in sizes) or 1
    step = CHART_WIDTH / (len(sizes) - 1)
    return " ".join(
        f"{round(i * step, 1)},{round(CHART_HEIGHT - n / top * (CHART_HEIGHT - 8) - 4, 1)}"
        for i, (_, n) in enumerate(sizes)
    )


@pages.get("/segments")
def segments(request: Request, member: SignedIn, session: DbSession) -> Response:
    """Every segment by name with its member count and last refresh."""
    service = SegmentService(session)
    context: dict[str, Any] = {
        "member": member,
        "rows": service.list_segments(member.workspace.id),
        "audiences": service.audiences(member.workspace.id),
    }
    return render(request, "segments.html", context)


@pages.get("/segments/{segment_id}")
def segment(request: Request, member: SignedIn, session: DbSession, segment_id: str) -> Response:
    """One segment: its rule, size, newest fifty members and size over time."""
    service = SegmentService(session)
    found = service.get(member.workspace.id, segment_id)
    sizes = service.sizes(member.workspace.id, found.id)
    context: dict[str, Any] = {
        "member": member,
        "segment": found,
        "rule": json.dumps(found.rule, indent=2),
        "count": service.member_count(found.id),
        "members": service.members(member.workspace.id, found.id, limit=50).items,
        "sizes": sizes,
        "line": size_line(sizes),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
    }
    return render(request, "segment.html", context)
