"""Every ORM table, one module per aggregate, all on one metadata for Alembic."""

from tessera.db.base import Base
from tessera.models.collect import (
    Channel,
    ChannelKind,
    Event,
    ImportRun,
    QuarantineEntry,
    QuarantineStatus,
    Source,
    SourceKind,
    WebhookReceipt,
)
from tessera.models.job import Job, JobStatus, PeriodicRun
from tessera.models.order import Order, OrderLine, OrderRefund, OrderStatus
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
    "Channel",
    "ChannelKind",
    "Event",
    "ImportRun",
    "Job",
    "JobStatus",
    "Membership",
    "Order",
    "OrderLine",
    "OrderRefund",
    "OrderStatus",
    "PeriodicRun",
    "QuarantineEntry",
    "QuarantineStatus",
    "Role",
    "Source",
    "SourceKind",
    "User",
    "WebhookReceipt",
    "Workspace",
]
