"""What every channel's stock client answers: a receipt, or one of four kinds of refusal.

The feed service decides what each means (wait for ``retry_after``, back off, give up, re-read
and compare again); the clients only sort a vendor's answer into one of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True, slots=True)
class PushReceipt:
    """A channel took the quantity; ``reference`` is its id for the change, when it gives one."""

    reference: str | None = None


class PushFailed(Exception):
    """The channel did not take the quantity. ``status`` is the HTTP status, when there was one."""

    retryable = True

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(PushFailed):
    """429 or the vendor's throttle answer; ``retry_after`` in seconds when the vendor said."""

    def __init__(self, message: str, retry_after: float | None, status: int | None = 429) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class Unavailable(PushFailed):
    """A 5xx, a timeout or a broken connection: worth trying again later."""


class Rejected(PushFailed):
    """The vendor refused the request itself (bad credentials, unknown item, invalid value):
    sending it again unchanged will not help."""

    retryable = False


class QuantityStale(PushFailed):
    """Compare-and-set failed: the channel's quantity is not the one we last set."""


def retry_after_seconds(headers: httpx.Headers, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number (``2.0``) or an HTTP date; None when absent or odd."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


def send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """Send ``request``; a transport failure (refused, reset, timeout) becomes ``Unavailable``."""
    try:
        return client.send(request)
    except httpx.TimeoutException as exc:
        raise Unavailable(f"timed out: {exc}") from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"connection failed: {exc}") from exc


def raise_for_http(response: httpx.Response, vendor: str) -> None:
    """Sort a non-2xx answer into RateLimited, Unavailable or Rejected."""
    status = response.status_code
    if status < 300:
        return
    text = response.text[:300]
    if status == 429:
        raise RateLimited(
            f"{vendor} rate limit (429): {text}", retry_after_seconds(response.headers)
        )
    if status >= 500 or status == 408:
        raise Unavailable(f"{vendor} answered {status}: {text}", status)
    raise Rejected(f"{vendor} refused the request ({status}): {text}", status)
