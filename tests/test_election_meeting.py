"""An election as an item of a meeting, over HTTP: a draft election goes on the agenda (an
ordinary draft still does not), the facilitator opens its nominations from the console with
those present on the list, the participants nominate from their screens, and the projector
never shows whom a sealed nomination names nor why, whoever looks at it (the facilitator,
who has nominated too, or a member); once revealed, it shows both."""

from __future__ import annotations

import html
import re
from typing import Any

import asyncpg

from consentir import db
from consentir.mandates import store as mandates
from consentir.spaces.store import Space
from tests.scenario import Scenario
from tests.web import Client, act_as, post_form, post_step

SECRETARY = mandates.RoleText(
    name="Secrétariat", purpose="Tenir la mémoire du groupe.", domain="Les procès-verbaux.",
    accountabilities=["Rédiger les procès-verbaux"], seats=1, term_months=12,
)  # fmt: skip
LIST = ("member", "facilitator", "admin", "target")  # recorded present: the list
# Whom each person names, and why: reasons nobody would write twice by chance.
NOMINATIONS = {
    "member": ("target", "Des comptes rendus limpides chaque mois."),
    "facilitator": ("target", "Une mémoire d'éléphant pour nos décisions."),
    "admin": ("target", "Disponible tous les jeudis soir."),
    "target": ("member", "Connaît les statuts par cœur."),
}


def text(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


async def describe(client: Client, world: Scenario, role_id: int) -> str:
    act_as(client, world, "facilitator")
    sent = await post_form(client, f"/s/alpha/roles/{role_id}/elections/new",
                           {"seat": "1", "first": "2027-03-01", "last": "2028-02-29"})  # fmt: skip
    assert sent.status_code == 303, sent.text
    return str(sent.headers["location"])


async def console(client: Client, meeting: str, verb: str, **data: Any) -> None:
    sent = await post_form(client, f"{meeting}/{verb}", data)
    assert sent.status_code == 303, sent.text


async def projector(client: Client, world: Scenario, meeting: str, role: str) -> str:
    """What the projector shows, as `role` opens it: the page and its live fragment."""
    act_as(client, world, role)
    page = await client.get(f"{meeting}/screen")
    fragment = await client.get(f"{meeting}/live?view=screen")
    assert page.status_code == 200 and fragment.status_code == 200
    return text(page.text) + " | " + text(fragment.text)


async def test_the_projector_never_shows_a_sealed_nomination(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, SECRETARY, actor_id=world.user_ids["admin"]
        )
    election = await describe(client, world, role_id)
    election_id = election.rsplit("/", 1)[1]

    # The draft election is offered for the agenda and goes on it; an ordinary draft does not.
    form = (await client.get("/s/alpha/meetings/new")).text
    assert f'id="proposal-{election_id}"' in form
    assert f'id="proposal-{world.draft_id}"' not in form
    refused = await post_form(client, "/s/alpha/meetings", {"title": "Séance",
        "starts_at": "2027-01-09T10:00", "proposals": [str(world.draft_id)]})  # fmt: skip
    assert refused.status_code == 422
    planned = await post_form(client, "/s/alpha/meetings", {
        "title": "Séance de janvier", "starts_at": "2027-01-09T10:00",
        "proposals": [election_id]})  # fmt: skip
    assert planned.status_code == 303, planned.text
    meeting = str(planned.headers["location"])
    for role in LIST:
        await console(client, meeting, "presence", person=world.user_ids[role], presence="present")
    await console(client, meeting, "open")

    # Before the nominations open, a member's screen says the item is being prepared.
    act_as(client, world, "member")
    waiting = await client.get(meeting)
    assert waiting.status_code == 200
    assert "Ce point est en préparation" in text(waiting.text)
    assert f"proposal-{election_id} from:#sse" in waiting.text  # it follows the draft
    # The console opens them.
    act_as(client, world, "facilitator")
    screen = text((await client.get(f"{meeting}/console")).text)
    assert "Ouvrir les nominations" in screen
    opened = await post_step(client, election, "submit", {"back": f"{meeting}/console"})
    assert opened.headers["location"] == f"{meeting}/console"
    act_as(client, world, "unsigned")  # a member who has not signed the charter: not listed
    assert "Nominations" in text((await client.get(meeting)).text)

    names = {role: role.title() for role in LIST}
    for number, (role, (named, reason)) in enumerate(NOMINATIONS.items(), start=1):
        act_as(client, world, role)
        sent = await post_step(client, election, "nominate", {
            "nominee": str(world.user_ids[named]), "reason": reason, "back": meeting})  # fmt: skip
        assert sent.status_code == 303, sent.text
        mine = text((await client.get(meeting)).text)
        assert reason in mine  # sealed: the nominator sees their own…
        for other, (_named, said) in NOMINATIONS.items():
            if other != role:
                assert said not in mine  # …and nobody else's
        if number == len(NOMINATIONS):
            break
        for viewer in ("facilitator", "member", "unsigned"):
            shown = await projector(client, world, meeting, viewer)
            assert "scellées" in shown and f"{number} sur 4 " in shown, (viewer, shown)
            assert not any(said in shown for _named, said in NOMINATIONS.values()), viewer
            # Nobody's name at all: not whom they named, not even who answered.
            assert not any(name in shown for name in names.values()), (viewer, shown)

    # Everyone answered; still sealed until the facilitator reveals them.
    shown = await projector(client, world, meeting, "facilitator")
    assert "4 sur 4 ont répondu" in shown and "Target" not in shown
    assert not any(said in shown for _named, said in NOMINATIONS.values())
    act_as(client, world, "facilitator")
    revealed = await post_step(client, election, "reveal", {"back": f"{meeting}/console"})
    assert revealed.status_code == 303, revealed.text
    for viewer in ("facilitator", "member"):
        shown = await projector(client, world, meeting, viewer)
        assert all(said in shown for _named, said in NOMINATIONS.values()), viewer
    # Grouped by the person named, each with their reasons.
    fragment = html.unescape((await client.get(f"{meeting}/live?view=screen")).text)
    groups = dict(re.findall(r"<li><strong>(\w+)</strong>\s*<ul>(.*?)</ul>", fragment, re.S))
    assert sorted(groups) == ["Member", "Target"]
    for role, (named, reason) in NOMINATIONS.items():
        assert f"{role.title()} : {reason}" in text(groups[named.title()])


async def test_the_console_adds_an_election_but_not_an_ordinary_draft(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, SECRETARY, actor_id=world.user_ids["admin"]
        )
    election_id = (await describe(client, world, role_id)).rsplit("/", 1)[1]
    meeting = f"/s/alpha/meetings/{world.meeting_id}"
    offered = (await client.get(f"{meeting}/console")).text
    assert re.search(rf'<option value="{election_id}">Élection : Secrétariat</option>', offered)
    assert f'<option value="{world.draft_id}">' not in offered
    refused = await post_form(client, f"{meeting}/add", {"proposal": str(world.draft_id)})
    assert refused.status_code == 422
    assert "Choisissez des propositions en cours" in text(refused.text)
    await console(client, meeting, "add", proposal=election_id)
    agenda = text((await client.get(meeting)).text)
    assert "Élection : Secrétariat" in agenda
