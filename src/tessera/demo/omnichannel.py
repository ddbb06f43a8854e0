"""The demo brand's shoppers and what they did on every channel, as the channels send it.

Pure and deterministic: the same seed, size and anchor day give the same people, sessions and
orders. Each person is a ground truth (``Person``) with overlapping identifiers the way real
data has them: a device id on the site and another in the app, a login on some visits, an email
typed differently at the store, a TikTok buyer id, an Amazon order with only a name and a
postcode, a web customer's guest order on TikTok Shop with nothing in common but her name and
street address. The output is what each channel would send: Segment batches from analytics.js
and the mobile SDKs, and order payloads in the platforms' own shapes (see reference/collect.md).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tessera.demo.channel_orders import (
    order_amazon,
    order_shopify_pos,
    order_shopify_web,
    order_square,
    order_tiktok,
    product_line,
    retail_sell_through,
    shopify_followups,
    shopify_money,
)
from tessera.demo.people import (
    BACKORDERED_SKU,
    CATALOG,
    STORES,
    Omnichannel,
    Person,
    Product,
    iso_utc,
    make_people,
    pick_products,
    random_uuid,
)


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
                order_shopify_web(
                    rng, result, person, moment + timedelta(minutes=6), bought, order_number
                )
                order_number += 1
        # Purchases elsewhere.
        if person.tiktok_buyer_id and rng.random() < 0.8:
            order_tiktok(rng, result, person, when())
        if rng.random() < 0.3:
            store = rng.choice(STORES)
            moment = when()
            if store.uses_square:
                order_square(rng, result, person, store, moment)
            else:
                order_shopify_pos(rng, result, person, store, moment, order_number)
                order_number += 1
        if rng.random() < 0.25:
            order_amazon(rng, result, person, when())
    retail_sell_through(rng, result, until)
    shopify_followups(rng, result)
    _store_kiosk(random.Random(seed), result, until)
    _tiktok_guest(random.Random(seed + 104_729), result, until)
    _backorder(random.Random(seed + 1), result, until, order_number)
    _cart_then_store(random.Random(seed + 2), result, until, order_number + 1)
    return result


def _tiktok_guest(rng: random.Random, result: Omnichannel, until: datetime) -> None:
    """A web customer, signed up with their address, orders on TikTok Shop as a guest: a new
    buyer id, TikTok's relay address, a masked phone. No identifier joins the two, and the
    relay address must not become their email; the matcher joins the order to their web
    profile on name and street address, which their page on the dashboard shows as the
    merge's evidence."""
    person = next(
        (p for p in result.people if p.user_id and p.web_device and not p.tiktok_buyer_id), None
    )
    if person is None:
        return
    signed_up = until - timedelta(days=20)
    stamp = iso_utc(signed_up)
    sign_up = {
        "type": "identify",
        "messageId": random_uuid(rng),
        "anonymousId": person.web_device,
        "userId": person.user_id,
        "timestamp": stamp,
        "originalTimestamp": stamp,
        "traits": {
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "address": {
                "street": person.street,
                "city": person.city,
                "postal_code": person.postcode,
                "country": "US",
            },
        },
    }
    context = {"library": {"name": "analytics.js", "version": "next-1.70.0"}, "locale": "en-US"}
    result.web_batches.append(
        {"batch": [sign_up], "sentAt": iso_utc(signed_up + timedelta(seconds=2)),
         "context": context}
    )  # fmt: skip
    guest = f"7495{int(person.person_id.rpartition('-')[2]):015d}"
    result.tiktok_guest = (person.person_id, order_tiktok(
        rng, result, person, until - timedelta(hours=26), buyer_id=guest, masked_phone=True
    ))  # fmt: skip


def _backorder(rng: random.Random, result: Omnichannel, until: datetime, number: int) -> None:
    """An hour ago, a web order for three of the eye gel the warehouse has none of (its
    restock is still on its way, see ``demo.stock``): sold already, so it is committed as
    backorder and the dashboard shows the warehouse oversold with this order behind it.
    It has not shipped: no follow-up is sent for it."""
    person = result.people[0]
    product = next(p for p in CATALOG if p.sku == BACKORDERED_SKU)
    order_shopify_web(rng, result, person, until - timedelta(hours=1), [product], number, 3)


def _cart_then_store(rng: random.Random, result: Omnichannel, until: datetime, number: int) -> None:
    """Six hours ago a signed-in shopper started a checkout from a TikTok Shop link and,
    40 minutes later, bought in the SoHo store: the abandoned cart journey must let her go
    ("ordered" on any channel) and send her nothing."""
    person = next(p for p in reversed(result.people) if p.user_id and p.email)
    moment = until - timedelta(hours=6)
    cart_id = f"tiktok-cart-{number}"
    stamp, later = iso_utc(moment), iso_utc(moment + timedelta(seconds=30))
    products = pick_products(rng, 2)
    result.web_batches.append({
        "batch": [
            {"type": "identify", "messageId": random_uuid(rng), "userId": person.user_id,
             "timestamp": stamp, "originalTimestamp": stamp,
             "traits": {"email": person.email, "first_name": person.first_name}},
            {"type": "track", "event": "Checkout Started", "messageId": random_uuid(rng),
             "userId": person.user_id, "timestamp": later, "originalTimestamp": later,
             "properties": {"cart_id": cart_id, "currency": "USD",
                            "value": sum(p.price for p in products) / 100,
                            "products": [{**product_line(p), "quantity": 1} for p in products]},
             "context": {"channel": "tiktok_shop"}},
        ],
        "sentAt": later,
        "context": {"library": {"name": "analytics.js", "version": "next-1.70.0"}},
    })  # fmt: skip
    store = next(s for s in STORES if not s.uses_square)
    order_shopify_pos(rng, result, person, store, moment + timedelta(minutes=40), number)
    order = result.shopify_orders[-1]
    order["email"] = person.email  # she gave her email at the till
    order["customer"]["email"] = person.email
    result.cart_then_store = (person.person_id, cart_id)


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
        stamp = iso_utc(clock)
        messages.append(
            {
                "type": "identify",
                "messageId": random_uuid(rng),
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
            {"batch": messages, "sentAt": iso_utc(clock + timedelta(seconds=2)), "context": context}
        )


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
        stamp = iso_utc(clock)
        message.update(
            messageId=random_uuid(rng), anonymousId=device, timestamp=stamp, originalTimestamp=stamp
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
    viewed = pick_products(rng, rng.randint(1, 4))
    for product in viewed:
        add({"type": "track", "event": "Product Viewed", "properties": product_line(product)})
    cart = [p for p in viewed if rng.random() < 0.45]
    for product in cart:
        properties = {**product_line(product), "quantity": 1}
        if buggy_build:  # the price as the app shows it: text no number reads ("$38.00")
            properties["price"] = f"${shopify_money(product.price)}"
            result.expected_rejections += 1
        add({"type": "track", "event": "Product Added", "properties": properties})
    if cart:
        add(
            {
                "type": "track",
                "event": "Checkout Started",
                "properties": {
                    # The abandoned cart journey waits on this cart (no draw: the same data).
                    "cart_id": f"cart-{device}-{int(clock.timestamp())}",
                    "value": sum(p.price for p in cart) / 100,
                    "currency": "USD",
                    "products": [{**product_line(p), "quantity": 1} for p in cart],
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
    batch = {"batch": messages, "sentAt": iso_utc(clock + timedelta(seconds=2)), "context": context}
    (result.app_batches if on_app else result.web_batches).append(batch)
    return cart
