"""The rights check as a table of cases: expiry at midnight in the contract's zone, territory,
paid against organic, platforms, partnership ads and their authorisation (revoked, expiring
mid-flight), inherited licenses; then properties over random licenses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tessera.kit.errors import InvalidInput
from tessera.rights.domain import (
    Authorisation,
    License,
    Usage,
    Use,
    can_use,
    license_window,
    lineage_licenses,
    standing,
)

START, ENDS = license_window(date(2027, 1, 1), date(2027, 3, 31), "America/New_York")
assert ENDS is not None
END: datetime = ENDS
IN_TERM = datetime(2027, 2, 1, 12, tzinfo=UTC)


def licensed(*usages: Usage, **changes: object) -> License:
    values: dict[str, object] = {
        "id": "lic_1", "asset_id": "ast_master", "usages": frozenset(usages),
        "starts_at": START, "ends_at": END,
    }  # fmt: skip
    values.update(changes)
    return License(**values)  # type: ignore[arg-type]


def spark(**changes: object) -> Authorisation:
    values: dict[str, object] = {
        "id": "aut_1", "asset_id": "ast_master", "platform": "tiktok",
        "granted_at": START, "expires_at": START + timedelta(days=60),
    }  # fmt: skip
    values.update(changes)
    return Authorisation(**values)  # type: ignore[arg-type]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


EVERYWHERE = licensed(Usage.ORGANIC, Usage.EMAIL, Usage.WEBSITE)
CASES = [
    # (what, licenses, authorisations, use, allowed, reason contains)
    ("email in term", [EVERYWHERE], [], Use("email", Usage.EMAIL, "US", IN_TERM), True, "allows"),
    ("no license at all", [], [], Use("email", Usage.EMAIL, "US", IN_TERM), False,
     "no license is on file"),
    ("23:59 New York on the last day", [EVERYWHERE], [],
     Use("email", Usage.EMAIL, "US", at("2027-03-31T23:59:59-04:00")), True, "allows"),
    ("00:00 New York the day after", [EVERYWHERE], [],
     Use("email", Usage.EMAIL, "US", at("2027-04-01T00:00:00-04:00")), False,
     "ended at 2027-04-01 04:00 UTC"),
    ("already April in London, still March in New York", [EVERYWHERE], [],
     Use("email", Usage.EMAIL, "GB", at("2027-04-01T01:30:00+01:00")), True, "allows"),
    ("the same instant on a London contract", [licensed(Usage.EMAIL, starts_at=START,
     ends_at=license_window(date(2027, 1, 1), date(2027, 3, 31), "Europe/London")[1])], [],
     Use("email", Usage.EMAIL, "GB", at("2027-04-01T01:30:00+01:00")), False,
     "ended at 2027-03-31 23:00 UTC"),
    ("before the start", [EVERYWHERE], [],
     Use("website", Usage.WEBSITE, "US", at("2026-12-31T23:00:00-05:00")), False,
     "starts at 2027-01-01 05:00 UTC"),
    ("territory outside", [licensed(Usage.EMAIL, territories=frozenset({"US", "CA"}))], [],
     Use("email", Usage.EMAIL, "fr", IN_TERM), False, "covers CA, US, not FR"),
    ("territory inside, any case", [licensed(Usage.EMAIL, territories=frozenset({"US", "CA"}))],
     [], Use("email", Usage.EMAIL, "ca", IN_TERM), True, "allows"),
    ("organic run as paid", [licensed(Usage.ORGANIC)], [],
     Use("instagram", Usage.PAID_SOCIAL, "US", IN_TERM), False,
     "allows organic, not paid_social"),
    ("paid on a platform not licensed",
     [licensed(Usage.PAID_SOCIAL, platforms=frozenset({"tiktok"}))], [],
     Use("instagram", Usage.PAID_SOCIAL, "US", IN_TERM), False, "covers tiktok, not instagram"),
    ("paid on the licensed platform",
     [licensed(Usage.PAID_SOCIAL, platforms=frozenset({"tiktok"}))], [],
     Use("tiktok", Usage.PAID_SOCIAL, "US", IN_TERM), True, "allows"),
    ("paid does not allow partnership ads", [licensed(Usage.PAID_SOCIAL)], [spark()],
     Use("tiktok", Usage.PARTNERSHIP, "US", IN_TERM), False, "not partnership"),
    ("partnership with a live Spark code", [licensed(Usage.PARTNERSHIP)], [spark()],
     Use("tiktok", Usage.PARTNERSHIP, "US", IN_TERM, IN_TERM + timedelta(days=7)), True,
     "authorisation aut_1"),
    ("partnership without an authorisation", [licensed(Usage.PARTNERSHIP)], [],
     Use("tiktok", Usage.PARTNERSHIP, "US", IN_TERM), False, "no tiktok authorisation"),
    ("a Meta permission does not authorise TikTok", [licensed(Usage.PARTNERSHIP)],
     [spark(platform="meta")], Use("tiktok", Usage.PARTNERSHIP, "US", IN_TERM), False,
     "no tiktok authorisation"),
    ("a Meta permission authorises Instagram", [licensed(Usage.PARTNERSHIP)],
     [spark(platform="meta")], Use("instagram", Usage.PARTNERSHIP, "US", IN_TERM), True,
     "meta authorisation"),
    ("the creator revoked the Spark code", [licensed(Usage.PARTNERSHIP)],
     [spark(revoked_at=IN_TERM - timedelta(hours=1))],
     Use("tiktok", Usage.PARTNERSHIP, "US", IN_TERM), False, "revoked the tiktok authorisation"),
    ("the Spark code runs out mid-flight", [licensed(Usage.PARTNERSHIP)], [spark()],
     Use("tiktok", Usage.PARTNERSHIP, "US", IN_TERM, IN_TERM + timedelta(days=40)), False,
     "expires at 2027-03-02 05:00 UTC, before the flight ends"),
    ("the license runs out mid-flight", [licensed(Usage.PAID_SOCIAL)], [],
     Use("tiktok", Usage.PAID_SOCIAL, "US", IN_TERM, END + timedelta(days=1)), False,
     "before the flight does"),
    ("a revoked license", [licensed(Usage.EMAIL, revoked_at=IN_TERM - timedelta(days=1))], [],
     Use("email", Usage.EMAIL, "US", IN_TERM), False, "was revoked"),
    ("perpetual", [licensed(Usage.AMAZON, ends_at=None)], [],
     Use("amazon", Usage.AMAZON, "DE", datetime(2090, 1, 1, tzinfo=UTC)), True, "allows"),
    ("the closest license names the reason",
     [licensed(Usage.ORGANIC, id="lic_far"),
      licensed(Usage.EMAIL, id="lic_near", territories=frozenset({"US"}))], [],
     Use("email", Usage.EMAIL, "MX", IN_TERM), False, "covers US, not MX"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("licenses", "authorisations", "use", "allowed", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_rights_check(
    licenses: list[License],
    authorisations: list[Authorisation],
    use: Use,
    allowed: bool,
    reason: str,
) -> None:
    decision = can_use(licenses, authorisations, use)

    assert (decision.allowed, reason in decision.reason) == (allowed, True), decision.reason


def test_a_rendition_inherits_its_masters_license_through_every_generation() -> None:
    """ast_square was made from ast_vertical, made from ast_master: the master's email
    license governs both; an unrelated asset's license governs neither."""
    masters = {"ast_square": "ast_vertical", "ast_vertical": "ast_master"}
    other = licensed(Usage.EMAIL, id="lic_other", asset_id="ast_other")
    licenses = [licensed(Usage.EMAIL), other]

    square = lineage_licenses("ast_square", masters, licenses)
    stray = lineage_licenses("ast_stray", {**masters, "ast_loop": "ast_loop"}, licenses)

    assert [lic.id for lic in square] == ["lic_1"]
    assert can_use(square, [], Use("email", Usage.EMAIL, "US", IN_TERM)).allowed
    assert stray == [] and lineage_licenses("ast_loop", {"ast_loop": "ast_loop"}, licenses) == []


