"""Every SQL statement of journeys: the journeys and their versions, the people inside, and
the history of their steps.

An instance changes only through conditional UPDATEs that name the visit the caller read
(``WHERE id = :id AND visit = :visit AND left_at IS NULL``): whoever changes it first wins and
every other writer's row count is 0, so an awaited event and its timeout, or a step's job run
twice, move a person on once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult

from tessera.db.base import RepositoryBase
from tessera.models.journey import (
    Journey,
    JourneyInstance,
    JourneyStatus,
    JourneyStepRun,
    JourneyVersion,
)

Inside = JourneyInstance.left_at.is_(None)


class Entry(NamedTuple):
    instance_id: str
    profile_id: str
    entered_at: datetime


class SplitOutcome(NamedTuple):
    instance_id: str
    step: str
    outcome: str


class StepCount(NamedTuple):
    step: str
    visits: int


class PlaceCount(NamedTuple):
    """Instances at one step: still inside (``reason`` None), or left there for ``reason``."""

    step: str
    reason: str | None
    instances: int


class InstanceFilter(NamedTuple):
    journey_id: str
    inside: bool | None = None
    step: str | None = None
    profile_id: str | None = None
    exit_reason: str | None = None


class JourneyRepository(RepositoryBase):
    # Journeys and versions -------------------------------------------------------------------

    def add(self, row: Journey | JourneyVersion) -> None:
        self.session.add(row)
        self.session.flush()

    def journey(self, workspace_id: str, journey_id: str) -> Journey | None:
        return self.session.scalar(
            select(Journey).where(Journey.workspace_id == workspace_id, Journey.id == journey_id)
        )

    def journeys(
        self,
        workspace_id: str,
        after_id: str | None,
        limit: int,
        status: JourneyStatus | None = None,
    ) -> Sequence[Journey]:
        query = select(Journey).where(Journey.workspace_id == workspace_id)
        if after_id:
            query = query.where(Journey.id < after_id)
        if status is not None:
            query = query.where(Journey.status == status)
        return self.session.scalars(query.order_by(Journey.id.desc()).limit(limit)).all()

    def next_version(self, journey_id: str, now: datetime) -> int:
        """Count the journey's versions on by one in the database; returns the new number."""
        number = self.session.execute(
            update(Journey)
            .where(Journey.id == journey_id)
            .values(latest_version=Journey.latest_version + 1, updated_at=now)
            .returning(Journey.latest_version)
        ).scalar_one()
        return int(number)

    def version(self, journey_id: str, number: int) -> JourneyVersion | None:
        return self.session.scalar(
            select(JourneyVersion).where(
                JourneyVersion.journey_id == journey_id, JourneyVersion.version == number
            )
        )

    def versions(self, journey_id: str) -> Sequence[JourneyVersion]:
        return self.session.scalars(
            select(JourneyVersion)
            .where(JourneyVersion.journey_id == journey_id)
            .order_by(JourneyVersion.version.desc())
        ).all()

    def change_status(
        self,
        journey_id: str,
        allowed: Iterable[JourneyStatus],
        status: JourneyStatus,
        now: datetime,
        **values: Any,
    ) -> bool:
        """One conditional UPDATE: the journey moves to ``status`` only from ``allowed``."""
        result: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            update(Journey)
            .where(Journey.id == journey_id, Journey.status.in_(list(allowed)))
            .values(status=status, updated_at=now, **values)
        )
        return result.rowcount == 1

    def mark_published(self, journey_id: str, number: int, now: datetime) -> None:
        self.session.execute(
            update(JourneyVersion)
            .where(
                JourneyVersion.journey_id == journey_id,
                JourneyVersion.version == number,
                JourneyVersion.published_at.is_(None),
            )
            .values(published_at=now)
        )

    def live_versions(self, workspace_id: str) -> Sequence[tuple[Journey, JourneyVersion]]:
        """The workspace's live journeys, each with the version it runs."""
        rows = self.session.execute(
            select(Journey, JourneyVersion)
            .join(
                JourneyVersion,
                and_(
                    JourneyVersion.journey_id == Journey.id,
                    JourneyVersion.version == Journey.live_version,
                ),
            )
            .where(Journey.workspace_id == workspace_id, Journey.status == JourneyStatus.LIVE)
            .order_by(Journey.id)
        ).all()
        return [(journey, version) for journey, version in rows]

    def journeys_by_id(self, journey_ids: Iterable[str]) -> dict[str, Journey]:
        ids = sorted(set(journey_ids))
        if not ids:
            return {}
        return {j.id: j for j in self.session.scalars(select(Journey).where(Journey.id.in_(ids)))}

    def versions_of(self, pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Any]:
        """The definitions (and version ids) of (journey, version) pairs, in one query."""
        wanted = sorted(set(pairs))
        if not wanted:
            return {}
        journeys = sorted({journey_id for journey_id, _ in wanted})
        rows = self.session.execute(
            select(JourneyVersion).where(JourneyVersion.journey_id.in_(journeys))
        ).scalars()
        return {(v.journey_id, v.version): v for v in rows if (v.journey_id, v.version) in wanted}

    def is_engaged(self, workspace_id: str) -> bool:
        """Whether anything in the workspace listens to events: a live or paused journey, or
        someone inside one (paused and archived journeys still let people leave)."""
        journeys = exists().where(
            Journey.workspace_id == workspace_id,
            Journey.status.in_([JourneyStatus.LIVE, JourneyStatus.PAUSED]),
        )
        return bool(self.session.scalar(select(journeys)))

    # Instances -------------------------------------------------------------------------------

    def insert_instance(self, values: dict[str, Any]) -> bool:
        """``INSERT ... ON CONFLICT DO NOTHING``: False when the person (with this key) is
        inside already, or this event entered them before. On PostgreSQL a racing insert of
        the same person waits for the other transaction and then does nothing if it
        committed, so concurrent triggers make one instance."""
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        statement = (
            module.insert(JourneyInstance)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(JourneyInstance.id)
        )
        return self.session.execute(statement).scalar_one_or_none() is not None

    def insert_instances(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """``insert_instance`` for many rows in one executemany; returns the ids inserted
        (the others' person was inside already, or their event entered before)."""
        if not rows:
            return set()
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        table: Any = JourneyInstance.__table__
        statement = module.insert(table).on_conflict_do_nothing().returning(table.c.id)
        return set(self.session.connection().execute(statement, list(rows)).scalars())

    def instances_by_id(self, instance_ids: Iterable[str]) -> list[JourneyInstance]:
        ids = sorted(set(instance_ids))
        if not ids:
            return []
        return list(
            self.session.scalars(
                select(JourneyInstance)
                .where(JourneyInstance.id.in_(ids))
                .execution_options(populate_existing=True)
            )
        )

    def instance(self, instance_id: str) -> JourneyInstance | None:
        return self.session.get(JourneyInstance, instance_id, populate_existing=True)

    def workspace_instance(self, workspace_id: str, instance_id: str) -> JourneyInstance | None:
        return self.session.scalar(
            select(JourneyInstance).where(
                JourneyInstance.workspace_id == workspace_id, JourneyInstance.id == instance_id
            )
        )

    def inside_of(self, workspace_id: str, profile_ids: Iterable[str]) -> list[JourneyInstance]:
        """Instances inside any journey for these profiles, by id."""
        ids = sorted(set(profile_ids))
        if not ids:
            return []
        return list(
            self.session.scalars(
                select(JourneyInstance)
                .where(
                    JourneyInstance.workspace_id == workspace_id,
                    JourneyInstance.profile_id.in_(ids),
                    Inside,
                )
                .order_by(JourneyInstance.id)
                .execution_options(populate_existing=True)
            )
        )

    def entries(self, journey_id: str, profile_id: str, entry_key: str) -> list[datetime]:
        """When this person (with this key) entered the journey before."""
        return list(
            self.session.scalars(
                select(JourneyInstance.entered_at).where(
                    JourneyInstance.journey_id == journey_id,
                    JourneyInstance.profile_id == profile_id,
                    JourneyInstance.entry_key == entry_key,
                )
            )
        )

    def entries_of(
        self, journey_id: str, profile_ids: Iterable[str]
    ) -> dict[tuple[str, str], list[datetime]]:
        """``entries`` of many people at once: (profile, key) -> when they entered before."""
        found: dict[tuple[str, str], list[datetime]] = {}
        ids = sorted(set(profile_ids))
        for start in range(0, len(ids), 500):
            rows = self.session.execute(
                select(
                    JourneyInstance.profile_id,
                    JourneyInstance.entry_key,
                    JourneyInstance.entered_at,
                ).where(
                    JourneyInstance.journey_id == journey_id,
                    JourneyInstance.profile_id.in_(ids[start : start + 500]),
                )
            )
            for profile_id, key, at in rows:
                found.setdefault((profile_id, key), []).append(at)
        return found

    def advance(self, instance_id: str, visit: int, values: dict[str, Any]) -> bool:
        """Move an instance from ``visit`` to the next, if nobody did first."""
        return self._change(instance_id, visit, {"visit": visit + 1, **values})

    def leave(self, instance_id: str, visit: int | None, at: datetime, reason: str) -> bool:
        """The instance leaves (at ``visit``, or whatever visit it is at when None)."""
        values = {"left_at": at, "exit_reason": reason, "awaiting_event": None, "wake_at": None}
        return self._change(instance_id, visit, values)

    def park(self, instance_id: str, visit: int) -> bool:
        return self._change(instance_id, visit, {"is_parked": True})

    def _change(self, instance_id: str, visit: int | None, values: dict[str, Any]) -> bool:
        condition = [JourneyInstance.id == instance_id, Inside]
        if visit is not None:
            condition.append(JourneyInstance.visit == visit)
        result: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            update(JourneyInstance).where(*condition).values(**values)
        )
        return result.rowcount == 1

    def unpark(self, journey_id: str) -> list[tuple[str, int, datetime | None]]:
        """Take the parked instances of a journey off the shelf: (id, visit, wake time)."""
        rows = self.session.execute(
            update(JourneyInstance)
            .where(JourneyInstance.journey_id == journey_id, JourneyInstance.is_parked, Inside)
            .values(is_parked=False)
            .returning(JourneyInstance.id, JourneyInstance.visit, JourneyInstance.wake_at)
        ).all()
        return sorted((row[0], row[1], row[2]) for row in rows)

    def leave_journey(self, journey_id: str, at: datetime, reason: str) -> int:
        """Everyone inside the journey leaves; returns how many."""
        result: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            update(JourneyInstance)
            .where(JourneyInstance.journey_id == journey_id, Inside)
            .values(left_at=at, exit_reason=reason, awaiting_event=None, wake_at=None)
        )
        return int(result.rowcount)

    def move_to_profile(self, instance_id: str, profile_id: str) -> bool:
        result: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]
            update(JourneyInstance)
            .where(JourneyInstance.id == instance_id, Inside)
            .values(profile_id=profile_id)
        )
        return result.rowcount == 1

    def add_step_run(self, values: dict[str, Any]) -> None:
        self.session.execute(insert(JourneyStepRun).values(**values))

    def step_runs(self, instance_id: str) -> Sequence[JourneyStepRun]:
        return self.session.scalars(
            select(JourneyStepRun)
            .where(JourneyStepRun.instance_id == instance_id)
            .order_by(JourneyStepRun.visit)
        ).all()

    # Reading for people ----------------------------------------------------------------------

    def instances(
        self, workspace_id: str, where: InstanceFilter, after_id: str | None, limit: int
    ) -> Sequence[JourneyInstance]:
        query = select(JourneyInstance).where(
            JourneyInstance.workspace_id == workspace_id,
            JourneyInstance.journey_id == where.journey_id,
        )
        if where.inside is True:
            query = query.where(Inside)
        elif where.inside is False:
            query = query.where(JourneyInstance.left_at.is_not(None))
        if where.step is not None:
            query = query.where(JourneyInstance.current_step == where.step)
        if where.profile_id is not None:
            query = query.where(JourneyInstance.profile_id == where.profile_id)
        if where.exit_reason is not None:
            query = query.where(JourneyInstance.exit_reason == where.exit_reason)
        if after_id:
            query = query.where(JourneyInstance.id < after_id)
        return self.session.scalars(query.order_by(JourneyInstance.id.desc()).limit(limit)).all()

    def visits_per_step(self, journey_id: str) -> list[StepCount]:
        """Finished visits of each step (one history row each)."""
        rows = self.session.execute(
            select(JourneyStepRun.step, func.count())
            .where(JourneyStepRun.journey_id == journey_id)
            .group_by(JourneyStepRun.step)
        ).all()
        return [StepCount(step, int(count)) for step, count in rows]

    def places(self, journey_id: str) -> list[PlaceCount]:
        """Where the journey's instances are: inside at a step, or left at a step for a reason."""
        rows = self.session.execute(
            select(JourneyInstance.current_step, JourneyInstance.exit_reason, func.count())
            .where(JourneyInstance.journey_id == journey_id)
            .group_by(JourneyInstance.current_step, JourneyInstance.exit_reason)
        ).all()
        return [PlaceCount(step, reason, int(count)) for step, reason, count in rows]

    def people_by_reason(self, journey_ids: Sequence[str]) -> list[tuple[str, str | None, int]]:
        """(journey, exit reason or None for inside, instances) for each journey."""
        if not journey_ids:
            return []
        rows = self.session.execute(
            select(JourneyInstance.journey_id, JourneyInstance.exit_reason, func.count())
            .where(JourneyInstance.journey_id.in_(list(journey_ids)))
            .group_by(JourneyInstance.journey_id, JourneyInstance.exit_reason)
        ).all()
        return [(journey_id, reason, int(count)) for journey_id, reason, count in rows]

    def all_entries(self, journey_id: str) -> list[Entry]:
        """Every instance of the journey: who entered and when (for conversions)."""
        rows = self.session.execute(
            select(JourneyInstance.id, JourneyInstance.profile_id, JourneyInstance.entered_at)
            .where(JourneyInstance.journey_id == journey_id)
            .order_by(JourneyInstance.id)
        ).all()
        return [Entry(*row) for row in rows]

    def split_outcomes(self, journey_id: str, steps: Sequence[str]) -> list[SplitOutcome]:
        """Which branch each instance took at each of ``steps`` (random splits)."""
        if not steps:
            return []
        rows = self.session.execute(
            select(JourneyStepRun.instance_id, JourneyStepRun.step, JourneyStepRun.outcome).where(
                JourneyStepRun.journey_id == journey_id, JourneyStepRun.step.in_(list(steps))
            )
        ).all()
        return [SplitOutcome(*row) for row in rows]
