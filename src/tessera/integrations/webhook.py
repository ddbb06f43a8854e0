"""A JSON POST to a URL a brand chose (a journey's webhook step), with an idempotency key.

The same ``Idempotency-Key`` header goes with every attempt of one call, so a receiver that
honours it (Stripe's convention) acts once however often a worker retries. No business rules:
the caller decides what an answer means.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

import tessera

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = f"Tessera/{tessera.__version__} (journey webhook)"


@dataclass(frozen=True)
class WebhookAnswer:
    status: int


class WebhookUnreachable(Exception):
    """No HTTP answer: the connection failed or timed out."""


def post_json(
    url: str,
    body: dict[str, Any],
    idempotency_key: str,
    *,
    timeout: httpx.Timeout = TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> WebhookAnswer:
    """POST ``body`` as JSON to ``url``; the status it answered, or ``WebhookUnreachable``.
    Redirects are not followed: a webhook answers where it was registered."""
    headers = {"Idempotency-Key": idempotency_key, "User-Agent": USER_AGENT}
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
            response = client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise WebhookUnreachable(f"{type(exc).__name__}: {exc}") from exc
    return WebhookAnswer(response.status_code)
