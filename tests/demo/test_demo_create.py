"""The demo's Create: ten creators found by what they post about, three approved pictures
in the content library, and their licenses: one current and placed in the welcome email,
one ending within the month, one ended whose TikTok ad became a takedown task."""

from __future__ import annotations

from pathlib import Path

from tessera.content.service import ContentService
from tessera.creator.discovery import Discovery
from tessera.creator.schemas import SearchIn
from tessera.models.content import ReviewState
from tessera.models.rights import PlacementStatus
from tessera.rights.domain import Usage, Use
from tessera.rights.service import RightsService
from tests.support.fed_demo import FedDemo, demo_files


def test_the_demo_has_creators_content_and_rights_in_every_state(
    fed_demo: FedDemo, tmp_path: Path
) -> None:
    ws = fed_demo.workspace_id
    with fed_demo.factory() as session:  # reads only, commits nothing
        skincare = Discovery(session).search(ws, SearchIn(query="skincare routines", limit=3))
        assets = ContentService(session, demo_files(tmp_path)).assets(ws).items
        rights = RightsService(session)
        ending = rights.expiring(ws, 30)
        placements = {p.ref: p.status for p in rights.placements(ws)}
        takedown = list(rights.placements(ws, "takedown_due"))
        ended = rights.check(ws, takedown[0].asset_id, Use("tiktok", Usage.PAID_SOCIAL, "US",
                                                          rights.clock()))  # fmt: skip

    names = [result.view.creator.name for result in skincare.items]
    assert names[0] in {"Maya Okafor", "Sofia Marquez"}, names
    assert len(assets) == 3 and {a.status for a in assets} == {ReviewState.APPROVED}
    assert len(ending) == 1
    assert placements == {
        "template:welcome": PlacementStatus.LIVE,
        "ad:spring-teaser": PlacementStatus.TAKEDOWN_DUE,
    }
    assert not ended.allowed and "ended at" in ended.reason
