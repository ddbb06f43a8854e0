"""Every SQL statement of creators.

A handle belongs to one creator per platform in a workspace: ``uq_creator_account`` on
(workspace, platform, handle_key) decides a race between two imports of the same creator, and
the loser's savepoint rolls back alone. Emails are looked up, not constrained (an agency's
address may front several creators; the service refuses the second one unless told).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError

from tessera.db.base import RepositoryBase
from tessera.models.creator import Creator, CreatorAccount, CreatorStatus

CHUNK = 500  # values per IN list: under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True, slots=True)
class Stamp:
    """What changes whenever the workspace's creators do: the index is rebuilt when it does."""

    count: int
    updated: datetime | None


@dataclass(frozen=True, slots=True)
class IndexRow:
    id: str
    name: str
    bio: str
    captions: str
    niches: list[str]
    countries: dict[str, float]
    status: str
    embedding: bytes | None


class CreatorRepository(RepositoryBase):
    # Creators --------------------------------------------------------------------------------

    def creator(self, workspace_id: str, creator_id: str) -> Creator | None:
        return self.session.scalar(
            select(Creator).where(Creator.workspace_id == workspace_id, Creator.id == creator_id)
        )

    def creators(self, workspace_id: str, ids: Sequence[str]) -> dict[str, Creator]:
        found: dict[str, Creator] = {}
        for start in range(0, len(ids), CHUNK):
            rows = self.session.scalars(
                select(Creator).where(
                    Creator.workspace_id == workspace_id,
                    Creator.id.in_(ids[start : start + CHUNK]),
                )
            )
            found.update((row.id, row) for row in rows)
        return found

    def page(
        self, workspace_id: str, status: CreatorStatus | None, after: str | None, limit: int
    ) -> list[Creator]:
        query = select(Creator).where(Creator.workspace_id == workspace_id)
        if status is not None:
            query = query.where(Creator.status == status)
        if after is not None:
            query = query.where(Creator.id > after)
        return list(self.session.scalars(query.order_by(Creator.id).limit(limit)))

    def accounts_of(self, creator_ids: Sequence[str]) -> dict[str, list[CreatorAccount]]:
        found: dict[str, list[CreatorAccount]] = {i: [] for i in creator_ids}
        for start in range(0, len(creator_ids), CHUNK):
            rows = self.session.scalars(
                select(CreatorAccount)
                .where(CreatorAccount.creator_id.in_(creator_ids[start : start + CHUNK]))
                .order_by(CreatorAccount.platform, CreatorAccount.handle_key)
            )
            for row in rows:
                found[row.creator_id].append(row)
        return found

    def insert(self, creator: Creator, accounts: Sequence[CreatorAccount]) -> bool:
        """Add a creator and its accounts in a savepoint: False (and nothing added) when a
        handle is another creator's already, as a concurrent import may have just made it."""
        try:
            with self.session.begin_nested():
                self.session.add(creator)
                self.session.flush()
                self.session.add_all(accounts)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def replace_accounts(self, creator_id: str, accounts: Sequence[CreatorAccount]) -> bool:
        """The creator's accounts, all replaced; False (and none changed) on a taken handle."""
        try:
            with self.session.begin_nested():
                self.session.execute(
                    delete(CreatorAccount).where(CreatorAccount.creator_id == creator_id)
                )
                self.session.add_all(accounts)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def delete(self, creator: Creator) -> None:
        self.session.execute(delete(CreatorAccount).where(CreatorAccount.creator_id == creator.id))
        self.session.delete(creator)
        self.session.flush()

    def flush(self) -> None:
        self.session.flush()

    # Duplicates ------------------------------------------------------------------------------

    def handle_owners(
        self, workspace_id: str, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """(platform, handle_key) -> the creator holding it, for those held."""
        wanted = sorted(set(keys))
        found: dict[tuple[str, str], str] = {}
        for start in range(0, len(wanted), CHUNK):
            rows = self.session.execute(
                select(
                    CreatorAccount.platform, CreatorAccount.handle_key, CreatorAccount.creator_id
                ).where(
                    CreatorAccount.workspace_id == workspace_id,
                    tuple_(CreatorAccount.platform, CreatorAccount.handle_key).in_(
                        wanted[start : start + CHUNK]
                    ),
                )
            )
            for row in rows:
                found[(row.platform, row.handle_key)] = row.creator_id
        return found

    def email_owners(self, workspace_id: str, emails: Iterable[str]) -> dict[str, str]:
        """email_key -> the first creator holding it."""
        wanted = sorted(set(emails))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), CHUNK):
            rows = self.session.execute(
                select(Creator.email_key, Creator.id)
                .where(
                    Creator.workspace_id == workspace_id,
                    Creator.email_key.in_(wanted[start : start + CHUNK]),
                )
                .order_by(Creator.id)
            )
            for row in rows:
                if row.email_key is not None:
                    found.setdefault(row.email_key, row.id)
        return found

    def creators_of_profiles(self, workspace_id: str, profile_ids: Sequence[str]) -> dict[str, str]:
        """profile id -> the creator linked to it."""
        found: dict[str, str] = {}
        for start in range(0, len(profile_ids), CHUNK):
            rows = self.session.execute(
                select(Creator.profile_id, Creator.id).where(
                    Creator.workspace_id == workspace_id,
                    Creator.profile_id.in_(profile_ids[start : start + CHUNK]),
                )
            )
            for row in rows:
                if row.profile_id is not None:
                    found[row.profile_id] = row.id
        return found

    # The search index ------------------------------------------------------------------------

    def stamp(self, workspace_id: str) -> Stamp:
        row = self.session.execute(
            select(func.count(), func.max(Creator.updated_at)).where(
                Creator.workspace_id == workspace_id
            )
        ).one()
        return Stamp(int(row[0]), row[1])

    def index_rows(self, workspace_id: str) -> Iterator[IndexRow]:
        """Every creator of the workspace with what search reads, in id order, streamed."""
        query = (
            select(
                Creator.id, Creator.name, Creator.bio, Creator.captions, Creator.niches,
                Creator.audience_countries, Creator.status, Creator.embedding,
            )
            .where(Creator.workspace_id == workspace_id)
            .order_by(Creator.id)
            .execution_options(yield_per=2000)
        )  # fmt: skip
        for row in self.session.execute(query):
            yield IndexRow(row.id, row.name, row.bio, row.captions, list(row.niches or []),
                           dict(row.audience_countries or {}), str(row.status),
                           row.embedding)  # fmt: skip

    def index_accounts(self, workspace_id: str) -> Iterator[Any]:
        """(creator_id, platform, followers, engagement_rate) of every account, streamed."""
        query = (
            select(
                CreatorAccount.creator_id,
                CreatorAccount.platform,
                CreatorAccount.followers,
                CreatorAccount.engagement_rate,
            )
            .where(CreatorAccount.workspace_id == workspace_id)
            .execution_options(yield_per=5000)
        )
        yield from self.session.execute(query)
