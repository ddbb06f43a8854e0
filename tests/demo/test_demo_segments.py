"""The demo's segments fill themselves from the fed data: VIPs, store-only buyers, lapsed
buyers and TikTok first-timers each have members once the worker has run."""

from __future__ import annotations

from tessera.demo.segments import DEMO_SEGMENTS
from tessera.segment.membership import Membership
from tessera.segment.service import SegmentService
from tests.support.fed_demo import FedDemo


def test_the_demo_segments_have_members_after_the_feed(fed_demo: FedDemo) -> None:
    """Each of the four demo segments holds someone, and what the arrivals' recomputes left
    is what a full refresh computes again (nobody enters or leaves)."""
    workspace_id = fed_demo.workspace_id
    with fed_demo.factory() as session:  # the refresh is rolled back, the demo stays as built
        sizes = {s.name: n for s, n in SegmentService(session).list_segments(workspace_id)}
        membership = Membership(session)
        changed = 0
        after: str | None = None
        while True:
            before = membership.repository.active_profile_ids(workspace_id, after, 200)
            if not before:
                break
            found = membership.recompute(workspace_id, before)
            changed += len(found.entered) + len(found.exited)
            after = before[-1]

    assert sorted(sizes) == sorted(name for name, _, _ in DEMO_SEGMENTS)
    assert all(count > 0 for count in sizes.values()), sizes
    assert changed == 0
