"""An election without candidates over several days, in Chromium, with five people who act
from their dashboard and the links in their email: a role the group created by consent; the
facilitator describes the election from the role page; everyone nominates, sealed (nobody
sees another's nomination before the reveal); the reveal, the change round, the proposal;
the consent round with the person proposed answering last. The mandate then shows on the
holder's "Mes mandats", in the space's mandate register and its CSV export; a second
election on the same seat and dates is refused in words; the holder resigns and the seat is
free from the next day. axe-core checks every page; each stage is photographed at 1280 and
390 px."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.store import Content
from consentir.mandates.store import RoleText
from consentir.notifications.kinds import Kind
from consentir.spaces.store import Space
from tests.browser.accessibility import assert_accessible
from tests.browser.test_hand_overs import POSITION, SIGN, Journey, position, said
from tests.process import act, person, to_object_round
from tests.scenario import Scenario
from tests.smtp import Received

pytestmark = pytest.mark.browser

TITLE = "Élection : Secrétariat"
NOMINATE = "une élection : nommez quelqu'un, ou passez"
REVEAL = "tout le monde a nommé : révélez les nominations"
PROPOSE = "une élection : proposez une personne"
CLOSE = "tout le monde a répondu : clore le tour"
SECRETARY = RoleText(
    name="Secrétariat", purpose="Tenir la mémoire du groupe.", domain="Les procès-verbaux.",
    accountabilities=["Rédiger les procès-verbaux", "Convoquer les séances"], seats=1,
    term_months=12,
)  # fmt: skip


async def role_by_consent(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> int:
    """The group creates the role: a proposal of kind role, adopted."""
    text = Content(
        title="Créer le secrétariat",
        driver="Personne ne tient les comptes rendus.",
        body="Un rôle de **secrétariat**, un siège, un an.",
        role=SECRETARY,
    )
    pid = await to_object_round(pool, alpha, world, text)
    for role in ("facilitator", "admin", "target"):
        await act(
            pool,
            alpha,
            pid,
            person(world, role),
            rules.GivePosition(world.user_ids[role], rules.Stance.CONSENT, 1),
        )
    async with pool.acquire() as conn:
        seen = (await proposals.load(conn, alpha.id, pid)).state.revision
    await act(
        pool, alpha, pid, person(world, "facilitator"), rules.CloseRound(datetime.now(UTC), seen)
    )
    role_id: int = await pool.fetchval("SELECT role_id FROM proposals WHERE id = $1", pid)
    return role_id


async def nominate(page: Page, who: str, reason: str, button: str = "Nommer") -> None:
    now = page.locator("#now")
    await now.get_by_label("Je nomme").select_option(label=who)
    await now.get_by_label("Votre raison", exact=True).fill(reason)
    await now.get_by_role("button", name=button).click()
    await expect(page.locator("#done")).to_contain_text("Votre nomination est")
    await assert_accessible(page)


async def test_an_election_over_days_from_nominations_to_the_mandate(
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
    role_id = await role_by_consent(pool, alpha, world)
    await journey.emails({})  # what the setup told people goes out first
    member, facilitator, admin, target, newcomer = await asyncio.gather(
        *(journey.sign_in(chromium, r)
          for r in ("member", "facilitator", "admin", "target", "unsigned"))
    )  # fmt: skip
    voters = (member, facilitator, admin, target, newcomer)
    # The fifth person signs the charter first: then she takes part.
    page = await journey.from_dashboard(newcomer, "Alpha", SIGN)
    await page.get_by_label("Fait à (lieu)").fill("Vénissieux")
    await page.get_by_role("button", name="J'ai lu la charte et je la signe").click()
    await assert_accessible(page)

    # The facilitator describes the election from the role page, and opens the nominations.
    page = facilitator.page
    await page.goto(f"{base}/s/alpha/roles/{role_id}")
    await assert_accessible(page)
    await page.get_by_role("link", name="Élire une personne").click()
    await assert_accessible(page)
    await journey.shoot(page, "e01-describe")
    await page.get_by_role("button", name="Créer l'élection (brouillon)").click()
    await expect(page.get_by_role("heading", level=2, name=TITLE)).to_be_visible()
    election = re.sub(r"^.*(/s/alpha/proposals/\d+).*$", r"\1", page.url)
    await page.get_by_role("button", name="Ouvrir les nominations").click()
    await expect(page.locator("#election")).to_contain_text("scellées")
    await assert_accessible(page)

    # Day 1: each is told by email, and finds the step on their dashboard.
    opened = said(Kind.NOMINATIONS_OPEN, TITLE)
    links = await journey.emails({p.role: [(opened, f"{election}#now")]
                                  for p in voters if p is not facilitator})  # fmt: skip
    await journey.all_waiting((member, admin, target, newcomer), TITLE, NOMINATE)
    page = await journey.follow(member, links[opened])
    await nominate(page, "Target", "Elle prend des notes claires à chaque réunion.")
    await journey.shoot(page, "e02-nominated-sealed")
    # Sealed: the others do not see Member's nomination, only that she answered.
    page = await journey.from_dashboard(admin, TITLE, NOMINATE)
    await expect(page.locator("#election")).not_to_contain_text("notes claires")
    await nominate(page, "Target", "Elle est disponible le soir.")
    for who, name, reason in ((target, "Member", "Member connaît nos statuts."),
                              (newcomer, "Target", "Je l'ai vue animer une réunion."),
                              (facilitator, "Target", "Rigoureuse et patiente.")):  # fmt: skip
        page = who.page
        await page.goto(f"{base}{election}")
        await nominate(page, name, reason)

    # Day 2: everyone has nominated; the facilitator reveals, then opens the change round.
    page = await journey.from_dashboard(facilitator, TITLE, REVEAL)
    await page.locator("#now").get_by_role("button", name="Révéler les nominations").click()
    section = page.locator("#election")
    await expect(section).to_contain_text("notes claires")
    await expect(section).to_contain_text("Member connaît nos statuts.")
    await journey.shoot(page, "e03-revealed")
    await page.locator("#now").get_by_role("button", name="Ouvrir le tour de report").click()
    await expect(page.locator("#done")).to_contain_text("Le tour de report est ouvert")
    page = target.page
    await page.goto(f"{base}{election}")
    await nominate(
        page, "Target", "Après vos raisons, je me sens prête.", button="Changer ma nomination"
    )
    await expect(page.locator("#election")).to_contain_text("changée au tour de report")

    # Day 3: the facilitator proposes Target; the consent round opens.
    await journey.emails({})
    page = await journey.from_dashboard(facilitator, TITLE, PROPOSE)
    now = page.locator("#now")
    await now.get_by_label("Personne proposée").select_option(label="Target")
    await now.get_by_label("Vos raisons").fill("Nommée quatre fois, et elle se sent prête.")
    await now.get_by_role("button", name="Proposer et ouvrir le tour de consentement").click()
    await expect(page.locator("#done")).to_contain_text("Le tour de consentement est ouvert")
    await journey.shoot(page, "e04-proposed")
    # The person proposed answers last: nothing waits for her while others have not.
    await journey.not_waiting(target, TITLE, POSITION)
    for who in (member, admin, newcomer, facilitator):
        page = await journey.from_dashboard(who, TITLE, POSITION)
        await position(page, "Consentement")
    page = await journey.from_dashboard(target, TITLE, POSITION)
    await expect(page.locator("#election")).to_contain_text("Vous êtes proposé·e pour ce rôle")
    await position(page, "Consentement")
    page = await journey.from_dashboard(facilitator, TITLE, CLOSE)
    await page.locator("#now").get_by_role("button", name=re.compile("^Clore le tour")).click()
    await expect(page.locator("#done")).to_contain_text("adoptée")
    await journey.shoot(page, "e05-elected")
    # The decision's page tells the whole election: each round, the refusals if any.
    await page.locator("#done").get_by_role("link", name=re.compile("^Voir la décision")).click()
    await expect(page.locator("main")).to_contain_text("Tour des nominations")
    nominations = page.locator("[data-mark=nominations]")
    await expect(nominations).to_contain_text("a nommé Target — Elle est disponible le soir.")
    await expect(nominations).to_contain_text("Après vos raisons, je me sens prête.")
    await journey.shoot(page, "e05-decision")

    # The mandate: on the holder's "Mes mandats", in the register and in its export.
    page = target.page
    await page.get_by_role("link", name="Mes mandats").click()
    await expect(page.locator("main")).to_contain_text("Secrétariat")
    await assert_accessible(page)
    await page.goto(f"{base}/s/alpha/mandates")
    await expect(page.locator("main")).to_contain_text("Target")
    await journey.shoot(page, "e06-register")
    exported = await page.request.get(f"{base}/s/alpha/mandates.csv")
    csv_text = await exported.text()
    assert "Secrétariat" in csv_text and "Target" in csv_text

    # A second election on the same seat and dates: refused in words, next to the date.
    page = facilitator.page
    await page.goto(f"{base}/s/alpha/roles/{role_id}")
    await page.get_by_role("link", name=re.compile("^Renouveler")).click()
    mandate_first = await pool.fetchval(
        "SELECT lower(granted) FROM mandates WHERE role_id = $1", role_id
    )
    await page.get_by_label("Premier jour du mandat").fill(mandate_first.isoformat())
    await page.get_by_role("button", name="Créer l'élection (brouillon)").click()
    await expect(page.locator("#f-first-error")).to_contain_text("Ce siège est occupé jusqu'au")
    await journey.shoot(page, "e07-seat-taken")

    # The holder resigns: the seat is vacant again.
    page = target.page
    await page.goto(f"{base}/mandates")
    mandate = await pool.fetchval("SELECT id FROM mandates WHERE role_id = $1", role_id)
    card = page.locator(f"#mandate-{mandate}")
    await card.get_by_text("Démissionner", exact=True).click()
    await card.get_by_label("Dernier jour du mandat").fill(mandate_first.isoformat())
    await card.get_by_role("button", name="Démissionner de ce mandat").click()
    await expect(page.get_by_role("status")).to_contain_text("Votre démission est enregistrée")
    # Her term now ends today: an election for the seat can start tomorrow.
    page = facilitator.page
    await page.goto(f"{base}/s/alpha/roles/{role_id}")
    await page.get_by_role("link", name=re.compile("^Renouveler")).click()
    tomorrow = mandate_first + timedelta(days=1)
    await expect(page.get_by_label("Premier jour du mandat")).to_have_value(tomorrow.isoformat())
    await page.get_by_role("button", name="Créer l'élection (brouillon)").click()
    await expect(page.get_by_role("heading", level=2, name=TITLE)).to_be_visible()
