"""The demo brand's catalog, stores and shoppers: the ground truth that each channel's data
is made from (``tessera.demo.omnichannel``). Pure and deterministic, like all of the demo's data.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
CITY_OF_POSTCODE = {
    "10012": "New York", "10013": "New York", "11211": "Brooklyn", "78701": "Austin",
    "78704": "Austin", "90291": "Los Angeles", "90066": "Los Angeles", "60614": "Chicago",
    "98103": "Seattle",
}  # fmt: skip
STREETS = (
    "Oak Ave", "Main St", "Harbor Blvd", "Spring St", "Bedford Ave", "Congress Ave",
    "Abbot Kinney Blvd", "Clark St", "Fremont Ave", "Mulberry St", "Lake Shore Dr",
)  # fmt: skip


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


# The warehouse has none of it, its restock still on its way, while the channels keep selling it.
BACKORDERED_SKU = "EYE-15"


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
    street: str  # the address line orders are shipped to
    user_id: str | None  # has an account on the site or app
    web_device: str | None
    app_device: str | None
    tiktok_buyer_id: str | None
    shopify_customer_id: int

    @property
    def city(self) -> str:
        return CITY_OF_POSTCODE[self.postcode]


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
    # The web customer whose TikTok Shop guest order only the matcher joins: (person, order).
    tiktok_guest: tuple[str, str] | None = None
    # The shopper who left a cart on TikTok Shop and bought in a store: (person, cart id).
    cart_then_store: tuple[str, str] | None = None
    expected_rejections: int = 0  # messages the buggy app build sends that Collect refuses

    @property
    def event_count(self) -> int:
        return sum(len(b["batch"]) for b in self.web_batches + self.app_batches)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def random_phone(rng: random.Random) -> str:
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
                phone=random_phone(rng) if rng.random() < 0.7 else None,
                postcode=rng.choice(POSTCODES),
                street=f"{(index * 37) % 890 + 10} {STREETS[index % len(STREETS)]}",
                user_id=f"cus-{10000 + index}" if rng.random() < 0.55 else None,
                web_device=random_uuid(rng) if rng.random() < 0.85 else None,
                app_device=random_uuid(rng).upper() if rng.random() < 0.35 else None,
                tiktok_buyer_id=str(7_494_000_000_000_000_000 + index * 7919)
                if rng.random() < 0.3
                else None,
                shopify_customer_id=7_100_000_000 + index,
            )
        )
    return people


def pick_products(rng: random.Random, count: int) -> list[Product]:
    return rng.sample(CATALOG, k=min(count, len(CATALOG)))
