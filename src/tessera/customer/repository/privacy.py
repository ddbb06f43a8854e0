"""Every SQL statement of consent, export and erasure.

Erasure must reach into Collect's, the orders', the identity graph's, the journeys' and the
outbox's tables to
remove a person from each in the caller's one transaction, so its statements touch them
directly: like analytics, it is the documented exception to "another domain's tables only
through its service".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, func, or_, select, update

from tessera.customer.repository.profiles import ProfileReadRepository
from tessera.db.base import Base, RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.kit.time import utcnow
from tessera.models.collect import Event, QuarantineEntry
from tessera.models.identity import (
    Consent,
    Identifier,
    IdentityConflict,
    IdentityLink,
    IdentityMerge,
    IdentityReview,
    IdentitySplit,
    IdentitySplitMember,
    MatchRecord,
    Profile,
    Suppression,
)
from tessera.models.job import Job
from tessera.models.journey import JourneyInstance
from tessera.models.loyalty import LoyaltyCode, LoyaltyEntry, LoyaltyMember, LoyaltyRegistration
from tessera.models.message import Message, MessageStatus
from tessera.models.order import Order, OrderLine, OrderRefund
from tessera.models.segment import AudienceMember, SegmentEvaluation, SegmentMember

# Quarantine entries and jobs are matched on values at least this long (shorter ones match
# too much).
MIN_MATCH_LENGTH = 4


class PrivacyRepository(RepositoryBase):
    """Every SQL statement of consent, export and erasure."""

    def rows(self, model: type[Base], *where: ColumnElement[bool]) -> Sequence[Any]:
        return self.session.scalars(select(model).where(*where)).all()

    def links(self, identifier_ids: Sequence[str]) -> Sequence[IdentityLink]:
        if not identifier_ids:
            return []
        return self.session.scalars(
            select(IdentityLink)
            .where(
                or_(
                    IdentityLink.identifier_id.in_(identifier_ids),
                    IdentityLink.other_identifier_id.in_(identifier_ids),
                )
            )
            .order_by(IdentityLink.id)
        ).all()

    def events(self, *where: ColumnElement[bool]) -> Sequence[Event]:
        return self.session.scalars(select(Event).where(*where).order_by(Event.id)).all()

    def order_ids(
        self, workspace_id: str, order_ids: Sequence[str], emails: Sequence[str]
    ) -> list[str]:
        """The person's orders: by their order identifiers, and by their emails."""
        conditions: list[ColumnElement[bool]] = []
        if order_ids:
            conditions.append(Order.id.in_(order_ids))
        if emails:
            conditions.append(Order.customer_email.in_(emails))
        if not conditions:
            return []
        return sorted(
            self.session.scalars(
                select(Order.id).where(Order.workspace_id == workspace_id, or_(*conditions))
            ).all()
        )

    def quarantine_mentioning(self, workspace_id: str, values: Iterable[str]) -> list[str]:
        needles = sorted({v for v in values if len(v) >= MIN_MATCH_LENGTH})
        if not needles:
            return []
        return sorted(
            self.session.scalars(
                select(QuarantineEntry.id).where(
                    QuarantineEntry.workspace_id == workspace_id,
                    or_(*[QuarantineEntry.raw.contains(n, autoescape=True) for n in needles]),
                )
            ).all()
        )

    def quarantine_texts(self, workspace_id: str) -> Iterator[tuple[str, str]]:
        """Every quarantine entry of the workspace as (id, raw text), read in batches."""
        rows = self.session.execute(
            select(QuarantineEntry.id, QuarantineEntry.raw)
            .where(QuarantineEntry.workspace_id == workspace_id)
            .execution_options(yield_per=500)
        )
        for row in rows:
            yield row.id, row.raw

    def jobs_mentioning(self, workspace_id: str, needles: Iterable[str]) -> Sequence[Job]:
        """The workspace's jobs whose payload mentions one of ``needles`` (a stitch job carries
        the identifiers of the records it links)."""
        wanted = sorted({n for n in needles if len(n) >= MIN_MATCH_LENGTH})
        if not wanted:
            return []
        text = cast(Job.payload, Text)
        return self.session.scalars(
            select(Job)
            .where(
                Job.workspace_id == workspace_id,
                or_(*[text.contains(n, autoescape=True) for n in wanted]),
            )
            .order_by(Job.id)
        ).all()

    def conflicts_of(
        self, workspace_id: str, profile_ids: Sequence[str], values: Sequence[str]
    ) -> list[str]:
        """Conflicts naming one of the person's identifier values or profiles."""
        rows = self.session.execute(
            select(
                IdentityConflict.id,
                IdentityConflict.identifier_value,
                IdentityConflict.profile_ids,
            ).where(IdentityConflict.workspace_id == workspace_id)
        ).all()
        wanted_values = set(values)
        wanted_profiles = set(profile_ids)
        return sorted(
            str(cid)
            for cid, value, pids in rows
            if value in wanted_values or wanted_profiles.intersection(pids or [])
        )

    def forget_joins(self, workspace_id: str, identifier_ids: Sequence[str]) -> int:
        """The links kept on identifier rows (ADR 0010) that name these identifiers: those on
        their own rows go when the rows are deleted; those on other people's rows (joined
        through one of them, then split off) are cleared here. Returns how many."""
        if not identifier_ids:
            return 0
        own = self.session.scalar(
            select(func.count())
            .select_from(Identifier)
            .where(Identifier.id.in_(identifier_ids), Identifier.joined_via_id.is_not(None))
        )
        others = self.session.execute(
            update(Identifier)
            .where(
                Identifier.workspace_id == workspace_id,
                Identifier.joined_via_id.in_(identifier_ids),
                Identifier.id.not_in(identifier_ids),
            )
            .values(joined_via_id=None, joined_ref=None)
        )
        return int(own or 0) + int(getattr(others, "rowcount", 0) or 0)

    def delete_where(self, model: type[Base], *where: ColumnElement[bool]) -> int:
        table: Any = model.__table__
        result = self.session.execute(delete(table).where(*where))
        return int(getattr(result, "rowcount", 0) or 0)

    def suppress(self, workspace_id: str, digests: Sequence[str], erasure_id: str) -> None:
        common = {"workspace_id": workspace_id, "erasure_id": erasure_id, "created_at": utcnow()}
        insert_ignoring_conflicts(
            self.session,
            Suppression,
            [{**common, "digest": digest} for digest in sorted(set(digests))],
            ("workspace_id", "digest"),
        )

    def is_suppressed(self, workspace_id: str, digests: Sequence[str]) -> bool:
        if not digests:
            return False
        found = self.session.scalar(
            select(func.count())
            .select_from(Suppression)
            .where(Suppression.workspace_id == workspace_id, Suppression.digest.in_(digests))
        )
        return bool(found)

    def person_events(
        self, workspace_id: str, user_ids: Sequence[str], anonymous_ids: Sequence[str]
    ) -> Sequence[Event]:
        """The person's events (``ProfileReadRepository.events_of``), in id order."""
        return self.events(ProfileReadRepository.events_of(workspace_id, user_ids, anonymous_ids))

    def owned_events(
        self,
        workspace_id: str,
        user_ids: Sequence[str],
        anonymous_ids: Sequence[str],
        message_ids: Sequence[str],
        order_ids: Sequence[str],
    ) -> Sequence[Event]:
        """The person's events, those of ``message_ids`` (not linked yet) and the events of
        their orders (``order:<id>:...``)."""
        owned = or_(
            ProfileReadRepository.events_of(workspace_id, user_ids, anonymous_ids),
            Event.message_id.in_(message_ids),
            *[Event.message_id.startswith(f"order:{oid}:", autoescape=True) for oid in order_ids],
        )
        return self.events(Event.workspace_id == workspace_id, owned)

    def events_with_anonymous_ids(
        self, workspace_id: str, anonymous_ids: Sequence[str]
    ) -> Sequence[Event]:
        return self.events(
            Event.workspace_id == workspace_id, Event.anonymous_id.in_(anonymous_ids)
        )

    def profiles(self, profile_ids: Sequence[str]) -> Sequence[Profile]:
        return self.rows(Profile, Profile.id.in_(profile_ids))

    def orders(self, workspace_id: str, order_ids: Sequence[str]) -> Sequence[Order]:
        return self.rows(Order, Order.workspace_id == workspace_id, Order.id.in_(order_ids))

    def order_lines(self, order_ids: Sequence[str]) -> Sequence[OrderLine]:
        return self.rows(OrderLine, OrderLine.order_id.in_(order_ids))

    def order_refunds(self, order_ids: Sequence[str]) -> Sequence[OrderRefund]:
        return self.rows(OrderRefund, OrderRefund.order_id.in_(order_ids))

    def match_records(self, profile_ids: Sequence[str]) -> Sequence[MatchRecord]:
        return self.rows(MatchRecord, MatchRecord.profile_id.in_(profile_ids))

    @staticmethod
    def _reviews_of(workspace_id: str, profile_ids: Sequence[str]) -> list[ColumnElement[bool]]:
        return [
            IdentityReview.workspace_id == workspace_id,
            or_(
                IdentityReview.profile_id.in_(profile_ids),
                IdentityReview.candidate_profile_id.in_(profile_ids),
            ),
        ]

    def reviews(self, workspace_id: str, profile_ids: Sequence[str]) -> Sequence[IdentityReview]:
        """Review items either side of which is one of the profiles."""
        return self.rows(IdentityReview, *self._reviews_of(workspace_id, profile_ids))

    def conflicts(self, conflict_ids: Sequence[str]) -> Sequence[IdentityConflict]:
        return self.rows(IdentityConflict, IdentityConflict.id.in_(conflict_ids))

    # Erasure's deletes: each returns how many rows went.

    def delete_events(self, event_ids: Sequence[str]) -> int:
        return self.delete_where(Event, Event.id.in_(event_ids))

    def delete_orders(self, workspace_id: str, order_ids: Sequence[str]) -> int:
        return self.delete_where(Order, Order.workspace_id == workspace_id, Order.id.in_(order_ids))

    def anonymise_orders(self, workspace_id: str, order_ids: Sequence[str]) -> None:
        """Clear the orders' customer fields: what was bought, when and for how much stays."""
        self.session.execute(
            update(Order)
            .where(Order.workspace_id == workspace_id, Order.id.in_(order_ids))
            .values(customer={}, customer_email=None, customer_phone=None)
        )

    def delete_quarantine(
        self, workspace_id: str, values: Iterable[str], entry_ids: Iterable[str] = ()
    ) -> int:
        """Quarantine entries that mention any of ``values``, and those of ``entry_ids``."""
        doomed = sorted({*self.quarantine_mentioning(workspace_id, values), *entry_ids})
        return self.delete_where(QuarantineEntry, QuarantineEntry.id.in_(doomed))

    def delete_consents(self, workspace_id: str, identifier_ids: Sequence[str]) -> int:
        return self.delete_where(
            Consent, Consent.workspace_id == workspace_id, Consent.identifier_id.in_(identifier_ids)
        )

    def delete_links(self, identifier_ids: Sequence[str]) -> int:
        """Link rows naming any of the identifiers."""
        return self.delete_where(
            IdentityLink,
            or_(
                IdentityLink.identifier_id.in_(identifier_ids),
                IdentityLink.other_identifier_id.in_(identifier_ids),
            ),
        )

    def split_ids(
        self, workspace_id: str, merge_ids: Sequence[str], identifier_ids: Sequence[str]
    ) -> Sequence[str]:
        """Splits (unmerges) of these merges, and those naming any of the identifiers."""
        return self.session.scalars(
            select(IdentitySplit.id).where(
                IdentitySplit.workspace_id == workspace_id,
                or_(
                    IdentitySplit.merge_id.in_(merge_ids),
                    IdentitySplit.id.in_(
                        select(IdentitySplitMember.split_id).where(
                            IdentitySplitMember.identifier_id.in_(identifier_ids)
                        )
                    ),
                ),
            )
        ).all()

    def delete_splits(self, split_ids: Sequence[str]) -> int:
        """The splits with their members; returns how many splits."""
        self.delete_where(IdentitySplitMember, IdentitySplitMember.split_id.in_(split_ids))
        return self.delete_where(IdentitySplit, IdentitySplit.id.in_(split_ids))

    def delete_merges(self, merge_ids: Sequence[str]) -> int:
        return self.delete_where(IdentityMerge, IdentityMerge.id.in_(merge_ids))

    def delete_reviews(self, workspace_id: str, profile_ids: Sequence[str]) -> int:
        return self.delete_where(IdentityReview, *self._reviews_of(workspace_id, profile_ids))

    def delete_conflicts(self, conflict_ids: Sequence[str]) -> int:
        return self.delete_where(IdentityConflict, IdentityConflict.id.in_(conflict_ids))

    def delete_match_records(self, profile_ids: Sequence[str]) -> int:
        return self.delete_where(MatchRecord, MatchRecord.profile_id.in_(profile_ids))

    def delete_identifiers(self, identifier_ids: Sequence[str]) -> int:
        return self.delete_where(Identifier, Identifier.id.in_(identifier_ids))

    def delete_profiles(self, workspace_id: str, profile_ids: Sequence[str]) -> int:
        return self.delete_where(
            Profile, Profile.workspace_id == workspace_id, Profile.id.in_(profile_ids)
        )

    def leave_journeys(self, workspace_id: str, profile_ids: Sequence[str]) -> int:
        """The person leaves every journey they are inside ("erased"), their entry keys
        forgotten; their step jobs then find nothing to do."""
        result = self.session.execute(
            update(JourneyInstance)
            .where(
                JourneyInstance.workspace_id == workspace_id,
                JourneyInstance.profile_id.in_(profile_ids),
                JourneyInstance.left_at.is_(None),
            )
            .values(
                left_at=utcnow(),
                exit_reason="erased",
                entry_key="",
                awaiting_event=None,
                awaiting_key=None,
                wake_at=None,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def forget_segments(self, workspace_id: str, profile_ids: Sequence[str]) -> int:
        """Remove the person from every segment and audience (no exit events: nothing of
        theirs is recorded again), and their evaluation rows; returns the memberships."""
        removed = 0
        for model in (SegmentMember, AudienceMember, SegmentEvaluation):
            result = self.session.execute(
                delete(model).where(
                    model.workspace_id == workspace_id, model.profile_id.in_(profile_ids)
                )
            )
            if model is not SegmentEvaluation:
                removed += int(result.rowcount)  # type: ignore[attr-defined]
        return removed

    def forget_loyalty(
        self, workspace_id: str, profile_ids: Sequence[str], emails: Sequence[str]
    ) -> int:
        """The person's loyalty membership goes with its ledger and codes, and the products
        they registered, found by profile or, not stitched yet, by the email they typed.
        Returns how many members went."""
        members = select(LoyaltyMember.id).where(
            LoyaltyMember.workspace_id == workspace_id, LoyaltyMember.profile_id.in_(profile_ids)
        )
        self.delete_where(LoyaltyEntry, LoyaltyEntry.member_id.in_(members))
        self.delete_where(LoyaltyCode, LoyaltyCode.member_id.in_(members))
        self.session.execute(
            delete(LoyaltyRegistration).where(
                LoyaltyRegistration.workspace_id == workspace_id,
                or_(
                    LoyaltyRegistration.profile_id.in_(profile_ids),
                    LoyaltyRegistration.email.in_([e.lower() for e in emails]),
                ),
            )
        )
        return self.delete_where(
            LoyaltyMember,
            LoyaltyMember.workspace_id == workspace_id,
            LoyaltyMember.profile_id.in_(profile_ids),
        )

    def forget_messages(self, workspace_id: str, profile_ids: Sequence[str], token: str) -> int:
        """Keep the person's outbox rows as counts (channel, status, times) without anything
        that names them: address, subject, bodies, context, links. One caught between its
        commit and the provider never goes out ("erased"); one still queued or held is
        skipped when its job finds no profile."""
        mine = (Message.workspace_id == workspace_id, Message.profile_id.in_(profile_ids))
        self.session.execute(
            update(Message)
            .where(*mine, Message.status == MessageStatus.SENDING)
            .values(status=MessageStatus.SKIPPED, reason="erased", finished_at=utcnow())
        )
        result = self.session.execute(
            update(Message)
            .where(*mine)
            .values(
                profile_id=token,
                to_address=None,
                subject=None,
                body=None,
                body_text=None,
                context={},
                links=[],
                origin=None,
                reason_detail=None,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
