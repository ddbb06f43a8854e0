"""The customer 360, read side: the clerk's search, one profile with everything, one timeline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.customer import schemas
from tessera.customer.privacy import PrivacyService
from tessera.customer.profiles import ProfileService, decode_position
from tessera.identity.errors import ProfileNotFound
from tessera.identity.graph.service import IdentityService
from tessera.kit.errors import InvalidInput
from tessera.kit.pagination import encode_cursor
from tessera.models.identity import ConsentStatus
from tessera.models.workspace import AuditEntry
from tests.identity.people import ANA_PHONE_E164, Story, ana_and_ben, at, message, send
from tests.support.cli import invoke
from tests.support.factories import make_workspace


@pytest.fixture
def story(session: Session) -> Story:
    return ana_and_ben(session, make_workspace(session, "acme"))


def _ids(results: list[schemas.ProfileSummary]) -> list[tuple[str, str]]:
    return [(r.id, r.matched_by) for r in results]


@pytest.mark.parametrize(
    ("query", "matched_by"),
    [
        ("  ANA.SILVA@example.com ", "email"),
        ("(415) 555-0134", "phone"),
        ("415.555.0134", "phone"),
        ("+1 415 555 0134", "phone"),
        ("LOY-777", "loyalty_id"),
        ("#1001", "order_number"),
        ("1001", "order_number"),
        ("TT-2002", "order_number"),
        ("u-ana", "user_id"),
        ("ana s", "partial_name"),
        ("Ana Silva", "name"),
    ],
)
def test_the_clerk_finds_ana_however_she_is_typed(
    session: Session, story: Story, query: str, matched_by: str
) -> None:
    """Email in any case, a phone as people write it, a loyalty id, an order number with or
    without '#', a user id, or the start of her name: one hit, Ana, saying what matched."""
    results = ProfileService(session).search(story.workspace_id, query)

    assert _ids(results) == [(story.ana, matched_by)]
    assert results[0].name == "Ana Silva"
    assert results[0].phone == "(415) 555-0134"


def test_a_merged_profile_id_finds_its_survivor(session: Session, story: Story) -> None:
    """Searching the id of the profile merged into Ana's answers with Ana's."""
    results = ProfileService(session).search(story.workspace_id, story.absorbed)

    assert _ids(results) == [(story.ana, "id")]


def test_a_name_prefix_lists_everyone_it_starts(session: Session, story: Story) -> None:
    """'b' finds Ben only; 'zz' finds nobody; a name never matches a merged profile twice."""
    service = ProfileService(session)

    assert _ids(service.search(story.workspace_id, "b")) == [(story.ben, "partial_name")]
    assert service.search(story.workspace_id, "zz") == []
    assert _ids(service.search(story.workspace_id, "a")) == [(story.ana, "partial_name")]


@pytest.mark.parametrize("query", ["", "   ", "x" * 321])
def test_an_empty_or_huge_query_is_refused(session: Session, story: Story, query: str) -> None:
    """Nothing to look for, or more than an identifier can be, is a 422 naming q."""
    with pytest.raises(InvalidInput) as refused:
        ProfileService(session).search(story.workspace_id, query)

    assert refused.value.extensions == {"field": "q"}


def test_search_stays_inside_the_workspace(session: Session, story: Story) -> None:
    """Another workspace searching Ana's email, phone or name finds nobody."""
    other = make_workspace(session, "other")
    service = ProfileService(session)

    found = [service.search(other, q) for q in ("ana.silva@example.com", "4155550134", "ana")]

    assert found == [[], [], []]


