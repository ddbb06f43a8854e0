"""The demo brand's shoppers and what they did on every channel, as the channels send it.

Pure and deterministic: the same seed, size and anchor day give the same people, sessions and
orders. Each person is a ground truth (``Person``) with overlapping identifiers the way real
data has them: a device id on the site and another in the app, a login on some visits, an email
typed differently at the store, a TikTok buyer id, an Amazon order with only a name and a
postcode. The output is what each channel would send: Segment batches from analytics.js and the
mobile SDKs, and order payloads in the platforms' own shapes (see reference/collect.md).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST_NAMES = (
    ("Ava", "Ava"), ("Noah", "Noah"), ("Mia", "Mia"), ("Elizabeth", "Liz"), ("Zoe", "Zoe"),
    ("Ethan", "Ethan"), ("Isla", "Isla"), ("Mateo", "Mateo"), ("Priya", "Priya"),
    ("Kenji", "Ken"), ("Amara", "Amara"), ("Lucas", "Luke"), ("Sofia", "Sofi"), ("Omar", "Omar"),
    ("Hana", "Hana"), ("Diego", "Diego"), ("Chloe", "Chloe"), ("Ravi", "Ravi"),
    ("Katherine", "Kate"), ("Malik", "Malik"), ("Nora", "Nora"), ("Theodore", "Theo"),
    ("Yara", "Yara"), ("Felix", "Felix"), ("Ines", "Ines"), ("Jonathan", "Jon"),
    ("Maya", "Maya"), ("Arjun", "Arjun"), ("Elise", "Elise"), ("Thomas", "Tom"),
    ("Samantha", "Sam"), ("William", "Will"), ("Olivia", "Liv"), ("Daniel", "Dan"),
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Nakamura", "Alvarez", "Chen", "Haddad", "Kowalski", "Murphy",
    "Rossi", "Schmidt", "Patel", "Dubois", "Silva", "Novak", "Kim", "Moreau", "Jensen", "Costa",
    "Reyes", "Fischer", "Baptiste", "Oduya", "Larsen", "Varga", "Ibrahim", "Walsh", "Tanaka",
    "Mendes", "Quinn", "Abara",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com", "icloud.com", "outlook.com", "yahoo.com", "proton.me")
POSTCODES = ("10012", "10013", "11211", "78701", "78704", "90291", "90066", "60614", "98103")


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: int  # USD cents
    gtin: str
    category: str


CATALOG = (
    Product("SERUM-30", "Night Renewal Serum 30ml", 3800, "0850001234014", "Serum"),
    Product("SERUM-15", "Night Renewal Serum 15ml", 2200, "0850001234021", "Serum"),
    Product("CLEANSE-150", "Saltwater Gel Cleanser 150ml", 2400, "0850001234038", "Cleanser"),
    Product("MOIST-50", "Tide Pool Moisturiser 50ml", 3400, "0850001234045", "Moisturiser"),
    Product("SPF-50", "Daylight Mineral SPF 50", 2900, "0850001234052", "Sun"),
    Product("MASK-75", "Kelp Clay Mask 75ml", 2600, "0850001234069", "Mask"),
    Product("LIP-01", "Sea Salt Lip Balm", 1200, "0850001234076", "Lip"),
    Product("EYE-15", "Cold Current Eye Gel 15ml", 3100, "0850001234083", "Eye"),
    Product("TONER-200", "Mineral Mist Toner 200ml", 2100, "0850001234090", "Toner"),
    Product("OIL-30", "Driftwood Face Oil 30ml", 4200, "0850001234106", "Oil"),
    Product("KIT-RITUAL", "The Evening Ritual Kit", 8900, "0850001234113", "Kit"),
    Product("BODY-250", "Sea Mineral Body Wash 250ml", 1900, "0850001234120", "Body"),
)


@dataclass(frozen=True)
class Store:
    key: str  # the channel key, store:<slug>
    name: str
    shopify_location_id: int
    square_location_id: str
    postcode: str
    uses_square: bool


STORES = (
    Store("store:soho", "SoHo, New York", 65_432_101, "L8SOHO01", "10012", False),
    Store("store:austin", "South Congress, Austin", 65_432_102, "L8ATX002", "78704", True),
    Store("store:venice", "Abbot Kinney, Venice", 65_432_103, "L8VEN003", "90291", False),
)
RETAIL_PARTNER = "Ulta Beauty"


@dataclass(frozen=True)
class Person:
    """The truth behind the records: what the generator knows and the platform must work out."""

    person_id: str
    first_name: str
    nickname: str
    last_name: str
    email: str
    second_email: str | None
    phone: str | None
    postcode: str
    user_id: str | None  # has an account on the site or app
    web_device: str | None
    app_device: str | None
    tiktok_buyer_id: str | None
    shopify_customer_id: int


@dataclass
class Omnichannel:
    """What the channels send about the demo brand's shoppers."""

    people: list[Person]
    web_batches: list[dict[str, Any]] = field(default_factory=list)
    app_batches: list[dict[str, Any]] = field(default_factory=list)
    shopify_orders: list[dict[str, Any]] = field(default_factory=list)  # web and POS
    # Later webhooks about those orders: (topic, payload) for orders/updated and refunds/create.
    shopify_followups: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tiktok_orders: list[dict[str, Any]] = field(default_factory=list)
    square_orders: list[dict[str, Any]] = field(default_factory=list)
    amazon_rows: list[dict[str, str]] = field(default_factory=list)
    retail_rows: list[dict[str, str]] = field(default_factory=list)
    truth: dict[str, str] = field(default_factory=dict)  # record reference -> person_id
    expected_rejections: int = 0  # messages the buggy app build sends that Collect refuses

    @property
    def event_count(self) -> int:
        return sum(len(b["batch"]) for b in self.web_batches + self.app_batches)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _phone(rng: random.Random) -> str:
    return f"+1{rng.choice(('212', '646', '512', '310', '773'))}{rng.randint(2000000, 9999999)}"


