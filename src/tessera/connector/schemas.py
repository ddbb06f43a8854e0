"""API shapes of the connectors. Secrets go in, never out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tessera.collect.schemas import SourceOut
from tessera.models.collect import Source


class ShopifyRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop_domain: str = Field(max_length=200, examples=["glow-lab.myshopify.com"])
    webhook_secret: SecretStr = Field(
        description="The app's client secret that signs webhooks (X-Shopify-Hmac-Sha256)"
    )
    default_channel: str | None = Field(
        default=None, max_length=80, description="Channel of online orders (default: web)"
    )


class ConnectorSourceOut(SourceOut):
    shop_domain: str | None = None
    webhook_path: str | None = Field(
        default=None, description="Where Shopify should send this shop's webhooks"
    )

    @classmethod
    def of(cls, source: Source) -> ConnectorSourceOut:
        out = cls.model_validate(source, from_attributes=True)
        out.shop_domain = (source.settings or {}).get("shop_domain")
        out.webhook_path = f"/v1/connectors/shopify/{source.id}/webhooks"
        return out


class WebhookResult(BaseModel):
    status: str = Field(description="applied, or duplicate for a delivery seen before")
    topic: str
    order_id: str | None
    outcome: str | None = Field(description="created, updated or unchanged")
    new_refunds: list[str]


class RejectedRecordOut(BaseModel):
    where: str = Field(description="line 4, item 0...")
    reason: str
    field: str | None
    quarantine_id: str
    records: int = Field(description="Records refused with it (the rows of one order)")


class UploadResult(BaseModel):
    """``accepted + duplicates + rejected == received``, counted in records (rows, orders)."""

    received: int
    accepted: int
    duplicates: int
    rejected: int
    rejections: list[RejectedRecordOut]
    order_ids: list[str]
