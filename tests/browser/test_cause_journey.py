"""A whole cause in Chromium, with four people of the space: a member proposes a cause from
the space's Causes tab and proposes to take it on; observes the field (an observation, two
actors of whom one private individual, never named, and an actor who moves); writes an
objective and its impact criterion; two scenarios are drafted, one revised, and compared
side by side and word by word; the facilitator runs the scenario choice (a question about a
scenario, sealed preferences, the reveal, a change, the consent round with an objection
judged valid and integrated by a new version of the scenario); the action list follows the
scenario chosen; an action is done; measurements are entered, one corrected, drawn and
exported; the interpretation is adopted; the celebration is prepared and the printable bilan
tells the whole journey.

The ordinary consent rounds of the proposals taking the cause on, adopting its objectives
and its interpretation go through the store (tests/causes_setup.py `adopt`): the browser
journeys of the consent process (test_hand_overs.py) already drive them. Every other step
is done in the pages. axe-core checks every page visited; each cause page is photographed
at 1280 and 390 px (accessibility.shoot, which also refuses a page scrolling sideways)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from consentir.spaces.store import Space
from tests.browser.accessibility import NARROW, WIDE, assert_accessible, shoot
from tests.browser.test_hand_overs import Journey, position
from tests.causes_setup import adopt
from tests.scenario import Scenario
from tests.smtp import Received

pytestmark = pytest.mark.browser

CAUSE = "Piste cyclable rue Paul-Bert"
PRIVATE_NAME = "Jeanne Martin"  # typed by mistake for a private individual: never kept
RESIDENTS = "Riverains de la rue Paul-Bert"
TOWN_HALL = "Mairie du 3e arrondissement"
CRITERION = "Enfants à vélo"
A_TITLE = "Une piste peinte"
B_TITLE = "Une piste séparée"
B_SUMMARY_1 = "Une piste **séparée** par des bordures, du square à l'école."
B_SUMMARY_2 = "Une piste **séparée** par des bordures basses, du square au collège."
B_SUMMARY_3 = B_SUMMARY_2 + " Un passage reste ouvert aux livraisons du marché le samedi."
OBJECTION = "La piste coupe l'accès des camions du marché du samedi."
TODAY = date.today()


def said(text: str) -> re.Pattern[str]:
    """The French words, whichever apostrophe the catalogue writes (' or ’)."""
    return re.compile("^" + re.escape(text).replace("'", "['’]") + "$")


def proposal_path(page: Page) -> str:
    found = re.search(r"/s/alpha/proposals/(\d+)", page.url)
    assert found, page.url
    return found.group(0)


def proposal_id(page: Page) -> int:
    return int(proposal_path(page).rsplit("/", 1)[1])


def step(page: Page, name: str) -> Locator:
    """One of the five steps in the cause's stepper."""
    return page.locator(f"#cause-steps li[data-step={name}]")


async def expect_open(page: Page, *names: str) -> None:
    for name in names:
        await expect(step(page, name), name).not_to_have_class(re.compile(r"\bclosed\b"))


async def tab(page: Page, name: str) -> None:
    """One of the cause's own tabs."""
    await (
        page.get_by_role("navigation", name="Parties de la cause")
        .get_by_role("link", name=said(name))
        .click()
    )
    await assert_accessible(page)


async def say_preference(page: Page, letter: str, reason: str, change: bool = False) -> None:
    now = page.locator("#now")
    title = {"A": A_TITLE, "B": B_TITLE}[letter]
    await now.get_by_label("Je préfère").select_option(label=f"{letter} — {title}")
    await now.get_by_label("Votre raison", exact=True).fill(reason)
    button = "Changer ma préférence" if change else "Donner ma préférence"
    await now.get_by_role("button", name=button).click()
    await expect(page.locator("#done")).to_contain_text("préférence")
    await expect(page.locator("#done")).not_to_contain_text("nomination")
    await assert_accessible(page)


async def open_details(details: Locator) -> None:
    """Unfold a <details> by its summary, unless the page shows it unfolded already."""
    if await details.get_attribute("open") is None:
        await details.locator("summary").click()


async def fill_action(
    form: Locator, index: int, what: str, who: str, when: date, cost: str, criterion: bool
) -> None:
    block = form.locator(f"#action-{index}")
    await block.get_by_label("Quoi").fill(what)
    await block.get_by_label("Qui").select_option(label=who)
    await block.get_by_label("Quand (facultatif)").fill(when.isoformat())
    await block.get_by_label("Coût en euros (facultatif)").fill(cost)
    if criterion:
        await block.get_by_label(re.compile(f"^{CRITERION}")).check()


async def test_a_cause_from_its_proposal_to_its_celebration(
    chromium: Browser,
    scenario_server: str,
    smtp_server: Received,
    deliver: Callable[[], Awaitable[int]],
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    tmp_path: Path,
) -> None:
    base = scenario_server
    shots = Path(os.environ.get("SHOTS_DIR", tmp_path))
    journey = Journey(base, pool, smtp_server, deliver, shots, world)
    member, facilitator, admin, target = await asyncio.gather(
        *(journey.sign_in(chromium, r) for r in ("member", "facilitator", "admin", "target"))
    )
    for person in (member, facilitator, admin, target):
        person.page.set_default_timeout(10_000)  # a step that cannot be done fails quickly

    # 1. The member proposes the cause from the space's Causes tab…
    page = member.page
    await page.goto(f"{base}/s/alpha")
    await (
        page.get_by_role("navigation", name=said("Navigation de l'espace"))
        .get_by_role("link", name="Causes")
        .click()
    )
    await assert_accessible(page)
    await page.get_by_role("link", name="Proposer une cause").click()
    await assert_accessible(page)
    await page.get_by_label("Titre").fill(CAUSE)
    await page.get_by_label("Territoire").fill("Lyon 3e")
    await page.get_by_label("Thème", exact=True).select_option(label="mobilité")
    await page.get_by_label("Résumé").fill(
        "Les écoliers du quartier n'osent pas aller à l'école à vélo : la rue est trop dangereuse."
    )
    await page.get_by_role("button", name="Proposer la cause").click()
    await expect(page.get_by_role("heading", level=2, name=CAUSE)).to_be_visible()
    cause = re.sub(r"^.*(/s/alpha/causes/\d+).*$", r"\1", page.url)
    assert re.fullmatch(r"/s/alpha/causes/\d+", cause), page.url
    await expect(step(page, "observe")).to_have_class(re.compile(r"\bclosed\b"))
    await shoot(page, shots, "c01-proposed")

    # … proposes to take it on, answering the three criteria; the decision takes it on.
    await (
        page.locator("#next")
        .get_by_role("link", name="Proposer de prendre la cause en charge")
        .click()
    )
    await assert_accessible(page)
    await page.get_by_label("En accord avec les valeurs du mouvement : comment ?").fill(
        "Se déplacer sans danger est une question de justice."
    )
    await page.get_by_label("Plusieurs personnes mobilisées : qui ?").fill(
        "Douze parents et l'association de quartier."
    )
    await page.get_by_label("Un impact local utile : lequel ?").fill(
        "Deux écoles et un collège desservis."
    )
    await shoot(page, shots, "c02-take-on")
    await page.get_by_role("button", name="Créer la proposition (brouillon)").click()
    await expect(page.locator("main")).to_contain_text("Douze parents")
    await assert_accessible(page)
    taken_on = await adopt(pool, alpha, world, proposal_id(page))  # (a consent round)
    await page.goto(f"{base}{cause}")
    await assert_accessible(page)
    await expect_open(page, "observe", "objectives")
    await expect(step(page, "plan")).to_have_class(re.compile(r"\bclosed\b"))
    await expect(step(page, "plan")).to_contain_text("attend un premier objectif")
    await expect(page.locator("#decisions-title + ul")).to_contain_text(taken_on)
    await shoot(page, shots, "c03-taken-on")

    # 2. Observation: an observation, two actors (one a private individual), an actor moves.
    await tab(page, "Observation")
    add = page.locator("#add-observation")
    await add.get_by_label("Type").select_option("figure")
    await add.get_by_label("Titre").fill("Trois vélos seulement devant l'école")
    await add.get_by_label("Source").fill("Comptage des parents, un matin")
    await add.get_by_label("Observée le").fill((TODAY - timedelta(days=150)).isoformat())
    await add.get_by_role("button", name=said("Ajouter l'observation")).click()
    await expect(page.locator("#observations")).to_contain_text("Trois vélos seulement")
    await assert_accessible(page)

    async def add_actor(kind: str, name: str, group: str, stance: str, influence: str,
                        role: str) -> None:  # fmt: skip
        form = page.locator("#add-actor")
        await form.get_by_label(said("Type d'acteur")).select_option(kind)
        await form.get_by_label("Nom", exact=True).fill(name)
        await form.get_by_label("Groupe (une personne privée)").fill(group)
        await form.get_by_label("Position envers la cause").select_option(stance)
        await form.get_by_label("Influence", exact=True).select_option(influence)
        await form.get_by_label("Rôle pour la cause").select_option(role)
        await form.get_by_role("button", name=said("Ajouter l'acteur")).click()
        await expect(page.locator("#actor-table")).to_contain_text(group or name)
        await assert_accessible(page)

    await add_actor("institution", TOWN_HALL, "", "-1", "3", "target")
    await add_actor("private", PRIVATE_NAME, RESIDENTS, "2", "1", "ally")
    # The town hall moves: a new assessment on its page.
    await page.locator("#actor-table").get_by_role("link", name=TOWN_HALL).click()
    await assert_accessible(page)
    assess = page.locator("#assess")
    await assess.get_by_label("Position envers la cause").select_option("1")
    await assess.get_by_role("button", name="Enregistrer cette évaluation").click()
    await expect(page.locator("#history tbody tr")).to_have_count(2)
    await shoot(page, shots, "c04-actor")
    await page.locator("#actor .breadcrumb").get_by_role("link", name="Acteurs").click()
    await assert_accessible(page)
    actors = page.locator("#actors")
    await expect(actors.locator("figure svg")).to_be_visible()
    await expect(actors.locator("#actor-table tbody tr")).to_have_count(2)
    town_hall = actors.locator("#actor-table tr").filter(has_text=TOWN_HALL)
    await expect(town_hall).to_contain_text("position : −1 → +1")
    await expect(actors.locator("#actor-table")).to_contain_text(RESIDENTS)
    await expect(actors.locator("figure svg")).to_contain_text(RESIDENTS)
    await expect(actors.locator("figure svg")).to_contain_text(TOWN_HALL)
    assert PRIVATE_NAME not in await page.content()
    kept = "SELECT count(*) FROM actors WHERE $1 IN (name, public_role, group_label)"
    assert await pool.fetchval(kept, PRIVATE_NAME) == 0
    await shoot(page, shots, "c05-observation")

    # 3. Objectives: an objective and a number criterion, proposed for consent, adopted.
    await tab(page, "Objectifs")
    new = page.locator("#new-objective")
    await new.get_by_label("Horizon").select_option("short")
    await new.get_by_label("Objectif").fill("Des trajets sûrs vers l'école")
    await new.get_by_label("Ce qui compte comme une victoire").fill(
        "Les enfants vont à l'école à vélo sans adulte."
    )
    await new.get_by_role("button", name=said("Ajouter l'objectif")).click()
    await expect(page.locator(".objective")).to_have_count(1)
    await assert_accessible(page)
    await page.locator(".objective").get_by_role("link", name="Un nombre").click()
    await assert_accessible(page)
    baseline_on, target_on = TODAY - timedelta(days=120), TODAY + timedelta(days=200)
    await page.get_by_label("Nom du critère").fill(CRITERION)
    await page.get_by_label("Unité").fill("enfants")
    await page.get_by_label("Valeur de départ").fill("4")
    await page.get_by_label("Date de la situation de départ").fill(baseline_on.isoformat())
    await page.get_by_label("Valeur visée").fill("40")
    await page.get_by_label("Échéance").fill(target_on.isoformat())
    await page.get_by_label("Source").fill("Comptage devant l'école")
    await shoot(page, shots, "c06-criterion")
    await page.get_by_role("button", name="Ajouter le critère").click()
    await expect(page.locator(".criterion")).to_contain_text(CRITERION)
    await assert_accessible(page)
    await shoot(page, shots, "c07-objectives")
    await page.get_by_role("button", name="Proposer ces objectifs au consentement").click()
    await expect(page).to_have_url(re.compile(r"/s/alpha/proposals/\d+$"))
    await expect(page.locator("main")).to_contain_text(CRITERION)
    await assert_accessible(page)
    objectives_decision = await adopt(pool, alpha, world, proposal_id(page))  # (consent)
    await page.goto(f"{base}{cause}/objectives")
    await assert_accessible(page)
    await expect(page.locator(".objective")).to_contain_text(objectives_decision)
    await expect_open(page, "observe", "objectives", "plan")
    await expect(step(page, "plan")).to_have_attribute("aria-current", "step")

    # 4. Two scenarios drafted in the form; B revised into its version 2.
    await tab(page, "Plan d'action")
    for title, summary, actions in (
        (A_TITLE, "Une piste **peinte** sur la chaussée, du square à l'école.",
         (("Peindre une piste provisoire", "Admin", 30, "450"),
          ("Compter les vélos chaque mois", "Member", 60, ""))),
        (B_TITLE, B_SUMMARY_1,
         (("Demander une piste séparée au conseil de quartier", "Target", 20, ""),
          ("Compter les vélos chaque mois", "Member", 60, ""))),
    ):  # fmt: skip
        await page.get_by_role("link", name="Rédiger un scénario").click()
        await assert_accessible(page)
        form = page.locator("form.stack")
        await form.get_by_label("Titre").fill(title)
        await form.get_by_label("Résumé").fill(summary)
        await form.get_by_label("Hypothèses (facultatif)").fill("Le conseil de quartier écoute.")
        for i, (what, owner, days, cost) in enumerate(actions):
            await fill_action(form, i, what, owner, TODAY + timedelta(days=days), cost, True)
        if title == A_TITLE:
            await shoot(page, shots, "c08-scenario-form")
        await form.get_by_role("button", name="Enregistrer le scénario").click()
        await expect(page.get_by_role("heading", level=3, name=re.compile(title))).to_be_visible()
        await assert_accessible(page)
        await page.locator(".scenario .breadcrumb").get_by_role("link").click()
        await assert_accessible(page)
    await page.locator(".scenario-item[data-scenario=B]").get_by_role("link").click()
    await assert_accessible(page)
    await page.get_by_role("link", name="Rédiger une nouvelle version").click()
    await assert_accessible(page)
    form = page.locator("form.stack")
    await form.get_by_label("Résumé").fill(B_SUMMARY_2)
    await form.get_by_label("Ce qui a changé").fill("Des bordures basses, jusqu'au collège.")
    await form.get_by_role("button", name="Enregistrer la nouvelle version").click()
    await expect(page.locator("#current-title")).to_have_text("Version n° 2 (actuelle)")
    await expect(page.locator(".scenario-current")).to_contain_text(
        "Des bordures basses, jusqu'au collège."
    )
    await assert_accessible(page)
    await shoot(page, shots, "c09-scenario-b")

    # Compared side by side: A, B version 1 and B version 2; then B's words, v1 → v2.
    await page.get_by_role("link", name="Comparer les scénarios côte à côte").click()
    await assert_accessible(page)
    picker = page.locator(".compare-picker")
    for box in await picker.get_by_role("checkbox").all():
        await box.check()
    await picker.get_by_role("button", name="Comparer").click()
    table = page.locator("table.compare")
    await expect(table.locator("thead th")).to_have_count(3)
    heads = table.locator("thead th")
    await expect(heads.nth(0)).to_contain_text(A_TITLE)
    await expect(heads.nth(1)).to_contain_text(re.compile(rf"{B_TITLE}\s*version n° 1"))
    await expect(heads.nth(2)).to_contain_text(re.compile(rf"{B_TITLE}\s*version n° 2"))
    summary_row = table.locator("tr[data-field=summary]")
    await expect(summary_row.locator("td")).to_have_count(3)
    await expect(summary_row.locator("td.differs")).to_have_count(2)
    await expect(summary_row).to_have_class(re.compile("compare-row--differs"))
    diff = page.locator(".compare-diff")
    await diff.get_by_label("Première version").select_option(label="B, version n° 1")
    await diff.get_by_label("Seconde version").select_option(label="B, version n° 2")
    await diff.get_by_role("button", name="Montrer les différences").click()
    await expect(page.locator("#diff-title")).to_have_text(
        "Mot à mot : de B, version n° 1 à B, version n° 2"
    )
    words = page.locator("[data-diff=summary]")
    await expect(words.locator("ins").first).to_be_visible()
    added = " ".join(await words.locator("ins").all_inner_texts())
    removed = " ".join(await words.locator("del").all_inner_texts())
    assert "basses" in added and "collège" in added, added
    assert "l'école" in removed and "basses" not in removed, removed
    await assert_accessible(page)
    await shoot(page, shots, "c10-compare")
    # On a phone, one version at a time.
    await page.set_viewport_size(NARROW)
    await expect(page.locator(".compare-wide")).to_be_hidden()
    await expect(page.locator(".compare-stacked #column-1")).to_be_visible()
    await page.set_viewport_size(WIDE)

    # 5. The choice: the facilitator opens it from the plan page and submits it.
    page = facilitator.page
    await page.goto(f"{base}{cause}/scenarios")
    await assert_accessible(page)
    await page.get_by_role("link", name="Ouvrir le choix du scénario").click()
    await assert_accessible(page)
    await page.get_by_role("button", name="Créer le choix (brouillon)").click()
    await expect(page.locator("#election")).to_contain_text(B_TITLE)
    await assert_accessible(page)
    choice = proposal_path(page)
    await page.get_by_role("button", name=re.compile("^Soumettre au groupe")).click()
    await expect(page.locator("[aria-current=step]")).to_have_text("Questions de clarification")
    await assert_accessible(page)
    # A member asks a question about scenario B; the facilitator answers it.
    page = member.page
    await page.goto(f"{base}{choice}")
    now = page.locator("#now")
    await now.locator("select[name=scenario]").select_option(label=f"Scénario B — {B_TITLE}")
    await now.get_by_label("Votre question de clarification").fill(
        "Les bordures gênent-elles les pompiers ?"
    )
    await now.get_by_role("button", name="Poser la question").click()
    await expect(page.locator("#questions")).to_contain_text("Scénario B")
    await assert_accessible(page)
    page = facilitator.page
    await page.goto(f"{base}{choice}")
    await (
        page.locator("#questions")
        .get_by_label("Votre réponse")
        .fill("Non : elles sont basses, les pompiers passent.")
    )
    await page.locator("#questions").get_by_role("button", name="Répondre").click()
    await expect(page.locator("#questions")).to_contain_text("les pompiers passent")
    await page.get_by_role(
        "button", name=said("Clore ce tour et passer à l'étape suivante")
    ).click()
    await expect(page.locator("[aria-current=step]")).to_have_text(re.compile("Préférences"))
    await assert_accessible(page)

    # Each person on the list says their preference, sealed until the reveal.
    await member.page.goto(f"{base}{choice}")
    await say_preference(member.page, "B", "Les bordures protègent vraiment les enfants.")
    await expect(member.page.locator("#election")).to_contain_text("protègent vraiment")
    await shoot(member.page, shots, "c11-preference-sealed")
    page = admin.page
    await page.goto(f"{base}{choice}")
    await expect(page.locator("[data-mark=sealed]")).to_be_visible()
    await expect(page.locator("main")).not_to_contain_text("protègent vraiment")
    await say_preference(page, "A", "Il faut agir avant la rentrée.")
    await expect(page.locator("main")).not_to_contain_text("protègent vraiment")
    page = target.page
    await page.goto(f"{base}{choice}")
    await say_preference(page, "A", "La peinture coûte moins cher.")
    page = facilitator.page
    await page.goto(f"{base}{choice}")
    await say_preference(page, "B", "La Métropole finance ce genre de piste.")
    # The reveal, the change round; the target moves to B.
    await page.locator("#now").get_by_role("button", name=re.compile("les préférences$")).click()
    revealed = page.locator("[data-mark=revealed]")
    await expect(revealed).to_contain_text("protègent vraiment")
    await expect(revealed).to_contain_text("agir avant la rentrée")
    await expect(page.locator("#done")).to_be_visible()
    await expect(page.locator("#done")).not_to_contain_text("nomination")
    await assert_accessible(page)
    await page.locator("#now").get_by_role("button", name="Ouvrir le tour de report").click()
    await expect(page.locator("[aria-current=step]")).to_have_text(re.compile("report"))
    await expect(page.locator("#done")).to_be_visible()
    await expect(page.locator("#done")).not_to_contain_text("nomination")
    await assert_accessible(page)
    page = target.page
    await page.goto(f"{base}{choice}")
    await say_preference(page, "B", "Après vos raisons : la sécurité d'abord.", change=True)
    await expect(page.locator("[data-mark=changed]")).to_be_visible()
    await shoot(page, shots, "c12-preferences-revealed")

    # The facilitator proposes B; the consent round; the target objects.
    page = facilitator.page
    await page.goto(f"{base}{choice}")
    now = page.locator("#now")
    await open_details(now.locator("details").filter(has_text="Proposer un scénario"))
    await now.get_by_label("Scénario proposé").select_option(label=f"B — {B_TITLE}")
    await now.get_by_label("Vos raisons").fill("Trois personnes sur quatre préfèrent B.")
    await now.get_by_role("button", name="Proposer et ouvrir le tour de consentement").click()
    await expect(page.locator("[data-mark=proposed-scenario]")).to_contain_text(
        "Scénario B, version 2"
    )
    await assert_accessible(page)
    page = target.page
    await page.goto(f"{base}{choice}")
    await position(page, "Objection", OBJECTION)
    for who in (member, admin):
        await who.page.goto(f"{base}{choice}")
        await position(who.page, "Consentement")
    # The facilitator judges the objection valid and closes the round: integration.
    page = facilitator.page
    await page.goto(f"{base}{choice}")
    judge = page.locator("#objections form[action$='/judge']")
    await judge.get_by_label("Valable", exact=True).check()
    await judge.get_by_label("Pourquoi").fill("Le marché du samedi fait vivre la rue.")
    await judge.get_by_role("button", name="Enregistrer le jugement").click()
    await expect(page.locator("#done")).to_have_text("Votre jugement est enregistré.")
    await position(page, "Consentement")
    await page.locator("#now").get_by_role("button", name="Clore le tour de consentement").click()
    await expect(page.locator("[aria-current=step]")).to_have_text("Intégration")
    await assert_accessible(page)
    await shoot(page, shots, "c13-integrate")

    # The integration: a version 3 of scenario B, written from its page, proposed again.
    await page.locator("#election").get_by_role("link", name=f"Scénario B — {B_TITLE}").click()
    await assert_accessible(page)
    await page.get_by_role("link", name="Rédiger une nouvelle version").click()
    await assert_accessible(page)
    form = page.locator("form.stack")
    await form.get_by_label("Résumé").fill(B_SUMMARY_3)
    await form.get_by_label("Ce qui a changé").fill(
        "Intègre l'objection : un passage pour les livraisons du marché le samedi."
    )
    await fill_action(form, 2, "Ouvrir un passage livraisons le samedi", "Facilitator",
                      TODAY + timedelta(days=40), "", False)  # fmt: skip
    await form.get_by_role("button", name="Enregistrer la nouvelle version").click()
    await expect(page.locator("#current-title")).to_have_text("Version n° 3 (actuelle)")
    await assert_accessible(page)
    await page.goto(f"{base}{choice}")
    now = page.locator("#now")
    await open_details(now.locator("details").filter(has_text="Proposer un scénario"))
    await now.get_by_label("Scénario proposé").select_option(label=f"B — {B_TITLE}")
    await now.get_by_label("Vos raisons").fill("La version 3 garde le passage du marché.")
    await now.get_by_role("button", name="Proposer et ouvrir le tour de consentement").click()
    await expect(page.locator("[data-mark=proposed-scenario]")).to_contain_text(
        "Scénario B, version 3"
    )
    await expect(page.locator("article.proposal > header")).to_contain_text("version n° 3")
    await assert_accessible(page)
    # Everyone consents, the objector first confirming that version 3 lifts her objection.
    page = target.page
    await page.goto(f"{base}{choice}")
    await page.locator("#now").get_by_role("button", name="La version 3 lève mon objection").click()
    await expect(page.locator("#done")).to_contain_text("Votre confirmation est enregistrée")
    await assert_accessible(page)
    await position(page, "Consentement")
    for who in (member, admin, facilitator):
        await who.page.goto(f"{base}{choice}")
        await position(who.page, "Consentement")
    page = facilitator.page
    await page.locator("#now").get_by_role("button", name="Clore le tour de consentement").click()
    adopted = page.locator("#done").get_by_role("heading")
    await expect(adopted).to_have_text(re.compile(r"^Décision AL-\d{4}-\d{3} adoptée$"))
    chosen = re.sub(r"^Décision (\S+) adoptée$", r"\1", await adopted.inner_text())
    await assert_accessible(page)
    await shoot(page, shots, "c14-choice-adopted")

    # The action list: B's version 3 actions; A is set aside.
    await page.goto(f"{base}{cause}")
    await tab(page, "Actions")
    items = page.locator(".action-list > li")
    await expect(items).to_have_count(3)
    await expect(items.locator("h4")).to_have_text([
        "Demander une piste séparée au conseil de quartier",
        "Compter les vélos chaque mois",
        "Ouvrir un passage livraisons le samedi",
    ])  # fmt: skip
    await expect(page.locator(".cause-actions")).to_contain_text(chosen)
    await tab(page, "Plan d'action")
    aside = page.locator(".scenarios-set-aside")
    await expect(aside.locator(".scenario-item")).to_have_count(1)
    await expect(aside).to_contain_text(A_TITLE)
    await expect(page.locator("[data-mark=chosen]")).to_contain_text(chosen)
    await shoot(page, shots, "c15-plan-chosen")
    await page.locator("[data-mark=chosen]").get_by_role("link", name="Lire la décision").click()
    await expect(page.locator("main")).to_contain_text(f"Scénario B, version 3 : « {B_TITLE} »")
    await assert_accessible(page)
    await page.go_back()
    await aside.get_by_role("link").click()
    await expect(page.locator("[data-mark=set-aside]")).to_be_visible()
    await assert_accessible(page)

    # 6. The action's owner marks it done, with evidence.
    page = target.page
    await page.goto(f"{base}{cause}/actions")
    await assert_accessible(page)
    first = page.locator(".action-list > li").first
    await first.get_by_label("Statut").select_option("done")
    await first.get_by_label("Preuve (facultatif)").fill("Compte rendu du conseil du 12 mars.")
    await first.get_by_role("button", name="Enregistrer").click()
    first = page.locator(".action-list > li").first
    await expect(first).to_have_attribute("data-status", "done")
    await expect(first.locator(".action-evidence")).to_have_text(
        "Compte rendu du conseil du 12 mars."
    )
    await expect(page.locator("#execution-text")).to_contain_text("1 sur 3")
    await assert_accessible(page)
    await shoot(page, shots, "c16-actions")

    # Measurements on the evaluation page: two, dated; the second corrected.
    page = member.page
    await page.goto(f"{base}{cause}")
    await tab(page, "Évaluation")
    criterion = page.locator(".criterion-evaluation")
    for days, value in ((60, "10"), (30, "13")):
        await criterion.locator("[data-mark=measure]").click()
        measure = page.locator(".measure-form")
        await measure.get_by_label("Date de la mesure").fill(
            (TODAY - timedelta(days=days)).isoformat()
        )
        await measure.get_by_label("Valeur (enfants)").fill(value)
        await measure.get_by_label("Source").fill("Comptage des parents")
        if days == 60:
            await assert_accessible(page)
        await measure.get_by_role("button", name="Enregistrer la mesure").click()
        await expect(criterion.locator("tbody tr.measurement")).to_have_count(
            1 if days == 60 else 2
        )
        await assert_accessible(page)
    # 13 was a typo: 22 children, counted that same day.
    await criterion.locator("tbody tr").nth(1).locator("[data-mark=correct]").click()
    measure = page.locator(".measure-form")
    await measure.get_by_label("Date de la mesure").fill((TODAY - timedelta(days=30)).isoformat())
    await measure.get_by_label("Valeur (enfants)").fill("22")
    await measure.get_by_label("Source").fill("Comptage des parents, revu")
    await measure.get_by_role("button", name="Enregistrer la correction").click()
    rows = criterion.locator("table.measurements tbody tr")
    await expect(rows).to_have_count(3)
    await expect(criterion.locator("tr.measurement--corrected")).to_have_count(1)
    await expect(criterion.locator("tr.measurement--corrected del")).to_contain_text("13")
    await expect(criterion.locator(".criterion-progress")).to_have_attribute("data-percent", "50")
    await expect(criterion.locator(".criterion-progress")).to_contain_text("50 %")
    chart = criterion.locator(".chart-figure svg")
    await expect(chart).to_be_visible()
    await expect(chart.locator(".chart-point")).to_have_count(2)  # not the corrected one
    await assert_accessible(page)
    await shoot(page, shots, "c17-evaluation")
    async with page.expect_download() as download:
        await page.locator("[data-mark=csv]").click()
    exported = (await (await download.value).path()).read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(exported), delimiter=";"))
    assert lines[0][:5] == ["Mesure", "Objectif", "Critère", "Date", "Valeur"], lines[0]
    values = {(r[3], r[4], r[9]) for r in lines[1:]}
    assert values == {
        ((TODAY - timedelta(days=60)).isoformat(), "10", "oui"),
        ((TODAY - timedelta(days=30)).isoformat(), "13", "non"),
        ((TODAY - timedelta(days=30)).isoformat(), "22", "oui"),
    }, exported
    assert all(r[2] == CRITERION and r[5] == "enfants" for r in lines[1:]), exported

    # 7. The interpretation, proposed from the evaluation page, adopted.
    interpretation = page.locator("#interpretation")
    await interpretation.get_by_label("Ce que nous concluons").fill(
        "La moitié du chemin est faite : 22 enfants viennent à vélo."
    )
    await interpretation.get_by_label("Ce que nous changeons").fill(
        "Nous continuons, et comptons chaque mois."
    )
    await interpretation.get_by_role(
        "button", name=said("Proposer l'interprétation (brouillon)")
    ).click()
    await expect(page).to_have_url(re.compile(r"/s/alpha/proposals/\d+$"))
    await expect(page.locator("main")).to_contain_text("22 enfants viennent à vélo")
    await assert_accessible(page)
    evaluated = await adopt(pool, alpha, world, proposal_id(page))  # (a consent round)
    await page.goto(f"{base}{cause}")
    await assert_accessible(page)
    await expect_open(page, "observe", "objectives", "plan", "evaluate", "celebrate")
    await expect(step(page, "celebrate")).to_have_attribute("aria-current", "step")

    # 8. The celebration, planned by the member who carries the cause; the bilan.
    await tab(page, "Célébration")
    prepare = page.locator("#prepare")
    party_day = TODAY + timedelta(days=21)
    await prepare.get_by_label("Date").fill(party_day.isoformat())
    await prepare.get_by_label("Lieu").fill("Square Sainte-Marie")
    await prepare.get_by_label(re.compile(f"^{TOWN_HALL}")).check()
    await prepare.get_by_label(re.compile(f"^{RESIDENTS}")).check()
    await prepare.get_by_label(said("L'histoire de la cause (facultatif)")).fill(
        "Tout a commencé par **trois vélos** devant l'école."
    )
    await prepare.get_by_role("button", name="Préparer la célébration").click()
    await expect(page.locator("#celebration-place")).to_have_text("Square Sainte-Marie")
    await expect(page.locator("#invited-actors li")).to_have_count(2)
    await expect(page.locator("#celebration-story")).to_contain_text("trois vélos")
    assert PRIVATE_NAME not in await page.content()
    await assert_accessible(page)
    await shoot(page, shots, "c18-celebration")

    await page.get_by_role("link", name="Le bilan de la cause, à imprimer").click()
    await assert_accessible(page)
    bilan = page.locator("#bilan")
    decisions = bilan.locator(".bilan-decisions tbody tr")
    await expect(decisions).to_have_count(4)
    for number in (taken_on, objectives_decision, chosen, evaluated):
        await expect(bilan.locator(".bilan-decisions")).to_contain_text(number)
    await expect(bilan.locator("#bilan-chosen")).to_contain_text(
        f"scénario B, version 3, « {B_TITLE} »"
    )
    result = bilan.locator(".bilan-results tbody tr").filter(has_text=CRITERION)
    await expect(result.locator(".bilan-percent")).to_have_text("50 %")
    await expect(result.locator("[data-latest]")).to_contain_text("22")
    await expect(bilan.locator("#bilan-items tbody tr")).to_have_count(3)
    await expect(bilan.locator("#bilan-items tbody tr").first).to_contain_text(
        "Compte rendu du conseil du 12 mars."
    )
    await expect(bilan.locator(".bilan-set-aside")).to_contain_text(A_TITLE)
    await expect(bilan.locator("#bilan-celebration")).to_contain_text("Square Sainte-Marie")
    assert PRIVATE_NAME not in await page.content()
    await shoot(page, shots, "c19-bilan")
    # On paper: neither the site's navigation, nor the cause's stepper and tabs.
    navigation = (".site-header", ".space-header nav.tabs", "#cause-steps", ".tabs--sub")
    for part in navigation:
        await expect(page.locator(part)).to_be_visible()
    await page.emulate_media(media="print")
    for part in navigation:
        await expect(page.locator(part), f"{part} on paper").to_be_hidden()
    await expect(bilan.locator("#bilan-items")).to_be_visible()
    await page.screenshot(path=str(shots / "c19-bilan-print.png"), full_page=True)
    await page.emulate_media(media="screen")
    # Each decision of the cause, as the bilan links it, reads well too.
    for number in (taken_on, objectives_decision, evaluated):
        await bilan.locator(".bilan-decisions").get_by_role("link", name=number).click()
        await expect(page.get_by_role("heading", level=2)).to_contain_text(number)
        await assert_accessible(page)
        await page.go_back()