def make_people(rng: random.Random, count: int) -> list[Person]:
    people = []
    for index in range(count):
        first, nick = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        domain = rng.choice(EMAIL_DOMAINS)
        handle = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{nick}{last}{index % 97}"))
        email = f"{handle.lower()}@{domain}"
        second = f"{nick.lower()}.{last.lower()}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
        people.append(
            Person(
                person_id=f"person-{index:05d}",
                first_name=first,
                nickname=nick,
                last_name=last,
                email=email,
                second_email=second if rng.random() < 0.15 else None,
                phone=_phone(rng) if rng.random() < 0.7 else None,
                postcode=rng.choice(POSTCODES),
                user_id=f"cus-{10000 + index}" if rng.random() < 0.55 else None,
                web_device=_uuid(rng) if rng.random() < 0.85 else None,
                app_device=_uuid(rng).upper() if rng.random() < 0.35 else None,
                tiktok_buyer_id=str(7_494_000_000_000_000_000 + index * 7919)
                if rng.random() < 0.3
                else None,
                shopify_customer_id=7_100_000_000 + index,
            )
        )
    return people


def generate_omnichannel(seed: int, people_count: int, until: datetime) -> Omnichannel:
    """The demo shoppers and their 60 days up to ``until`` on every channel.

    A third of the activity falls in the last three days, so the hourly charts have a recent
    shape to show, as a live brand's would.
    """
    rng = random.Random(seed * 7919 + people_count)
    people = make_people(rng, people_count)
    result = Omnichannel(people=people)
    until = until.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start = until - timedelta(days=60)

    def when() -> datetime:
        if rng.random() < 0.35:
            return until - timedelta(minutes=rng.randint(10, 72 * 60))
        return start + timedelta(minutes=rng.randint(0, 57 * 24 * 60))

    order_number = 1001
    for person in people:
        sessions = rng.randint(1, 6)
        for _ in range(sessions):
            moment = when()
            on_app = person.app_device is not None and rng.random() < 0.5
            if not on_app and person.web_device is None:
                continue
            bought = _browse(rng, result, person, moment, on_app)
            if bought and rng.random() < 0.45:
                _order_shopify_web(
                    rng, result, person, moment + timedelta(minutes=6), bought, order_number
                )
                order_number += 1
        # Purchases elsewhere.
        if person.tiktok_buyer_id and rng.random() < 0.8:
            _order_tiktok(rng, result, person, when())
        if rng.random() < 0.3:
            store = rng.choice(STORES)
            moment = when()
            if store.uses_square:
                _order_square(rng, result, person, store, moment)
            else:
                _order_shopify_pos(rng, result, person, store, moment, order_number)
                order_number += 1
        if rng.random() < 0.25:
            _order_amazon(rng, result, person, when())
    _retail_sell_through(rng, result, until)
    _shopify_followups(rng, result)
    _store_kiosk(random.Random(seed), result, until)
    return result


