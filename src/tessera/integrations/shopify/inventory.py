"""Shopify Admin GraphQL: set a location's ``available`` quantity with compare-and-set.

``inventorySetQuantities`` (API 2026-10) takes absolute quantities, each with the
``changeFromQuantity`` the caller believes Shopify holds; when Shopify holds something else (it
decremented for its own order, or a person edited the count) it answers the user error
``CHANGE_FROM_QUANTITY_STALE`` and changes nothing. Since 2026-04 the mutation also needs an
idempotency key, given with the ``@idempotent`` directive, so a retried request is applied once.

Throttling: GraphQL answers 200 with ``errors[].extensions.code == "THROTTLED"`` and the cost
bucket in ``extensions.cost.throttleStatus``; REST-style 429s carry ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

import httpx

from tessera.integrations.stock_push import (
    DEFAULT_TIMEOUT,
    PushReceipt,
    QuantityStale,
    RateLimited,
    Rejected,
    Unavailable,
    raise_for_http,
    send,
)

API_VERSION = "2026-10"

SET_QUANTITIES = """
mutation SetAvailable($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id createdAt reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
""".strip()

READ_AVAILABLE = """
query Available($inventoryItemId: ID!, $locationId: ID!) {
  inventoryItem(id: $inventoryItemId) {
    inventoryLevel(locationId: $locationId) { quantities(names: ["available"]) { name quantity } }
  }
}
""".strip()

STALE_CODES = frozenset({"CHANGE_FROM_QUANTITY_STALE", "COMPARE_QUANTITY_STALE"})
RETRYABLE_CODES = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST"})


def gid(kind: str, value: str) -> str:
    """A Shopify global id, ``gid://shopify/InventoryItem/123`` from ``123``; kept if one."""
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


def set_quantities_input(
    inventory_item_id: str,
    location_id: str,
    quantity: int,
    change_from: int | None,
    reference_uri: str | None = None,
) -> dict[str, Any]:
    """The ``InventorySetQuantitiesInput`` for one item at one location.

    ``change_from`` None sends an explicit null: no compare (the first push, when we have never
    set the quantity and do not know what Shopify holds).
    """
    body: dict[str, Any] = {
        "name": "available",
        "reason": "correction",
        "quantities": [
            {
                "inventoryItemId": gid("InventoryItem", inventory_item_id),
                "locationId": gid("Location", location_id),
                "quantity": quantity,
                "changeFromQuantity": change_from,
            }
        ],
    }
    if reference_uri:
        body["referenceDocumentUri"] = reference_uri
    return body


class ShopifyInventoryClient:
    """A small client for one shop; ``shop_url`` is ``https://<shop>.myshopify.com``."""

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = f"{shop_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            headers={"X-Shopify-Access-Token": access_token, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ShopifyInventoryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        request = self._client.build_request(
            "POST", self.url, json={"query": query, "variables": variables}
        )
        response = send(self._client, request)
        raise_for_http(response, "Shopify")
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise Unavailable("Shopify answered with something that is not JSON", 200) from None
        errors = body.get("errors") or []
        if errors:
            throttled = [
                e for e in errors if (e.get("extensions") or {}).get("code") == "THROTTLED"
            ]
            if throttled:
                raise RateLimited("Shopify throttled the query", _throttle_wait(body), 200)
            messages = "; ".join(str(e.get("message", e)) for e in errors)
            raise Rejected(f"Shopify GraphQL errors: {messages}", 200)
        data: dict[str, Any] = body.get("data") or {}
        return data

    def set_available(
        self,
        inventory_item_id: str,
        location_id: str,
        quantity: int,
        change_from: int | None,
        idempotency_key: str,
        reference_uri: str | None = None,
    ) -> PushReceipt:
        """Set ``available`` to ``quantity`` if Shopify still holds ``change_from``.

        Raises QuantityStale when it does not, RateLimited when throttled, Unavailable on 5xx
        and transport failures, Rejected for anything Shopify refuses outright.
        """
        variables = {
            "input": set_quantities_input(
                inventory_item_id, location_id, quantity, change_from, reference_uri
            ),
            "idempotencyKey": idempotency_key,
        }
        data = self._graphql(SET_QUANTITIES, variables)
        result = data.get("inventorySetQuantities") or {}
        user_errors = result.get("userErrors") or []
        for error in user_errors:
            code = error.get("code")
            if code in STALE_CODES:
                raise QuantityStale(f"Shopify: {error.get('message', code)}", 200)
            if code in RETRYABLE_CODES:
                raise Unavailable(f"Shopify: {error.get('message', code)}", 200)
        if user_errors:
            text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in user_errors)
            raise Rejected(f"Shopify refused the quantity: {text}", 200)
        group = result.get("inventoryAdjustmentGroup") or {}
        return PushReceipt(reference=group.get("id"))

    def available(self, inventory_item_id: str, location_id: str) -> int | None:
        """The ``available`` quantity Shopify holds now; None when the item is not stocked there."""
        data = self._graphql(
            READ_AVAILABLE,
            {
                "inventoryItemId": gid("InventoryItem", inventory_item_id),
                "locationId": gid("Location", location_id),
            },
        )
        level = (data.get("inventoryItem") or {}).get("inventoryLevel")
        if not level:
            return None
        for quantity in level.get("quantities") or []:
            if quantity.get("name") == "available":
                return int(quantity["quantity"])
        return None


def _throttle_wait(body: dict[str, Any]) -> float | None:
    """Seconds until the cost bucket holds the query's cost again, from ``throttleStatus``."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost.get("requestedQueryCost", 0)) - float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return None
    if rate <= 0:
        return None
    return max(0.0, needed / rate)
