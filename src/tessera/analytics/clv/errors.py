"""Errors of customer-lifetime-value modelling: input that is not a purchase history, and
histories a model cannot be fitted to."""

from __future__ import annotations

from tessera.kit.errors import InvalidInput


class InvalidHistory(InvalidInput):
    """A transaction or summary column that cannot be a purchase history (negative value,
    missing date, recency past the customer's age)."""

    slug = "clv-invalid-history"
    title = "The purchase history is not valid"


class NotFittable(InvalidInput):
    """The history is valid but says too little to fit the model: too few customers, no
    repeat buyers, or a maximum of the likelihood at the edge of the parameter space."""

    slug = "clv-not-fittable"
    title = "The model cannot be fitted to this history"
