"""A SKU's page, and the stock changes made by hand on it.

The page shows the variant and its product, a bundle's components (or the bundles it goes
into), the counters at every location, oversold positions with the orders behind them, its
listings per channel with what each channel was last told, its prices against the site and
the floor, and its ledger, a page at a time.

Forms: receive, adjust, count, transfer and damage, for marketers and above (checked here on
the server: a viewer sees no form and is refused, 403, if they post one anyway). Each asks
why, and the reason is the ledger entry's note; the change is audited under the member's
name. A hidden idempotency key made with the page means a form sent twice (a double click, a
reload) changes stock once. The values are checked by the API's own input shapes, so the form
and ``POST /v1/stock/*`` refuse the same things; a refused change shows the page again with
the error at its field and the values typed, and changes nothing.

API twins: ``/v1/variants?sku=``, ``/v1/stock?sku=``, ``/v1/stock/ledger?sku=``,
``/v1/stock/oversold?sku=``, ``/v1/listings?sku=``, ``/v1/prices/parity?sku=`` and the
``POST /v1/stock/...`` operations; the CLI's, ``tessera inventory show|ledger|receive|...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError

from tessera.catalog.service import CatalogService
from tessera.dashboard.pages.stock import COUNTERS, oversold_rows
from tessera.dashboard.session import Member, SignedIn, flash
from tessera.dashboard.web import DashboardRoute, link, render
from tessera.feed.service import FeedService
from tessera.http.routing import DbSession
from tessera.inventory.schemas import AdjustIn, CountIn, DamageIn, QuantityIn, TransferIn
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.stock import StockService
from tessera.kit.errors import Conflict, InvalidInput, NotFound, Problem
from tessera.kit.ids import new_id
from tessera.kit.time import utcnow
from tessera.models.catalog import Variant
from tessera.models.inventory import LocationKind
from tessera.models.workspace import Role
from tessera.pricing.service import PriceService
from tessera.workspace.service import WorkspaceService

pages = APIRouter(route_class=DashboardRoute, include_in_schema=False)
Shape = TypeVar("Shape", bound=BaseModel)

LEDGER_ROWS = 25
OPERATIONS = {
    "receive": "Receive",
    "adjust": "Adjust",
    "count": "Count",
    "transfer": "Transfer",
    "damage": "Damage",
}
# The API's field names, as the form names them (one number field, "quantity", in each form).
FORM_FIELDS = {
    "delta": "quantity",
    "counted": "quantity",
    "from_location": "location",
    "note": "reason",
}


@dataclass(frozen=True)
class StockForm:
    """What one of the page's forms sent, kept as typed so a refused form shows it again."""

    operation: str = ""
    location: str = ""
    to_location: str = ""
    quantity: str = ""
    reason: str = ""
    write_off: bool = False
    idempotency_key: str = ""


@pages.get("/variants/{variant_id}")
def sku(
    request: Request,
    member: SignedIn,
    session: DbSession,
    variant_id: str,
    location: str = "",
    cursor: str | None = None,
) -> Response:
    """One SKU; another workspace's is not found. ``location`` narrows the ledger."""
    variant = CatalogService(session).get_variant(member.workspace.id, variant_id)
    return _page(request, member, session, variant, location, cursor)


@pages.post("/variants/{variant_id}/stock")
def change_stock(
    request: Request,
    member: SignedIn,
    session: DbSession,
    variant_id: str,
    operation: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    to_location: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    write_off: Annotated[str, Form()] = "",
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """Apply one form's stock change; marketers and above. A refusal shows the page again
    with the error at its field (422 for what was typed, 404 for an unknown location, 409
    for what the stock cannot take) and nothing changed."""
    member.require(Role.MARKETER)
    variant = CatalogService(session).get_variant(member.workspace.id, variant_id)
    form = StockForm(
        operation=operation,
        location=location,
        to_location=to_location,
        quantity=quantity.strip(),
        reason=reason.strip(),
        write_off=bool(write_off),
        idempotency_key=idempotency_key.strip() or new_id("op"),
    )
    try:
        applied, done = _apply(session, member.workspace.id, variant, form)
    except (InvalidInput, NotFound, Conflict) as problem:
        return _page(request, member, session, variant, "", None, form, problem)
    if applied:
        WorkspaceService(session).record(
            member.workspace.id,
            member.user.id,
            f"stock.{form.operation}",
            variant.sku,
            {"location": form.location, "to_location": form.to_location or None,
             "quantity": form.quantity, "reason": form.reason},
        )  # fmt: skip
        flash(request, f"{done} {variant.sku}: {form.reason}")
    else:
        flash(request, "That form was sent before: the stock changed once.", "info")
    return RedirectResponse(f"/variants/{variant.id}#ledger", status_code=303)


def _apply(
    session: DbSession, workspace_id: str, variant: Variant, form: StockForm
) -> tuple[bool, str]:
    """Check the form with the API's input shape and run the operation; returns whether it
    changed stock (False: the same form again) and what was done, for the flash message."""
    if form.operation not in OPERATIONS:
        raise InvalidInput("choose receive, adjust, count, transfer or damage", field="operation")
    if not form.reason:
        raise InvalidInput("say why: the reason is kept in the stock ledger", field="reason")
    stock = StockService(session)
    sku, key, note = variant.sku, form.idempotency_key, form.reason
    typed = {"sku": sku, "idempotency_key": key, "note": note, "location": form.location}
    if form.operation == "transfer":
        move = _checked(
            TransferIn,
            {"sku": sku, "idempotency_key": key, "note": note, "from_location": form.location,
             "to_location": form.to_location, "quantity": form.quantity},
        )  # fmt: skip
        source, target, units = move.from_location, move.to_location, move.quantity
        applied = stock.transfer(workspace_id, sku, source, target, units, key, note)
        return applied, f"Moved {units} from {source} to {target} of"
    if form.operation == "adjust":
        delta = _checked(AdjustIn, {**typed, "delta": form.quantity}).delta
        applied = stock.adjust(workspace_id, sku, form.location, delta, key, note)
        return applied, f"Adjusted on hand by {delta:+d} at {form.location} for"
    if form.operation == "count":
        counted = _checked(CountIn, {**typed, "counted": form.quantity}).counted
        applied = stock.count(workspace_id, sku, form.location, counted, key, note)
        return applied, f"Counted {counted} at {form.location} of"
    if form.operation == "damage":
        damage = _checked(
            DamageIn, {**typed, "quantity": form.quantity, "write_off": form.write_off}
        )
        units, write_off = damage.quantity, damage.write_off
        applied = stock.damage(workspace_id, sku, form.location, units, write_off, key, note)
        return (
            applied,
            f"{'Wrote off' if write_off else 'Marked damaged'} {units} at {form.location} of",
        )
    units = _checked(QuantityIn, {**typed, "quantity": form.quantity}).quantity
    applied = stock.receive(workspace_id, sku, form.location, units, key, note)
    return applied, f"Received {units} at {form.location} of"


def _checked(shape: type[Shape], values: dict[str, Any]) -> Shape:
    """``values`` as the API's input ``shape``; its first refusal as the form's error."""
    try:
        return shape.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][-1]) if error["loc"] else "quantity"
        field = FORM_FIELDS.get(name, name)
        raise InvalidInput(f"{field.replace('_', ' ')}: {_plainly(error)}", field=field) from None


