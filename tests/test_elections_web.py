"""Elections on the web: a facilitator describes one from the role page (a member may not),
the nominations stay sealed on every page until revealed, each step is a form of the
proposal page, a wrong form comes back with its error next to the field, and the adopted
election's mandate shows on the holder's "Mes mandats" and the role page."""

from __future__ import annotations

import re
from datetime import date

import asyncpg

from consentir import db
from consentir.mandates import store as mandates
from consentir.spaces.store import Space
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form, post_step

PRESIDENCY = mandates.RoleText(
    name="Présidence", purpose="Représenter l'association.", domain="La parole publique.",
    accountabilities=["Présider le conseil"], seats=1, term_months=24,
)  # fmt: skip
EVERYONE = ("member", "facilitator", "admin", "target")


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def describe(client: Client, world: Scenario, role_id: int) -> str:
    act_as(client, world, "facilitator")
    page = f"/s/alpha/roles/{role_id}/elections/new"
    form = (await client.get(page)).text
    first = re.search(r'id="f-first"[^>]*value="([^"]+)"', form)
    last = re.search(r'id="f-last"[^>]*value="([^"]+)"', form)
    assert first and last
    sent = await post_form(
        client,
        page,
        {"seat": "1", "first": "2027-03-01", "last": "2029-02-28", "driver": "Le mandat finit."},
    )
    assert sent.status_code == 303, sent.text
    return sent.headers["location"]


async def test_an_election_over_the_web_from_description_to_mandate(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, PRESIDENCY, actor_id=world.user_ids["admin"]
        )
    # A member may not describe an election.
    act_as(client, world, "member")
    assert (await client.get(f"/s/alpha/roles/{role_id}/elections/new")).status_code == 403
    act_as(client, world, "facilitator")
    role_page = (await client.get(f"/s/alpha/roles/{role_id}")).text
    assert f"/s/alpha/roles/{role_id}/elections/new?seat=1" in role_page
    url = await describe(client, world, role_id)
    page = text((await client.get(url)).text)
    assert "Élection sans candidat" in page and "du 1er mars 2027 au 28 février 2029" in page
    assert (await post_step(client, url, "submit")).status_code == 303
    # A wrong nomination comes back with its error next to the field.
    act_as(client, world, "member")
    refused = await post_step(client, url, "nominate", {"reason": "Disponible."})
    assert refused.status_code == 422
    assert "nominee" in refused.text and 'aria-invalid="true"' in refused.text
    target = world.user_ids["target"]
    for role in EVERYONE:
        act_as(client, world, role)
        sent = await post_step(
            client, url, "nominate", {"nominee": str(target), "reason": f"Raison de {role}."}
        )
        assert sent.status_code == 303, sent.text
        if role == "member":
            # Sealed: another person's page does not show the member's nomination.
            act_as(client, world, "admin")
            other = text((await client.get(url)).text)
            assert "Raison de member." not in other
            act_as(client, world, "member")
            mine = text((await client.get(url)).text)
            assert "Vous avez nommé" in mine and "Raison de member." in mine
    act_as(client, world, "facilitator")
    assert (await post_step(client, url, "reveal")).status_code == 303
    revealed = text((await client.get(url)).text)
    assert all(f"Raison de {role}." in revealed for role in EVERYONE)
    assert (await post_step(client, url, "open-change-round")).status_code == 303
    act_as(client, world, "target")
    moved = await post_step(
        client,
        url,
        "nominate",
        {"nominee": str(world.user_ids["member"]), "reason": "Plutôt elle."},
    )
    assert moved.status_code == 303
    act_as(client, world, "facilitator")
    proposed = await post_step(client, url, "propose-holder", {
        "nominee": str(target), "reason": "Nommée trois fois.",
        "first": "2027-03-01", "last": "2029-02-28"})  # fmt: skip
    assert proposed.status_code == 303, proposed.text
    # The person proposed answers last.
    act_as(client, world, "target")
    early = await post_step(client, url, "position", {"stance": "consent", "version": "2"})
    assert early.status_code == 409 and "répond en dernier" in text(early.text)
    for role in ("member", "facilitator", "admin", "target"):
        act_as(client, world, role)
        sent = await post_step(client, url, "position", {"stance": "consent", "version": "2"})
        assert sent.status_code == 303, (role, sent.text)
    act_as(client, world, "facilitator")
    closed = await post_step(client, url, "close-round")
    assert closed.status_code == 303, closed.text
    decision = text((await client.get(f"{url}")).text)
    assert (
        "Target est proposé·e pour le rôle Présidence, du 1er mars 2027 au 28 février 2029."
        in decision
    )
    act_as(client, world, "target")
    mine = text((await client.get("/mandates")).text)
    assert "Présidence" in mine and "1er mars 2027" in mine
    holders = await pool.fetch("SELECT holder_id, election_id FROM mandates WHERE role_id = $1",
                               role_id)  # fmt: skip
    assert [tuple(r) for r in holders] == [(target, int(url.rsplit("/", 1)[1]))]