def _store_kiosk(rng: random.Random, result: Omnichannel, until: datetime) -> None:
    """The SoHo store's shared iPad: several shoppers sign in on one device in an afternoon.

    Identify must not merge them into one profile through the kiosk's device id (its per-type
    limit of one user id stops it and records a conflict), which is what the demo shows.
    """
    members = [p for p in result.people if p.user_id][:4]
    clock = until - timedelta(hours=5)
    messages = []
    for person in members:
        clock += timedelta(minutes=rng.randint(20, 50))
        stamp = _iso(clock)
        messages.append(
            {
                "type": "identify",
                "messageId": _uuid(rng),
                "anonymousId": "kiosk-soho-ipad-1",
                "userId": person.user_id,
                "timestamp": stamp,
                "originalTimestamp": stamp,
                "traits": {"email": person.email, "first_name": person.first_name},
            }
        )
    if messages:
        context = {"library": {"name": "analytics.js", "version": "next-1.70.0"}}
        result.web_batches.append(
            {"batch": messages, "sentAt": _iso(clock + timedelta(seconds=2)), "context": context}
        )


def _shopify_followups(rng: random.Random, result: Omnichannel) -> None:
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
        "price": _money(product.price),
    }
    cents = round(float(order["total_price"]) * 100) + product.price
    subtotal = round(float(order["subtotal_price"]) * 100) + product.price
    return {
        **order,
        "line_items": [*order["line_items"], added],
        "subtotal_price": _money(subtotal),
        "total_price": _money(cents),
        "updated_at": (created + timedelta(hours=2)).isoformat(),
    }


def _pick_products(rng: random.Random, count: int) -> list[Product]:
    return rng.sample(CATALOG, k=min(count, len(CATALOG)))


def _browse(
    rng: random.Random, result: Omnichannel, person: Person, moment: datetime, on_app: bool
) -> list[Product]:
    """One visit; returns what went into the cart."""
    device = person.app_device if on_app else person.web_device
    logged_in = person.user_id is not None and rng.random() < 0.6
    library = (
        {"name": rng.choice(("analytics-ios", "analytics-android")), "version": "4.5.1"}
        if on_app
        else {"name": "analytics.js", "version": "next-1.70.0"}
    )
    # One app build in ten is 3.1.9, which sent prices as text: Collect quarantines those.
    buggy_build = on_app and rng.random() < 0.1
    messages: list[dict[str, Any]] = []
    clock = moment

    def add(message: dict[str, Any]) -> None:
        nonlocal clock
        clock += timedelta(seconds=rng.randint(5, 90))
        stamp = _iso(clock)
        message.update(
            messageId=_uuid(rng), anonymousId=device, timestamp=stamp, originalTimestamp=stamp
        )
        if logged_in:
            message["userId"] = person.user_id
        messages.append(message)

    campaign = rng.choice(
        (
            None,
            None,
            {"source": "tiktok", "medium": "creator", "name": "glow-week"},
            {"source": "instagram", "medium": "social", "name": "reels-nov"},
            {"source": "newsletter", "medium": "email", "name": "weekly"},
        )
    )
    if on_app:
        add({"type": "screen", "name": "Home"})
    else:
        add(
            {"type": "page", "name": "Home", "properties": {"path": "/", "title": "Saltwater Skin"}}
        )
    if logged_in:
        add(
            {
                "type": "identify",
                "traits": {
                    "email": person.email,
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "phone": person.phone,
                },
            }
        )
    viewed = _pick_products(rng, rng.randint(1, 4))
    for product in viewed:
        add({"type": "track", "event": "Product Viewed", "properties": _product(product)})
    cart = [p for p in viewed if rng.random() < 0.45]
    for product in cart:
        properties = {**_product(product), "quantity": 1}
        if buggy_build:
            properties["price"] = _money(product.price)
            result.expected_rejections += 1
        add({"type": "track", "event": "Product Added", "properties": properties})
    if cart:
        add(
            {
                "type": "track",
                "event": "Checkout Started",
                "properties": {
                    "value": sum(p.price for p in cart) / 100,
                    "currency": "USD",
                    "products": [{**_product(p), "quantity": 1} for p in cart],
                },
            }
        )
    context: dict[str, Any] = {"library": library, "locale": "en-US"}
    if campaign:
        context["campaign"] = campaign
    if on_app:
        version = "3.1.9" if buggy_build else "3.2.0"
        context["app"] = {"name": "Saltwater Skin", "version": version, "build": version}
        context["device"] = {"id": device, "type": "ios" if "ios" in library["name"] else "android"}
    batch = {"batch": messages, "sentAt": _iso(clock + timedelta(seconds=2)), "context": context}
    (result.app_batches if on_app else result.web_batches).append(batch)
    return cart


