"""Errors of segments and audiences; a rule's own faults are ``rules.InvalidRule``."""

from __future__ import annotations

from tessera.kit.errors import Conflict, NotFound


class SegmentNotFound(NotFound):
    slug = "segment-not-found"
    title = "No such segment in this workspace"


class AudienceNotFound(NotFound):
    slug = "audience-not-found"
    title = "No such audience in this workspace"


class NameTaken(Conflict):
    slug = "name-taken"
    title = "The name is already used in this workspace"