def _plainly(error: Any) -> str:
    """A pydantic refusal as a person reads it."""
    context = error.get("ctx") or {}
    kind = error["type"]
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "must be a whole number"
    if kind == "missing":
        return "is needed"
    if kind == "greater_than_equal":
        return f"must be at least {context.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {context.get('le'):,}"
    if kind == "string_pattern_mismatch":
        return "is not a location code"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    return str(error["msg"])


def _page(
    request: Request,
    member: Member,
    session: DbSession,
    variant: Variant,
    location: str,
    cursor: str | None,
    form: StockForm | None = None,
    error: Problem | None = None,
) -> Response:
    workspace_id = member.workspace.id
    now = utcnow()
    catalog = CatalogService(session)
    product, siblings = catalog.get_product(workspace_id, variant.product_id)
    locations = list(LocationService(session).locations(workspace_id))
    stock = StockService(session)
    components = catalog.components([variant.id]).get(variant.id, [])
    bundles = catalog.bundles_containing([variant.id])
    named = catalog.variants_by_id(workspace_id, {c.variant_id for c in components} | set(bundles))
    ledger_location = (
        LocationService(session).location_by_code(workspace_id, location) if location else None
    )
    ledger = stock.ledger(
        workspace_id, variant.id, ledger_location.id if ledger_location else None, cursor,
        LEDGER_ROWS,
    )  # fmt: skip
    listings = sorted(catalog.listings_for(workspace_id, [variant.id]), key=lambda x: x.channel)
    parity = PriceService(session).parity(workspace_id, [variant.sku])
    stocked = [c.variant_id for c in components] or [variant.id]
    oversold = oversold_rows(session, workspace_id, variant_ids=stocked)
    balances = {
        b.location_id: (b, free)
        for b, free in stock.balances(workspace_id, [variant.id], None, now)
    }
    sellable = (
        stock.sellable_by_location(workspace_id, [variant.id], [loc.id for loc in locations], now)
        if locations
        else {}
    )
    # A refused form keeps its key: nothing was applied under it, and sent again it applies once.
    shown = form or StockForm(idempotency_key=new_id("op"))
    context: dict[str, Any] = {
        "member": member,
        "variant": variant,
        "product": product,
        "siblings": [v for v in siblings if v.id != variant.id],
        "locations": locations,
        "location_by_id": {loc.id: loc for loc in locations},
        "balances": balances,
        "on_hand_total": sum(balance.on_hand for balance, _ in balances.values()),
        "sellable": {loc_id: units for (_, loc_id), units in sellable.items()},
        "counters": COUNTERS,
        "components": sorted(
            ((named[c.variant_id], c.quantity) for c in components if c.variant_id in named),
            key=lambda part: part[0].sku,
        ),
        "bundles": sorted((named[b] for b in bundles if b in named), key=lambda v: v.sku),
        "listings": listings,
        "pushed": FeedService(session).states_of_listings(workspace_id, [x.id for x in listings]),
        "parity": parity,
        "oversold": oversold,
        "short_at": {
            row.location.id: row.position.short for row in oversold if row.variant_id == variant.id
        },
        "ledger": ledger,
        "ledger_location": location,
        "first_ledger_url": link(f"/variants/{variant.id}", "ledger", location=location),
        "next_ledger_url": link(
            f"/variants/{variant.id}", "ledger", location=location, cursor=ledger.next_cursor
        )
        if ledger.next_cursor
        else None,
        "is_first_ledger_page": not cursor,
        "can_change": member.can(Role.MARKETER) and not variant.is_bundle,
        "changeable": [loc for loc in locations if loc.kind is not LocationKind.FBA],
        "operations": OPERATIONS,
        "form": shown,
        "form_fields": FORM_FIELDS,
        "error": error,
    }
    return render(request, "sku.html", context, status=error.status if error else 200)
