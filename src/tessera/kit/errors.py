"""Errors that know how to describe themselves as RFC 9457 problem details.

Every error a user can cause is a ``Problem`` subclass with a stable ``type`` slug; the API turns
it into ``application/problem+json`` and the CLI prints its ``detail`` on one line.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://tessera.dev/problems/"


class Problem(Exception):
    """An error a caller caused; carries an HTTP status and a stable type slug."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, **extensions: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body


class InvalidInput(Problem):
    status = 422
    slug = "invalid-input"
    title = "The input is not valid"


class Unauthenticated(Problem):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(Problem):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    slug = "conflict"
    title = "Conflict"
