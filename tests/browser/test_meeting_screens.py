"""A meeting's screens made for their moment (issue 13 §2 and §3), in Chromium, on a meeting
in the thick of it: fourteen people present, a long agenda, the proposal at its objection
round with one position in, a speaking round under way with its timers running.

The participant's phone (390×844) opens on the live part: the item under way, who speaks
and who follows, and the person's own step (the position form, its button included) all in
the first screen, nothing scrolling sideways, every button a comfortable target. The
projector (1280×720 and 1920×1080) shows the item, the speaker with the timer and the
round's state without scrolling, in large type, with no control at all. axe-core checks
every screen; each is photographed into SHOTS_DIR (or the test's folder)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from consentir import db
from consentir.accounts import store as accounts
from consentir.consent import rules
from consentir.meetings import store as meetings
from consentir.meetings.rules import Move, Presence, State, Timer, move, start_circle
from consentir.spaces import store as spaces
from consentir.spaces.store import Signature, Space
from tests.browser.accessibility import assert_accessible
from tests.browser.test_joining import signed_in
from tests.process import act, person
from tests.scenario import PASSWORD_HASH, Scenario

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PROJECTORS = ({"width": 1280, "height": 720}, {"width": 1920, "height": 1080})
# Ten more members, with names as long as real ones: the lists on the screens grow with them.
NAMES = (
    "Aïcha Diallo", "Bertrand Martin-Lefèvre", "Chloé Nguyen", "Dominique Rousseau-Petit",
    "Émile Fontaine", "Fatou Sow", "Gaëlle Le Guennec", "Hugo Barbier", "Inès Benali",
    "Jean-Baptiste Delacroix-Moreau",
)  # fmt: skip
AGENDA = [f"Point d'information n° {n} : nouvelles des groupes de quartier" for n in range(2, 13)]


async def meeting_in_full_swing(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> int:
    """The scenario's proposal, under way in a meeting with fourteen present and twelve
    items: its objection round open (Admin consented), Target passed her turn, Facilitator
    speaking, both timers running. The meeting's id."""
    now = datetime.now(UTC)
    async with db.transaction(pool) as conn:
        charter_id = await spaces.current_charter_id(conn, alpha.id)
        assert charter_id is not None
        for number, name in enumerate(NAMES):
            user = await accounts.create_user(
                conn, email=f"present-{number}@example.org", name=name,
                password_hash=PASSWORD_HASH, instance_admin=False, confirmed=True,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, 'member')",
                alpha.id, user.id,
            )  # fmt: skip
            await spaces.sign_charter(
                conn, alpha.id, charter_id, user.id, Signature(name, "Lyon", date(2026, 11, 2))
            )
        facilitator = world.user_ids["facilitator"]
        items = [meetings.NewItem("proposal", "Jardin partagé", world.proposal_id)]
        items += [meetings.NewItem("information", title) for title in AGENDA]
        plan = meetings.Plan("Assemblée générale de printemps", now, 120, "Salle des fêtes",
                             "", facilitator, None, items)  # fmt: skip
        meeting_id = await meetings.create(conn, alpha.id, facilitator, plan)
        meeting = await meetings.load(conn, alpha.id, meeting_id)
        present = [a.user_id for a in meeting.attendance if a.user_id != world.user_ids["unsigned"]]
        for user_id in present:
            await meetings.set_presence(conn, meeting, user_id, Presence.PRESENT)
        await meetings.set_state(conn, meeting, State.OPEN, now)
    # The questions and reactions are over: the objection round opens on those present.
    for _ in range(2):
        await act(pool, alpha, world.proposal_id, person(world, "facilitator"),
                  rules.Advance(frozenset()))  # fmt: skip
    await position(pool, alpha, world, "admin", rules.Stance.CONSENT)
    async with db.transaction(pool) as conn:
        meeting = await meetings.load(conn, alpha.id, meeting_id)
        circle = move(start_circle(present, world.user_ids["target"]), Move.PASS)
        await meetings.set_circle(conn, meeting, circle, now)
        meeting = await meetings.load(conn, alpha.id, meeting_id)
        await meetings.set_timers(conn, meeting, Timer(180, now), Timer(1800, now))
    return meeting_id


async def position(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, role: str, stance: rules.Stance,
    reason: str = "",
) -> None:  # fmt: skip
    """`role` gives a position on the scenario's proposal (version 1), on their own device."""
    given = rules.GivePosition(world.user_ids[role], stance, 1, reason)
    await act(pool, alpha, world.proposal_id, person(world, role), given)


def shots_dir(tmp_path: Path) -> Path:
    shots = Path(os.environ["SHOTS_DIR"]) if os.environ.get("SHOTS_DIR") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    return shots


