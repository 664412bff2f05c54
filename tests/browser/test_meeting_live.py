"""A live meeting in Chromium with three screens: the facilitator's console and two
participants' screens (the proposer, member, and target). Everything the participants see
change arrives through the space's event stream, without a reload."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.test_joining import signed_in
from tests.scenario import Scenario

pytestmark = pytest.mark.browser

LIVE = 1000  # ms: a change must show on the other screens within a second
WIDE, NARROW = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


async def shoot(page: Page, path: Path) -> None:
    """The screen as it is now, at 1280 px and at 390 px (a phone), both checked by axe."""
    await page.set_viewport_size(WIDE)
    await assert_accessible(page)
    await page.screenshot(path=str(path.with_name(f"{path.name}-1280.png")), full_page=True)
    await page.set_viewport_size(NARROW)
    await assert_accessible(page)
    await page.screenshot(path=str(path.with_name(f"{path.name}-390.png")), full_page=True)
    await page.set_viewport_size(WIDE)


async def record_attendance(console: Page, presences: dict[str, str]) -> None:
    """The whole list in one step: a presence per person, one button."""
    attendance = console.locator("#console-attendance")
    for name, presence in presences.items():
        await attendance.get_by_label(name, exact=True).select_option(presence)
    await attendance.get_by_role("button", name="Enregistrer les présences").click()


# What a facilitator uses every minute: within the first 800 px of the console at 1280×800.
FREQUENT = ("#move-next", "#timer-speaker-toggle", "#timer-round-toggle", "#next-item")
# The proposal's next steps, when the process offers them.
STEPS = ", ".join(f"#now .facilitation form[action$='/{verb}'] button"
                  for verb in ("advance", "close-round", "open-object-round"))  # fmt: skip


async def assert_frequent_controls_visible(console: Page, *, steps: bool = False) -> None:
    await console.set_viewport_size(WIDE)
    await console.evaluate("window.scrollTo(0, 0)")  # as the page opens (a click scrolls it)
    for selector in (*FREQUENT, *((STEPS,) if steps else ())):
        found = console.locator(selector)
        assert await found.count(), selector
        for n in range(await found.count()):
            box = await found.nth(n).bounding_box()
            assert box, selector
            assert box["y"] >= 0 and box["y"] + box["height"] <= WIDE["height"], (selector, box)


def shots_dir(tmp_path: Path) -> Path:
    """Screenshots kept as test artifacts (SHOTS_DIR), or in the test's own folder."""
    folder = Path(os.environ.get("SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def console_button(console: Page, name: str) -> None:
    await console.get_by_role("button", name=name, exact=True).click()
    await expect(console.locator("#meeting-live")).to_be_visible()


async def test_a_meeting_runs_live_on_three_screens(
    chromium: Browser, scenario_server: str, world: Scenario, tmp_path: Path
) -> None:
    base = scenario_server
    meeting = f"{base}/s/alpha/meetings/{world.meeting_id}"
    console = await signed_in(chromium, base, "facilitator@example.org")
    proposer = await signed_in(chromium, base, "member@example.org")
    target = await signed_in(chromium, base, "target@example.org")

    await console.goto(f"{meeting}/console")
    await expect(console.locator("#meeting-live")).to_be_visible()
    await assert_accessible(console)
    # Attendance in one step: one list, one button; the page is not reloaded.
    await console.evaluate("window.sameConsole = true")
    await record_attendance(console, {"Facilitator": "present", "Member": "present",
                                      "Target": "present", "Admin": "excused"})  # fmt: skip
    await expect(console.locator("#console-attendance summary")).to_contain_text(
        re.compile(r"présent·es\s*: 3, à distance\s*: 0, excusé·es\s*: 1")
    )
    assert await console.evaluate("window.sameConsole === true")
    await expect(console.locator("#console-attendance")).to_have_attribute("open", "")
    await assert_accessible(console)
    # The projector: a third tab of the facilitator's, on the room's wall.
    projector = await console.context.new_page()
    for page, path in ((proposer, meeting), (target, meeting), (projector, f"{meeting}/screen")):
        await page.goto(path)
        await expect(page.locator("#meeting-live")).to_contain_text("pas encore commencé")
        await assert_accessible(page)

    # The facilitator opens the meeting: the participants' screens and the projector follow.
    await console_button(console, "Ouvrir la séance")
    await assert_accessible(console)
    for page in (proposer, target, projector):
        await expect(page.locator("#current-item")).to_contain_text("Jardin partagé", timeout=LIVE)
        await assert_accessible(page)

    # From clarifying questions to the objection round, run from the console.
    await console_button(console, "Clore ce tour et passer à l'étape suivante")
    await expect(target.locator("#stage-now")).to_have_text("Réactions", timeout=LIVE)
    await console_button(console, "Clore ce tour et passer à l'étape suivante")
    await expect(target.locator("#stage-now")).to_have_text("Objections", timeout=LIVE)
    # Those present, except the proposer, are on the round's list (admin is excused).
    await expect(console.locator("#round")).to_contain_text("0 sur 2 a répondu")

    # The speaking order goes round the circle, starting from target.
    await console.get_by_label("En commençant par").select_option(str(world.user_ids["target"]))
    await console_button(console, "Lancer un tour de parole")
    await expect(proposer.locator("#speaker")).to_have_text("Target", timeout=LIVE)
    await expect(console.locator("#speaker")).to_have_text("Target")
    # Every frequent control in the first screen at 1280×800, without scrolling.
    await assert_frequent_controls_visible(console)
    await console.screenshot(path=str(shots_dir(tmp_path) / "console-1280x800.png"))
    # Keyboard shortcuts: N moves to the next speaker, on every screen within a second; the
    # console is not reloaded (an htmx post swaps its live part), the focus stays put.
    await console.evaluate("window.sameConsole = true")
    await console.locator("#move-next").focus()
    await console.keyboard.press("n")
    await expect(console.locator("#speaker")).not_to_have_text("Target")
    speaker = await console.locator("#speaker").inner_text()
    await expect(proposer.locator("#speaker")).to_have_text(speaker, timeout=LIVE)
    await expect(target.locator("#speaker")).to_have_text(speaker, timeout=LIVE)
    await expect(projector.locator("#speaker")).to_have_text(speaker, timeout=LIVE)
    assert await console.evaluate("window.sameConsole === true")
    assert await console.evaluate("document.activeElement.id") == "move-next"
    # P pauses the speaker's time, and starts it again; not while typing in a field.
    speaker_time = projector.locator(".timer[data-timer='speaker']")
    await expect(console.locator("#timer-speaker-toggle")).to_have_text(re.compile("^Pause"))
    await console.keyboard.press("p")
    await expect(speaker_time).to_contain_text("en pause", timeout=LIVE)
    await expect(console.locator("#timer-speaker-toggle")).to_have_text(re.compile("^Démarrer"))
    # In a field, the key is typed, not acted on: no request leaves the console at all (the
    # click a shortcut makes sends one at once).
    posted: list[str] = []
    console.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    await console.get_by_label("En commençant par").focus()
    await console.keyboard.press("p")
    await console.wait_for_timeout(500)
    assert posted == []
    await expect(console.locator("#timer-speaker-toggle")).to_have_text(re.compile("^Démarrer"))
    await console.locator("#timer-speaker-toggle").focus()
    await console.keyboard.press("p")
    await expect(speaker_time).not_to_contain_text("en pause", timeout=LIVE)
    # A preset sets the round's time: five minutes.
    await console.get_by_role("button", name="5 min — Temps du tour").click()
    await expect(projector.locator(".timer[data-timer='round'] time")).to_have_text(
        "5:00", timeout=LIVE
    )
    # The three kinds of screen in the thick of it, wide and on a phone.
    await shoot(console, tmp_path / "console")
    await shoot(target, tmp_path / "participant")
    await shoot(projector, tmp_path / "projector")

    # Target gives a position on their phone: the two other screens show it has come (the
    # space hides positions themselves until the round closes, live screens too).
    form = target.locator("form[action$='/position']").first
    await form.get_by_label("Consentement", exact=True).check()
    await form.get_by_role("button", name="Donner ma position").click()
    await expect(proposer.locator("#round")).to_contain_text("1 sur 2 a répondu", timeout=LIVE)
    await expect(console.locator("#round")).to_contain_text("1 sur 2 a répondu", timeout=LIVE)
    await expect(console.locator("#mood")).to_have_count(0)
    await assert_accessible(target)

    form = console.locator("form[action$='/position']").first
    await form.get_by_label("Consentement", exact=True).check()
    await form.get_by_role("button", name="Donner ma position").click()
    await expect(proposer.locator("#round")).to_contain_text("2 sur 2 ont répondu", timeout=LIVE)
    await assert_frequent_controls_visible(console, steps=True)
    await console_button(console, "Clore le tour d'objections")
    await expect(proposer.locator("#stage-now")).to_have_text("Adoptée", timeout=LIVE)
    await expect(projector.locator("#stage-now")).to_have_text("Adoptée", timeout=LIVE)
    await assert_accessible(console)
    await assert_accessible(projector)

    # I goes to the next item, on every screen.
    await console.locator("body").click(position={"x": 5, "y": 5})
    await console.keyboard.press("i")
    for page in (proposer, target, projector):
        await expect(page.locator("#current-item")).to_contain_text(
            "Nouvelles du quartier", timeout=LIVE
        )
    await assert_accessible(console)

    # Closing the meeting, once confirmed (the first click only asks): the minutes show the
    # decision.
    await console_button(console, "Clore la séance")
    await expect(console.locator("#confirm")).to_contain_text("Êtes-vous sûr·e")
    await assert_accessible(console)
    await expect(target.locator("#meeting-live")).not_to_contain_text("La séance est close")
    await console_button(console, "Oui, clore la séance")
    await expect(target.locator("#meeting-live")).to_contain_text(
        "La séance est close", timeout=LIVE
    )
    await assert_accessible(target)
    await assert_accessible(console)
    await console.goto(f"{meeting}/minutes")
    decision = console.get_by_role("link", name=re.compile(r"AL-\d{4}-001"))
    await expect(decision).to_be_visible()
    await expect(console.locator("dt:text-is('Excusés') + dd")).to_have_text("Admin")
    await assert_accessible(console)


async def test_a_proposal_page_follows_its_round_without_reload(
    chromium: Browser, scenario_server: str, world: Scenario
) -> None:
    base = scenario_server
    url = f"{base}/s/alpha/proposals/{world.proposal_id}"
    reader = await signed_in(chromium, base, "target@example.org")
    facilitator = await signed_in(chromium, base, "facilitator@example.org")
    await reader.goto(url)
    await assert_accessible(reader)
    await facilitator.goto(url)
    await assert_accessible(facilitator)
    await facilitator.get_by_role(
        "button", name="Clore ce tour et passer à l'étape suivante"
    ).click()
    await expect(reader.locator("#round-title")).to_have_text("Tour de réactions", timeout=LIVE)
    await expect(reader.locator("#round-live")).to_contain_text("vient de changer")
    await assert_accessible(reader)
