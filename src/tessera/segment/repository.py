"""Every SQL statement of segments and audiences.

Membership changes are single statements whose row count decides: ``INSERT ... ON CONFLICT DO
NOTHING`` on (segment, profile) enters a person once however many workers race, and a
``DELETE`` that removed a row is the one exit. A person's recompute first upserts their
``segment_evaluation`` row, which holds its lock until the transaction ends: a second worker
recomputing the same person waits, then reads what the first committed (READ COMMITTED reads
afresh per statement), so the last writer always decided from the newest data.

Like the customer 360, this reads a person's events and orders and the workspace's active
profile ids from those packages' tables directly (read only): evaluating a rule over many
people one service call at a time would be a query per event kind per person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tessera.customer.repository.profiles import ProfileReadRepository
from tessera.db.base import RepositoryBase
from tessera.kit.ids import new_id
from tessera.models.collect import Event
from tessera.models.identity import Profile, ProfileStatus
from tessera.models.order import Order
from tessera.models.segment import (
    Audience,
    AudienceMember,
    Segment,
    SegmentEvaluation,
    SegmentMember,
    SegmentSize,
)


class EventRow(NamedTuple):
    type: str
    name: str | None
    channel: str
    at: datetime
    message_id: str
    order_id: Any  # properties.order_id of an Order Completed event, else None


class SegmentRepository(RepositoryBase):
    def _insert(self, model: Any) -> Any:
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        return module.insert(model)

    # Segments ----------------------------------------------------------------------------------

    def segments(self, workspace_id: str) -> Sequence[Segment]:
        return self.session.scalars(
            select(Segment).where(Segment.workspace_id == workspace_id).order_by(Segment.name)
        ).all()

    def segment(self, workspace_id: str, segment_id: str) -> Segment | None:
        return self.session.scalar(
            select(Segment).where(Segment.workspace_id == workspace_id, Segment.id == segment_id)
        )

    def segment_named(self, workspace_id: str, name: str) -> Segment | None:
        return self.session.scalar(
            select(Segment).where(Segment.workspace_id == workspace_id, Segment.name == name)
        )

    def segment_names(self, workspace_id: str) -> set[str]:
        return set(
            self.session.scalars(select(Segment.name).where(Segment.workspace_id == workspace_id))
        )

    def add(self, row: Any) -> None:
        self.session.add(row)
        self.session.flush()

    def delete_segment(self, segment_id: str) -> None:
        self.session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment_id))
        self.session.execute(delete(SegmentSize).where(SegmentSize.segment_id == segment_id))
        self.session.execute(
            update(Audience)
            .where(Audience.source_segment_id == segment_id)
            .values(source_segment_id=None)
        )
        self.session.execute(delete(Segment).where(Segment.id == segment_id))

    def workspaces_with_segments(self) -> list[str]:
        return sorted(set(self.session.scalars(select(Segment.workspace_id).distinct())))

    def mark_refreshed(self, segment_ids: Sequence[str], at: datetime) -> None:
        if segment_ids:
            self.session.execute(
                update(Segment).where(Segment.id.in_(segment_ids)).values(refreshed_at=at)
            )

    # Members -----------------------------------------------------------------------------------

    def lock_person(self, workspace_id: str, profile_id: str, at: datetime) -> None:
        """Upsert the person's evaluation row: its lock is held until the transaction ends."""
        statement = self._insert(SegmentEvaluation).values(
            id=new_id("sge"),
            workspace_id=workspace_id,
            profile_id=profile_id,
            evaluated_at=at,
        )
        statement = statement.on_conflict_do_update(
            index_elements=["workspace_id", "profile_id"], set_={"evaluated_at": at}
        )
        self.session.execute(statement)

    def enter(self, workspace_id: str, segment_id: str, profile_id: str, at: datetime) -> bool:
        """True when the person was not a member and now is (this statement inserted)."""
        statement = (
            self._insert(SegmentMember)
            .values(
                id=new_id("sgm"),
                workspace_id=workspace_id,
                segment_id=segment_id,
                profile_id=profile_id,
                entered_at=at,
            )
            .on_conflict_do_nothing()
            .returning(SegmentMember.id)
        )
        return self.session.execute(statement).scalar_one_or_none() is not None

    def leave(self, segment_id: str, profile_id: str) -> bool:
        """True when the person was a member and this statement removed them."""
        result = self.session.execute(
            delete(SegmentMember)
            .where(SegmentMember.segment_id == segment_id, SegmentMember.profile_id == profile_id)
            .returning(SegmentMember.id)
        )
        return result.scalar_one_or_none() is not None

    def memberships_of(self, workspace_id: str, profile_id: str) -> set[str]:
        return set(
            self.session.scalars(
                select(SegmentMember.segment_id).where(
                    SegmentMember.workspace_id == workspace_id,
                    SegmentMember.profile_id == profile_id,
                )
            )
        )

    def forget_profiles(self, workspace_id: str, profile_ids: Sequence[str]) -> int:
        """Remove every membership and evaluation row of these profiles; returns how many
        memberships (segment and audience) went."""
        if not profile_ids:
            return 0
        removed = 0
        for model in (SegmentMember, AudienceMember):
            result = self.session.execute(
                delete(model).where(
                    model.workspace_id == workspace_id, model.profile_id.in_(profile_ids)
                )
            )
            removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
        self.session.execute(
            delete(SegmentEvaluation).where(
                SegmentEvaluation.workspace_id == workspace_id,
                SegmentEvaluation.profile_id.in_(profile_ids),
            )
        )
        return removed

    def members_page(
        self, segment_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[SegmentMember]:
        """Members newest entry first, from after the (entered_at, profile_id) ``after``."""
        query = select(SegmentMember).where(SegmentMember.segment_id == segment_id)
        if after is not None:
            at, profile_id = after
            query = query.where(
                (SegmentMember.entered_at < at)
                | ((SegmentMember.entered_at == at) & (SegmentMember.profile_id < profile_id))
            )
        return self.session.scalars(
            query.order_by(SegmentMember.entered_at.desc(), SegmentMember.profile_id.desc()).limit(
                limit
            )
        ).all()

    def member_ids(self, segment_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(SegmentMember.profile_id)
                .where(SegmentMember.segment_id == segment_id)
                .order_by(SegmentMember.profile_id)
            )
        )

    def member_counts(self, segment_ids: Sequence[str]) -> dict[str, int]:
        if not segment_ids:
            return {}
        rows = self.session.execute(
            select(SegmentMember.segment_id, func.count())
            .where(SegmentMember.segment_id.in_(segment_ids))
            .group_by(SegmentMember.segment_id)
        ).all()
        return {segment_id: int(count) for segment_id, count in rows}

    def record_size(self, segment_id: str, day: date, members: int) -> None:
        statement = self._insert(SegmentSize).values(
            id=new_id("sgs"),
            segment_id=segment_id,
            day=day,
            members=members,
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["segment_id", "day"], set_={"members": members}
            )
        )

    def sizes(self, segment_id: str, limit: int = 90) -> list[tuple[date, int]]:
        rows = self.session.execute(
            select(SegmentSize.day, SegmentSize.members)
            .where(SegmentSize.segment_id == segment_id)
            .order_by(SegmentSize.day.desc())
            .limit(limit)
        ).all()
        return sorted((row.day, int(row.members)) for row in rows)

    # What a rule reads -------------------------------------------------------------------------

    def active_profile_ids(self, workspace_id: str, after: str | None, limit: int) -> list[str]:
        """The workspace's active profiles by id, a page at a time (identity's table, read)."""
        query = select(Profile.id).where(
            Profile.workspace_id == workspace_id, Profile.status == ProfileStatus.ACTIVE
        )
        if after is not None:
            query = query.where(Profile.id > after)
        return list(self.session.scalars(query.order_by(Profile.id).limit(limit)))

    def events(
        self, workspace_id: str, user_ids: Sequence[str], anonymous_ids: Sequence[str]
    ) -> list[EventRow]:
        """The person's events as a rule reads them (found as the customer 360 finds them)."""
        if not user_ids and not anonymous_ids:
            return []
        rows = self.session.execute(
            select(
                Event.type,
                Event.event,
                Event.channel,
                Event.timestamp,
                Event.message_id,
                Event.payload,
            ).where(ProfileReadRepository.events_of(workspace_id, user_ids, anonymous_ids))
        ).all()
        found = []
        for row in rows:
            order_id = None
            if row.event == "Order Completed":
                properties = (row.payload or {}).get("properties")
                order_id = properties.get("order_id") if isinstance(properties, dict) else None
            found.append(
                EventRow(row.type, row.event, row.channel, row.timestamp, row.message_id, order_id)
            )
        return found

    def orders(self, workspace_id: str, order_ids: Sequence[str]) -> Sequence[Order]:
        if not order_ids:
            return []
        return self.session.scalars(
            select(Order).where(Order.workspace_id == workspace_id, Order.id.in_(order_ids))
        ).all()

    # Audiences ---------------------------------------------------------------------------------

    def audiences(self, workspace_id: str) -> Sequence[Audience]:
        return self.session.scalars(
            select(Audience).where(Audience.workspace_id == workspace_id).order_by(Audience.name)
        ).all()

    def audience(self, workspace_id: str, audience_id: str) -> Audience | None:
        return self.session.scalar(
            select(Audience).where(
                Audience.workspace_id == workspace_id, Audience.id == audience_id
            )
        )

    def audience_named(self, workspace_id: str, name: str) -> Audience | None:
        return self.session.scalar(
            select(Audience).where(Audience.workspace_id == workspace_id, Audience.name == name)
        )

    def audience_names(self, workspace_id: str) -> set[str]:
        return set(
            self.session.scalars(select(Audience.name).where(Audience.workspace_id == workspace_id))
        )

    def audiences_fed_by(self, segment_id: str) -> Sequence[Audience]:
        return self.session.scalars(
            select(Audience).where(Audience.source_segment_id == segment_id)
        ).all()

    def delete_audience(self, audience_id: str) -> None:
        self.session.execute(
            delete(AudienceMember).where(AudienceMember.audience_id == audience_id)
        )
        self.session.execute(delete(Audience).where(Audience.id == audience_id))

    def add_to_audience(
        self, workspace_id: str, audience_id: str, profile_id: str, by: str, at: datetime
    ) -> bool:
        statement = (
            self._insert(AudienceMember)
            .values(
                id=new_id("aum"),
                workspace_id=workspace_id,
                audience_id=audience_id,
                profile_id=profile_id,
                added_by=by,
                added_at=at,
            )
            .on_conflict_do_nothing()
            .returning(AudienceMember.id)
        )
        return self.session.execute(statement).scalar_one_or_none() is not None

    def remove_from_audience(self, audience_id: str, profile_id: str) -> bool:
        result = self.session.execute(
            delete(AudienceMember)
            .where(
                AudienceMember.audience_id == audience_id, AudienceMember.profile_id == profile_id
            )
            .returning(AudienceMember.id)
        )
        return result.scalar_one_or_none() is not None

    def audience_member_ids(self, audience_id: str) -> list[str]:
        return list(
            self.session.scalars(
                select(AudienceMember.profile_id)
                .where(AudienceMember.audience_id == audience_id)
                .order_by(AudienceMember.profile_id)
            )
        )

    def audience_counts(self, audience_ids: Iterable[str]) -> dict[str, int]:
        wanted = sorted(audience_ids)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(AudienceMember.audience_id, func.count())
            .where(AudienceMember.audience_id.in_(wanted))
            .group_by(AudienceMember.audience_id)
        ).all()
        return {audience_id: int(count) for audience_id, count in rows}
