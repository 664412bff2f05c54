"""axe-core (from npm, node_modules/axe-core) run in the page the browser shows: a page with
any violation fails the test, each violation named with the elements it found."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


async def assert_accessible(page: Page) -> None:
    """No axe-core violation (WCAG 2.1 A and AA rules, best practices, and WCAG 2.2's
    target size, 2.5.8, which axe leaves off unless asked) on the page."""
    assert AXE.exists(), f"{AXE} is missing: run `make assets` (npm ci installs axe-core)"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's debugging protocol: the site's Content-Security-Policy
        # (script-src 'self') would refuse a <script> tag, and rightly so.
        await page.evaluate(AXE.read_text() + "\n;undefined")
    violations = await page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                resultTypes: ['violations'], rules: {'target-size': {enabled: true}},
            });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }));
        }"""
    )
    assert not violations, f"axe-core on {page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in violations
    )


WIDE, NARROW = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


async def shoot(page: Page, folder: Path, name: str) -> None:
    """The page at 1280 and 390 px, each checked by axe and photographed into `folder`; at
    neither width may it scroll sideways."""
    for size in (WIDE, NARROW):
        await page.set_viewport_size(size)
        await assert_accessible(page)
        await page.screenshot(path=str(folder / f"{name}-{size['width']}.png"), full_page=True)
        overflow = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"{name} scrolls sideways at {size['width']} px"
    await page.set_viewport_size(WIDE)
