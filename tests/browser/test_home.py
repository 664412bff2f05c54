"""The home page in Chromium: French first, htmx 4 loaded under the CSP, keyboard usable."""

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.accessibility import assert_accessible

pytestmark = pytest.mark.browser


async def test_home_page_in_chromium(page: Page, live_server: str, tmp_path: Path) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )

    await page.goto(live_server + "/")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Décider ensemble, par consentement")
    assert str(await page.evaluate("window.htmx && window.htmx.version")).startswith("4")
    await assert_accessible(page)
    await page.screenshot(path=str(tmp_path / "home-fr.png"), full_page=True)

    # Keyboard: the first Tab lands on the skip link, which leads to the main content.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Aller au contenu principal")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()

    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(heading).to_have_text("Decide together, by consent")
    await expect(page.get_by_role("button", name="English")).to_have_attribute(
        "aria-pressed", "true"
    )
    await assert_accessible(page)
    assert problems == [], problems  # no CSP violation, no script error


async def test_unknown_page_is_a_friendly_404(page: Page, live_server: str) -> None:
    response = await page.goto(live_server + "/nulle-part")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Cette page n'existe pas")
    await expect(page.locator(".request-id")).to_have_text(response.headers["x-request-id"])
    await assert_accessible(page)