async def box(locator: Locator) -> dict[str, float]:
    await expect(locator).to_be_visible()
    found = await locator.bounding_box()
    assert found is not None
    return found


async def within_first_screen(page: Page, locator: Locator, name: str) -> None:
    """The element is shown whole in the viewport, the page not scrolled."""
    size = page.viewport_size
    assert size is not None
    where = await box(locator)
    assert where["y"] >= 0 and where["y"] + where["height"] <= size["height"], (name, where)
    assert where["x"] >= 0 and where["x"] + where["width"] <= size["width"], (name, where)


async def scrolls_sideways(page: Page) -> Any:
    return await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


async def small_buttons(page: Page) -> Any:
    """The visible buttons and tappable summaries less than 44 px high (their text and height)."""
    return await page.evaluate(
        """() => [...document.querySelectorAll('button, summary, .button')]
            .filter(b => b.offsetParent !== null)
            .map(b => [b.textContent.trim(), b.getBoundingClientRect().height])
            .filter(([, height]) => height < 44)"""
    )


async def test_a_participant_phone_opens_on_the_live_part_and_their_step(
    chromium: Browser, scenario_server: str, pool: asyncpg.Pool, alpha: Space, world: Scenario,
    tmp_path: Path,
) -> None:  # fmt: skip
    shots = shots_dir(tmp_path)
    meeting_id = await meeting_in_full_swing(pool, alpha, world)
    phone = await signed_in(chromium, scenario_server, "target@example.org")
    await phone.set_viewport_size(PHONE)
    await phone.goto(f"{scenario_server}/s/alpha/meetings/{meeting_id}")
    await phone.screenshot(path=str(shots / "meeting-participant-390x844.png"))
    await phone.screenshot(path=str(shots / "meeting-participant-390-whole.png"), full_page=True)
    await assert_accessible(phone)

    # The first screen: the item, who speaks and who follows, and Target's own step.
    assert await phone.evaluate("window.scrollY") == 0
    await within_first_screen(phone, phone.locator("#current-item"), "item")
    await expect(phone.locator("#current-item")).to_contain_text("Jardin partagé")
    await within_first_screen(phone, phone.locator("#speaker"), "speaker")
    await expect(phone.locator(".speaking--now")).to_contain_text("ensuite : Admin")
    await within_first_screen(phone, phone.locator(".timer[data-timer='speaker']"), "timer")
    form = phone.locator("#now form[action$='/position']")
    await within_first_screen(phone, form.get_by_label("Objection", exact=True), "objection")
    mine = form.get_by_role("button", name="Donner ma position")
    await within_first_screen(phone, mine, "my step")
    # The site's header and the space's tabs are folded into the menu, the details below.
    await expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Assemblée générale de printemps"
    )
    await expect(phone.get_by_role("navigation", name="Navigation de l'espace")).to_be_hidden()
    about = phone.locator(".meeting-about")
    assert (await box(about.locator("summary")))["y"] > (await box(mine))["y"]
    assert not await scrolls_sideways(phone)
    assert not await small_buttons(phone)

    # The speaking order, one line per person: the speaker marked in words, not by colour
    # alone; Target, who passed, said so.
    order = phone.locator(".speaking-order .circle > li")
    await expect(order).to_have_count(14)
    for row in await order.all():
        assert (await box(row))["height"] < 44, await row.inner_text()
    await expect(phone.locator(".speaking-order li[aria-current='true']")).to_have_text(
        "▶ Émile Fontaine (a la parole)"
    )
    await expect(order.first).to_have_text("Target (passe son tour)")

    # The menu opens on the space's tabs and the account's links; a stance's explanation
    # shows once chosen.
    await phone.locator(".meeting-menu > summary").click()
    await expect(phone.get_by_role("navigation", name="Navigation de l'espace")).to_be_visible()
    await expect(phone.get_by_role("button", name="Se déconnecter")).to_be_visible()
    await assert_accessible(phone)
    assert not await small_buttons(phone)
    await phone.screenshot(path=str(shots / "meeting-participant-390-menu.png"))
    await phone.locator(".meeting-menu > summary").click()
    hint = phone.locator("#stance-objection-hint")
    await expect(hint).to_be_hidden()
    await form.get_by_label("Objection", exact=True).check()
    await expect(hint).to_be_visible()
    await about.locator("summary").click()
    await expect(about.get_by_role("link", name="Vue projecteur")).to_be_visible()
    await assert_accessible(phone)
    assert not await small_buttons(phone)

    # Live still: a position given elsewhere shows in the round's count, without a reload.
    await position(pool, alpha, world, "facilitator", rules.Stance.CONSENT)
    await expect(phone.locator("#round")).to_contain_text("2 sur 13 ont répondu")

    # Target's position, on her phone: her screen says so, still opening on the live part.
    await form.get_by_label("Consentement", exact=True).check()
    await form.get_by_role("button", name="Donner ma position").click()
    await expect(phone.locator("#round")).to_contain_text("3 sur 13 ont répondu")
    await expect(phone.locator("#now")).to_contain_text("Vous avez répondu : consentement")
    await within_first_screen(phone, phone.locator("#speaker"), "speaker, after")
    await assert_accessible(phone)
    assert not await scrolls_sideways(phone)
    await phone.screenshot(path=str(shots / "meeting-participant-390x844-answered.png"))


