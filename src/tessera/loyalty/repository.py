"""Every SQL statement of loyalty.

A balance is ``SUM(points)`` of the member's entries, read under the member's row lock when
something will be spent; an entry goes in with ``INSERT ... ON CONFLICT DO NOTHING`` on its
workspace's idempotency key, so the same order, refund or receipt writes one entry however
often it is delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tessera.db.base import RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.kit.ids import new_id
from tessera.loyalty.domain import Movement
from tessera.models.loyalty import (
    EntryKind,
    LoyaltyCode,
    LoyaltyEntry,
    LoyaltyMember,
    LoyaltyProgram,
    LoyaltyRegistration,
)
from tessera.models.loyalty_transfer import LoyaltyTransfer


@dataclass(frozen=True, slots=True)
class MemberBalance:
    member: LoyaltyMember
    balance: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """An entry a merge moved: the profile it came from, the member holding it now."""

    entry_id: str
    from_profile_id: str
    member_id: str


@dataclass(frozen=True, slots=True)
class Reversed:
    """What an order's reversals took back so far, and the refunds they answered."""

    points: int
    refunded: int


class LoyaltyRepository(RepositoryBase):
    # Program ---------------------------------------------------------------------------------

    def program(self, workspace_id: str) -> LoyaltyProgram | None:
        return self.session.get(LoyaltyProgram, workspace_id)

    def program_by_registration_key(self, key: str) -> LoyaltyProgram | None:
        return self.session.scalar(
            select(LoyaltyProgram).where(LoyaltyProgram.registration_key == key)
        )

    def add(self, row: Any) -> None:
        self.session.add(row)
        self.session.flush()

    # Members ---------------------------------------------------------------------------------

    def member(self, workspace_id: str, profile_id: str) -> LoyaltyMember | None:
        return self.session.scalar(
            select(LoyaltyMember).where(
                LoyaltyMember.workspace_id == workspace_id,
                LoyaltyMember.profile_id == profile_id,
            )
        )

    def locked_member(self, workspace_id: str, profile_id: str, now: datetime) -> LoyaltyMember:
        """The profile's member row, made if new, locked until the transaction ends: every
        statement that spends or moves points holds it first."""
        insert_ignoring_conflicts(
            self.session,
            LoyaltyMember,
            [
                {
                    "id": new_id("lmb"),
                    "workspace_id": workspace_id,
                    "profile_id": profile_id,
                    "tier": None,
                    "joined_at": now,
                    "updated_at": now,
                }
            ],
            ["workspace_id", "profile_id"],
        )
        member = self.session.scalar(
            select(LoyaltyMember)
            .where(
                LoyaltyMember.workspace_id == workspace_id,
                LoyaltyMember.profile_id == profile_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert member is not None
        return member

    def set_tier(self, member_id: str, tier: str | None, now: datetime) -> None:
        self.session.execute(
            update(LoyaltyMember)
            .where(LoyaltyMember.id == member_id)
            .values(tier=tier, updated_at=now)
            .execution_options(synchronize_session="fetch")
        )

    def members_page(
        self, workspace_id: str, tier: str | None, after: str | None, limit: int
    ) -> list[MemberBalance]:
        balance = func.coalesce(func.sum(LoyaltyEntry.points), 0)
        query = (
            select(LoyaltyMember, balance)
            .outerjoin(LoyaltyEntry, LoyaltyEntry.member_id == LoyaltyMember.id)
            .where(LoyaltyMember.workspace_id == workspace_id)
            .group_by(LoyaltyMember.id)
            .order_by(LoyaltyMember.id)
            .limit(limit)
        )
        if tier is not None:
            query = query.where(LoyaltyMember.tier == tier)
        if after is not None:
            query = query.where(LoyaltyMember.id > after)
        return [MemberBalance(m, int(b)) for m, b in self.session.execute(query)]

    def tier_counts(self, workspace_id: str) -> dict[str | None, int]:
        rows = self.session.execute(
            select(LoyaltyMember.tier, func.count())
            .where(LoyaltyMember.workspace_id == workspace_id)
            .group_by(LoyaltyMember.tier)
        )
        return {tier: int(count) for tier, count in rows}

    def move_member(
        self, absorbed: LoyaltyMember, survivor: LoyaltyMember, merge_id: str | None, now: datetime
    ) -> int:
        """The absorbed member's entries and codes become the survivor's; the absorbed row
        goes. Each moved entry is remembered with ``merge_id`` (when given) and the profile it
        came from, so undoing the merge can move it back. Returns how many entries moved."""
        entry_ids = list(
            self.session.scalars(
                select(LoyaltyEntry.id).where(LoyaltyEntry.member_id == absorbed.id)
            )
        )
        if merge_id is not None and entry_ids:
            insert_ignoring_conflicts(
                self.session,
                LoyaltyTransfer,
                [
                    {
                        "id": new_id("ltr"),
                        "workspace_id": absorbed.workspace_id,
                        "merge_id": merge_id,
                        "entry_id": entry_id,
                        "from_profile_id": absorbed.profile_id,
                        "created_at": now,
                    }
                    for entry_id in entry_ids
                ],
                ["merge_id", "entry_id"],
            )
        moved = self.session.execute(
            update(LoyaltyEntry)
            .where(LoyaltyEntry.member_id == absorbed.id)
            .values(member_id=survivor.id)
        )
        self.session.execute(
            update(LoyaltyCode)
            .where(LoyaltyCode.member_id == absorbed.id)
            .values(member_id=survivor.id)
        )
        self.session.execute(delete(LoyaltyMember).where(LoyaltyMember.id == absorbed.id))
        self.session.expire_all()
        return int(moved.rowcount)  # type: ignore[attr-defined]

    def transfers(self, workspace_id: str, merge_id: str) -> list[Transfer]:
        """The entries ``merge_id`` moved, with the profile each came from and the member
        holding it now."""
        found = self.session.execute(
            select(
                LoyaltyTransfer.entry_id, LoyaltyTransfer.from_profile_id, LoyaltyEntry.member_id
            )
            .join(LoyaltyEntry, LoyaltyEntry.id == LoyaltyTransfer.entry_id)
            .where(
                LoyaltyTransfer.workspace_id == workspace_id, LoyaltyTransfer.merge_id == merge_id
            )
            .order_by(LoyaltyTransfer.entry_id)
        )
        return [Transfer(r.entry_id, r.from_profile_id, r.member_id) for r in found]

    def return_entries(
        self, workspace_id: str, merge_id: str, entry_ids: Sequence[str], member: LoyaltyMember
    ) -> int:
        """Move these entries of ``merge_id`` (and the codes they paid for) to ``member`` and
        forget that the merge moved them; returns how many entries moved."""
        if not entry_ids:
            return 0
        moved = self.session.execute(
            update(LoyaltyEntry).where(LoyaltyEntry.id.in_(entry_ids)).values(member_id=member.id)
        )
        self.session.execute(
            update(LoyaltyCode)
            .where(LoyaltyCode.entry_id.in_(entry_ids))
            .values(member_id=member.id)
        )
        self.session.execute(
            delete(LoyaltyTransfer).where(
                LoyaltyTransfer.workspace_id == workspace_id,
                LoyaltyTransfer.merge_id == merge_id,
                LoyaltyTransfer.entry_id.in_(entry_ids),
            )
        )
        self.session.expire_all()
        return int(moved.rowcount)  # type: ignore[attr-defined]

    def member_by_id(self, member_id: str) -> LoyaltyMember | None:
        return self.session.get(LoyaltyMember, member_id)

    # Entries ---------------------------------------------------------------------------------

    def insert_entry(self, row: dict[str, Any]) -> str | None:
        """Write one entry unless its idempotency key is taken; its id, or None if it was."""
        inserted = insert_ignoring_conflicts(
            self.session, LoyaltyEntry, [row], ["workspace_id", "idempotency_key"], "id"
        )
        return str(inserted[0]) if inserted else None

    def entry_by_key(self, workspace_id: str, key: str) -> LoyaltyEntry | None:
        return self.session.scalar(
            select(LoyaltyEntry).where(
                LoyaltyEntry.workspace_id == workspace_id, LoyaltyEntry.idempotency_key == key
            )
        )

    def balance(self, member_id: str) -> int:
        total = self.session.scalar(
            select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
                LoyaltyEntry.member_id == member_id
            )
        )
        return int(total or 0)

    def movements(self, member_id: str) -> list[Movement]:
        rows = self.session.execute(
            select(
                LoyaltyEntry.kind,
                LoyaltyEntry.points,
                LoyaltyEntry.occurred_at,
                LoyaltyEntry.expires_at,
            )
            .where(LoyaltyEntry.member_id == member_id)
            .order_by(LoyaltyEntry.occurred_at, LoyaltyEntry.id)
        )
        return [Movement(r.kind.value, int(r.points), r.occurred_at, r.expires_at) for r in rows]

    def entries_page(self, member_id: str, before: str | None, limit: int) -> list[LoyaltyEntry]:
        query = (
            select(LoyaltyEntry)
            .where(LoyaltyEntry.member_id == member_id)
            .order_by(LoyaltyEntry.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(LoyaltyEntry.id < before)
        return list(self.session.scalars(query))

    def reversed_for(self, workspace_id: str, order_id: str) -> Reversed:
        rows = self.session.execute(
            select(LoyaltyEntry.points, LoyaltyEntry.detail).where(
                LoyaltyEntry.workspace_id == workspace_id,
                LoyaltyEntry.kind == EntryKind.REVERSED,
                LoyaltyEntry.reference == order_id,
            )
        )
        points = refunded = 0
        for row in rows:
            points += -int(row.points)
            refunded += int((row.detail or {}).get("refund_amount", 0))
        return Reversed(points, refunded)

    def outstanding(self, workspace_id: str) -> int:
        """Points held by every member: the program's liability."""
        total = self.session.scalar(
            select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
                LoyaltyEntry.workspace_id == workspace_id
            )
        )
        return int(total or 0)

    def points_by_kind(self, workspace_id: str) -> dict[str, int]:
        rows = self.session.execute(
            select(LoyaltyEntry.kind, func.sum(LoyaltyEntry.points))
            .where(LoyaltyEntry.workspace_id == workspace_id)
            .group_by(LoyaltyEntry.kind)
        )
        return {kind.value: int(total or 0) for kind, total in rows}

    def members_with_lots_expiring(
        self, workspace_id: str, since: datetime, until: datetime
    ) -> list[str]:
        """Profiles of members with an earned lot whose expiry falls in (since, until]."""
        rows = self.session.scalars(
            select(LoyaltyMember.profile_id)
            .join(LoyaltyEntry, LoyaltyEntry.member_id == LoyaltyMember.id)
            .where(
                LoyaltyEntry.workspace_id == workspace_id,
                LoyaltyEntry.expires_at > since,
                LoyaltyEntry.expires_at <= until,
            )
            .distinct()
        )
        return sorted(rows)

    def enabled_workspaces(self) -> list[str]:
        return list(
            self.session.scalars(
                select(LoyaltyProgram.workspace_id).where(LoyaltyProgram.is_enabled.is_(True))
            )
        )

    # Codes -----------------------------------------------------------------------------------

    def code(self, workspace_id: str, code: str) -> LoyaltyCode | None:
        return self.session.scalar(
            select(LoyaltyCode).where(
                LoyaltyCode.workspace_id == workspace_id, LoyaltyCode.code == code
            )
        )

    def code_by_entry(self, entry_id: str) -> LoyaltyCode | None:
        return self.session.scalar(select(LoyaltyCode).where(LoyaltyCode.entry_id == entry_id))

    def codes_of(self, member_id: str) -> list[LoyaltyCode]:
        return list(
            self.session.scalars(
                select(LoyaltyCode)
                .where(LoyaltyCode.member_id == member_id)
                .order_by(LoyaltyCode.issued_at.desc(), LoyaltyCode.id.desc())
            )
        )

    def redeem_code(self, code_id: str, order_reference: str, channel: str, now: datetime) -> bool:
        """One conditional UPDATE: the code takes the order only if no order took it; True
        if the row changed."""
        result = self.session.execute(
            update(LoyaltyCode)
            .where(LoyaltyCode.id == code_id, LoyaltyCode.redeemed_order_ref.is_(None))
            .values(redeemed_order_ref=order_reference, redeemed_channel=channel, redeemed_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    def refresh(self, row: Any) -> None:
        self.session.refresh(row)

    # Registrations ---------------------------------------------------------------------------

    def insert_registration(self, row: dict[str, Any]) -> bool:
        """Keep a registration unless its receipt or its serial is already held (either
        unique constraint refuses it); True when it was kept."""
        table = LoyaltyRegistration.__table__
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        result = self.session.execute(
            module.insert(table).values(**row).on_conflict_do_nothing().returning(table.c.id)
        )
        return result.first() is not None

    def registration_holding(
        self, workspace_id: str, retailer: str, receipt: str, sku: str, serial: str
    ) -> tuple[bool, bool]:
        """Whether the receipt, and whether the serial, is already registered."""
        receipt_taken = self.session.scalar(
            select(func.count()).where(
                LoyaltyRegistration.workspace_id == workspace_id,
                LoyaltyRegistration.retailer == retailer,
                LoyaltyRegistration.receipt_number == receipt,
            )
        )
        serial_taken = self.session.scalar(
            select(func.count()).where(
                LoyaltyRegistration.workspace_id == workspace_id,
                LoyaltyRegistration.sku == sku,
                LoyaltyRegistration.serial == serial,
            )
        )
        return bool(receipt_taken), bool(serial_taken)

    def registrations_by_message(
        self, workspace_id: str, message_ids: Sequence[str]
    ) -> list[LoyaltyRegistration]:
        if not message_ids:
            return []
        return list(
            self.session.scalars(
                select(LoyaltyRegistration).where(
                    LoyaltyRegistration.workspace_id == workspace_id,
                    LoyaltyRegistration.message_id.in_(message_ids),
                )
            )
        )

    def registrations_page(
        self, workspace_id: str, before: str | None, limit: int
    ) -> list[LoyaltyRegistration]:
        query = (
            select(LoyaltyRegistration)
            .where(LoyaltyRegistration.workspace_id == workspace_id)
            .order_by(LoyaltyRegistration.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(LoyaltyRegistration.id < before)
        return list(self.session.scalars(query))
