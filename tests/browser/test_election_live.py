"""An election without candidates run live in a meeting, in Chromium, on three screens side by
side: the facilitator's console, one participant's phone (390 px; Target, who is elected) and
the projector (1280×720). The console opens the nominations, reveals them, opens the change
round, proposes a holder and closes the consent round; each stage shows on the two other
screens through the space's event stream, without a reload. The projector shows how many
have answered while the nominations are sealed, and never a name nor a reason before the
reveal. axe-core checks every screen at every stage; with SHOTS_DIR set, each is photographed."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from consentir import db
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.store import Content
from consentir.elections.store import Described
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.meetings import store as meetings
from consentir.meetings.rules import Presence
from consentir.spaces.store import Space
from tests.browser.accessibility import assert_accessible
from tests.browser.test_joining import signed_in
from tests.process import act, person
from tests.scenario import Scenario

pytestmark = pytest.mark.browser

PHONE, PROJECTOR = {"width": 390, "height": 844}, {"width": 1280, "height": 720}
SECRETARY = mandates.RoleText(
    name="Secrétariat", purpose="Tenir la mémoire du groupe.", domain="Les procès-verbaux.",
    accountabilities=["Rédiger les procès-verbaux"], seats=1, term_months=12,
)  # fmt: skip
# The reasons each person gives: none of them may show on the projector before the reveal.
REASONS = {
    "target": "Member connaît nos statuts par cœur.",
    "facilitator": "Target prend des notes limpides.",
    "member": "Target est disponible le jeudi soir.",
    "admin": "Target a déjà tenu ce rôle ailleurs.",
}


async def election_on_the_agenda(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> tuple[int, int]:
    """A draft election for the secretary's seat, the only item of a meeting the facilitator
    runs, with the four who may act recorded present (they make the list): the meeting's id
    and the election's."""
    facilitator = world.user_ids["facilitator"]
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, SECRETARY, actor_id=world.user_ids["admin"]
        )
        text = Content(title="Élection : Secrétariat", driver="Élire le secrétariat.",
                       body="Le secrétariat, pour un an.")  # fmt: skip
        election = await proposals.create(
            conn, alpha, person(world, "facilitator"), text,
            election=Described(role_id, 1, Term(date(2027, 3, 1), date(2028, 3, 1))),
        )  # fmt: skip
        item = meetings.NewItem("proposal", "Élection : Secrétariat", election)
        plan = meetings.Plan("Assemblée de mars", datetime.now(UTC), 90, "Salle des fêtes", "",
                             facilitator, None, [item])  # fmt: skip
        meeting_id = await meetings.create(conn, alpha.id, facilitator, plan)
        meeting = await meetings.load(conn, alpha.id, meeting_id)
        for role in ("member", "facilitator", "admin", "target"):
            await meetings.set_presence(conn, meeting, world.user_ids[role], Presence.PRESENT)
    return meeting_id, election


async def nominate(page: Page, who: str, reason: str, button: str = "Nommer") -> None:
    now = page.locator("#now")
    await now.get_by_label("Je nomme").select_option(label=who)
    await now.get_by_label("Votre raison", exact=True).fill(reason)
    await now.get_by_role("button", name=button).click()
    await expect(page.locator("#election")).to_contain_text(reason)


async def consent(page: Page) -> None:
    form = page.locator("form[action$='/position']").first
    await form.get_by_label("Consentement", exact=True).check()
    await form.get_by_role("button", name="Donner ma position").click()
    await expect(page.locator("#meeting-live")).to_be_visible()


