"""Catalog files read into the API's shapes: a CSV (one row per variant) and Shopify product
payloads (the Admin REST ``product`` object, one or ``{"products": [...]}``).

Pure: text in, ``ProductIn`` and ``ListingIn`` out, with one message per refused row. The
service writes them. A bundle's components name SKUs (``components`` column:
``SERUM-30:1;CLEANSER-150:2``) which may be defined further down the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tessera.catalog.errors import InvalidCatalogInput
from tessera.catalog.schemas import ComponentIn, ListingIn, ProductIn, VariantIn
from tessera.kit.bounds import printable, unstorable_in
from tessera.models.catalog import FulfillmentChannel, ListingPlatform, ProductStatus

CSV_COLUMNS = (
    "handle",
    "title",
    "vendor",
    "sku",
    "variant_title",
    "gtin",
    "weight_grams",
    "allows_backorder",
    "components",
    "shopify_product_id",
    "shopify_variant_id",
    "shopify_inventory_item_id",
    "amazon_asin",
    "amazon_seller_sku",
    "amazon_fulfillment",
    "tiktok_product_id",
    "tiktok_sku_id",
    "url",
    "image_url",
    "variant_url",
    "variant_image_url",
)
_STATUSES = {s.value for s in ProductStatus}
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}


@dataclass
class ParsedCatalog:
    products: list[ProductIn] = field(default_factory=list)
    listings: list[ListingIn] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _cell(row: Mapping[str, str | None], name: str) -> str:
    return (row.get(name) or "").strip()


def _components(text: str) -> list[ComponentIn]:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    components = []
    for part in parts:
        sku, _, quantity = part.rpartition(":")
        if not sku:
            sku, quantity = quantity, "1"
        if not quantity.isdigit():
            raise InvalidCatalogInput(f"component {part!r} is not SKU:quantity", field="components")
        components.append(ComponentIn(sku=sku.strip(), quantity=int(quantity)))
    return components


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def parse_csv(text: str) -> ParsedCatalog:
    """Rows grouped by handle into products; a refused row is reported and left out."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise InvalidCatalogInput("the file is empty", field="file")
    missing = {"handle", "sku"} - {name.strip() for name in reader.fieldnames}
    if missing:
        raise InvalidCatalogInput(f"the header lacks {', '.join(sorted(missing))}", field="header")
    parsed = ParsedCatalog()
    grouped: dict[str, dict[str, Any]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): v for k, v in raw.items()}
        unkept = next(unstorable_in(row), None)
        if unkept is not None:
            parsed.errors.append(f"line {number}: {printable(unkept[0])} {unkept[1]}")
            continue
        try:
            backorder = _cell(row, "allows_backorder").lower()
            if backorder not in _TRUE | _FALSE:
                raise InvalidCatalogInput("allows_backorder must be true or false")
            weight = _cell(row, "weight_grams")
            variant = VariantIn(
                sku=_cell(row, "sku"),
                title=_cell(row, "variant_title"),
                gtin=_cell(row, "gtin") or None,
                weight_grams=int(weight) if weight else None,
                allows_backorder=backorder in _TRUE,
                components=_components(_cell(row, "components")),
                url=_cell(row, "variant_url") or None,
                image_url=_cell(row, "variant_image_url") or None,
            )
            handle = _cell(row, "handle")
            product = grouped.setdefault(
                handle,
                {
                    "handle": handle,
                    "title": _cell(row, "title") or handle,
                    "vendor": _cell(row, "vendor") or None,
                    "url": _cell(row, "url") or None,
                    "image_url": _cell(row, "image_url") or None,
                    "variants": [],
                },
            )
            product["variants"].append(variant)
            parsed.listings.extend(_csv_listings(row, variant.sku))
        except InvalidCatalogInput as exc:
            parsed.errors.append(f"line {number}: {exc.detail}")
        except ValidationError as exc:
            parsed.errors.append(f"line {number}: {_first_error(exc)}")
        except ValueError as exc:
            parsed.errors.append(f"line {number}: {exc}")
    for handle, values in grouped.items():
        try:
            parsed.products.append(ProductIn(**values))
        except ValidationError as exc:
            parsed.errors.append(f"product {handle!r}: {_first_error(exc)}")
    return parsed


def _csv_listings(row: Mapping[str, str | None], sku: str) -> Iterable[ListingIn]:
    if _cell(row, "shopify_inventory_item_id"):
        yield ListingIn(
            sku=sku,
            channel="web",
            platform=ListingPlatform.SHOPIFY,
            external_id=_cell(row, "shopify_inventory_item_id"),
            inventory_item_id=_cell(row, "shopify_inventory_item_id"),
            external_variant_id=_cell(row, "shopify_variant_id") or None,
            external_product_id=_cell(row, "shopify_product_id") or None,
        )
    if _cell(row, "amazon_seller_sku"):
        fulfilment = _cell(row, "amazon_fulfillment").lower() or "mfn"
        if fulfilment not in {"mfn", "fba"}:
            raise InvalidCatalogInput("amazon_fulfillment must be mfn or fba")
        yield ListingIn(
            sku=sku,
            channel="amazon",
            platform=ListingPlatform.AMAZON,
            external_id=_cell(row, "amazon_seller_sku"),
            seller_sku=_cell(row, "amazon_seller_sku"),
            asin=_cell(row, "amazon_asin") or None,
            fulfillment_channel=FulfillmentChannel(fulfilment),
        )
    if _cell(row, "tiktok_sku_id"):
        yield ListingIn(
            sku=sku,
            channel="tiktok_shop",
            platform=ListingPlatform.TIKTOK_SHOP,
            external_id=_cell(row, "tiktok_sku_id"),
            external_product_id=_cell(row, "tiktok_product_id") or None,
        )


