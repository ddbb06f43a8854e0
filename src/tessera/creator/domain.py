"""Pure rules of creators: handles normalised per platform, audience shares checked, the
brand-safety screen, the brand-fit score with its parts, and rank fusion. No session, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

PLATFORMS: frozenset[str] = frozenset(
    {"tiktok", "instagram", "youtube", "pinterest", "twitch", "x", "snapchat", "facebook",
     "threads", "linkedin", "blog"}
)  # fmt: skip
# The hosts whose URLs name a handle, and which platform they mean.
_HOSTS = {
    "tiktok.com": "tiktok",
    "instagram.com": "instagram",
    "youtube.com": "youtube",
    "pinterest.com": "pinterest",
    "twitch.tv": "twitch",
    "x.com": "x",
    "twitter.com": "x",
    "snapchat.com": "snapchat",
    "facebook.com": "facebook",
    "threads.net": "threads",
    "linkedin.com": "linkedin",
}
# Path words that precede the handle rather than being it (youtube.com/c/name, /user/name).
_PATH_PREFIXES = frozenset({"c", "user", "channel", "in", "add"})
_HANDLE = re.compile(r"^[a-z0-9._\-]{1,100}$")
AGE_BANDS: frozenset[str] = frozenset({"13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"})
GENDERS: frozenset[str] = frozenset({"female", "male", "other"})
MAX_FOLLOWERS = 10**10  # more than anyone alive: a bigger number is a typo or an attack
SHARE_SLACK = 0.011  # shares rounded to whole percent may add up to 101 %


class HandleError(ValueError):
    """A handle or profile URL that names no account; the message says why."""


def handle_key(platform: str, raw: str) -> str:
    """The handle as duplicates are matched: ``@Name``, ``name`` and
    ``https://www.tiktok.com/@name?lang=en`` are one handle, lowercase without the ``@``."""
    return handle_shown(platform, raw).lower()


def handle_shown(platform: str, raw: str) -> str:
    """The handle as written, without the ``@`` or the URL around it."""
    text = raw.strip()
    if not text:
        raise HandleError("must not be empty")
    if "/" in text or text.lower().startswith(("http:", "https:", "www.")):
        text = _handle_from_url(platform, text)
    text = text.lstrip("@").strip()
    if not _HANDLE.match(text.lower()):
        raise HandleError("may hold only letters, digits, '.', '_' and '-' (up to 100)")
    return text


def _handle_from_url(platform: str, url: str) -> str:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    named = _HOSTS.get(host)
    if named is None:
        raise HandleError(f"the URL's host {host or '(none)'} is not a known platform's")
    if named != platform:
        raise HandleError(f"the URL is on {named}, not {platform}")
    segments = [s for s in parts.path.split("/") if s]
    while segments and segments[0].lower() in _PATH_PREFIXES and len(segments) > 1:
        segments = segments[1:]
    if not segments:
        raise HandleError("the URL names no account")
    return segments[0]


def email_key(raw: str | None) -> str | None:
    return raw.strip().lower() if raw and raw.strip() else None


def check_shares(shares: Mapping[str, float], allowed: frozenset[str] | None) -> str | None:
    """Why an audience split is not valid (an unknown key, a share outside 0-1, a total over
    100 %), or None."""
    for key, share in shares.items():
        if allowed is not None and key not in allowed:
            return f"{key!r} is not one of the known values"
        if not isinstance(share, int | float) or not math.isfinite(share) or not 0 <= share <= 1:
            return f"{key}: a share is a number from 0 to 1"
    if sum(shares.values()) > 1 + SHARE_SLACK:
        return "the shares add up to more than 1"
    return None


# Brand safety ---------------------------------------------------------------------------------

# A starting list per category; a workspace adds its own terms per search. Matched on whole
# words (and phrases), case-folded, so "class" never matches "ass".
SAFETY_TERMS: dict[str, tuple[str, ...]] = {
    "alcohol": ("vodka", "tequila", "drunk", "wasted", "shots", "hangover"),
    "drugs": ("cocaine", "weed", "stoned", "xanax", "molly", "420"),
    "gambling": ("casino", "betting", "sportsbook", "poker", "slots"),
    "violence": ("gun", "guns", "shooting", "knife fight", "gore"),
    "adult": ("onlyfans", "nsfw", "xxx", "explicit"),
    "profanity": ("fuck", "shit", "bitch", "wtf"),
    "hate": ("nazi", "white power"),
}


@dataclass(frozen=True, slots=True)
class SafetyFlag:
    category: str
    term: str
    count: int


def _words(term: str) -> str:
    return r"\s+".join(re.escape(w) for w in term.lower().split())