@pytest.mark.parametrize(
    ("use", "field"),
    [
        (Use("fax", Usage.EMAIL, "US", IN_TERM), "channel"),
        (Use("tiktok", Usage.EMAIL, "US", IN_TERM), "usage"),
        (Use("email", Usage.EMAIL, "ZZ", IN_TERM), "territory"),
        (Use("email", Usage.EMAIL, "US", datetime(2027, 2, 1)), "at"),
        (Use("tiktok", Usage.PAID_SOCIAL, "US", IN_TERM, IN_TERM - timedelta(1)), "until"),
    ],
)
def test_a_question_that_cannot_be_answered_names_its_field(use: Use, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        can_use([EVERYWHERE], [], use)
    assert refused.value.extensions["field"] == field


def test_a_license_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidInput):
        license_window(date(2027, 3, 1), date(2027, 2, 1), "UTC")


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
licenses = st.builds(
    License,
    id=st.sampled_from(["lic_a", "lic_b", "lic_c"]),
    asset_id=st.just("ast_master"),
    usages=st.frozensets(st.sampled_from(list(Usage)), min_size=1),
    starts_at=instants,
    ends_at=st.none() | instants,
    platforms=st.frozensets(st.sampled_from(["tiktok", "instagram"])),
    territories=st.frozensets(st.sampled_from(["US", "CA", "GB"])),
)
uses = st.builds(
    Use,
    channel=st.sampled_from(["tiktok", "instagram", "email", "amazon"]),
    usage=st.sampled_from([Usage.ORGANIC, Usage.PAID_SOCIAL, Usage.EMAIL, Usage.AMAZON]),
    territory=st.sampled_from(["US", "CA", "GB"]),
    at=instants,
)


