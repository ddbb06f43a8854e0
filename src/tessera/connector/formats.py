"""The order formats connectors read: per platform, the file shape, the source its orders are
recorded under, the quarantine kind of what is refused, and how rows group into orders."""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from tessera.connector import amazon, retail
from tessera.integrations.amazon.order_report import REQUIRED_COLUMNS as REQUIRED_AMAZON_COLUMNS
from tessera.integrations.retail.sell_through import REQUIRED_COLUMNS as REQUIRED_RETAIL_COLUMNS
from tessera.integrations.retail.sell_through import normalise_column
from tessera.models.collect import SourceKind


class OrderFormat(enum.StrEnum):
    SHOPIFY = "shopify"
    AMAZON = "amazon"
    TIKTOK = "tiktok"
    SQUARE = "square"
    RETAIL = "retail"


@dataclass(frozen=True, slots=True)
class FormatSpec:
    """How one platform's orders come in: file shape, source, quarantine kind, grouping."""

    format: OrderFormat
    source_kind: SourceKind
    source_name: str  # the source used unless the caller names another
    quarantine_kind: str
    file_format: str  # jsonl | tsv | csv
    group_key: Callable[[Any], Hashable] | None = None


SPECS: dict[OrderFormat, FormatSpec] = {
    OrderFormat.SHOPIFY: FormatSpec(
        OrderFormat.SHOPIFY, SourceKind.SHOPIFY, "shopify import", "order:shopify", "jsonl"
    ),
    OrderFormat.AMAZON: FormatSpec(
        OrderFormat.AMAZON, SourceKind.AMAZON, "amazon", "row:amazon", "tsv",
        lambda row: row[amazon.ORDER_KEY].strip(),
    ),
    OrderFormat.TIKTOK: FormatSpec(
        OrderFormat.TIKTOK, SourceKind.TIKTOK_SHOP, "tiktok shop", "order:tiktok", "jsonl"
    ),
    OrderFormat.SQUARE: FormatSpec(
        OrderFormat.SQUARE, SourceKind.SQUARE, "square", "order:square", "jsonl"
    ),
    OrderFormat.RETAIL: FormatSpec(
        OrderFormat.RETAIL, SourceKind.RETAIL, "retail partners", "row:retail", "csv",
        retail.group_key,
    ),
}  # fmt: skip


def layout(spec: FormatSpec) -> tuple[str, Callable[[str], str] | None, tuple[str, ...]]:
    """A delimited format's delimiter, header normaliser and required columns."""
    if spec.format is OrderFormat.AMAZON:
        return "\t", None, REQUIRED_AMAZON_COLUMNS
    return ",", normalise_column, REQUIRED_RETAIL_COLUMNS
