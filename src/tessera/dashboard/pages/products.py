"""Products: the catalog a page at a time (with a SKU lookup), and one product's page: its
variants with what each can sell, bundles and their components, listings per channel with
what each channel was last told, prices against the site and the floor, and oversold stock.

Everyone signed in may look; stock changes by hand live on each SKU's page (``skus.py``).
The API twins are ``GET /v1/products`` and ``/v1/products/{id}``, ``/v1/listings``,
``/v1/prices/parity?sku=`` and ``/v1/stock/oversold``; the CLI's, ``tessera catalog products``
and ``tessera catalog show``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from tessera.catalog.errors import UnknownSku
from tessera.catalog.service import CatalogService
from tessera.dashboard.pages.stock import SELLING_KINDS, oversold_rows
from tessera.dashboard.session import SignedIn
from tessera.dashboard.web import DashboardRoute, link, render
from tessera.feed.service import FeedService
from tessera.http.routing import DbSession
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.kit.time import utcnow
from tessera.models.catalog import Variant
from tessera.pricing.service import PriceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50


def sellable_of(session: Session, workspace_id: str, variants: Sequence[Variant]) -> dict[str, int]:
    """Units of each variant (a bundle from its components) sellable from our own selling
    locations: warehouses, stores and 3PLs, not FBA or a partner's shelf."""
    own = [
        loc.id
        for loc in LocationService(session).locations(workspace_id)
        if loc.kind in SELLING_KINDS
    ]
    if not variants or not own:
        return {v.id: 0 for v in variants}
    by_location = StockService(session).sellable_by_location(
        workspace_id, [v.id for v in variants], own, utcnow()
    )
    return {v.id: sum(by_location[(v.id, loc)] for loc in own) for v in variants}


@pages.get("/products")
def products(
    request: Request,
    member: SignedIn,
    session: DbSession,
    sku: str = "",
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Response:
    """The catalog in the order it was made; ``sku`` opens that SKU's page when it exists."""
    workspace_id = member.workspace.id
    catalog = CatalogService(session)
    wanted = sku.strip()
    missing: UnknownSku | None = None
    if wanted:
        try:
            variant = catalog.variant_by_sku(workspace_id, wanted)
        except UnknownSku as problem:
            missing = problem
        else:
            return RedirectResponse(f"/variants/{variant.id}", status_code=303)
    page, variants = catalog.list_products(workspace_id, cursor, limit)
    shown = limit if limit != PAGE_SIZE else None  # kept in the pages' links when chosen
    units = sellable_of(
        session, workspace_id, [v for p in page.items for v in variants.get(p.id, [])]
    )
    context = {
        "member": member,
        "page": page,
        "variants": variants,
        "sellable": {p.id: sum(units[v.id] for v in variants.get(p.id, [])) for p in page.items},
        "sku": sku,
        "missing": missing,
        "is_first_page": not cursor,
        "first_url": link("/products", limit=shown),
        "next_url": link("/products", limit=shown, cursor=page.next_cursor)
        if page.next_cursor
        else None,
    }
    return render(request, "products.html", context, status=404 if missing else 200)


@pages.get("/products/{product_id}")
def product(request: Request, member: SignedIn, session: DbSession, product_id: str) -> Response:
    """One product; another workspace's product is not found."""
    workspace_id = member.workspace.id
    catalog = CatalogService(session)
    item, variants = catalog.get_product(workspace_id, product_id)
    ids = [v.id for v in variants]
    components = catalog.components([v.id for v in variants if v.is_bundle])
    parts = catalog.variants_by_id(
        workspace_id, {c.variant_id for group in components.values() for c in group}
    )
    sku_of = {v.id: v.sku for v in [*variants, *parts.values()]}
    listings = sorted(
        catalog.listings_for(workspace_id, ids), key=lambda x: (sku_of[x.variant_id], x.channel)
    )
    skus = [v.sku for v in variants]
    parity = PriceService(session).parity(workspace_id, skus)
    context: dict[str, Any] = {
        "member": member,
        "product": item,
        "variants": variants,
        "sku_of": sku_of,
        "components": {
            bundle: sorted(parts_of, key=lambda c: sku_of.get(c.variant_id, c.variant_id))
            for bundle, parts_of in components.items()
        },
        "sellable": sellable_of(session, workspace_id, variants),
        "listings": listings,
        "pushed": FeedService(session).states_of_listings(workspace_id, [x.id for x in listings]),
        "parity": parity,
        "parity_rows": sorted(parity.rows, key=lambda r: (r.sku, r.channel)),
        "oversold": oversold_rows(session, workspace_id, variant_ids=ids),
    }
    return render(request, "product.html", context)
