"""Use cases of the catalog. Never commits: the caller's scope does.

SKUs are unique per workspace (a constraint), so two imports racing on one SKU keep one
variant. A bundle's components must be plain variants of the same workspace: bundles of
bundles are refused, which keeps "reserve a bundle = reserve its components" one level deep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tessera.catalog import importer
from tessera.catalog.errors import (
    DuplicateListing,
    DuplicateSku,
    InvalidBundle,
    InvalidCatalogInput,
    ProductNotFound,
    UnknownSku,
    VariantNotFound,
)
from tessera.catalog.repository import CatalogRepository
from tessera.catalog.schemas import ImportSummary, ListingIn, ProductIn, VariantIn
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import utcnow
from tessera.models.catalog import ChannelListing, Product, Variant


@dataclass(frozen=True, slots=True)
class VariantFacts:
    """What stock needs to know of a variant, read without building ORM objects."""

    id: str
    sku: str
    is_bundle: bool
    allows_backorder: bool


@dataclass(frozen=True, slots=True)
class Component:
    variant_id: str
    quantity: int


class CatalogService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = CatalogRepository(session)

    # Products and variants ----------------------------------------------------------------

    def create_product(self, workspace_id: str, data: ProductIn) -> Product:
        """Create a product with its variants (and bundles' components).

        Refuses a handle or SKU already used in the workspace (409), a SKU twice in the request,
        and a bundle naming an unknown SKU, itself or another bundle.
        """
        if self.repository.product_by_handle(workspace_id, data.handle) is not None:
            raise DuplicateSku(f"a product with handle {data.handle!r} exists", field="handle")
        skus = [v.sku for v in data.variants]
        taken = self.repository.variants_by_sku(workspace_id, skus)
        if taken:
            raise DuplicateSku(f"SKU {taken[0].sku} is already in the catalog", field="sku")
        product, _, _, _ = self._write_product(workspace_id, data)
        return product

    def upsert_product(self, workspace_id: str, data: ProductIn) -> tuple[Product, bool, int, int]:
        """Create or update a product by handle and its variants by SKU (imports).

        Returns (product, created, variants created, variants updated). Refuses a SKU that
        belongs to another product's variant.
        """
        return self._write_product(workspace_id, data)

    def _write_product(self, workspace_id: str, data: ProductIn) -> tuple[Product, bool, int, int]:
        skus = [v.sku for v in data.variants]
        if len(set(skus)) != len(skus):
            raise InvalidCatalogInput("a SKU appears twice in one product", field="variants")
        now = utcnow()
        product = self.repository.product_by_handle(workspace_id, data.handle)
        created = product is None
        if product is None:
            product = Product(
                workspace_id=workspace_id,
                handle=data.handle,
                title=data.title,
                vendor=data.vendor,
                status=data.status,
                created_at=now,
                updated_at=now,
            )
            self.session.add(product)
            self.session.flush()
        else:
            product.title, product.vendor, product.status = data.title, data.vendor, data.status
            product.updated_at = now
        # A page or picture left out (a file without those columns) keeps the one known.
        product.url = data.url or product.url
        product.image_url = data.image_url or product.image_url
        existing = {v.sku: v for v in self.repository.variants_by_sku(workspace_id, skus)}
        made = updated = 0
        variants: list[tuple[Variant, VariantIn]] = []
        for item in data.variants:
            variant = existing.get(item.sku)
            if variant is not None and variant.product_id != product.id:
                raise DuplicateSku(
                    f"SKU {item.sku} belongs to another product", field="sku", sku=item.sku
                )
            if variant is None:
                variant = Variant(
                    workspace_id=workspace_id, product_id=product.id, sku=item.sku, created_at=now
                )
                self.session.add(variant)
                made += 1
            else:
                updated += 1
            variant.title = item.title
            variant.gtin = item.gtin
            variant.weight_grams = item.weight_grams
            variant.options = dict(item.options)
            variant.allows_backorder = item.allows_backorder
            variant.url = item.url or variant.url
            variant.image_url = item.image_url or variant.image_url
            variant.is_bundle = bool(item.components)
            variant.updated_at = now
            variants.append((variant, item))
        try:
            self.session.flush()
        except IntegrityError:
            raise DuplicateSku("a SKU in this product is already in the catalog") from None
        for variant, item in variants:
            if item.components or variant.is_bundle:
                self._set_components(workspace_id, variant, item)
        return product, created, made, updated

    def _set_components(self, workspace_id: str, bundle: Variant, item: VariantIn) -> None:
        wanted: dict[str, int] = defaultdict(int)
        for component in item.components:
            wanted[component.sku] += component.quantity
        if bundle.sku in wanted:
            raise InvalidBundle(f"bundle {bundle.sku} cannot contain itself", field="components")
        found = {v.sku: v for v in self.repository.variants_by_sku(workspace_id, list(wanted))}
        for sku in wanted:
            variant = found.get(sku)
            if variant is None:
                raise UnknownSku(f"bundle {bundle.sku} names unknown SKU {sku}", field="components")
            if variant.is_bundle:
                raise InvalidBundle(
                    f"bundle {bundle.sku} names {sku}, itself a bundle; name its components",
                    field="components",
                )
        if bundle.id is not None and self.repository.bundles_containing([bundle.id]) and wanted:
            raise InvalidBundle(
                f"{bundle.sku} is a component of another bundle and cannot be a bundle",
                field="components",
            )
        self.repository.replace_components(
            workspace_id, bundle.id, [(found[sku].id, qty) for sku, qty in sorted(wanted.items())]
        )
        self.session.flush()

    def get_product(self, workspace_id: str, product_id: str) -> tuple[Product, list[Variant]]:
        """A product with its variants; another workspace's is not found."""
        product = self.repository.product(workspace_id, product_id)
        if product is None:
            raise ProductNotFound(f"no product {product_id} in this workspace")
        return product, list(self.repository.variants_of_products([product.id]))

    def get_variant(self, workspace_id: str, variant_id: str) -> Variant:
        """One variant; another workspace's is not found (404 variant-not-found)."""
        found = self.repository.variants_by_id(workspace_id, [variant_id])
        if not found:
            raise VariantNotFound(f"no variant {variant_id} in this workspace")
        return found[0]

    def list_products(
        self, workspace_id: str, cursor: str | None = None, limit: int = 50
    ) -> tuple[Page[Product], dict[str, list[Variant]]]:
        """Products in creation order, with their variants."""
        limit = clamp_limit(limit)
        page = page_from(
            self.repository.products(workspace_id, decode_cursor(cursor), limit + 1), limit
        )
        variants: dict[str, list[Variant]] = defaultdict(list)
        for variant in self.repository.variants_of_products([p.id for p in page.items]):
            variants[variant.product_id].append(variant)
        return page, variants

    def list_variants(
        self, workspace_id: str, cursor: str | None = None, limit: int = 50, sku: str | None = None
    ) -> Page[Variant]:
        """Variants in creation order, or the one with ``sku``."""
        limit = clamp_limit(limit)
        rows = self.repository.variants(workspace_id, decode_cursor(cursor), limit + 1, sku)
        return page_from(rows, limit)

    def variant_by_sku(self, workspace_id: str, sku: str) -> Variant:
        """The variant with ``sku``; refuses an unknown SKU (404 unknown-sku)."""
        found = self.repository.variants_by_sku(workspace_id, [sku])
        if not found:
            raise UnknownSku(f"no variant has SKU {sku!r}", field="sku", sku=sku)
        return found[0]

    def variants_by_sku(self, workspace_id: str, skus: Collection[str]) -> dict[str, Variant]:
        """Variants keyed by SKU; unknown SKUs are simply absent."""
        return {v.sku: v for v in self.repository.variants_by_sku(workspace_id, skus)}

    def variant_facts_by_sku(
        self, workspace_id: str, skus: Collection[str]
    ) -> dict[str, VariantFacts]:
        """Facts of the variants with these SKUs, keyed by SKU; unknown SKUs are absent."""
        rows = self.repository.variant_facts(workspace_id, skus, by="sku")
        return {str(r[1]): VariantFacts(str(r[0]), str(r[1]), bool(r[2]), bool(r[3])) for r in rows}

    def variant_facts_by_id(
        self, workspace_id: str, ids: Collection[str]
    ) -> dict[str, VariantFacts]:
        """Facts of these variants (of this workspace only), keyed by id."""
        rows = self.repository.variant_facts(workspace_id, ids, by="id")
        return {str(r[0]): VariantFacts(str(r[0]), str(r[1]), bool(r[2]), bool(r[3])) for r in rows}

    def variants_by_id(self, workspace_id: str, ids: Collection[str]) -> dict[str, Variant]:
        """Variants keyed by id, of this workspace only."""
        return {v.id: v for v in self.repository.variants_by_id(workspace_id, ids)}

    def components(self, bundle_ids: Collection[str]) -> dict[str, list[Component]]:
        """Each bundle's components (variant id, units per bundle)."""
        result: dict[str, list[Component]] = defaultdict(list)
        for row in self.repository.components(bundle_ids):
            result[row.bundle_id].append(Component(row.component_id, row.quantity))
        return dict(result)

    def bundles_containing(self, component_ids: Collection[str]) -> dict[str, list[Component]]:
        """For each bundle that holds one of ``component_ids``: all of its components."""
        bundle_ids = {row.bundle_id for row in self.repository.bundles_containing(component_ids)}
        return self.components(bundle_ids)

    # Listings -----------------------------------------------------------------------------

    def add_listing(self, workspace_id: str, data: ListingIn) -> ChannelListing:
        """List a SKU on a channel under the channel's id; the same id again updates it.

        Refuses an unknown SKU (404), and a channel id already listed for another SKU (409).
        """
        variant = self.variant_by_sku(workspace_id, data.sku)
        listing = self.repository.listing_by_external_id(
            workspace_id, data.channel, data.external_id
        )
        now = utcnow()
        if listing is not None and listing.variant_id != variant.id:
            raise DuplicateListing(
                f"{data.channel} id {data.external_id} is listed for another SKU",
                field="external_id",
            )
        if listing is None:
            listing = ChannelListing(
                workspace_id=workspace_id,
                variant_id=variant.id,
                channel=data.channel,
                external_id=data.external_id,
                created_at=now,
            )
            self.session.add(listing)
        listing.platform = data.platform
        listing.external_product_id = data.external_product_id
        listing.external_variant_id = data.external_variant_id
        listing.inventory_item_id = data.inventory_item_id
        listing.asin = data.asin
        listing.seller_sku = data.seller_sku
        listing.fulfillment_channel = data.fulfillment_channel
        listing.is_active = True
        listing.updated_at = now
        self.session.flush()
        return listing

    def list_listings(
        self,
        workspace_id: str,
        cursor: str | None = None,
        limit: int = 50,
        channel: str | None = None,
        sku: str | None = None,
    ) -> Page[ChannelListing]:
        """Listings in creation order, by channel or SKU."""
        limit = clamp_limit(limit)
        variant_ids = [self.variant_by_sku(workspace_id, sku).id] if sku else None
        rows = self.repository.listings(
            workspace_id, decode_cursor(cursor), limit + 1, channel, variant_ids
        )
        return page_from(rows, limit)

    def listings_for(
        self, workspace_id: str, variant_ids: Collection[str], channel: str | None = None
    ) -> Sequence[ChannelListing]:
        """Every listing of these variants (on one channel, when named)."""
        return self.repository.listings(workspace_id, None, 1_000_000, channel, variant_ids)

    # Imports ------------------------------------------------------------------------------

    def import_csv(self, workspace_id: str, text: str) -> ImportSummary:
        """Import a catalog CSV (see ``catalog.importer.CSV_COLUMNS``); refused rows are listed."""
        return self._import(workspace_id, importer.parse_csv(text))

    def import_shopify(
        self, workspace_id: str, text: str, channel: str = "web", storefront: str | None = None
    ) -> ImportSummary:
        """Import Shopify product payloads, listing each variant's inventory item on ``channel``;
        with ``storefront`` (``https://shop.example``) each product's page is its handle's."""
        return self._import(workspace_id, importer.parse_shopify(text, channel, storefront))

    def _import(self, workspace_id: str, parsed: importer.ParsedCatalog) -> ImportSummary:
        summary = ImportSummary(errors=list(parsed.errors))
        # Plain variants first, so bundles further down the file find their components.
        ordered = sorted(parsed.products, key=lambda p: any(v.components for v in p.variants))
        for product in ordered:
            nested = self.session.begin_nested()
            try:
                _, created, made, updated = self.upsert_product(workspace_id, product)
            except (DuplicateSku, UnknownSku, InvalidBundle, InvalidCatalogInput) as exc:
                nested.rollback()
                summary.errors.append(f"product {product.handle!r}: {exc.detail}")
                continue
            nested.commit()
            summary.products_created += int(created)
            summary.products_updated += int(not created)
            summary.variants_created += made
            summary.variants_updated += updated
        for listing in parsed.listings:
            nested = self.session.begin_nested()
            try:
                self.add_listing(workspace_id, listing)
            except (UnknownSku, DuplicateListing) as exc:
                nested.rollback()
                summary.errors.append(
                    f"listing {listing.channel}:{listing.external_id}: {exc.detail}"
                )
                continue
            nested.commit()
            summary.listings += 1
        return summary


def component_demand(
    lines: Iterable[tuple[str, int]], components: dict[str, list[Component]]
) -> dict[str, int]:
    """Units per stocked variant for (variant id, quantity) lines: bundles become components,
    and lines sharing a component add up (medusa #16502)."""
    demand: dict[str, int] = defaultdict(int)
    for variant_id, quantity in lines:
        parts = components.get(variant_id)
        if parts:
            for part in parts:
                demand[part.variant_id] += part.quantity * quantity
        else:
            demand[variant_id] += quantity
    return dict(demand)
