"""Errors of the workspace domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


class InvalidApiKey(Unauthenticated):
    slug = "invalid-api-key"
    title = "The API key is missing, unknown or revoked"


class InvalidLogin(Unauthenticated):
    slug = "invalid-login"
    title = "Email or password is wrong"


class RoleTooLow(Forbidden):
    slug = "role-too-low"
    title = "Your role does not allow this"


class WorkspaceSlugTaken(Conflict):
    slug = "workspace-slug-taken"
    title = "A workspace with this slug exists"


class ApiKeyNotFound(NotFound):
    slug = "api-key-not-found"
    title = "No such API key in this workspace"


class WeakPassword(InvalidInput):
    slug = "weak-password"
    title = "The password is too short"


class WorkspaceNotFound(NotFound):
    slug = "workspace-not-found"
    title = "No such workspace"
