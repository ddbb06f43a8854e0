"""The demo's segments fill themselves from the fed data: VIPs, store-only buyers, lapsed
buyers and TikTok first-timers each have members once the worker has run."""

from __future__ import annotations

from tessera.config import load_settings
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.demo.feed import feed_demo
from tessera.demo.generator import DemoSize, generate_brand
from tessera.demo.omnichannel import generate_omnichannel
from tessera.demo.seed import seed_demo
from tessera.demo.segments import DEMO_SEGMENTS
from tessera.kit.time import utcnow
from tessera.segment.membership import Membership
from tessera.segment.service import SegmentService
from tessera.worker import build_worker
from tests.support.live import live_server


def test_the_demo_segments_have_members_after_the_feed(committed_database_url: str) -> None:
    """Each of the four demo segments holds someone, and what the arrivals' recomputes left
    is what a full refresh computes again (nobody enters or leaves)."""
    engine = make_engine(committed_database_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        seeded = seed_demo(session, generate_brand(3, DemoSize.named("small")))
    data = generate_omnichannel(3, 30, utcnow())
    with live_server(committed_database_url) as base_url:
        feed_demo(base_url, seeded.tokens, data)

    build_worker(load_settings(database_url=committed_database_url), factory).run_until_idle()

    with session_scope(factory) as session:
        sizes = {s.name: n for s, n in SegmentService(session).list_segments(seeded.workspace_id)}
        membership = Membership(session)
        changed = 0
        after: str | None = None
        while True:
            before = membership.repository.active_profile_ids(seeded.workspace_id, after, 200)
            if not before:
                break
            found = membership.recompute(seeded.workspace_id, before)
            changed += len(found.entered) + len(found.exited)
            after = before[-1]
    engine.dispose()

    assert sorted(sizes) == sorted(name for name, _, _ in DEMO_SEGMENTS)
    assert all(count > 0 for count in sizes.values()), sizes
    assert changed == 0
