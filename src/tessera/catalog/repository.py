"""Every SQL statement of the catalog."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select

from tessera.db.base import RepositoryBase
from tessera.models.catalog import BundleComponent, ChannelListing, Product, Variant

# Built once: the reservation path reads variants on every call, and building a statement
# costs more CPU than running it.
_FACTS_BY_SKU = select(Variant.id, Variant.sku, Variant.is_bundle, Variant.allows_backorder).where(
    Variant.workspace_id == bindparam("w"), Variant.sku.in_(bindparam("keys", expanding=True))
)
_FACTS_BY_ID = select(Variant.id, Variant.sku, Variant.is_bundle, Variant.allows_backorder).where(
    Variant.workspace_id == bindparam("w"), Variant.id.in_(bindparam("keys", expanding=True))
)


class CatalogRepository(RepositoryBase):
    def variant_facts(
        self, workspace_id: str, keys: Collection[str], by: str = "sku"
    ) -> Sequence[Any]:
        """(id, sku, is_bundle, allows_backorder) rows by SKU or by id, without ORM objects."""
        if not keys:
            return []
        statement = _FACTS_BY_SKU if by == "sku" else _FACTS_BY_ID
        return self.session.execute(statement, {"w": workspace_id, "keys": list(keys)}).all()

    def product(self, workspace_id: str, product_id: str) -> Product | None:
        return self.session.scalar(
            select(Product).where(Product.workspace_id == workspace_id, Product.id == product_id)
        )

    def product_by_handle(self, workspace_id: str, handle: str) -> Product | None:
        return self.session.scalar(
            select(Product).where(Product.workspace_id == workspace_id, Product.handle == handle)
        )

    def products(self, workspace_id: str, after_id: str | None, limit: int) -> Sequence[Product]:
        query = select(Product).where(Product.workspace_id == workspace_id)
        if after_id:
            query = query.where(Product.id > after_id)
        return self.session.scalars(query.order_by(Product.id).limit(limit)).all()

    def variants_of_products(self, product_ids: Collection[str]) -> Sequence[Variant]:
        if not product_ids:
            return []
        return self.session.scalars(
            select(Variant).where(Variant.product_id.in_(product_ids)).order_by(Variant.sku)
        ).all()

    def variants(
        self, workspace_id: str, after_id: str | None, limit: int, sku: str | None = None
    ) -> Sequence[Variant]:
        query = select(Variant).where(Variant.workspace_id == workspace_id)
        if after_id:
            query = query.where(Variant.id > after_id)
        if sku:
            query = query.where(Variant.sku == sku)
        return self.session.scalars(query.order_by(Variant.id).limit(limit)).all()

    def variants_by_sku(self, workspace_id: str, skus: Collection[str]) -> Sequence[Variant]:
        if not skus:
            return []
        return self.session.scalars(
            select(Variant).where(Variant.workspace_id == workspace_id, Variant.sku.in_(skus))
        ).all()

    def variants_by_id(self, workspace_id: str, ids: Collection[str]) -> Sequence[Variant]:
        if not ids:
            return []
        return self.session.scalars(
            select(Variant).where(Variant.workspace_id == workspace_id, Variant.id.in_(ids))
        ).all()

    def components(self, bundle_ids: Collection[str]) -> Sequence[BundleComponent]:
        if not bundle_ids:
            return []
        return self.session.scalars(
            select(BundleComponent)
            .where(BundleComponent.bundle_id.in_(bundle_ids))
            .order_by(BundleComponent.bundle_id, BundleComponent.component_id)
        ).all()

    def bundles_containing(self, component_ids: Collection[str]) -> Sequence[BundleComponent]:
        if not component_ids:
            return []
        return self.session.scalars(
            select(BundleComponent).where(BundleComponent.component_id.in_(component_ids))
        ).all()

    def replace_components(
        self, workspace_id: str, bundle_id: str, components: Sequence[tuple[str, int]]
    ) -> None:
        self.session.execute(delete(BundleComponent).where(BundleComponent.bundle_id == bundle_id))
        for component_id, quantity in components:
            self.session.add(
                BundleComponent(
                    workspace_id=workspace_id,
                    bundle_id=bundle_id,
                    component_id=component_id,
                    quantity=quantity,
                )
            )

    def listing_by_external_id(
        self, workspace_id: str, channel: str, external_id: str
    ) -> ChannelListing | None:
        return self.session.scalar(
            select(ChannelListing).where(
                ChannelListing.workspace_id == workspace_id,
                ChannelListing.channel == channel,
                ChannelListing.external_id == external_id,
            )
        )

    def listings(
        self,
        workspace_id: str,
        after_id: str | None,
        limit: int,
        channel: str | None = None,
        variant_ids: Collection[str] | None = None,
    ) -> Sequence[ChannelListing]:
        query = select(ChannelListing).where(ChannelListing.workspace_id == workspace_id)
        if after_id:
            query = query.where(ChannelListing.id > after_id)
        if channel:
            query = query.where(ChannelListing.channel == channel)
        if variant_ids is not None:
            query = query.where(ChannelListing.variant_id.in_(variant_ids))
        return self.session.scalars(query.order_by(ChannelListing.id).limit(limit)).all()
