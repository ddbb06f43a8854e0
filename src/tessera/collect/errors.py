"""Errors of Collect. Each names the limit or field at fault."""

from __future__ import annotations

from tessera.kit.errors import InvalidInput, NotFound, Problem, Unauthenticated


class InvalidWriteKey(Unauthenticated):
    slug = "invalid-write-key"
    title = "The write key is missing, unknown or revoked"


class PayloadTooLarge(Problem):
    status = 400
    slug = "payload-too-large"
    title = "The payload is over a size limit"


class MalformedPayload(Problem):
    status = 400
    slug = "malformed-payload"
    title = "The body is not valid JSON of the expected shape"


class Overloaded(Problem):
    status = 429
    slug = "overloaded"
    title = "Too many requests in flight; retry after the given seconds"


class QuarantineEntryNotFound(NotFound):
    slug = "quarantine-entry-not-found"
    title = "No such quarantine entry in this workspace"


class QuarantineEntryResolved(InvalidInput):
    status = 409
    slug = "quarantine-entry-resolved"
    title = "The quarantine entry was already replayed or discarded"


class UnknownChannel(InvalidInput):
    slug = "unknown-channel"
    title = "No such channel"
