"""A profile's traits and seen times as a stitch, a merge or a rebuild folds them.

Each trait keeps the time it was stated (``trait_stamps``): the newest statement wins, so
records folded in any order leave the same traits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def stamp(at: datetime) -> str:
    """A trait's stamp: the time it was stated, as ISO 8601 (they compare as strings)."""
    return at.isoformat()


def fold_traits(
    traits: dict[str, Any], stamps: dict[str, Any], new: Mapping[str, Any], at: str
) -> bool:
    """Newest statement of each trait wins; returns whether anything changed."""
    changed = False
    for key, value in new.items():
        if value is None or value == "":
            continue
        if key not in stamps or str(stamps[key]) <= at:
            if traits.get(key) != value:
                changed = True
            traits[key] = value
            stamps[key] = at
    return changed


@dataclass
class Summary:
    """A profile's traits and times while a batch is planned and written."""

    traits: dict[str, Any]
    stamps: dict[str, Any]
    first_seen: datetime | None
    last_seen: datetime | None
    is_new: bool = False
    times_only: bool = False  # traits not read: only the times may change

    @classmethod
    def of(cls, profile: Any) -> Summary:
        """A profile row's (or summary row's) traits and times, copied."""
        return cls(
            dict(profile.traits or {}),
            dict(profile.trait_stamps or {}),
            profile.first_seen,
            profile.last_seen,
        )

    def copy(self) -> Summary:
        return Summary(
            dict(self.traits),
            dict(self.stamps),
            self.first_seen,
            self.last_seen,
            self.is_new,
            self.times_only,
        )

    def absorb(self, other: Summary) -> None:
        """Take a merged profile's traits (newest stamp wins) and widen the seen times."""
        for key, value in other.traits.items():
            fold_traits(self.traits, self.stamps, {key: value}, str(other.stamps.get(key, "")))
        for at in (other.first_seen, other.last_seen):
            if at is not None:
                if self.first_seen is None or at < self.first_seen:
                    self.first_seen = at
                if self.last_seen is None or at > self.last_seen:
                    self.last_seen = at
