"""Errors of Measure's reports: the input names its field (422 invalid-input)."""

from __future__ import annotations

from tessera.kit.errors import InvalidInput


class InvalidReportInput(InvalidInput):
    slug = "invalid-report-input"
    title = "The report's parameters are not valid"
