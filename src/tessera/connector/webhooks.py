"""Shopify shops as sources, and their webhooks: verify, dedupe, apply, and keep what is refused.

Quarantine kinds: ``order:shopify`` and ``refund:shopify`` (replayable), ``webhook:shopify`` (a
verified delivery with the wrong topic or shop: not replayable), and ``request`` for
deliveries that could not be tied to a workspace (unknown source, bad signature).

A verified webhook's refusals are kept in the source's workspace. An unverified one is kept
unattributed: anyone can post to a webhook URL, and an unverified body must not be able to
write into a brand's workspace. A stored secret no configured key opens is the server's
fault, not the sender's: the delivery is answered 500 naming the source (Shopify retries
it), and nothing is quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from tessera.collect.errors import MalformedPayload
from tessera.collect.quarantine import QuarantineService
from tessera.collect.sources import SourceService
from tessera.connector import shopify
from tessera.connector.errors import (
    InvalidRecord,
    InvalidWebhookSignature,
    UnknownSource,
    UnsupportedTopic,
)
from tessera.connector.formats import SPECS, OrderFormat
from tessera.connector.secrets import SourceSecrets
from tessera.connector.service import ConnectorService
from tessera.integrations.shopify import webhooks
from tessera.integrations.shopify.payloads import TOPICS
from tessera.kit.errors import InvalidInput
from tessera.kit.secrets import Keyring
from tessera.kit.time import utcnow
from tessera.models.collect import Source, SourceKind
from tessera.order.service import ApplyResult
from tessera.workspace.service import WorkspaceService

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    status: str  # applied | duplicate
    topic: str
    order_id: str | None = None
    outcome: str | None = None
    new_refunds: tuple[str, ...] = ()


class ShopifyService:
    def __init__(self, session: Session, keyring: Keyring | None = None) -> None:
        self.session = session
        self.connector = ConnectorService(session)
        self.sources = SourceService(session)
        self.quarantine = QuarantineService(session)
        self.secrets = SourceSecrets(session, keyring)

    # Shops ------------------------------------------------------------------------------------

    def register(
        self,
        workspace_id: str,
        shop_domain: str,
        webhook_secret: str,
        default_channel: str | None = None,
        actor: str = "system",
    ) -> tuple[Source, bool]:
        """Register a Shopify shop as a source, or rotate its webhook secret; (source, created).

        Refuses a domain that is not ``<shop>.myshopify.com`` (webhooks name that domain), a
        secret shorter than 16 characters, and a default channel the workspace does not have.
        The secret is kept sealed in the source's settings to verify signatures; no API
        returns it.
        """
        domain = shop_domain.strip().lower()
        if not _SHOP_DOMAIN.match(domain):
            raise InvalidInput(
                "shop_domain must look like brand.myshopify.com", field="shop_domain"
            )
        secret = webhook_secret.strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise InvalidInput(
                f"webhook_secret must be at least {MIN_SECRET_LENGTH} characters",
                field="webhook_secret",
            )
        if default_channel is not None:
            self.sources.require_channel(workspace_id, default_channel)
        existing = self.sources.repository.source_named(workspace_id, SourceKind.SHOPIFY, domain)
        settings = {"shop_domain": domain, "webhook_secret": self.secrets.keyring.seal(secret)}
        source = self.sources.connector_source(
            workspace_id, SourceKind.SHOPIFY, domain, default_channel, settings
        )
        source.settings = {**(source.settings or {}), **settings}
        if default_channel is not None:
            source.default_channel = default_channel
        self.session.flush()
        WorkspaceService(self.session).record(
            workspace_id,
            actor,
            "source.registered" if existing is None else "source.secret_rotated",
            source.id,
            {"kind": "shopify", "shop_domain": domain},
        )
        return source, existing is None

    # Webhooks ---------------------------------------------------------------------------------

    def receive_webhook(
        self, source_id: str, headers: Mapping[str, str], body: bytes, origin: str
    ) -> WebhookOutcome:
        """Verify, dedupe and apply one Shopify webhook delivery.

        Refuses (and keeps in the quarantine): an unknown source (404), a missing or wrong
        ``X-Shopify-Hmac-Sha256`` (401), a delivery from another shop or with a topic other than
        ``orders/create|updated|cancelled`` and ``refunds/create`` (422), a body that is not
        JSON (400) or not a valid order or refund (422, naming the field). A delivery whose
        ``X-Shopify-Webhook-Id`` was seen before is a duplicate and changes nothing, so
        Shopify's retries are harmless; a refused delivery is recorded too, and its retries
        are answered as duplicates, since the quarantine already holds it. A stored secret no
        configured key opens is a 500 naming the source, with nothing kept: the fault is the
        server's, and Shopify's retries succeed once the key is fixed.
        """
        source = self.sources.source_by_id(source_id)
        if source is None or source.kind is not SourceKind.SHOPIFY:
            reason = f"no Shopify source {source_id}; register the shop first"
            entry = self.quarantine.keep(None, origin, reason, body, "source_id", "request")
            raise UnknownSource(reason, field="source_id", quarantine_id=entry.id)
        signature = headers.get(webhooks.HMAC_HEADER)
        secret = self.secrets.secret(source, "webhook_secret") or ""
        if not webhooks.is_authentic(secret, body, signature):
            reason = (
                "the X-Shopify-Hmac-Sha256 header is missing"
                if not signature
                else "X-Shopify-Hmac-Sha256 does not match the body signed with the shop's secret"
            )
            entry = self.quarantine.keep(
                None, origin, reason, body, "X-Shopify-Hmac-Sha256", "request", source.id
            )
            raise InvalidWebhookSignature(
                reason, field="X-Shopify-Hmac-Sha256", quarantine_id=entry.id
            )
        workspace_id = source.workspace_id
        topic = headers.get(webhooks.TOPIC_HEADER, "").strip()
        shop = headers.get(webhooks.SHOP_HEADER, "").strip().lower()
        expected_shop = str((source.settings or {}).get("shop_domain") or "")
        if topic not in TOPICS or (shop and expected_shop and shop != expected_shop):
            header, reason = (
                ("X-Shopify-Topic", f"topic {topic!r} is not handled; send {', '.join(TOPICS)}")
                if topic not in TOPICS
                else ("X-Shopify-Shop-Domain", f"the delivery is from {shop}, not {expected_shop}")
            )
            entry = self.quarantine.keep(
                workspace_id, origin, reason, body, header, "webhook:shopify", source.id
            )
            raise UnsupportedTopic(reason, field=header, quarantine_id=entry.id)
        delivery = headers.get(webhooks.WEBHOOK_ID_HEADER, "").strip()[:200]
        if delivery and not self.connector.repository.record_delivery(
            workspace_id, source.id, delivery, topic
        ):
            return WebhookOutcome("duplicate", topic)
        self.sources.touch(source.id, utcnow())
        kind = "refund:shopify" if topic == "refunds/create" else "order:shopify"
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            reason = f"the body is not valid JSON: {exc}"
            entry = self.quarantine.keep(
                workspace_id, origin, reason, body, "body", kind, source.id
            )
            raise MalformedPayload(reason, field="body", quarantine_id=entry.id) from None
        try:
            if topic == "refunds/create":
                result = self.apply_refund(workspace_id, source, document)
            else:
                order = self.connector.to_canonical(
                    SPECS[OrderFormat.SHOPIFY], workspace_id, source, [document]
                )
                result = self.connector.apply_order(workspace_id, source, order)
        except InvalidInput as exc:
            field_name = exc.extensions.get("field")
            entry = self.quarantine.keep(
                workspace_id, origin, exc.detail, document, field_name, kind, source.id
            )
            raise InvalidRecord(exc.detail, field=field_name, quarantine_id=entry.id) from None
        return WebhookOutcome(
            "applied", topic, result.order_id, result.outcome.value, result.new_refunds
        )

    def apply_refund(self, workspace_id: str, source: Source, document: Any) -> ApplyResult:
        """Add a ``refunds/create`` refund to its order, even before the order arrives.

        The refund's money is parsed in its transactions' currency, else the order's (when it
        is here). Refuses a refund whose currency cannot be known either way.
        """
        refund = shopify.parse_refund(document)
        external_id = str(refund.order_id)
        order = self.connector.orders.find(workspace_id, shopify.PLATFORM, external_id)
        currency = shopify.refund_currency(refund) or (order.currency if order else None)
        if currency is None:
            raise InvalidRecord(
                "the refund has no transactions naming a currency and its order is not here "
                "yet; replay it once the order has arrived",
                field="transactions",
            )
        canonical = shopify.refund_to_canonical(refund, currency)
        return self.connector.orders.attach_refund(
            workspace_id,
            shopify.PLATFORM,
            external_id,
            canonical,
            currency,
            source.default_channel or "web",
            source.id,
        )