async def test_the_projector_reads_from_the_back_of_the_room(
    chromium: Browser, scenario_server: str, pool: asyncpg.Pool, alpha: Space, world: Scenario,
    tmp_path: Path,
) -> None:  # fmt: skip
    shots = shots_dir(tmp_path)
    meeting_id = await meeting_in_full_swing(pool, alpha, world)
    projector = await signed_in(chromium, scenario_server, "facilitator@example.org")
    await projector.goto(f"{scenario_server}/s/alpha/meetings/{meeting_id}/screen")
    # Nothing to click: no control at all (a link in a corner does not count as one).
    for control in ("button", "select", "input", "textarea", "form"):
        await expect(projector.locator(control)).to_have_count(0)
    await expect(projector.locator("link[rel='icon']")).to_have_count(1)
    essentials = {
        "item": projector.locator("#current-item"),
        "stage": projector.locator("#stage-now"),
        "speaker": projector.locator("#speaker"),
        "speaker's timer": projector.locator(".timer[data-timer='speaker'] time"),
        "round's timer": projector.locator(".timer[data-timer='round'] time"),
        "round": projector.locator("#round-tally"),
        "waiting": projector.locator("#round .waiting-for"),
    }
    await expect(essentials["round"]).to_have_text("1 sur 13 a répondu.")
    await expect(projector.locator("#round .more")).to_have_text("… et 6 de plus")
    for size in PROJECTORS:
        await projector.set_viewport_size(size)
        name = f"meeting-projector-{size['width']}x{size['height']}.png"
        await projector.screenshot(path=str(shots / name))
        await assert_accessible(projector)
        scrolls = await projector.evaluate(
            "[document.documentElement.scrollHeight > window.innerHeight,"
            " document.documentElement.scrollWidth > window.innerWidth]"
        )
        assert scrolls == [False, False], size
        for what, locator in essentials.items():
            await within_first_screen(projector, locator, f"{what} at {size['width']}")
        # The item and speaker sit side by side with the round: a grid, not a long page.
        speaker, tally = await box(essentials["speaker"]), await box(essentials["round"])
        assert tally["x"] > speaker["x"] + speaker["width"] / 2
        # Large type: read from the back of the room.
        sizes = {what: await font_size(locator) for what, locator in essentials.items()}
        assert sizes["item"] >= 0.035 * size["width"], sizes
        assert sizes["speaker"] >= 0.03 * size["width"] and sizes["round"] >= 0.03 * size["width"]
        assert min(sizes.values()) >= 0.018 * size["width"], sizes
    assert await font_size(essentials["item"]) >= 32

    # The round moves on: the projector follows, and still fits.
    for role in ("facilitator", "target"):
        await position(pool, alpha, world, role, rules.Stance.CONSENT)
    await expect(essentials["round"]).to_have_text("3 sur 13 ont répondu.")
    await within_first_screen(projector, essentials["round"], "round, after")

    # A space that shows positions as they come: the mood of the room and the positions,
    # a long objection's reason cut short, the essentials still in view.
    await pool.execute("UPDATE spaces SET hide_positions = false WHERE id = $1", alpha.id)
    reason = "Le jardin prendrait la place du parking à vélos, sans solution pour eux. " * 5
    await position(pool, alpha, world, "admin", rules.Stance.OBJECTION, reason)
    await projector.reload()
    mood = projector.locator("#mood")
    await expect(mood).to_contain_text("objection 1")
    await expect(projector.locator("#round .positions > li")).to_have_count(1)  # with a reason
    for size in PROJECTORS:
        await projector.set_viewport_size(size)
        await assert_accessible(projector)
        await projector.screenshot(
            path=str(shots / f"meeting-projector-{size['width']}x{size['height']}-positions.png")
        )
        for what, locator in {**essentials, "mood": mood}.items():
            await within_first_screen(projector, locator, f"{what} at {size['width']}, shown")


async def font_size(locator: Locator) -> float:
    return float(await locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