def _grams(variant: Mapping[str, Any]) -> int | None:
    """Grams from ``weight`` and ``weight_unit`` (current), else the deprecated ``grams``."""
    weight, unit = variant.get("weight"), variant.get("weight_unit")
    factors = {"g": 1.0, "kg": 1000.0, "oz": 28.349523125, "lb": 453.59237}
    if isinstance(weight, int | float) and weight >= 0 and unit in factors:
        return round(float(weight) * factors[str(unit)])
    grams = variant.get("grams")
    if isinstance(grams, int) and grams >= 0:
        return grams
    return None


def _shopify_images(item: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """A Shopify product's main picture (``image``, else the first of ``images``) and each
    image's address by its id (a variant's ``image_id`` names one)."""
    images = [i for i in item.get("images") or [] if isinstance(i, dict) and i.get("src")]
    main = item.get("image") if isinstance(item.get("image"), dict) else None
    first = (main or {}).get("src") or (images[0]["src"] if images else None)
    by_id = {str(i["id"]): str(i["src"]) for i in images if i.get("id") is not None}
    return (str(first) if first else None), by_id


def _url(value: str | None) -> str | None:
    """An http(s) address as the catalog keeps it; anything else is left out, not refused."""
    if not value or not value.startswith(("https://", "http://")) or len(value) > 1990:
        return None
    return None if any(c.isspace() or c in "<>\"'" for c in value) else value


def parse_shopify(text: str, channel: str = "web", storefront: str | None = None) -> ParsedCatalog:
    """Shopify Admin REST product objects: each variant a SKU, listed on ``channel``.

    A product's picture is its ``image`` (or first of ``images``), a variant's the image its
    ``image_id`` names; with ``storefront`` (``https://shop.example``) a product's page is
    ``<storefront>/products/<handle>``, as Shopify's online store serves it.

    ``inventory_policy: continue`` means the variant sells when out of stock (backorder). The
    listing's ``external_id`` is the inventory item id, what ``inventorySetQuantities`` takes.
    A variant without a SKU is refused: stock is counted per SKU.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCatalogInput(
            f"not JSON: {exc.msg} at line {exc.lineno}", field="file"
        ) from None
    unkept = next(unstorable_in(data), None)
    if unkept is not None:
        where = printable(unkept[0]) or "file"
        raise InvalidCatalogInput(f"{where} {unkept[1]}", field=where)
    if isinstance(data, dict) and isinstance(data.get("products"), list):
        items = data["products"]
    elif isinstance(data, dict) and isinstance(data.get("product"), dict):
        items = [data["product"]]
    elif isinstance(data, dict) and "variants" in data:
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise InvalidCatalogInput("expected a product, {'product': ...} or {'products': [...]}")
    parsed = ParsedCatalog()
    for index, item in enumerate(items):
        where = f"products[{index}]"
        if not isinstance(item, dict):
            parsed.errors.append(f"{where}: not an object")
            continue
        variants: list[VariantIn] = []
        listings: list[ListingIn] = []
        main_image, images = _shopify_images(item)
        for v_index, raw in enumerate(item.get("variants") or []):
            v_where = f"{where}.variants[{v_index}]"
            if not isinstance(raw, dict) or not str(raw.get("sku") or "").strip():
                parsed.errors.append(f"{v_where}: a variant needs a SKU")
                continue
            try:
                sku = str(raw["sku"]).strip()
                barcode = str(raw.get("barcode") or "").strip()
                variants.append(
                    VariantIn(
                        sku=sku,
                        title=str(raw.get("title") or "")[:500],
                        gtin=barcode if barcode.isdigit() and 8 <= len(barcode) <= 14 else None,
                        weight_grams=_grams(raw),
                        allows_backorder=raw.get("inventory_policy") == "continue",
                        image_url=_url(images.get(str(raw.get("image_id")))),
                    )
                )
                if raw.get("inventory_item_id") is not None:
                    listings.append(
                        ListingIn(
                            sku=sku,
                            channel=channel,
                            platform=ListingPlatform.SHOPIFY,
                            external_id=str(raw["inventory_item_id"]),
                            inventory_item_id=str(raw["inventory_item_id"]),
                            external_variant_id=str(raw["id"]) if raw.get("id") else None,
                            external_product_id=str(item["id"]) if item.get("id") else None,
                        )
                    )
            except ValidationError as exc:
                parsed.errors.append(f"{v_where}: {_first_error(exc)}")
        if not variants:
            parsed.errors.append(f"{where}: no variant with a SKU")
            continue
        try:
            status = str(item.get("status") or "active")
            handle = str(item.get("handle") or item.get("id") or "")
            page = f"{storefront.rstrip('/')}/products/{handle}" if storefront else None
            parsed.products.append(
                ProductIn(
                    handle=handle,
                    url=_url(page),
                    image_url=_url(main_image),
                    title=str(item.get("title") or item.get("handle") or ""),
                    vendor=item.get("vendor") or None,
                    status=ProductStatus(status) if status in _STATUSES else ProductStatus.ACTIVE,
                    variants=variants,
                )
            )
            parsed.listings.extend(listings)
        except ValidationError as exc:
            parsed.errors.append(f"{where}: {_first_error(exc)}")
    return parsed
