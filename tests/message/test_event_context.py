"""A journey's message can show the event that let the person in: ``event`` (its properties)
and, for a cart or checkout, ``cart`` with the products left in it, read from the real SMTP
server; the catalog fills in what the event leaves out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.config import Settings
from tessera.kit.time import ManualClock
from tessera.message import context
from tessera.message.templates import TemplateDraft, TemplateService
from tessera.models.message import Message, MessageStatus
from tests.journey.flows import T0, Platform, track
from tests.journey.test_sending import ANA_EMAIL, ana
from tests.message.world import configure
from tests.support.factories import make_workspace
from tests.support.smtp_server import Mailbox

CART_EMAIL = (
    "<p>Hi {{ profile.first_name }}, you left:</p><ul>"
    "{% for item in cart.items %}<li>{{ item.name }} x{{ item.quantity }}: ${{ item.price }}"
    ' <a href="{{ item.url }}">view</a> <img src="{{ item.image_url }}"></li>{% endfor %}'
    "</ul><p>Total ${{ cart.total }} {{ cart.currency }}. Cart {{ event.cart_id }}."
    ' <a href="{{ cart.url }}">Finish checking out</a></p>'
)
LEFT_CART: dict[str, Any] = {
    "name": "Left cart",
    "entry": {"kind": "event", "event": "Checkout Started", "key": "properties.cart_id"},
    "start": "email",
    "steps": [
        {"id": "email", "type": "send_email", "template": "left_cart", "next": "end"},
        {"id": "end", "type": "exit"},
    ],
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def workspace_id(session: Session) -> str:
    workspace_id = make_workspace(session, "carts")
    session.commit()
    return workspace_id


@pytest.fixture
def platform(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace_id: str,
    clock: ManualClock,
) -> Platform:
    return Platform(session, session_factory, settings, workspace_id, clock, messages=True)


def test_an_abandoned_checkout_email_lists_the_carts_products_and_prices(
    platform: Platform, settings: Settings, smtp: tuple[int, Mailbox]
) -> None:
    """Checkout Started with two products (one without a url or image, which the catalog
    has): the email that arrives names both with their quantities and prices, links each
    product's page and picture, the cart's total, its id and its checkout address."""
    session, ws = platform.session, platform.workspace_id
    configure(session, ws, settings)
    ana(platform)
    CatalogService(session).create_product(
        ws,
        ProductIn(
            handle="tote",
            title="Canvas tote",
            url="https://shop.example/products/tote",
            image_url="https://cdn.example/tote.jpg",
            variants=[VariantIn(sku="TOTE")],
        ),
    )
    TemplateService(session).create(
        ws,
        TemplateDraft(name="left_cart", channel="email", subject="Your cart", body=CART_EMAIL),
        actor="test",
    )
    session.commit()
    platform.live(LEFT_CART, templates=False)

    platform.send(
        track(
            "c1", "Checkout Started", T0, user_id="ana", cart_id="cart-77", value=62.5,
            currency="USD", checkout_url="https://shop.example/checkout/77",
            products=[
                {"sku": "SHIRT-M", "name": "Linen shirt", "price": 49, "quantity": 1,
                 "url": "https://shop.example/products/shirt",
                 "image_url": "https://cdn.example/shirt.jpg"},
                {"sku": "TOTE", "name": "Canvas tote", "price": 6.75, "quantity": 2},
            ],
        )
    )  # fmt: skip
    platform.run()

    [email] = smtp[1].to(ANA_EMAIL)
    text = email.part("plain")
    assert "Linen shirt x1: $49.00" in text
    assert "Canvas tote x2: $6.75" in text
    assert "Total $62.50 USD. Cart cart-77." in text
    html = email.part("html")
    assert 'src="https://cdn.example/shirt.jpg"' in html
    assert 'src="https://cdn.example/tote.jpg"' in html
    [message] = platform.session.scalars(select(Message).where(Message.workspace_id == ws)).all()
    assert message.status is MessageStatus.SENT
    assert message.links == [
        "https://shop.example/products/shirt",
        "https://shop.example/products/tote",
        "https://shop.example/checkout/77",
    ]


def test_an_event_too_large_for_the_message_keeps_its_plain_properties() -> None:
    """An event of 100 KB keeps its plain values (a long text cut to 2,000 characters, an
    infinite number as none), not its nested ones; a cart of odd values reads as empty
    fields, never an error."""
    properties = {"order_id": "1001", "blob": "x" * 100_000, "nested": {"a": [1, 2]}}

    view = context.for_event(
        "Checkout Started",
        {**properties, "products": [{"sku": "A", "price": "abc", "quantity": -3}, "junk"],
         "value": float("inf")},
    )  # fmt: skip

    assert view["event"] == {"order_id": "1001", "blob": "x" * 2000, "value": None}
    assert view["cart"]["items"] == [
        {"name": "A", "sku": "A", "quantity": 1, "price": None, "url": None, "image_url": None}
    ]
    assert view["cart"]["total"] is None
    assert context.cart_view({"value": Decimal("12.5")})["total"] == "12.50"
