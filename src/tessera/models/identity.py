"""Identify: profiles, identifiers and the evidence that joins them.

A profile is a connected group of identifiers. ``identifier.profile_id`` is the current answer;
the links are the evidence (which record joined which two identifiers): the one that brought an
identifier in is kept on its own row (``joined_via_id``, ``joined_ref``), later ones are
``identity_link`` rows; and
``identity_merge`` rows remember every merge with its cause and both sides, so a merge can be
undone by replaying the evidence without it (ADR 0010). Events and orders are never rewritten:
they belong to a profile through their identifiers.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false, text

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, PrefixKey, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class ProfileStatus(enum.StrEnum):
    ACTIVE = "active"
    MERGED = "merged"  # absorbed by merged_into_id; kept so old ids still resolve


class Profile(Base):
    __tablename__ = "profile"
    __table_args__ = (
        Index("ix_profile_workspace_status", "workspace_id", "status", "id"),
        # The clerk's search (``identity.graph.identifiers.SEARCH_COLUMNS``): one range each,
        # read in (key, id) order so the first 20 of 200,000 "gmail.com" are 20 index entries;
        # profiles known by no name, email or phone (most anonymous visitors) are left out.
        *(
            Index(
                f"ix_profile_search_{column}",
                "workspace_id",
                column,
                "id",
                postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL"),
            )
            for column in ("name_key", "surname_key", "email_key", "email_domain", "phone_key")
        ),
        Index("ix_profile_merged_into", "merged_into_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("cus"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    status: Mapped[ProfileStatus] = mapped_column(
        StrEnumColumn(ProfileStatus), default=ProfileStatus.ACTIVE
    )
    merged_into_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Latest value of each trait and when it was said: {"email": "a@b.c"} / {"email": iso}.
    traits: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    trait_stamps: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # The clerk's search keys, derived from the traits (``identifiers.search_keys``):
    # "given family" and "family given" folded, the email and its domain, the phone's
    # national digits.
    name_key: Mapped[str | None] = mapped_column(PrefixKey(200), nullable=True)
    surname_key: Mapped[str | None] = mapped_column(PrefixKey(200), nullable=True)
    email_key: Mapped[str | None] = mapped_column(PrefixKey(320), nullable=True)
    email_domain: Mapped[str | None] = mapped_column(PrefixKey(200), nullable=True)
    phone_key: Mapped[str | None] = mapped_column(PrefixKey(15), nullable=True)
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Identifier(Base):
    """One typed, normalised identifier (an email, a phone in E.164, a device id...).

    No foreign keys here or on ``identity_link`` (ADR 0010): a bulk stitch writes millions of
    rows, and a key check per row per reference doubled its cost. The stitcher is the only
    writer (under the workspace lock) and writes a profile before its identifiers; erasure
    deletes links, identifiers and profiles explicitly.
    """

    __tablename__ = "identifier"
    __table_args__ = (
        UniqueConstraint("workspace_id", "type", "value"),
        Index("ix_identifier_profile", "profile_id"),
        # Read by every stitch; a partial index holds only the few shared rows.
        Index(
            "ix_identifier_shared",
            "workspace_id",
            postgresql_where=text("is_shared"),
            sqlite_where=text("is_shared"),
        ),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("idn"))
    workspace_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(320))
    raw: Mapped[str] = mapped_column(String(500))
    profile_id: Mapped[str] = mapped_column(String(40))
    # The profile this identifier started in: replays after an unmerge give ids back by it.
    origin_profile_id: Mapped[str] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)  # channel or origin
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    # The link that brought this identifier in, kept here rather than as an ``identity_link``
    # row (ADR 0010): the identifier it joined through (none for a profile's first) and the
    # record that carried both, at ``first_seen``. Rows stitched before migration 0015 have
    # neither; their links are ``identity_link`` rows.
    joined_via_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    joined_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # A device several people signed in on (``identity.graph.shared``): detached from every
    # profile (``profile_id`` is empty) and left out of every record's identifiers.
    is_shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class IdentityGraphClock(Base):
    """How many times a workspace's identity graph has been locked for writing: every writer
    moves it on in its own transaction, so a process that remembers the value it committed
    knows whether anyone else has written since (``identity.graph_memory``, ADR 0010)."""

    __tablename__ = "identity_graph_clock"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger)


class IdentityLink(Base):
    """Evidence that two identifiers belong together: the record that carried both."""

    __tablename__ = "identity_link"
    __table_args__ = (
        UniqueConstraint("identifier_id", "other_identifier_id"),
        Index("ix_identity_link_other", "other_identifier_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("lnk"))
    workspace_id: Mapped[str] = mapped_column(String(40))
    identifier_id: Mapped[str] = mapped_column(String(40))
    other_identifier_id: Mapped[str] = mapped_column(String(40))
    cause_kind: Mapped[str] = mapped_column(String(20))  # event | match | manual
    cause_ref: Mapped[str] = mapped_column(String(200))  # message id, review id, user id
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdentityMerge(Base):
    """One merge of ``absorbed`` into ``survivor``, with its cause and both sides as they were."""

    __tablename__ = "identity_merge"
    __table_args__ = (
        Index("ix_identity_merge_workspace", "workspace_id", "id"),
        Index("ix_identity_merge_survivor", "survivor_profile_id"),
        Index("ix_identity_merge_absorbed", "absorbed_profile_id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("mrg"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    survivor_profile_id: Mapped[str] = mapped_column(String(40))
    absorbed_profile_id: Mapped[str] = mapped_column(String(40))
    cause_kind: Mapped[str] = mapped_column(String(20))  # event | match | manual
    cause_ref: Mapped[str] = mapped_column(String(200))
    # Linking identifiers, or the match score and compared fields.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    link_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    survivor_identifier_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    absorbed_identifier_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    undone_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class IdentitySplit(Base):
    """A rule a person made by splitting: these identifiers never join those again."""

    __tablename__ = "identity_split"
    __table_args__ = (Index("ix_identity_split_workspace", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("spl"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    merge_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdentitySplitMember(Base):
    __tablename__ = "identity_split_member"
    __table_args__ = (Index("ix_identity_split_member_identifier", "identifier_id"),)

    split_id: Mapped[str] = mapped_column(
        ForeignKey("identity_split.id", ondelete="CASCADE"), primary_key=True
    )
    identifier_id: Mapped[str] = mapped_column(
        ForeignKey("identifier.id", ondelete="CASCADE"), primary_key=True
    )
    side: Mapped[int] = mapped_column(Integer)  # 0 or 1


class ConflictStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IdentityConflict(Base):
    """A merge a guard-rail stopped, kept with the evidence for a person to review."""

    __tablename__ = "identity_conflict"
    __table_args__ = (Index("ix_identity_conflict_workspace", "workspace_id", "status", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("cfl"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(80))  # limit:user_id | split | blocked
    profile_ids: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    identifier_type: Mapped[str] = mapped_column(String(60))
    identifier_value: Mapped[str] = mapped_column(String(320))
    cause_ref: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[ConflictStatus] = mapped_column(
        StrEnumColumn(ConflictStatus), default=ConflictStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewStatus(enum.StrEnum):
    OPEN = "open"
    MERGED = "merged"
    REJECTED = "rejected"


class IdentityReview(Base):
    """A probable match between the two thresholds, waiting for a person."""

    __tablename__ = "identity_review"
    __table_args__ = (
        UniqueConstraint("workspace_id", "profile_id", "candidate_profile_id"),
        Index("ix_identity_review_workspace", "workspace_id", "status", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("rev"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    profile_id: Mapped[str] = mapped_column(String(40))
    candidate_profile_id: Mapped[str] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)  # match weight (log2 Bayes factor)
    probability: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[ReviewStatus] = mapped_column(
        StrEnumColumn(ReviewStatus), default=ReviewStatus.OPEN
    )
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MatchRecord(Base):
    """The fields a profile is matched on, with blocking keys the database can index."""

    __tablename__ = "identity_match_record"
    __table_args__ = (
        Index("ix_match_record_name", "workspace_id", "key_name"),
        Index("ix_match_record_postcode", "workspace_id", "key_postcode"),
        Index("ix_match_record_email", "workspace_id", "key_email"),
        Index("ix_match_record_phone", "workspace_id", "key_phone"),
    )

    profile_id: Mapped[str] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    fields: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    key_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    key_postcode: Mapped[str | None] = mapped_column(String(80), nullable=True)
    key_email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    key_phone: Mapped[str | None] = mapped_column(String(80), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdentityConfig(Base):
    """A workspace's identity rules, its erasure salt and its trained match model."""

    __tablename__ = "identity_config"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_values: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    # Domains of relay addresses besides ``identifiers.RELAY_DOMAINS`` (a marketplace's own).
    relay_domains: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    limits: Mapped[dict[str, int]] = mapped_column(JSONDocument, default=dict)
    priorities: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    salt: Mapped[str] = mapped_column(String(64))
    merge_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    review_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Distinct user ids an anonymous or device id may sign in as before it is shared.
    shared_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    match_model: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument, nullable=True)
    trained_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentStatus(enum.StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


class Consent(Base):
    """A person's yes or no for one purpose on one channel, with when, where and the wording.

    Attached to the identifier it was given for (the email for email, the phone for SMS), so it
    follows that identifier through merges and unmerges. Rows are appended; the newest per
    identifier, purpose and channel is the answer.
    """

    __tablename__ = "consent"
    __table_args__ = (
        Index("ix_consent_identifier", "identifier_id", "purpose", "channel", "recorded_at"),
        Index("ix_consent_workspace", "workspace_id", "id"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("cns"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    identifier_id: Mapped[str] = mapped_column(ForeignKey("identifier.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(60))  # marketing | analytics | personalisation
    channel: Mapped[str] = mapped_column(String(80))  # email | sms | push | web | all
    status: Mapped[ConsentStatus] = mapped_column(StrEnumColumn(ConsentStatus))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the person said it
    source: Mapped[str] = mapped_column(String(300))  # where: a form URL, a store, an import
    wording: Mapped[str] = mapped_column(String(2000), default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Suppression(Base):
    """A salted hash of an erased identifier: the person is never re-created by a replay."""

    __tablename__ = "identity_suppression"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erasure_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ErasureMode(enum.StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"  # keep counts and revenue, drop who


class Erasure(Base):
    """A record that a profile was erased; holds no personal data."""

    __tablename__ = "identity_erasure"
    __table_args__ = (Index("ix_identity_erasure_workspace", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("era"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    profile_id: Mapped[str] = mapped_column(String(40))
    mode: Mapped[ErasureMode] = mapped_column(StrEnumColumn(ErasureMode))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
