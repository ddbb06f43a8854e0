"""Errors of the dashboard. Like every Problem they carry a status; the dashboard's route class
renders them as HTML pages (or, for HTMX requests, as an inline alert) instead of JSON."""

from __future__ import annotations

from tessera.kit.errors import Forbidden, Unauthenticated


class LoginRequired(Unauthenticated):
    """Nobody is signed in; the dashboard answers with a redirect to the login page."""

    slug = "login-required"
    title = "Please sign in"


class CsrfRefused(Forbidden):
    slug = "csrf-refused"
    title = "This form has expired"


class NotAMember(Forbidden):
    slug = "not-a-member"
    title = "You are not a member of that workspace"


class NoWorkspace(Forbidden):
    """A signed-in user who belongs to no workspace yet; rendered as its own page."""

    slug = "no-workspace"
    title = "You are not in any workspace yet"
