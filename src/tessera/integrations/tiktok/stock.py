"""TikTok Shop Partner API 202309: update one SKU's stock in one warehouse.

``POST /product/202309/products/{product_id}/inventory/update`` with
``{"skus": [{"id": sku_id, "inventory": [{"warehouse_id": ..., "quantity": n}]}]}``. Common
query parameters: ``app_key``, ``timestamp`` (seconds), ``shop_cipher`` and ``sign``; the
access token goes in the ``x-tts-access-token`` header. The answer is always the envelope
``{"code": 0, "message": "Success", "request_id": ..., "data": {...}}``; a non-zero ``code``
is a refusal, HTTP 429 the rate limit.

The signature: HMAC-SHA256 keyed with the app secret over ``secret + path + the sorted query
parameters as key+value (without sign and access_token) + body + secret``, in lowercase hex.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from tessera.integrations.stock_push import (
    DEFAULT_TIMEOUT,
    PushReceipt,
    Rejected,
    Unavailable,
    raise_for_http,
    send,
)

UNSIGNED_PARAMETERS = frozenset({"sign", "access_token"})


def sign(secret: str, path: str, params: Mapping[str, str], body: bytes) -> str:
    """The ``sign`` query parameter of a request to ``path`` with ``params`` and ``body``."""
    pairs = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in UNSIGNED_PARAMETERS)
    message = f"{secret}{path}{pairs}".encode() + body + secret.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def inventory_update_body(sku_id: str, warehouse_id: str, quantity: int) -> dict[str, Any]:
    """The request body that sets one SKU's quantity in one warehouse."""
    return {
        "skus": [
            {"id": sku_id, "inventory": [{"warehouse_id": warehouse_id, "quantity": quantity}]}
        ]
    }


class TikTokStockClient:
    """A small client for one shop (``shop_cipher``) of one app (``app_key``)."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        access_token: str,
        shop_cipher: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.shop_cipher = shop_cipher
        self.clock = clock
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"x-tts-access-token": access_token, "Content-Type": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TikTokStockClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def update_inventory(
        self, product_id: str, sku_id: str, warehouse_id: str, quantity: int
    ) -> PushReceipt:
        """Set ``sku_id``'s quantity in ``warehouse_id``.

        Raises RateLimited on 429, Unavailable on 5xx and transport failures, Rejected on
        another 4xx or a non-zero ``code``.
        """
        path = f"/product/202309/products/{product_id}/inventory/update"
        body = json.dumps(
            inventory_update_body(sku_id, warehouse_id, quantity), separators=(",", ":")
        ).encode()
        params = {
            "app_key": self.app_key,
            "shop_cipher": self.shop_cipher,
            "timestamp": str(int(self.clock())),
        }
        params["sign"] = sign(self.app_secret, path, params, body)
        request = self._client.build_request(
            "POST", self.base_url + path, params=params, content=body
        )
        response = send(self._client, request)
        raise_for_http(response, "TikTok Shop")
        try:
            envelope: dict[str, Any] = response.json()
        except ValueError:
            raise Unavailable("TikTok Shop answered with something that is not JSON") from None
        if envelope.get("code") != 0:
            raise Rejected(
                f"TikTok Shop refused the update (code {envelope.get('code')}): "
                f"{envelope.get('message')}",
                response.status_code,
            )
        return PushReceipt(reference=envelope.get("request_id"))
