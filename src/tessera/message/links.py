"""The links inside messages, served to whoever holds them: ``/u/TOKEN`` (the preference page,
and RFC 8058's one-click unsubscribe by POST) and ``/c/TOKEN`` (a tracked click, redirected).

No key and no session: the signed token is the permission, and it names one message. A POST
needs no CSRF token either, by design: a mailbox provider's one-click POST carries none, and
what it can do (unsubscribe the address the message went to) is what the link is for. A
token that does not verify is a plain 404 page.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import jinja2
from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from tessera.http.routing import AppSettings, DbSession, router
from tessera.message.compliance import Compliance, Preferences
from tessera.message.errors import LinkNotFound
from tessera.message.feedback import Feedback
from tessera.message.sending import ONE_CLICK
from tessera.message.tokens import LinkSigner

links = router(include_in_schema=False)

_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{ title }}</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body class="public-page"><main class="card" id="preferences">
<h1>{{ title }}</h1>
{% if prefs %}
<p>Marketing {{ channel }} from <strong>{{ prefs.brand }}</strong>
to <strong>{{ prefs.address }}</strong>: <strong id="subscription-state">
{{- "subscribed" if prefs.is_subscribed else "unsubscribed" -}}
</strong>.</p>
<form method="post" action="{{ action }}">
{% if prefs.is_subscribed %}
<input type="hidden" name="action" value="unsubscribe">
<button type="submit" class="button">Unsubscribe</button>
{% else %}
<input type="hidden" name="action" value="subscribe">
<button type="submit" class="button button-secondary">Subscribe again</button>
{% endif %}
</form>
<p class="muted">Order receipts and other messages you asked for still arrive.</p>
{% else %}
<p>{{ text }}</p>
{% endif %}
</main></body></html>"""
)


def _page(title: str, *, prefs: Preferences | None = None, action: str = "", text: str = "",
          status: int = 200) -> HTMLResponse:  # fmt: skip
    channel = prefs.message.channel.value if prefs else ""
    html = _PAGE.render(title=title, prefs=prefs, action=action, text=text, channel=channel)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _not_found() -> HTMLResponse:
    return _page("Link not valid", text="This link is not valid, or has expired.", status=404)


@links.get("/u/{token}")
def preference_page(
    token: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """What the person receives, and a button to change it."""
    try:
        prefs = Compliance(session, request.app.state.clock, settings).preferences(token)
    except LinkNotFound:
        return _not_found()
    return _page("Your preferences", prefs=prefs, action=f"/u/{token}")


@links.post("/u/{token}")
async def unsubscribe(
    token: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``), or the preference page's form."""
    body = (await request.body())[:4096].decode("utf-8", "replace")
    form = parse_qs(body)
    # Mailbox providers send it form-encoded or as multipart/form-data (RFC 8058 allows both).
    name, _, value = ONE_CLICK.partition("=")
    one_click = ONE_CLICK in body or (name in body and f"\r\n\r\n{value}" in body)
    compliance = Compliance(session, request.app.state.clock, settings)
    try:
        if not one_click and form.get("action") == ["subscribe"]:
            prefs = await run_in_threadpool(compliance.resubscribe, token)
        else:
            how = "one-click" if one_click else "preference page"
            prefs = await run_in_threadpool(compliance.unsubscribe, token, how=how)
    except LinkNotFound:
        return _not_found()
    if one_click:
        return Response("Unsubscribed.\n", media_type="text/plain")
    return _page("Your preferences", prefs=prefs, action=f"/u/{token}")


@links.get("/c/{token}")
def click(token: str, request: Request, session: DbSession, settings: AppSettings) -> Response:
    """Count the click and send the person on to the link's address."""
    try:
        message_id, index = LinkSigner(settings).clicked(token)
    except LinkNotFound:
        return _not_found()
    url = Feedback(session, request.app.state.clock).click(message_id, index)
    if url is None:
        return _not_found()
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
