"""Segment pages: the list with sizes, one segment with its rule, members and size line; the
nav links to them, and another workspace's segment is not found."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.dashboard.pages.segments import size_line
from tessera.segment.membership import Membership
from tessera.segment.repository import SegmentRepository
from tessera.segment.service import SegmentService
from tests.message.world import person
from tests.support.factories import Tenant, make_workspace

GOLD = {"kind": "trait", "trait": "tier", "op": "eq", "value": "gold"}


def test_the_list_and_one_segment_show_members_rule_and_size(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    """One gold shopper: the list says 1, the page shows the rule, the person and a line of
    two days' sizes; the nav links to Segments."""
    ada = person(session, tenant.workspace_id, "u-ada", email="ada@example.com", tier="gold")
    segment = SegmentService(session).create(tenant.workspace_id, "Gold", GOLD)
    Membership(session).recompute(tenant.workspace_id, [ada.profile_id])
    SegmentRepository(session).record_size(segment.id, date(2031, 3, 1), 0)
    SegmentRepository(session).record_size(segment.id, date(2031, 3, 2), 1)
    session.commit()

    listing = owner.get("/segments")
    page = owner.get(f"/segments/{segment.id}")

    row = re.search(rf'<tr data-segment="{segment.id}">(.*?)</tr>', listing.text, re.DOTALL)
    assert row is not None
    assert re.findall(r'<td class="num">([^<]*)', row.group(1)) == ["1"]
    assert 'href="/segments"' in listing.text
    assert page.status_code == 200
    assert "&#34;tier&#34;" in page.text or '"tier"' in page.text
    assert ada.profile_id in page.text
    assert 'points="0.0,116.0 480.0,4.0"' in page.text


def test_another_workspaces_segment_is_not_found(owner: TestClient, session: Session) -> None:
    """A segment id of another workspace answers the styled 404."""
    other = make_workspace(session, "other-seg")
    segment = SegmentService(session).create(other, "Theirs", GOLD)
    session.commit()

    assert owner.get(f"/segments/{segment.id}").status_code == 404


def test_a_single_day_draws_no_line() -> None:
    """One point is no line."""
    assert size_line([(date(2031, 3, 1), 5)]) == ""
