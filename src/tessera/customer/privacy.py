"""Privacy: consent with its evidence, export of everything held about a person, and erasure.

Consent is attached to the identifier it was given for (the email for email, the phone for SMS)
and appended, never updated: the newest row per identifier, purpose and channel is the answer.

Erasure (ADR 0013) removes a person's personal data from every table in the caller's one
transaction: identifiers, links, merges with their evidence, splits, the profile and every
profile merged into it, the match record, consents, the person's events (by their ``user_id``
and ``anonymous_id`` identifiers) and orders (by their ``order`` identifiers and their email),
quarantine entries that mention any of the person's identifier values, review items and
conflicts; and the person leaves every journey at once (reason ``erased``). In ``anonymise``
mode the events and orders stay, so counts and revenue stay, but nothing says who: ids become
one random ``erased:...`` value, traits and context are dropped, personal properties removed,
an order's customer fields cleared. What is kept is an HMAC-SHA256
of each identifier (``type:value``, keyed by the workspace's ``identity_config.salt``) in
``identity_suppression``, so ingestion can refuse the person's data when it is replayed, and an
``identity_erasure`` row with counts and no personal data.

Erasure must reach into Collect's, the orders', the graph's and the journeys' tables, which is
why its SQL (``repository.privacy``) touches them directly: like analytics, it is the
documented exception to "another domain's tables only through its service".
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tessera.customer import schemas
from tessera.customer.profiles import Person, ProfileService
from tessera.customer.repository.privacy import MIN_MATCH_LENGTH, PrivacyRepository
from tessera.customer.timeline import consent_out
from tessera.db.base import Base
from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.identifiers import Ident
from tessera.identity.graph.intake import IdentityIntake, digest
from tessera.identity.graph.service import IdentityService
from tessera.kit.errors import InvalidInput
from tessera.kit.time import ensure_utc, utcnow
from tessera.models.identity import Consent, Erasure, ErasureMode, Identifier
from tessera.workspace.service import WorkspaceService

PURPOSES = ("marketing", "analytics", "personalisation")
CHANNELS = ("email", "sms", "push", "web", "app", "whatsapp", "all")
# A consent for these channels must be given for an identifier of these types.
CHANNEL_IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email_sha256"),
    "sms": ("phone", "phone_sha256"),
    "whatsapp": ("phone", "phone_sha256"),
    "push": ("push_token", "device_id"),
}
CLOCK_SKEW = timedelta(minutes=5)
RELAY_REFUSAL = (
    "a relay address is the platform's, not the person's: record consent for an email, "
    "phone or device the person gave"
)
ERASED_PREFIX = "erased:"
# Event and order fields that say who someone is, dropped when anonymising.
PERSONAL_KEYS = frozenset(
    {
        "email", "relay_email", "phone", "name", "first_name", "firstname", "last_name",
        "lastname", "username", "address", "address_line", "address_line2", "street", "city",
        "postal_code", "postcode", "zip", "birthday", "ip", "user_agent", "customer",
        "shipping_address", "billing_address", "userid", "user_id", "anonymousid",
        "anonymous_id", "externalids",
    }
)  # fmt: skip
# The top-level fields of a Segment message kept when anonymising (context and traits go).
KEPT_MESSAGE_FIELDS = frozenset(
    {"type", "event", "name", "category", "messageId", "timestamp", "originalTimestamp",
     "sentAt", "receivedAt", "properties", "channel", "version"}
)  # fmt: skip


def suppression_digest(salt: str, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``type:value`` keyed by the workspace's salt, in hex: the same digest
    ingestion computes (``intake.digest``) to drop an erased person's replayed messages.

    Without the salt a digest cannot be tested against guessed emails or phones; with it,
    ingestion recognises an erased identifier in one indexed lookup.
    """
    return digest(salt, Ident(kind, value, value))


def scrub(value: Any, personal: frozenset[str]) -> Any:
    """``value`` without personal keys, and without strings that contain a personal value."""
    if isinstance(value, dict):
        return {
            key: scrub(item, personal)
            for key, item in value.items()
            if key.lower() not in PERSONAL_KEYS and not _mentions(item, personal)
        }
    if isinstance(value, list):
        return [scrub(item, personal) for item in value if not _mentions(item, personal)]
    return value


def _mentions(value: Any, personal: frozenset[str]) -> bool:
    if not isinstance(value, str):
        return False
    lowered = value.lower()
    return any(p in lowered for p in personal)


def _mentions_deep(value: Any, personal: frozenset[str]) -> bool:
    if isinstance(value, dict):
        return any(_mentions_deep(v, personal) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_deep(v, personal) for v in value)
    return _mentions(value, personal)


