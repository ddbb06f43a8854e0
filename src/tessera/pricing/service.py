"""Use cases of pricing. Never commits: the caller's scope does.

Every price set is kept (``price_change``); the price in force per SKU and channel is the one
with the newest ``effective_at`` (``channel_price``), so a back-dated import fills the history
without overwriting today's price. After each change the SKU's parity is checked and alerts are
opened or resolved: a channel more than the allowed share above the site's price, or below
the SKU's floor.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.kit.ids import new_id
from tessera.kit.logging import get_logger
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, page_from
from tessera.kit.time import ensure_utc, utcnow
from tessera.models.pricing import (
    ChannelPrice,
    PriceAlert,
    PriceBreach,
    PriceChange,
    PriceFloor,
    PricePolicy,
)
from tessera.pricing import domain
from tessera.pricing.errors import InvalidPrice, PriceNotFound
from tessera.pricing.repository import PriceRepository
from tessera.pricing.schemas import FloorIn, PolicyIn, PriceIn

log = get_logger("tessera.pricing")
FUTURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_SITE_CHANNEL = "web"


@dataclass(frozen=True, slots=True)
class ParityRow:
    sku: str
    channel: str
    amount: int
    currency: str
    site_amount: int | None
    floor: int | None
    basis_points_vs_site: int | None
    breaches: list[PriceBreach]


@dataclass(frozen=True, slots=True)
class Parity:
    site_channel: str
    max_above_basis_points: int
    rows: list[ParityRow]

    @property
    def breaches(self) -> int:
        return sum(len(row.breaches) for row in self.rows)


class PriceService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = PriceRepository(session)

    def set_price(
        self, workspace_id: str, data: PriceIn, actor: str = "system"
    ) -> tuple[ChannelPrice, list[PriceAlert]]:
        """Record a price of a SKU on a channel; it becomes the price in force unless a newer
        one already is. Returns the price in force and the SKU's open parity alerts.

        A repeated ``idempotency_key`` changes nothing and returns the current state. Refuses
        an unknown SKU (404), an ``effective_at`` in the future (422), and a currency other
        than the one the SKU already has on that channel (422): a price series in two
        currencies has no lowest price.
        """
        CatalogService(self.session).variant_by_sku(workspace_id, data.sku)
        now = utcnow()
        effective_at = ensure_utc(data.effective_at) if data.effective_at else now
        if effective_at > now + FUTURE_TOLERANCE:
            raise InvalidPrice("effective_at is in the future", field="effective_at")
        policy = self.policy(workspace_id)
        site = policy.site_channel
        if data.channel != site:  # lock the site row first, always in this order
            self.repository.locked_price(workspace_id, data.sku, site)
        self.repository.claim_price_row(
            {
                "id": new_id("prc"),
                "workspace_id": workspace_id,
                "sku": data.sku,
                "channel": data.channel,
                "amount": data.amount,
                "currency": data.currency,
                "effective_at": effective_at,
                "updated_at": now,
            }
        )
        current = self.repository.locked_price(workspace_id, data.sku, data.channel)
        assert current is not None, "claimed a statement ago"
        if current.currency != data.currency:
            raise InvalidPrice(
                f"{data.sku} is priced in {current.currency} on {data.channel}", field="currency"
            )
        key = data.idempotency_key or new_id("pch")
        inserted = self.repository.add_change(
            {
                "id": new_id("pch"),
                "workspace_id": workspace_id,
                "sku": data.sku,
                "channel": data.channel,
                "amount": data.amount,
                "currency": data.currency,
                "effective_at": effective_at,
                "recorded_at": now,
                "actor": actor,
                "idempotency_key": key,
            }
        )
        if inserted and effective_at >= current.effective_at:
            current.amount = data.amount
            current.effective_at = effective_at
            current.updated_at = now
            self.session.flush()
        alerts = self._check_sku(workspace_id, data.sku, policy, now) if inserted else None
        return current, list(
            alerts if alerts is not None else self.repository.open_alerts(workspace_id, data.sku)
        )

    def get_price(self, workspace_id: str, sku: str, channel: str) -> ChannelPrice:
        """The price in force; refuses (404) a SKU with no price on that channel."""
        price = self.repository.locked_price(workspace_id, sku, channel)
        if price is None:
            raise PriceNotFound(f"{sku} has no price on {channel}", field="sku")
        return price

    def list_prices(
        self,
        workspace_id: str,
        cursor: str | None = None,
        limit: int = 50,
        sku: str | None = None,
        channel: str | None = None,
    ) -> Page[ChannelPrice]:
        """Prices in force, one page at a time, by SKU or channel."""
        limit = clamp_limit(limit)
        rows = self.repository.prices(workspace_id, decode_cursor(cursor), limit + 1, sku, channel)
        return page_from(rows, limit)

    def history(self, workspace_id: str, sku: str, channel: str) -> Sequence[PriceChange]:
        """Every price the SKU had on the channel, oldest first. Refuses an unknown SKU (404)."""
        CatalogService(self.session).variant_by_sku(workspace_id, sku)
        return self.repository.history(workspace_id, sku, channel)

    def lowest_prior(
        self, workspace_id: str, sku: str, channel: str, at: datetime | None = None
    ) -> int | None:
        """EU Omnibus: the lowest price of the 30 days before ``at`` (default: when the price
        in force took effect). None when the SKU had no price then."""
        history = self.repository.history(workspace_id, sku, channel)
        if at is None:
            price = self.repository.locked_price(workspace_id, sku, channel)
            if price is None:
                return None
            at = price.effective_at
        points = [domain.PricePoint(change.amount, change.effective_at) for change in history]
        return domain.lowest_prior(points, at)

    def omnibus(self, workspace_id: str, price: ChannelPrice) -> tuple[int | None, bool]:
        """(lowest price of the 30 days before ``price`` took effect, whether ``price`` is a
        reduction on the price just before it). A shop shows the first next to a reduction."""
        history = self.repository.history(workspace_id, price.sku, price.channel)
        points = [domain.PricePoint(change.amount, change.effective_at) for change in history]
        before = [p for p in points if p.effective_at < price.effective_at]
        previous = domain.price_at(before, price.effective_at) if before else None
        lowest = domain.lowest_prior(points, price.effective_at)
        return lowest, previous is not None and price.amount < previous

    # Policy, floors and parity ------------------------------------------------------------------

    def policy(self, workspace_id: str) -> PricePolicy:
        """The workspace's parity policy (site channel ``web``, nothing above it, by default)."""
        policy = self.repository.policy(workspace_id)
        if policy is None:
            self.repository.claim_policy_row(
                {
                    "id": new_id("ppo"),
                    "workspace_id": workspace_id,
                    "site_channel": DEFAULT_SITE_CHANNEL,
                    "max_above_basis_points": 0,
                    "updated_at": utcnow(),
                }
            )
            policy = self.repository.policy(workspace_id)
        assert policy is not None
        return policy

    def set_policy(self, workspace_id: str, data: PolicyIn) -> PricePolicy:
        """Set which channel is the site and how far above it channels may be; rechecks every
        SKU's parity."""
        policy = self.policy(workspace_id)
        policy.site_channel = data.site_channel
        policy.max_above_basis_points = data.max_above_basis_points
        policy.updated_at = utcnow()
        self.session.flush()
        self._check_all(workspace_id, policy)
        return policy

    def set_floor(self, workspace_id: str, data: FloorIn) -> PriceFloor:
        """Set a SKU's floor and recheck its parity. Refuses an unknown SKU (404)."""
        CatalogService(self.session).variant_by_sku(workspace_id, data.sku)
        now = utcnow()
        floor = self.repository.upsert_floor(
            {
                "id": new_id("pfl"),
                "workspace_id": workspace_id,
                "sku": data.sku,
                "amount": data.amount,
                "currency": data.currency,
                "updated_at": now,
            }
        )
        self._check_sku(workspace_id, data.sku, self.policy(workspace_id), now)
        return floor

    def parity(self, workspace_id: str, skus: Collection[str] | None = None) -> Parity:
        """Every channel price (of these SKUs) against the SKU's site price and floor,
        breaches named."""
        policy = self.policy(workspace_id)
        floors = self.repository.floors(workspace_id, skus)
        prices = self.repository.all_prices(workspace_id, skus)
        site_prices = {
            (p.sku, p.currency): p.amount for p in prices if p.channel == policy.site_channel
        }
        rows = []
        for price in prices:
            site = site_prices.get((price.sku, price.currency))
            floor = _floor_amount(floors.get(price.sku), price.currency)
            checked_site = None if price.channel == policy.site_channel else site
            findings = domain.check_parity(
                price.amount, checked_site, floor, policy.max_above_basis_points
            )
            rows.append(
                ParityRow(
                    sku=price.sku,
                    channel=price.channel,
                    amount=price.amount,
                    currency=price.currency,
                    site_amount=site,
                    floor=floor,
                    basis_points_vs_site=(
                        domain.basis_points(price.amount, site) if site else None
                    ),
                    breaches=[PriceBreach(f.breach.value) for f in findings],
                )
            )
        return Parity(policy.site_channel, policy.max_above_basis_points, rows)

    def alerts(self, workspace_id: str, include_resolved: bool = False) -> Sequence[PriceAlert]:
        """Parity alerts, newest first: open ones, or all (at most 500)."""
        return self.repository.alerts(workspace_id, include_resolved, 500)

    def _check_all(self, workspace_id: str, policy: PricePolicy) -> None:
        now = utcnow()
        for sku in sorted({price.sku for price in self.repository.all_prices(workspace_id)}):
            self._check_sku(workspace_id, sku, policy, now)

    def _check_sku(
        self, workspace_id: str, sku: str, policy: PricePolicy, now: datetime
    ) -> list[PriceAlert]:
        """Open an alert for each breach not already open, resolve open ones that ended;
        returns the SKU's open alerts."""
        prices = self.repository.prices_of_sku(workspace_id, sku)
        floor_row = self.repository.floor(workspace_id, sku)
        site = {p.currency: p.amount for p in prices if p.channel == policy.site_channel}
        wanted: dict[tuple[str, PriceBreach], tuple[ChannelPrice, domain.ParityFinding]] = {}
        for price in prices:
            checked_site = (
                None if price.channel == policy.site_channel else site.get(price.currency)
            )
            for finding in domain.check_parity(
                price.amount,
                checked_site,
                _floor_amount(floor_row, price.currency),
                policy.max_above_basis_points,
            ):
                wanted[(price.channel, PriceBreach(finding.breach.value))] = (price, finding)
        open_alerts = list(self.repository.open_alerts(workspace_id, sku))
        kept: list[PriceAlert] = []
        for alert in open_alerts:
            match = wanted.pop((alert.channel, alert.breach), None)
            if (
                match is None
                or match[1].amount != alert.amount
                or match[1].reference != alert.reference_amount
            ):
                self.repository.resolve_alert(alert.id, now)
                if match is not None:
                    wanted[(alert.channel, alert.breach)] = match
            else:
                kept.append(alert)
        for (channel, breach), (price, finding) in sorted(wanted.items()):
            alert = PriceAlert(
                workspace_id=workspace_id,
                sku=sku,
                channel=channel,
                breach=breach,
                amount=finding.amount,
                reference_amount=finding.reference,
                currency=price.currency,
                basis_points=finding.basis_points,
                opened_at=now,
            )
            self.repository.add_alert(alert)
            kept.append(alert)
            log.warning(
                "price_parity_breached",
                workspace_id=workspace_id,
                sku=sku,
                channel=channel,
                breach=breach.value,
                amount=finding.amount,
                reference=finding.reference,
            )
        self.session.flush()
        return sorted(kept, key=lambda a: (a.channel, a.breach.value))


def _floor_amount(floor: PriceFloor | None, currency: str) -> int | None:
    return floor.amount if floor is not None and floor.currency == currency else None
