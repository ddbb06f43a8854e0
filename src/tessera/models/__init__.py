"""Every ORM table, one module per aggregate, all on one metadata for Alembic."""

from tessera.db.base import Base
from tessera.models.job import Job, JobStatus, PeriodicRun
from tessera.models.workspace import (
    ApiKey,
    ApiKeyKind,
    AuditEntry,
    Membership,
    Role,
    User,
    Workspace,
)

__all__ = [
    "ApiKey",
    "ApiKeyKind",
    "AuditEntry",
    "Base",
    "Job",
    "JobStatus",
    "Membership",
    "PeriodicRun",
    "Role",
    "User",
    "Workspace",
]
