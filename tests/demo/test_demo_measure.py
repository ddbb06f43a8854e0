"""The fed demo gives Measure something to show: customers on several channels, at least two
monthly cohorts, and campaign-tagged touches that attribution credits."""

from __future__ import annotations

from datetime import timedelta

from tessera.analytics.report.service import ReportService
from tessera.config import load_settings
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.demo.feed import feed_demo
from tessera.demo.generator import DemoSize, generate_brand
from tessera.demo.omnichannel import generate_omnichannel
from tessera.demo.seed import seed_demo
from tessera.kit.time import utcnow
from tessera.worker import build_worker
from tests.support.live import live_server


def test_the_demo_scorecard_has_omnichannel_customers_cohorts_and_campaigns(
    committed_database_url: str,
) -> None:
    """Omnichannel share above zero, two or more cohorts, and a campaign source among the
    channels credited by every attribution model."""
    engine = make_engine(committed_database_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        seeded = seed_demo(session, generate_brand(3, DemoSize.named("small")))
    now = utcnow()
    data = generate_omnichannel(3, 30, now)
    with live_server(committed_database_url) as base_url:
        feed_demo(base_url, seeded.tokens, data)
    build_worker(load_settings(database_url=committed_database_url), factory).run_until_idle()

    start, end = (now - timedelta(days=400)).date(), (now + timedelta(days=1)).date()
    with session_scope(factory) as session:
        service = ReportService(session)
        omnichannel = service.omnichannel(seeded.workspace_id, start, end)
        retention = service.retention(seeded.workspace_id, start, end)
        attribution = service.attribution(seeded.workspace_id, start, end, model="linear")
    engine.dispose()

    assert omnichannel.share > 0
    assert omnichannel.segments[0].customers > 0
    assert len(retention.cohorts) >= 2
    credited = {c.channel for c in attribution.models["linear"]}
    assert credited & {"tiktok", "instagram", "newsletter"}
    assert attribution.conversions > 0
