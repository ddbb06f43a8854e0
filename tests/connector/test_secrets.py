"""A shop's webhook secret is stored sealed and opened to verify each delivery; a secret no
configured key opens is a 500 problem naming the source, with nothing kept or applied."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.connector.webhooks import ShopifyService
from tessera.db.types import JSONDocument
from tessera.integrations.shopify import webhooks
from tessera.kit.secrets import SEALED, Keyring, SecretUnreadable
from tessera.models.collect import QuarantineEntry, WebhookReceipt
from tessera.models.order import Order
from tests.support.cli import invoke
from tests.support.connectors import SECRET, deliver, fixture_json, keyed_workspace, register_shop

OLD = "old-secret-key-for-shops-0123456789"
NEW = "new-secret-key-for-shops-0123456789"
SHOP = "glow-lab.myshopify.com"
CREATE = fixture_json("shopify/orders_create.json")
SOURCE = sa.table("source", sa.column("id"), sa.column("settings", JSONDocument()))


def raw_settings(session: Session, source_id: str) -> str:
    """The column as the database holds it, read with plain SQL."""
    value = session.execute(
        sa.text("SELECT CAST(settings AS TEXT) FROM source WHERE id = :id"), {"id": source_id}
    ).scalar_one()
    return str(value)


def signed(body: bytes, webhook_id: str, secret: str = SECRET) -> dict[str, str]:
    return {
        webhooks.TOPIC_HEADER: "orders/create",
        webhooks.HMAC_HEADER: webhooks.sign(secret, body),
        webhooks.SHOP_HEADER: SHOP,
        webhooks.WEBHOOK_ID_HEADER: webhook_id,
    }


def count(session: Session, model: type[object]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_webhook_secret_is_stored_sealed_and_deliveries_still_verify(
    client: TestClient, session: Session
) -> None:
    """The database holds the shop's domain in the clear and its secret sealed; a delivery
    signed with the secret is applied."""
    keyed = keyed_workspace(session, "glow")
    source_id = register_shop(client, keyed)

    stored = json.loads(raw_settings(session, source_id))
    response = deliver(client, source_id, "orders/create", CREATE, "wh-1")

    assert SECRET not in raw_settings(session, source_id)
    assert stored["shop_domain"] == SHOP and list(stored["webhook_secret"]) == [SEALED]
    assert (response.status_code, response.json()["outcome"]) == (200, "created")


def test_after_the_key_changes_the_old_key_listed_as_previous_still_verifies(
    session: Session,
) -> None:
    """Sealed under OLD: NEW alone refuses naming the source; NEW with OLD as previous
    verifies; registering the shop again seals under NEW, which OLD cannot open."""
    keyed = keyed_workspace(session, "glow")
    source, _ = ShopifyService(session, keyring=Keyring(OLD)).register(
        keyed.workspace_id, SHOP, SECRET
    )
    body = json.dumps(CREATE).encode()
    origin = f"POST /v1/connectors/shopify/{source.id}/webhooks"

    with pytest.raises(SecretUnreadable) as refused:
        ShopifyService(session, keyring=Keyring(NEW)).receive_webhook(
            source.id, signed(body, "wh-1"), body, origin
        )
    rotated = ShopifyService(session, keyring=Keyring(NEW, previous=[OLD]))
    outcome = rotated.receive_webhook(source.id, signed(body, "wh-2"), body, origin)
    rotated.register(keyed.workspace_id, SHOP, SECRET + "-2")
    resaved = json.loads(raw_settings(session, source.id))["webhook_secret"]

    assert refused.value.detail.startswith(
        f"the webhook_secret of source {source.id} (shopify {SHOP}) cannot be decrypted"
    )
    assert (outcome.status, outcome.outcome) == ("applied", "created")
    assert Keyring(NEW).open(resaved, "it") == SECRET + "-2"
    with pytest.raises(SecretUnreadable):
        Keyring(OLD).open(resaved, "it")


@pytest.mark.parametrize("fault", ["wrong key", "altered"])
def test_a_secret_no_key_opens_is_a_500_problem_naming_the_source(
    client: TestClient, session: Session, fault: str
) -> None:
    """A correctly signed delivery to a shop whose secret the server cannot open: 500
    problem+json naming the source, no traceback, no order, no receipt, no quarantine."""
    keyed = keyed_workspace(session, "glow")
    if fault == "wrong key":
        stranger = Keyring("a-key-nobody-configured-0123456789")
        source, _ = ShopifyService(session, keyring=stranger).register(
            keyed.workspace_id, SHOP, SECRET
        )
        source_id = source.id
        session.commit()
    else:
        source_id = register_shop(client, keyed)
        token = json.loads(raw_settings(session, source_id))["webhook_secret"][SEALED]
        altered = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
        session.execute(
            sa.update(SOURCE)
            .where(SOURCE.c.id == source_id)
            .values(settings={"shop_domain": SHOP, "webhook_secret": {SEALED: altered}})
        )
        session.commit()

    response = deliver(client, source_id, "orders/create", CREATE, "wh-1")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://tessera.dev/problems/secret-unreadable"
    assert problem["detail"] == (
        f"the webhook_secret of source {source_id} (shopify {SHOP}) cannot be decrypted: it "
        "was sealed under a key that is neither TESSERA_SECRET_KEY nor one of "
        "TESSERA_PREVIOUS_SECRET_KEYS, or it was altered in the database"
    )
    assert "Traceback" not in response.text and SECRET not in response.text
    session.expire_all()
    assert (count(session, Order), count(session, WebhookReceipt)) == (0, 0)
    assert count(session, QuarantineEntry) == 0


def test_reseal_names_the_source_it_cannot_open_then_reseals_every_source(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """`tessera connectors reseal` stops with one line naming the source and exit code 1;
    once the shop is registered again, it reseals both sources and deliveries still verify."""
    keyed = keyed_workspace(session, "glow")
    kept = register_shop(client, keyed, "kept.myshopify.com")
    lost, _ = ShopifyService(
        session, keyring=Keyring("a-key-nobody-configured-0123456789")
    ).register(keyed.workspace_id, SHOP, SECRET)
    session.commit()
    kept_before = raw_settings(session, kept)
    refused = invoke(settings, session_factory, "connectors", "reseal")
    unchanged = raw_settings(session, kept)
    again = client.post("/v1/connectors/shopify", headers=keyed.headers,
                        json={"shop_domain": SHOP, "webhook_secret": SECRET})  # fmt: skip
    resealed = invoke(settings, session_factory, "connectors", "reseal")
    response = deliver(client, kept, "orders/create", CREATE, "wh-1", shop="kept.myshopify.com")

    assert refused[0] == 1
    assert refused[1].startswith(
        f"error: the webhook_secret of source {lost.id} (shopify {SHOP}) cannot be decrypted"
    )
    assert (unchanged, again.status_code) == (kept_before, 200)
    assert (resealed[0], resealed[1]) == (
        0, "sealed the secrets of 2 source(s) under the current key\n",
    )  # fmt: skip
    assert raw_settings(session, kept) != kept_before
    assert response.status_code == 200
