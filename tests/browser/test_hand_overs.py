"""A whole consent process over days, in Chromium, with five people who act only from what
their dashboard, their notifications and their email lead them to: no address is typed but
the site's own (to sign in). At each hand-over the next person's dashboard lists the step
and their email (sent through the outbox to the in-process SMTP server) says it, with a link
to the exact place; the link is followed for several steps. An objection is judged valid and
answered by a version 2 with a new title: the register, its search and its exports show that
title. axe-core checks every page visited; each stage is photographed at 1280 and 390 px."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from consentir.notifications import mailer
from consentir.notifications.kinds import Kind, sentence
from consentir.web import i18n
from consentir.web.templates import environment
from tests.browser.accessibility import assert_accessible
from tests.browser.test_joining import signed_in, wait_for_mail
from tests.helpers import TEST_SECRET
from tests.scenario import Scenario
from tests.smtp import Received

pytestmark = pytest.mark.browser

TITLE_1 = "Permanence du lundi"
TITLE_2 = "Permanence du mardi soir"
WIDE, NARROW = {"width": 1280, "height": 800}, {"width": 390, "height": 844}

# The dashboard's words for each step (templates/spaces/dashboard.html, WAITING_KINDS).
ASK = "questions bienvenues : posez les vôtres"
REACT = "donnez votre réaction"
POSITION = "donnez votre position"
QUESTIONS = "questions auxquelles répondre"
JUDGE = "objections à juger"
CLOSE = "tout le monde a répondu : clore le tour"
PUBLISH = "publiez une version qui répond aux objections valables"
CONFIRM = "dites si la nouvelle version lève votre objection"
OPEN = "les objections ont une réponse : ouvrir le tour d'objections"
SIGN = "signez la charte"


def said(kind: Kind, title: str, **values: str) -> str:
    """A notification's sentence as the app writes it in French (the people's language)."""
    token = i18n.current_locale.set("fr")
    try:
        text = i18n.gettext(sentence(kind, values))
    finally:
        i18n.current_locale.reset(token)
    return text % {"title": title, "space": "Alpha", "actor": "", "number": "", **values}


@dataclass
class Person:
    role: str
    email: str
    page: Page


class Journey:
    """The five people, the site, its outbox and the screenshots."""

    def __init__(
        self,
        base: str,
        pool: asyncpg.Pool,
        smtp: Received,
        deliver: Callable[[], Awaitable[int]],
        shots: Path,
        world: Scenario,
    ) -> None:
        self.base, self.pool, self.smtp, self.shots, self.world = base, pool, smtp, shots, world
        self.deliver = deliver
        self.people: dict[str, Person] = {}
        self.days = 0
        self.templates = environment()

    async def sign_in(self, chromium: Browser, role: str) -> Person:
        page = await signed_in(chromium, self.base, self.world.email(role))
        await page.set_viewport_size(WIDE)
        await assert_accessible(page)
        self.people[role] = Person(role, self.world.email(role), page)
        return self.people[role]

    async def shoot(self, page: Page, name: str) -> None:
        """The page as it is now, at 1280 px and at 390 px (a phone), both checked by axe."""
        await page.screenshot(path=str(self.shots / f"{name}-1280.png"), full_page=True)
        await page.set_viewport_size(NARROW)
        await assert_accessible(page)
        await page.screenshot(path=str(self.shots / f"{name}-390.png"), full_page=True)
        await page.set_viewport_size(WIDE)

    async def dashboard(self, person: Person) -> Locator:
        """The person's dashboard, reached from the header: the steps that wait for them."""
        page = person.page
        await (
            page.get_by_role("navigation", name="Navigation principale")
            .get_by_role("link", name="Mes espaces")
            .click()
        )
        await expect(page).to_have_url(f"{self.base}/spaces")
        await assert_accessible(page)
        return page.get_by_role("region", name="En attente de votre part")

    async def expect_waiting(self, person: Person, title: str, what: str) -> Locator:
        """The dashboard lists this step for this person; its link."""
        section = await self.dashboard(person)
        item = section.get_by_role("listitem").filter(has_text=title).filter(has_text=what)
        await expect(item, f"{person.role}'s dashboard: {what}").to_have_count(1)
        return item.get_by_role("link", name=title)

    async def all_waiting(self, people: tuple[Person, ...], title: str, what: str) -> None:
        """Each of them sees the step on their dashboard (looked at side by side)."""
        await asyncio.gather(*(self.expect_waiting(p, title, what) for p in people))

    async def not_waiting(self, person: Person, title: str, what: str = "") -> None:
        """The step (or any step about `title`) is gone from the person's dashboard."""
        section = await self.dashboard(person)
        item = section.get_by_role("listitem").filter(has_text=title).filter(has_text=what)
        await expect(item, f"{person.role}'s dashboard: {what}").to_have_count(0)

    async def from_dashboard(self, person: Person, title: str, what: str) -> Page:
        """Follow the dashboard's link for this step."""
        await (await self.expect_waiting(person, title, what)).click()
        await assert_accessible(person.page)
        return person.page

    async def from_notifications(self, person: Person, text: str, shot: str = "") -> Page:
        """Open the header's notification list and the newest unread notification saying
        `text`: it is marked read and leads to its place."""
        page = person.page
        header = page.get_by_role("navigation", name="Navigation principale")
        link = header.get_by_role("link", name=re.compile("^Vos notifications"))
        await expect(link.locator(".count")).to_have_text(re.compile(r"^[1-9]\d*$"))
        await link.click()
        await assert_accessible(page)
        item = page.locator("li.unread").filter(has_text=text).first
        await expect(item).to_be_visible()
        if shot:
            await self.shoot(page, shot)
        await item.get_by_role("button").click()
        await assert_accessible(page)
        return page

    async def emails(self, expected: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
        """A day passes: the app emails what waits for each person once no notification
        came for two minutes, and the news in the morning's summary (the server does it with
        the real clock; here with tomorrow's). Each person in `expected` gets one email with,
        for each (sentence, path), the sentence and the link to that place on the site.
        Returns each sentence's link."""
        self.days += 1
        now = datetime.now(UTC) + timedelta(days=self.days, hours=2)  # past 7:00, even on DST
        before = len(self.smtp.messages)
        queued = await mailer.send_due(self.pool, self.templates, self.base, TEST_SECRET, now=now)
        await self.deliver()  # the outbox, now (the server's sender would within 2 s)
        await wait_for_mail(self.smtp, before + queued)
        received: dict[str, str] = {}
        for message in self.smtp.messages[before:]:
            to = str(message["To"])
            assert to not in received, f"two emails to {to} at once"
            body = message.get_body(("plain",))
            assert body is not None
            received[to] = body.get_content()
            assert message["List-Unsubscribe"], to
        links: dict[str, str] = {}
        for role, items in expected.items():
            email = self.world.email(role)
            assert email in received, f"no email to {role}: {sorted(received)}"
            written = dict(re.findall(r"^- (.+)\n  (\S+)$", received[email], re.MULTILINE))
            for text, path in items:
                assert written.get(text) == self.base + path, (
                    f"{role} should read {text!r} → {path}:\n{received[email]}"
                )
                links[text] = written[text]
        return links

    async def follow(self, person: Person, link: str) -> Page:
        """The person clicks the link in their email."""
        await person.page.goto(link)
        await assert_accessible(person.page)
        return person.page


async def react(page: Page, text: str) -> None:
    now = page.locator("#now")
    await now.get_by_label("Votre réaction").fill(text)
    await now.get_by_role("button", name="Donner ma réaction").click()
    await expect(page.locator("#done")).to_have_text("Votre réaction est enregistrée.")
    await assert_accessible(page)


async def position(page: Page, stance: str, reason: str = "") -> None:
    form = page.locator("#now form[action$='/position']").first
    await form.get_by_label(stance, exact=True).check()
    if reason:
        await form.get_by_label("Votre raison (obligatoire pour une objection)").fill(reason)
    await form.get_by_role("button", name="Donner ma position").click()
    await expect(page.locator("#done")).to_contain_text("Votre position est enregistrée")
    await assert_accessible(page)


async def test_five_people_carry_a_process_over_days_from_what_they_are_told(
    chromium: Browser,
    scenario_server: str,
    smtp_server: Received,
    deliver: Callable[[], Awaitable[int]],
    pool: asyncpg.Pool,
    world: Scenario,
    tmp_path: Path,
) -> None:
    base = scenario_server
    journey = Journey(base, pool, smtp_server, deliver, tmp_path, world)
    # What the scenario told people when it was built goes out first (the server would send
    # it on its own two minutes later, in the middle of the journey).
    await journey.emails({})
    # The proposer; the facilitator; an administrator; the objector; and a newcomer who
    # has not signed the charter yet. Each signs in (the only address anyone types).
    member, facilitator, admin, target, newcomer = await asyncio.gather(
        *(
            journey.sign_in(chromium, r)
            for r in ("member", "facilitator", "admin", "target", "unsigned")
        )
    )
    others = (facilitator, admin, target, newcomer)

    # The fifth person has not signed the charter: her dashboard says so.
    page = await journey.from_dashboard(newcomer, "Alpha", SIGN)
    await expect(page).to_have_url(f"{base}/s/alpha/charter#sign")
    await page.get_by_label("Fait à (lieu)").fill("Vénissieux")
    await page.get_by_role("button", name="J'ai lu la charte et je la signe").click()
    await assert_accessible(page)
    await journey.not_waiting(newcomer, "Alpha", SIGN)

    # The proposer writes and submits, from the space reached by links.
    page = member.page
    await journey.dashboard(member)
    await page.get_by_role("link", name="Alpha", exact=True).click()
    await assert_accessible(page)
    await (
        page.get_by_role("navigation", name="Navigation de l'espace")
        .get_by_role("link", name="Propositions")
        .click()
    )
    await assert_accessible(page)
    await page.get_by_role("link", name="Rédiger une proposition").click()
    await assert_accessible(page)
    await page.get_by_label("Titre").fill(TITLE_1)
    await page.get_by_label("Raison d'être : pourquoi faut-il décider ?").fill(
        "Personne ne sait quand trouver quelqu'un au local."
    )
    await page.get_by_label("La proposition").fill(
        "Une **permanence** chaque lundi, de 18 h à 20 h, tenue à tour de rôle."
    )
    await page.get_by_role("button", name="Enregistrer comme brouillon").click()
    await expect(page.get_by_role("heading", level=2, name=TITLE_1)).to_be_visible()
    await assert_accessible(page)
    proposal = re.sub(r"^.*(/s/alpha/proposals/\d+).*$", r"\1", page.url)
    assert re.fullmatch(r"/s/alpha/proposals/\d+", proposal), page.url
    await page.get_by_role("button", name=re.compile("^Soumettre au groupe")).click()
    await expect(page.locator("#done")).to_contain_text("Votre proposition est soumise")
    await assert_accessible(page)
    await journey.shoot(page, "01-submitted")

    # Hand-over: everyone else may ask questions.
    submitted = said(Kind.PROPOSAL_SUBMITTED, TITLE_1)
    links = await journey.emails({p.role: [(submitted, f"{proposal}#now")] for p in others})
    await journey.all_waiting(others, TITLE_1, ASK)
    await journey.shoot(target.page, "02-dashboard-ask")

    # The next day, the future objector asks a question from the email's link.
    page = await journey.follow(target, links[submitted])
    await (
        page.locator("#now")
        .get_by_label("Votre question de clarification")
        .fill("Qui tient la permanence pendant les vacances ?")
    )
    await page.locator("#now").get_by_role("button", name="Poser la question").click()
    await expect(page.locator("#done")).to_have_text(
        "Votre question est posée ; Member y répondra."
    )
    await assert_accessible(page)
    await journey.not_waiting(target, TITLE_1, ASK)

    # Hand-over: the proposer has a question to answer.
    asked = said(Kind.QUESTION_ASKED, TITLE_1, actor="Target")
    await journey.emails({"member": [(asked, f"{proposal}#questions")]})
    page = await journey.from_dashboard(member, TITLE_1, QUESTIONS)
    await (
        page.locator("#questions")
        .get_by_label("Votre réponse")
        .fill("Personne : la permanence s'arrête pendant les vacances.")
    )
    await page.locator("#questions").get_by_role("button", name="Répondre").click()
    await expect(page.locator("#questions")).to_contain_text("s'arrête pendant les vacances")
    await assert_accessible(page)
    await journey.shoot(page, "03-answered")
    await journey.not_waiting(member, TITLE_1, QUESTIONS)

    # The facilitator, led by the dashboard, closes the questions.
    page = await journey.from_dashboard(facilitator, TITLE_1, ASK)
    await page.get_by_role("button", name="Clore ce tour et passer à l'étape suivante").click()
    await expect(page.locator("[aria-current=step]")).to_have_text("Réactions")
    await assert_accessible(page)

    # Hand-over: a round of reactions, for everyone but the proposer. The answer to her
    # question comes to the objector with it (news wait for the morning's summary).
    opened = said(Kind.ROUND_OPENED, TITLE_1)
    answered = said(Kind.QUESTION_ANSWERED, TITLE_1)
    expected = {p.role: [(opened, f"{proposal}#now")] for p in others[1:]}
    expected["target"].append((answered, f"{proposal}#questions"))
    links = await journey.emails(expected)
    await journey.all_waiting(others, TITLE_1, REACT)
    page = await journey.from_dashboard(facilitator, TITLE_1, REACT)
    await react(page, "Le lundi, le local est déjà pris par la chorale.")
    await react(await journey.follow(admin, links[opened]), "Pourquoi pas.")
    await react(await journey.from_notifications(target, opened), "Le lundi ne me va pas.")
    await journey.shoot(target.page, "04-reacted")
    await react(await journey.follow(newcomer, links[opened]), "Très bien.")

    # Hand-over: everyone has reacted, the round can be closed.
    ready = said(Kind.ROUND_READY, TITLE_1)
    links = await journey.emails(
        {"facilitator": [(ready, f"{proposal}#now")], "admin": [(ready, f"{proposal}#now")]}
    )
    await journey.expect_waiting(facilitator, TITLE_1, CLOSE)
    page = await journey.from_notifications(facilitator, ready)
    await page.get_by_role("button", name="Clore ce tour et passer à l'étape suivante").click()
    await expect(page.locator("[aria-current=step]")).to_have_text("Objections")
    await assert_accessible(page)

    # Hand-over: the objection round.
    links = await journey.emails({p.role: [(opened, f"{proposal}#now")] for p in others[1:]})
    await journey.all_waiting(others, TITLE_1, POSITION)
    page = await journey.follow(target, links[opened])
    await position(
        page, "Objection", "Je travaille le lundi soir : je ne pourrai jamais en tenir une."
    )

    # Hand-over: the proposer hears of it, the facilitators must judge it.
    raised = said(Kind.OBJECTION_RAISED, TITLE_1, actor="Target")
    to_judge = said(Kind.OBJECTION_TO_JUDGE, TITLE_1)
    await journey.emails({
        "member": [(raised, f"{proposal}#objections")],
        "facilitator": [(to_judge, f"{proposal}#now")],
        "admin": [(to_judge, f"{proposal}#now")],
    })  # fmt: skip
    await journey.expect_waiting(facilitator, TITLE_1, JUDGE)
    page = await journey.from_notifications(facilitator, to_judge, shot="05-notifications")
    await (
        page.locator("#now")
        .get_by_role("link", name=re.compile("Des objections attendent"))
        .click()
    )
    judge = page.locator("#objections form[action$='/judge']")
    await judge.get_by_label("Valable", exact=True).check()
    await judge.get_by_label("Pourquoi").fill("Elle exclut une personne des permanences.")
    await journey.shoot(page, "06-judging")
    await judge.get_by_role("button", name="Enregistrer le jugement").click()
    await expect(page.locator("#done")).to_have_text("Votre jugement est enregistré.")
    await assert_accessible(page)
    await position(page, "Préoccupation")
    await journey.not_waiting(facilitator, TITLE_1, JUDGE)
    await position(await journey.from_dashboard(admin, TITLE_1, POSITION), "Consentement")
    await position(await journey.from_notifications(newcomer, opened), "Consentement")

    # Hand-over: the objector hears the verdict; the facilitator may close the round.
    judged = said(Kind.OBJECTION_JUDGED, TITLE_1, status="valid")
    links = await journey.emails({
        "target": [(judged, f"{proposal}#objections")],
        "facilitator": [(ready, f"{proposal}#now")],
        "admin": [(ready, f"{proposal}#now")],
    })  # fmt: skip
    await journey.expect_waiting(facilitator, TITLE_1, CLOSE)
    page = await journey.follow(facilitator, links[ready])
    await page.get_by_role("button", name="Clore le tour d'objections").click()
    await expect(page.locator("[aria-current=step]")).to_have_text("Intégration")
    await assert_accessible(page)
    # The facilitator reads that the process now waits for the proposer's new version.
    await expect(page.locator("#now .waiting").first).to_contain_text("En attente de : Member.")
    await journey.shoot(page, "07-integrate-facilitator")

    # Hand-over: the proposer writes version 2, with a new title.
    needed = said(Kind.VERSION_NEEDED, TITLE_1)
    await journey.emails({"member": [(needed, f"{proposal}#now")]})
    await journey.expect_waiting(member, TITLE_1, PUBLISH)
    page = await journey.from_notifications(member, needed)
    await page.locator("#now").get_by_text("Publier une nouvelle version").click()
    publish = page.locator("form[action$='/publish']")
    await expect(publish.get_by_role("checkbox")).to_be_checked()
    await expect(publish.get_by_label("Titre")).to_have_value(TITLE_1)
    await publish.get_by_label("Titre").fill(TITLE_2)
    await publish.get_by_label("La proposition").fill(
        "Une **permanence** chaque mardi, de 18 h à 20 h, tenue à tour de rôle."
    )
    await publish.get_by_label("Ce qui a changé, et pourquoi").fill(
        "Le mardi : le lundi excluait une personne et le local est pris."
    )
    await journey.shoot(page, "08-publishing")
    await publish.get_by_role("button", name="Publier la version 2").click()
    await expect(page.get_by_role("heading", level=2, name=TITLE_2)).to_be_visible()
    await expect(page.locator("#done")).to_have_text("La version 2 est publiée.")
    await assert_accessible(page)
    await journey.not_waiting(member, TITLE_2, PUBLISH)

    # Hand-over: the objector is asked whether version 2 lifts her objection; the
    # facilitators are told the objection round can open again.
    answers = said(Kind.VERSION_ANSWERS, TITLE_2)
    due = said(Kind.OBJECT_ROUND_DUE, TITLE_2)
    links = await journey.emails({
        "target": [(answers, f"{proposal}#now")],
        "facilitator": [(due, f"{proposal}#now")],
        "admin": [(due, f"{proposal}#now")],
    })  # fmt: skip
    await journey.expect_waiting(target, TITLE_2, CONFIRM)
    page = await journey.follow(target, links[answers])
    now = page.locator("#now")
    await expect(now.locator(".next-step")).to_be_visible()
    await now.get_by_role("button", name="La version 2 lève mon objection").click()
    await expect(page.locator("#done")).to_contain_text("Votre confirmation est enregistrée")
    await expect(page.locator("#objections")).to_contain_text("intégrée")
    await assert_accessible(page)
    await journey.shoot(page, "09-confirmed")
    await journey.not_waiting(target, TITLE_2, CONFIRM)

    await journey.expect_waiting(facilitator, TITLE_2, OPEN)
    page = await journey.from_notifications(facilitator, due)
    await page.get_by_role("button", name="Ouvrir un tour d'objections sur la version 2").click()
    await expect(page.locator("#done")).to_contain_text("Le tour d'objections est ouvert")
    await assert_accessible(page)
    await position(page, "Consentement")

    # Hand-over: the objection round on version 2.
    opened_2 = said(Kind.ROUND_OPENED, TITLE_2)
    links = await journey.emails({p.role: [(opened_2, f"{proposal}#now")] for p in others[1:]})
    await journey.all_waiting(others[1:], TITLE_2, POSITION)
    await position(await journey.follow(admin, links[opened_2]), "Consentement")
    await position(await journey.from_notifications(target, opened_2), "Consentement")
    await position(await journey.from_dashboard(newcomer, TITLE_2, POSITION), "Consentement")

    # Hand-over: everyone consents; the facilitator closes: adoption.
    ready_2 = said(Kind.ROUND_READY, TITLE_2)
    await journey.emails(
        {"facilitator": [(ready_2, f"{proposal}#now")], "admin": [(ready_2, f"{proposal}#now")]}
    )
    page = await journey.from_dashboard(facilitator, TITLE_2, CLOSE)
    await page.get_by_role("button", name="Clore le tour d'objections").click()
    success = page.locator("#done")
    await expect(success.get_by_role("heading")).to_have_text(
        re.compile(r"^Décision AL-\d{4}-\d{3} adoptée$")
    )
    await assert_accessible(page)
    await journey.shoot(page, "10-adopted")
    number = re.sub(
        r"^Décision (\S+) adoptée$", r"\1", await success.get_by_role("heading").inner_text()
    )
    # Nothing waits for anyone on this proposal any more.
    await asyncio.gather(*(journey.not_waiting(p, TITLE_2) for p in (member, *others)))

    # Everyone else hears of the decision in the morning's summary.
    adopted = said(Kind.ADOPTED, TITLE_2, number=number)
    links = await journey.emails(
        {p.role: [(adopted, f"/s/alpha/decisions/{number}")] for p in (member, *others[1:])}
    )

    # The register tells the truth: version 2's title everywhere.
    page = await journey.follow(newcomer, links[adopted])
    await expect(page.locator("main")).to_contain_text(TITLE_2)
    await expect(page.locator("main")).to_contain_text("chaque mardi")
    await expect(page.locator("main")).not_to_contain_text(TITLE_1)
    await (
        page.get_by_role("navigation", name="Navigation de l'espace")
        .get_by_role("link", name="Décisions")
        .click()
    )
    await assert_accessible(page)
    register = page.locator("#decision-results")
    row = register.get_by_role("row").filter(has_text=number)
    await expect(row).to_contain_text(TITLE_2)
    await expect(register).not_to_contain_text(TITLE_1)
    await journey.shoot(page, "11-register")

    await page.get_by_role("searchbox", name="Rechercher").fill("mardi")
    await page.locator("#decision-filters").get_by_role("button", name="Rechercher").click()
    await expect(page).to_have_url(re.compile(r"q=mardi"))
    await expect(register.get_by_role("row").filter(has_text=number)).to_contain_text(TITLE_2)
    await assert_accessible(page)
    await journey.shoot(page, "12-search")

    async with page.expect_download() as csv_download:
        await register.get_by_role("link", name="CSV (tableur)").click()
    table = (await (await csv_download.value).path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(table), delimiter=";"))
    mine = [r for r in rows if number in r]
    assert len(mine) == 1 and mine[0][1] == TITLE_2, table
    assert TITLE_1 not in table
    async with page.expect_download() as json_download:
        await register.get_by_role("link", name="JSON").click()
    exported = json.loads((await (await json_download.value).path()).read_text())
    assert {r["number"]: r["title"] for r in exported}[number] == TITLE_2, exported
