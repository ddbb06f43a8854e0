"""Jobs on the overview and in Settings → Jobs, and the audit log page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from tessera.kit.time import utcnow
from tessera.models.job import Job, JobStatus
from tessera.workspace.service import WorkspaceService
from tests.dashboard.conftest import csrf_from
from tests.support.factories import Tenant

NOW = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def _job(
    session: Session,
    workspace_id: str,
    status: JobStatus,
    finished_at: datetime | None = None,
    last_error: str | None = None,
    kind: str = "shopify.orders_imported",
) -> Job:
    """A job row as a worker leaves it; tessera.job has no use case that finishes a job in one
    step, and claiming and completing through it would test the worker, not these pages."""
    job = Job(
        workspace_id=workspace_id,
        kind=kind,
        status=status,
        finished_at=finished_at,
        last_error=last_error,
        attempts=1 if finished_at else 0,
    )
    session.add(job)
    session.flush()
    return job


def test_the_jobs_chart_draws_jobs_finished_today_in_settings(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """With a finished job the chart (in Settings, not on the overview) has its count and the
    no-data message is gone; the overview keeps the dead-job count."""
    _job(session, tenant.workspace_id, JobStatus.SUCCEEDED, utcnow() - timedelta(minutes=1))
    _job(session, tenant.workspace_id, JobStatus.DEAD, utcnow() - timedelta(minutes=2), "boom")
    session.commit()

    page = owner.get("/settings/jobs").text
    overview = owner.get("/overview").text
    spec = json.loads(
        re.search(r'id="jobs-chart-spec">(.*?)</script>', page).group(1)  # type: ignore[union-attr]
    )

    assert "No data yet." not in page and 'id="jobs-chart-spec"' not in overview
    assert sum(row["count"] for row in spec["data"]["values"]) == 2
    assert spec["encoding"]["color"]["scale"]["domain"] == ["succeeded", "dead"]
    assert re.findall(r'<span class="stat-value">([^<]*)</span>', overview)[3] == "1"


def test_the_jobs_page_lists_jobs_with_their_last_error(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Status, attempts and the last error of each job; filtering keeps one status."""
    dead = _job(session, tenant.workspace_id, JobStatus.DEAD, NOW, "HTTP 503 from Shopify")
    queued = _job(session, tenant.workspace_id, JobStatus.QUEUED, kind="email.sent")
    session.commit()

    everything = owner.get("/settings/jobs").text
    only_dead = owner.get("/settings/jobs?status=dead").text

    assert f"<code>{dead.id}</code>" in everything
    assert f"<code>{queued.id}</code>" in everything
    assert "HTTP 503 from Shopify" in everything
    assert '<span class="pill pill-dead">dead</span>' in everything
    assert f"<code>{queued.id}</code>" not in only_dead
    assert '<a href="/settings/jobs?status=dead" aria-current="page">' in only_dead


def test_an_unknown_status_filter_is_a_readable_422(owner: TestClient) -> None:
    """A made-up status names the allowed ones instead of failing."""
    response = owner.get("/settings/jobs?status=exploded")

    assert response.status_code == 422
    assert "status must be one of queued, running, succeeded, dead, cancelled" in response.text


def test_the_audit_log_names_who_did_what(owner: TestClient, tenant: Tenant) -> None:
    """Entries newest first, actors shown by email where they are members."""
    token = csrf_from(owner.get("/settings/api-keys"))
    owner.post(
        "/settings/api-keys",
        data={"name": "website", "kind": "public", "csrf_token": token},
    )

    page = owner.get("/settings/audit-log").text
    actions = re.findall(r"<td><code>([a-z_.]+)</code></td>\s*<td class=\"cell-id\"><code>", page)

    assert actions == ["api_key.created", "api_key.created", "api_key.created", "user.added"]
    assert f'{tenant.owner_email} <code class="muted">{tenant.owner_id}</code>' in page


def test_the_jobs_page_filters_by_kind_and_pages(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """Fifty a page: a kind filter keeps its kind only, and the next page holds the rest."""
    stitched = [
        _job(session, tenant.workspace_id, JobStatus.QUEUED, kind="identity.stitched")
        for _ in range(52)
    ]
    other = _job(session, tenant.workspace_id, JobStatus.QUEUED, kind="email.sent")
    session.commit()

    first = owner.get("/settings/jobs?kind=identity.stitched").text
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1)  # type: ignore[union-attr]
    second = owner.get(next_url.replace("&amp;", "&")).text
    bad = owner.get("/settings/jobs?kind=DROP TABLE")

    shown = [j.id for j in stitched if f"<code>{j.id}</code>" in first]
    assert len(shown) == 50 and f"<code>{other.id}</code>" not in first
    assert sorted(j.id for j in stitched if f"<code>{j.id}</code>" in second) == sorted(
        set(j.id for j in stitched) - set(shown)
    )
    assert 'rel="next"' not in second
    assert "<option selected>identity.stitched</option>" in first
    assert bad.status_code == 422
    assert 'id="jobs-chart-spec"' in first


