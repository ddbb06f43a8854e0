"""Errors of the catalog domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, InvalidInput, NotFound


class ProductNotFound(NotFound):
    slug = "product-not-found"
    title = "No such product in this workspace"


class UnknownSku(NotFound):
    slug = "unknown-sku"
    title = "No variant has this SKU in this workspace"


class VariantNotFound(NotFound):
    slug = "variant-not-found"
    title = "No such variant in this workspace"


class InvalidCatalogInput(InvalidInput):
    slug = "invalid-catalog-input"
    title = "The catalog input is not valid"


class DuplicateSku(Conflict):
    slug = "duplicate-sku"
    title = "Another variant already has this SKU"


class DuplicateListing(Conflict):
    slug = "duplicate-listing"
    title = "This channel id is already listed for another variant"


class InvalidBundle(InvalidInput):
    slug = "invalid-bundle"
    title = "The bundle is not valid"
