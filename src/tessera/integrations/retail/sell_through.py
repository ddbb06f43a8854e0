"""A weekly sell-through file: one row per partner, store, week and product.

Partners name columns their own way ("Store ID", "store-id", "Units Sold"); headers are
normalised to lowercase with underscores before use. There is no customer identity.
"""

from __future__ import annotations

from collections.abc import Mapping

REQUIRED_COLUMNS = ("partner", "store_id", "week", "units_sold")
PRODUCT_COLUMNS = ("sku", "gtin")  # one of the two is required per row
OPTIONAL_COLUMNS = ("units_on_hand", "net_sales", "currency", "report_date")
ALIASES = {
    "store": "store_id", "store_number": "store_id", "door": "store_id",
    "week_ending": "week", "week_start": "week", "upc": "gtin", "ean": "gtin",
    "retailer": "partner", "on_hand": "units_on_hand", "sales": "net_sales",
}  # fmt: skip

# One row keyed by normalised column names.
SellThroughRow = Mapping[str, str]


def normalise_column(name: str) -> str:
    """``"Units Sold"`` → ``units_sold``; known aliases map to the canonical name."""
    key = "_".join(name.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)