def _mentioning_refs(payload: Any, personal: frozenset[str]) -> list[str]:
    """The ``ref`` (message id) of each record in a job payload that mentions the person."""
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list):
        return []
    return [
        str(record["ref"])
        for record in records
        if isinstance(record, dict) and record.get("ref") and _mentions_deep(record, personal)
    ]


def without_mentions(value: Any, personal: frozenset[str]) -> Any:
    """A job payload without what mentions the person: list items (a stitch job's records)
    that mention them anywhere are dropped whole, as are strings that mention them."""
    if isinstance(value, dict):
        return {
            key: without_mentions(item, personal)
            for key, item in value.items()
            if not _mentions(item, personal)
        }
    if isinstance(value, list):
        return [
            without_mentions(item, personal) for item in value if not _mentions_deep(item, personal)
        ]
    return value


def anonymised_message(
    payload: dict[str, Any], token: str, personal: frozenset[str]
) -> dict[str, Any]:
    """A Segment message with who removed: ids replaced by ``token``, traits and context
    dropped, personal properties removed. What happened, when and for how much stays."""
    kept = {k: v for k, v in payload.items() if k in KEPT_MESSAGE_FIELDS}
    if isinstance(kept.get("properties"), dict):
        kept["properties"] = scrub(kept["properties"], personal)
    for id_field in ("userId", "anonymousId"):
        if payload.get(id_field) not in (None, ""):
            kept[id_field] = token
    return kept


