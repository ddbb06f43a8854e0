"""The demo's segments: the four a brand selling on its site, TikTok Shop, Amazon and in its
own stores asks for first. Seeded before any data, they fill as the demo's orders arrive.
Thresholds fit the demo's shoppers (60 days of data, baskets of $20-$80): a live brand's VIP
line and lapse window would be higher and longer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tessera.segment.service import SegmentService


def _ordered(channel: str | None = None, **more: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"kind": "orders", "min_count": 1, **more}
    if channel is not None:
        rule["channel"] = channel
    return rule


def _never(channel: str) -> dict[str, Any]:
    return {"kind": "not", "rule": _ordered(channel)}


DEMO_SEGMENTS: list[tuple[str, str, dict[str, Any]]] = [
    ("VIP", "Spent over $150 on any channel, refunds taken off",
     {"kind": "orders", "min_spent": 15000, "currency": "USD"}),
    ("Store-only buyers", "Bought in a store, never online",
     {"kind": "all", "rules": [_ordered("store"), _never("web"), _never("tiktok_shop"),
                               _never("amazon")]}),
    ("Lapsed 30 days", "Bought before, nothing in the last 30 days",
     {"kind": "all", "rules": [_ordered(), {"kind": "not", "rule": _ordered(within_days=30)}]}),
    ("TikTok first-time buyers", "One order in all, and it was on TikTok Shop",
     {"kind": "all", "rules": [_ordered("tiktok_shop"), {"kind": "orders", "max_count": 1}]}),
]  # fmt: skip


def seed_segments(session: Session, workspace_id: str) -> None:
    """Create the demo's segments (in the seeding transaction)."""
    service = SegmentService(session)
    for name, description, rule in DEMO_SEGMENTS:
        service.create(workspace_id, name, rule, description)
