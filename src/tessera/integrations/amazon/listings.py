"""Amazon SP-API Listings Items 2021-08-01: set a merchant-fulfilled offer's quantity.

``PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=...`` with a JSON Patch
``merge`` on ``/attributes/fulfillment_availability``: the selector
``fulfillment_channel_code`` (``DEFAULT`` for merchant-fulfilled) and the ``quantity``; other
fields of the attribute (``lead_time_to_ship_max_days``, ``restock_date``) stay as they are. The
old XML and flat-file inventory feeds stopped working on 2025-07-31.

The answer is 200 with ``status`` ``ACCEPTED`` (or ``INVALID`` with ``issues``). Throttling is
429, with ``x-amzn-RateLimit-Limit`` (requests per second) and sometimes ``Retry-After``. FBA
offers are Amazon's stock and are never patched (the feed service skips them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from tessera.integrations.stock_push import (
    DEFAULT_TIMEOUT,
    PushReceipt,
    RateLimited,
    Rejected,
    raise_for_http,
    retry_after_seconds,
    send,
)

MERCHANT_FULFILLED = "DEFAULT"
PRODUCT_TYPE = "PRODUCT"


def quantity_patch(quantity: int, channel_code: str = MERCHANT_FULFILLED) -> dict[str, Any]:
    """The ``ListingsItemPatchRequest`` body that sets one offer's quantity."""
    return {
        "productType": PRODUCT_TYPE,
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": channel_code, "quantity": quantity}],
            }
        ],
    }


class AmazonListingsClient:
    """A small client for one seller; ``endpoint`` is the region's SP-API host."""

    def __init__(
        self,
        endpoint: str,
        access_token: str,
        seller_id: str,
        marketplace_ids: Sequence[str],
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not marketplace_ids:
            raise ValueError("at least one marketplace id is needed")
        self.endpoint = endpoint.rstrip("/")
        self.seller_id = seller_id
        self.marketplace_ids = list(marketplace_ids)
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"x-amz-access-token": access_token, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AmazonListingsClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def set_quantity(self, seller_sku: str, quantity: int) -> PushReceipt:
        """Patch the merchant-fulfilled quantity of ``seller_sku``.

        Raises RateLimited on 429, Unavailable on 5xx and transport failures, Rejected when
        Amazon refuses the request or answers ``INVALID``.
        """
        path = (
            f"/listings/2021-08-01/items/{quote(self.seller_id, safe='')}/"
            f"{quote(seller_sku, safe='')}"
        )
        request = self._client.build_request(
            "PATCH",
            self.endpoint + path,
            params={"marketplaceIds": ",".join(self.marketplace_ids), "issueLocale": "en_US"},
            json=quantity_patch(quantity),
        )
        response = send(self._client, request)
        if response.status_code == 429:
            raise RateLimited(
                "Amazon rate limit (429), limit "
                f"{response.headers.get('x-amzn-RateLimit-Limit', 'unknown')} requests/s",
                retry_after_seconds(response.headers),
            )
        if 400 <= response.status_code < 500 and response.status_code != 408:
            raise Rejected(
                f"Amazon refused the patch ({response.status_code}): {_errors(response)}",
                response.status_code,
            )
        raise_for_http(response, "Amazon")
        body: dict[str, Any] = response.json()
        if body.get("status") != "ACCEPTED":
            issues = "; ".join(
                f"{issue.get('code')}: {issue.get('message')}" for issue in body.get("issues", [])
            )
            raise Rejected(f"Amazon answered {body.get('status')}: {issues}", 200)
        return PushReceipt(reference=body.get("submissionId"))


def _errors(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors", [])
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or response.text
    except ValueError:
        return response.text[:300]
