"""Paths to conversion as arrays: what every attribution model reads.

A ``Journey`` is one person's touches up to one conversion (or up to the end of the window,
for a journey that did not convert). ``Paths`` holds many journeys as flat NumPy arrays, the
way a columnar table would: the touches of journey ``j`` are ``offsets[j]:offsets[j + 1]`` of
``codes`` and ``times``; ``converted[j]``, ``value[j]`` and ``conversion_time[j]`` describe
its end. Models loop over channels or states, never over journeys.

A touch's "channel" is any label: a channel ("email"), a campaign, a creator or an asset.
Group by whatever the caller puts there; the models do not know the difference.

Channel codes are given in order of first appearance, so renaming the channels changes no
computation, only the names printed next to the credits (relabelling invariance is exact).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
from numpy.typing import NDArray


class PathsError(ValueError):
    """Journeys that cannot be attributed; the message names the journey and the field."""


@dataclass(frozen=True)
class Touch:
    """One touch: its label (channel, campaign, creator, asset...) and when it happened."""

    channel: str
    at: datetime


@dataclass(frozen=True)
class Journey:
    """One person's touches in time order up to a conversion (``converted``) or the end of
    the window. ``value`` is the conversion's value in minor units; ``converted_at`` defaults
    to the last touch (time decay measures ages from it)."""

    touches: Sequence[Touch]
    converted: bool
    value: int = 0
    converted_at: datetime | None = None


@dataclass(frozen=True)
class Paths:
    """Journeys as arrays. Build with ``build_paths`` (objects) or ``Paths.from_arrays``
    (columns, for large inputs); both check the invariants the models rely on."""

    channels: tuple[str, ...]
    offsets: NDArray[np.int64]
    codes: NDArray[np.int64]
    times: NDArray[np.float64]
    converted: NDArray[np.bool_]
    value: NDArray[np.int64]
    conversion_time: NDArray[np.float64]

    @classmethod
    def from_arrays(
        cls,
        channels: Sequence[str],
        offsets: NDArray[np.integer] | Sequence[int],
        codes: NDArray[np.integer] | Sequence[int],
        converted: NDArray[np.bool_] | Sequence[bool],
        value: NDArray[np.integer] | Sequence[int] | None = None,
        times: NDArray[np.floating] | Sequence[float] | None = None,
        conversion_time: NDArray[np.floating] | Sequence[float] | None = None,
    ) -> Paths:
        """Paths from columns: ``times`` in seconds (any epoch, the models use differences;
        default: the touch's position), ``conversion_time`` defaults to each journey's last
        touch. Refuses empty journeys, codes outside ``channels``, negative values and touches
        out of time order, naming the first journey at fault."""
        offsets_ = np.ascontiguousarray(offsets, dtype=np.int64)
        codes_ = np.ascontiguousarray(codes, dtype=np.int64)
        converted_ = np.ascontiguousarray(converted, dtype=np.bool_)
        journeys = len(converted_)
        if offsets_.shape != (journeys + 1,) or (journeys and offsets_[0] != 0):
            raise PathsError("offsets must have one more entry than journeys and start at 0")
        if offsets_[-1] != len(codes_):
            raise PathsError("offsets must end at the number of touches")
        lengths = np.diff(offsets_)
        _refuse(lengths < 1, "touches", "must not be empty")
        if len(set(channels)) != len(channels):
            raise PathsError("channels must be distinct")
        if len(codes_) and (codes_.min() < 0 or codes_.max() >= len(channels)):
            raise PathsError("codes must index channels")
        value_ = (
            np.zeros(journeys, np.int64)
            if value is None
            else np.ascontiguousarray(value, dtype=np.int64)
        )
        if value_.shape != (journeys,):
            raise PathsError("value must have one entry per journey")
        _refuse(value_ < 0, "value", "must not be negative")
        if times is None:
            times_ = (np.arange(len(codes_)) - np.repeat(offsets_[:-1], lengths)).astype(np.float64)
        else:
            times_ = np.ascontiguousarray(times, dtype=np.float64)
        if times_.shape != codes_.shape or not np.isfinite(times_).all():
            raise PathsError("times must be finite, one per touch")
        if len(times_) > 1:
            backwards = np.zeros(len(times_), np.bool_)
            backwards[1:] = np.diff(times_) < 0
            backwards[offsets_[:-1]] = False
            path_of = np.repeat(np.arange(journeys), lengths)
            _refuse(
                np.bincount(path_of[backwards], minlength=journeys) > 0,
                "touches",
                "must be in time order",
            )
        last = times_[offsets_[1:] - 1] if journeys else np.zeros(0)
        if conversion_time is None:
            conversion_time_ = last.copy()
        else:
            conversion_time_ = np.ascontiguousarray(conversion_time, dtype=np.float64)
            if conversion_time_.shape != (journeys,) or not np.isfinite(conversion_time_).all():
                raise PathsError("conversion_time must be finite, one per journey")
            _refuse(conversion_time_ < last, "converted_at", "must not precede a touch")
        return cls(
            channels=tuple(channels),
            offsets=offsets_,
            codes=codes_,
            times=times_,
            converted=converted_,
            value=value_,
            conversion_time=conversion_time_,
        )

    @property
    def journeys(self) -> int:
        return len(self.converted)

    @cached_property
    def lengths(self) -> NDArray[np.int64]:
        return np.diff(self.offsets)

    @cached_property
    def journey_of_touch(self) -> NDArray[np.int64]:
        """For each touch, the index of its journey (computed once, then kept)."""
        return np.repeat(np.arange(self.journeys, dtype=np.int64), self.lengths)

    @property
    def total_conversions(self) -> int:
        return int(self.converted.sum())

    @property
    def total_value(self) -> int:
        return int(self.value[self.converted].sum())


def build_paths(journeys: Iterable[Journey]) -> Paths:
    """Paths from journey objects (tests, small reports). Channel codes follow first
    appearance. Refuses a journey without touches, touches out of time order, a negative
    value or a conversion before its last touch, naming the journey by its index."""
    channels: dict[str, int] = {}
    offsets = [0]
    codes: list[int] = []
    times: list[float] = []
    converted: list[bool] = []
    values: list[int] = []
    conversion_times: list[float] = []
    for journey in journeys:
        for touch in journey.touches:
            codes.append(channels.setdefault(touch.channel, len(channels)))
            times.append(touch.at.timestamp())
        offsets.append(len(codes))
        converted.append(journey.converted)
        values.append(journey.value)
        if journey.converted_at is not None:
            conversion_times.append(journey.converted_at.timestamp())
        else:
            conversion_times.append(times[-1] if journey.touches else 0.0)
    return Paths.from_arrays(
        channels=list(channels),
        offsets=offsets,
        codes=codes,
        converted=converted,
        value=values,
        times=times,
        conversion_time=conversion_times,
    )


def _refuse(bad: NDArray[np.bool_], field: str, problem: str) -> None:
    if bad.any():
        raise PathsError(f"journeys[{int(np.argmax(bad))}].{field} {problem}")
