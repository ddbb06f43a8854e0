"""Errors of the connectors. Each names the field (or header) at fault."""

from __future__ import annotations

from tessera.kit.errors import Conflict, InvalidInput, NotFound, Unauthenticated


class InvalidRecord(InvalidInput):
    """One order, row or line that cannot be taken; ``row`` says which row of a group."""

    slug = "invalid-record"
    title = "A record is not valid"


class UnknownSource(NotFound):
    slug = "unknown-source"
    title = "No such connector source"


class InvalidWebhookSignature(Unauthenticated):
    slug = "invalid-webhook-signature"
    title = "The webhook signature is missing or does not match the shop's secret"


class UnsupportedTopic(InvalidInput):
    slug = "unsupported-topic"
    title = "This webhook topic is not handled"


class UnreadableFile(InvalidInput):
    slug = "unreadable-file"
    title = "The file cannot be read as the format it claims"


class ImportInProgress(Conflict):
    slug = "import-in-progress"
    title = "Another import of this file is running"
