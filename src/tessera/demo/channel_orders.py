"""Orders as each platform sends them, for the demo's shoppers: Shopify (web and POS, with
later edits and refunds), TikTok Shop, Square, Amazon order-report rows (one order with an
item the buyer cancelled) and a retail partner's sell-through rows, in the shapes of
reference/collect.md. Pure and deterministic.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tessera.demo.people import (
    CATALOG,
    RETAIL_PARTNER,
    Omnichannel,
    Person,
    Product,
    Store,
    pick_products,
)


def shopify_followups(rng: random.Random, result: Omnichannel) -> None:
    """Some web orders are fulfilled a day later, a few are refunded in part, cancelled, or
    edited to add an item."""
    for order in result.shopify_orders:
        if order["source_name"] != "web":
            continue
        created = datetime.fromisoformat(order["created_at"])
        roll = rng.random()
        if roll < 0.5:
            updated = {**order, "fulfillment_status": "fulfilled",
                       "updated_at": (created + timedelta(days=1)).isoformat()}  # fmt: skip
            result.shopify_followups.append(("orders/updated", updated))
        elif roll < 0.56:
            cancelled_at = (created + timedelta(hours=3)).isoformat()
            cancelled = {**order, "cancelled_at": cancelled_at, "updated_at": cancelled_at,
                         "cancel_reason": "customer", "financial_status": "voided"}  # fmt: skip
            result.shopify_followups.append(("orders/cancelled", cancelled))
        elif roll < 0.64:
            line = order["line_items"][0]
            refund = {
                "id": 9_100_000_000 + order["id"] % 1_000_000,
                "order_id": order["id"],
                "created_at": (created + timedelta(days=9)).isoformat(),
                "note": "Returned by post",
                "refund_line_items": [
                    {"line_item_id": line["id"], "quantity": 1, "subtotal": line["price"]}
                ],
                "transactions": [
                    {"id": 6_100_000_000 + order["id"] % 1_000_000, "kind": "refund",
                     "status": "success", "amount": line["price"], "currency": "USD"}
                ],
            }  # fmt: skip
            result.shopify_followups.append(("refunds/create", refund))
        elif roll < 0.70:  # the customer asked support to add an item before it shipped
            result.shopify_followups.append(("orders/updated", _edited(order, created)))


def _edited(order: dict[str, Any], created: datetime) -> dict[str, Any]:
    """The order after an edit two hours later that added one unit of another product."""
    ordered = {line["sku"] for line in order["line_items"]}
    start = order["id"] % len(CATALOG)
    product = next(p for p in CATALOG[start:] + CATALOG[:start] if p.sku not in ordered)
    added = {
        "id": order["id"] * 10 + len(order["line_items"]),
        "variant_id": 44_000_000_000 + CATALOG.index(product),
        "product_id": 8_800_000_000 + CATALOG.index(product),
        "sku": product.sku,
        "title": product.name,
        "quantity": 1,
        "price": shopify_money(product.price),
    }
    cents = round(float(order["total_price"]) * 100) + product.price
    subtotal = round(float(order["subtotal_price"]) * 100) + product.price
    return {
        **order,
        "line_items": [*order["line_items"], added],
        "subtotal_price": shopify_money(subtotal),
        "total_price": shopify_money(cents),
        "updated_at": (created + timedelta(hours=2)).isoformat(),
    }


def product_line(product: Product) -> dict[str, Any]:
    return {
        "product_id": product.sku.lower(),
        "sku": product.sku,
        "name": product.name,
        "price": product.price / 100,
        "category": product.category,
    }


def shopify_money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def _shopify_order(
    rng: random.Random, person: Person, moment: datetime, products: list[Product], number: int,
    source_name: str, location_id: int | None, quantity: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A Shopify order payload; each line's quantity is ``quantity``, or 1 or 2 at random."""
    order_id = 5_900_000_000_000 + number
    lines: list[dict[str, Any]] = []
    subtotal = 0
    for index, product in enumerate(products):
        units = quantity or rng.choice((1, 1, 1, 2))
        subtotal += product.price * units
        lines.append(
            {
                "id": order_id * 10 + index,
                "variant_id": 44_000_000_000 + CATALOG.index(product),
                "product_id": 8_800_000_000 + CATALOG.index(product),
                "sku": product.sku,
                "title": product.name,
                "quantity": units,
                "price": shopify_money(product.price),
            }
        )
    tax = round(subtotal * 0.08)
    shipping = 0 if source_name == "pos" or subtotal >= 5000 else 595
    email = (
        person.email
        if source_name == "web" or rng.random() < 0.6
        else (person.second_email or person.email)
    )
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{number}",
        "order_number": number,
        "email": email,
        "phone": person.phone,
        "created_at": moment.isoformat(),
        "updated_at": moment.isoformat(),
        "cancelled_at": None,
        "currency": "USD",
        "subtotal_price": shopify_money(subtotal),
        "total_tax": shopify_money(tax),
        "total_price": shopify_money(subtotal + tax + shipping),
        "total_shipping_price_set": {
            "shop_money": {"amount": shopify_money(shipping), "currency_code": "USD"}
        },
        "total_discounts": "0.00",
        "financial_status": "paid",
        "fulfillment_status": "fulfilled" if source_name == "pos" else None,
        "source_name": source_name,
        "location_id": location_id,
        "customer": {
            "id": person.shopify_customer_id,
            "email": email,
            "phone": person.phone,
            "first_name": person.first_name,
            "last_name": person.last_name,
        },
        "line_items": lines,
        "shipping_address": None
        if source_name == "pos"
        else {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "zip": person.postcode,
            "city": person.city,
            "country_code": "US",
            "address1": person.street,
        },
        "billing_address": None,
        "discount_codes": [],
        "refunds": [],
    }


