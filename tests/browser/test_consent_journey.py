"""A proposal's whole journey in Chromium, with four people: the proposer (member), the
facilitator and two members (admin, target). One objection is judged valid and integrated
in version 2; the decision is then found in the register by an accent-free French word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.test_joining import signed_in

pytestmark = pytest.mark.browser


async def give_position(page: Page, url: str, stance: str, reason: str = "") -> None:
    await page.goto(url)
    await assert_accessible(page)
    form = page.locator("form[action$='/position']").first
    await form.get_by_label(stance, exact=True).check()
    if reason:
        await form.get_by_label("Votre raison (obligatoire pour une objection)").fill(reason)
    await form.get_by_role("button", name="Donner ma position").click()
    await expect(page.locator(".now")).to_contain_text(f"Vous avez répondu : {stance.lower()}")
    await assert_accessible(page)


async def test_a_proposal_from_draft_to_decision_through_an_integrated_objection(
    chromium: Browser, scenario_server: str, tmp_path: Path
) -> None:
    base = scenario_server
    proposer = await signed_in(chromium, base, "member@example.org")
    facilitator = await signed_in(chromium, base, "facilitator@example.org")
    admin = await signed_in(chromium, base, "admin@example.org")
    target = await signed_in(chromium, base, "target@example.org")

    # The proposer writes a draft; the preview follows the typing (htmx).
    await proposer.goto(f"{base}/s/alpha/proposals")
    await assert_accessible(proposer)
    await proposer.get_by_role("link", name="Rédiger une proposition").click()
    await expect(proposer.get_by_label("Titre")).to_be_visible()
    await assert_accessible(proposer)
    await proposer.get_by_label("Titre").fill("Réunion mensuelle")
    await proposer.get_by_label("Raison d'être : pourquoi faut-il décider ?").fill(
        "Nous prenons nos décisions trop lentement."
    )
    await proposer.get_by_label("La proposition").fill(
        "Une **réunion** mensuelle, le lundi, pour prendre chaque décision importante."
    )
    await expect(proposer.locator("#preview strong")).to_have_text("réunion")
    await assert_accessible(proposer)
    await proposer.get_by_role("button", name="Enregistrer comme brouillon").click()
    await expect(proposer.get_by_role("heading", level=2)).to_have_text("Réunion mensuelle")
    await assert_accessible(proposer)
    url = proposer.url
    await proposer.get_by_role("button", name=re.compile("Soumettre au groupe")).click()
    await expect(proposer.locator("[aria-current=step]")).to_have_text("Questions de clarification")
    await assert_accessible(proposer)

    # Clarify: a member asks, the proposer answers.
    await target.goto(url)
    await assert_accessible(target)
    await target.get_by_label("Votre question de clarification").fill("À quelle heure ?")
    await target.get_by_role("button", name="Poser la question").click()
    await expect(target.locator("#questions")).to_contain_text("À quelle heure ?")
    await assert_accessible(target)
    await proposer.goto(url)
    await assert_accessible(proposer)
    await proposer.get_by_label("Votre réponse").fill("À 19 heures.")
    await proposer.get_by_role("button", name="Répondre").click()
    await expect(proposer.locator("#questions")).to_contain_text("À 19 heures.")
    await assert_accessible(proposer)

    # React, then object.
    next_stage = "Clore ce tour et passer à l'étape suivante"
    await facilitator.goto(url)
    await assert_accessible(facilitator)
    await facilitator.get_by_role("button", name=next_stage).click()
    await expect(facilitator.locator("[aria-current=step]")).to_have_text("Réactions")
    await assert_accessible(facilitator)
    await target.goto(url)
    await assert_accessible(target)
    await target.get_by_label("Votre réaction").fill("Bonne idée.")
    await target.get_by_role("button", name="Donner ma réaction").click()
    await expect(target.locator("main")).to_contain_text("Bonne idée.")
    await assert_accessible(target)
    await facilitator.goto(url)
    await facilitator.get_by_role("button", name=next_stage).click()
    await expect(facilitator.locator("[aria-current=step]")).to_have_text("Objections")
    await assert_accessible(facilitator)

    await give_position(admin, url, "Consentement")
    await give_position(facilitator, url, "Préoccupation")
    await give_position(target, url, "Objection", "Je travaille le lundi soir.")
    # Positions stay hidden until the round closes.
    await expect(admin.locator("#round")).to_contain_text("cachées")

    # The facilitator judges the objection valid and closes the round: integration.
    await facilitator.goto(url)
    await assert_accessible(facilitator)
    judge = facilitator.locator("form[action$='/judge']")
    await judge.get_by_label("Valable", exact=True).check()
    await judge.get_by_label("Pourquoi").fill("Elle exclut un membre des réunions.")
    await judge.get_by_role("button", name="Enregistrer le jugement").click()
    await facilitator.get_by_role("button", name="Clore le tour d'objections").click()
    await expect(facilitator.locator("[aria-current=step]")).to_have_text("Intégration")
    await assert_accessible(facilitator)

    # Version 2 answers the objection; a new objection round; everyone consents.
    await proposer.goto(url)
    await assert_accessible(proposer)
    await proposer.get_by_text("Publier une nouvelle version").click()
    publish = proposer.locator("form[action$='/publish']")
    await expect(publish.get_by_role("checkbox")).to_be_checked()
    await assert_accessible(proposer)
    await publish.get_by_label("La proposition").fill(
        "Une réunion mensuelle, le mardi, pour prendre chaque décision importante."
    )
    await publish.get_by_label("Ce qui a changé, et pourquoi").fill("Le mardi convient à tous.")
    await publish.get_by_role("button", name="Publier la version 2").click()
    await expect(proposer.locator("main")).to_contain_text("le mardi")
    await assert_accessible(proposer)
    await facilitator.goto(url)
    await assert_accessible(facilitator)
    await facilitator.get_by_role("button", name=re.compile("Ouvrir un tour d'objections")).click()
    for page in (admin, facilitator, target):
        await give_position(page, url, "Consentement")
    await facilitator.goto(url)
    await facilitator.get_by_role("button", name="Clore le tour d'objections").click()
    await expect(facilitator.locator("[aria-current=step]")).to_have_text("Adoptée")
    await expect(facilitator.locator("#objections")).to_contain_text("intégrée")
    await assert_accessible(facilitator)
    await facilitator.screenshot(path=str(tmp_path / "adopted.png"), full_page=True)

    # The decision is in the register, found without accents.
    for word in ("reunion", "decisions"):
        await target.goto(f"{base}/s/alpha/decisions?q={word}")
        await expect(
            target.get_by_role("row", name=re.compile("Réunion mensuelle"))
        ).to_be_visible()
        await assert_accessible(target)
    await target.get_by_role("link", name=re.compile(r"AL-\d{4}-001")).click()
    await expect(target.locator("main")).to_contain_text("le mardi")
    await assert_accessible(target)
    await target.screenshot(path=str(tmp_path / "decision.png"), full_page=True)
