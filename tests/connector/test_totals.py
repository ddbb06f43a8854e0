"""Every connector's order adds up: ``subtotal - discount + shipping + tax == total``, the total
being the platform's own, and the subtotal the goods before discounts as the platform states
them (so a charge folded into the wrong part would show as a wrong subtotal).

What each platform's total holds, and where it goes:
- Shopify ``total_price``: line items less ``total_discounts`` (line, order and shipping
  discounts) plus shipping before its discounts, tax (unless ``taxes_included``), tips and
  duties. Tips and duties are kept in shipping; with tax inside the prices, the subtotal is
  the goods net of it.
- TikTok ``total_amount``: ``sub_total`` (after the seller's and TikTok's product discounts)
  plus ``shipping_fee`` (after shipping discounts), tax and market fees (retail delivery,
  small order...). Fees are kept in shipping; the subtotal is the products before discounts.
- Square ``total_money``: lines after discounts with additive tax, plus service charges and
  the tip, both kept in shipping; with an inclusive tax the subtotal is the goods net of it.
- Amazon: the order's total is built from its live items' rows: item prices, shipping and
  gift wrap (shipping), their taxes, less promotions.
- Retail sell-through: net sales, all subtotal.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.connector import amazon, retail, shopify, square, tiktok
from tessera.connector.errors import InvalidRecord
from tessera.connector.formats import SPECS, OrderFormat, layout
from tessera.connector.records import delimited_records, grouped, read_header
from tessera.order.domain import CanonicalOrder
from tests.support.connectors import fixture_bytes, fixture_json


def adds_up(order: CanonicalOrder) -> bool:
    return order.subtotal - order.discount + order.shipping + order.tax == order.total


def cents(text: str) -> int:
    return round(float(text) * 100)


def report_units(name: str, order_format: OrderFormat) -> list[list[dict[str, str]]]:
    spec = SPECS[order_format]
    stream = io.BytesIO(fixture_bytes(name))
    delimiter, normalise, required = layout(spec)
    columns, header = read_header(stream, delimiter, normalise, required)
    records = delimited_records(stream, columns, header, delimiter=delimiter)
    return [[r.data for r in unit] for unit, _ in grouped(records, spec.group_key)]


# Each platform's payloads with their goods before discounts as the platform states them -----


def shopify_cases() -> list[tuple[str, dict[str, Any], int]]:
    created = fixture_json("shopify/orders_create.json")
    tipped = {**created, "total_tip_received": "5.00", "total_price": "94.14",
              "original_total_duties_set": {"shop_money": {"amount": "2.00"}}}  # fmt: skip
    free_shipping = {**created, "total_discounts": "13.27", "total_price": "81.47",
                     "shipping_lines": [{"title": "Standard", "price": "5.67",
                                         "discounted_price": "0.00"}]}  # fmt: skip
    # A shop showing prices with 20 % VAT inside: 2 x 38.00 and 5.00 shipping, tax 13.50 in.
    serum = {**created["line_items"][0], "total_discount": "0.00"}
    vat_inside = {**created, "taxes_included": True, "total_discounts": "0.00",
                  "total_line_items_price": "76.00", "total_tax": "13.50", "total_price": "81.00",
                  "shipping_lines": [{"title": "Standard", "price": "5.00"}],
                  "line_items": [serum]}  # fmt: skip
    return [
        ("shopify web", created, cents(created["total_line_items_price"])),
        ("shopify pos", fixture_json("shopify/orders_create_pos.json"), 3800),
        ("shopify cancelled", fixture_json("shopify/orders_cancelled.json"), 8360),
        ("shopify tip and duties", tipped, 8360),
        ("shopify free shipping code", free_shipping, 8360),
        ("shopify prices with tax", vat_inside, 7600 - 1350),
    ]


def tiktok_cases() -> list[tuple[str, dict[str, Any], int]]:
    order = fixture_json("tiktok/order.json")
    payment = order["payment"]
    fee = {**order, "payment": {**payment, "retail_delivery_fee": "0.28",
                                "total_amount": "88.29"}}  # fmt: skip
    return [
        ("tiktok", order, cents(payment["original_total_product_price"])),
        ("tiktok retail delivery fee", fee, 8400),
    ]


def square_cases() -> list[tuple[str, dict[str, Any], int]]:
    payload = fixture_json("square/order.json")
    gross = sum(line["gross_sales_money"]["amount"] for line in payload["order"]["line_items"])
    tipped = copy.deepcopy(payload)
    tipped["order"].update(
        total_tip_money={"amount": 300, "currency": "USD"},
        total_service_charge_money={"amount": 150, "currency": "USD"},
        total_money={"amount": 8993 + 450, "currency": "USD"},
    )
    inclusive = copy.deepcopy(payload)  # the 693 of tax inside the 8,400 of prices
    inclusive["order"]["total_money"] = {"amount": 8400 - 100, "currency": "USD"}
    return [
        ("square", payload, gross),
        ("square tip and service charge", tipped, gross),
        ("square inclusive tax", inclusive, gross - 693),
    ]


JSON_CASES: list[tuple[str, Callable[[Any], CanonicalOrder], dict[str, Any], int]] = [
    *[(name, lambda p: shopify.order_to_canonical(shopify.parse_order(p), {}), payload, goods)
      for name, payload, goods in shopify_cases()],
    *[(name, lambda p: tiktok.order_to_canonical(tiktok.parse_order(p)), payload, goods)
      for name, payload, goods in tiktok_cases()],
    *[(name, lambda p: square.order_to_canonical(square.parse_order(p), {}), payload, goods)
      for name, payload, goods in square_cases()],
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "mapping", "payload", "goods"), JSON_CASES, ids=[case[0] for case in JSON_CASES]
)
def test_an_orders_parts_add_up_to_the_platforms_total(
    name: str, mapping: Callable[[Any], CanonicalOrder], payload: dict[str, Any], goods: int
) -> None:
    """Subtotal less discount plus shipping and tax is the platform's total, and the subtotal
    is the goods before discounts: tips, fees, duties and service charges sit in shipping."""
    order = mapping(payload)

    assert adds_up(order), name
    assert order.subtotal == goods


REPORTS = [
    ("amazon/orders.tsv", OrderFormat.AMAZON, [8400, 2400, 0]),
    ("amazon/orders_cancelled_item.tsv", OrderFormat.AMAZON, [1600]),
    ("retail/sell_through.csv", OrderFormat.RETAIL, [0, 0, 0]),
]


@pytest.mark.parametrize(("name", "order_format", "goods"), REPORTS, ids=[r[0] for r in REPORTS])
def test_a_reports_orders_add_up(name: str, order_format: OrderFormat, goods: list[int]) -> None:
    """Amazon's orders are built from their live items' rows; retail's are all subtotal."""
    if order_format is OrderFormat.AMAZON:
        orders = [amazon.rows_to_canonical(rows) for rows in report_units(name, order_format)]
    else:
        orders = [retail.rows_to_canonical(rows, {}) for rows in report_units(name, order_format)]

    assert [adds_up(order) for order in orders] == [True] * len(goods)
    assert [order.subtotal for order in orders] == goods


