"""Workspaces (one per brand), users, memberships with roles, API keys, the audit log and the
counters that throttle dashboard sign-in attempts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("usr"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[str] = mapped_column(PrefixedId, primary_key=True, default=lambda: new_id("mem"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(StrEnumColumn(Role))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
