"""Channel advice: which channel to add next, from the brand's own orders and touches.

Every sentence carries the figures it rests on and what would change it. The rules:

- Omnichannel value: spend per omnichannel customer against single-channel (the industry
  claims 30 % more; the brand's own figure is what counts).
- Strongest pair: the two channels whose shared customers spend most each (at least
  ``MIN_PAIR`` customers), the combination to push customers towards.
- Single-channel base: the channel with most customers who buy nowhere else, and the channel
  its omnichannel customers most often add, so the next campaign knows whom to move where.
- Add a channel: a marketplace or social shop the brand does not sell on, whose platform sends
  at least ``MIN_SHARE`` of tracked touches (traffic arriving from Amazon suggests an Amazon
  storefront; TikTok traffic suggests TikTok Shop; store-locator searches suggest retail).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import combinations
from typing import Any

from tessera.analytics.advice.schemas import Advice, Figure, MediumOut, PairOut, SingleOut

MIN_SHARE = 0.05
MIN_PAIR = 3
INDUSTRY_UPLIFT = 0.30
# A channel to add, and the touch media (sources, referrer hosts, event names) that ask for it.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "amazon": ("amazon", "amazon.com", "amazon.co.uk", "amazon.de"),
    "tiktok_shop": ("tiktok", "tiktok.com"),
    "instagram_shop": ("instagram", "instagram.com"),
    "retail": ("store_locator",),
    "store": ("store_locator",),
}


def _money(minor: float) -> str:
    return f"{minor / 100:,.2f}"


def build(
    per_customer: list[dict[str, Any]], media: Counter[str]
) -> tuple[list[Advice], list[PairOut], list[SingleOut], list[MediumOut], list[str], float, int]:
    """Advice from per-customer channel rows (``customer_id``, ``channel``, ``orders``,
    ``revenue``) and touch counts per medium."""
    spend: dict[str, int] = defaultdict(int)
    channels_of: dict[str, set[str]] = defaultdict(set)
    for row in per_customer:
        spend[row["customer_id"]] += int(row["revenue"] or 0)
        channels_of[row["customer_id"]].add(row["channel"])
    sold_on = sorted({c for cs in channels_of.values() for c in cs})
    customers = len(channels_of)
    omni = [c for c, cs in channels_of.items() if len(cs) >= 2]
    single = [c for c, cs in channels_of.items() if len(cs) == 1]
    share = round(len(omni) / customers, 4) if customers else 0.0

    pair_customers: dict[tuple[str, str], list[str]] = defaultdict(list)
    for customer in omni:
        for pair in combinations(sorted(channels_of[customer]), 2):
            pair_customers[pair].append(customer)
    pairs = sorted(
        (PairOut(channels=list(p), customers=len(cs),
                 spend_per_customer=sum(spend[c] for c in cs) // len(cs))
         for p, cs in pair_customers.items()),
        key=lambda p: (-p.customers, -p.spend_per_customer, p.channels),
    )  # fmt: skip
    single_by: dict[str, list[str]] = defaultdict(list)
    for customer in single:
        single_by[next(iter(channels_of[customer]))].append(customer)
    singles = sorted(
        (SingleOut(channel=ch, customers=len(cs), spend_per_customer=sum(spend[c] for c in cs)
                   // len(cs)) for ch, cs in single_by.items()),
        key=lambda s: (-s.customers, s.channel),
    )  # fmt: skip
    total_touches = sum(media.values())
    media_out = [
        MediumOut(medium=m, touches=n, share=round(n / total_touches, 4))
        for m, n in sorted(media.items(), key=lambda kv: (-kv[1], kv[0]))
    ]

    advice: list[Advice] = []
    if omni and single:
        omni_each = sum(spend[c] for c in omni) / len(omni)
        single_each = sum(spend[c] for c in single) / len(single)
        uplift = omni_each / single_each - 1 if single_each else 0.0
        advice.append(Advice(
            kind="omnichannel_value", channel=None,
            text=(f"{share:.0%} of customers bought on two or more channels; they spent "
                  f"{_money(omni_each)} each against {_money(single_each)} for single-channel "
                  f"customers ({uplift:+.0%}; the industry claims +30%)."),
            figures=[Figure(name="omnichannel_share", value=share),
                     Figure(name="omnichannel_spend_each", value=round(omni_each)),
                     Figure(name="single_channel_spend_each", value=round(single_each)),
                     Figure(name="uplift", value=round(uplift, 4))],
            would_change="Omnichannel customers spending no more than single-channel ones.",
        ))  # fmt: skip
    strong = [p for p in pairs if p.customers >= MIN_PAIR]
    if strong:
        best = max(strong, key=lambda p: (p.spend_per_customer, p.customers))
        advice.append(Advice(
            kind="strongest_pair", channel=None,
            text=(f"Customers of both {best.channels[0]} and {best.channels[1]} spend "
                  f"{_money(best.spend_per_customer)} each ({best.customers} customers), the "
                  f"most of any pair with {MIN_PAIR} or more customers."),
            figures=[Figure(name="customers", value=best.customers),
                     Figure(name="spend_per_customer", value=best.spend_per_customer)],
            would_change="Another pair's shared customers overtaking it in spend each.",
        ))  # fmt: skip
    if singles:
        base = singles[0]
        added = Counter(
            other for customer in omni if base.channel in channels_of[customer]
            for other in channels_of[customer] if other != base.channel
        )  # fmt: skip
        nxt = added.most_common(1)[0] if added else None
        then = (f"; omnichannel customers who started there most often also buy on {nxt[0]} "
                f"({nxt[1]} customers)" if nxt else "")  # fmt: skip
        advice.append(Advice(
            kind="single_channel_base", channel=base.channel,
            text=(f"{base.customers} customers ({base.customers / customers:.0%}) buy only on "
                  f"{base.channel}, spending {_money(base.spend_per_customer)} each{then}."),
            figures=[Figure(name="customers", value=base.customers),
                     Figure(name="share_of_customers", value=round(base.customers / customers, 4)),
                     Figure(name="spend_per_customer", value=base.spend_per_customer)]
                    + ([Figure(name="next_channel_customers", value=nxt[1])] if nxt else []),
            would_change=f"Fewer single-channel {base.channel} customers than another channel's.",
        ))  # fmt: skip
    advice += _additions(sold_on, media, total_touches)
    return advice, pairs, singles, media_out, sold_on, share, customers


def _additions(sold_on: list[str], media: Counter[str], total: int) -> list[Advice]:
    found: list[Advice] = []
    for channel, asks in CANDIDATES.items():
        # ``store:soho`` and ``retail:target`` are channels of the kinds ``store``, ``retail``.
        if not total or any(c == channel or c.startswith(f"{channel}:") for c in sold_on):
            continue
        count = sum(media.get(a, 0) for a in asks)
        share = count / total
        if share < MIN_SHARE:
            continue
        found.append(Advice(
            kind="add_channel", channel=channel,
            text=(f"{share:.0%} of tracked touches ({count} of {total}) came from "
                  f"{' / '.join(a for a in asks if media.get(a))}, and you do not sell on "
                  f"{channel} yet: it is the channel to add next."),
            figures=[Figure(name="touches", value=count),
                     Figure(name="share", value=round(share, 4))],
            would_change=f"That share falling below {MIN_SHARE:.0%} of touches.",
        ))  # fmt: skip
    found.sort(key=lambda a: -a.figures[1].value)
    if not found:
        found.append(Advice(
            kind="no_add", channel=None,
            text=(f"No marketplace or social shop you do not sell on sends {MIN_SHARE:.0%} or "
                  f"more of your {total} tracked touches: grow the channels you have first."),
            figures=[Figure(name="touches", value=total)],
            would_change=f"A platform you do not sell on reaching {MIN_SHARE:.0%} of touches.",
        ))  # fmt: skip
    return found
