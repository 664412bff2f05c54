"""Creating or changing a role is a consent decision: a proposal of kind "role" carries the
role's text in each version, and its adoption writes the role, linked to the decision, in
the same transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
import msgspec
import pytest

from consentir import db
from consentir.consent import rules, store
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.errors import DomainError
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.mandates.store import RoleText
from consentir.spaces.store import Space
from tests.process import act, person
from tests.scenario import Scenario
from tests.web import Client, act_as

SECRETARY = RoleText(
    name="Secrétariat", purpose="Garder la mémoire du collectif.", domain="Les comptes rendus.",
    accountabilities=["Rédiger les comptes rendus", "Tenir l'agenda"], seats=1, term_months=12,
)  # fmt: skip
PROPOSAL = Content(title="Créer le secrétariat", driver="Personne ne tient les comptes rendus.",
                   body="Un rôle de secrétariat, pour un an.", role=SECRETARY)  # fmt: skip


async def adopt(pool: asyncpg.Pool, space: Space, world: Scenario, proposal_id: int) -> str:
    """Take a draft of member's through the process, everyone consenting; its number."""
    facilitator = person(world, "facilitator")
    await act(pool, space, proposal_id, person(world, "member"), rules.Submit(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    for role in ("facilitator", "admin", "target"):
        who = person(world, role)
        version = await pool.fetchval("SELECT version FROM proposals WHERE id = $1", proposal_id)
        await act(pool, space, proposal_id, who, rules.GivePosition(who.user_id, Stance.CONSENT,
                                                                   version))  # fmt: skip
    await act(pool, space, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    number = await pool.fetchval("SELECT number FROM decisions WHERE proposal_id = $1", proposal_id)
    assert number, "adopted"
    return str(number)


async def draft(pool: asyncpg.Pool, space: Space, world: Scenario, content: Content,
                role_id: int | None = None) -> int:  # fmt: skip
    async with db.transaction(pool) as conn:
        return await store.create(conn, space, person(world, "member"), content, role_id=role_id)


async def test_adopting_a_role_proposal_creates_the_role_linked_to_its_decision(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    pid = await draft(pool, alpha, world, PROPOSAL)
    assert await pool.fetchval("SELECT kind FROM proposals WHERE id = $1", pid) == "role"
    assert await pool.fetchval("SELECT count(*) FROM roles") == 0  # nothing before consent
    number = await adopt(pool, alpha, world, pid)
    async with pool.acquire() as conn:
        [role] = await mandates.roles(conn, alpha.id)
    assert role.text == SECRETARY and role.version == 1 and not role.preexisting
    linked = await pool.fetchval(
        "SELECT d.number FROM role_versions v JOIN decisions d ON d.id = v.decision_id"
        " WHERE v.role_id = $1 AND v.number = 1",
        role.id,
    )
    assert linked == number
    assert await pool.fetchval("SELECT role_id FROM proposals WHERE id = $1", pid) == role.id
    assert await pool.fetchval("SELECT count(*) FROM journal WHERE action = 'role.adopted'") == 1

    # Changing it is another decision: version 2 of the role, with two seats now.
    two_seats = msgspec.structs.replace(SECRETARY, seats=2)
    change = Content(title="Deux sièges au secrétariat", driver="Trop de travail.",
                     body="Le secrétariat a deux sièges.", role=two_seats)  # fmt: skip
    second = await draft(pool, alpha, world, change, role_id=role.id)
    decision = await adopt(pool, alpha, world, second)
    async with pool.acquire() as conn:
        changed = await mandates.role(conn, alpha.id, role.id)
    assert changed.version == 2 and changed.text.seats == 2
    # The second seat exists now: a mandate can be granted on it.
    decision_id = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", decision)
    async with db.transaction(pool) as conn:
        term = Term(date(2027, 1, 1), date(2028, 1, 1))
        await mandates.grant(conn, alpha.id, role.id, 2, world.user_ids["target"], term,
                             decision_id=decision_id)  # fmt: skip


async def test_a_new_version_keeps_the_role_text_and_ordinary_proposals_make_no_role(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    pid = await draft(pool, alpha, world, PROPOSAL)
    await act(pool, alpha, pid, person(world, "member"), rules.Submit(frozenset()))
    retitled = Content(title="Créer un secrétariat", driver="d", body="b")
    await act(pool, alpha, pid, person(world, "member"), rules.PublishVersion(frozenset()),
              retitled)  # fmt: skip
    texts = await pool.fetch(
        "SELECT role_text FROM proposal_versions WHERE proposal_id = $1 ORDER BY number", pid
    )
    assert texts[0]["role_text"] == texts[1]["role_text"] and texts[1]["role_text"]["seats"] == 1
    ordinary = await draft(pool, alpha, world, Content(title="Vélos", driver="d", body="b"))
    await adopt(pool, alpha, world, ordinary)
    assert await pool.fetchval("SELECT count(*) FROM roles") == 0


async def test_a_role_of_another_space_or_a_change_without_text_is_refused(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    beta = await pool.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    async with db.transaction(pool) as conn:
        admin = world.user_ids["admin"]
        other = await mandates.record_preexisting_role(conn, beta, SECRETARY, actor_id=admin)
    with pytest.raises(DomainError) as elsewhere:
        await draft(pool, alpha, world, PROPOSAL, role_id=other)
    assert elsewhere.value.status == 404
    async with db.transaction(pool) as conn:
        mine = await mandates.record_preexisting_role(conn, alpha.id, SECRETARY,
                                                      actor_id=world.user_ids["admin"])  # fmt: skip
    with pytest.raises(DomainError) as textless:
        await draft(pool, alpha, world, Content(title="t", driver="d", body="b"), role_id=mine)
    assert textless.value.code == "role_text_required"


async def test_the_api_takes_a_role_proposal(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool
) -> None:
    act_as(scenario_client, world, "anonymous")
    headers = {"authorization": f"Bearer {world.api_tokens['member']}"}
    body = {"title": "Créer le secrétariat", "driver": "Pourquoi", "body": "Quoi",
            "role": {"name": "Secrétariat", "purpose": "p", "domain": "d",
                     "accountabilities": ["Rédiger"], "seats": 1, "term_months": 12}}  # fmt: skip
    made = await scenario_client.post("/api/v1/spaces/alpha/proposals", json=body, headers=headers)
    assert made.status_code == 201, made.text
    row = await pool.fetchrow(
        "SELECT p.kind, v.role_text FROM proposals p JOIN proposal_versions v"
        " ON v.proposal_id = p.id WHERE p.id = $1",
        made.json()["id"],
    )
    assert row["kind"] == "role" and row["role_text"]["name"] == "Secrétariat"
    bad = {**body, "role": {**body["role"], "seats": 0}}
    refused = await scenario_client.post("/api/v1/spaces/alpha/proposals", json=bad,
                                         headers=headers)  # fmt: skip
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
