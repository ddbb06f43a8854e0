"""Shopify webhook signatures: base64 HMAC-SHA256 of the raw body with the app's secret.

The signature covers the bytes as sent, so it is checked before the body is parsed, and
compared in constant time so a forger learns nothing from how long a wrong guess took.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TOPIC_HEADER = "x-shopify-topic"
HMAC_HEADER = "x-shopify-hmac-sha256"
SHOP_HEADER = "x-shopify-shop-domain"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"
API_VERSION_HEADER = "x-shopify-api-version"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value Shopify sends for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def is_authentic(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is the shop's signature of exactly these bytes."""
    if not signature or not secret:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().encode())