def _product(product: Product) -> dict[str, Any]:
    return {
        "product_id": product.sku.lower(),
        "sku": product.sku,
        "name": product.name,
        "price": product.price / 100,
        "category": product.category,
    }


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


def _shopify_order(
    rng: random.Random, person: Person, moment: datetime, products: list[Product], number: int,
    source_name: str, location_id: int | None,
) -> dict[str, Any]:  # fmt: skip
    order_id = 5_900_000_000_000 + number
    lines: list[dict[str, Any]] = []
    subtotal = 0
    for index, product in enumerate(products):
        quantity = rng.choice((1, 1, 1, 2))
        subtotal += product.price * quantity
        lines.append(
            {
                "id": order_id * 10 + index,
                "variant_id": 44_000_000_000 + CATALOG.index(product),
                "product_id": 8_800_000_000 + CATALOG.index(product),
                "sku": product.sku,
                "title": product.name,
                "quantity": quantity,
                "price": _money(product.price),
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
        "subtotal_price": _money(subtotal),
        "total_tax": _money(tax),
        "total_price": _money(subtotal + tax + shipping),
        "total_shipping_price_set": {
            "shop_money": {"amount": _money(shipping), "currency_code": "USD"}
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
            "city": "New York",
            "country_code": "US",
            "address1": f"{rng.randint(1, 400)} Main St",
        },
        "billing_address": None,
        "discount_codes": [],
        "refunds": [],
    }


def _order_shopify_web(
    rng: random.Random, result: Omnichannel, person: Person, moment: datetime,
    products: list[Product], number: int,
) -> None:  # fmt: skip
    order = _shopify_order(rng, person, moment, products, number, "web", None)
    result.shopify_orders.append(order)
    result.truth[f"shopify:{order['id']}"] = person.person_id


def _order_shopify_pos(
    rng: random.Random, result: Omnichannel, person: Person, store: Store, moment: datetime,
    number: int,
) -> None:  # fmt: skip
    products = _pick_products(rng, rng.randint(1, 3))
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


def _order_tiktok(
    rng: random.Random, result: Omnichannel, person: Person, moment: datetime
) -> None:
    products = _pick_products(rng, rng.randint(1, 2))
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
                    "sale_price": _money(product.price),
                    "original_price": _money(product.price),
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
            "user_id": person.tiktok_buyer_id,
            "buyer_email": f"{order_id[-8:]}@scs.tiktokw.us",
            "recipient_address": {
                "name": f"{person.first_name} {person.last_name}",
                "phone_number": person.phone or "",
                "postal_code": person.postcode,
                "region_code": "US",
                "address_line_1": f"{rng.randint(1, 900)} Oak Ave",
            },
            "payment": {
                "currency": "USD",
                "sub_total": _money(subtotal),
                "shipping_fee": "0.00",
                "seller_discount": "0.00",
                "platform_discount": "0.00",
                "tax": _money(round(subtotal * 0.08)),
                "total_amount": _money(subtotal + round(subtotal * 0.08)),
            },
            "line_items": line_items,
        }
    )
    result.truth[f"tiktok_shop:{order_id}"] = person.person_id


def _order_square(
    rng: random.Random, result: Omnichannel, person: Person, store: Store, moment: datetime
) -> None:
    products = _pick_products(rng, rng.randint(1, 3))
    order_id = f"SQ{len(result.square_orders):06d}{rng.randint(1000, 9999)}"
    lines: list[dict[str, Any]] = [
        {
            "uid": f"{order_id}-{i}",
            "name": p.name,
            "quantity": str(rng.choice((1, 1, 2))),
            "catalog_object_id": p.sku,
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


def _order_amazon(
    rng: random.Random, result: Omnichannel, person: Person, moment: datetime
) -> None:
    order_id = (
        f"11{rng.randint(1, 9)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}"
    )
    fba = rng.random() < 0.7
    for product in _pick_products(rng, rng.randint(1, 2)):
        quantity = rng.choice((1, 1, 2))
        result.amazon_rows.append(
            {
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
                "item-price": _money(product.price * quantity),
                "item-tax": _money(round(product.price * quantity * 0.08)),
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
        )
    result.truth[f"amazon:{order_id}"] = person.person_id


def _retail_sell_through(rng: random.Random, result: Omnichannel, until: datetime) -> None:
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
