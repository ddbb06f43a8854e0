"""Journey pages: the list with people entered, inside and out by reason, and one journey's
graph drawn as SVG with each step's counts, messages and conversions."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.journey.service import JourneyService
from tessera.kit.time import ManualClock
from tests.dashboard.conftest import csrf_from
from tests.journey.flows import ACTOR, T0, Platform, journey_doc, track
from tests.journey.test_metrics import PEOPLE, run_offer
from tests.message.world import message_settings
from tests.support.factories import Tenant, make_workspace
from tests.support.fake_sms import fake_sms
from tests.support.smtp_server import smtp_server


def people_in_a_cart_journey(
    session: Session, factory: sessionmaker[Session], settings: Settings, tenant: Tenant
) -> str:
    """Two checkouts; one person buys (leaves at the wait), the other is still waiting."""
    platform = Platform(session, factory, settings, tenant.workspace_id, ManualClock(T0))
    journey = platform.live(journey_doc())
    platform.send(
        track("c1", "Checkout Started", T0, user_id="u1", cart_id="cart-1"),
        track("c2", "Checkout Started", T0, user_id="u2", cart_id="cart-2"),
    )
    platform.run()
    platform.send(
        track("o1", "Order Completed", T0, user_id="u1", order_id="1", checkout_id="cart-1")
    )
    platform.run()
    return journey.id


def test_the_list_shows_each_journey_with_its_people(
    owner: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    tenant: Tenant,
) -> None:
    """Entered 2, inside 1, one left ("completed" through the order's wait)."""
    journey_id = people_in_a_cart_journey(session, session_factory, settings, tenant)

    page = owner.get("/journeys")
    drafts = owner.get("/journeys?status=draft")
    bad = owner.get("/journeys?status=sleeping")

    row = re.search(rf'<tr data-journey="{journey_id}">(.*?)</tr>', page.text, re.DOTALL)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)', row.group(1))
    assert cells[1:] == ["2", "1"]
    assert '<span class="tag">completed 1</span>' in row.group(1)
    assert journey_id not in drafts.text and "No draft journey." in drafts.text
    assert bad.status_code == 422


def test_a_journey_page_draws_every_step_and_arrow_with_its_counts(
    owner: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    tenant: Tenant,
) -> None:
    """One box per step, one arrow per way on (labelled for branches), counts per step."""
    journey_id = people_in_a_cart_journey(session, session_factory, settings, tenant)

    page = owner.get(f"/journeys/{journey_id}")

    assert page.status_code == 200
    assert re.findall(
        r'class="graph-step graph-step-[a-z_]+" data-step="([a-z_]+)"', page.text
    ) == ["wait_order", "sms", "day", "email", "done"]
    arrows = re.findall(r'data-from="([a-z_]+)" data-to="([a-z_]+)"', page.text)
    assert sorted(arrows) == sorted(
        [
            ("wait_order", "done"),
            ("wait_order", "sms"),
            ("sms", "day"),
            ("day", "email"),
            ("email", "done"),
        ]
    )
    assert ">timeout</text>" in page.text and ">event</text>" in page.text
    counts = dict(
        (step, (entered, waiting))
        for step, entered, waiting in re.findall(
            r'<tr data-step="([a-z_]+)"><th scope="row"><code>[a-z_]+</code></th>'
            r'<td class="num">(\d+)</td><td class="num">(\d+)</td>',
            page.text,
        )
    )
    assert counts == {
        "wait_order": ("2", "1"),
        "sms": ("0", "0"),
        "day": ("0", "0"),
        "email": ("0", "0"),
        "done": ("1", "0"),
    }


def test_another_workspaces_journey_is_not_found(owner: TestClient, session: Session) -> None:
    """Its id answers the styled not-found page, never its graph."""
    other = make_workspace(session, "elsewhere")
    journey = JourneyService(session).create(other, journey_doc(), actor=ACTOR)
    session.commit()

    page = owner.get(f"/journeys/{journey.id}")

    assert page.status_code == 404
    assert "wait_order" not in page.text


def test_a_journey_page_shows_messages_per_step_conversions_and_the_holdout(
    owner: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    tenant: Tenant,
) -> None:
    """The offer journey (tests.journey.test_metrics): the email node says how many were
    sent, the table gives sent, delivered and clicked, the lede the conversions and revenue,
    and the holdout table each group's."""
    with smtp_server() as (port, _mailbox), fake_sms() as (sms_url, _sms):
        settings = message_settings(database_url, port, sms_url)
        platform = Platform(session, session_factory, settings, tenant.workspace_id,
                            ManualClock(T0), messages=True)  # fmt: skip
        journey_id, instances = run_offer(platform, settings)
    treated = len([i for i in instances if not i.is_holdout])

    page = owner.get(f"/journeys/{journey_id}")

    assert page.status_code == 200
    node = re.search(r'data-step="email" transform=.*?</g>', page.text, re.DOTALL)
    assert node is not None and f'<tspan class="sent">{treated} sent</tspan>' in node.group(0)
    row = re.search(r'<tr data-step="email">(.*?)</tr>', page.text, re.DOTALL)
    assert row is not None
    assert re.findall(r'<td class="num">([^<]*)</td>', row.group(1))[2:] == [str(treated), "1", "1"]
    assert (
        "4 of 16 ordered on any channel within 7 days of entering (25.0%), revenue 168.00 USD"
        in (page.text)
    )
    groups = re.findall(
        r'data-group="(treatment|holdout)">.*?<td class="num">(\d+)</td>', page.text
    )
    assert groups == [("treatment", str(treated)), ("holdout", str(PEOPLE - treated))]


def test_the_editor_refuses_a_broken_journey_by_step_and_creates_nothing(
    owner: TestClient, session: Session, tenant: Tenant
) -> None:
    """Not JSON: the line and column; a template the workspace lacks at publish: the step and
    field, 422, and no journey; started from a shipped journey, the textarea holds it."""
    page = owner.get("/journeys/new?start=welcome")
    token = csrf_from(page)
    document = journey_doc()
    [sms] = [step for step in document["steps"] if step["id"] == "sms"]
    sms["template"] = "nowhere"

    not_json = owner.post("/journeys/new", data={"csrf_token": token, "definition": "{"})
    refused = owner.post("/journeys/new", data={"csrf_token": token, "publish": "1",
                                                "definition": json.dumps(document)})  # fmt: skip

    assert page.status_code == 200
    assert "&#34;name&#34;: &#34;Welcome&#34;" in page.text
    assert not_json.status_code == 422
    assert "line 1, column 2" in not_json.text
    assert refused.status_code == 422
    assert "step <code>sms</code>, <code>template</code>" in refused.text
    assert JourneyService(session).list_journeys(tenant.workspace_id).items == []
