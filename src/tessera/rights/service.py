"""Usage rights as use cases: grant a license, record a creator's platform authorisation,
revoke either, answer ``can_use`` for an asset (its own licenses and its masters'), and place
an asset somewhere only when its rights allow it, recording the placement. ``takedowns``
turns the placements of an ended license into tasks; ``expiring`` lists what ends soon.

Every place content leaves Tessera calls ``place`` (or ``check`` to ask first): journey
templates, the product-page feed, ad exports and downloads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from tessera.content.lineage import ContentLineage
from tessera.kit.errors import InvalidInput
from tessera.kit.time import Clock, utcnow
from tessera.models.rights import AssetLicense, Placement, PlacementStatus, PlatformAuthorisation
from tessera.rights import domain
from tessera.rights.errors import AuthorisationNotFound, LicenseNotFound, UseRefused
from tessera.rights.repository import RightsRepository

# The asset and the assets it was made from, nearest first (the content library's lineage).
Lineage = Callable[[str, str], Sequence[str]]
AUTHORISING_PLATFORMS = frozenset(domain.AUTHORISER.values())


@dataclass(frozen=True, slots=True)
class LicenseDraft:
    asset_id: str
    usages: Sequence[str]
    first_day: date
    last_day: date | None
    time_zone: str = "UTC"
    platforms: Sequence[str] = ()
    territories: Sequence[str] = ()
    is_exclusive: bool = False
    edits_allowed: bool = True
    terms: str = ""
    creator_id: str | None = None


class RightsService:
    def __init__(
        self, session: Session, clock: Clock = utcnow, lineage: Lineage | None = None
    ) -> None:
        """``lineage`` defaults to the content library's, which also refuses (404) an id
        that is no asset, version or rendition of the workspace."""
        self.repository = RightsRepository(session)
        self.clock = clock
        self.lineage = lineage or ContentLineage(session).chain

    # Licenses and authorisations ------------------------------------------------------------

    def grant(self, workspace_id: str, draft: LicenseDraft) -> AssetLicense:
        """Record a license, refusing an unknown usage, platform or territory, a bad zone or
        days out of order, naming the field."""
        usages = sorted({_usage(u) for u in draft.usages})
        if not usages:
            raise InvalidInput("a license allows at least one usage", field="usages")
        platforms = sorted({p.strip().lower() for p in draft.platforms})
        for platform in platforms:
            if platform not in domain.SOCIAL_PLATFORMS:
                known = ", ".join(sorted(domain.SOCIAL_PLATFORMS))
                raise InvalidInput(f"platforms are among {known}", field="platforms")
        territories = sorted({domain.check_territory(t) for t in draft.territories})
        starts, ends = domain.license_window(
            draft.first_day, draft.last_day, _zone(draft.time_zone)
        )
        self.lineage(workspace_id, draft.asset_id)  # the asset is the workspace's
        row = AssetLicense(
            workspace_id=workspace_id, asset_id=draft.asset_id, creator_id=draft.creator_id,
            usages=usages, platforms=platforms, territories=territories, starts_at=starts,
            ends_at=ends, time_zone=draft.time_zone, is_exclusive=draft.is_exclusive,
            edits_allowed=draft.edits_allowed, terms=draft.terms.strip(),
        )  # fmt: skip
        self.repository.add(row)
        return row

    def get_license(self, workspace_id: str, license_id: str) -> AssetLicense:
        row = self.repository.license(workspace_id, license_id)
        if row is None:
            raise LicenseNotFound(f"no license {license_id}")
        return row

    def licenses(self, workspace_id: str, asset_id: str) -> Sequence[AssetLicense]:
        """The licenses that govern ``asset_id``: its own and its masters'."""
        return self.repository.licenses(workspace_id, self.lineage(workspace_id, asset_id))

    def revoke_license(self, workspace_id: str, license_id: str) -> AssetLicense:
        row = self.get_license(workspace_id, license_id)
        if row.revoked_at is None:
            row.revoked_at = self.clock()
        return row

    def authorise(
        self, workspace_id: str, asset_id: str, platform: str, granted_at: datetime,
        days: int | None, code: str = "",
    ) -> PlatformAuthorisation:  # fmt: skip
        """A creator's Spark code or Meta partnership permission for ``days`` (None: until
        revoked)."""
        platform = platform.strip().lower()
        if platform not in AUTHORISING_PLATFORMS:
            raise InvalidInput("platform is tiktok or meta", field="platform")
        if days is not None and not 1 <= days <= 3660:
            raise InvalidInput("days is between 1 and 3660", field="days")
        if granted_at.tzinfo is None:
            raise InvalidInput("granted_at needs a time zone", field="granted_at")
        expires = granted_at + timedelta(days=days) if days is not None else None
        self.lineage(workspace_id, asset_id)  # the asset is the workspace's
        row = PlatformAuthorisation(
            workspace_id=workspace_id, asset_id=asset_id, platform=platform, code=code.strip(),
            granted_at=granted_at, expires_at=expires,
        )  # fmt: skip
        self.repository.add(row)
        return row

    def revoke_authorisation(self, workspace_id: str, grant_id: str) -> PlatformAuthorisation:
        row = self.repository.authorisation(workspace_id, grant_id)
        if row is None:
            raise AuthorisationNotFound(f"no authorisation {grant_id}")
        if row.revoked_at is None:
            row.revoked_at = self.clock()
        return row

    # The check and placements ---------------------------------------------------------------

    def check(self, workspace_id: str, asset_id: str, use: domain.Use) -> domain.Decision:
        """``can_use`` over the asset's licenses and its masters', and their authorisations."""
        chain = self.lineage(workspace_id, asset_id)
        licenses = [_license(row) for row in self.repository.licenses(workspace_id, chain)]
        grants = [_grant(row) for row in self.repository.authorisations(workspace_id, chain)]
        return domain.can_use(licenses, grants, use)

    def place(self, workspace_id: str, asset_id: str, use: domain.Use, ref: str) -> Placement:
        """Record that ``asset_id`` is used at ``ref`` as ``use`` asks, once per place; refused
        (409 with the reason) when its rights do not allow it."""
        ref = ref.strip()
        if not ref or len(ref) > 200:
            raise InvalidInput("ref names the place in 1-200 characters", field="ref")
        use = domain.check_use(use)
        decision = self.check(workspace_id, asset_id, use)
        if not decision.allowed:
            raise UseRefused(decision.reason, reason=decision.reason)
        found = self.repository.placement(workspace_id, asset_id, use.channel, use.usage, ref)
        if found is not None:
            return found
        row = Placement(
            workspace_id=workspace_id, asset_id=asset_id, channel=use.channel, usage=use.usage,
            territory=use.territory, ref=ref, license_id=decision.license_id,
            authorisation_id=decision.authorisation_id, starts_at=use.at, ends_at=use.until,
            status=PlacementStatus.LIVE, reason=decision.reason,
        )  # fmt: skip
        self.repository.add(row)
        return row

    def placements(
        self, workspace_id: str, status: str | None = None, limit: int = 50
    ) -> Sequence[Placement]:
        chosen = None
        if status:
            try:
                chosen = PlacementStatus(status)
            except ValueError:
                names = ", ".join(s.value for s in PlacementStatus)
                raise InvalidInput(f"status is one of {names}", field="status") from None
        return self.repository.placements(workspace_id, chosen, max(1, min(limit, 200)))

    def takedowns(self, workspace_id: str) -> int:
        """Mark the live placements of ended or revoked licenses (and authorisations) for
        takedown; returns how many were marked now."""
        return self.repository.mark_takedowns(workspace_id, self.clock())

    def standings(
        self, workspace_id: str, asset_ids: Sequence[str], soon_days: int = 30
    ) -> dict[str, domain.Standing]:
        """Each asset's rights standing now (its own licenses; the library lists assets),
        in one query."""
        held: dict[str, list[domain.License]] = {asset_id: [] for asset_id in asset_ids}
        for row in self.repository.licenses(workspace_id, asset_ids):
            held[row.asset_id].append(_license(row))
        now, soon = self.clock(), timedelta(days=soon_days)
        return {
            asset_id: domain.standing(licenses, now, soon) for asset_id, licenses in held.items()
        }

    def expiring(self, workspace_id: str, days: int = 30) -> Sequence[AssetLicense]:
        """Licenses ending within ``days`` from now, soonest first."""
        if not 1 <= days <= 366:
            raise InvalidInput("days is between 1 and 366", field="days")
        now = self.clock()
        return self.repository.ending_between(workspace_id, now, now + timedelta(days=days))


def _usage(value: str) -> domain.Usage:
    try:
        return domain.Usage(value.strip().lower())
    except ValueError:
        names = ", ".join(u.value for u in domain.Usage)
        raise InvalidInput(f"usages are among {names}", field="usages") from None


def _zone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{name!r} is not a time zone", field="time_zone") from None
    return name


def _license(row: AssetLicense) -> domain.License:
    return domain.License(
        id=row.id, asset_id=row.asset_id, usages=frozenset(domain.Usage(u) for u in row.usages),
        starts_at=row.starts_at, ends_at=row.ends_at, platforms=frozenset(row.platforms),
        territories=frozenset(row.territories), is_exclusive=row.is_exclusive,
        edits_allowed=row.edits_allowed, revoked_at=row.revoked_at,
    )  # fmt: skip


def _grant(row: PlatformAuthorisation) -> domain.Authorisation:
    return domain.Authorisation(
        id=row.id, asset_id=row.asset_id, platform=row.platform, granted_at=row.granted_at,
        expires_at=row.expires_at, revoked_at=row.revoked_at,
    )  # fmt: skip
