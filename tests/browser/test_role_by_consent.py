"""A new role by consent, in Chromium: a member proposes it from the Rôles tab with the draft
form (a mistake comes back next to its field), the group consents to it (the middle steps
through the store), and the role then shows on the Rôles tab and on its own page, its text
as adopted and its decision in the register. A change to it starts from its page, the form
filled with its text, and its draft shows what it changes. axe-core checks every page; each
is photographed at 1280 and 390 px (into SHOTS_DIR if set), none scrolling sideways."""

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
from tests.test_role_proposals import adopt

pytestmark = pytest.mark.browser


async def test_a_member_proposes_a_role_the_group_adopts_it(
    chromium: Browser,
    scenario_server: str,
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    tmp_path: Path,
) -> None:
    shots = Path(os.environ.get("SHOTS_DIR", tmp_path))  # an existing folder
    page = await signed_in(chromium, scenario_server, world.email("member"))
    await page.goto(f"{scenario_server}/s/alpha")
    await page.get_by_role("link", name="Rôles").click()
    await expect(page.locator("#no-roles")).to_be_visible()
    await page.get_by_role("link", name="Proposer un nouveau rôle").click()
    await expect(page.get_by_role("heading", name="Proposer un nouveau rôle")).to_be_visible()
    await shoot(page, shots, "role-proposal-form")

    await page.get_by_label("Raison d'être : pourquoi faut-il décider ?").fill(
        "Nos archives sont éparpillées entre trois ordinateurs."
    )
    await page.get_by_label("La proposition").fill(
        "Un rôle d'archiviste, à deux, pour six mois : rassembler et classer."
    )
    await page.get_by_label("Nom du rôle").fill("Archives")
    await page.get_by_label("Raison d'être du rôle").fill(
        "Que chacun retrouve ce qui a été décidé."
    )
    await page.get_by_label("Domaine (ce que le rôle décide seul)").fill("Le classement.")
    duties = page.get_by_label("Responsabilités")
    await duties.fill("Classer les comptes rendus\n" + "trop long " * 31)  # one line > 300
    await page.get_by_label("Nombre de sièges").fill("2")
    await page.get_by_label("Durée du mandat (mois)").fill("6")
    await page.get_by_role("button", name="Enregistrer comme brouillon").click()
    error = page.locator("#f-accountabilities-error")
    await expect(error).to_have_text("300 caractères au maximum par ligne.")
    await expect(page.get_by_label("Nom du rôle")).to_have_value("Archives")  # kept
    await shoot(page, shots, "role-proposal-refused")

    await duties.fill("Classer les comptes rendus\nRépondre aux demandes d'archives")
    await page.get_by_role("button", name="Enregistrer comme brouillon").click()
    # The title left empty names the role.
    title = page.get_by_role("heading", name="Créer le rôle Archives", level=2)
    await expect(title).to_be_visible()
    role_text = page.locator("#role-text")
    await expect(role_text.get_by_role("heading", name="Le nouveau rôle")).to_be_visible()
    await expect(role_text).to_contain_text("Répondre aux demandes d'archives")
    await expect(role_text).to_contain_text("6 mois")
    await shoot(page, shots, "role-proposal-draft")

    proposal_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    number = await adopt(pool, alpha, world, proposal_id)  # submitted, consented to
    await page.reload()
    await expect(page.get_by_role("heading", name=f"Décision {number} adoptée")).to_be_visible()
    await expect(role_text).to_contain_text("Cette proposition a créé le rôle Archives")
    await shoot(page, shots, "role-proposal-adopted")

    await role_text.get_by_role("link", name="Archives").click()
    await expect(page.get_by_role("heading", name="Archives", level=2)).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text("Que chacun retrouve ce qui a été décidé.")
    await expect(page.locator(".accountabilities")).to_contain_text("Classer les comptes rendus")
    await expect(page.get_by_text("vacant")).to_have_count(2)  # two seats, nobody elected yet
    await shoot(page, shots, "role-adopted")

    await page.get_by_role("link", name="Les décisions de ce rôle").click()
    await expect(page.get_by_role("link", name=number).first).to_be_visible()
    await page.go_back()
    await page.get_by_role("link", name="Proposer une modification de ce rôle").click()
    await expect(page.get_by_label("Titre")).to_have_value("Modifier le rôle Archives")
    await expect(page.get_by_label("Nombre de sièges")).to_have_value("2")
    await shoot(page, shots, "role-change-form")
    await page.get_by_label("Raison d'être : pourquoi faut-il décider ?").fill("Trop de demandes.")
    await page.get_by_label("La proposition").fill("Un troisième siège.")
    await page.get_by_label("Nombre de sièges").fill("3")
    await page.get_by_label("Responsabilités").fill("Classer les comptes rendus\nNumériser")
    await page.get_by_role("button", name="Enregistrer comme brouillon").click()
    await expect(page.get_by_role("heading", name="Modifier le rôle Archives")).to_be_visible()
    changes = page.locator("dl.role-changes")
    await expect(changes.locator('[data-field="seats"]')).to_have_text("Avant : 2 → Après : 3")
    await expect(changes.locator("del")).to_contain_text(["Répondre aux demandes d'archives", "2"])
    await expect(changes.locator("ins")).to_contain_text(["Numériser", "3"])
    await shoot(page, shots, "role-change-draft")

    await page.get_by_role("link", name="Rôles", exact=True).first.click()
    card = page.locator("ul.roles > li").filter(has_text="Archives")
    await expect(card).to_contain_text("2 sièges")
    await shoot(page, shots, "role-proposal-roles")
