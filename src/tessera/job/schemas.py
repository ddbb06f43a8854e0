"""API shapes of the job domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tessera.models.job import JobStatus


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    workspace_id: str | None
    kind: str
    status: JobStatus
    payload: dict[str, Any]
    priority: int = Field(description="Lower runs first")
    run_at: datetime = Field(description="When it is (or was) due; a retry's backoff moves it")
    attempts: int = Field(description="Attempts started so far")
    max_attempts: int = Field(description="After this many failed attempts the job is dead")
    idempotency_key: str | None
    last_error: str | None = Field(description="Type, message and traceback of the last failure")
    created_at: datetime
    started_at: datetime | None = Field(description="When the latest attempt started")
    finished_at: datetime | None


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None
