"""The catalog: products and bundles through the service and the API, CSV and Shopify imports
that report what they refuse, and listings mapping SKUs to channel ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.catalog.errors import DuplicateSku, InvalidBundle, UnknownSku
from tessera.catalog.schemas import ComponentIn, ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.models.catalog import FulfillmentChannel
from tests.support.connectors import keyed_workspace
from tests.support.factories import make_workspace

FIXTURES = Path(__file__).parent / "fixtures"
CSV = "\n".join(
    [
        "handle,title,vendor,sku,variant_title,gtin,weight_grams,allows_backorder,components,"
        "shopify_inventory_item_id,amazon_seller_sku,amazon_asin,amazon_fulfillment,tiktok_sku_id",
        "glow-kit,Glow Kit,Glow Lab,KIT-1,,,,false,SERUM-30:1;CLEANSER:2,,"
        "KIT-1-AMZ,B0KIT00001,fba,",
        "night-serum,Night Serum,Glow Lab,SERUM-30,30 ml,0850012345678,120,false,,46123456789001,"
        "SERUM-30-AMZ,B0SERUM001,mfn,1729384756",
        "cleanser,Cleanser,Glow Lab,CLEANSER,150 ml,,200,true,,,,,,",
        "broken,Broken,,BAD SKU,,,,false,,,,,,",
        "weird,Weird,,WEIRD-1,,,-5,false,,,,,,",
    ]
)


def test_a_csv_import_creates_bundles_after_their_components_and_lists_skus(
    session: Session,
) -> None:
    """The kit row comes first yet finds its components; two bad rows are reported by line."""
    workspace_id = make_workspace(session, "csv")
    service = CatalogService(session)

    summary = service.import_csv(workspace_id, CSV)

    assert (summary.products_created, summary.variants_created, summary.listings) == (3, 3, 4)
    assert [e.split(":")[0] for e in summary.errors] == ["line 5", "line 6"]
    kit = service.variant_by_sku(workspace_id, "KIT-1")
    serum = service.variant_by_sku(workspace_id, "SERUM-30")
    cleanser = service.variant_by_sku(workspace_id, "CLEANSER")
    assert kit.is_bundle and cleanser.allows_backorder and serum.gtin == "0850012345678"
    assert [(c.variant_id, c.quantity) for c in service.components([kit.id])[kit.id]] == sorted(
        [(serum.id, 1), (cleanser.id, 2)]
    )
    listings = {
        (x.channel, x.external_id): x
        for x in service.listings_for(workspace_id, [kit.id, serum.id])
    }
    assert listings[("amazon", "KIT-1-AMZ")].fulfillment_channel is FulfillmentChannel.AMAZON
    assert sorted(listings) == [
        ("amazon", "KIT-1-AMZ"), ("amazon", "SERUM-30-AMZ"),
        ("tiktok_shop", "1729384756"), ("web", "46123456789001"),
    ]  # fmt: skip


def test_importing_the_same_csv_twice_updates_instead_of_duplicating(session: Session) -> None:
    """A second run updates the three products and their variants."""
    workspace_id = make_workspace(session, "csv2")
    service = CatalogService(session)
    service.import_csv(workspace_id, CSV)

    again = service.import_csv(workspace_id, CSV)

    assert (again.products_created, again.products_updated, again.variants_updated) == (0, 3, 3)


def test_a_shopify_product_payload_imports_variants_with_sku_and_their_inventory_items(
    session: Session,
) -> None:
    """Two variants with SKUs (weights in kg and oz, backorder from inventory_policy), the
    SKU-less sample refused; each listed on web under its inventory item id."""
    workspace_id = make_workspace(session, "shopify")
    service = CatalogService(session)

    summary = service.import_shopify(workspace_id, (FIXTURES / "products.json").read_text())

    assert summary.errors == ["products[0].variants[2]: a variant needs a SKU"]
    small = service.variant_by_sku(workspace_id, "SERUM-30")
    large = service.variant_by_sku(workspace_id, "SERUM-50")
    assert (small.weight_grams, small.allows_backorder) == (120, False)
    assert (large.weight_grams, large.allows_backorder, large.gtin) == (200, True, None)
    listing = service.listings_for(workspace_id, [small.id], "web")[0]
    assert (listing.external_id, listing.external_variant_id, listing.external_product_id) == (
        "46123456789001",
        "44123456789001",
        "8123456789012",
    )


def test_a_shopify_products_page_comes_from_its_handle_and_pictures_from_its_images(
    session: Session,
) -> None:
    """With the storefront given, a product's page is /products/<handle>; its picture is its
    main image, a variant's the image its image_id names; a picture that is no http(s)
    address is left out, and the variant without one has none of its own."""
    workspace_id = make_workspace(session, "shopify-pages")
    payload = {
        "product": {
            "id": 1, "handle": "linen-shirt", "title": "Linen shirt",
            "image": {"id": 10, "src": "https://cdn.shopify.com/shirt.jpg"},
            "images": [
                {"id": 10, "src": "https://cdn.shopify.com/shirt.jpg"},
                {"id": 11, "src": "https://cdn.shopify.com/shirt-blue.jpg"},
                {"id": 12, "src": "javascript:alert(1)"},
            ],
            "variants": [
                {"id": 100, "sku": "SHIRT-BLUE", "image_id": 11},
                {"id": 101, "sku": "SHIRT-RED", "image_id": 12},
                {"id": 102, "sku": "SHIRT-WHITE"},
            ],
        }
    }  # fmt: skip
    service = CatalogService(session)

    summary = service.import_shopify(
        workspace_id, json.dumps(payload), storefront="https://shop.example/"
    )

    assert summary.errors == []
    blue = service.variant_by_sku(workspace_id, "SHIRT-BLUE")
    product, variants = service.get_product(workspace_id, blue.product_id)
    assert (product.url, product.image_url) == (
        "https://shop.example/products/linen-shirt",
        "https://cdn.shopify.com/shirt.jpg",
    )
    assert sorted((v.sku, v.image_url) for v in variants) == [
        ("SHIRT-BLUE", "https://cdn.shopify.com/shirt-blue.jpg"),
        ("SHIRT-RED", None),
        ("SHIRT-WHITE", None),
    ]


def test_bundles_refuse_unknown_components_bundles_of_bundles_and_duplicate_skus(
    session: Session,
) -> None:
    """Each refusal names what is wrong."""
    workspace_id = make_workspace(session, "bundles")
    service = CatalogService(session)
    service.create_product(
        workspace_id, ProductIn(handle="a", title="A", variants=[VariantIn(sku="A")])
    )
    service.create_product(
        workspace_id,
        ProductIn(
            handle="kit",
            title="Kit",
            variants=[VariantIn(sku="KIT", components=[ComponentIn(sku="A", quantity=2)])],
        ),
    )

    with pytest.raises(UnknownSku):
        service.create_product(
            workspace_id,
            ProductIn(
                handle="b",
                title="B",
                variants=[VariantIn(sku="B", components=[ComponentIn(sku="NOPE", quantity=1)])],
            ),
        )
    with pytest.raises(InvalidBundle):
        service.create_product(
            workspace_id,
            ProductIn(
                handle="c",
                title="C",
                variants=[VariantIn(sku="C", components=[ComponentIn(sku="KIT", quantity=1)])],
            ),
        )
    with pytest.raises(DuplicateSku):
        service.create_product(
            workspace_id, ProductIn(handle="d", title="D", variants=[VariantIn(sku="A")])
        )


def test_products_and_listings_through_the_api(client: TestClient, session: Session) -> None:
    """A product with a bundle is created and read back; a listing of an unknown SKU is a 404."""
    keyed = keyed_workspace(session, "catapi")
    body = {
        "handle": "serum",
        "title": "Serum",
        "variants": [
            {"sku": "SERUM", "weight_grams": 120},
            {"sku": "DUO", "components": [{"sku": "SERUM", "quantity": 2}]},
        ],
    }

    created = client.post("/v1/products", headers=keyed.headers, json=body)
    duplicate = client.post("/v1/products", headers=keyed.headers, json=body)
    listed = client.post(
        "/v1/listings",
        headers=keyed.headers,
        json={"sku": "SERUM", "channel": "amazon", "platform": "amazon", "external_id": "SERUM-AMZ",
              "seller_sku": "SERUM-AMZ", "asin": "B0SERUM001", "fulfillment_channel": "mfn"},
    )  # fmt: skip
    unknown = client.post(
        "/v1/listings",
        headers=keyed.headers,
        json={"sku": "NOPE", "channel": "web", "platform": "shopify", "external_id": "1"},
    )

    assert created.status_code == 201, created.text
    product = client.get(f"/v1/products/{created.json()['id']}", headers=keyed.headers).json()
    duo = next(v for v in product["variants"] if v["sku"] == "DUO")
    assert (duo["is_bundle"], [(c["sku"], c["quantity"]) for c in duo["components"]]) == (
        True,
        [("SERUM", 2)],
    )
    assert duplicate.status_code == 409
    assert listed.status_code == 200 and listed.json()["asin"] == "B0SERUM001"
    assert (unknown.status_code, unknown.json()["type"]) == (
        404,
        "https://tessera.dev/problems/unknown-sku",
    )
    page = client.get("/v1/listings?channel=amazon", headers=keyed.headers).json()
    assert [x["external_id"] for x in page["items"]] == ["SERUM-AMZ"]