def order_shopify_web(
    rng: random.Random, result: Omnichannel, person: Person, moment: datetime,
    products: list[Product], number: int, quantity: int | None = None,
) -> None:  # fmt: skip
    order = _shopify_order(rng, person, moment, products, number, "web", None, quantity)
    result.shopify_orders.append(order)
    result.truth[f"shopify:{order['id']}"] = person.person_id


def order_shopify_pos(
    rng: random.Random, result: Omnichannel, person: Person, store: Store, moment: datetime,
    number: int,
) -> None:  # fmt: skip
    products = pick_products(rng, rng.randint(1, 3))
    order = _shopify_order(rng, person, moment, products, number, "pos", store.shopify_location_id)
    if rng.random() < 0.4:  # a walk-in who gave no email at the till
        order["email"] = None
        order["customer"] = {
            "id": person.shopify_customer_id,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": None,
            "phone": person.phone,
        }
    result.shopify_orders.append(order)
    result.truth[f"shopify:{order['id']}"] = person.person_id


def order_tiktok(
    rng: random.Random,
    result: Omnichannel,
    person: Person,
    moment: datetime,
    *,
    buyer_id: str | None = None,
    masked_phone: bool = False,
) -> str:
    """A TikTok Shop order by ``person`` (as ``buyer_id``, else their own TikTok buyer id);
    the buyer email is TikTok's per-order relay address, the phone masked as most sellers see
    it when ``masked_phone``. Returns the order id."""
    products = pick_products(rng, rng.randint(1, 2))
    order_id = str(
        576_000_000_000_000_000 + len(result.tiktok_orders) * 104_729 + rng.randint(0, 999)
    )
    line_items: list[dict[str, Any]] = []
    for product in products:
        for _unit in range(rng.choice((1, 1, 2))):  # one line item per unit
            line_items.append(
                {
                    "id": f"{order_id}{len(line_items):02d}",
                    "sku_id": f"17290{CATALOG.index(product):05d}",
                    "seller_sku": product.sku,
                    "product_id": f"17300{CATALOG.index(product):05d}",
                    "product_name": product.name,
                    "sale_price": shopify_money(product.price),
                    "original_price": shopify_money(product.price),
                }
            )
    subtotal = sum(round(float(item["sale_price"]) * 100) for item in line_items)
    created = int(moment.timestamp())
    result.tiktok_orders.append(
        {
            "id": order_id,
            "status": rng.choice(("COMPLETED", "DELIVERED", "IN_TRANSIT", "AWAITING_SHIPMENT")),
            "create_time": created,
            "update_time": created + 3600,
            "paid_time": created + 30,
            "user_id": buyer_id or person.tiktok_buyer_id,
            "buyer_email": f"{order_id[-8:]}@scs.tiktokw.us",
            "recipient_address": {
                "name": f"{person.first_name} {person.last_name}",
                "phone_number": _masked(person.phone) if masked_phone else person.phone or "",
                "postal_code": person.postcode,
                "region_code": "US",
                "address_line_1": person.street,
                "district_info": [
                    {
                        "address_level": "L0",
                        "address_level_name": "Country",
                        "address_name": "United States",
                    },
                    {
                        "address_level": "L3",
                        "address_level_name": "City",
                        "address_name": person.city,
                    },
                ],
            },
            "payment": {
                "currency": "USD",
                "sub_total": shopify_money(subtotal),
                "shipping_fee": "0.00",
                "seller_discount": "0.00",
                "platform_discount": "0.00",
                "tax": shopify_money(round(subtotal * 0.08)),
                "total_amount": shopify_money(subtotal + round(subtotal * 0.08)),
            },
            "line_items": line_items,
        }
    )
    result.truth[f"tiktok_shop:{order_id}"] = person.person_id
    return order_id


def _masked(phone: str | None) -> str:
    """A phone as TikTok shows it to a seller who does not fulfil with TikTok."""
    return f"(+1){phone[2:5]}*****{phone[-2:]}" if phone else ""


def square_variation_id(product: Product) -> str:
    """The Square catalog's id of a product's item variation (not its SKU)."""
    return f"SQVAR{CATALOG.index(product):04d}{product.sku.replace('-', '')}"[:24]


