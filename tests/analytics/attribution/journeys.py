"""Small journeys for the attribution tests: a day between touches, converting on the last."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tessera.analytics.attribution import Journey, Paths, Touch, build_paths

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def journey(
    channels: Sequence[str], converted: bool = True, value: int = 0, days: float = 1.0
) -> Journey:
    """``channels`` touched ``days`` apart from ``START``, converting at the last touch."""
    touches = [
        Touch(channel, START + timedelta(days=days * n)) for n, channel in enumerate(channels)
    ]
    return Journey(touches, converted, value)


def paths(*journeys: Journey) -> Paths:
    return build_paths(journeys)