async def test_an_election_for_a_seat_already_filled_is_refused_next_to_the_date(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    from consentir.mandates.rules import Term
    from tests.scenario import adopt_proposal

    client, world = client_world
    number = await adopt_proposal(pool, world)
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, PRESIDENCY, actor_id=world.user_ids["admin"]
        )
        await mandates.grant(
            conn,
            alpha.id,
            role_id,
            1,
            world.user_ids["admin"],
            Term(date(2027, 1, 1), date(2029, 1, 1)),
            decision_id=decision,
        )
    act_as(client, world, "facilitator")
    page = f"/s/alpha/roles/{role_id}/elections/new"
    # The form proposes the term that follows the holder's.
    form = (await client.get(page)).text
    assert 'value="2029-01-01"' in form
    sent = await post_form(client, page, {"seat": "1", "first": "2028-01-01",
                                          "last": "2029-12-31"})  # fmt: skip
    assert sent.status_code == 409
    assert field_error(sent.text, "first") == (
        "Ce siège est occupé jusqu&#39;au 31 décembre 2028 ; un nouveau mandat peut commencer"
        " le 1er janvier 2029."
    )
    backwards = await post_form(client, page, {"seat": "1", "first": "2030-01-01",
                                               "last": "2029-12-31"})  # fmt: skip
    assert backwards.status_code == 422
    assert field_error(backwards.text, "last") == "Le dernier jour vient après le premier."


async def test_a_space_may_let_the_person_proposed_answer_with_the_others(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    act_as(client, world, "admin")
    settings = (await client.get("/s/alpha/settings")).text
    version = re.search(r'name="version" value="(\d+)"', settings)
    assert version and 'name="election_nominee_last"' in settings
    sent = await post_form(
        client,
        "/s/alpha/settings",
        {
            "name": "Alpha",
            "decision_prefix": "AL",
            "version": version.group(1),
            "review_delay_months": "6",
        },
    )  # fmt: skip  (the box left unticked)
    assert sent.status_code == 303, sent.text
    assert (
        await pool.fetchval("SELECT election_nominee_last FROM spaces WHERE slug = 'alpha'")
        is False
    )
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, PRESIDENCY, actor_id=world.user_ids["admin"]
        )
    url = await describe(client, world, role_id)
    assert (
        await pool.fetchval(
            "SELECT nominee_last FROM elections WHERE proposal_id = $1", int(url.rsplit("/", 1)[1])
        )
        is False
    )


async def test_the_api_describes_an_election_then_runs_it_by_the_proposal_steps(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    from tests.test_available import bearer as bearer_for
    from tests.test_boundary import assert_problem

    client, world = client_world
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, PRESIDENCY, actor_id=world.user_ids["admin"]
        )
    path = f"/api/v1/spaces/alpha/roles/{role_id}/elections"
    body = {"seat": 1, "first": "2027-03-01", "last": "2029-02-28"}
    member = await client.post(path, json=body, headers=bearer_for(world, "member"))
    assert member.status_code == 403
    headers = {**bearer_for(world, "facilitator"), "Idempotency-Key": "elect-1"}
    sent = await client.post(path, json=body, headers=headers)
    assert sent.status_code == 201, sent.text
    again = await client.post(path, json=body, headers=headers)
    assert again.json() == sent.json() and again.headers["idempotent-replayed"] == "true"
    proposal = sent.json()["href"]
    assert sent.headers["location"] == proposal
    assert await pool.fetchval("SELECT count(*) FROM elections") == 1
    opened = await client.post(
        f"{proposal}/steps/submit", json={}, headers=bearer_for(world, "facilitator")
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["stage"] == "nominate"
    backwards = await client.post(
        path, json={**body, "last": "2020-01-01"}, headers=bearer_for(world, "facilitator")
    )
    assert_problem(backwards, 422, "last")
