"""The customers list: counts, filters, sort, pages and CSV export, and the 360's event
properties as fields; a viewer sees the list and cannot record consent."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tessera.models.workspace import Role
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import sign_in
from tests.identity.people import Story, ana_and_ben
from tests.support.factories import PASSWORD, Tenant


@pytest.fixture
def story(session: Session, tenant: Tenant) -> Story:
    story = ana_and_ben(session, tenant.workspace_id)
    session.commit()
    return story


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_list_counts_filters_and_sorts_customers(owner: TestClient, story: Story) -> None:
    """Ana bought on web and TikTok Shop and used the app; Ben was only on the web."""
    page = owner.get("/customers")
    omni = owner.get("/customers.csv?reach=omnichannel")
    tiktok = owner.get("/customers.csv?channel=tiktok_shop")
    by_orders = owner.get("/customers.csv?sort=orders")
    by_channels = owner.get("/customers.csv?sort=channels")

    assert page.status_code == 200
    assert "All <strong>2</strong>" in page.text
    assert "Omnichannel <strong>1</strong>" in page.text
    assert "<code>tiktok_shop</code> <strong>1</strong>" in page.text
    assert "<code>web</code> <strong>2</strong>" in page.text
    assert [r[0] for r in rows_of(omni.text)[1:]] == [story.ana]
    assert [r[0] for r in rows_of(tiktok.text)[1:]] == [story.ana]
    assert [r[0] for r in rows_of(by_orders.text)[1:]] == [story.ana, story.ben]
    assert [r[0] for r in rows_of(by_channels.text)[1:]] == [story.ana, story.ben]


def test_the_csv_export_holds_exact_rows(owner: TestClient, story: Story) -> None:
    """Revenue leaves the cancelled order out and is in major units beside its currency."""
    response = owner.get("/customers.csv?sort=revenue")

    rows = rows_of(response.text)
    assert response.headers["content-disposition"] == 'attachment; filename="customers.csv"'
    assert rows[0] == ["id", "name", "email", "phone", "last_seen", "orders", "revenue",
                       "currency", "channels", "has_consent"]  # fmt: skip
    assert [r[:4] + r[5:] for r in rows[1:]] == [
        [story.ana, "Ana Silva", "Ana.Silva@Example.com", "(415) 555-0134", "3", "100.00", "USD",
         "3", "no"],
        [story.ben, "Ben Okafor", "ben@example.com", "", "0", "0", "", "1", "no"],
    ]  # fmt: skip


def test_the_list_pages_by_cursor(owner: TestClient, story: Story) -> None:
    """One a page through the service's cursor; a cursor not of ours is refused."""
    first = owner.get("/customers?sort=orders&limit=1")
    bad = owner.get("/customers?cursor=nonsense")

    assert first.status_code == 200 and 'rel="next"' in first.text
    assert bad.status_code == 422


def test_event_properties_show_as_fields_not_a_repr(owner: TestClient, story: Story) -> None:
    """The 360's timeline renders an event's properties as a definition list."""
    page = owner.get(f"/customers/{story.ana}")

    assert '<dl class="fields fields-inline">' in page.text
    assert "<dt>sku</dt><dd>SERUM-30</dd>" in page.text
    assert "{&#39;" not in page.text and "sku=SERUM-30" not in page.text


def test_a_viewer_sees_the_list_and_cannot_record_consent(
    client: TestClient, session: Session, tenant: Tenant, story: Story
) -> None:
    """The list and the 360 are there for a viewer; the consent form is not, and a consent
    sent anyway is refused with nothing recorded."""
    WorkspaceService(session).add_user(
        tenant.workspace_id, "viewer@acme.example", Role.VIEWER, password=PASSWORD
    )
    session.commit()
    assert sign_in(client, "viewer@acme.example").status_code == 303

    listing = client.get("/customers")
    page = client.get(f"/customers/{story.ana}")

    assert (listing.status_code, page.status_code) == (200, 200)
    assert f'action="/customers/{story.ana}/consents"' not in page.text


def test_the_recent_page_counts_what_the_full_listing_counts(session: Session) -> None:
    """Sorted by last seen, the list takes its page first and counts only its people's orders
    and channels; each row equals the same person's row in the listing that aggregates the
    whole workspace (sorted by orders), consent and channel filters included."""
    from tessera.customer.profiles import CustomerFilter, ProfileService
    from tests.analytics.layer.worlds import random_shop
    from tests.support.factories import make_workspace

    workspace_id = make_workspace(session, "many")
    random_shop(session, workspace_id, people=40)
    service = ProfileService(session)

    for where in (CustomerFilter(), CustomerFilter(channel="store")):
        recent = service.customers(workspace_id, where, "last_seen", None, 15).items
        everyone = service.customers(workspace_id, where, "orders", None, 200).items
        by_id = {row.id: row for row in everyone}
        assert recent and {row.id for row in recent} <= set(by_id)
        assert [row for row in recent] == [by_id[row.id] for row in recent]