def _pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """One alternation of whole-word terms, longest first, so a text is read once."""
    ordered = sorted({t.lower() for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(_words(t) for t in ordered) + r")(?![\w])")


_CATEGORY = {t.lower(): c for c, terms in SAFETY_TERMS.items() for t in terms}
_SHIPPED = _pattern(_CATEGORY)


def screen(text: str, extra_terms: Iterable[str] = ()) -> list[SafetyFlag]:
    """Every brand-safety term found in ``text`` with its category and count; a workspace's
    own terms are the ``custom`` category."""
    folded = text.lower()
    counts: dict[tuple[str, str], int] = {}
    for found in _SHIPPED.findall(folded):
        term = " ".join(found.split())
        key = (_CATEGORY[term], term)
        counts[key] = counts.get(key, 0) + 1
    extra = [" ".join(t.lower().split()) for t in extra_terms if t.strip()]
    if extra:
        for found in _pattern(extra).findall(folded):
            key = ("custom", " ".join(found.split()))
            counts[key] = counts.get(key, 0) + 1
    order = {c: n for n, c in enumerate([*SAFETY_TERMS, "custom"])}
    return [
        SafetyFlag(c, t, n)
        for (c, t), n in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]


# Brand fit ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Brand:
    """What a brand looks for: the words of its brief, niches, a market and a size."""

    niches: frozenset[str] = frozenset()
    country: str | None = None
    min_followers: int | None = None
    max_followers: int | None = None


@dataclass(frozen=True, slots=True)
class FitPart:
    name: str
    weight: float
    score: float  # 0..1
    reason: str

    @property
    def points(self) -> float:
        return self.weight * self.score


@dataclass(frozen=True, slots=True)
class Fit:
    score: float  # 0..100
    parts: tuple[FitPart, ...]


FIT_WEIGHTS = {"relevance": 0.35, "niche": 0.2, "audience": 0.2, "engagement": 0.15, "size": 0.1}
SAFETY_PENALTY_PER_TERM = 10.0  # points off for each distinct flagged term, up to all of them
ENGAGEMENT_GOOD = 0.06  # 6 %: at or above it the engagement part is full


def brand_fit(
    brand: Brand,
    *,
    relevance: float,
    niches: Sequence[str],
    countries: Mapping[str, float],
    engagement_rate: float | None,
    followers: int,
    flags: Sequence[SafetyFlag],
) -> Fit:
    """A 0-100 score made of weighted parts, each with its reason, so a person can see why:
    relevance to the search's words, shared niches, the audience's share in the brand's
    market, engagement against a good 6 %, followers inside the wanted range; minus 10
    points for each brand-safety term found."""
    wanted = brand.niches
    shared = sorted(wanted & {n.lower() for n in niches})
    niche_score = len(shared) / len(wanted) if wanted else 1.0
    share = countries.get(brand.country, 0.0) if brand.country else None
    rate = engagement_rate or 0.0
    parts = [
        FitPart("relevance", FIT_WEIGHTS["relevance"], relevance,
                f"matches the search's words at {relevance:.0%} of the best result"),
        FitPart("niche", FIT_WEIGHTS["niche"], niche_score,
                f"shares {', '.join(shared) or 'no niche'} of {', '.join(sorted(wanted))}"
                if wanted else "no niche asked for"),
        FitPart("audience", FIT_WEIGHTS["audience"], 1.0 if share is None else min(share * 2, 1),
                "no market asked for" if share is None
                else f"{share:.0%} of the audience in {brand.country} (50 % or more is full)"),
        FitPart("engagement", FIT_WEIGHTS["engagement"], min(rate / ENGAGEMENT_GOOD, 1.0),
                f"engagement {rate:.1%} against a good {ENGAGEMENT_GOOD:.0%}"),
        FitPart("size", FIT_WEIGHTS["size"], _size_score(brand, followers),
                f"{followers:,} followers"),
    ]  # fmt: skip
    total = 100 * sum(p.points for p in parts)
    penalty = SAFETY_PENALTY_PER_TERM * len({f.term for f in flags})
    if penalty:
        parts.append(
            FitPart("safety", -penalty / 100, 1.0,
                    "brand-safety terms: " + ", ".join(sorted({f.term for f in flags})))
        )  # fmt: skip
    return Fit(round(max(total - penalty, 0.0), 1), tuple(parts))


def _size_score(brand: Brand, followers: int) -> float:
    low, high = brand.min_followers, brand.max_followers
    if (low is None or followers >= low) and (high is None or followers <= high):
        return 1.0
    edge = low if low is not None and followers < low else high
    assert edge is not None
    # Half the score at half (or twice) the edge, falling off on a log scale.
    return max(0.0, 1.0 - abs(math.log2(max(followers, 1) / max(edge, 1))) / 2)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> dict[int, float]:
    """Cormack et al.'s fusion: each list gives 1 / (k + rank) to its items; summed."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused
