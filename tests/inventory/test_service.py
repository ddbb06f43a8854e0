"""Stock operations and reservations keep the ledger and the balances in step, never oversell,
and refuse bad input without changing anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.catalog.errors import UnknownSku
from tessera.inventory.errors import (
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidStockInput,
    LocationNotFound,
    ReadOnlyLocation,
    ReservationNotHeld,
)
from tessera.inventory.schemas import (
    DestinationIn,
    ReservationIn,
    ReservationLineIn,
)
from tessera.inventory.service.ledger import AVAILABILITY_CHANGED
from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tessera.kit.time import utcnow
from tessera.models.inventory import (
    ReservationLine,
    ReservationStatus,
    StockBalance,
    StockLedgerEntry,
)
from tessera.models.job import Job
from tests.inventory.stock import Shop, make_shop


def counters(session: Session, shop: Shop, sku: str, code: str) -> tuple[int, ...]:
    """(on_hand, reserved, committed, incoming, damaged, safety) of a SKU at a location."""
    balance = session.scalar(
        select(StockBalance)
        .where(
            StockBalance.variant_id == shop.variants[sku],
            StockBalance.location_id == shop.locations[code],
        )
        .execution_options(populate_existing=True)
    )
    if balance is None:
        return (0, 0, 0, 0, 0, 0)
    return (
        balance.on_hand, balance.reserved, balance.committed,
        balance.incoming, balance.damaged, balance.safety,
    )  # fmt: skip


def ledger_count(session: Session, shop: Shop) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(StockLedgerEntry)
            .where(StockLedgerEntry.workspace_id == shop.workspace_id)
        )
        or 0
    )


def jobs(session: Session, shop: Shop) -> list[dict[str, object]]:
    rows = session.scalars(
        select(Job)
        .where(Job.workspace_id == shop.workspace_id, Job.kind == AVAILABILITY_CHANGED)
        .order_by(Job.id)
    )
    return [dict(job.payload) for job in rows]


def reserve(
    reservations: ReservationService, shop: Shop, key: str, *lines: tuple[str, int], **extra: object
) -> tuple[str, list[tuple[str, str, int]]]:
    reservation, held = reservations.reserve(
        shop.workspace_id,
        ReservationIn(
            lines=[ReservationLineIn(sku=s, quantity=q) for s, q in lines],
            idempotency_key=key,
            **extra,  # type: ignore[arg-type]
        ),
    )
    codes = {v: k for k, v in shop.locations.items()}
    skus = {v: k for k, v in shop.variants.items()}
    return reservation.id, sorted(
        (skus[h.variant_id], codes[h.location_id], h.quantity) for h in held
    )


def test_receiving_adds_on_hand_and_uses_up_incoming(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """Goods received count against what was expected; the ledger keeps both entries."""
    stock.expect(shop.workspace_id, "SERUM", "wh", 10, "po-1")

    stock.receive(shop.workspace_id, "SERUM", "wh", 6, "grn-1")

    assert counters(session, shop, "SERUM", "wh") == (6, 0, 0, 4, 0, 0)
    assert ledger_count(session, shop) == 2


def test_the_same_idempotency_key_applies_a_change_once(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """A retried adjustment with its key changes stock once."""
    first = stock.adjust(shop.workspace_id, "SERUM", "wh", 5, "adj-1")
    second = stock.adjust(shop.workspace_id, "SERUM", "wh", 5, "adj-1")

    assert (first, second) == (True, False)
    assert counters(session, shop, "SERUM", "wh") == (5, 0, 0, 0, 0, 0)
    assert ledger_count(session, shop) == 1


def test_a_count_sets_on_hand_and_the_ledger_keeps_the_difference(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """Counting 3 where 8 were recorded writes -5."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 8)

    stock.count(shop.workspace_id, "SERUM", "wh", 3, "count-1")

    assert counters(session, shop, "SERUM", "wh") == (3, 0, 0, 0, 0, 0)
    entry = session.scalar(
        select(StockLedgerEntry).where(StockLedgerEntry.idempotency_key == "count:count-1")
    )
    assert entry is not None and entry.on_hand_delta == -5


