"""Errors of the rights domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, NotFound


class LicenseNotFound(NotFound):
    slug = "license-not-found"
    title = "No such license in this workspace"


class AuthorisationNotFound(NotFound):
    slug = "authorisation-not-found"
    title = "No such platform authorisation in this workspace"


class UseRefused(Conflict):
    """A use the asset's rights do not allow (409): ``reason`` says which term stops it."""

    slug = "use-not-licensed"
    title = "The asset's rights do not allow this use"
