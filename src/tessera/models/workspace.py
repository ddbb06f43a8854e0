"""Workspaces (one per brand), users, memberships with roles, invitations and password resets,
API keys, the audit log and the counters that throttle dashboard sign-in attempts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tessera.db.base import Base
from tessera.db.types import JSONDocument, PrefixedId, StrEnumColumn, UTCDateTime
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow


class Role(enum.StrEnum):
    """What a member or a secret key may do, from most to least power."""

    OWNER = "owner"
    ADMIN = "admin"
    MARKETER = "marketer"
    ANALYST = "analyst"
    VIEWER = "viewer"


class ApiKeyKind(enum.StrEnum):
    PUBLIC = "public"  # write key: event collection only, safe to embed in a web page
    SECRET = "secret"  # noqa: S105 - a kind, not a password. Management API, limited by its role


class Workspace(Base):
    __tablename__ = "workspace"

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("ws"))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    # IANA zone and ISO 4217 code the dashboard shows times and totals in; storage stays UTC.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("usr"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The workspace the user last signed in to or switched to, where the next sign-in lands.
    # No foreign key: a deleted workspace or a lost membership just means landing elsewhere.
    last_workspace_id: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("mem"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(StrEnumColumn(Role))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(Base):
    """An invitation to join a workspace with a role, addressed to an email.

    Only the SHA-256 of its link's token is kept (like an API key's, ADR 0004). It is pending
    until accepted, revoked or expired; a workspace holds at most one open (neither accepted nor
    revoked) invitation per email, which the partial unique index enforces.
    """

    __tablename__ = "invitation"
    __table_args__ = (
        Index(
            "uq_invitation_open_email",
            "workspace_id",
            "email",
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
            sqlite_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
        Index("ix_invitation_email", "email"),
    )

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("inv"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(StrEnumColumn(Role))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_by: Mapped[str | None] = mapped_column(PrefixedId, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PasswordReset(Base):
    """A one-time link, issued by an admin of a workspace, that sets a member's password.

    Only the SHA-256 of the token is kept. Used once, then ``used_at`` is set; issuing a new one
    for the same user, or removing the user from the workspace, revokes the open ones.
    """

    __tablename__ = "password_reset"

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("pwr"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKey(Base):
    """An API key. Only a SHA-256 of the token is kept; the token is shown once at creation."""

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_workspace_created", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("key"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    kind: Mapped[ApiKeyKind] = mapped_column(StrEnumColumn(ApiKeyKind))
    role: Mapped[Role | None] = mapped_column(StrEnumColumn(Role), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    token_prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class AuditEntry(Base):
    """Who did what to which thing, in which workspace. Append-only."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_workspace_id", "workspace_id", "id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("aud"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginAttempt(Base):
    """Recent sign-in attempts against one key: an account (``account:`` and the SHA-256 of the
    normalised email) or a client address (``address:`` and the IP, an IPv6 address's /64).

    One row per key, a fixed window from the first attempt counted in it; ``attempt_count`` is
    the attempts counted in that window (an attempt that signs in takes its own back). It is
    ``blocked_until``, set when the count reaches the limit, that refuses attempts. Rows
    whose window and block are both over are pruned (ADR 0016).
    """

    __tablename__ = "login_attempt"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempt_count: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
