"""``/v1/products``, ``/v1/variants``, ``/v1/listings``: the catalog."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Query

from tessera.catalog.schemas import (
    ComponentOut,
    ListingIn,
    ListingOut,
    ListingPage,
    ProductIn,
    ProductOut,
    ProductPage,
    VariantOut,
    VariantPage,
)
from tessera.catalog.service import CatalogService
from tessera.http.routing import DbSession, router
from tessera.models.catalog import Product, Variant
from tessera.workspace.auth import Marketer, Viewer

api = router(prefix="/v1", tags=["catalog"])


def variants_out(
    service: CatalogService, workspace_id: str, variants: Sequence[Variant]
) -> list[VariantOut]:
    """Variants with their bundles' components named by SKU."""
    components = service.components([v.id for v in variants if v.is_bundle])
    ids = {c.variant_id for parts in components.values() for c in parts}
    skus = {v.id: v.sku for v in service.variants_by_id(workspace_id, ids).values()}
    result = []
    for variant in variants:
        out = VariantOut.model_validate(variant)
        out.components = [
            ComponentOut(
                variant_id=c.variant_id, sku=skus.get(c.variant_id, ""), quantity=c.quantity
            )
            for c in components.get(variant.id, [])
        ]
        result.append(out)
    return result


def _product_out(
    service: CatalogService, workspace_id: str, product: Product, variants: Sequence[Variant]
) -> ProductOut:
    out = ProductOut.model_validate(product)
    out.variants = variants_out(service, workspace_id, variants)
    return out


@api.get("/products", response_model=ProductPage, summary="Products with their variants")
def list_products(
    principal: Viewer,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> ProductPage:
    service = CatalogService(session)
    page, variants = service.list_products(principal.workspace_id, cursor, limit)
    return ProductPage(
        items=[
            _product_out(service, principal.workspace_id, p, variants.get(p.id, []))
            for p in page.items
        ],
        next_cursor=page.next_cursor,
    )


@api.post(
    "/products",
    response_model=ProductOut,
    status_code=201,
    summary="Create a product with its variants; a variant with components is a bundle",
)
def create_product(body: ProductIn, principal: Marketer, session: DbSession) -> ProductOut:
    service = CatalogService(session)
    product = service.create_product(principal.workspace_id, body)
    product, variants = service.get_product(principal.workspace_id, product.id)
    return _product_out(service, principal.workspace_id, product, variants)


@api.get("/products/{product_id}", response_model=ProductOut, summary="One product")
def get_product(product_id: str, principal: Viewer, session: DbSession) -> ProductOut:
    service = CatalogService(session)
    product, variants = service.get_product(principal.workspace_id, product_id)
    return _product_out(service, principal.workspace_id, product, variants)


@api.get("/variants", response_model=VariantPage, summary="Variants (SKUs), or the one with a SKU")
def list_variants(
    principal: Viewer,
    session: DbSession,
    sku: str | None = Query(default=None, max_length=120),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> VariantPage:
    service = CatalogService(session)
    page = service.list_variants(principal.workspace_id, cursor, limit, sku)
    return VariantPage(
        items=variants_out(service, principal.workspace_id, page.items),
        next_cursor=page.next_cursor,
    )


@api.get("/listings", response_model=ListingPage, summary="Channel listings, by channel or SKU")
def list_listings(
    principal: Viewer,
    session: DbSession,
    channel: str | None = Query(default=None, max_length=80),
    sku: str | None = Query(default=None, max_length=120),
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
) -> ListingPage:
    page = CatalogService(session).list_listings(
        principal.workspace_id, cursor, limit, channel, sku
    )
    return ListingPage(
        items=[ListingOut.model_validate(x) for x in page.items], next_cursor=page.next_cursor
    )


@api.post(
    "/listings",
    response_model=ListingOut,
    summary="List a SKU on a channel under the channel's ids (the same id again updates it)",
)
def create_listing(body: ListingIn, principal: Marketer, session: DbSession) -> ListingOut:
    listing = CatalogService(session).add_listing(principal.workspace_id, body)
    return ListingOut.model_validate(listing)
