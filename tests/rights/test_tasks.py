"""The hourly sweep: the worker knows it as a periodic kind, and it turns the live placements
of every workspace's ended licenses into takedown tasks, leaving the others live."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tessera.job.registry import registry
from tessera.kit.time import ManualClock
from tessera.models.rights import PlacementStatus
from tessera.rights.domain import Usage, Use
from tessera.rights.service import RightsService
from tessera.rights.tasks import TAKEDOWN_SWEEP, RightsJobs
from tests.rights.assets import an_asset
from tests.rights.conftest import NOW
from tests.rights.test_service import email_until_march
from tests.support.factories import make_tenant


def test_the_sweep_marks_ended_licenses_placements_in_every_workspace(
    session: Session, clock: ManualClock
) -> None:
    rights = RightsService(session, clock)
    placed = {}
    for slug, last_day in (("glow", NOW.date() + timedelta(days=3)), ("bravo", None)):
        ws = make_tenant(session, slug).workspace_id
        asset = an_asset(session, ws)
        rights.grant(ws, email_until_march(asset_id=asset, last_day=last_day))
        use = Use("email", Usage.EMAIL, "US", NOW)
        placed[slug] = rights.place(ws, asset, use, "template:welcome")
    clock.advance(timedelta(days=5))

    RightsJobs(clock).takedowns_swept(session, {})
    RightsJobs(clock).takedowns_swept(session, {})
    for row in placed.values():
        session.refresh(row)

    assert TAKEDOWN_SWEEP in {spec.name for spec in registry.periodic_specs()}
    assert placed["glow"].status is PlacementStatus.TAKEDOWN_DUE
    assert placed["bravo"].status is PlacementStatus.LIVE
