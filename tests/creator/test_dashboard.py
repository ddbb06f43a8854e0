"""The creator pages: the search form's filters and results with fit and safety, a creator's
page with accounts, audience and lookalikes; a refused filter re-shows the form naming it,
and another workspace's creator is not found."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.creator.service import CreatorService
from tessera.models.creator import Creator
from tests.creator.world import CSV
from tests.dashboard.conftest import sign_in
from tests.support.factories import Tenant, make_tenant


@pytest.fixture
def tenant(session: Session) -> Tenant:
    tenant = make_tenant(session, "acme")
    CreatorService(session).import_csv(tenant.workspace_id, CSV.splitlines(keepends=True))
    session.commit()
    return tenant


def test_the_search_page_filters_and_shows_fit_and_safety(
    client: TestClient, tenant: Tenant
) -> None:
    """US audience of 30 % or more: Tyler (flagged for casino), Marco and Ana, with fit parts."""
    assert sign_in(client, tenant.owner_email).status_code == 303

    page = client.get("/creators", params={"country": "US", "min_country_share": "30"})
    words = client.get("/creators", params={"q": "croissant", "platform": "tiktok"})

    assert page.status_code == 200
    assert '<a href="/creators" aria-current="page">' in page.text
    assert page.text.count("data-creator=") == 3
    assert "Tyler Brooks" in page.text and "Marco Ruiz" in page.text and "Ana Okafor" in page.text
    assert '<span class="pill pill-revoked">casino</span>' in page.text
    assert "audience (20 %)" in page.text
    assert words.text.count("data-creator=") == 1 and "Lea Martin" in words.text


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"country": "ZZ"}, "country"),
        ({"min_followers": "99999999999999999999"}, "min_followers"),
        ({"min_engagement": "lots"}, "not a number"),
    ],
)
def test_a_refused_filter_reshows_the_form_naming_it(
    client: TestClient, tenant: Tenant, params: dict[str, str], named: str
) -> None:
    """A 422 page with the form and the field named, never a 500."""
    sign_in(client, tenant.owner_email)

    page = client.get("/creators", params=params)

    assert page.status_code == 422
    assert 'id="creator-search-error"' in page.text and named in page.text


def test_a_nul_in_the_words_is_refused_before_the_page(client: TestClient, tenant: Tenant) -> None:
    """The intake guard answers 422 naming the parameter; no page is built."""
    sign_in(client, tenant.owner_email)

    page = client.get("/creators", params={"q": "vegan\x00"})

    assert page.status_code == 422 and "query.q" in page.text


def test_a_creators_page_shows_accounts_audience_and_lookalikes(
    client: TestClient, tenant: Tenant, session: Session
) -> None:
    """Ana's page: her TikTok, 58 % CA, Sofia among those like her; Bravo cannot see it."""
    ana = session.scalar(select(Creator.id).where(Creator.name == "Ana Okafor"))
    bravo = make_tenant(session, "bravo")
    session.commit()
    sign_in(client, tenant.owner_email)

    page = client.get(f"/creators/{ana}")
    client.cookies.clear()
    sign_in(client, bravo.owner_email)
    other = client.get(f"/creators/{ana}", headers={"accept": "text/html"})

    assert page.status_code == 200
    assert "@ana.bakes" in page.text and "CA: 58 %" in page.text
    assert "Sofia Rossi" in page.text.split('id="creator-lookalikes"')[1]
    assert "No brand-safety terms" in page.text
    assert other.status_code == 404