def test_the_360_holds_traits_identities_orders_and_revenue(session: Session, story: Story) -> None:
    """Traits as stated, every identifier with its type, channels from events and orders, and
    revenue and average order value without the cancelled order."""
    view = ProfileService(session).view(story.workspace_id, story.ana, actor="usr_clerk")

    assert view.id == story.ana and view.requested_id == story.ana
    assert view.name == "Ana Silva"
    assert view.traits["loyalty_id"] == "LOY-777"
    kinds = {(i.type, i.value) for i in view.identifiers}
    assert {
        ("user_id", "u-ana"),
        ("anonymous_id", "web-ana"),
        ("anonymous_id", "app-ana"),
        ("email", "ana.silva@example.com"),
        ("phone", ANA_PHONE_E164),
        ("loyalty_id", "LOY-777"),
    } <= kinds
    assert sorted(v for t, v in kinds if t == "order") == sorted(story.order_ids)
    computed = view.computed
    assert computed.channels == ["app", "tiktok_shop", "web"]
    assert computed.event_count == 4
    assert computed.order_count == 3
    assert computed.revenue == [schemas.MoneyTotal(currency="USD", amount=10000)]
    assert computed.average_order_value == [schemas.MoneyTotal(currency="USD", amount=5000)]
    assert (computed.first_seen, computed.last_seen) == (at(0), at(50))
    assert view.absorbed_profile_ids == [story.absorbed]
    assert [(m.survivor_profile_id, m.absorbed_profile_id) for m in view.merges][-1] == (
        story.ana,
        story.absorbed,
    )


def test_each_view_writes_one_audit_row_naming_who_looked(session: Session, story: Story) -> None:
    """Two views, two rows; the view by a merged id says which id was asked for."""
    service = ProfileService(session)

    service.view(story.workspace_id, story.ana, actor="usr_clerk")
    merged = service.view(story.workspace_id, story.absorbed, actor="key_pos")

    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.workspace_id == story.workspace_id, AuditEntry.action == "profile.viewed")
        .order_by(AuditEntry.id)
    ).all()
    assert merged.id == story.ana and merged.requested_id == story.absorbed
    assert [(r.actor, r.subject, r.details) for r in rows] == [
        ("usr_clerk", story.ana, {}),
        ("key_pos", story.ana, {"requested_id": story.absorbed}),
    ]


def test_an_unknown_or_foreign_profile_is_not_found_and_not_audited(
    session: Session, story: Story
) -> None:
    """Another workspace asking for Ana gets 404, and no audit row is written for it."""
    other = make_workspace(session, "other")

    with pytest.raises(ProfileNotFound):
        ProfileService(session).view(other, story.ana, actor="usr_x")

    assert session.scalars(select(AuditEntry).where(AuditEntry.workspace_id == other)).all() == []


def _timeline_story(session: Session, story: Story) -> None:
    PrivacyService(session).record_consent(
        story.workspace_id,
        story.ana,
        schemas.ConsentCreate(
            identifier_type="email", identifier_value="ana.silva@example.com",
            purpose="marketing", channel="email", status=ConsentStatus.GRANTED,
            source="store:soho", wording="Yes, email me offers", recorded_at=at(45),
        ),
        actor="usr_clerk",
    )  # fmt: skip


def test_the_timeline_is_one_stream_across_channels_newest_first(
    session: Session, story: Story
) -> None:
    """Events from web and app, orders (not again as events), the consent and the merge, in
    time order, newest first."""
    _timeline_story(session, story)

    page = ProfileService(session).timeline(story.workspace_id, story.ana, limit=200)

    assert [(i.kind, i.title, i.channel) for i in page.items if i.kind != "merge"] == [
        ("order", "Order #1003", "web"),
        ("consent", "Consent granted: marketing by email", "email"),
        ("order", "Order TT-2002", "tiktok_shop"),
        ("order", "Order #1001", "web"),
        ("event", "identify", "app"),
        ("event", "screen: Home", "app"),
        ("event", "Product Viewed", "web"),
        ("event", "identify", "web"),
    ]
    merges = [i for i in page.items if i.kind == "merge"]
    assert len(merges) == 1 and merges[0].detail["cause_ref"] == "ana-4"
    times = [i.occurred_at for i in page.items]
    assert times == sorted(times, reverse=True)
    assert page.next_cursor is None


