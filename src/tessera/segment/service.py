"""Segments and audiences: save, read, preview, change people's places, export.

Saving a segment checks its rule whole (``rules.parse_rule``: 422 naming the field) and queues
a refresh of the workspace's memberships in the same transaction, keyed by the segment's
revision, so a retried save queues one. Audiences are named lists filled by hand, by journeys'
``audience_add``/``audience_remove`` steps, or fed by a segment (filled from its members at
creation, then following it). Exports hash the identifiers of members with a current granted
marketing consent only: an email when the consent covers email, a phone when it covers SMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tessera.customer.profiles import ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.integrations.meta_audiences import UploadReceipt
from tessera.job.service import JobService
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import decode_cursor, encode_cursor
from tessera.kit.time import Clock, utcnow
from tessera.models.identity import ConsentStatus
from tessera.models.segment import Audience, Segment, SegmentMember
from tessera.segment import export
from tessera.segment.errors import AudienceNotFound, NameTaken, SegmentNotFound
from tessera.segment.membership import Membership
from tessera.segment.repository import SegmentRepository
from tessera.segment.rules import dump_rule, has_window, parse_rule
from tessera.workspace.service import WorkspaceService

REFRESH_JOB = "segment.workspace_refreshed"


class Uploader(Protocol):
    def add_users(self, target: str, rows: Sequence[Sequence[str]]) -> UploadReceipt: ...


MARKETING = "marketing"
EMAIL_CHANNELS = frozenset({"email", "all"})
SMS_CHANNELS = frozenset({"sms", "all"})


@dataclass(frozen=True)
class MemberPage:
    items: Sequence[SegmentMember]
    next_cursor: str | None


@dataclass(frozen=True)
class Preview:
    matching: int
    scanned: int
    sample: list[str]


def _name(value: Any, field: str = "name") -> str:
    name = str(value or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            f"{field} must be 1 to 200 characters", errors=[{"field": field, "message": "1-200"}]
        )
    return name


class SegmentService:
    """Segments' and audiences' use cases on the caller's session. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = SegmentRepository(session)
        self.membership = Membership(session, clock)

    # Segments ----------------------------------------------------------------------------------

    def list_segments(self, workspace_id: str) -> list[tuple[Segment, int]]:
        segments = self.repository.segments(workspace_id)
        counts = self.repository.member_counts([s.id for s in segments])
        return [(s, counts.get(s.id, 0)) for s in segments]

    def get(self, workspace_id: str, segment_id: str) -> Segment:
        """The segment; 404 for one of another workspace."""
        segment = self.repository.segment(workspace_id, segment_id)
        if segment is None:
            raise SegmentNotFound(f"no segment {segment_id!r} in this workspace")
        return segment

    def named(self, workspace_id: str, name: str) -> Segment | None:
        return self.repository.segment_named(workspace_id, name)

    def names(self, workspace_id: str) -> set[str]:
        return self.repository.segment_names(workspace_id)

    def create(self, workspace_id: str, name: str, rule: Any, description: str = "") -> Segment:
        """Save a segment; refuses a bad rule (422 naming the field) and a name in use (409).
        Its members are computed by the refresh it queues."""
        name = _name(name)
        parsed = parse_rule(rule)
        if self.repository.segment_named(workspace_id, name) is not None:
            raise NameTaken(f"a segment named {name!r} exists", field="name")
        now = self.clock()
        segment = Segment(
            workspace_id=workspace_id,
            name=name,
            description=description[:1000],
            rule=dump_rule(parsed),
            created_at=now,
            updated_at=now,
        )
        self.repository.add(segment)
        self._queue_refresh(segment)
        return segment

    def update(
        self,
        workspace_id: str,
        segment_id: str,
        *,
        name: str | None = None,
        rule: Any = None,
        description: str | None = None,
    ) -> Segment:
        """Rename, re-describe or change the rule; a new rule queues a refresh."""
        segment = self.get(workspace_id, segment_id)
        if name is not None:
            name = _name(name)
            other = self.repository.segment_named(workspace_id, name)
            if other is not None and other.id != segment.id:
                raise NameTaken(f"a segment named {name!r} exists", field="name")
            segment.name = name
        if description is not None:
            segment.description = description[:1000]
        if rule is not None:
            segment.rule = dump_rule(parse_rule(rule))
            segment.revision += 1
            self._queue_refresh(segment)
        segment.updated_at = self.clock()
        self.session.flush()
        return segment

    def delete(self, workspace_id: str, segment_id: str) -> None:
        """Delete the segment and its memberships (no exit events: the segment is gone)."""
        segment = self.get(workspace_id, segment_id)
        self.repository.delete_segment(segment.id)

    def _queue_refresh(self, segment: Segment) -> None:
        JobService(self.session).enqueue(
            REFRESH_JOB,
            {
                "workspace_id": segment.workspace_id,
                "after": None,
                "round": f"{segment.id}:{segment.revision}",
                "at": self.clock().isoformat(),
            },
            workspace_id=segment.workspace_id,
            idempotency_key=f"segment-saved:{segment.id}:{segment.revision}",
        )

    def member_count(self, segment_id: str) -> int:
        return self.repository.member_counts([segment_id]).get(segment_id, 0)

    def members(
        self, workspace_id: str, segment_id: str, cursor: str | None = None, limit: int = 50
    ) -> MemberPage:
        """Members, newest entry first, a page at a time (the cursor is opaque)."""
        segment = self.get(workspace_id, segment_id)
        after = None
        if cursor is not None:
            value = decode_cursor(cursor)
            try:
                at, profile_id = str(value).split("|", 1)
                after = (datetime.fromisoformat(at), profile_id)
            except ValueError:
                raise InvalidInput("cursor is not one this API made", field="cursor") from None
        limit = max(1, min(limit, 200))
        rows = self.repository.members_page(segment.id, after, limit + 1)
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit and page:
            last = page[-1]
            next_cursor = encode_cursor(f"{last.entered_at.isoformat()}|{last.profile_id}")
        return MemberPage(page, next_cursor)

    def sizes(self, workspace_id: str, segment_id: str) -> list[tuple[Any, int]]:
        return self.repository.sizes(self.get(workspace_id, segment_id).id)

    def preview(self, workspace_id: str, rule: Any) -> Preview:
        """Who the rule would hold now among the first 5,000 people, saving nothing."""
        matching, scanned, sample = self.membership.preview(workspace_id, parse_rule(rule))
        return Preview(matching, scanned, sample)

    def windowed_workspaces(self) -> list[str]:
        """Workspaces with a segment whose rule has a window (time alone changes those)."""
        found = []
        for workspace_id in self.repository.workspaces_with_segments():
            segments = self.repository.segments(workspace_id)
            if any(has_window(parse_rule(s.rule)) for s in segments):
                found.append(workspace_id)
        return found

    def is_member(self, workspace_id: str, segment_name: str, profile_id: str) -> bool:
        """Whether the person is in the segment named ``segment_name`` now (False when no
        such segment exists): what a journey's ``in_segment`` condition asks."""
        segment = self.repository.segment_named(workspace_id, segment_name)
        if segment is None:
            return False
        return segment.id in self.repository.memberships_of(workspace_id, profile_id)

    # Audiences ---------------------------------------------------------------------------------

    def audiences(self, workspace_id: str) -> list[tuple[Audience, int]]:
        rows = self.repository.audiences(workspace_id)
        counts = self.repository.audience_counts(a.id for a in rows)
        return [(a, counts.get(a.id, 0)) for a in rows]

    def audience(self, workspace_id: str, audience_id: str) -> Audience:
        found = self.repository.audience(workspace_id, audience_id)
        if found is None:
            raise AudienceNotFound(f"no audience {audience_id!r} in this workspace")
        return found

    def audience_names(self, workspace_id: str) -> set[str]:
        return self.repository.audience_names(workspace_id)

    def create_audience(
        self, workspace_id: str, name: str, segment_id: str | None = None, *, actor: str
    ) -> Audience:
        """A named list; fed by ``segment_id`` (its members now, and whoever enters it later)."""
        name = _name(name)
        if self.repository.audience_named(workspace_id, name) is not None:
            raise NameTaken(f"an audience named {name!r} exists", field="name")
        source = self.get(workspace_id, segment_id).id if segment_id else None
        audience = Audience(
            workspace_id=workspace_id, name=name, source_segment_id=source, created_at=self.clock()
        )
        self.repository.add(audience)
        if source is not None:
            now = self.clock()
            for profile_id in self.repository.member_ids(source):
                self.repository.add_to_audience(workspace_id, audience.id, profile_id, actor, now)
        return audience

    def delete_audience(self, workspace_id: str, audience_id: str) -> None:
        self.repository.delete_audience(self.audience(workspace_id, audience_id).id)

    def change_audience(
        self, workspace_id: str, audience: str, profile_id: str, *, add: bool, actor: str
    ) -> bool:
        """Add (or remove) a person to the audience with id or name ``audience``; True when
        that changed something. Refuses an unknown audience (404) and profile (404); an
        audience a journey names that does not exist yet is made on first add."""
        found = self.repository.audience(workspace_id, audience) or self.repository.audience_named(
            workspace_id, audience
        )
        profile = ProfileService(self.session).resolve(workspace_id, profile_id)
        if found is None:
            if not add:
                return False
            found = self.create_audience(workspace_id, audience, actor=actor)
        if add:
            return self.repository.add_to_audience(
                workspace_id, found.id, profile.id, actor, self.clock()
            )
        return self.repository.remove_from_audience(found.id, profile.id)

    def audience_members(self, workspace_id: str, audience_id: str) -> list[str]:
        return self.repository.audience_member_ids(self.audience(workspace_id, audience_id).id)

    def export_rows(self, workspace_id: str, audience_id: str) -> list[export.Hashed]:
        """The audience's consenting members' hashes, in profile id order."""
        region = WorkspaceService(self.session).get_workspace(workspace_id).default_region
        profiles = ProfileService(self.session)
        rows: list[export.Hashed] = []
        for profile_id in self.audience_members(workspace_id, audience_id):
            try:
                person = profiles.person(workspace_id, profile_id)
            except ProfileNotFound:
                continue
            channels = {
                c.channel
                for c in profiles.current_consents(workspace_id, person.identifiers)
                if c.purpose == MARKETING and c.status is ConsentStatus.GRANTED
            }
            emails, phones = person.values("email"), person.values("phone")
            email = emails[0] if emails and channels & EMAIL_CHANNELS else None
            phone = phones[0] if phones and channels & SMS_CHANNELS else None
            found = export.hashed(email, phone, region)
            if found is not None:
                rows.append(found)
        return rows

    def upload(
        self, workspace_id: str, audience_id: str, uploader: Uploader, target: str
    ) -> UploadReceipt:
        """Send the audience's consenting members' hashes to an ad platform's audience
        ``target`` through its client (``integrations.meta_audiences`` or
        ``tiktok_audiences``); what the platform refuses is its client's error."""
        rows = [
            [row.email or "", row.phone or ""]
            for row in self.export_rows(workspace_id, audience_id)
        ]
        return uploader.add_users(target, rows)

    def export_csv(self, workspace_id: str, audience_id: str, format_: str) -> str:
        if format_ not in export.FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(export.FORMATS)}", field="format")
        return export.to_csv(self.export_rows(workspace_id, audience_id), format_)
