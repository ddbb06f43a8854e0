"""Credits per channel that add up exactly to the conversions and the value.

Models compute in floating point; the last step turns those figures into whole units with the
largest-remainder method: conversions in millionths (``Decimal`` with six places), value in
minor units. The units a model's figures add up to are first floored, then the units still
missing go one each to the channels with the largest remainders (ties to the channel seen
first in the paths). So the credits always sum to the totals, to the unit, and differ from the
model's exact figures by less than one unit each.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from tessera.analytics.attribution.paths import Paths

CONVERSION_PLACES = 6
CONVERSION_UNITS = 10**CONVERSION_PLACES


@dataclass(frozen=True)
class ChannelCredit:
    """What a model gives one channel: conversions (six decimal places) and value (minor
    units)."""

    channel: str
    conversions: Decimal
    value: int


@dataclass(frozen=True)
class Credits:
    """One model's credits for every channel of the paths (in name order), with the totals
    they add up to exactly."""

    model: str
    conversions: int
    value: int
    channels: tuple[ChannelCredit, ...]

    def __getitem__(self, channel: str) -> ChannelCredit:
        for credit in self.channels:
            if credit.channel == channel:
                return credit
        raise KeyError(channel)

    def __iter__(self) -> Iterator[ChannelCredit]:
        return iter(self.channels)

    def conversions_by_channel(self) -> dict[str, Decimal]:
        return {credit.channel: credit.conversions for credit in self.channels}

    def value_by_channel(self) -> dict[str, int]:
        return {credit.channel: credit.value for credit in self.channels}


def apportion(shares: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """``total`` whole units split in proportion to ``shares`` (non-negative, not all zero
    unless ``total`` is 0) by the largest-remainder method; the result sums to ``total``."""
    if total == 0:
        return np.zeros(len(shares), dtype=np.int64)
    weights = np.clip(np.asarray(shares, dtype=np.float64), 0.0, None)
    mass = weights.sum()
    if not mass > 0:
        raise ValueError("no channel has a share of a non-zero total")
    exact = weights * (total / mass)
    units: NDArray[np.int64] = np.floor(exact).astype(np.int64)
    missing = total - int(units.sum())
    remainders = exact - units
    remainders[weights == 0] = -1.0  # a channel the model gave nothing never gets a unit
    # Stable sort: equal remainders go to the lower code, i.e. the channel seen first.
    order = np.argsort(-remainders, kind="stable")
    if missing > 0:
        units[order[:missing]] += 1
    elif missing < 0:
        # Only float error can overshoot (by a unit or so): take back from the smallest
        # remainders among channels that have a unit to give.
        for code in order[::-1]:
            if missing == 0:
                break
            if units[code] > 0:
                units[code] -= 1
                missing += 1
    return units


def make_credits(
    model: str,
    paths: Paths,
    conversions: NDArray[np.float64],
    value: NDArray[np.float64] | None = None,
) -> Credits:
    """Credits from a model's per-channel figures (indexed by channel code). ``value``
    defaults to the conversions' shares applied to the total value."""
    total_conversions = paths.total_conversions
    total_value = paths.total_value
    conversion_units = apportion(conversions, total_conversions * CONVERSION_UNITS)
    value_units = apportion(conversions if value is None else value, total_value)
    return _credits(model, paths, total_conversions, total_value, conversion_units, value_units)


def _credits(
    model: str,
    paths: Paths,
    total_conversions: int,
    total_value: int,
    conversion_units: NDArray[np.int64],
    value_units: NDArray[np.int64],
) -> Credits:
    rows = sorted(
        (
            ChannelCredit(
                channel=name,
                conversions=Decimal(int(conversion_units[code])).scaleb(-CONVERSION_PLACES),
                value=int(value_units[code]),
            )
            for code, name in enumerate(paths.channels)
        ),
        key=lambda credit: credit.channel,
    )
    return Credits(
        model=model, conversions=total_conversions, value=total_value, channels=tuple(rows)
    )


def as_table(credits: Mapping[str, Credits]) -> list[dict[str, object]]:
    """All models side by side: one row per channel, a conversions and a value column per
    model (``linear_conversions``, ``linear_value``...)."""
    names = sorted({credit.channel for one in credits.values() for credit in one})
    rows: list[dict[str, object]] = []
    for name in names:
        row: dict[str, object] = {"channel": name}
        for model, one in credits.items():
            credit = one[name]
            row[f"{model}_conversions"] = credit.conversions
            row[f"{model}_value"] = credit.value
        rows.append(row)
    return rows
