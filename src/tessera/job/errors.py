"""Errors of the job domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, NotFound


class JobNotFound(NotFound):
    slug = "job-not-found"
    title = "No such job in this workspace"


class JobNotRetryable(Conflict):
    slug = "job-not-retryable"
    title = "Only dead or cancelled jobs can be retried"


class JobNotCancellable(Conflict):
    slug = "job-not-cancellable"
    title = "Only queued jobs can be cancelled"


class IdempotencyKeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "The idempotency key belongs to a job of another kind"
