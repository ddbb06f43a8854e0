"""Templates: refused at save time when they do not render (problem+json naming the field and
the line), MJML compiled, previews for a chosen person with SMS segments and the disclosure,
and what a hostile template cannot do."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tessera.models.message import MessageTemplate
from tests.message.world import person
from tests.support.factories import Tenant, make_tenant

PROBLEM = "application/problem+json"


@pytest.fixture
def tenant(session: Session) -> Tenant:
    return make_tenant(session, "acme")


def save(client: TestClient, tenant: Tenant, **fields: Any) -> Any:
    body = {"name": "cart", "channel": "email", "subject": "Hi {{ profile.first_name }}",
            "body": "<p>Hi</p>", **fields}  # fmt: skip
    return client.post("/v1/templates", json=body, headers=tenant.auth)


@pytest.mark.parametrize(
    ("fields", "field", "line", "error"),
    [
        ({"body": "<p>Hi</p>\n<p>{{ profle.first_name }}</p>"}, "body", 2, "'profle' is undefined"),
        ({"body": "<p>{{ order.numbr }}</p>"}, "body", 1, "order.numbr is undefined"),
        ({"body": "<p>x</p>\n{% if cart %}\n<p>open</p>"}, "body", 3,
         "expected tag endif, found end of expression"),
        ({"body": "{{ profile.first_name | shout }}"}, "body", 1, "unknown filter 'shout'"),
        ({"subject": "Hi {{ profile.first_name "}, "subject", 1, None),
        ({"subject": "{{ nothing }}"}, "subject", 1, "'nothing' is undefined"),
        ({"body": "{% include 'secrets' %}"}, "body", 1, "unexpected tag 'include'"),
        ({"body": "{% for i in (1..100000000) %}x{% endfor %}"}, "body", 1,
         "loop iteration limit reached"),
        ({"body": "{{ 1 | divided_by: 0 }}"}, "body", 1, "divided_by: can't divide by 0"),
        ({"format": "mjml", "body": "<mjml><mj-body><mj-section>"}, "body", None, None),
        ({"subject": "  "}, "subject", None, "an email needs a subject"),
        ({"channel": "sms", "format": "html", "body": "Hi"}, "format", None, None),
    ],
)  # fmt: skip
def test_a_template_that_does_not_render_is_refused_naming_field_and_line(
    client: TestClient, session: Session, tenant: Tenant,
    fields: dict[str, Any], field: str, line: int | None, error: str | None,
) -> None:  # fmt: skip
    """422 problem+json with ``field`` and ``line``; nothing is saved."""
    answer = save(client, tenant, **fields)

    body = answer.json()
    assert (answer.status_code, answer.headers["content-type"]) == (422, PROBLEM)
    assert body["field"] == field
    assert body.get("line") == line
    if error is not None:
        assert body.get("liquid_error", body["detail"]).endswith(error)
    assert session.scalars(select(MessageTemplate)).all() == []


def test_traits_are_free_and_a_good_template_is_saved_and_previewed_for_a_person(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """``profile.traits.<anything>`` passes the check (traits are the brand's own); the preview
    renders the chosen person's traits, escaped in HTML, and sample data for the cart."""
    mo = person(session, tenant.workspace_id, "u-mo", email="mo@example.com",
                first_name="<b>Mo</b>", shoe_size="42")  # fmt: skip
    session.commit()
    saved = save(client, tenant, body=(
        "<p>Hi {{ profile.first_name }}, size {{ profile.traits.shoe_size }}.</p>"
        '<a href="{{ cart.url }}">Back to your cart</a>'
    ))  # fmt: skip

    preview = client.post(f"/v1/templates/{saved.json()['id']}/preview",
                          json={"profile_id": mo.profile_id}, headers=tenant.auth)  # fmt: skip

    assert saved.status_code == 201
    assert preview.status_code == 200
    assert preview.json()["subject"] == "Hi <b>Mo</b>"  # a subject is text, not HTML
    assert preview.json()["body"] == (
        "<p>Hi &lt;b&gt;Mo&lt;/b&gt;, size 42.</p>"
        '<a href="https://shop.example/cart/recover/abc">Back to your cart</a>'
    )
    assert preview.json()["text"] == (
        "Hi <b>Mo</b>, size 42.\nBack to your cart (https://shop.example/cart/recover/abc)"
    )


def test_mjml_is_compiled_to_responsive_html(client: TestClient, tenant: Tenant) -> None:
    """An MJML body renders Liquid first, then compiles: the preview is a full HTML document."""
    saved = save(client, tenant, format="mjml", body=(
        "<mjml><mj-body><mj-section><mj-column>"
        "<mj-text>Hi {{ profile.first_name }}</mj-text>"
        '<mj-button href="{{ cart.url }}">Back to cart</mj-button>'
        "</mj-column></mj-section></mj-body></mjml>"
    ))  # fmt: skip

    preview = client.post(f"/v1/templates/{saved.json()['id']}/preview", json={},
                          headers=tenant.auth).json()  # fmt: skip

    assert saved.status_code == 201
    assert preview["body"].startswith("<!doctype html>")
    assert (
        "Hi Ana" in preview["body"] and "https://shop.example/cart/recover/abc" in preview["body"]
    )
    assert "Back to cart" in preview["text"]


@pytest.mark.parametrize(
    ("body", "purpose", "text", "encoding", "segments"),
    [
        ("Hi {{ profile.first_name }}, your cart: {{ cart.url }}", "marketing",
         "Hi Ana, your cart: https://shop.example/cart/recover/abc\n"
         "Reply HELP for help and STOP to cancel.", "gsm7", 1),
        ("Hi {{ profile.first_name }}, order {{ order.number }} shipped", "transactional",
         "Hi Ana, order #1001 shipped", "gsm7", 1),
        ("Hi {{ profile.first_name }} 😀 " + "x" * 40, "marketing", None, "ucs2", 2),
        ("{{ profile.first_name }} " + "€" * 70, "transactional", None, "gsm7", 1),
    ],
)  # fmt: skip
def test_an_sms_preview_counts_segments_and_adds_the_disclosure_to_marketing(
    client: TestClient, tenant: Tenant,
    body: str, purpose: str, text: str | None, encoding: str, segments: int,
) -> None:  # fmt: skip
    """GSM-7 or UCS-2 and the number of parts, as the message would be sent."""
    saved = save(client, tenant, channel="sms", subject="", body=body)

    preview = client.post(f"/v1/templates/{saved.json()['id']}/preview",
                          json={"purpose": purpose}, headers=tenant.auth).json()  # fmt: skip

    assert (preview["sms_encoding"], preview["sms_segments"]) == (encoding, segments)
    if text is not None:
        assert preview["body"] == text


def test_names_are_unique_and_a_change_is_checked_like_a_creation(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """A second template of the same name is 409; a change that breaks the template is 422
    and leaves the saved version; a channel cannot change; a good change is saved."""
    first = save(client, tenant).json()
    twin = save(client, tenant)
    broken = client.patch(f"/v1/templates/{first['id']}", json={"body": "{{ x.y }}"},
                          headers=tenant.auth)  # fmt: skip
    rechannel = client.patch(f"/v1/templates/{first['id']}", json={"channel": "sms"},
                             headers=tenant.auth)  # fmt: skip
    fixed = client.patch(f"/v1/templates/{first['id']}", json={"body": "<p>New</p>"},
                         headers=tenant.auth)  # fmt: skip

    assert twin.status_code == 409 and twin.json()["field"] == "name"
    assert (broken.status_code, broken.json()["field"], broken.json()["line"]) == (422, "body", 1)
    assert rechannel.status_code == 422
    assert (fixed.status_code, fixed.json()["body"]) == (200, "<p>New</p>")
    listed = client.get("/v1/templates", headers=tenant.auth).json()["items"]
    assert [(t["name"], t["body"]) for t in listed] == [("cart", "<p>New</p>")]


def test_a_preview_for_a_profile_of_another_workspace_is_not_found(
    client: TestClient, session: Session, tenant: Tenant
) -> None:
    """The profile is looked up in the caller's workspace only."""
    other = make_tenant(session, "bravo")
    stranger = person(session, other.workspace_id, "u-x", email="x@bravo.example")
    session.commit()
    saved = save(client, tenant).json()

    answer = client.post(f"/v1/templates/{saved['id']}/preview",
                         json={"profile_id": stranger.profile_id}, headers=tenant.auth)  # fmt: skip

    assert answer.status_code == 404
