"""The review and revocation pages in Chromium, at 1280 and 390 px, checked by axe-core: a
facilitator opens a review of a decision from its page (the form, then the review's proposal
page with the concerns kept at adoption); a member proposes to revoke a mandate from the role
page (the form, then the revocation's proposal page naming the mandate); the holder's
"Mes mandats" and the space's settings (a ticked box must read as ticked)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from consentir.spaces.store import Space
from tests.browser.accessibility import assert_accessible, shoot
from tests.browser.test_joining import signed_in
from tests.scenario import Scenario
from tests.test_decision_reviews import GARDEN, adopt_with_concerns
from tests.test_revocation import grant, running_year, setup

pytestmark = pytest.mark.browser


async def test_a_review_and_a_revocation_from_their_pages(
    chromium: Browser,
    scenario_server: str,
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("SHOTS_DIR", tmp_path))
    base = scenario_server
    number = await adopt_with_concerns(pool, alpha, world, GARDEN)

    page = await signed_in(chromium, base, world.email("facilitator"))
    await page.goto(f"{base}/s/alpha/decisions/{number}")
    await assert_accessible(page)
    await page.get_by_role("link", name=re.compile("la modifier")).click()
    await expect(page.get_by_role("button", name="Créer la révision (brouillon)")).to_be_visible()
    await shoot(page, shots, "review-form")
    await page.get_by_role("button", name="Créer la révision (brouillon)").click()
    await expect(page.locator("#review")).to_contain_text("Pensons aux enfants.")
    await shoot(page, shots, "review-proposal")

    role_id, decision = await setup(pool, alpha, world)
    await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"], running_year())
    member = await signed_in(chromium, base, world.email("member"))
    await member.goto(f"{base}/s/alpha/roles/{role_id}")
    await assert_accessible(member)
    await member.get_by_role("link", name=re.compile("révoquer")).first.click()
    await expect(member.get_by_role("heading", level=2)).to_contain_text("Target")
    await shoot(member, shots, "revocation-form")
    await member.get_by_label(re.compile("^Pourquoi")).first.fill(
        "Le mandat n'est plus exercé depuis trois mois."
    )
    await member.get_by_role("button", name=re.compile("brouillon")).click()
    await expect(member.locator("#revocation")).to_contain_text("Target")
    await shoot(member, shots, "revocation-proposal")

    # The holder's "Mes mandats" (links to the role's decisions) and the space's settings
    # (whether the person proposed in an election answers last).
    holder = await signed_in(chromium, base, world.email("target"))
    await holder.goto(f"{base}/mandates")
    await expect(holder.get_by_role("link", name="Les décisions de ce rôle")).to_be_visible()
    await shoot(holder, shots, "mine-links")
    admin = await signed_in(chromium, base, world.email("admin"))
    await admin.goto(f"{base}/s/alpha/settings")
    await expect(
        admin.get_by_label("Dans une élection, la personne proposée répond en dernier")
    ).to_be_checked()
    await shoot(admin, shots, "settings")
