"""API shapes of the workspace domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.workspace import ApiKeyKind, Role


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    slug: str
    name: str
    default_region: str
    time_zone: str = Field(description="IANA zone the dashboard shows times in")
    currency: str = Field(description="ISO 4217 code of the dashboard's totals")
    created_at: datetime


class WorkspaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, max_length=64, examples=["Europe/Stockholm"])
    currency: str | None = Field(default=None, min_length=3, max_length=3, examples=["SEK"])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: ApiKeyKind = ApiKeyKind.SECRET
    role: Role | None = Field(default=None, description="Required for secret keys")


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: ApiKeyKind
    role: Role | None
    token_prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(description="Shown once; store it now")


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    actor: str = Field(description="A user id, an API key id, `cli` or `system`")
    action: str
    subject: str
    details: dict[str, Any]
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class MemberRoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, description="A member of this workspace")
    role: Role


class MemberOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    role: Role = Role.VIEWER


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime


class InvitationCreated(InvitationOut):
    token: str = Field(description="Shown once: the invitation link's token")
    url: str = Field(description="The link to hand to the person; shown once")


class PasswordResetCreated(BaseModel):
    user_id: str
    email: str
    expires_at: datetime
    token: str = Field(description="Shown once: the reset link's token")
    url: str = Field(description="The one-time link to hand to the member; shown once")
