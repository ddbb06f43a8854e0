"""Errors of the journey domain; a definition's own faults are ``definition.DefinitionError``."""

from __future__ import annotations

from tessera.kit.errors import Conflict, NotFound


class JourneyNotFound(NotFound):
    slug = "journey-not-found"
    title = "No such journey in this workspace"


class JourneyVersionNotFound(NotFound):
    slug = "journey-version-not-found"
    title = "The journey has no such version"


class JourneyStateConflict(Conflict):
    slug = "journey-state-conflict"
    title = "The journey's status does not allow this"


class ShippedJourneyNotFound(NotFound):
    slug = "shipped-journey-not-found"
    title = "No such shipped journey"