def test_a_retail_week_with_net_sales_is_all_subtotal() -> None:
    """Net sales in a currency: the order's total and subtotal, nothing else."""
    rows = report_units("retail/sell_through.csv", OrderFormat.RETAIL)[0]
    priced = [{**row, "net_sales": "10.50", "currency": "USD"} for row in rows]

    order = retail.rows_to_canonical(priced, {})

    assert (order.subtotal, order.discount, order.shipping, order.tax, order.total) == (
        3150, 0, 0, 0, 3150,
    )  # fmt: skip


AMOUNT = st.integers(min_value=0, max_value=2_000_000)


@given(goods=AMOUNT, off=st.integers(0, 100), shipping=AMOUNT, tax=AMOUNT, extra=AMOUNT)
def test_any_consistent_platform_total_maps_to_parts_that_add_up(
    goods: int, off: int, shipping: int, tax: int, extra: int
) -> None:
    """Whatever the amounts, a total the platform built from goods, discount, shipping, tax
    and a tip or fee maps to those goods, and the parts add up on every platform."""
    discount = goods * off // 100

    def text(amount: int) -> str:
        return f"{amount // 100}.{amount % 100:02d}"

    total = goods - discount + shipping + tax + extra
    shop = {**fixture_json("shopify/orders_create.json"), "total_discounts": text(discount),
            "shipping_lines": [{"price": text(shipping)}], "total_tax": text(tax),
            "total_tip_received": text(extra), "total_price": text(total)}  # fmt: skip
    tik = fixture_json("tiktok/order.json")
    tik["payment"] = {"currency": "USD", "sub_total": text(goods - discount),
                      "seller_discount": text(discount), "platform_discount": "0",
                      "shipping_fee": text(shipping), "tax": text(tax),
                      "small_order_fee": text(extra), "total_amount": text(total)}  # fmt: skip
    sq = fixture_json("square/order.json")
    sq["order"].update({
        name: {"amount": amount, "currency": "USD"}
        for name, amount in (("total_discount_money", discount), ("total_tax_money", tax),
                             ("total_service_charge_money", shipping),
                             ("total_tip_money", extra), ("total_money", total))
    })  # fmt: skip

    orders = [
        shopify.order_to_canonical(shopify.parse_order(shop), {}),
        tiktok.order_to_canonical(tiktok.parse_order(tik)),
        square.order_to_canonical(square.parse_order(sq), {}),
    ]

    assert [(adds_up(order), order.subtotal) for order in orders] == [(True, goods)] * 3


def test_a_total_below_its_own_shipping_and_tax_is_refused_naming_it() -> None:
    """A total that cannot hold its shipping and tax: the parts are not the platform's."""
    payload = {**fixture_json("shopify/orders_create.json"), "total_price": "1.00"}

    with pytest.raises(InvalidRecord) as refused:
        shopify.order_to_canonical(shopify.parse_order(payload), {})

    assert refused.value.extensions == {"field": "total_price"}
    assert refused.value.detail == (
        "total_price is less than the order's shipping and tax after its discounts"
    )
