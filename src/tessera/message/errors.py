"""Errors of the message domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, Forbidden, InvalidInput, NotFound


class TemplateNotFound(NotFound):
    slug = "template-not-found"
    title = "No such template in this workspace"


class DuplicateTemplate(Conflict):
    slug = "duplicate-template"
    title = "The workspace already has a template of that name"


class TemplateDoesNotRender(InvalidInput):
    """Carries ``field`` (subject or body) and ``line`` so an editor can point at the fault."""

    slug = "template-does-not-render"
    title = "The template does not render"


class MessageNotFound(NotFound):
    slug = "message-not-found"
    title = "No such message in this workspace"


class MessageKeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "The idempotency key belongs to another message"


class LinkNotFound(NotFound):
    """A tracked or unsubscribe link whose signature does not hold, or whose message is gone:
    "not found", so a forged link learns nothing."""

    slug = "link-not-found"
    title = "This link is not valid"


class BadSignature(Forbidden):
    slug = "bad-signature"
    title = "The webhook's signature does not match"
