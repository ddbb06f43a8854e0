"""The signature a Twilio-style provider puts on its webhooks (``X-Twilio-Signature``).

The provider takes the full URL it called (scheme, host, path and query), appends each POST
parameter's name and value sorted by name, signs that with HMAC-SHA1 keyed by the account's
auth token, and sends the Base64 of the digest. Checking it proves the request came from the
holder of the token and that neither the URL nor a parameter was changed on the way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Twilio-Signature"


def sign(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature of a POST to ``url`` with form ``params`` (repeated names allowed)."""
    text = url + "".join(name + value for name, value in sorted(params, key=lambda p: p[0]))
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def is_valid(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """Whether ``signature`` is the one ``sign`` makes; compared in constant time."""
    if not signature or not auth_token:
        return False
    return hmac.compare_digest(sign(auth_token, url, params), signature)
