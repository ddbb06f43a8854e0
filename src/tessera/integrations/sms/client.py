"""A client of a Twilio-style SMS API: send a message, and look one up by idempotency key.

Sending is ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``, form-encoded (``To``,
``From``, ``Body``, ``StatusCallback``), authenticated with HTTP Basic (account sid and auth
token), and carries an ``Idempotency-Key`` header. The answer is the message resource
(``sid``, ``status``, ``num_segments``) or an error with a numeric code: 21211 (not a valid
phone number), 21610 (the recipient texted STOP to this sender), 21408 (region not enabled)...

``find`` asks for the messages sent under an idempotency key
(``GET .../Messages.json?IdempotencyKey=...``): a provider that keeps its keys can say whether a
send whose answer was lost went out, so the caller never sends it blind a second time.

Every answer is sorted into a receipt, ``SmsRejected`` (the provider refused this message:
sending it again unchanged will not help) or ``SmsUnavailable`` (a timeout, a broken
connection, a 429 or a 5xx: worth trying again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Provider error codes the caller acts on.
INVALID_NUMBER = 21211
UNSUBSCRIBED_RECIPIENT = 21610
NOT_A_MOBILE = 21614


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """The provider took the message: its id, status and, when it says, segment count."""

    sid: str
    status: str
    segments: int | None = None


class SmsError(Exception):
    """The provider did not take the message."""

    retryable = True

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class SmsRejected(SmsError):
    """The provider refused this message (a 4xx with an error code)."""

    retryable = False


class SmsUnavailable(SmsError):
    """A timeout, a broken connection, a 429 or a 5xx: try again later."""


class SmsClient:
    """One account's client; ``transport`` lets a test route requests elsewhere."""

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not account_sid or not auth_token:
            raise SmsRejected("the SMS account sid and auth token are not configured")
        self.account_sid = account_sid
        self._messages = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=(account_sid, auth_token),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SmsClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def send(
        self,
        *,
        to: str,
        sender: str,
        body: str,
        idempotency_key: str,
        status_callback: str | None = None,
    ) -> SmsReceipt:
        """Send ``body`` to ``to`` from ``sender`` (a number or a messaging service sid)."""
        form = {"To": to, "Body": body}
        form["MessagingServiceSid" if sender.startswith("MG") else "From"] = sender
        if status_callback:
            form["StatusCallback"] = status_callback
        response = self._call(
            "POST", self._messages, data=form, headers={IDEMPOTENCY_HEADER: idempotency_key}
        )
        return _receipt(_json(response))

    def find(self, idempotency_key: str) -> SmsReceipt | None:
        """The message the provider holds under ``idempotency_key``, or None if it sent none."""
        response = self._call("GET", self._messages, params={"IdempotencyKey": idempotency_key})
        messages = _json(response).get("messages")
        if not isinstance(messages, list) or not messages:
            return None
        return _receipt(messages[0])

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise SmsUnavailable(f"the SMS provider timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise SmsUnavailable(f"the SMS provider could not be reached: {exc}") from exc
        status = response.status_code
        if status < 300:
            return response
        body = _json(response, strict=False)
        code = body.get("code") if isinstance(body.get("code"), int) else None
        text = str(body.get("message") or response.text[:300])
        if status == 429 or status >= 500 or status == 408:
            raise SmsUnavailable(f"the SMS provider answered {status}: {text}", status=status)
        raise SmsRejected(f"{text} (error {code})" if code else text, code=code, status=status)


def _json(response: httpx.Response, *, strict: bool = True) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        if strict:
            raise SmsUnavailable(
                f"the SMS provider answered {response.status_code} without JSON",
                status=response.status_code,
            ) from None
        return {}
    return body if isinstance(body, dict) else {}


def _receipt(resource: Any) -> SmsReceipt:
    if not isinstance(resource, dict) or not isinstance(resource.get("sid"), str):
        raise SmsUnavailable("the SMS provider's answer names no message sid")
    segments = resource.get("num_segments")
    try:
        count = int(segments) if segments is not None else None
    except (TypeError, ValueError):
        count = None
    return SmsReceipt(sid=resource["sid"], status=str(resource.get("status") or ""), segments=count)
