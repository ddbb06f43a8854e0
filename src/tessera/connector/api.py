"""``/v1/connectors``: Shopify webhooks, and uploads of Amazon reports, TikTok Shop and Square
orders and retail sell-through files.

Every route keeps what it refuses (``commit_on_error``): the answer is a 4xx, the quarantine
row stays. An upload answers 200 when anything in it was taken, with each refused record
listed; 422 when nothing was.
"""

from __future__ import annotations

from fastapi import Query, Request, Response, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tessera.collect.errors import PayloadTooLarge
from tessera.collect.quarantine import QuarantineService
from tessera.connector.errors import InvalidRecord
from tessera.connector.formats import SPECS, OrderFormat
from tessera.connector.schemas import (
    ConnectorSourceOut,
    RejectedRecordOut,
    ShopifyRegistration,
    UploadResult,
    WebhookResult,
)
from tessera.connector.service import ConnectorService, Tally
from tessera.connector.webhooks import ShopifyService
from tessera.http.routing import DbSession, router
from tessera.workspace.auth import Admin, Marketer

api = router(prefix="/v1/connectors", tags=["connectors"])
WEBHOOK_LIMIT = 5 * 1024 * 1024
UPLOAD_LIMIT = 20 * 1024 * 1024  # larger files: `tessera import orders`, which streams
SOURCE_QUERY = Query(default=None, max_length=200, description="Source name (e.g. an account)")
TOO_LARGE_TO_KEEP = b"(the body was over the size limit and was not kept)"


async def _received(
    request: Request, session: Session, workspace_id: str | None, origin: str, limit: int
) -> bytes:
    """The body of a delivery or upload, read no further than ``limit``.

    From here on a refusal commits (``commit_on_error``): its quarantine row is the record of
    it. A body over the limit is refused (413) and kept as a quarantine row under
    ``workspace_id`` (None: unattributed), without the body.
    """
    request.state.commit_on_error = True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await run_in_threadpool(_refuse_large, session, workspace_id, origin, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_large(session: Session, workspace_id: str | None, origin: str, limit: int) -> None:
    reason = f"the body is over the limit of {limit // (1024 * 1024)} MB"
    entry = QuarantineService(session).keep(
        workspace_id, origin, reason, TOO_LARGE_TO_KEEP, "body", "request"
    )
    raise PayloadTooLarge(reason, limit=f"{limit // (1024 * 1024)} MB", quarantine_id=entry.id)


@api.post(
    "/shopify",
    response_model=ConnectorSourceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a Shopify shop (or rotate its webhook secret)",
)
def register_shopify(
    body: ShopifyRegistration, principal: Admin, session: DbSession, response: Response
) -> ConnectorSourceOut:
    source, created = ShopifyService(session).register(
        principal.workspace_id,
        body.shop_domain,
        body.webhook_secret.get_secret_value(),
        body.default_channel,
        actor=principal.actor,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return ConnectorSourceOut.of(source)


@api.post(
    "/shopify/{source_id}/webhooks",
    response_model=WebhookResult,
    summary="Shopify webhooks: orders/create|updated|cancelled, refunds/create",
    description="Signed with `X-Shopify-Hmac-Sha256` (HMAC-SHA256 of the raw body with the "
    "shop's secret); deduplicated by `X-Shopify-Webhook-Id`.",
)
async def shopify_webhook(source_id: str, request: Request, session: DbSession) -> WebhookResult:
    origin = f"POST /v1/connectors/shopify/{source_id}/webhooks"
    body = await _received(request, session, None, origin, WEBHOOK_LIMIT)
    headers = {name.lower(): value for name, value in request.headers.items()}
    outcome = await run_in_threadpool(
        ShopifyService(session).receive_webhook, source_id, headers, body, origin
    )
    return WebhookResult(
        status=outcome.status,
        topic=outcome.topic,
        order_id=outcome.order_id,
        outcome=outcome.outcome,
        new_refunds=list(outcome.new_refunds),
    )


def _result(tally: Tally) -> UploadResult:
    rejections = [
        RejectedRecordOut(
            where=r.where,
            reason=r.reason,
            field=r.field,
            quarantine_id=r.quarantine_id,
            records=r.records,
        )
        for r in tally.rejected
    ]
    return UploadResult(
        received=tally.received,
        accepted=tally.accepted,
        duplicates=tally.duplicates,
        rejected=tally.rejected_count,
        rejections=rejections,
        order_ids=tally.order_ids,
    )


def _answer(tally: Tally) -> UploadResult:
    """200 with the tally when anything was taken; 422 when the body held no orders or every
    one was refused (the tally rides along, so the books balance either way)."""
    result = _result(tally)
    if tally.received == 0:
        raise InvalidRecord("the body holds no orders", field="body", **result.model_dump())
    if tally.rejected and tally.accepted + tally.duplicates == 0:
        first = tally.rejected[0]
        detail = (
            first.reason
            if tally.received == 1
            else f"all {tally.received} records were refused; first, {first.where}: {first.reason}"
        )
        raise InvalidRecord(
            detail, field=first.field, quarantine_id=first.quarantine_id, **result.model_dump()
        )
    return result


async def _upload(
    fmt: OrderFormat, request: Request, workspace_id: str, session: Session, source: str | None
) -> UploadResult:
    """What every upload route does: read the body, apply its orders, answer the tally."""
    origin = f"POST {request.url.path}"
    body = await _received(request, session, workspace_id, origin, UPLOAD_LIMIT)
    tally = await run_in_threadpool(
        ConnectorService(session).apply_upload, SPECS[fmt], workspace_id, body, origin, source
    )
    return _answer(tally)


@api.post(
    "/amazon/orders",
    response_model=UploadResult,
    summary="Upload an Amazon order report (tab-separated flat file)",
)
async def upload_amazon_report(
    request: Request, principal: Marketer, session: DbSession, source: str | None = SOURCE_QUERY
) -> UploadResult:
    return await _upload(OrderFormat.AMAZON, request, principal.workspace_id, session, source)


@api.post(
    "/tiktok/orders",
    response_model=UploadResult,
    summary="TikTok Shop orders (API 202309 shape): one, a list, or {data: {orders: [...]}}",
)
async def upload_tiktok_orders(
    request: Request, principal: Marketer, session: DbSession, source: str | None = SOURCE_QUERY
) -> UploadResult:
    return await _upload(OrderFormat.TIKTOK, request, principal.workspace_id, session, source)


@api.post(
    "/square/orders",
    response_model=UploadResult,
    summary="Square orders: one, {order: ...}, a list, or {orders: [...]}",
)
async def upload_square_orders(
    request: Request, principal: Marketer, session: DbSession, source: str | None = SOURCE_QUERY
) -> UploadResult:
    return await _upload(OrderFormat.SQUARE, request, principal.workspace_id, session, source)


@api.post(
    "/retail/sell-through",
    response_model=UploadResult,
    summary="Upload a retail partner's weekly sell-through CSV",
)
async def upload_retail_sell_through(
    request: Request, principal: Marketer, session: DbSession, source: str | None = SOURCE_QUERY
) -> UploadResult:
    return await _upload(OrderFormat.RETAIL, request, principal.workspace_id, session, source)
