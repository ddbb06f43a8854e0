"""A small stocked workspace built through the real services, shared by the inventory tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tessera.catalog.schemas import ComponentIn, ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.inventory.domain import RoutingRuleName
from tessera.inventory.schemas import ChannelLocationsIn, LocationIn
from tessera.inventory.service.locations import LocationService
from tessera.models.inventory import LocationKind
from tests.support.factories import make_workspace


@dataclass
class Shop:
    workspace_id: str
    variants: dict[str, str]  # sku -> variant id
    locations: dict[str, str]  # code -> location id


def make_shop(session: Session, slug: str = "stock", backorder: bool = False) -> Shop:
    """SERUM and CREAM, a KIT of 1 SERUM + 2 CREAM; a warehouse, a pickup store in London,
    a warehouse in Paris, FBA; web sells from the two warehouses and the store."""
    return make_shop_in(session, make_workspace(session, slug), backorder)


def make_shop_in(session: Session, workspace_id: str, backorder: bool = False) -> Shop:
    """``make_shop`` in an existing workspace."""
    catalog = CatalogService(session)
    catalog.create_product(
        workspace_id,
        ProductIn(
            handle="serum",
            title="Serum",
            variants=[
                VariantIn(sku="SERUM", allows_backorder=backorder),
                VariantIn(sku="CREAM"),
            ],
        ),
    )
    catalog.create_product(
        workspace_id,
        ProductIn(
            handle="kit",
            title="Kit",
            variants=[
                VariantIn(
                    sku="KIT",
                    components=[
                        ComponentIn(sku="SERUM", quantity=1),
                        ComponentIn(sku="CREAM", quantity=2),
                    ],
                )
            ],
        ),
    )
    location_service = LocationService(session)
    specs = [
        LocationIn(
            code="wh",
            name="Warehouse",
            kind=LocationKind.WAREHOUSE,
            country="GB",
            latitude=52.48,
            longitude=-1.89,
        ),
        LocationIn(
            code="soho",
            name="Soho",
            kind=LocationKind.STORE,
            country="GB",
            is_pickup_enabled=True,
            latitude=51.51,
            longitude=-0.13,
            channel_key="store:soho",
            external_refs=["shopify-loc-1"],
        ),
        LocationIn(
            code="paris",
            name="Paris",
            kind=LocationKind.WAREHOUSE,
            country="FR",
            latitude=48.86,
            longitude=2.35,
        ),
        LocationIn(code="fba", name="Amazon FBA", kind=LocationKind.FBA),
    ]
    locations = {
        spec.code: location_service.create_location(workspace_id, spec).id for spec in specs
    }
    location_service.set_channel_locations(
        workspace_id,
        "web",
        ChannelLocationsIn(
            locations=["wh", "paris", "soho"],
            rules=[RoutingRuleName.FEWEST_SHIPMENTS, RoutingRuleName.RANKED],
            is_ship_from_store=True,
        ),
    )
    variants = {
        sku: v.id
        for sku, v in catalog.variants_by_sku(workspace_id, ["SERUM", "CREAM", "KIT"]).items()
    }
    session.flush()
    return Shop(workspace_id, variants, locations)