class PrivacyService:
    """Consent, export and erasure. Never commits: the caller's transaction holds it all."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = PrivacyRepository(session)
        self.profiles = ProfileService(session)

    # Consent -------------------------------------------------------------------------------

    def record_consent(
        self, workspace_id: str, profile_id: str, consent: schemas.ConsentCreate, *, actor: str
    ) -> schemas.ConsentOut:
        """Append a person's yes or no for one purpose on one channel, with its evidence.

        Refuses (422) an unknown purpose or channel, an identifier the profile does not hold,
        an identifier of the wrong type for the channel (email consent needs an email), a relay
        address on any channel (a marketplace's or Apple's, which only forwards what the
        platform allows: it cannot carry the person's yes), an empty source, and a time in the
        future: consent is evidence, so it must say when and where.
        """
        if consent.purpose not in PURPOSES:
            raise InvalidInput(f"purpose must be one of {', '.join(PURPOSES)}", field="purpose")
        if consent.channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        if not consent.source.strip():
            raise InvalidInput("say where the consent was given", field="source")
        now = utcnow()
        recorded_at = ensure_utc(consent.recorded_at) if consent.recorded_at else now
        if recorded_at > now + CLOCK_SKEW:
            raise InvalidInput("recorded_at is in the future", field="recorded_at")
        allowed = CHANNEL_IDENTIFIERS.get(consent.channel)
        if consent.identifier_type.strip() == ids.RELAY_EMAIL:
            raise InvalidInput(RELAY_REFUSAL, field="identifier_type")
        if allowed and consent.identifier_type not in allowed:
            raise InvalidInput(
                f"{consent.channel} consent is given for an identifier of type "
                f"{' or '.join(allowed)}",
                field="identifier_type",
            )
        person = self.profiles.person(workspace_id, profile_id)
        identifier = self._identifier_of(workspace_id, person, consent)
        row = Consent(
            workspace_id=workspace_id,
            identifier_id=identifier.id,
            purpose=consent.purpose,
            channel=consent.channel,
            status=consent.status,
            recorded_at=recorded_at,
            source=consent.source.strip(),
            wording=consent.wording,
            evidence=consent.evidence,
            actor=actor,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        WorkspaceService(self.session).record(
            workspace_id,
            actor,
            "consent.recorded",
            person.profile.id,
            {"consent_id": row.id, "purpose": row.purpose, "channel": row.channel,
             "status": row.status.value},
        )  # fmt: skip
        return consent_out(row, identifier)

    def _identifier_of(
        self, workspace_id: str, person: Person, consent: schemas.ConsentCreate
    ) -> Identifier:
        kind = consent.identifier_type.strip()
        raw = consent.identifier_value.strip()
        rules = self.profiles.identity.rules(workspace_id)
        found = ids.normalise(kind, raw, rules)
        if any(i.type == ids.RELAY_EMAIL for i in found):
            raise InvalidInput(RELAY_REFUSAL, field="identifier_value")
        candidates = {i.value for i in found if i.type == kind}
        for identifier in person.identifiers:
            matches = identifier.value in candidates or identifier.raw == raw
            if identifier.type == kind and matches:
                return identifier
        raise InvalidInput(
            f"profile {person.profile.id} holds no {kind} identifier {raw!r}",
            field="identifier_value",
        )

    def consents(self, workspace_id: str, profile_id: str) -> schemas.ConsentList:
        """The current answer per identifier, purpose and channel, and the whole history."""
        person = self.profiles.person(workspace_id, profile_id)
        history = self.profiles.consent_history(workspace_id, person.identifiers)
        current = self.profiles.current_consents(workspace_id, person.identifiers)
        return schemas.ConsentList(current=current, history=history)

    # Export --------------------------------------------------------------------------------

    def export(self, workspace_id: str, profile_id: str, *, actor: str) -> dict[str, Any]:
        """Everything held about a person, as JSON-ready data, and an audit row saying who
        exported it: profiles (merged ones too), identifiers, links, merges, consents, the match
        record, reviews, conflicts, events and orders with their lines and refunds."""
        person = self.profiles.person(workspace_id, profile_id)
        repo = self.repository
        pids = person.profile_ids
        identifier_ids = [i.id for i in person.identifiers]
        values = sorted({v for i in person.identifiers for v in (i.value, i.raw)})
        emails = person.values("email")
        order_ids = repo.order_ids(workspace_id, person.order_ids, emails)
        events = repo.person_events(workspace_id, person.user_ids, person.anonymous_ids)
        orders = repo.orders(workspace_id, order_ids)
        lines = repo.order_lines(order_ids)
        refunds = repo.order_refunds(order_ids)
        conflicts = repo.conflicts_of(workspace_id, pids, values)
        WorkspaceService(self.session).record(
            workspace_id, actor, "profile.exported", person.profile.id, {}
        )
        return {
            "exported_at": utcnow().isoformat(),
            "workspace_id": workspace_id,
            "profile_id": person.profile.id,
            "requested_id": profile_id,
            "profiles": [_plain(p) for p in repo.profiles(pids)],
            "identifiers": [_plain(i) for i in person.identifiers],
            "links": [_plain(link) for link in repo.links(identifier_ids)],
            "merges": [_plain(m) for m in self.profiles.repository.merges(workspace_id, pids)],
            "consents": [
                c.model_dump(mode="json")
                for c in self.profiles.consent_history(workspace_id, person.identifiers)
            ],
            "match_records": [_plain(r) for r in repo.match_records(pids)],
            "reviews": [_plain(r) for r in repo.reviews(workspace_id, pids)],
            "conflicts": [_plain(c) for c in repo.conflicts(conflicts)],
            "events": [_plain(e) for e in events],
            "orders": [
                {
                    **_plain(order),
                    "lines": [_plain(line) for line in lines if line.order_id == order.id],
                    "refunds": [_plain(r) for r in refunds if r.order_id == order.id],
                }
                for order in orders
            ],
        }

    # Erasure -------------------------------------------------------------------------------

    def erase(
        self,
        workspace_id: str,
        profile_id: str,
        mode: ErasureMode = ErasureMode.DELETE,
        *,
        actor: str,
    ) -> Erasure:
        """Remove a person's personal data from every table, keeping only salted hashes.

        ``profile_id`` may be any id the person had (a merged one answers with its survivor,
        and every profile merged into it is erased with it). Everything happens in the
        caller's transaction: either all of it or none. Refuses an unknown profile (404).
        """
        mode = ErasureMode(mode)
        person = self.profiles.person(workspace_id, profile_id)
        survivor_id = person.profile.id
        repo = self.repository
        pids = person.profile_ids
        identity = IdentityService(self.session)
        identity.lock(workspace_id)  # stitching waits; nothing is re-linked mid-erasure
        identifiers = person.identifiers
        identifier_ids = [i.id for i in identifiers]
        values = sorted({v for i in identifiers for v in (i.value, i.raw) if v})
        personal = frozenset(v.lower() for v in values if len(v) >= MIN_MATCH_LENGTH)
        token = ERASED_PREFIX + secrets.token_hex(12)
        erasure = Erasure(workspace_id=workspace_id, profile_id=survivor_id, mode=mode, actor=actor)
        self.session.add(erasure)
        self.session.flush()
        salt = identity.erasure_salt(workspace_id)
        digests = {suppression_digest(salt, i.type, i.value) for i in identifiers}
        repo.suppress(workspace_id, sorted(digests), erasure.id)
        counts: dict[str, Any] = {"profiles": len(pids), "identifiers": len(identifiers)}

        # Stitch jobs not run yet hold records of events not linked yet: those events are the
        # person's too. The jobs lose those records, so running them later links nothing.
        jobs = repo.jobs_mentioning(workspace_id, values)
        unlinked = sorted({ref for job in jobs for ref in _mentioning_refs(job.payload, personal)})
        for job in jobs:
            job.payload = without_mentions(job.payload or {}, personal)
        counts["jobs_scrubbed"] = len(jobs)

        user_ids, anonymous_ids = person.user_ids, person.anonymous_ids
        order_ids = repo.order_ids(workspace_id, person.order_ids, person.values("email"))
        owned_events = repo.owned_events(workspace_id, user_ids, anonymous_ids, unlinked, order_ids)
        if mode is ErasureMode.DELETE:
            counts["events"] = repo.delete_events([e.id for e in owned_events])
            counts["orders"] = repo.delete_orders(workspace_id, order_ids)
        else:
            for event in owned_events:
                event.user_id = token if event.user_id is not None else None
                event.anonymous_id = token if event.anonymous_id is not None else None
                event.payload = anonymised_message(event.payload or {}, token, personal)
            counts["events"] = len(owned_events)
            repo.anonymise_orders(workspace_id, order_ids)
            counts["orders"] = len(order_ids)
        self.session.flush()
        # Someone else's events that carry one of the person's anonymous ids keep the event,
        # not the id.
        if anonymous_ids:
            others = repo.events_with_anonymous_ids(workspace_id, anonymous_ids)
            for event in others:
                event.anonymous_id = token
                event.payload = {**(event.payload or {}), "anonymousId": token}
            counts["events_of_others_rewritten"] = len(others)

        counts["quarantine"] = repo.delete_quarantine(
            workspace_id, values, self._quarantine_naming(workspace_id, digests)
        )
        counts["consents"] = repo.delete_consents(workspace_id, identifier_ids)
        counts["links"] = repo.delete_links(identifier_ids) + repo.forget_joins(
            workspace_id, identifier_ids
        )
        merges = self.profiles.repository.merges(workspace_id, pids)
        merge_ids = [m.id for m in merges]
        split_ids = repo.split_ids(workspace_id, merge_ids, identifier_ids)
        counts["splits"] = repo.delete_splits(split_ids)
        counts["merges"] = repo.delete_merges(merge_ids)
        counts["journeys_left"] = repo.leave_journeys(workspace_id, pids)
        counts["messages"] = repo.forget_messages(workspace_id, pids, token)
        counts["segments"] = repo.forget_segments(workspace_id, pids)
        counts["loyalty_members"] = repo.forget_loyalty(workspace_id, pids, person.values("email"))
        counts["reviews"] = repo.delete_reviews(workspace_id, pids)
        counts["conflicts"] = repo.delete_conflicts(repo.conflicts_of(workspace_id, pids, values))
        repo.delete_match_records(pids)
        repo.delete_identifiers(identifier_ids)
        repo.delete_profiles(workspace_id, pids)
        erasure_id = erasure.id
        self.session.expire_all()  # the rows deleted above must not be read from memory
        kept = self.session.get(Erasure, erasure_id)
        assert kept is not None
        kept.counts = counts
        WorkspaceService(self.session).record(
            workspace_id,
            actor,
            "profile.erased",
            survivor_id,
            {"erasure_id": erasure_id, "mode": mode.value},
        )
        self.session.flush()
        return kept

    def _quarantine_naming(self, workspace_id: str, digests: set[str]) -> list[str]:
        """The quarantine entries that name the person in any form the identity layer reads
        (a phone as written by hand, an email in capitals, a hash), which a search for the
        stored values would miss, so no replay can bring them back (ADR 0020)."""
        intake = IdentityIntake(self.session)
        return [
            entry_id
            for entry_id, raw in self.repository.quarantine_texts(workspace_id)
            if intake.digests_mentioned(workspace_id, raw) & digests
        ]

    def is_suppressed(self, workspace_id: str, kind: str, value: str) -> bool:
        """Whether an identifier (type and normalised value) belongs to an erased person."""
        salt = IdentityService(self.session).erasure_salt(workspace_id)
        return self.repository.is_suppressed(workspace_id, [suppression_digest(salt, kind, value)])


def _plain(row: Base) -> dict[str, Any]:
    """A row as JSON-ready data: every column, times in ISO 8601, enums by value."""
    out: dict[str, Any] = {}
    table: Any = row.__table__
    for column in table.columns:
        value = getattr(row, column.key)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
            value = value.value
        out[column.key] = value
    return out
