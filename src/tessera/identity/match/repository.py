"""Every SQL statement of matching in production: match records and their blocking keys,
candidates by indexed keys, reviews, conflicts (read), the workspace's model and thresholds,
and the pairs a person ruled out (rejected reviews, split rules)."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, literal, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from tessera.db.base import RepositoryBase
from tessera.db.statements import insert_ignoring_conflicts
from tessera.identity.match.domain import BlockingKeys
from tessera.models.identity import (
    ConflictStatus,
    Identifier,
    IdentityConfig,
    IdentityConflict,
    IdentityReview,
    IdentitySplitMember,
    MatchRecord,
    Profile,
    ProfileStatus,
    ReviewStatus,
)

MAX_RESOLVE_HOPS = 50


class MatchRepository(RepositoryBase):
    # ----------------------------------------------------------------- profiles

    def profiles(self, workspace_id: str, profile_ids: Collection[str]) -> dict[str, Profile]:
        """The workspace's profiles with these ids (any status), by id."""
        if not profile_ids:
            return {}
        rows = self.session.scalars(
            select(Profile).where(
                Profile.workspace_id == workspace_id, Profile.id.in_(list(profile_ids))
            )
        )
        return {row.id: row for row in rows}

    def workspaces_of(self, profile_ids: Sequence[str]) -> dict[str, list[str]]:
        """The given profile ids grouped by workspace, in the order given; unknown ids dropped."""
        if not profile_ids:
            return {}
        owner: dict[str, str] = {
            profile_id: workspace_id
            for profile_id, workspace_id in self.session.execute(
                select(Profile.id, Profile.workspace_id).where(Profile.id.in_(list(profile_ids)))
            )
        }
        found: dict[str, list[str]] = {}
        for profile_id in dict.fromkeys(profile_ids):
            if profile_id in owner:
                found.setdefault(owner[profile_id], []).append(profile_id)
        return found

    def resolve(self, workspace_id: str, profile_id: str) -> Profile | None:
        """The active profile an id stands for now, following ``merged_into_id``."""
        current = self.session.get(Profile, profile_id)
        hops = 0
        while current is not None and current.workspace_id == workspace_id:
            if current.status is ProfileStatus.ACTIVE or current.merged_into_id is None:
                return current
            hops += 1
            if hops > MAX_RESOLVE_HOPS:
                return None
            current = self.session.get(Profile, current.merged_into_id)
        return None

    def contact_identifiers(
        self, workspace_id: str, profile_ids: Collection[str]
    ) -> dict[str, dict[str, str]]:
        """Per profile, one raw email and one raw phone identifier (the oldest of each)."""
        if not profile_ids:
            return {}
        rows = self.session.execute(
            select(Identifier.profile_id, Identifier.type, Identifier.raw)
            .where(
                Identifier.workspace_id == workspace_id,
                Identifier.profile_id.in_(list(profile_ids)),
                Identifier.type.in_(("email", "phone")),
            )
            .order_by(Identifier.profile_id, Identifier.first_seen, Identifier.id)
        )
        found: dict[str, dict[str, str]] = {}
        for profile_id, kind, raw in rows:
            found.setdefault(profile_id, {}).setdefault(kind, raw)
        return found

    # ----------------------------------------------------------------- match records

    def save_match_record(
        self,
        workspace_id: str,
        profile_id: str,
        fields: dict[str, str | None],
        keys: BlockingKeys,
        now: datetime,
    ) -> None:
        """Insert or replace a profile's match record (concurrent writers: the last one wins)."""
        values: dict[str, Any] = {
            "profile_id": profile_id,
            "workspace_id": workspace_id,
            "fields": fields,
            "updated_at": now,
            **keys.as_values(),
        }
        table = MatchRecord.__table__
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(table).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["profile_id"],
            set_={k: statement.excluded[k] for k in values if k != "profile_id"},
        )
        self.session.execute(statement)

    def delete_match_records(self, profile_ids: Collection[str]) -> None:
        if profile_ids:
            self.session.execute(
                delete(MatchRecord).where(MatchRecord.profile_id.in_(list(profile_ids)))
            )

    def match_records(self, profile_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """The matched fields of these profiles, by profile id (those that have a record)."""
        if not profile_ids:
            return {}
        rows = self.session.execute(
            select(MatchRecord.profile_id, MatchRecord.fields).where(
                MatchRecord.profile_id.in_(list(profile_ids))
            )
        )
        return {row[0]: dict(row[1] or {}) for row in rows}

    def match_record(self, profile_id: str) -> MatchRecord | None:
        return self.session.get(MatchRecord, profile_id)

    def candidates(
        self, workspace_id: str, profile_id: str, keys: BlockingKeys, block_limit: int
    ) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
        """Profiles sharing a blocking key, as (profile id, fields), and the keys skipped.

        A key shared by more than ``block_limit`` profiles is skipped (a common name says little
        and would cost the most; the other keys still find the person), as ``MatchIndex`` skips
        large blocks. One statement: per key an index scan stopped at ``block_limit + 1`` rows,
        in a UNION ALL. Records of profiles merged away may be among them (the stitcher's
        merges do not remove them): the caller checks the few that score high.
        """
        wanted = [
            (name, column, value)
            for name, column, value in (
                ("email", MatchRecord.key_email, keys.email),
                ("phone", MatchRecord.key_phone, keys.phone),
                ("name", MatchRecord.key_name, keys.name),
                ("postcode", MatchRecord.key_postcode, keys.postcode),
            )
            if value is not None
        ]
        if not wanted:
            return [], []
        parts = [
            select(
                literal(name).label("key"),
                MatchRecord.profile_id.label("profile_id"),
                MatchRecord.fields.label("fields"),
            )
            .where(
                MatchRecord.workspace_id == workspace_id,
                column == value,
                MatchRecord.profile_id != profile_id,
            )
            .limit(block_limit + 1)
            .subquery()
            for name, column, value in wanted
        ]
        statement = union_all(
            *(select(part.c.key, part.c.profile_id, part.c.fields) for part in parts)
        )
        by_key: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for key, found, fields in self.session.execute(statement):
            by_key.setdefault(key, []).append((found, fields))
        skipped = sorted(k for k, rows in by_key.items() if len(rows) > block_limit)
        kept: dict[str, dict[str, Any]] = {}
        for key, rows in by_key.items():
            if key not in skipped:
                for found, fields in rows:
                    kept.setdefault(found, dict(fields or {}))
        return list(kept.items()), skipped

    def active_among(self, workspace_id: str, profile_ids: Collection[str]) -> set[str]:
        """Which of these profiles are active."""
        if not profile_ids:
            return set()
        return set(
            self.session.scalars(
                select(Profile.id).where(
                    Profile.workspace_id == workspace_id,
                    Profile.id.in_(list(profile_ids)),
                    Profile.status == ProfileStatus.ACTIVE,
                )
            )
        )

    def training_records(self, workspace_id: str, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Up to ``limit`` match records of active profiles, newest first."""
        rows = self.session.execute(
            select(MatchRecord.profile_id, MatchRecord.fields)
            .join(Profile, Profile.id == MatchRecord.profile_id)
            .where(
                MatchRecord.workspace_id == workspace_id,
                Profile.status == ProfileStatus.ACTIVE,
            )
            .order_by(MatchRecord.profile_id.desc())
            .limit(limit)
        )
        return [(row[0], dict(row[1] or {})) for row in rows]

    def count_records(self, workspace_id: str, up_to: int) -> int:
        """How many match records the workspace holds, counting no further than ``up_to``."""
        found = select(MatchRecord.profile_id).where(MatchRecord.workspace_id == workspace_id)
        counted = self.session.scalar(
            select(func.count()).select_from(found.limit(up_to).subquery())
        )
        return int(counted or 0)

    def workspaces_with_records(self, minimum: int) -> list[str]:
        """Workspaces holding at least ``minimum`` match records."""
        rows = self.session.execute(
            select(MatchRecord.workspace_id)
            .group_by(MatchRecord.workspace_id)
            .having(func.count() >= minimum)
            .order_by(MatchRecord.workspace_id)
        )
        return [row[0] for row in rows]

    # ----------------------------------------------------------------- ruled-out pairs

    def ruled_out(self, workspace_id: str, profile_id: str, others: Collection[str]) -> set[str]:
        """Which of ``others`` a person ruled out for ``profile_id``: a rejected review of the
        pair (either way round), or a split rule with one side in each profile."""
        if not others:
            return set()
        others = list(others)
        review = IdentityReview
        rejected = self.session.execute(
            select(review.profile_id, review.candidate_profile_id).where(
                review.workspace_id == workspace_id,
                review.status == ReviewStatus.REJECTED,
                or_(
                    and_(review.profile_id == profile_id, review.candidate_profile_id.in_(others)),
                    and_(review.candidate_profile_id == profile_id, review.profile_id.in_(others)),
                ),
            )
        )
        found = {left if right == profile_id else right for left, right in rejected}
        mine, theirs = aliased(IdentitySplitMember), aliased(IdentitySplitMember)
        held_by_me, held_by_them = aliased(Identifier), aliased(Identifier)
        split = self.session.execute(
            select(held_by_them.profile_id)
            .select_from(mine)
            .join(held_by_me, held_by_me.id == mine.identifier_id)
            .join(theirs, and_(theirs.split_id == mine.split_id, theirs.side != mine.side))
            .join(held_by_them, held_by_them.id == theirs.identifier_id)
            .where(
                held_by_me.workspace_id == workspace_id,
                held_by_me.profile_id == profile_id,
                held_by_them.profile_id.in_(others),
            )
            .distinct()
        )
        found.update(row[0] for row in split)
        return found

    # ----------------------------------------------------------------- reviews

    def open_review_between(
        self, workspace_id: str, left: str, right: str
    ) -> IdentityReview | None:
        review = IdentityReview
        return self.session.scalars(
            select(review).where(
                review.workspace_id == workspace_id,
                or_(
                    and_(review.profile_id == left, review.candidate_profile_id == right),
                    and_(review.profile_id == right, review.candidate_profile_id == left),
                ),
            )
        ).first()

    def add_review(self, values: dict[str, Any]) -> str | None:
        """Insert a review unless one exists for the same ordered pair; its id, or None."""
        inserted = insert_ignoring_conflicts(
            self.session,
            IdentityReview,
            [values],
            ["workspace_id", "profile_id", "candidate_profile_id"],
            returning="id",
        )
        return str(inserted[0]) if inserted else None

    def review(
        self, workspace_id: str, review_id: str, *, lock: bool = False
    ) -> IdentityReview | None:
        statement = select(IdentityReview).where(
            IdentityReview.workspace_id == workspace_id, IdentityReview.id == review_id
        )
        if lock:
            statement = statement.with_for_update()
        return self.session.scalars(statement).first()

    def list_reviews(
        self, workspace_id: str, status: ReviewStatus | None, after: str | None, limit: int
    ) -> Sequence[IdentityReview]:
        statement = select(IdentityReview).where(IdentityReview.workspace_id == workspace_id)
        if status is not None:
            statement = statement.where(IdentityReview.status == status)
        if after is not None:
            statement = statement.where(IdentityReview.id > after)
        return self.session.scalars(statement.order_by(IdentityReview.id).limit(limit)).all()

    def review_counts(self, workspace_id: str) -> dict[str, int]:
        rows = self.session.execute(
            select(IdentityReview.status, func.count())
            .where(IdentityReview.workspace_id == workspace_id)
            .group_by(IdentityReview.status)
        )
        return {status.value: count for status, count in rows}

    def decide_review(
        self, review_id: str, status: ReviewStatus, actor: str, now: datetime
    ) -> bool:
        """Mark an open review decided; False when it was decided meanwhile."""
        result = self.session.execute(
            update(IdentityReview)
            .where(IdentityReview.id == review_id, IdentityReview.status == ReviewStatus.OPEN)
            .values(status=status, decided_by=actor, decided_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- conflicts

    def list_conflicts(
        self, workspace_id: str, status: ConflictStatus | None, after: str | None, limit: int
    ) -> Sequence[IdentityConflict]:
        statement = select(IdentityConflict).where(IdentityConflict.workspace_id == workspace_id)
        if status is not None:
            statement = statement.where(IdentityConflict.status == status)
        if after is not None:
            statement = statement.where(IdentityConflict.id > after)
        return self.session.scalars(statement.order_by(IdentityConflict.id).limit(limit)).all()

    def conflict_counts(self, workspace_id: str) -> dict[str, int]:
        rows = self.session.execute(
            select(IdentityConflict.status, func.count())
            .where(IdentityConflict.workspace_id == workspace_id)
            .group_by(IdentityConflict.status)
        )
        return {status.value: count for status, count in rows}

    # ----------------------------------------------------------------- config

    def config(self, workspace_id: str) -> IdentityConfig | None:
        return self.session.get(IdentityConfig, workspace_id)

    def ensure_config(self, workspace_id: str, now: datetime) -> IdentityConfig:
        """The workspace's identity config, created with a fresh erasure salt if missing."""
        insert_ignoring_conflicts(
            self.session,
            IdentityConfig,
            [
                {
                    "workspace_id": workspace_id,
                    "blocked_values": [],
                    "limits": {},
                    "priorities": [],
                    "salt": secrets.token_hex(32),
                    "updated_at": now,
                }
            ],
            ["workspace_id"],
        )
        config = self.session.get(IdentityConfig, workspace_id, populate_existing=True)
        assert config is not None
        return config

    def store_model(self, workspace_id: str, model: dict[str, Any], trained_at: datetime) -> None:
        self.session.execute(
            update(IdentityConfig)
            .where(IdentityConfig.workspace_id == workspace_id)
            .values(match_model=model, trained_at=trained_at, updated_at=trained_at)
        )
