"""Set up the demo brand through the services, once: seeding twice changes nothing.

Set-up only (workspace, team, keys, channels, and the stock of ``stock.py``). The brand's
data (events, orders) is sent afterwards through the real HTTP API by ``feed.py``, the way
the channels would send it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tessera.collect.sources import SourceService
from tessera.content.storage import ContentFiles
from tessera.demo.create import seed_create
from tessera.demo.generator import DemoBrand
from tessera.demo.journeys import seed_journeys
from tessera.demo.loyalty import seed_loyalty
from tessera.demo.night_sms import seed_night_sms
from tessera.demo.people import RETAIL_PARTNER, STORES
from tessera.demo.segments import seed_segments
from tessera.demo.stock import seed_stock
from tessera.kit.time import utcnow
from tessera.models.collect import ChannelKind
from tessera.workspace.service import WorkspaceService

DEMO_LOGIN_EMAIL = "demo@tessera.dev"
DEMO_PASSWORD = "tessera-demo"  # noqa: S105 - printed on screen for the local demo by design


@dataclass(frozen=True)
class SeedResult:
    workspace_id: str
    created: bool
    login_email: str
    password: str
    # Key tokens by what they feed ("web", "app" events; "ops" orders through the connectors);
    # only when just created, since tokens are shown once.
    tokens: dict[str, str] = field(default_factory=dict)


def seed_demo(session: Session, brand: DemoBrand, files: ContentFiles | None = None) -> SeedResult:
    """Create the demo workspace, its login, team, keys and channels, unless it exists; with
    ``files``, the content library's pictures and their licenses too."""
    service = WorkspaceService(session)
    existing = service.repository.workspace_by_slug(brand.slug)
    if existing is not None:
        return SeedResult(existing.id, False, DEMO_LOGIN_EMAIL, DEMO_PASSWORD)
    workspace = service.create_workspace(brand.name, brand.slug)
    owner = brand.team[0]
    service.add_user(
        workspace.id, DEMO_LOGIN_EMAIL, owner.role, password=DEMO_PASSWORD, name="Demo User"
    )
    for member in brand.team:
        service.add_user(
            workspace.id, member.email, member.role, password=DEMO_PASSWORD, name=member.name
        )
    tokens: dict[str, str] = {}
    for spec in brand.keys:
        _key, token = service.create_api_key(
            workspace.id, spec.kind, spec.name, spec.role, actor="demo"
        )
        if spec.feeds:
            tokens[spec.feeds] = token
    sources = SourceService(session)
    for store in STORES:
        sources.add_channel(
            workspace.id,
            ChannelKind.STORE,
            store.name,
            key=store.key,
            external_refs=[str(store.shopify_location_id), store.square_location_id],
        )
    sources.add_channel(
        workspace.id, ChannelKind.RETAIL, RETAIL_PARTNER, external_refs=[RETAIL_PARTNER]
    )
    seed_stock(session, workspace.id)
    seed_journeys(session, workspace.id)
    seed_segments(session, workspace.id)
    seed_loyalty(session, workspace.id)
    seed_night_sms(session, workspace.id, utcnow())
    seed_create(session, workspace.id, utcnow(), files)
    return SeedResult(workspace.id, True, DEMO_LOGIN_EMAIL, DEMO_PASSWORD, tokens)