@given(st.lists(licenses, max_size=3, unique_by=lambda lic: lic.id), licenses, uses)
def test_an_allowed_use_rests_on_its_license_and_more_licenses_never_take_it_away(
    held: list[License], extra: License, use: Use
) -> None:
    """Allowed: the license it names allows it alone, and covers the instant. Adding a
    license never refuses what was allowed."""
    try:
        decision = can_use(held, [], use)
    except InvalidInput:
        return  # a usage the channel cannot carry: refused before any license is read
    if decision.allowed:
        [named] = [lic for lic in held if lic.id == decision.license_id]
        assert can_use([named], [], use).allowed
        assert named.starts_at <= use.at and (named.ends_at is None or use.at < named.ends_at)
        assert can_use([*held, extra], [], use).allowed


def test_a_standing_names_what_the_library_shows() -> None:
    """In force and far from its end: licensed; within the month: ending with its end; a
    perpetual one wins; none in force: ended; none at all: none; a revoked one is not in
    force."""
    month = timedelta(days=30)
    near = licensed(Usage.EMAIL, ends_at=IN_TERM + timedelta(days=5))
    far = licensed(Usage.EMAIL, ends_at=IN_TERM + timedelta(days=90))

    assert standing([far], IN_TERM, month).state == "licensed"
    assert (standing([near], IN_TERM, month).state, standing([near], IN_TERM, month).ends_at) == (
        "ending", near.ends_at,
    )  # fmt: skip
    assert standing([near, licensed(Usage.EMAIL, ends_at=None)], IN_TERM, month).state == (
        "licensed"
    )
    assert standing([near], END + timedelta(days=1), month).state == "ended"
    assert standing([], IN_TERM, month).state == "none"
    revoked = licensed(Usage.EMAIL, revoked_at=IN_TERM - timedelta(days=1))
    assert standing([revoked], IN_TERM, month).state == "ended"
