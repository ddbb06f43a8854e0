"""Errors of the workspace domain."""

from __future__ import annotations

from tessera.kit.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Problem,
    Unauthenticated,
)


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


class MemberNotFound(NotFound):
    slug = "member-not-found"
    title = "No such member in this workspace"


class AlreadyMember(Conflict):
    slug = "already-member"
    title = "This person is already a member of this workspace"


class InvitationNotFound(NotFound):
    slug = "invitation-not-found"
    title = "No such invitation"


class ResetLinkNotFound(NotFound):
    slug = "reset-link-not-found"
    title = "No such password reset link"


class LinkGone(Problem):
    """A one-time link (an invitation or a password reset) that can no longer be used."""

    status = 410
    slug = "link-gone"
    title = "This link can no longer be used"


class LinkExpired(LinkGone):
    slug = "link-expired"
    title = "This link has expired"


class LinkUsed(LinkGone):
    slug = "link-used"
    title = "This link has already been used"


class LinkRevoked(LinkGone):
    slug = "link-revoked"
    title = "This link was revoked"


class InvitationForAnotherEmail(Forbidden):
    slug = "invitation-for-another-email"
    title = "This invitation is addressed to another email"


class AccountExists(Conflict):
    slug = "account-exists"
    title = "An account with this email exists: sign in to accept"


class LastOwner(InvalidInput):
    slug = "last-owner"
    title = "A workspace keeps at least one owner"


class SharedLogin(Conflict):
    slug = "shared-login"
    title = "This sign-in is shared with other workspaces"
