"""``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL``: tab-separated, one row per order item
snapshot (an item that changed, say from ``Pending`` to ``Cancelled``, may have a row of each).

Cells are text; prices are decimal strings, empty for pending and cancelled lines. Dates are
ISO 8601 with an offset. The unshipped-orders report adds buyer and recipient columns.
"""

from __future__ import annotations

from collections.abc import Mapping

COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date",
    "order-status", "fulfillment-channel", "sales-channel", "order-channel", "url",
    "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity", "currency",
    "item-price", "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price",
    "gift-wrap-tax", "item-promotion-discount", "ship-promotion-discount", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "is-business-order",
    "purchase-order-number", "price-designation",
)  # fmt: skip
REQUIRED_COLUMNS = (
    "amazon-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "quantity", "item-price",
)  # fmt: skip
# Columns of the unshipped-orders report, read when present.
BUYER_COLUMNS = (
    "buyer-email", "buyer-name", "buyer-phone-number", "recipient-name", "ship-address-1",
)  # fmt: skip
# What names one item across its rows (its snapshots), the first present: order-item-id is in
# the unshipped and order-data reports, sku and asin in every one.
ITEM_KEY_COLUMNS = ("order-item-id", "sku", "asin")

# fulfillment-channel values
FULFILLED_BY_AMAZON = "Amazon"
FULFILLED_BY_MERCHANT = "Merchant"

# order-status values
STATUSES = ("Pending", "Unshipped", "PartiallyShipped", "Shipping", "Shipped", "Cancelled")
CANCELLED = "Cancelled"  # in order-status, or in item-status for one item of a live order

# The marketplace's currency, for rows whose currency cell is empty (pending orders).
MARKETPLACE_CURRENCY = {
    "Amazon.com": "USD", "Amazon.ca": "CAD", "Amazon.com.mx": "MXN", "Amazon.co.uk": "GBP",
    "Amazon.de": "EUR", "Amazon.fr": "EUR", "Amazon.it": "EUR", "Amazon.es": "EUR",
    "Amazon.nl": "EUR", "Amazon.co.jp": "JPY", "Amazon.com.au": "AUD", "Amazon.in": "INR",
}  # fmt: skip

# One row keyed by the header's column names (any of COLUMNS and BUYER_COLUMNS).
AmazonOrderRow = Mapping[str, str]
