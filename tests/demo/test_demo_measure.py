"""The fed demo gives Measure something to show: customers on several channels, at least two
monthly cohorts, and campaign-tagged touches that attribution credits."""

from __future__ import annotations

from datetime import timedelta

from tessera.analytics.report.service import ReportService
from tests.support.fed_demo import FedDemo


def test_the_demo_scorecard_has_omnichannel_customers_cohorts_and_campaigns(
    fed_demo: FedDemo,
) -> None:
    """Omnichannel share above zero, two or more cohorts, and a campaign source among the
    channels credited by every attribution model."""
    workspace_id, now = fed_demo.workspace_id, fed_demo.now
    start, end = (now - timedelta(days=400)).date(), (now + timedelta(days=1)).date()
    with fed_demo.factory() as session:  # reads only, commits nothing
        service = ReportService(session)
        omnichannel = service.omnichannel(workspace_id, start, end)
        retention = service.retention(workspace_id, start, end)
        attribution = service.attribution(workspace_id, start, end, model="linear")

    assert omnichannel.share > 0
    assert omnichannel.segments[0].customers > 0
    assert len(retention.cohorts) >= 2
    credited = {c.channel for c in attribution.models["linear"]}
    assert credited & {"tiktok", "instagram", "newsletter"}
    assert attribution.conversions > 0
