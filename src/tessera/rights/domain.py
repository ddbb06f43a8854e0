"""Usage rights as rules: may this asset be used here, for this, in this country, now (and for
the whole of an ad's flight)? Pure: licenses and platform authorisations in, a decision with
its reason out; the service loads them (an asset's own and its master's, since a rendition
inherits its master's license) and records each use as a placement.

Three layers expire separately (../shared/reference/create.md): the license in the contract,
the platform authorisation a creator grants for partnership ads (a TikTok Spark code, a Meta
partnership-ad permission, revocable at any time) and the ad's flight. An ad may run only while
both the license and the authorisation cover the whole flight. A license's days are the
contract's, in the contract's time zone: "until 31 March" in New York ends at midnight there
(``license_window``), hours after it has ended in London.

Usage types are strict: organic reposting does not allow paid ads (priced 2-5x), a paid-social
license does not allow partnership ads from the creator's handle, and each must be listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tessera.kit.bounds import day_problem
from tessera.kit.countries import COUNTRIES
from tessera.kit.errors import InvalidInput


class Usage(StrEnum):
    ORGANIC = "organic"  # reposted from the brand's own accounts
    PAID_SOCIAL = "paid_social"  # ads from the brand's ad account
    PARTNERSHIP = "partnership"  # ads from the creator's handle: Spark, Meta partnership ads
    EMAIL = "email"
    WEBSITE = "website"  # the brand's site and its product pages
    AMAZON = "amazon"  # marketplace listing images and video
    PRINT = "print"  # retail and in-store print, shelf displays
    OUT_OF_HOME = "out_of_home"


SOCIAL_PLATFORMS = frozenset(
    {"tiktok", "instagram", "facebook", "youtube", "pinterest", "snapchat"}
)
# Where content appears, and the usages that can put it there.
CHANNEL_USAGES: dict[str, frozenset[Usage]] = {
    **{
        platform: frozenset({Usage.ORGANIC, Usage.PAID_SOCIAL, Usage.PARTNERSHIP})
        for platform in SOCIAL_PLATFORMS
    },
    "email": frozenset({Usage.EMAIL}),
    "website": frozenset({Usage.WEBSITE}),
    "product_page": frozenset({Usage.WEBSITE}),
    "amazon": frozenset({Usage.AMAZON}),
    "store": frozenset({Usage.PRINT}),
    "print": frozenset({Usage.PRINT}),
    "out_of_home": frozenset({Usage.OUT_OF_HOME}),
}
# Who authorises partnership ads on a platform: Meta for both of its apps.
AUTHORISER = {"tiktok": "tiktok", "instagram": "meta", "facebook": "meta"}


@dataclass(frozen=True, slots=True)
class License:
    """The rights a creator granted for one asset (and, by inheritance, its renditions).
    ``platforms`` and ``territories`` (ISO 3166 alpha-2) empty mean every platform and
    worldwide; ``ends_at`` None is perpetual. Instants are UTC, end exclusive."""

    id: str
    asset_id: str
    usages: frozenset[Usage]
    starts_at: datetime
    ends_at: datetime | None
    platforms: frozenset[str] = frozenset()
    territories: frozenset[str] = frozenset()
    is_exclusive: bool = False
    edits_allowed: bool = True
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Authorisation:
    """A creator's permission for partnership ads on one platform (``tiktok`` or ``meta``)
    from ``granted_at`` to ``expires_at`` (exclusive; a Spark code's 7-365 days), unless
    revoked first."""

    id: str
    asset_id: str
    platform: str
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Use:
    """A use asked about: on ``channel``, as ``usage``, seen in ``territory``, from ``at``
    until ``until`` (an ad's flight end, exclusive; a one-off use leaves it None)."""

    channel: str
    usage: Usage
    territory: str
    at: datetime
    until: datetime | None = None

    @property
    def end(self) -> datetime:
        return self.until if self.until is not None else self.at


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed or not, and why, naming the license (and authorisation) it rests on."""

    allowed: bool
    reason: str
    license_id: str | None = None
    authorisation_id: str | None = None


def license_window(
    first_day: date, last_day: date | None, zone: str
) -> tuple[datetime, datetime | None]:
    """A contract's days as UTC instants: from ``first_day``'s midnight to the midnight after
    ``last_day`` (included), both in ``zone``; no last day is perpetual."""
    for name, day in (("first_day", first_day), ("last_day", last_day)):
        problem = day_problem(day) if day is not None else None
        if problem is not None:
            raise InvalidInput(f"{name} {problem}", field=name)
    tz = ZoneInfo(zone)
    start = datetime.combine(first_day, time(), tz).astimezone(UTC)
    if last_day is None:
        return start, None
    if last_day < first_day:
        raise InvalidInput("the license ends before it starts", field="last_day")
    return start, datetime.combine(last_day + timedelta(days=1), time(), tz).astimezone(UTC)


def lineage_licenses(
    asset_id: str, masters: Mapping[str, str], licenses: Iterable[License]
) -> list[License]:
    """The licenses that govern ``asset_id``: its own and those of its master, the master's
    master and so on (``masters`` maps a rendition to the asset it was made from); a
    rendition inherits its master's license."""
    chain: list[str] = []
    current: str | None = asset_id
    while current is not None and current not in chain:
        chain.append(current)
        current = masters.get(current)
    return [license for license in licenses if license.asset_id in chain]


def check_use(use: Use) -> Use:
    """``use`` with its fields made canonical, or InvalidInput naming the field."""
    channel = use.channel.strip().lower()
    if channel not in CHANNEL_USAGES:
        known = ", ".join(sorted(CHANNEL_USAGES))
        raise InvalidInput(f"channel must be one of {known}", field="channel")
    if use.usage not in CHANNEL_USAGES[channel]:
        allowed = ", ".join(sorted(CHANNEL_USAGES[channel]))
        raise InvalidInput(f"on {channel} the usage is one of {allowed}", field="usage")
    territory = check_territory(use.territory)
    if use.at.tzinfo is None or (use.until is not None and use.until.tzinfo is None):
        raise InvalidInput("times need a time zone", field="at")
    if use.until is not None and use.until < use.at:
        raise InvalidInput("the flight ends before it starts", field="until")
    return Use(channel, use.usage, territory, use.at.astimezone(UTC),
               use.until.astimezone(UTC) if use.until is not None else None)  # fmt: skip


def check_territory(code: str) -> str:
    """An ISO 3166 alpha-2 country code, upper case, or InvalidInput."""
    value = code.strip().upper()
    if value not in COUNTRIES:
        raise InvalidInput(f"{code!r} is not an ISO 3166 country code", field="territory")
    return value


def can_use(
    licenses: Iterable[License], authorisations: Iterable[Authorisation], use: Use
) -> Decision:
    """Whether ``use`` is allowed by one of ``licenses`` (the asset's and its master's) and,
    for partnership ads, one of ``authorisations`` on the channel's platform, over the whole
    flight. Refused, the reason is the one of the license that came closest."""
    use = check_use(use)
    best: tuple[int, str, str | None] = (-1, "no license is on file for this asset", None)
    for license in licenses:
        passed, failure = _license_checks(license, use)
        if failure is None:
            return _with_authorisation(license, list(authorisations), use)
        if passed > best[0]:
            best = (passed, failure, license.id)
    return Decision(False, best[1], best[2])


def _license_checks(license: License, use: Use) -> tuple[int, str | None]:
    """How many checks ``license`` passes in order, and the first one it fails (None: all).
    Only the failing check's reason is written out."""
    shown = _day(license.ends_at) if license.ends_at else ""
    checks: Sequence[tuple[bool, Callable[[], str]]] = (
        (use.usage in license.usages,
         lambda: f"the license allows {_names(license.usages)}, not {use.usage}"),
        (not license.platforms or use.channel in license.platforms
         or use.channel not in SOCIAL_PLATFORMS,
         lambda: f"the license covers {_names(license.platforms)}, not {use.channel}"),
        (not license.territories or use.territory in license.territories,
         lambda: f"the license covers {_names(license.territories)}, not {use.territory}"),
        (license.starts_at <= use.at, lambda: f"the license starts at {_day(license.starts_at)}"),
        (license.ends_at is None or use.at < license.ends_at,
         lambda: f"the license ended at {shown}"),
        (license.ends_at is None or use.end <= license.ends_at,
         lambda: f"the license ends at {shown}, before the flight does"),
        (license.revoked_at is None or license.revoked_at > use.end,
         lambda: f"the license was revoked at {_day(license.revoked_at)}"),
    )  # fmt: skip
    for passed, (holds, reason) in enumerate(checks):
        if not holds:
            return passed, reason()
    return len(checks), None


def _with_authorisation(
    license: License, authorisations: list[Authorisation], use: Use
) -> Decision:
    if use.usage is not Usage.PARTNERSHIP:
        return Decision(
            True, f"license {license.id} allows {use.usage} on {use.channel}", license.id
        )
    platform = AUTHORISER.get(use.channel)
    if platform is None:
        return Decision(False, f"{use.channel} has no partnership ads", license.id)
    reason = f"no {platform} authorisation from the creator is on file"
    for grant in (a for a in authorisations if a.platform == platform):
        if grant.revoked_at is not None and grant.revoked_at <= use.end:
            reason = f"the creator revoked the {platform} authorisation at {_day(grant.revoked_at)}"
        elif grant.granted_at > use.at:
            reason = f"the {platform} authorisation starts at {_day(grant.granted_at)}"
        elif grant.expires_at is not None and grant.expires_at < use.end:
            ends = _day(grant.expires_at)
            reason = f"the {platform} authorisation expires at {ends}, before the flight ends"
        else:
            why = f"license {license.id} and {platform} authorisation {grant.id} allow it"
            return Decision(True, why, license.id, grant.id)
    return Decision(False, reason, license.id)


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "nothing"


def _day(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


@dataclass(frozen=True, slots=True)
class Standing:
    """What the library shows for an asset's rights at a moment: ``licensed`` (a license in
    force, ending after ``soon``), ``ending`` (the last one in force ends within it),
    ``ended`` (licenses, none in force) or ``none``; ``ends_at`` of the latest in force."""

    state: str
    ends_at: datetime | None = None


def standing(licenses: Iterable[License], now: datetime, soon: timedelta) -> Standing:
    """The rights standing of one asset from its licenses (its own and its master's)."""
    held = list(licenses)
    live = [
        lic
        for lic in held
        if lic.starts_at <= now
        and (lic.ends_at is None or now < lic.ends_at)
        and (lic.revoked_at is None or now < lic.revoked_at)
    ]
    if not live:
        return Standing("ended" if held else "none")
    if any(lic.ends_at is None for lic in live):
        return Standing("licensed")
    last = max(lic.ends_at for lic in live if lic.ends_at is not None)
    return Standing("ending" if last - now <= soon else "licensed", last)
