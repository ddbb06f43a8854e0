"""The journeys shipped with Tessera: each installs as a draft with the templates it lacks and
passes the publish checks on a workspace with data; the API and the CLI list and install them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tessera.config import Settings
from tessera.journey import library
from tessera.journey.definition import DefinitionError
from tessera.journey.errors import ShippedJourneyNotFound
from tessera.message.templates import TemplateService
from tessera.models.journey import JourneyStatus
from tests.journey.flows import T0, Platform, track
from tests.support.cli import invoke
from tests.support.factories import make_tenant

SHIPPED = [
    "abandoned_cart", "back_in_stock", "browse_abandonment", "retail_to_owned",
    "review_request", "welcome", "win_back",
]  # fmt: skip
# Entry events beyond Segment's e-commerce spec: a workspace must have received them.
OWN_EVENTS = ["Signed Up", "Back In Stock", "Product Registered"]


def test_the_library_ships_seven_journeys_each_with_its_templates() -> None:
    """Every file parses, and every template a send step names is shipped with it."""
    found = library.shipped()

    assert [j.name for j in found] == SHIPPED
    for journey in found:
        named = {s["template"] for s in journey.definition["steps"] if "template" in s}
        assert named == {t.name for t in journey.templates}, journey.name


def test_every_shipped_journey_installs_and_publishes_on_a_workspace_with_data(
    platform: Platform, session: Session
) -> None:
    """Installed one after another they are drafts; once the workspace has seen its own
    events, each passes the publish checks and goes live."""
    platform.send(*[track(f"m{i}", e, T0, user_id="u1") for i, e in enumerate(OWN_EVENTS)])
    service = platform.journeys()

    installed = [library.install(session, platform.workspace_id, n, actor="t") for n in SHIPPED]
    drafts = [i.journey.status for i in installed]
    live = [service.publish(platform.workspace_id, i.journey.id, actor="t") for i in installed]

    assert drafts == [JourneyStatus.DRAFT] * 7
    assert [(j.status, j.live_version) for j in live] == [(JourneyStatus.LIVE, 1)] * 7
    assert sorted(TemplateService(session).names(platform.workspace_id)) == sorted(
        str(t.name) for j in library.shipped() for t in j.templates
    )


def test_a_template_the_workspace_has_is_kept_as_the_brand_wrote_it(
    platform: Platform, session: Session
) -> None:
    """The workspace's fixture holds two of the cart's templates: installing keeps those as
    they were and creates the third."""
    templates = TemplateService(session)
    before = {t.name: t.body for t in templates.list(platform.workspace_id).items}

    installed = library.install(session, platform.workspace_id, "abandoned_cart", actor="t")

    after = {t.name: t.body for t in templates.list(platform.workspace_id).items}
    assert installed.created_templates == ["cart_email_2"]
    assert installed.kept_templates == ["cart_sms", "cart_email"]
    assert sorted(before) == ["cart_email", "cart_sms"]
    assert {name: after[name] for name in before} == before


def test_publishing_refuses_an_entry_event_the_workspace_never_received(
    platform: Platform, session: Session
) -> None:
    """Back In Stock is no Segment e-commerce event: until one arrives, publishing names it."""
    installed = library.install(session, platform.workspace_id, "back_in_stock", actor="t")

    try:
        platform.journeys().publish(platform.workspace_id, installed.journey.id, actor="t")
    except DefinitionError as error:
        faults = [(f.step, f.field) for f in error.faults]
    else:
        faults = []

    assert faults == [(None, "entry.event")]


def test_an_unknown_name_is_refused_listing_the_shipped_ones(session: Session) -> None:
    """No journey called ``nope``: the refusal lists what there is."""
    try:
        library.find("nope")
    except ShippedJourneyNotFound as error:
        detail = str(error.detail)
    else:
        detail = ""

    assert detail == f"no shipped journey 'nope'; there are: {', '.join(SHIPPED)}"


def test_the_api_lists_and_installs_and_refuses_an_unknown_name(
    client: TestClient, session: Session
) -> None:
    """GET lists the seven; POST makes a draft and the templates; an unknown name is a 404
    problem naming it, and nothing is created."""
    tenant = make_tenant(session, "library-api")
    session.commit()

    listed = client.get("/v1/journeys/library", headers=tenant.auth)
    made = client.post("/v1/journeys/library/welcome/install", headers=tenant.auth)
    unknown = client.post("/v1/journeys/library/nope/install", headers=tenant.auth)
    journeys = client.get("/v1/journeys", headers=tenant.auth)

    assert [j["name"] for j in listed.json()] == SHIPPED
    assert listed.json()[6]["entry_event"] == "Order Completed"
    assert made.status_code == 201
    assert (made.json()["journey"]["name"], made.json()["journey"]["status"]) == (
        "Welcome", "draft",
    )  # fmt: skip
    assert made.json()["created_templates"] == ["welcome_email", "welcome_email_2"]
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert "no shipped journey 'nope'" in unknown.json()["detail"]
    assert [j["name"] for j in journeys.json()["items"]] == ["Welcome"]


def test_the_cli_lists_the_library_and_installs_and_publishes_one(
    settings: Settings, session_factory: sessionmaker[Session], platform: Platform
) -> None:
    """``library`` names each journey; ``install --publish`` makes it live in one command;
    an unknown name is one red line and exit code 1."""
    code, listed = invoke(settings, session_factory, "journeys", "library")
    installed = invoke(settings, session_factory, "journeys", "install", "review_request",
                       "-w", "journeys", "--publish")  # fmt: skip
    unknown = invoke(settings, session_factory, "journeys", "install", "nope", "-w", "journeys")

    assert code == 0
    assert all(name in listed for name in SHIPPED)
    assert installed[0] == 0
    assert "templates created: review_request" in installed[1]
    assert "'Post-purchase review request': live, version 1" in installed[1]
    assert unknown[0] == 1
    assert "no shipped journey 'nope'" in unknown[1]
