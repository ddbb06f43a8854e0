"""Every page the navigation reaches, on the demo brand, in headless Chromium: as an owner and
as a viewer, at a laptop's 1280 px and a narrow 1024 px, each page answers 200, nothing
scrolls sideways (neither the page nor any card or table), every button sits inside the
viewport's width, and no console error is raised.

Screenshots: every page visited is saved as ``<role>-<width>-<page>.png`` into the folder
named by ``TESSERA_SCREENSHOTS`` when it is set (created if missing), else into
``screenshots/`` under this test's pytest temporary directory (pytest prints nothing about it;
``ls /tmp/pytest-of-$USER/pytest-current/test_every_page*/screenshots`` after a run). A person
looks through them after a design change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tessera.config import load_settings
from tessera.content.storage import ContentFiles
from tessera.db import make_engine, make_session_factory, session_scope
from tessera.demo.feed import feed_demo
from tessera.demo.generator import DemoSize, generate_brand
from tessera.demo.omnichannel import generate_omnichannel
from tessera.demo.seed import DEMO_LOGIN_EMAIL, DEMO_PASSWORD, seed_demo
from tessera.kit.time import utcnow
from tessera.models.workspace import Role
from tessera.worker import build_worker
from tests.e2e.test_browser import CHROMIUM_ARGS
from tests.support.live import live_server

WIDTHS = (1280, 1024)
HEIGHT = 800
SHOPPERS = 40

# What the page measures: the page's own sideways scroll, each card or table wider than its
# box, and each visible button whose box leaves the viewport.
LAYOUT_PROBLEMS = """() => {
  const found = [];
  const width = window.innerWidth;
  const root = document.documentElement;
  if (root.scrollWidth > width) found.push(`page is ${root.scrollWidth}px wide`);
  const label = (el) => {
    const table = el.querySelector('table[id]');
    if (el.id || table) return `#${el.id || table.id}`;
    const heading = el.closest('.card')?.querySelector('h2, h3');
    return heading ? `"${heading.textContent.trim()}"` : '';
  };
  for (const el of document.querySelectorAll('.card, .table-wrap')) {
    if (el.scrollWidth > el.clientWidth + 1)
      found.push(`${el.className} ${label(el)} is ${el.scrollWidth}px in ${el.clientWidth}px`);
  }
  for (const el of document.querySelectorAll('button, .button, input[type=submit]')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // hidden (closed menu, tab)
    if (box.left < 0 || box.right > width + 0.5)
      found.push(`button "${el.textContent.trim()}" spans ${box.left}..${box.right}px`);
  }
  return found;
}"""

# Links that download files or change state on GET-less pages are not pages to look at.
NOT_PAGES = re.compile(r"(\.csv|\.json|/export|/timeline|/logout)$")


@dataclass(frozen=True)
class Demo:
    base_url: str
    viewer_email: str


def screenshot_folder(tmp_path: Path) -> Path:
    named = os.environ.get("TESSERA_SCREENSHOTS")
    folder = Path(named) if named else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def demo(committed_database_url: str, tmp_path: Path) -> Iterator[Demo]:
    """The small demo brand, seeded through its services (its content library's pictures in
    a temp folder the server reads too) and fed through the live API."""
    brand = generate_brand(7, DemoSize.named("small"))
    engine = make_engine(committed_database_url)
    data_dir = tmp_path / "data"
    with session_scope(make_session_factory(engine)) as session:
        files = ContentFiles.from_settings(load_settings(data_dir=data_dir))
        seeded = seed_demo(session, brand, files)
    viewer = next(member.email for member in brand.team if member.role is Role.VIEWER)
    with live_server(committed_database_url, data_dir=data_dir) as base_url:
        feed_demo(base_url, seeded.tokens, generate_omnichannel(7, SHOPPERS, utcnow()))
        # What `tessera worker` does next: stitch profiles, route orders, run journeys.
        settings = load_settings(
            database_url=committed_database_url, environment="test", log_json=False
        )
        build_worker(settings, make_session_factory(engine)).run_until_idle()
        yield Demo(base_url, viewer)
    engine.dispose()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base_url + "/overview")


def reachable_pages(page: Page, base_url: str) -> list[str]:
    """The navigation's pages, then from each: its sub-pages linked in the content (the
    quarantine under Sources) and the first row's link of each of its tables (one detail
    page per list). One page per shape of path, no query strings, no downloads."""
    page.goto(base_url + "/overview")
    nav = page.eval_on_selector_all(
        "nav[aria-label=Main] a[href]", "links => links.map(a => a.getAttribute('href'))"
    )
    found = [href for href in nav if href.startswith("/")]
    shapes = set(found)
    for href in list(found):
        page.goto(base_url + href)
        links = page.eval_on_selector_all(
            "main a[href]",
            """links => links.map(a => [a.getAttribute('href'), !!a.closest('tbody')])""",
        )
        for link, in_table in links:
            path = urlsplit(link).path
            if not path.startswith("/") or NOT_PAGES.search(path) or urlsplit(link).query:
                continue
            shape = path.rsplit("/", 1)[0] + "/{}" if in_table else path
            if shape in shapes or not (in_table or path.startswith(href.rstrip("/") + "/")):
                continue
            shapes.add(shape)
            found.append(path)
    return found


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"


def crawl(
    browser: Browser, base_url: str, role: str, email: str, shots: Path, problems: list[str]
) -> list[str]:
    """Sign in as ``email``, visit every reachable page at each width, screenshot it, and add
    what is wrong with it to ``problems``; returns the paths visited."""
    page = browser.new_context(viewport={"width": WIDTHS[0], "height": HEIGHT}).new_page()
    where = {"path": "/login"}

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"{role} {where['path']}: console {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{role} {where['path']}: {error}"))
    sign_in(page, base_url, email)
    paths = reachable_pages(page, base_url)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        for path in paths:
            where["path"] = path
            response = page.goto(base_url + path)
            if response is None or response.status != 200:
                problems.append(f"{role} {path}: status {response and response.status}")
            problems.extend(
                f"{role} {width}px {path}: {found}" for found in page.evaluate(LAYOUT_PROBLEMS)
            )
            page.screenshot(path=shots / f"{role}-{width}-{slug(path)}.png", full_page=True)
    page.context.close()
    return paths


@pytest.mark.browser
def test_every_page_fits_and_raises_no_error_for_an_owner_and_a_viewer(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    """Each page reached from the navigation (and one detail page per list), as an owner and
    as a viewer, at 1280 and 1024 px: 200, nothing wider than its box, every button on
    screen, no console error; each is screenshotted for a person to look through."""
    shots = screenshot_folder(tmp_path)
    problems: list[str] = []
    visited: dict[str, list[str]] = {}

    for role, email in (("owner", DEMO_LOGIN_EMAIL), ("viewer", demo.viewer_email)):
        visited[role] = crawl(browser, demo.base_url, role, email, shots, problems)

    # The demo has rows in every list, so each list gave its detail page, to either role.
    for paths in visited.values():
        details = {re.sub(r"/[^/]+$", "/{}", p) for p in paths} - set(paths)
        assert {"/orders/{}", "/customers/{}", "/products/{}", "/locations/{}"} <= details
    assert problems == [], "\n".join(problems)
