"""What each person can do now, and what the process waits for (issue 10, section 2): the
proposal page's box and the API's `available`, both from `rules.available`."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from consentir.consent import rules
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.spaces.store import Space
from tests.process import act, person, to_object_round
from tests.scenario import Scenario
from tests.web import Client, act_as

TEXT = Content(title="Horaires", driver="Trop tôt.", body="Ouvrir à 10 h.")


def bearer(world: Scenario, role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {world.api_tokens[role]}"}


async def objected_valid(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> tuple[int, int]:
    """The object round on version 1: target objects (judged valid), the others consent, the
    round closes: the integrate stage."""
    pid = await to_object_round(pool, alpha, world, TEXT)
    target = person(world, "target")
    await act(pool, alpha, pid, target,
              rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Trop tard."))  # fmt: skip
    async with pool.acquire() as conn:
        objection = await conn.fetchval("SELECT id FROM objections WHERE proposal_id = $1", pid)
    facilitator = person(world, "facilitator")
    await act(pool, alpha, pid, facilitator, rules.JudgeObjection(objection, True, "Oui."))
    for role in ("admin", "facilitator"):
        who = person(world, role)
        await act(pool, alpha, pid, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1))
    await act(pool, alpha, pid, facilitator, rules.CloseRound(datetime.now(UTC)))
    return pid, objection


async def test_each_person_sees_what_the_process_waits_for(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    pid, objection = await objected_valid(pool, alpha, world)
    url = f"/s/alpha/proposals/{pid}"

    # Integrate: the facilitator is told the next round waits for the proposer's version.
    act_as(client, world, "facilitator")
    page = (await client.get(url)).text
    assert 'data-waits="open-object-round" data-code="objections_not_integrated"' in page
    assert "En attente de : Member." in page
    # The proposer's main step: publish the version that answers the objection.
    act_as(client, world, "member")
    assert 'data-main="publish"' in (await client.get(url)).text

    await act(pool, alpha, pid, person(world, "member"),
              rules.PublishVersion(frozenset({objection})),
              Content(driver="Trop tôt.", body="Ouvrir à 9 h 30."))  # fmt: skip
    # The objector: her confirmation is the step the process waits for, first in her box.
    act_as(client, world, "target")
    page = (await client.get(url)).text
    box = page.split('id="now-title"', 1)[1].split("</section>", 1)[0]
    assert 'data-main="confirm"' in box and 'action="/s/alpha/proposals/' in box
    assert f'name="objection_id" value="{objection}"' in box
    assert "Rien à faire pour vous" not in box
    # The same through the API, for the token's owner.
    api = (await client.get(f"/api/v1/spaces/alpha/proposals/{pid}",
                            headers=bearer(world, "target"))).json()  # fmt: skip
    main = api["available"][0]
    assert (main["verb"], main["ready"], main["main"], main["objection_id"]) == (
        "confirm", True, True, objection)  # fmt: skip


async def test_closing_the_round_names_who_is_missing(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """ "Close the objection round" is not offered while positions are missing; the box says
    who is missing, by name (the facilitator himself among them)."""
    client, world = client_world
    pid = await to_object_round(pool, alpha, world, TEXT)
    target = person(world, "target")
    await act(pool, alpha, pid, target,
              rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Trop tard."))  # fmt: skip
    act_as(client, world, "facilitator")
    page = (await client.get(f"/s/alpha/proposals/{pid}")).text
    assert f'action="/s/alpha/proposals/{pid}/close-round"' not in page
    assert 'data-waits="close-round" data-code="positions_missing"' in page
    assert "En attente de : Admin, Facilitator." in page
    # An objection waits for the facilitator's judgement: said in the box too.
    assert 'href="#objections"' in page
    api = (await client.get(f"/api/v1/spaces/alpha/proposals/{pid}",
                            headers=bearer(world, "facilitator"))).json()  # fmt: skip
    close = next(a for a in api["available"] if a["verb"] == "close-round")
    assert close["ready"] is False and close["blocked"] == "positions_missing"
    assert sorted(close["waits_for"]) == sorted(
        [world.user_ids["admin"], world.user_ids["facilitator"]])  # fmt: skip
