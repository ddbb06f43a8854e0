"""Errors of the orders domain."""

from __future__ import annotations

from tessera.kit.errors import InvalidInput, NotFound


class OrderNotFound(NotFound):
    slug = "order-not-found"
    title = "No such order in this workspace"


class InvalidOrder(InvalidInput):
    slug = "invalid-order"
    title = "The order is not valid"