async def test_an_election_runs_live_on_the_console_a_phone_and_the_projector(
    chromium: Browser, scenario_server: str, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    base = scenario_server
    shots = Path(os.environ["SHOTS_DIR"]) if os.environ.get("SHOTS_DIR") else None
    meeting_id, election = await election_on_the_agenda(pool, alpha, world)
    meeting = f"{base}/s/alpha/meetings/{meeting_id}"
    console = await signed_in(chromium, base, "facilitator@example.org")
    phone = await signed_in(chromium, base, "target@example.org")
    await phone.set_viewport_size(PHONE)
    projector = await console.context.new_page()  # the facilitator's tab, on the wall
    await projector.set_viewport_size(PROJECTOR)
    screens = {"console": console, "phone": phone, "projector": projector}
    await console.goto(f"{meeting}/console")
    await phone.goto(meeting)
    await projector.goto(f"{meeting}/screen")

    async def stage(name: str) -> None:
        """Every screen passes axe-core as it is now; photographed if asked."""
        for screen, page in screens.items():
            await assert_accessible(page)
            if shots is not None:
                await page.screenshot(path=str(shots / f"election-live-{name}-{screen}.png"),
                                      full_page=True)  # fmt: skip

    async def others(role: str, action: rules.Action) -> None:
        """Someone in the room acts on their own device."""
        await act(pool, alpha, election, person(world, role), action)

    # The meeting opens on the election's draft: the phone says the item is being prepared.
    await console.get_by_role("button", name="Ouvrir la séance", exact=True).click()
    await expect(phone.locator("#item-pending")).to_contain_text("Ce point est en préparation")
    await expect(projector.locator("#election")).to_contain_text("Les nominations s'ouvrent")
    await stage("1-draft")

    # The console opens the nominations: the list is those present; sealed.
    await console.locator("#now").get_by_role("button", name="Ouvrir les nominations").click()
    await expect(phone.locator("#now")).to_contain_text("Je nomme")
    await expect(phone.locator("#stage-now")).to_have_text("Nominations")
    await expect(projector.locator("#stage-now")).to_have_text("Nominations")
    await expect(projector.locator("#nominations-count")).to_contain_text("0 sur 4 a répondu")
    await nominate(phone, "Member", REASONS["target"])
    await expect(projector.locator("#nominations-count")).to_contain_text("1 sur 4 a répondu")
    await nominate(console, "Target", REASONS["facilitator"])
    await expect(projector.locator("#nominations-count")).to_contain_text("2 sur 4 ont répondu")
    await expect(phone.locator("#round")).to_contain_text("2 sur 4 ont répondu")
    # Sealed: the phone shows only its own nomination, the console only its own.
    await expect(phone.locator("#election")).not_to_contain_text(REASONS["facilitator"])
    await expect(console.locator("#election")).not_to_contain_text(REASONS["target"])
    for role in ("member", "admin"):
        await others(role, rules.Nominate(world.user_ids["target"], REASONS[role]))
    await expect(projector.locator("#nominations-count")).to_contain_text("4 sur 4 ont répondu")
    # The projector, once everyone has answered: no reason, and no name at all.
    shown = projector.locator("body")
    for said in REASONS.values():
        await expect(shown).not_to_contain_text(said)
    for name in ("Target", "Member", "Admin", "Facilitator"):
        await expect(shown).not_to_contain_text(name)
    await expect(projector.locator("#election")).to_contain_text("scellées")
    await stage("2-sealed")

    # The reveal: the projector shows the nominations grouped by person, with the reasons.
    await console.locator("#now").get_by_role("button", name="Révéler les nominations").click()
    for said in REASONS.values():
        await expect(projector.locator("#election")).to_contain_text(said)
        await expect(phone.locator("#election")).to_contain_text(said)
    group = projector.locator("ul.nominations > li", has_text=re.compile(r"^\s*Target"))
    await expect(group).to_contain_text(REASONS["member"])
    await expect(projector.locator("#stage-now")).to_have_text("Tour des raisons")
    await stage("3-revealed")

    # The change round: Target moves her nomination on her phone.
    await console.locator("#now").get_by_role("button", name="Ouvrir le tour de report").click()
    await expect(projector.locator("#stage-now")).to_have_text("Tour de report")
    await expect(phone.locator("#now")).to_contain_text("Changer ma nomination")
    moved = "Après vos raisons, je me sens prête."
    await nominate(phone, "Target", moved, button="Changer ma nomination")
    await expect(projector.locator("#election")).to_contain_text(moved)
    await expect(projector.locator("#election")).to_contain_text("changée au tour de report")
    await expect(console.locator("#election")).to_contain_text(moved)
    await stage("4-change")

    # The console proposes Target, with reasons and the term: the consent round opens.
    now = console.locator("#now")  # (the form is open: it is what the process waits for)
    await now.get_by_label("Personne proposée").select_option(label="Target")
    await now.get_by_label("Vos raisons").fill("Nommée quatre fois, et elle se sent prête.")
    await now.get_by_role("button", name="Proposer et ouvrir le tour de consentement").click()
    await expect(projector.locator("#nominee")).to_have_text("Target")
    await expect(projector.locator("#election")).to_contain_text("répond en dernier")
    await expect(projector.locator("#stage-now")).to_have_text("Objections")
    await expect(phone.locator("#election")).to_contain_text("Vous êtes proposé·e pour ce rôle")
    # The person proposed answers last: her phone has no position form yet.
    await expect(phone.locator("form[action$='/position']")).to_have_count(0)
    await stage("5-proposed")

    # The consent round: the others consent; then Target's phone offers her the position.
    await consent(console)
    for role in ("member", "admin"):
        version = await pool.fetchval("SELECT version FROM proposals WHERE id = $1", election)
        await others(role, rules.GivePosition(world.user_ids[role], rules.Stance.CONSENT, version))
    await expect(projector.locator("#round")).to_contain_text("3 sur 4 ont répondu")
    await expect(phone.locator("form[action$='/position']")).to_have_count(1)
    await stage("6-nominee-last")
    await consent(phone)
    await expect(projector.locator("#round")).to_contain_text("4 sur 4 ont répondu")
    await expect(console.locator("#round")).to_contain_text("4 sur 4 ont répondu")

    # The console closes the round: Target is elected, and every screen shows the decision.
    await console.get_by_role("button", name="Clore le tour de consentement").click()
    number = re.compile(r"Décision AL-\d{4}-\d{3} adoptée")
    for page in screens.values():
        await expect(page.locator("#done")).to_contain_text(number)
    await expect(projector.locator("#stage-now")).to_have_text("Adoptée")
    await expect(projector.locator("#election")).to_contain_text("Élu·e")
    await expect(projector.locator("#nominee")).to_have_text("Target")
    await stage("7-elected")