def test_the_audit_log_filters_by_action_and_actor_and_its_api_twin_pages(
    owner: TestClient, tenant: Tenant, session: Session
) -> None:
    """The page keeps actions starting with the filter; /v1/audit-log pages with a cursor
    and refuses a NUL in a filter with a 422."""
    service = WorkspaceService(session)
    for n in range(3):
        service.record(tenant.workspace_id, "cli", "quarantine.discarded", f"qtn_{n}", {})
    service.record(tenant.workspace_id, tenant.owner_id, "feed.created", "fd_1", {})
    session.commit()

    page = owner.get("/settings/audit-log?action=quarantine.").text
    by_owner = owner.get(f"/settings/audit-log?actor={tenant.owner_id}").text
    first = owner.get(
        "/v1/audit-log", params={"action": "quarantine.", "limit": 2}, headers=tenant.auth
    ).json()
    rest = owner.get(
        "/v1/audit-log",
        params={"action": "quarantine.", "limit": 2, "cursor": first["next_cursor"]},
        headers=tenant.auth,
    ).json()
    nul = owner.get("/v1/audit-log", params={"action": "a\x00"}, headers=tenant.auth)

    assert (
        re.findall(r"<td><code>([a-z_.]+)</code></td>\s*<td class=\"cell-id\"><code>", page)
        == ["quarantine.discarded"] * 3
    )
    assert "feed.created" in by_owner and "quarantine.discarded" not in by_owner
    assert [e["subject"] for e in first["items"]] == ["qtn_2", "qtn_1"]
    assert [e["subject"] for e in rest["items"]] == ["qtn_0"] and rest["next_cursor"] is None
    assert nul.status_code == 422


# In a browser ---------------------------------------------------------------------------------


@pytest.mark.browser
def test_an_owner_pages_through_the_jobs_of_one_kind_in_chromium(
    committed_database_url: str,
) -> None:
    """In headless Chromium at 1280 px: Settings, Jobs, filter by a kind, fifty on the first
    page, the next page holds the other two and keeps the filter, the first page comes back;
    nothing overflows sideways and no console error is raised."""
    from playwright.sync_api import expect, sync_playwright

    from tessera.db import make_engine, make_session_factory, session_scope
    from tests.e2e.test_browser import CHROMIUM_ARGS
    from tests.support.factories import PASSWORD, make_tenant
    from tests.support.live import live_server

    engine = make_engine(committed_database_url)
    with session_scope(make_session_factory(engine)) as session:
        tenant = make_tenant(session, "pagerco")
        stitched = [
            _job(session, tenant.workspace_id, JobStatus.QUEUED, kind="identity.stitched").id
            for _ in range(52)
        ]
        other = _job(session, tenant.workspace_id, JobStatus.QUEUED, kind="email.sent").id
    engine.dispose()
    problems: list[str] = []
    rows = "#jobs-table tbody tr"

    with live_server(committed_database_url) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
            page.goto(base + "/login")
            page.get_by_label("Email").fill(tenant.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
            expect(page.locator(rows)).to_have_count(50)

            page.get_by_label("Kind").select_option("identity.stitched")
            page.get_by_role("button", name="Filter").click()
            expect(page).to_have_url(re.compile(r"/settings/jobs\?kind=identity.stitched$"))
            first = page.locator(f"{rows} td:first-child code").all_inner_texts()
            fits = [_fits(page)]
            page.get_by_role("link", name="Next page").click()
            expect(page.locator(rows)).to_have_count(2)
            second_url = page.url
            second = page.locator(f"{rows} td:first-child code").all_inner_texts()
            next_links = page.get_by_role("link", name="Next page").count()
            fits.append(_fits(page))
            page.get_by_role("link", name="First page").click()
            expect(page.locator(rows)).to_have_count(50)
            again = page.locator(f"{rows} td:first-child code").all_inner_texts()
        finally:
            browser.close()

    assert len(first) == 50 and other not in first
    assert sorted(first + second) == sorted(stitched)
    assert "kind=identity.stitched" in second_url and "cursor=" in second_url
    assert next_links == 0
    assert again == first
    assert fits == [True, True]
    assert problems == []


def _fits(page: Page) -> bool:
    """Whether the page and its tables fit the viewport's width."""
    return bool(
        page.evaluate(
            """() => document.documentElement.scrollWidth <= window.innerWidth &&
                 [...document.querySelectorAll('.card, .table-wrap')].every(
                   (el) => el.scrollWidth <= el.clientWidth + 1)"""
        )
    )