def test_paging_the_timeline_at_any_size_gives_the_same_stream(
    session: Session, story: Story
) -> None:
    """Every page size from 1 to past the end walks the same items once each, in order."""
    _timeline_story(session, story)
    service = ProfileService(session)
    whole = [i.id + i.kind for i in service.timeline(story.workspace_id, story.ana).items]

    walks = []
    for limit in range(1, len(whole) + 2):
        seen: list[str] = []
        cursor = None
        while True:
            page = service.timeline(story.workspace_id, story.ana, cursor, limit)
            assert len(page.items) <= limit
            seen.extend(i.id + i.kind for i in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        walks.append(seen)

    assert len(whole) == 9
    assert all(walk == whole for walk in walks)


def test_an_unmerge_shows_on_both_timelines(session: Session, story: Story) -> None:
    """After the merge is undone each side's timeline holds the unmerge, and Ana's app events
    go back to the app profile."""
    identity = IdentityService(session)
    merge = ProfileService(session).view(story.workspace_id, story.ana, actor="t").merges[-1]
    identity.unmerge(story.workspace_id, merge.id, actor="usr_clerk", reason="shared tablet")
    service = ProfileService(session)

    app_profile = identity.find_profile(story.workspace_id, "anonymous_id", "app-ana")
    assert app_profile is not None
    app_items = service.timeline(story.workspace_id, app_profile.id).items

    assert [i.kind for i in app_items][:1] == ["unmerge"]
    assert ("event", "screen: Home") in [(i.kind, i.title) for i in app_items]


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", encode_cursor("x_1"), encode_cursor("2026-11-01T09:00:00|"),
     encode_cursor("2026-11-01T09:00:00|evt_1")],
)  # fmt: skip
def test_a_cursor_the_api_did_not_make_is_refused(
    session: Session, story: Story, cursor: str
) -> None:
    """Garbage, a plain id cursor, an empty key and a time without a zone are all 422."""
    with pytest.raises(InvalidInput) as refused:
        ProfileService(session).timeline(story.workspace_id, story.ana, cursor)

    assert refused.value.extensions == {"field": "cursor"}


def test_a_position_round_trips_through_its_cursor() -> None:
    """The cursor holds the time to the microsecond and the key."""
    from tessera.customer.profiles import Position, encode_position

    position = Position(datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=UTC), "evt_01X~u")

    assert decode_position(encode_position(position)) == position


def test_events_of_an_anonymous_id_with_another_persons_user_id_stay_theirs(
    session: Session, story: Story
) -> None:
    """Ben using Ana's web browser (her anonymous id, his user id) is Ben's event, not Ana's."""
    send(session, story.workspace_id, [
        message("track", "ben-on-ana", 60, anonymous_id="web-ana", user_id="u-ben",
                event="Cart Viewed"),
    ])  # fmt: skip
    service = ProfileService(session)

    ana = [i.title for i in service.timeline(story.workspace_id, story.ana).items]
    ben_id = service.resolve(story.workspace_id, story.ben).id
    ben = [i.title for i in service.timeline(story.workspace_id, ben_id).items]

    assert "Cart Viewed" not in ana
    assert "Cart Viewed" in ben


# CLI ---------------------------------------------------------------------------------------


def test_the_cli_searches_and_shows_a_profile(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """`tessera profiles search` lists the hit; `show` prints traits, identities and revenue."""
    with session_factory() as session:
        story = ana_and_ben(session, make_workspace(session, "cli"))
        session.commit()

    code_search, out_search = invoke(
        settings, session_factory, "profiles", "search", "ana.silva@example.com", "-w", "cli"
    )
    code_show, out_show = invoke(
        settings, session_factory, "profiles", "show", story.ana, "-w", "cli"
    )
    code_bad, out_bad = invoke(
        settings, session_factory, "profiles", "show", "cus_nope", "-w", "cli"
    )

    assert (code_search, code_show, code_bad) == (0, 0, 1)
    assert story.ana in out_search and "email" in out_search
    assert "Ana Silva" in out_show and "LOY-777" in out_show and "100.00 USD" in out_show
    assert "no profile cus_nope" in out_bad


def test_each_identity_says_where_it_came_from(session: Session, story: Story) -> None:
    """The channel of the record that first linked it: the web identify for her email, the app
    for her app device, the TikTok Shop order for that order's identifier."""
    view = ProfileService(session).view(story.workspace_id, story.ana, actor="t")

    sources = {(i.type, i.value): i.source for i in view.identifiers}

    assert sources[("email", "ana.silva@example.com")] == "web"
    assert sources[("anonymous_id", "app-ana")] == "app"
    assert sources[("order", story.order_ids[1])] == "tiktok_shop"
    assert sources[("order", story.order_ids[0])] == "web"
