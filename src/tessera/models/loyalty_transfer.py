"""Which loyalty entries a merge moved, and from whom, so undoing the merge moves them back.

A merge moves the absorbed member's entries (and their codes) to the survivor; one
``loyalty_transfer`` row per moved entry remembers the profile it came from. Undoing the merge
(``customer.unmerged``) moves exactly those entries back and deletes the rows. A row per
(merge, entry), not a column on the entry: an entry can move in several merges (A into B,
then B into C), and each undo needs its own record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import PrefixedId, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class LoyaltyTransfer(Base):
    __tablename__ = "loyalty_transfer"
    __table_args__ = (
        UniqueConstraint("merge_id", "entry_id", name="uq_loyalty_transfer_entry"),
        Index("ix_loyalty_transfer_merge", "workspace_id", "merge_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("ltr"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    merge_id: Mapped[str] = mapped_column(String(40))  # identity_merge.id, no FK (ADR 0010)
    entry_id: Mapped[str] = mapped_column(ForeignKey("loyalty_entry.id", ondelete="CASCADE"))
    from_profile_id: Mapped[str] = mapped_column(PrefixedId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
