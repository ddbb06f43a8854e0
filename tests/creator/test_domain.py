"""The pure rules: handles normalised per platform, audience splits checked, the safety
screen on whole words, the fit score's parts, and rank fusion."""

from __future__ import annotations

import pytest

from tessera.creator import domain


@pytest.mark.parametrize(
    ("platform", "raw", "key"),
    [
        ("tiktok", "@Ana.Bakes", "ana.bakes"),
        ("tiktok", "https://www.tiktok.com/@Ana.Bakes?lang=en", "ana.bakes"),
        ("instagram", "instagram.com/ana_bakes/", "ana_bakes"),
        ("instagram", "https://m.instagram.com/ana_bakes/reels/", "ana_bakes"),
        ("youtube", "https://youtube.com/c/AnaBakes", "anabakes"),
        ("youtube", "youtube.com/@AnaBakes", "anabakes"),
        ("x", "https://twitter.com/ana", "ana"),
    ],
)
def test_one_handle_however_written(platform: str, raw: str, key: str) -> None:
    """Case, a leading @ and the profile URL's forms all come to one key."""
    assert domain.handle_key(platform, raw) == key


@pytest.mark.parametrize(
    ("platform", "raw", "reason"),
    [
        ("tiktok", "https://instagram.com/ana", "the URL is on instagram, not tiktok"),
        ("tiktok", "https://example.com/ana",
         "the URL's host example.com is not a known platform's"),
        ("tiktok", "ana bakes", "may hold only letters, digits, '.', '_' and '-' (up to 100)"),
        ("tiktok", "  ", "must not be empty"),
        ("instagram", "https://instagram.com/", "the URL names no account"),
    ],
)  # fmt: skip
def test_a_handle_naming_no_account_says_why(platform: str, raw: str, reason: str) -> None:
    """Each refusal is a sentence a person can act on."""
    with pytest.raises(domain.HandleError) as refused:
        domain.handle_key(platform, raw)

    assert str(refused.value) == reason


def test_audience_splits_are_checked() -> None:
    """Unknown keys, shares outside 0-1 and totals over 101 % are refused."""
    assert domain.check_shares({"US": 0.5, "CA": 0.51}, None) is None
    assert domain.check_shares({"US": 0.6, "CA": 0.5}, None) == "the shares add up to more than 1"
    assert domain.check_shares({"0-12": 0.5}, domain.AGE_BANDS) == (
        "'0-12' is not one of the known values"
    )
    assert domain.check_shares({"US": float("nan")}, None) == "US: a share is a number from 0 to 1"


def test_the_screen_matches_whole_words_and_phrases() -> None:
    """ "class" is not "ass", "gunning" is not "gun"; phrases match across spaces and case."""
    flags = domain.screen("First  class act, gunning. Poker night, POKER again; White   Power? no",
                          ["First Class"])  # fmt: skip

    assert flags == [
        domain.SafetyFlag("gambling", "poker", 2),
        domain.SafetyFlag("hate", "white power", 1),
        domain.SafetyFlag("custom", "first class", 1),
    ]


def test_the_fit_score_is_its_weighted_parts_minus_safety() -> None:
    """Full relevance, one of two niches, 30 % in the market (half-full at 25 %), 3 %
    engagement (half of a good 6 %), twice the wanted size (half), one safety term."""
    fit = domain.brand_fit(
        domain.Brand(frozenset({"baking", "vegan"}), "US", 1_000, 50_000),
        relevance=1.0, niches=["Baking", "travel"], countries={"US": 0.3},
        engagement_rate=0.03, followers=100_000,
        flags=[domain.SafetyFlag("alcohol", "vodka", 2)],
    )  # fmt: skip

    assert [(p.name, round(p.score, 3)) for p in fit.parts] == [
        ("relevance", 1.0), ("niche", 0.5), ("audience", 0.6), ("engagement", 0.5),
        ("size", 0.5), ("safety", 1.0)]  # fmt: skip
    assert fit.score == round(100 * (0.35 + 0.1 + 0.12 + 0.075 + 0.05) - 10, 1)


def test_rank_fusion_rewards_agreement() -> None:
    """An item second in both lists beats one first in only one."""
    fused = domain.reciprocal_rank_fusion([[1, 2, 3], [4, 2, 5]])

    assert max(fused, key=lambda k: fused[k]) == 2
