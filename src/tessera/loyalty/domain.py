"""Loyalty's pure rules: points for an amount, what a refund takes back, which points have
expired (first in, first out), the tier a member's points reach, and reward codes.

No session and no clock: callers pass ``now`` and the entries they read.
"""

from __future__ import annotations

import re
import secrets
from calendar import monthrange
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tessera.kit.money import minor_exponent

TIER_WINDOW = timedelta(days=365)  # "the last 12 months" of a rolling tier
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 letters, no 0/O, 1/I
CODE_GROUPS = 4
CODE_GROUP_LENGTH = 4  # 16 letters of 5 bits: 80 random bits, unguessable
DEBIT_KINDS = ("redeemed", "reversed", "adjusted")


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    threshold: int  # points earned (in the window, or ever) to reach it


@dataclass(frozen=True, slots=True)
class Reward:
    key: str
    name: str
    points_cost: int
    kind: str  # "amount" (minor units of the program's currency) or "percent"
    value: int


@dataclass(frozen=True, slots=True)
class Movement:
    """One ledger entry as the rules see it."""

    kind: str
    points: int
    occurred_at: datetime
    expires_at: datetime | None = None


def add_months(at: datetime, months: int) -> datetime:
    """``at`` moved by whole calendar months, the day clamped to the month's last (31 January
    plus one month is 28 or 29 February)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))


def points_for(amount_minor: int, currency: str, points_per_unit: int) -> int:
    """Points an amount earns: ``points_per_unit`` per major unit, rounded down; never
    negative (a negative amount earns nothing)."""
    if amount_minor <= 0 or points_per_unit <= 0:
        return 0
    scale: int = 10 ** minor_exponent(currency)
    return amount_minor * points_per_unit // scale


def reversal_for(
    earned: int, order_total: int, refunded_before: int, refund: int, reversed_before: int
) -> int:
    """Points a refund of ``refund`` takes back from an order that earned ``earned`` on
    ``order_total``, in proportion to everything refunded so far (so partial refunds add up to
    the whole when the whole is refunded), never more than is left to take back."""
    if earned <= 0 or refund <= 0:
        return 0
    remaining = max(0, earned - reversed_before)
    if order_total <= 0:
        return remaining
    refunded = min(order_total, refunded_before + refund)
    due = earned * refunded // order_total
    return max(0, min(remaining, due - reversed_before))


@dataclass(slots=True)
class _Lot:
    remaining: int
    expires_at: datetime | None

    def expired_by(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at


def expiring(movements: Iterable[Movement], now: datetime) -> int:
    """Points whose lot has expired by ``now`` and was not spent: lots are consumed first in,
    first out by every debit; an earlier expiry consumed its own expired lots. Never more
    than the balance (a balance below zero has nothing to expire)."""
    lots: list[_Lot] = []  # oldest first
    balance = 0
    for move in sorted(movements, key=lambda m: m.occurred_at):
        balance += move.points
        if move.points > 0:
            lots.append(_Lot(move.points, move.expires_at))
            continue
        due = -move.points
        for lot in lots:
            if due <= 0:
                break
            if move.kind == "expired" and not lot.expired_by(move.occurred_at):
                continue
            take = min(due, lot.remaining)
            lot.remaining -= take
            due -= take
    expired = sum(lot.remaining for lot in lots if lot.expired_by(now))
    return max(0, min(expired, balance))


def tier_points(movements: Iterable[Movement], now: datetime, basis: str) -> int:
    """Points that count toward a tier: earned less reversed, in the last 12 months or ever."""
    since = now - TIER_WINDOW if basis == "last_12_months" else None
    return sum(
        m.points
        for m in movements
        if m.kind in ("earned", "reversed") and (since is None or m.occurred_at > since)
    )


def tier_for(points: int, tiers: Sequence[Tier]) -> str | None:
    """The highest tier whose threshold ``points`` reaches, or None below the first."""
    reached = [t for t in tiers if points >= t.threshold]
    return max(reached, key=lambda t: t.threshold).name if reached else None


def new_code() -> str:
    """A fresh reward code, e.g. ``K7QM-2XRD-9FHT-WB4N``."""
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LENGTH))
    return _grouped(letters)


def normalise_code(text: str) -> str | None:
    """A code as typed at a till (any case, spaces or dashes) in its stored form, or None when
    it cannot be one of ours."""
    letters = re.sub(r"[\s-]", "", text).upper()
    if len(letters) != CODE_GROUPS * CODE_GROUP_LENGTH or any(
        c not in CODE_ALPHABET for c in letters
    ):
        return None
    return _grouped(letters)


def _grouped(letters: str) -> str:
    size = CODE_GROUP_LENGTH
    return "-".join(letters[i : i + size] for i in range(0, len(letters), size))


def normalise_receipt(retailer: str, receipt: str) -> tuple[str, str]:
    """The retailer and receipt number as compared for duplicates: case and inner spaces do
    not make a receipt new."""
    return " ".join(retailer.split()).lower(), re.sub(r"\s+", "", receipt).upper()


def normalise_serial(serial: str) -> str:
    return re.sub(r"\s+", "", serial).upper()
