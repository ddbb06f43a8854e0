"""Errors of the inventory domain, each with its HTTP status and a stable slug."""

from __future__ import annotations

from tessera.kit.errors import Conflict, InvalidInput, NotFound


class LocationNotFound(NotFound):
    slug = "location-not-found"
    title = "No such location in this workspace"


class ReservationNotFound(NotFound):
    slug = "reservation-not-found"
    title = "No such reservation in this workspace"


class RoutingDecisionNotFound(NotFound):
    slug = "routing-decision-not-found"
    title = "No routing decision for this order in this workspace"


class InvalidStockInput(InvalidInput):
    slug = "invalid-stock-input"
    title = "The stock input is not valid"


class InsufficientStock(Conflict):
    """Not enough available stock for what was asked; nothing was changed."""

    slug = "insufficient-stock"
    title = "Not enough stock available"


class ReservationNotHeld(Conflict):
    slug = "reservation-not-held"
    title = "The reservation is no longer held"


class ReadOnlyLocation(Conflict):
    slug = "read-only-location"
    title = "This location's stock is not ours to change"


class DuplicateLocation(Conflict):
    slug = "duplicate-location"
    title = "A location with this code exists"


class IdempotencyKeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "This idempotency key was used for a different request"
