"""Errors of the demand forecast: the input names its field (422 invalid-input)."""

from __future__ import annotations

from tessera.kit.errors import InvalidInput


class InvalidForecastInput(InvalidInput):
    slug = "invalid-forecast-input"
    title = "The forecast's parameters are not valid"
