"""A client of Meta's Marketing API custom audiences: add hashed people to an audience.

``POST {base}/{version}/{audience_id}/users`` with a JSON body
``{"payload": {"schema": ["EMAIL_SHA256", "PHONE_SHA256"], "data": [[email, phone], ...]}}``
and the access token as a bearer token; at most 10,000 rows per call, so a longer list is sent
in batches. The answer counts what Meta received and what it found invalid. A 4xx is
``AudienceRejected`` (sending it again unchanged will not help), a timeout, 429 or 5xx
``AudienceUnavailable``. No business rules: the rows come hashed and normalised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

SCHEMA = ["EMAIL_SHA256", "PHONE_SHA256"]
BATCH = 10_000


class AudienceError(Exception):
    retryable = True

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AudienceRejected(AudienceError):
    retryable = False


class AudienceUnavailable(AudienceError):
    retryable = True


@dataclass(frozen=True, slots=True)
class UploadReceipt:
    batches: int
    received: int
    invalid: int


def batches(rows: Sequence[Sequence[str]], size: int = BATCH) -> list[Sequence[Sequence[str]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


class MetaAudiences:
    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        version: str = "v19.0",
        client: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.access_token = access_token
        self.client = client or httpx.Client(timeout=timeout)

    def add_users(self, audience_id: str, rows: Sequence[Sequence[str]]) -> UploadReceipt:
        """Send ``[email_sha256, phone_sha256]`` rows (an empty string where one is unknown)
        in batches of at most 10,000; stops at the first batch refused."""
        received = invalid = 0
        sent = batches(rows)
        for batch in sent:
            body = {"payload": {"schema": SCHEMA, "data": [list(row) for row in batch]}}
            try:
                response = self.client.post(
                    f"{self.base_url}/{self.version}/{audience_id}/users",
                    json=body,
                    headers={"Authorization": f"Bearer {self.access_token}"},
                )
            except httpx.HTTPError as exc:
                raise AudienceUnavailable(f"Meta could not be reached: {exc}") from exc
            if response.status_code == 429 or response.status_code >= 500:
                raise AudienceUnavailable(
                    f"Meta answered {response.status_code}", status=response.status_code
                )
            if response.status_code >= 400:
                raise AudienceRejected(_error(response), status=response.status_code)
            answer = response.json()
            received += int(answer.get("num_received", 0))
            invalid += int(answer.get("num_invalid_entries", 0))
        return UploadReceipt(len(sent), received, invalid)


def _error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"Meta refused the upload: {error.get('message', response.text)}"
    except ValueError:
        return f"Meta refused the upload: {response.status_code}"
