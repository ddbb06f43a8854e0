"""Rights kept in the database: licenses granted and read back through an asset's lineage,
authorisations revoked, placements recorded once and refused with the reason, and placements
of an ended license turned into takedown tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from tessera.content.errors import AssetNotFound
from tessera.kit.errors import InvalidInput
from tessera.kit.time import ManualClock
from tessera.models.rights import PlacementStatus
from tessera.rights.domain import Usage, Use
from tessera.rights.errors import UseRefused
from tessera.rights.service import LicenseDraft, RightsService
from tests.rights.assets import an_asset_and_rendition
from tests.rights.conftest import NOW
from tests.support.factories import make_tenant

MASTERS = {"ast_square": "ast_master"}


def lineage(_workspace_id: str, asset_id: str) -> Sequence[str]:
    chain = [asset_id]
    while chain[-1] in MASTERS:
        chain.append(MASTERS[chain[-1]])
    return chain


def email_until_march(**changes: object) -> LicenseDraft:
    values: dict[str, object] = {
        "asset_id": "ast_master", "usages": ["email", "organic"], "first_day": date(2027, 1, 1),
        "last_day": date(2027, 3, 31), "time_zone": "America/New_York",
        "territories": ["us", "CA"],
    }  # fmt: skip
    values.update(changes)
    return LicenseDraft(**values)  # type: ignore[arg-type]


def test_a_rendition_is_placed_under_its_masters_license_once(
    session: Session, clock: ManualClock
) -> None:
    """The square rendition goes into a journey email under the master's license; asked
    twice, one placement; in France it is refused with the territory named."""
    tenant = make_tenant(session, "glow")
    rights = RightsService(session, clock, lineage)
    granted = rights.grant(tenant.workspace_id, email_until_march())

    use = Use("email", Usage.EMAIL, "US", NOW)
    first = rights.place(tenant.workspace_id, "ast_square", use, "template:welcome")
    again = rights.place(tenant.workspace_id, "ast_square", use, "template:welcome")
    with pytest.raises(UseRefused) as refused:
        rights.place(tenant.workspace_id, "ast_square", Use("email", Usage.EMAIL, "FR", NOW), "t2")

    assert granted.territories == ["CA", "US"] and granted.usages == ["email", "organic"]
    assert (first.id, first.license_id, first.status) == (again.id, granted.id,
                                                          PlacementStatus.LIVE)  # fmt: skip
    assert "covers CA, US, not FR" in refused.value.detail
    assert [lic.id for lic in rights.licenses(tenant.workspace_id, "ast_square")] == [granted.id]


def test_an_ended_license_turns_its_placements_into_takedowns_and_refuses_new_ones(
    session: Session, clock: ManualClock
) -> None:
    """Placed in February; listed as expiring within 60 days, not within 30; after midnight
    New York on 31 March the placement is a takedown task (once) and a new use is refused."""
    tenant = make_tenant(session, "glow")
    rights = RightsService(session, clock, lineage)
    granted = rights.grant(tenant.workspace_id, email_until_march())
    placed = rights.place(
        tenant.workspace_id, "ast_master", Use("email", Usage.EMAIL, "US", NOW), "t1"
    )

    soon = [lic.id for lic in rights.expiring(tenant.workspace_id, 60)]
    not_yet = rights.expiring(tenant.workspace_id, 30)
    before = rights.takedowns(tenant.workspace_id)
    clock.advance(granted.ends_at - NOW)  # type: ignore[operator]
    marked, twice = rights.takedowns(tenant.workspace_id), rights.takedowns(tenant.workspace_id)
    session.refresh(placed)
    with pytest.raises(UseRefused) as refused:
        rights.place(
            tenant.workspace_id, "ast_master", Use("email", Usage.EMAIL, "US", clock()), "t2"
        )

    assert (soon, not_yet, before, marked, twice) == ([granted.id], [], 0, 1, 0)
    assert placed.status is PlacementStatus.TAKEDOWN_DUE
    assert "ended at 2027-04-01 04:00 UTC" in refused.value.detail
    assert [p.id for p in rights.placements(tenant.workspace_id, "takedown_due")] == [placed.id]


def test_a_revoked_spark_code_stops_partnership_ads_and_marks_their_placements(
    session: Session, clock: ManualClock
) -> None:
    tenant = make_tenant(session, "glow")
    rights = RightsService(session, clock, lineage)
    rights.grant(tenant.workspace_id, email_until_march(usages=["partnership"], territories=[]))
    spark = rights.authorise(tenant.workspace_id, "ast_master", "TikTok", NOW, 30, "#spark")
    flight = Use("tiktok", Usage.PARTNERSHIP, "US", NOW, NOW + timedelta(days=7))
    placed = rights.place(tenant.workspace_id, "ast_master", flight, "ad:123")

    clock.advance(timedelta(days=1))
    rights.revoke_authorisation(tenant.workspace_id, spark.id)
    marked = rights.takedowns(tenant.workspace_id)
    session.refresh(placed)
    decision = rights.check(tenant.workspace_id, "ast_master",
                            Use("tiktok", Usage.PARTNERSHIP, "US", clock()))  # fmt: skip

    assert (placed.authorisation_id, marked, placed.status) == (
        spark.id, 1, PlacementStatus.TAKEDOWN_DUE,
    )  # fmt: skip
    assert not decision.allowed and "revoked the tiktok authorisation" in decision.reason


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"usages": ["billboards"]}, "usages"),
        ({"usages": []}, "usages"),
        ({"platforms": ["myspace"]}, "platforms"),
        ({"territories": ["XX"]}, "territory"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"last_day": date(2026, 12, 1)}, "last_day"),
    ],
)
def test_a_license_that_cannot_be_is_refused_naming_its_field(
    session: Session, clock: ManualClock, changes: dict[str, object], field: str
) -> None:
    tenant = make_tenant(session, "glow")
    with pytest.raises(InvalidInput) as refused:
        RightsService(session, clock).grant(tenant.workspace_id, email_until_march(**changes))
    assert refused.value.extensions["field"] == field


def test_the_content_librarys_rendition_is_governed_by_its_masters_license(
    session: Session, clock: ManualClock
) -> None:
    """With the content library's own lineage: the 1:1 rendition of a licensed picture may
    go into an email; an id that is no asset of the workspace is not found, for a license as
    for a check."""
    tenant = make_tenant(session, "glow")
    other = make_tenant(session, "bravo")
    asset, square = an_asset_and_rendition(session, tenant.workspace_id)
    rights = RightsService(session, clock)
    rights.grant(tenant.workspace_id, email_until_march(asset_id=asset))

    decision = rights.check(tenant.workspace_id, square, Use("email", Usage.EMAIL, "US", NOW))

    assert decision.allowed, decision.reason
    for wrong in ("ast_nope", square):
        with pytest.raises(AssetNotFound):
            rights.grant(other.workspace_id, email_until_march(asset_id=wrong))
        with pytest.raises(AssetNotFound):
            rights.check(other.workspace_id, wrong, Use("email", Usage.EMAIL, "US", NOW))