def order_square(
    rng: random.Random, result: Omnichannel, person: Person, store: Store, moment: datetime
) -> None:
    products = pick_products(rng, rng.randint(1, 3))
    order_id = f"SQ{len(result.square_orders):06d}{rng.randint(1000, 9999)}"
    lines: list[dict[str, Any]] = [
        {
            "uid": f"{order_id}-{i}",
            "name": p.name,
            "quantity": str(rng.choice((1, 1, 2))),
            "catalog_object_id": square_variation_id(p),
            "catalog_object": {  # looked up in the catalog by the sender: it holds the SKU
                "type": "ITEM_VARIATION",
                "id": square_variation_id(p),
                "item_variation_data": {"name": p.name, "sku": p.sku},
            },
            "base_price_money": {"amount": p.price, "currency": "USD"},
        }
        for i, p in enumerate(products)
    ]
    total = sum(
        int(str(line["quantity"])) * p.price for line, p in zip(lines, products, strict=True)
    )
    result.square_orders.append(
        {
            "id": order_id,
            "location_id": store.square_location_id,
            "reference_id": None,
            "customer_id": f"SQC-{person.person_id}" if rng.random() < 0.5 else None,
            "state": "COMPLETED",
            "version": 3,
            "created_at": moment.isoformat(),
            "updated_at": (moment + timedelta(minutes=1)).isoformat(),
            "line_items": lines,
            "fulfillments": [{"type": "PICKUP", "state": "COMPLETED"}],
            "total_money": {"amount": total, "currency": "USD"},
        }
    )
    result.truth[f"square:{order_id}"] = person.person_id


def order_amazon(rng: random.Random, result: Omnichannel, person: Person, moment: datetime) -> None:
    """An Amazon order's report rows, one per item; the first order of two items also has its
    first item cancelled by the buyer: a Pending row, then a Cancelled one, for that item."""
    order_id = (
        f"11{rng.randint(1, 9)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}"
    )
    fba = rng.random() < 0.7
    products = pick_products(rng, rng.randint(1, 2))
    cancels_one = len(products) == 2 and not any(
        row["item-status"] == "Cancelled" for row in result.amazon_rows
    )
    for product in products:
        quantity = rng.choice((1, 1, 2))
        row = {
            "amazon-order-id": order_id,
            "merchant-order-id": "",
            "purchase-date": moment.isoformat(),
            "last-updated-date": (moment + timedelta(hours=2)).isoformat(),
            "order-status": "Shipped",
            "fulfillment-channel": "Amazon" if fba else "Merchant",
            "sales-channel": "Amazon.com",
            "order-channel": "",
            "url": "",
            "ship-service-level": "Standard",
            "product-name": product.name,
            "sku": product.sku,
            "asin": f"B0{CATALOG.index(product):02d}SALT{rng.randint(10, 99)}",
            "item-status": "Shipped",
            "quantity": str(quantity),
            "currency": "USD",
            "item-price": shopify_money(product.price * quantity),
            "item-tax": shopify_money(round(product.price * quantity * 0.08)),
            "shipping-price": "0.00",
            "shipping-tax": "0.00",
            "gift-wrap-price": "",
            "gift-wrap-tax": "",
            "item-promotion-discount": "0.00",
            "ship-promotion-discount": "0.00",
            "ship-city": "",
            "ship-state": "",
            "ship-postal-code": person.postcode,
            "ship-country": "US",
            "promotion-ids": "",
            "is-business-order": "false",
            "purchase-order-number": "",
            "price-designation": "",
        }
        if cancels_one and product is products[0]:
            result.amazon_rows.extend(_cancelled_item(row, moment))
        else:
            result.amazon_rows.append(row)
    result.truth[f"amazon:{order_id}"] = person.person_id


def _cancelled_item(row: dict[str, str], moment: datetime) -> list[dict[str, str]]:
    """An item's rows when its buyer cancelled it an hour after ordering: the Pending snapshot
    Amazon wrote first, and the Cancelled one after it (neither with prices)."""
    unpriced = {name: "" for name in ("currency", "item-price", "item-tax", "shipping-price",
                                      "shipping-tax", "item-promotion-discount",
                                      "ship-promotion-discount")}  # fmt: skip
    pending = {**row, **unpriced, "order-status": "Pending", "item-status": "Unshipped",
               "last-updated-date": (moment + timedelta(minutes=5)).isoformat()}  # fmt: skip
    cancelled = {**pending, "order-status": "Cancelled", "item-status": "Cancelled",
                 "last-updated-date": (moment + timedelta(hours=1)).isoformat()}  # fmt: skip
    return [pending, cancelled]


def retail_sell_through(rng: random.Random, result: Omnichannel, until: datetime) -> None:
    today = until.date()
    monday = today - timedelta(days=today.weekday())
    for weeks_back in range(1, 9):
        week = monday - timedelta(weeks=weeks_back)
        for store_id in ("ULTA-0412", "ULTA-1187", "ULTA-2290"):
            for product in CATALOG[:6]:
                result.retail_rows.append(
                    {
                        "partner": RETAIL_PARTNER,
                        "store_id": store_id,
                        "week": week.isoformat(),
                        "sku": product.sku,
                        "gtin": product.gtin,
                        "units_sold": str(rng.randint(0, 14)),
                        "units_on_hand": str(rng.randint(2, 40)),
                    }
                )
