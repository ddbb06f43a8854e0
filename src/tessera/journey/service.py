"""Journeys' use cases: create, save versions, publish, pause, resume, archive, and read them
with the people inside. Never commits.

Every save is a new immutable version (``journey_version``), checked whole by
``definition.parse`` first, so a broken graph is refused when saved. Publishing points the
journey at a version after checking every name it uses against the workspace: an event must be
a Segment e-commerce event or one that arrived lately, a trait a standard identify trait or one
that recent profiles hold, a template one of the step's channel that renders, a webhook a
public address (or an allowed host), a segment or audience one the workspace has; an unknown
name is refused, naming the step and the field. People already inside keep the version they
entered with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.domain import ECOMMERCE_EVENTS
from tessera.collect.service import CollectService
from tessera.config import Settings, get_settings
from tessera.customer.profiles import ProfileService
from tessera.integrations.webhook import destination_problem, resolve_host
from tessera.journey import segments
from tessera.journey.definition import (
    CallWebhook,
    Definition,
    DefinitionError,
    Fault,
    SendEmail,
    Use,
    parse,
    uses,
)
from tessera.journey.errors import JourneyNotFound, JourneyStateConflict, JourneyVersionNotFound
from tessera.journey.facts import Definitions
from tessera.journey.repository import InstanceFilter, JourneyRepository
from tessera.journey.steps import enqueue_visit
from tessera.kit.errors import InvalidInput
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import Clock, utcnow
from tessera.message.templates import TemplateService
from tessera.models.journey import Journey, JourneyInstance, JourneyStatus, JourneyVersion
from tessera.workspace.service import WorkspaceService

# Segment's reserved identify traits (both spellings Tessera reads), the zone journeys read,
# and the customer fields orders carry into a profile.
STANDARD_TRAITS = frozenset(
    {
        "address", "age", "avatar", "birthday", "company", "createdAt", "created_at",
        "description", "email", "firstName", "first_name", "gender", "id", "lastName",
        "last_name", "name", "phone", "title", "username", "website", "timezone",
        "postal_code", "city", "country",
    }
)  # fmt: skip
EXIT_REASONS = (
    "completed", "ordered", "event", "condition", "merged", "erased", "archived",
)  # fmt: skip


@dataclass
class Totals:
    """People through a whole journey."""

    entered: int = 0
    inside: int = 0
    exited: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StepCounts:
    """People through one step: visits begun, still there, and left there by reason."""

    step: str
    entered: int = 0
    waiting: int = 0
    exited: dict[str, int] = field(default_factory=dict)


class JourneyService:
    def __init__(
        self, session: Session, clock: Clock = utcnow, settings: Settings | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings
        self.repository = JourneyRepository(session)

    # Reading ---------------------------------------------------------------------------------

    def get(self, workspace_id: str, journey_id: str) -> Journey:
        """One journey; another workspace's is not found."""
        journey = self.repository.journey(workspace_id, journey_id)
        if journey is None:
            raise JourneyNotFound(f"no journey {journey_id} in this workspace")
        return journey

    def list_journeys(
        self,
        workspace_id: str,
        status: JourneyStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Journey]:
        """The workspace's journeys, newest first, a page at a time."""
        limit = clamp_limit(limit)
        rows = self.repository.journeys(workspace_id, decode_cursor(cursor), limit + 1, status)
        return page_from(rows, limit)

    def versions(self, workspace_id: str, journey_id: str) -> Sequence[JourneyVersion]:
        """Every version of the journey, newest first."""
        return self.repository.versions(self.get(workspace_id, journey_id).id)

    def version(self, workspace_id: str, journey_id: str, number: int) -> JourneyVersion:
        found = self.repository.version(self.get(workspace_id, journey_id).id, number)
        if found is None:
            raise JourneyVersionNotFound(f"journey {journey_id} has no version {number}")
        return found

    def definition(self, version: JourneyVersion) -> Definition:
        return Definitions(self.session).of(version)

    def totals(self, journey_ids: Sequence[str]) -> dict[str, Totals]:
        """Per journey: people who ever entered, people inside now, people out by reason."""
        found = {journey_id: Totals() for journey_id in journey_ids}
        for journey_id, reason, count in self.repository.people_by_reason(journey_ids):
            totals = found[journey_id]
            totals.entered += count
            if reason is None:
                totals.inside += count
            else:
                totals.exited[reason] = count
        return found

    def inside_counts(self, journey_ids: Sequence[str]) -> dict[str, int]:
        """How many people are inside each journey now."""
        return {journey_id: t.inside for journey_id, t in self.totals(journey_ids).items()}

    def instances(
        self,
        workspace_id: str,
        journey_id: str,
        *,
        inside: bool | None = None,
        step: str | None = None,
        profile_id: str | None = None,
        exit_reason: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[JourneyInstance]:
        """The journey's instances, newest first, filtered; refuses an unknown exit reason."""
        journey = self.get(workspace_id, journey_id)
        if exit_reason is not None and exit_reason not in EXIT_REASONS:
            raise InvalidInput(
                f"exit_reason must be one of {', '.join(EXIT_REASONS)}", field="exit_reason"
            )
        limit = clamp_limit(limit)
        where = InstanceFilter(journey.id, inside, step, profile_id, exit_reason)
        rows = self.repository.instances(workspace_id, where, decode_cursor(cursor), limit + 1)
        return page_from(rows, limit)

    def history(self, workspace_id: str, instance_id: str) -> tuple[JourneyInstance, list[Any]]:
        """One instance and every step it passed, in order."""
        instance = self.repository.workspace_instance(workspace_id, instance_id)
        if instance is None:
            raise JourneyNotFound(f"no journey instance {instance_id} in this workspace")
        return instance, list(self.repository.step_runs(instance.id))

    def step_counts(self, workspace_id: str, journey_id: str) -> dict[str, StepCounts]:
        """Per step, over every version: visits begun (``entered``), people there now
        (``waiting``), and people who left there, by reason (``exited``)."""
        journey = self.get(workspace_id, journey_id)
        entered = {row.step: row.visits for row in self.repository.visits_per_step(journey.id)}
        waiting: dict[str, int] = {}
        exited: dict[str, dict[str, int]] = {}
        for place in self.repository.places(journey.id):
            if place.reason is None:
                waiting[place.step] = waiting.get(place.step, 0) + place.instances
            else:
                exited.setdefault(place.step, {})[place.reason] = place.instances
            if place.reason != "completed":  # a visit cut short has no history row
                entered[place.step] = entered.get(place.step, 0) + place.instances
        steps = sorted(entered.keys() | waiting.keys() | exited.keys())
        return {
            step: StepCounts(step, entered.get(step, 0), waiting.get(step, 0), exited.get(step, {}))
            for step in steps
        }

    # Changing --------------------------------------------------------------------------------

    def create(self, workspace_id: str, document: Any, *, actor: str) -> Journey:
        """A new draft journey whose version 1 is ``document``; refuses an invalid definition
        (``DefinitionError``, naming each step and field)."""
        definition = parse(document)
        now = self.clock()
        journey = Journey(
            id=new_id("jrn"),
            workspace_id=workspace_id,
            name=definition.name,
            status=JourneyStatus.DRAFT,
            live_version=None,
            latest_version=1,
            resumes=0,
            created_at=now,
            updated_at=now,
        )
        self.repository.add(journey)
        self._add_version(journey.id, 1, definition, actor, now)
        self._audit(workspace_id, actor, "journey.created", journey.id, {"version": 1})
        return journey

    def save_version(
        self, workspace_id: str, journey_id: str, document: Any, *, actor: str
    ) -> JourneyVersion:
        """Save ``document`` as the journey's next version (nothing changes for anyone until
        it is published). Refuses an invalid definition and an archived journey."""
        journey = self.get(workspace_id, journey_id)
        if journey.status is JourneyStatus.ARCHIVED:
            raise JourneyStateConflict(f"journey {journey.id} is archived; create a new one")
        definition = parse(document)
        now = self.clock()
        number = self.repository.next_version(journey.id, now)
        version = self._add_version(journey.id, number, definition, actor, now)
        self.session.refresh(journey)
        journey.name = definition.name
        self._audit(workspace_id, actor, "journey.version_saved", journey.id, {"version": number})
        return version

    def publish(
        self, workspace_id: str, journey_id: str, number: int | None = None, *, actor: str
    ) -> Journey:
        """Make ``number`` (default: the newest) the version people enter from now on, and
        the journey live (a paused journey stays paused until resumed). Refuses an archived
        journey, and a version using a name the workspace does not know (``DefinitionError``
        naming the step and field). People inside keep the version they entered with."""
        journey = self.get(workspace_id, journey_id)
        version = self.version(workspace_id, journey.id, number or journey.latest_version)
        self._check_names(workspace_id, self.definition(version))
        now = self.clock()
        status = (
            JourneyStatus.PAUSED if journey.status is JourneyStatus.PAUSED else JourneyStatus.LIVE
        )
        allowed = [JourneyStatus.DRAFT, JourneyStatus.LIVE, JourneyStatus.PAUSED]
        if not self.repository.change_status(
            journey.id, allowed, status, now, live_version=version.version
        ):
            raise JourneyStateConflict(f"journey {journey.id} is archived; create a new one")
        self.repository.mark_published(journey.id, version.version, now)
        self._audit(
            workspace_id, actor, "journey.published", journey.id, {"version": version.version}
        )
        return self._fresh(journey)

    def pause(self, workspace_id: str, journey_id: str, *, actor: str) -> Journey:
        """Nobody enters; people inside stay where they are (a step that comes due waits on
        the shelf) until resumed. Exit rules still let people leave. Refuses a journey that
        is not live."""
        journey = self.get(workspace_id, journey_id)
        now = self.clock()
        if not self.repository.change_status(
            journey.id, [JourneyStatus.LIVE], JourneyStatus.PAUSED, now
        ):
            raise JourneyStateConflict(f"journey {journey.id} is {journey.status.value}, not live")
        self._audit(workspace_id, actor, "journey.paused", journey.id, {})
        return self._fresh(journey)

    def resume(self, workspace_id: str, journey_id: str, *, actor: str) -> Journey:
        """Live again: people enter, and everyone whose step came due while paused goes on
        now (the others when their step comes due). Refuses a journey that is not paused."""
        journey = self.get(workspace_id, journey_id)
        now = self.clock()
        if not self.repository.change_status(
            journey.id,
            [JourneyStatus.PAUSED],
            JourneyStatus.LIVE,
            now,
            resumes=Journey.resumes + 1,
        ):
            raise JourneyStateConflict(
                f"journey {journey.id} is {journey.status.value}, not paused"
            )
        journey = self._fresh(journey)
        woken = self.repository.unpark(journey.id)
        for instance_id, visit, wake_at in woken:
            at = max(wake_at, now) if wake_at is not None else now
            enqueue_visit(self.session, workspace_id, instance_id, visit, at, journey.resumes)
        self._audit(workspace_id, actor, "journey.resumed", journey.id, {"woken": len(woken)})
        return journey

    def archive(self, workspace_id: str, journey_id: str, *, actor: str) -> Journey:
        """The journey is over: everyone inside leaves ("archived") and it can never run
        again. Refuses a journey already archived."""
        journey = self.get(workspace_id, journey_id)
        now = self.clock()
        allowed = [JourneyStatus.DRAFT, JourneyStatus.LIVE, JourneyStatus.PAUSED]
        if not self.repository.change_status(journey.id, allowed, JourneyStatus.ARCHIVED, now):
            raise JourneyStateConflict(f"journey {journey.id} is archived already")
        left = self.repository.leave_journey(journey.id, now, "archived")
        self._audit(workspace_id, actor, "journey.archived", journey.id, {"left": left})
        return self._fresh(journey)

    # Helpers ---------------------------------------------------------------------------------

    def _add_version(
        self, journey_id: str, number: int, definition: Definition, actor: str, now: datetime
    ) -> JourneyVersion:
        version = JourneyVersion(
            id=new_id("jrv"),
            journey_id=journey_id,
            version=number,
            definition=definition.model_dump(mode="json"),
            created_by=actor[:200],
            created_at=now,
            published_at=None,
        )
        self.repository.add(version)
        return version

    def _check_names(self, workspace_id: str, definition: Definition) -> None:
        """Refuse, naming each step and field, every name the workspace does not know."""
        faults: list[Fault] = []
        events: set[str] | None = None
        traits: set[str] | None = None
        for use in uses(definition):
            if use.kind == "event":
                if events is None:
                    recent = CollectService(self.session).recent_event_names(workspace_id)
                    events = set(ECOMMERCE_EVENTS) | recent
                if use.name not in events:
                    faults.append(
                        Fault(
                            use.step,
                            use.field,
                            f"no event {use.name!r} arrived in this workspace lately, and it "
                            "is not a Segment e-commerce event",
                        )
                    )
            elif use.kind == "trait":
                if traits is None:
                    recent = ProfileService(self.session).recent_trait_keys(workspace_id)
                    traits = set(STANDARD_TRAITS) | recent
                if use.name not in traits:
                    faults.append(
                        Fault(
                            use.step,
                            use.field,
                            f"no profile here has a trait {use.name!r}, and it is not a "
                            "standard identify trait",
                        )
                    )
            elif use.kind in ("segment", "audience"):
                fault = segments.unknown_name(self.session, workspace_id, use)
                faults.extend([fault] if fault else [])
            elif use.kind == "template":
                faults.extend(self._template_fault(workspace_id, definition, use))
        faults.extend(self._webhook_faults(definition))
        if faults:
            raise DefinitionError(faults)

    def _webhook_faults(self, definition: Definition) -> list[Fault]:
        """Webhooks to private addresses (server-side request forgery), unless allowed."""
        allowed = (self.settings or get_settings()).webhook_allowed_hosts
        return [
            Fault(step.id, "url", problem, path=f"steps[{index}].url")
            for index, step in enumerate(definition.steps)
            if isinstance(step, CallWebhook)
            and (problem := destination_problem(step.url, allowed, resolve_host)) is not None
        ]

    def _template_fault(self, workspace_id: str, definition: Definition, use: Use) -> list[Fault]:
        index, step = next((i, s) for i, s in enumerate(definition.steps) if s.id == use.step)
        channel = "email" if isinstance(step, SendEmail) else "sms"
        problem = TemplateService(self.session).unusable(workspace_id, use.name, channel)
        if problem is None:
            return []
        return [Fault(use.step, use.field, problem, path=f"steps[{index}].{use.field}")]

    def _fresh(self, journey: Journey) -> Journey:
        self.session.refresh(journey)
        return journey

    def _audit(
        self, workspace_id: str, actor: str, action: str, journey_id: str, data: dict[str, Any]
    ) -> None:
        WorkspaceService(self.session).record(workspace_id, actor, action, journey_id, data)
