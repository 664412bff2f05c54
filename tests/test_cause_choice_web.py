"""A cause's scenario choice over HTTP: opened from the plan by a facilitator (refused in
words while the plan is closed), run from the proposal page (a question about a scenario,
sealed preferences that each person sees only their own of, the dashboard's "say which you
prefer", the reveal), and as an item of a live meeting, where the projector never shows a
sealed preference nor who gave it."""

from __future__ import annotations

import html
import re
from typing import Any

import asyncpg

from consentir.spaces.store import Space
from tests.causes_setup import draft_scenario, planned_cause, taken_on_cause
from tests.scenario import Scenario
from tests.web import Client, act_as, post_form, post_step

LIST = ("member", "facilitator", "admin", "target")
PREFERENCES = {
    "member": ("B", "Les bordures protègent vraiment les enfants."),
    "facilitator": ("B", "La Métropole finance ce genre de piste."),
    "admin": ("A", "Il faut agir avant la rentrée."),
    "target": ("B", "Les parents sont prêts à porter ce projet."),
}


def text(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


async def two_scenarios(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> tuple[int, dict[str, int]]:
    cause_id, criterion = await planned_cause(pool, alpha, world)
    a = await draft_scenario(pool, alpha, world, cause_id, criterion, "Piste peinte")
    b = await draft_scenario(pool, alpha, world, cause_id, criterion, "Piste séparée")
    return cause_id, {"A": a, "B": b}


async def open_from_the_plan(client: Client, world: Scenario, cause_id: int) -> str:
    act_as(client, world, "facilitator")
    plan = text((await client.get(f"/s/alpha/causes/{cause_id}/scenarios")).text)
    assert "Ouvrir le choix du scénario" in plan
    sent = await post_form(client, f"/s/alpha/causes/{cause_id}/choice/new", {"title": ""})
    assert sent.status_code == 303, sent.text
    location = str(sent.headers["location"])
    assert re.fullmatch(r"/s/alpha/proposals/\d+", location)
    return location


async def test_a_choice_from_the_plan_to_the_revealed_preferences(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, letters = await two_scenarios(pool, alpha, world)
    choice = await open_from_the_plan(client, world, cause_id)
    page = text((await client.get(choice)).text)
    assert "Choix du plan d'action : Piste cyclable rue Paul-Bert" in page
    assert "Scénario A — Piste peinte" in page and "Scénario B — Piste séparée" in page
    submitted = await post_step(client, choice, "submit")
    assert submitted.status_code == 303, submitted.text

    # A question about scenario B, shown with its scenario; answered; then the preferences.
    act_as(client, world, "target")
    asked = await post_step(client, choice, "ask", {"text": "Qui paie les bordures ?",
                                                    "scenario": str(letters["B"])})  # fmt: skip
    assert asked.status_code == 303, asked.text
    assert "Scénario B Target : Qui paie les bordures ?" in text((await client.get(choice)).text)
    act_as(client, world, "facilitator")
    question = await pool.fetchval(
        "SELECT max(id) FROM questions WHERE proposal_id = $1", int(choice.rsplit("/", 1)[1])
    )
    answered = await post_step(client, choice, "answer", {"question_id": str(question),
                                                          "text": "La Métropole."})  # fmt: skip
    assert answered.status_code == 303, answered.text
    moved = await post_step(client, choice, "advance")
    assert moved.status_code == 303, moved.text

    for number, (role, (letter, reason)) in enumerate(PREFERENCES.items(), start=1):
        act_as(client, world, role)
        if number == 2:  # the dashboard says what waits: say which you prefer
            board = text((await client.get("/spaces")).text)
            assert "un choix de scénario : dites lequel vous préférez, et pourquoi" in board
        form = (await client.get(choice)).text
        assert "Je préfère" in text(form) and "Donner ma préférence" in text(form)
        sent = await post_step(client, choice, "nominate",
                               {"nominee": str(letters[letter]), "reason": reason})  # fmt: skip
        assert sent.status_code == 303, sent.text
        mine = text((await client.get(choice)).text)
        assert f"Vous préférez le scénario {letter} : {reason}" in mine
        if number == 1:  # the list names the stage as a choice does; nothing awaits her now
            listed = text((await client.get("/s/alpha/proposals")).text)
            row = listed[listed.index("Choix du plan d'action") :][:200]
            assert "Préférences" in row and "attend votre réponse" not in row
        for other, (_letter, said) in PREFERENCES.items():
            if other != role:
                assert said not in mine, (role, other)  # sealed: only one's own
    act_as(client, world, "unsigned")  # reads the space, is not on the list
    outside = text((await client.get(choice)).text)
    assert not any(said in outside for _l, said in PREFERENCES.values())
    assert "4 sur 4 ont répondu" in outside

    act_as(client, world, "facilitator")
    revealed = await post_step(client, choice, "reveal")
    assert revealed.status_code == 303, revealed.text
    shown = text((await client.get(choice)).text)
    assert all(said in shown for _l, said in PREFERENCES.values())
    assert re.search(r"Scénario B — Piste séparée \(3\)", shown)
    # Proposing a scenario outside the choice is refused in words, next to the field.
    refused = await post_step(
        client, choice, "propose-holder", {"nominee": "999999", "reason": "Un autre."}
    )
    assert refused.status_code == 422, refused.text
    assert "Ce scénario ne fait pas partie de ce choix." in text(refused.text)
    proposed = await post_step(
        client,
        choice,
        "propose-holder",
        {"nominee": str(letters["B"]), "reason": "Trois sur quatre."},
    )
    assert proposed.status_code == 303, proposed.text
    page = text((await client.get(choice)).text)
    assert "Scénario proposé Scénario B, version 1 : Piste séparée" in page
    assert "Trois sur quatre." in page


async def test_opening_a_choice_waits_for_the_plan_and_a_facilitator(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "facilitator")
    page = await client.get(f"/s/alpha/causes/{cause_id}/choice/new")
    assert page.status_code == 200
    assert "Écrivez d'abord au moins un objectif." in text(page.text)
    refused = await post_form(client, f"/s/alpha/causes/{cause_id}/choice/new", {"title": ""})
    assert refused.status_code == 409
    assert "Écrivez d'abord au moins un objectif." in text(refused.text)
    act_as(client, world, "member")
    assert (await client.get(f"/s/alpha/causes/{cause_id}/choice/new")).status_code == 403
    denied = await post_form(client, f"/s/alpha/causes/{cause_id}/choice/new", {"title": ""})
    assert denied.status_code == 403


async def console(client: Client, meeting: str, verb: str, **data: Any) -> None:
    sent = await post_form(client, f"{meeting}/{verb}", data)
    assert sent.status_code == 303, sent.text


async def test_a_choice_in_a_live_meeting_keeps_its_preferences_sealed(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, letters = await two_scenarios(pool, alpha, world)
    choice = await open_from_the_plan(client, world, cause_id)
    choice_id = choice.rsplit("/", 1)[1]
    form = (await client.get("/s/alpha/meetings/new")).text
    assert f'id="proposal-{choice_id}"' in form  # a draft choice may go on the agenda
    planned = await post_form(
        client,
        "/s/alpha/meetings",
        {"title": "Séance du plan", "starts_at": "2027-01-09T10:00", "proposals": [choice_id]},
    )
    assert planned.status_code == 303, planned.text
    meeting = str(planned.headers["location"])
    for role in LIST:
        await console(client, meeting, "presence", person=world.user_ids[role], presence="present")
    await console(client, meeting, "open")
    await post_step(client, choice, "submit", {"back": f"{meeting}/console"})
    await post_step(client, choice, "advance", {"back": f"{meeting}/console"})
    console_page = text((await client.get(f"{meeting}/console")).text)
    assert "Choisir le plan d'action" in console_page and "Révéler les préférences" in console_page

    for number, (role, (letter, reason)) in enumerate(PREFERENCES.items(), start=1):
        act_as(client, world, role)
        screen = text((await client.get(meeting)).text)
        assert "Je préfère" in screen  # the participant's own step, on their screen
        sent = await post_step(client, choice, "nominate", {
            "nominee": str(letters[letter]), "reason": reason, "back": meeting})  # fmt: skip
        assert sent.status_code == 303, sent.text
        for viewer in ("facilitator", "member"):
            act_as(client, world, viewer)
            shown = text((await client.get(f"{meeting}/live?view=screen")).text)
            assert f"{number} sur 4 ont répondu" in shown, (viewer, shown)
            assert not any(said in shown for _l, said in PREFERENCES.values()), viewer
            assert "Vous préférez" not in shown  # not even the viewer's own
    act_as(client, world, "facilitator")
    await post_step(client, choice, "reveal", {"back": f"{meeting}/console"})
    shown = text((await client.get(f"{meeting}/live?view=screen")).text)
    assert all(said in shown for _l, said in PREFERENCES.values())
