"""No page scrolls sideways on a 390 px phone (issue 13 §4): every page an administrator of
the scenario's space reaches by following the site's own links from their dashboard, at
390 px, is no wider than the screen. Wide tables become one card per row there
(`table.stack`). Each page is also checked by axe-core there (touch targets included) and,
with SHOTS_DIR set, photographed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.browser.accessibility import assert_accessible
from tests.browser.test_joining import signed_in
from tests.scenario import Scenario

pytestmark = pytest.mark.browser

# Links that lead to no page (files, streams, sign-out, language switch, one-click actions).
SKIP = ("signout", ".csv", ".json", ".ics", "/live", "lang=", "/static/", "unsubscribe",
        "export", "format=", "/schema")  # fmt: skip
MOST = 80


async def test_no_page_scrolls_sideways_on_a_phone(
    chromium: Browser, scenario_server: str, world: Scenario
) -> None:
    base = scenario_server
    page = await signed_in(chromium, base, world.email("admin"))
    await page.set_viewport_size({"width": 390, "height": 844})
    seen: set[str] = set()
    todo = ["/spaces"]
    wide: list[tuple[str, int]] = []
    inaccessible: list[str] = []
    shots = Path(os.environ["SHOTS_DIR"]) if os.environ.get("SHOTS_DIR") else None
    while todo and len(seen) < MOST:
        path = todo.pop(0)
        seen.add(path)
        answer = await page.goto(base + path)
        if answer is None or answer.status != 200:
            continue
        if "text/html" not in (answer.headers.get("content-type") or ""):
            continue
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide.append((path, width))
        try:
            await assert_accessible(page)
        except AssertionError as found:
            inaccessible.append(str(found))
        if shots is not None:
            name = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-") or "root"
            await page.screenshot(path=str(shots / f"phone-{name}.png"), full_page=True)
        links = await page.eval_on_selector_all(
            "a[href^='/']", "links => links.map(a => a.getAttribute('href'))"
        )
        for href in links:
            target = href.split("#")[0]
            if (
                target
                and target not in seen
                and target not in todo
                and not any(skip in target for skip in SKIP)
            ):
                todo.append(target)
    assert len(seen) >= 30, f"only {len(seen)} pages reached"
    assert not wide, f"pages wider than 390 px: {wide}"
    assert not inaccessible, "\n".join(inaccessible)
