"""The write path of a step (issue 14, durable writes): a position is written in four
statements while the proposal's row lock is held, its journal event in the last of them; the
statements combined into one do what the separate ones did; concurrent steps on several
proposals of one space keep one valid chain."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import asyncpg
import pytest

from consentir import db, journal
from consentir.consent import rules, store
from consentir.consent.rules import Actor, Stance
from consentir.consent.store import Content
from consentir.spaces.store import Space
from tests.process import act, person, to_object_round
from tests.scenario import Scenario

TEXT = Content(title="Vélos partagés", driver="Peu de vélos.", body="Acheter dix vélos.")
ON_THE_LIST = ("admin", "facilitator", "target")  # to_object_round's round


async def statements_of(
    database_url: str, space: Space, proposal_id: int, who: Actor, action: rules.Action
) -> list[str]:
    """The statements `store.act` sends for one step, in order (in its transaction)."""
    sent: list[str] = []
    counted = await db.create_pool(database_url, min_size=1, max_size=1, on_query=sent.append)
    try:
        async with db.transaction(counted) as conn:
            await conn.execute("SELECT 'the step starts'")
            await store.act(conn, space, proposal_id, who, action)
    finally:
        await counted.close()  # (asyncpg calls the query loggers soon after each statement)
    return sent[sent.index("SELECT 'the step starts'") + 1 : sent.index("COMMIT;")]


def shown(statements: list[str]) -> str:
    return "\n".join(" ".join(s.split())[:90] for s in statements)


async def test_a_position_takes_three_statements_under_the_lock(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    """Lock, state, then the position, what was read, the revision and the journal event in
    one: every statement while the row lock is held is a round trip that every other step
    on the proposal waits for. An objection writes its position on its own first (the
    objection names it), then the objection and whom it concerns."""
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    admin, target = person(world, "admin"), person(world, "target")
    concern = rules.GivePosition(admin.user_id, Stance.CONCERN, 1, "Le local ?")
    statements = await statements_of(scenario_database[0], alpha, proposal_id, admin, concern)
    assert len(statements) == 3, shown(statements)
    lock, state, finish = statements
    assert "FOR UPDATE" in lock and "FROM proposals p" in state
    assert "INSERT INTO positions" in finish and "superseded_at = now()" in finish
    assert "journal_append" in finish and "revision = revision + 1" in finish
    assert "UPDATE notifications" in finish
    objection = rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Pas de local.")
    statements = await statements_of(scenario_database[0], alpha, proposal_id, target, objection)
    position, raised, *_told, finish = statements[2:]  # (told: the objection's notices)
    assert "INSERT INTO positions" in position and "INSERT INTO objections" in raised
    assert "journal_append" in finish and "INSERT INTO positions" not in finish, shown(statements)


async def test_a_new_position_supersedes_the_last_in_one_statement(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    """Consent, concern, then an objection: one current position at a time (the unique index
    on current positions needs the old one superseded first), the earlier ones kept, the
    objection tied to its own position."""
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    admin = person(world, "admin")
    for stance, reason in ((Stance.CONSENT, ""), (Stance.CONCERN, "Le coût."),
                           (Stance.OBJECTION, "Pas de local.")):  # fmt: skip
        await act(pool, alpha, proposal_id, admin,
                  rules.GivePosition(admin.user_id, stance, 1, reason))  # fmt: skip
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.id, p.stance, p.reason, p.superseded_at IS NULL AS current"
            " FROM positions p JOIN rounds r ON r.id = p.round_id"
            " WHERE r.proposal_id = $1 AND p.user_id = $2 ORDER BY p.id",
            proposal_id,
            admin.user_id,
        )
        objection = await conn.fetchrow(
            "SELECT position_id, reason FROM objections WHERE proposal_id = $1", proposal_id
        )
        loaded = await store.load(conn, alpha.id, proposal_id)
    assert [(r["stance"], r["reason"], r["current"]) for r in rows] == [
        ("consent", "", False),
        ("concern", "Le coût.", False),
        ("objection", "Pas de local.", True),
    ]
    assert objection is not None
    assert (objection["position_id"], objection["reason"]) == (rows[-1]["id"], "Pas de local.")
    assert loaded.state.round is not None
    assert dict(loaded.state.round.answers) == {admin.user_id: "objection"}


async def test_a_step_bumps_the_revision_and_journals_once(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    async with pool.acquire() as conn:
        before = await conn.fetchval("SELECT revision FROM proposals WHERE id = $1", proposal_id)
        last = await journal.last_id(conn, alpha.id)
    target = person(world, "target")
    await act(pool, alpha, proposal_id, target,
              rules.GivePosition(target.user_id, Stance.CONSENT, 1))  # fmt: skip
    async with pool.acquire() as conn:
        after = await conn.fetchval("SELECT revision FROM proposals WHERE id = $1", proposal_id)
        events = await conn.fetch(
            "SELECT action, subject_id, actor_id, data FROM journal"
            " WHERE space_id = $1 AND id > $2",
            alpha.id,
            last,
        )
    assert after == before + 1
    assert [(e["action"], e["subject_id"], e["actor_id"]) for e in events] == [
        ("proposal.position_given", proposal_id, target.user_id)
    ]
    assert events[0]["data"] == {"person": target.user_id, "stance": "consent", "version": 1}


async def test_append_with_appends_once_and_only_after_its_guard(
    conn: asyncpg.Connection,
) -> None:
    """The event comes once whatever the number of rows the guard returns, none if it
    returns none; the changes run in the statement either way (the caller rolls back)."""
    await conn.execute("CREATE TEMP TABLE things (id int PRIMARY KEY, n int NOT NULL)")
    await conn.execute("INSERT INTO things SELECT g, 0 FROM generate_series(1, 3) g")
    changes = "bumped AS (UPDATE things SET n = n + 1 WHERE id <= $1 RETURNING id)"
    async with conn.transaction():
        event_id = await journal.append_with(conn, changes, "bumped", (3,),
                                             action="thing.bumped", subject_type="thing",
                                             space_id=1, data={"n": 1})  # fmt: skip
        nothing = await journal.append_with(conn, changes, "bumped", (0,),
                                            action="thing.bumped", subject_type="thing",
                                            space_id=1)  # fmt: skip
    assert event_id is not None and nothing is None
    rows = await conn.fetch("SELECT id, space_id, action, data FROM journal")
    assert [(r["id"], r["space_id"], r["action"], r["data"]) for r in rows] == [
        (event_id, 1, "thing.bumped", {"n": 1})
    ]
    assert await conn.fetchval("SELECT array_agg(n ORDER BY id) FROM things") == [1, 1, 1]
    assert (await journal.verify(conn)).ok
    with pytest.raises(journal.JournalOutsideTransaction):
        await journal.append_with(
            conn, changes, "bumped", (3,), action="thing.bumped", subject_type="thing", space_id=1
        )
    assert await conn.fetchval("SELECT count(*) FROM journal") == 1


async def test_steps_at_once_on_proposals_of_one_space_keep_one_chain(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    """Three people change their positions on three proposals of the space at the same
    moment: every step is kept once, every proposal's revision counts its steps, and the
    space's journal is one chain in the order of the ids (commit order)."""
    proposals = [await to_object_round(pool, alpha, world, TEXT) for _ in range(3)]
    async with pool.acquire() as conn:
        last = await journal.last_id(conn, alpha.id)
        revisions = {
            r["id"]: r["revision"]
            for r in await conn.fetch(
                "SELECT id, revision FROM proposals WHERE id = ANY($1::bigint[])", proposals
            )
        }
    rounds = 4
    stances = (Stance.CONSENT, Stance.CONCERN)

    async def changes(role: str, proposal_id: int) -> None:
        who = person(world, role)
        for n in range(rounds):
            await act(pool, alpha, proposal_id, who,
                      rules.GivePosition(who.user_id, stances[n % 2], 1))  # fmt: skip

    await asyncio.gather(*(changes(role, p) for role in ON_THE_LIST for p in proposals))
    async with pool.acquire() as conn:
        events = await conn.fetch(
            "SELECT id, subject_id, prev_hash, hash FROM journal WHERE space_id = $1 ORDER BY id",
            alpha.id,
        )
        current = await conn.fetch(
            "SELECT r.proposal_id, p.user_id, p.stance FROM positions p"
            " JOIN rounds r ON r.id = p.round_id"
            " WHERE r.proposal_id = ANY($1::bigint[]) AND p.superseded_at IS NULL",
            proposals,
        )
        kept = await conn.fetchval(
            "SELECT count(*) FROM positions p JOIN rounds r ON r.id = p.round_id"
            " WHERE r.proposal_id = ANY($1::bigint[])",
            proposals,
        )
        after = {
            r["id"]: r["revision"]
            for r in await conn.fetch(
                "SELECT id, revision FROM proposals WHERE id = ANY($1::bigint[])", proposals
            )
        }
        verified = await journal.verify(conn)
    new = [e for e in events if e["id"] > last]
    assert len(new) == len(ON_THE_LIST) * len(proposals) * rounds
    for proposal_id in proposals:
        steps = sum(e["subject_id"] == proposal_id for e in new)
        assert steps == len(ON_THE_LIST) * rounds
        assert after[proposal_id] == revisions[proposal_id] + steps
    for before, event in pairwise(events):
        assert event["prev_hash"] == before["hash"]
    assert verified.ok, verified.breaks
    assert kept == len(new)
    assert len(current) == len(ON_THE_LIST) * len(proposals)
    assert {r["stance"] for r in current} == {stances[(rounds - 1) % 2].value}
