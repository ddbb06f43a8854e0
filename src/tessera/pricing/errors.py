"""Errors of the pricing domain."""

from __future__ import annotations

from tessera.kit.errors import InvalidInput, NotFound


class InvalidPrice(InvalidInput):
    slug = "invalid-price"
    title = "The price is not valid"


class PriceNotFound(NotFound):
    slug = "price-not-found"
    title = "No price for this SKU on this channel"
