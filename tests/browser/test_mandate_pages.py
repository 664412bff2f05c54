"""The roles and "Mes mandats" pages in Chromium, at 1280 and 390 px, checked by axe-core:
the holder finds their mandate from the header and resigns from it."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from consentir.spaces.store import Space
from tests.browser.accessibility import shoot
from tests.browser.test_joining import signed_in
from tests.scenario import Scenario
from tests.test_mandates_web import today, treasury

pytestmark = pytest.mark.browser


async def test_the_holder_finds_and_ends_their_mandate(
    chromium: Browser,
    scenario_server: str,
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("SHOTS_DIR", tmp_path))  # an existing folder
    role_id, mine, _past, number = await treasury(pool, alpha, world)
    page = await signed_in(chromium, scenario_server, world.email("member"))

    await page.goto(f"{scenario_server}/s/alpha")
    await page.get_by_role("link", name="Rôles").click()
    await expect(page.get_by_role("heading", name="Rôles")).to_be_visible()
    await shoot(page, shots, "roles")
    await page.get_by_role("link", name="Trésorerie").click()
    await expect(page.get_by_text("antérieur à Consentir")).to_be_visible()
    await expect(page.get_by_role("link", name=number).first).to_be_visible()
    await shoot(page, shots, "role")

    await page.get_by_role("link", name="Mes mandats").click()
    await expect(page.get_by_role("heading", name="Mes mandats", level=1)).to_be_visible()
    card = page.locator(f"#mandate-{mine}")
    await card.get_by_text("Démissionner", exact=True).click()
    field = card.get_by_label("Dernier jour du mandat")
    await field.fill("2000-01-01")  # too early: refused next to the field
    await card.get_by_role("button", name="Démissionner de ce mandat").click()
    await expect(page.locator(f"#f-last_day-{mine}-error")).to_be_visible()
    await shoot(page, shots, "mine-refused")
    await (
        page.locator(f"#mandate-{mine}")
        .get_by_label("Dernier jour du mandat")
        .fill(today().isoformat())
    )
    await (
        page.locator(f"#mandate-{mine}")
        .get_by_role("button", name="Démissionner de ce mandat")
        .click()
    )
    await expect(page.get_by_role("status")).to_contain_text("Votre démission est enregistrée")
    await shoot(page, shots, "mine")
    await page.goto(f"{scenario_server}/s/alpha/roles/{role_id}")
    await expect(page.locator("#holders")).to_contain_text("Member")
