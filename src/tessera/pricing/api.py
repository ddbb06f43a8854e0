"""``/v1/prices``: prices per SKU per channel, their history, the Omnibus prior price, parity."""

from __future__ import annotations

from fastapi import Query

from tessera.http.routing import DbSession, router
from tessera.models.pricing import ChannelPrice
from tessera.pricing.schemas import (
    AlertOut,
    AlertPage,
    FloorIn,
    FloorOut,
    ParityReport,
    ParityRowOut,
    PolicyIn,
    PolicyOut,
    PriceChangeOut,
    PriceHistory,
    PriceIn,
    PriceOut,
    PricePage,
    PriceSet,
)
from tessera.pricing.service import PriceService
from tessera.workspace.auth import Marketer, Viewer

api = router(prefix="/v1", tags=["prices"])


def _out(service: PriceService, workspace_id: str, price: ChannelPrice) -> PriceOut:
    out = PriceOut.model_validate(price)
    out.lowest_prior_30_days, out.is_reduction = service.omnibus(workspace_id, price)
    return out


@api.get("/prices", response_model=PricePage, summary="Prices in force, by SKU or channel")
def list_prices(
    principal: Viewer,
    session: DbSession,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    sku: str | None = Query(default=None, max_length=120),
    channel: str | None = Query(default=None, max_length=80),
) -> PricePage:
    service = PriceService(session)
    page = service.list_prices(principal.workspace_id, cursor, limit, sku, channel)
    return PricePage(
        items=[_out(service, principal.workspace_id, p) for p in page.items],
        next_cursor=page.next_cursor,
    )


@api.post(
    "/prices",
    response_model=PriceSet,
    summary="Set a SKU's price on a channel (kept in its history); parity is rechecked",
)
def set_price(body: PriceIn, principal: Marketer, session: DbSession) -> PriceSet:
    service = PriceService(session)
    price, alerts = service.set_price(principal.workspace_id, body, actor=principal.actor)
    return PriceSet(
        price=_out(service, principal.workspace_id, price),
        open_alerts=[AlertOut.model_validate(a) for a in alerts],
    )


@api.get(
    "/prices/history",
    response_model=PriceHistory,
    summary="Every price a SKU had on a channel, and the EU Omnibus lowest of the prior 30 days",
)
def price_history(
    principal: Viewer,
    session: DbSession,
    sku: str = Query(max_length=120),
    channel: str = Query(max_length=80),
) -> PriceHistory:
    service = PriceService(session)
    changes = service.history(principal.workspace_id, sku, channel)
    return PriceHistory(
        sku=sku,
        channel=channel,
        items=[PriceChangeOut.model_validate(c) for c in changes],
        lowest_prior_30_days=service.lowest_prior(principal.workspace_id, sku, channel),
    )


@api.get("/prices/parity", response_model=ParityReport, summary="Channel prices against the site")
def parity_report(
    principal: Viewer,
    session: DbSession,
    sku: str | None = Query(default=None, max_length=120, description="One SKU's prices only"),
) -> ParityReport:
    parity = PriceService(session).parity(principal.workspace_id, [sku] if sku else None)
    return ParityReport(
        site_channel=parity.site_channel,
        max_above_basis_points=parity.max_above_basis_points,
        rows=[
            ParityRowOut(
                sku=row.sku,
                channel=row.channel,
                amount=row.amount,
                currency=row.currency,
                site_amount=row.site_amount,
                floor=row.floor,
                basis_points_vs_site=row.basis_points_vs_site,
                breaches=row.breaches,
            )
            for row in parity.rows
        ],
        breaches=parity.breaches,
    )


@api.get("/prices/alerts", response_model=AlertPage, summary="Parity alerts, newest first")
def price_alerts(
    principal: Viewer,
    session: DbSession,
    include_resolved: bool = Query(default=False, description="Also the resolved ones"),
) -> AlertPage:
    alerts = PriceService(session).alerts(principal.workspace_id, include_resolved)
    return AlertPage(items=[AlertOut.model_validate(a) for a in alerts])


@api.get("/prices/policy", response_model=PolicyOut, summary="The parity policy")
def get_policy(principal: Viewer, session: DbSession) -> PolicyOut:
    return PolicyOut.model_validate(PriceService(session).policy(principal.workspace_id))


@api.put("/prices/policy", response_model=PolicyOut, summary="Set the parity policy")
def set_policy(body: PolicyIn, principal: Marketer, session: DbSession) -> PolicyOut:
    return PolicyOut.model_validate(PriceService(session).set_policy(principal.workspace_id, body))


@api.put("/prices/floors", response_model=FloorOut, summary="Set a SKU's price floor")
def set_floor(body: FloorIn, principal: Marketer, session: DbSession) -> FloorOut:
    return FloorOut.model_validate(PriceService(session).set_floor(principal.workspace_id, body))
