"""The Customers pages: search as you type, the 360 page, consent, unmerge, export and erasure,
each allowed only to the roles that may, with CSRF, and in a real browser."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tessera.db import make_engine, make_session_factory, session_scope
from tessera.models.identity import Consent, Erasure, IdentityMerge, Profile
from tessera.models.workspace import AuditEntry, Role
from tests.dashboard.conftest import csrf_from, member
from tests.identity.people import Story, ana_and_ben
from tests.support.factories import PASSWORD, Tenant, make_tenant
from tests.support.live import live_server

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture
def story(session: Session, tenant: Tenant) -> Story:
    story = ana_and_ben(session, tenant.workspace_id)
    session.commit()
    return story


def count(session: Session, model: type, *where: object) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_the_search_answers_as_you_type_and_without_javascript(
    owner: TestClient, story: Story
) -> None:
    """The box asks /customers/search (HTMX) and the fragment lists Ana, by email, surname or
    "Last, First"; the same query as a plain form submission gives the whole page with the
    result alone (no list or counts to compute under it) and a link back to the list;
    nonsense says no match."""
    page = owner.get("/customers")
    fragment = owner.get("/customers/search", params={"q": "ana.silva@EXAMPLE.com"},
                         headers={"HX-Request": "true"})  # fmt: skip
    full = owner.get("/customers", params={"q": "#1001"})
    surname = owner.get("/customers/search", params={"q": "Silva"})
    last_first = owner.get("/customers/search", params={"q": "silva, ana"})
    none = owner.get("/customers/search", params={"q": "nobody-like-this"})
    empty = owner.get("/customers/search", params={"q": " "})
    huge = owner.get("/customers/search", params={"q": "x" * 400})

    assert page.status_code == 200
    assert 'hx-get="/customers/search"' in page.text
    assert 'hx-trigger="input changed delay:80ms, search"' in page.text
    assert 'href="/customers/reviews"' in page.text and 'href="/customers/conflicts"' in page.text
    assert "<html" not in fragment.text
    assert f'<a href="/customers/{story.ana}"><strong>Ana Silva</strong></a>' in fragment.text
    assert '<span class="tag">email</span>' in fragment.text
    assert f'href="/customers/{story.ana}"' in full.text and "order number" in full.text
    assert 'aria-label="Customer counts"' in page.text
    assert 'aria-label="Customer counts"' not in full.text and 'id="list-title"' not in full.text
    assert '<p class="lede"><a href="/customers">All customers</a></p>' in full.text
    for found, why in ((surname, "surname"), (last_first, "name")):
        assert f'href="/customers/{story.ana}"' in found.text
        assert f'<span class="tag">{why}</span>' in found.text
    assert "No customer matches “nobody-like-this”." in none.text
    assert "Type to search." in empty.text
    assert (huge.status_code, "at most 320 characters" in huge.text) == (200, True)


def test_the_profile_page_shows_the_360_and_audits_the_view(
    owner: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """Name, channel chips, value, traits, identities with sources, the timeline with orders and
    a load-more link, the merge; one audit row for the view."""
    response = owner.get(f"/customers/{story.ana}")

    text = response.text
    assert response.status_code == 200
    assert "<h1>Ana Silva</h1>" in text
    chips = re.search(r'<p class="channel-chips"[^>]*>(.*?)</p>', text, re.S)
    assert chips is not None
    assert re.findall(r'<span class="tag">([^<]+)</span>', chips.group(1)) == [
        "app", "tiktok_shop", "web"
    ]  # fmt: skip
    assert re.findall(r'<span class="stat-value">([^<]*)</span>', text) == [
        "3", "100.00 USD", "50.00 USD", "4"
    ]  # fmt: skip
    assert '<th scope="row">loyalty_id</th><td class="cell-wrap">LOY-777</td>' in text
    assert "<td><code>phone</code></td>" in text and "+14155550134" in text
    assert "Order TT-2002" in text and "76.00 USD" in text
    assert 'id="merges"' in text and "Unmerge" in text
    assert "Export JSON" in text and "Erase…" in text
    rows = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "profile.viewed", AuditEntry.actor == tenant.owner_id
        )
    ).all()
    assert [r.subject for r in rows] == [story.ana]


def test_a_merged_id_redirects_and_a_foreign_or_unknown_one_is_not_found(
    owner: TestClient, session: Session, story: Story
) -> None:
    """The absorbed profile's page sends the browser to Ana's; another workspace's customer and
    a made-up id are 404 pages."""
    other = make_tenant(session, "other")
    theirs = ana_and_ben(session, other.workspace_id)
    session.commit()

    merged = owner.get(f"/customers/{story.absorbed}", follow_redirects=False)
    foreign = owner.get(f"/customers/{theirs.ana}")
    unknown = owner.get("/customers/cus_nope")

    assert (merged.status_code, merged.headers["location"]) == (303, f"/customers/{story.ana}")
    assert foreign.status_code == 404 and "Ana Silva" not in foreign.text
    assert unknown.status_code == 404


def test_the_timeline_loads_older_items_in_pages(owner: TestClient, story: Story) -> None:
    """The fragment behind "Load older" continues where the cursor points."""
    first = owner.get(f"/customers/{story.ana}/timeline")
    bad = owner.get(f"/customers/{story.ana}/timeline", params={"cursor": "garbage"},
                    headers={"HX-Request": "true"})  # fmt: skip

    assert first.status_code == 200 and first.text.count('<tr class="timeline-') == 8
    assert 'id="timeline-more"' not in first.text
    assert bad.status_code == 422 and "cursor is not one this API returned" in bad.text


def test_a_viewer_sees_no_buttons_and_is_refused_on_the_server(
    client: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """No Unmerge, consent form, Export or Erase for a viewer; posting anyway is a 403 that
    changes nothing."""
    viewer = member(client, session, tenant, Role.VIEWER)
    page = viewer.get(f"/customers/{story.ana}")
    token = csrf_from(viewer.get("/customers"))
    merge_id = session.scalars(select(IdentityMerge.id)).one()

    answers = [
        viewer.post(f"/customers/{story.ana}/merges/{merge_id}/unmerge",
                    data={"csrf_token": token}).status_code,
        viewer.post(f"/customers/{story.ana}/consents", data={"csrf_token": token}).status_code,
        viewer.get(f"/customers/{story.ana}/export").status_code,
        viewer.get(f"/customers/{story.ana}/erase").status_code,
        viewer.post(f"/customers/{story.ana}/erase",
                    data={"csrf_token": token, "confirm": story.ana}).status_code,
    ]  # fmt: skip

    assert "Unmerge" not in page.text and "Export JSON" not in page.text
    assert 'action="/customers/' + story.ana + '/consents"' not in page.text
    assert answers == [403, 403, 403, 403, 403]
    assert count(session, IdentityMerge, IdentityMerge.undone_at.is_not(None)) == 0
    assert (count(session, Consent), count(session, Erasure)) == (0, 0)


def test_a_marketer_records_consent_and_unmerges_with_csrf(
    client: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """Consent from the form lands on the chosen identifier; Unmerge without the CSRF token is
    refused, with it the merge is undone and both profiles exist again."""
    marketer = member(client, session, tenant, Role.MARKETER)
    page = marketer.get(f"/customers/{story.ana}")
    token = csrf_from(page)
    email_id = re.search(r'<option value="(idn_[^"]+)">email: ', page.text)
    assert email_id is not None
    merge_id = session.scalars(select(IdentityMerge.id)).one()

    recorded = marketer.post(f"/customers/{story.ana}/consents", data={
        "csrf_token": token, "identifier_id": email_id.group(1), "purpose": "marketing",
        "channel": "email", "status": "granted", "source": "store:soho", "wording": "Yes"},
        follow_redirects=False)  # fmt: skip
    wrong = marketer.post(f"/customers/{story.ana}/consents", data={
        "csrf_token": token, "identifier_id": email_id.group(1), "purpose": "marketing",
        "channel": "sms", "status": "granted"})  # fmt: skip
    too_long = marketer.post(f"/customers/{story.ana}/consents", data={
        "csrf_token": token, "identifier_id": email_id.group(1), "purpose": "marketing",
        "channel": "email", "status": "granted", "source": "x" * 301})  # fmt: skip
    forged = marketer.post(f"/customers/{story.ana}/merges/{merge_id}/unmerge", data={})
    undone = marketer.post(
        f"/customers/{story.ana}/merges/{merge_id}/unmerge",
        data={"csrf_token": token, "reason": "shared tablet"},
        headers={"HX-Request": "true"},
    )

    assert recorded.status_code == 303
    assert "sms consent is given for an identifier of type phone" in wrong.text
    assert too_long.status_code == 200 and "Consent not recorded: check source" in too_long.text
    assert forged.status_code == 403
    assert undone.status_code == 200 and undone.headers["hx-redirect"].startswith("/customers/cus_")
    assert count(session, Consent) == 1
    assert count(session, IdentityMerge, IdentityMerge.undone_at.is_not(None)) == 1
    assert count(session, Profile, Profile.status == "active") == 3
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "profile.unmerged")).one()
    assert (audit.subject, audit.details["reason"]) == (merge_id, "shared tablet")


def test_an_admin_exports_and_erases_after_typing_the_id(
    owner: TestClient, session: Session, story: Story
) -> None:
    """Export downloads JSON; erasure asks for the id, refuses a wrong one (nothing erased), and
    with the right one removes the customer and says so."""
    exported = owner.get(f"/customers/{story.ana}/export")
    confirm = owner.get(f"/customers/{story.ana}/erase")
    token = csrf_from(confirm)

    wrong = owner.post(f"/customers/{story.ana}/erase",
                       data={"csrf_token": token, "confirm": "yes", "mode": "delete"})  # fmt: skip
    after_wrong = count(session, Profile)
    erased = owner.post(
        f"/customers/{story.ana}/erase",
        data={"csrf_token": token, "confirm": story.ana, "mode": "anonymise"},
        follow_redirects=False,
    )
    landing = owner.get("/customers")

    assert exported.headers["content-disposition"] == f'attachment; filename="{story.ana}.json"'
    assert json.loads(exported.text)["profile_id"] == story.ana
    assert "Type the customer's id" in confirm.text and "Erase for good" in confirm.text
    assert wrong.status_code == 422 and "Type the customer&#39;s id exactly" in wrong.text
    assert after_wrong == 3
    assert (erased.status_code, erased.headers["location"]) == (303, "/customers")
    assert f"Erased {story.ana} (anonymise)" in landing.text
    assert count(session, Profile) == 1
    assert owner.get(f"/customers/{story.ana}").status_code == 404


# In a browser ------------------------------------------------------------------------------


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_page(viewport={"width": 1366, "height": 768})
        finally:
            browser.close()


@pytest.mark.browser
def test_a_clerk_finds_a_customer_as_they_type_and_undoes_a_merge(
    committed_database_url: str, page: Page
) -> None:
    """In Chromium: typing part of a phone number lists Ana without pressing Enter; her page
    shows her timeline; Unmerge asks for confirmation and reloads with both profiles back; no
    script or policy error on the way."""
    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "acme")
        story = ana_and_ben(session, tenant.workspace_id)
    engine.dispose()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    page.on("dialog", lambda dialog: dialog.accept())

    with live_server(committed_database_url) as base:
        page.goto(base + "/login?next=/customers")
        page.get_by_label("Email").fill(tenant.owner_email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(base + "/customers")

        page.get_by_label("Email, phone, loyalty id, order number or name").press_sequentially(
            "415 555 0134", delay=20
        )
        result = page.locator("#customer-results-table").get_by_role("link", name="Ana Silva")
        expect(result).to_be_visible()
        expect(page).to_have_url(base + "/customers")  # answered in place, not submitted
        result.click()

        expect(page).to_have_url(base + f"/customers/{story.ana}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Ana Silva")
        expect(page.locator("#timeline-rows")).to_contain_text("Order TT-2002")
        page.locator("#merges").get_by_role("button", name="Unmerge").click()
        expect(page.get_by_role("status")).to_contain_text("Unmerged mrg_")
        expect(page.locator("#merges")).to_contain_text("undone")

    assert problems == []