def test_a_transfer_moves_available_units_and_refuses_more(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """Four of five units move; then asking for two more than are left changes nothing."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)

    stock.transfer(shop.workspace_id, "SERUM", "wh", "soho", 4, "t-1")
    before = ledger_count(session, shop)
    with pytest.raises(InsufficientStock):
        stock.transfer(shop.workspace_id, "SERUM", "wh", "soho", 2, "t-2")

    assert counters(session, shop, "SERUM", "wh") == (1, 0, 0, 0, 0, 0)
    assert counters(session, shop, "SERUM", "soho") == (4, 0, 0, 0, 0, 0)
    assert ledger_count(session, shop) == before


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s, w: s.transfer(w, "SERUM", "wh", "nowhere", 1), LocationNotFound),
        (lambda s, w: s.transfer(w, "SERUM", "wh", "wh", 1), InvalidStockInput),
        (lambda s, w: s.adjust(w, "NOPE", "wh", 1), UnknownSku),
        (lambda s, w: s.adjust(w, "SERUM", "wh", -1), InsufficientStock),
        (lambda s, w: s.receive(w, "SERUM", "wh", -3), InvalidStockInput),
        (lambda s, w: s.count(w, "SERUM", "wh", -1), InvalidStockInput),
        (lambda s, w: s.adjust(w, "SERUM", "fba", 4), ReadOnlyLocation),
        (lambda s, w: s.adjust(w, "KIT", "wh", 4), InvalidStockInput),
        (lambda s, w: s.damage(w, "SERUM", "wh", 1), InsufficientStock),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    session: Session, shop: Shop, stock: StockService, call: object, error: type
) -> None:
    """Unknown SKU or location, negative quantities, FBA and bundles: refused, nothing moved."""
    before = ledger_count(session, shop)
    nested = session.begin_nested()

    with pytest.raises(error):
        call(stock, shop.workspace_id)  # type: ignore[operator]
    nested.rollback()

    assert ledger_count(session, shop) == before
    assert counters(session, shop, "SERUM", "wh") == (0, 0, 0, 0, 0, 0)


def test_damage_holds_units_out_of_sale_and_a_write_off_removes_them(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """Damaged units stay on hand but are not available; written-off units leave on hand."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 10)

    stock.damage(shop.workspace_id, "SERUM", "wh", 2)
    stock.damage(shop.workspace_id, "SERUM", "wh", 3, write_off=True)

    assert counters(session, shop, "SERUM", "wh") == (7, 0, 0, 0, 2, 0)
    sellable = stock.sellable_by_location(
        shop.workspace_id, [shop.variants["SERUM"]], [shop.locations["wh"]]
    )
    assert sellable == {(shop.variants["SERUM"], shop.locations["wh"]): 5}


def test_a_reservation_holds_bundle_components_summed_across_lines(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """A KIT (1 SERUM + 2 CREAM) and 1 SERUM need 2 SERUM: with 1 SERUM there is no hold."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 1)
    stock.receive(shop.workspace_id, "CREAM", "wh", 5)

    with pytest.raises(InsufficientStock) as refused:
        reserve(reservations, shop, "r-1", ("KIT", 1), ("SERUM", 1))

    assert refused.value.extensions["shortages"] == [{"sku": "SERUM", "missing": 1, "available": 1}]
    assert counters(session, shop, "SERUM", "wh") == (1, 0, 0, 0, 0, 0)
    assert counters(session, shop, "CREAM", "wh") == (5, 0, 0, 0, 0, 0)


def test_a_reservation_splits_across_locations_when_one_is_short(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """Six SERUM: five from the first-ranked warehouse, one from Paris."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    stock.receive(shop.workspace_id, "SERUM", "paris", 5)

    _, held = reserve(reservations, shop, "r-1", ("SERUM", 6))

    assert held == [("SERUM", "paris", 1), ("SERUM", "wh", 5)]  # sorted by SKU, location
    assert counters(session, shop, "SERUM", "wh") == (5, 5, 0, 0, 0, 0)


def test_fewest_shipments_prefers_one_location_holding_everything(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """Paris holds both SKUs; the warehouse only one: Paris ships it all."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    stock.receive(shop.workspace_id, "SERUM", "paris", 5)
    stock.receive(shop.workspace_id, "CREAM", "paris", 5)

    _, held = reserve(reservations, shop, "r-1", ("SERUM", 1), ("CREAM", 1))

    assert held == [("CREAM", "paris", 1), ("SERUM", "paris", 1)]


def test_closest_and_keep_within_market_pick_the_nearest_location_in_the_country(
    session: Session,
    shop: Shop,
    locations: LocationService,
    reservations: ReservationService,
    stock: StockService,
) -> None:
    """A French destination near Paris: keep-within-market leaves Paris only."""
    from tessera.inventory.domain import RoutingRuleName
    from tessera.inventory.schemas import ChannelLocationsIn

    locations.set_channel_locations(
        shop.workspace_id,
        "web",
        ChannelLocationsIn(
            locations=["wh", "paris"],
            rules=[RoutingRuleName.KEEP_WITHIN_MARKET, RoutingRuleName.CLOSEST],
        ),
    )
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    stock.receive(shop.workspace_id, "SERUM", "paris", 5)

    _, near_paris = reserve(
        reservations, shop, "r-1", ("SERUM", 1),
        destination=DestinationIn(latitude=48.8, longitude=2.3),
    )  # fmt: skip

    assert near_paris == [("SERUM", "paris", 1)]


def test_bopis_holds_the_pickup_stores_stock_only(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """Soho has 1 SERUM: a pickup of 2 is refused even though the warehouse has plenty."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 50)
    stock.receive(shop.workspace_id, "SERUM", "soho", 1)

    with pytest.raises(InsufficientStock):
        reserve(reservations, shop, "r-1", ("SERUM", 2), pickup_location="soho")
    _, held = reserve(reservations, shop, "r-2", ("SERUM", 1), pickup_location="soho")

    assert held == [("SERUM", "soho", 1)]
    with pytest.raises(InvalidStockInput):
        reserve(reservations, shop, "r-3", ("SERUM", 1), pickup_location="wh")


def test_backorder_holds_beyond_stock_only_where_the_variant_allows_it(session: Session) -> None:
    """SERUM allows backorder: 3 held with 1 on hand; CREAM does not: refused."""
    shop = make_shop(session, "backorder", backorder=True)
    stock = StockService(session)
    stock.receive(shop.workspace_id, "SERUM", "wh", 1)

    _, held = reserve(ReservationService(session), shop, "r-1", ("SERUM", 3))

    assert held == [("SERUM", "wh", 3)]
    assert counters(session, shop, "SERUM", "wh") == (1, 3, 0, 0, 0, 0)
    with pytest.raises(InsufficientStock):
        reserve(ReservationService(session), shop, "r-2", ("CREAM", 1))


def test_an_expired_hold_never_blocks_even_before_the_sweeper_runs(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """One unit held for 60 s; a minute later someone else gets it, and the first is expired."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 1)
    first, _ = reserve(reservations, shop, "r-1", ("SERUM", 1), ttl_seconds=60)
    later = utcnow() + timedelta(seconds=61)

    assert stock.sellable_by_location(
        shop.workspace_id, [shop.variants["SERUM"]], [shop.locations["wh"]], now=later
    ) == {(shop.variants["SERUM"], shop.locations["wh"]): 1}
    second, second_lines = reservations.reserve(
        shop.workspace_id,
        ReservationIn(lines=[ReservationLineIn(sku="SERUM", quantity=1)], idempotency_key="r-2"),
        now=later,
    )

    assert counters(session, shop, "SERUM", "wh") == (1, 1, 0, 0, 0, 0)
    assert (second.status, [line.quantity for line in second_lines]) == (
        ReservationStatus.HELD,
        [1],
    )
    assert (
        reservations.get_reservation(shop.workspace_id, first)[0].status
        is ReservationStatus.EXPIRED
    )
    with pytest.raises(ReservationNotHeld):
        reservations.confirm(shop.workspace_id, first, now=later)


def test_the_sweeper_releases_expired_holds(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """Nobody reserves after the expiry; the sweeper gives the units back."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 2)
    held, _ = reserve(reservations, shop, "r-1", ("SERUM", 2), ttl_seconds=5)

    released = reservations.sweep_expired(now=utcnow() + timedelta(seconds=6))

    assert released == 1
    assert counters(session, shop, "SERUM", "wh") == (2, 0, 0, 0, 0, 0)
    assert (
        reservations.get_reservation(shop.workspace_id, held)[0].status is ReservationStatus.EXPIRED
    )


def test_confirm_commits_fulfil_ships_and_cancel_returns(
    session: Session,
    shop: Shop,
    reservations: ReservationService,
    stock: StockService,
    verifier: VerifyService,
) -> None:
    """Held -> committed -> shipped off on hand; another confirmed then cancelled comes back."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    shipped, _ = reserve(reservations, shop, "r-1", ("SERUM", 2))
    cancelled, _ = reserve(reservations, shop, "r-2", ("SERUM", 1))

    reservations.confirm(shop.workspace_id, shipped)
    reservations.confirm(shop.workspace_id, shipped)  # twice is once
    assert counters(session, shop, "SERUM", "wh") == (5, 1, 2, 0, 0, 0)
    reservations.fulfil_reservation(shop.workspace_id, shipped)
    reservations.confirm(shop.workspace_id, cancelled)
    reservations.cancel_reservation(shop.workspace_id, cancelled)

    assert counters(session, shop, "SERUM", "wh") == (3, 0, 0, 0, 0, 0)
    assert verifier.verify(shop.workspace_id).drift == []


def test_release_gives_units_back_and_is_idempotent(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """Releasing twice releases once; a confirmed hold cannot be released."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 3)
    released, _ = reserve(reservations, shop, "r-1", ("SERUM", 2))
    confirmed, _ = reserve(reservations, shop, "r-2", ("SERUM", 1))
    reservations.confirm(shop.workspace_id, confirmed)

    reservations.release(shop.workspace_id, released)
    reservations.release(shop.workspace_id, released)

    assert counters(session, shop, "SERUM", "wh") == (3, 0, 1, 0, 0, 0)
    with pytest.raises(ReservationNotHeld):
        reservations.release(shop.workspace_id, confirmed)


def test_a_reservation_key_again_returns_the_first_and_refuses_a_different_request(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """The same key and lines hold once; the same key with other lines is a 409."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    first, _ = reserve(reservations, shop, "r-1", ("SERUM", 2))

    again, _ = reserve(reservations, shop, "r-1", ("SERUM", 2))

    assert again == first
    assert counters(session, shop, "SERUM", "wh") == (5, 2, 0, 0, 0, 0)
    with pytest.raises(IdempotencyKeyReused):
        reserve(reservations, shop, "r-1", ("SERUM", 3))


def test_sellable_by_location_computes_bundles_from_components(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """KIT = 1 SERUM + 2 CREAM: 5 SERUM and 7 CREAM make 3 kits; nothing elsewhere."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    stock.receive(shop.workspace_id, "CREAM", "wh", 7)
    wh, soho = shop.locations["wh"], shop.locations["soho"]
    kit = shop.variants["KIT"]

    sellable = stock.sellable_by_location(shop.workspace_id, [kit], [wh, soho])

    assert sellable == {(kit, wh): 3, (kit, soho): 0}


def test_every_sellable_change_enqueues_one_availability_job(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """Receiving SERUM names SERUM (the consumer adds the KIT made of it); recording incoming
    names nothing, since nothing sellable changed."""
    stock.expect(shop.workspace_id, "SERUM", "wh", 10)
    stock.receive(shop.workspace_id, "SERUM", "wh", 4)

    payloads = jobs(session, shop)

    assert [p["variant_ids"] for p in payloads] == [[shop.variants["SERUM"]]]
    assert isinstance(payloads[0]["changed_at"], str)


def test_verify_reports_drift_and_repair_sets_balances_back_to_the_ledger(
    session: Session, shop: Shop, stock: StockService, verifier: VerifyService
) -> None:
    """A balance changed behind the ledger's back is found, then repaired."""
    stock.receive(shop.workspace_id, "SERUM", "wh", 5)
    session.execute(
        StockBalance.__table__.update()  # type: ignore[attr-defined]
        .where(StockBalance.variant_id == shop.variants["SERUM"])
        .values(on_hand=9)
    )

    report = verifier.verify(shop.workspace_id)
    repaired = verifier.verify(shop.workspace_id, repair=True)

    assert [(d.counter, d.balance, d.expected, d.source) for d in report.drift] == [
        ("on_hand", 9, 5, "ledger")
    ]
    assert repaired.repaired == 1
    assert counters(session, shop, "SERUM", "wh") == (5, 0, 0, 0, 0, 0)
    assert verifier.verify(shop.workspace_id).drift == []


def test_fba_quantities_are_imported_once_per_report_and_never_changed_by_hand(
    session: Session, shop: Shop, stock: StockService
) -> None:
    """Amazon's report sets FBA on hand (twice the same report is once); a hand adjustment
    at FBA is refused."""
    stock.import_quantity(shop.workspace_id, "SERUM", "fba", 40, "report-2026-11-25")
    again = stock.import_quantity(shop.workspace_id, "SERUM", "fba", 40, "report-2026-11-25")
    stock.import_quantity(shop.workspace_id, "SERUM", "fba", 35, "report-2026-11-26")

    assert again is False
    assert counters(session, shop, "SERUM", "fba") == (35, 0, 0, 0, 0, 0)
    with pytest.raises(ReadOnlyLocation):
        stock.adjust(shop.workspace_id, "SERUM", "fba", -1)


def test_the_sweeper_is_a_periodic_job_of_the_worker(
    session: Session, shop: Shop, reservations: ReservationService, stock: StockService
) -> None:
    """``stock.holds_expired`` is registered every 30 s with the worker's task modules, and
    its handler releases what ran out."""
    from tessera.inventory.tasks import release_expired_holds
    from tessera.job.registry import import_handler_modules, registry
    from tessera.worker import TASK_MODULES

    import_handler_modules(TASK_MODULES)
    stock.receive(shop.workspace_id, "SERUM", "wh", 1)
    reserve(reservations, shop, "r-1", ("SERUM", 1), ttl_seconds=1)
    session.execute(
        ReservationLine.__table__.update().values(expires_at=utcnow() - timedelta(seconds=1))  # type: ignore[attr-defined]
    )

    release_expired_holds(session, {"slot": utcnow().isoformat()})

    spec = next(s for s in registry.periodic_specs() if s.name == "stock.holds_expired")
    assert spec.every == timedelta(seconds=30)
    assert counters(session, shop, "SERUM", "wh") == (1, 0, 0, 0, 0, 0)
