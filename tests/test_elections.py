"""Elections on the consent engine, through the store and PostgreSQL: an election is a
proposal whose adoption grants the mandate in the same transaction; nominations stay sealed
(not even the journal names whom a sealed nomination names); whoever declines never gets the
mandate; a seat already filled for the dates is refused in words before anything starts; the
role's limit of consecutive terms is checked as nominations open."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from consentir import db
from consentir.consent import rules
from consentir.consent.rules import RuleViolation, Stage, Stance
from consentir.consent.store import Content
from consentir.elections import store as elections
from consentir.elections.store import Described
from consentir.errors import DomainError
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.spaces.store import Space
from consentir.web import i18n
from tests.process import act, person
from tests.scenario import Scenario, adopt_proposal

SECRETARY = mandates.RoleText(
    name="Secrétariat", purpose="Tenir les procès-verbaux.", domain="Les convocations.",
    accountabilities=["Rédiger les procès-verbaux"], seats=1, term_months=12,
    consecutive_terms=1,
)  # fmt: skip
TERM = Term(date(2027, 1, 1), date(2028, 1, 1))
EVERYONE = ("member", "facilitator", "admin", "target")  # who may act in alpha


async def new_role(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> int:
    async with db.transaction(pool) as conn:
        return await mandates.record_preexisting_role(conn, alpha.id, SECRETARY,
                                                      actor_id=world.user_ids["admin"])  # fmt: skip


async def describe(pool: asyncpg.Pool, alpha: Space, world: Scenario, role_id: int,
                   term: Term = TERM) -> int:  # fmt: skip
    text = Content(title="Secrétariat : élection", driver="Élire le secrétariat.", body="-")
    async with db.transaction(pool) as conn:
        return await rules_create(conn, alpha, world, text, Described(role_id, 1, term))


async def rules_create(conn: db.Connection, alpha: Space, world: Scenario, text: Content,
                       about: Described) -> int:  # fmt: skip
    from consentir.consent import store

    return await store.create(conn, alpha, person(world, "facilitator"), text, election=about)


async def nominations_revealed(pool: asyncpg.Pool, alpha: Space, world: Scenario,
                               role_id: int) -> int:  # fmt: skip
    pid = await describe(pool, alpha, world, role_id)
    await act(pool, alpha, pid, person(world, "facilitator"), rules.Submit(frozenset()))
    for role in EVERYONE:
        await act(pool, alpha, pid, person(world, role),
                  rules.Nominate(world.user_ids["target"], f"{role} : disponible."))  # fmt: skip
    loaded = await load(pool, alpha, pid)
    await act(pool, alpha, pid, person(world, "facilitator"),
              rules.Reveal(datetime.now(UTC), loaded.revision))  # fmt: skip
    return pid


async def load(pool: asyncpg.Pool, alpha: Space, pid: int) -> rules.Proposal:
    from consentir.consent import store

    async with pool.acquire() as conn:
        return (await store.load(conn, alpha.id, pid)).state


async def propose(pool: asyncpg.Pool, alpha: Space, world: Scenario, pid: int,
                  who: str) -> None:  # fmt: skip
    seen = (await load(pool, alpha, pid)).revision
    await act(pool, alpha, pid, person(world, "facilitator"),
              rules.ProposeHolder(world.user_ids[who], "Nommé·e par tous.", seen))  # fmt: skip


async def everyone_but(pool: asyncpg.Pool, alpha: Space, world: Scenario, pid: int,
                       nominee: str, stance: Stance = Stance.CONSENT) -> None:  # fmt: skip
    version = (await load(pool, alpha, pid)).version
    for role in EVERYONE:
        if role != nominee:
            await act(pool, alpha, pid, person(world, role),
                      rules.GivePosition(world.user_ids[role], stance, version))  # fmt: skip


async def test_an_adopted_election_grants_exactly_one_mandate_with_its_decision(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id = await new_role(pool, alpha, world)
    pid = await describe(pool, alpha, world, role_id)
    state = await load(pool, alpha, pid)
    assert state.ballot is not None and state.stage is Stage.DRAFT
    await act(pool, alpha, pid, person(world, "facilitator"), rules.Submit(frozenset()))
    state = await load(pool, alpha, pid)
    assert state.stage is Stage.NOMINATE and state.ballot is not None
    assert state.ballot.participants == {world.user_ids[r] for r in EVERYONE}
    target = world.user_ids["target"]
    await act(pool, alpha, pid, person(world, "member"),
              rules.Nominate(target, "Elle écrit clairement."))  # fmt: skip
    # Sealed: the journal of the space says a nomination came, never whom it names.
    data = await pool.fetchval(
        "SELECT data FROM journal WHERE action = 'election.nominated' ORDER BY id DESC LIMIT 1"
    )
    assert set(data) == {"nomination", "changed"}  # nobody named
    with pytest.raises(RuleViolation) as early:
        await act(
            pool,
            alpha,
            pid,
            person(world, "facilitator"),
            rules.Reveal(datetime.now(UTC), (await load(pool, alpha, pid)).revision),
        )
    assert early.value.code == "nominations_missing"
    for role in ("facilitator", "admin", "target"):
        await act(pool, alpha, pid, person(world, role),
                  rules.Nominate(target, "Disponible."))  # fmt: skip
    await act(
        pool,
        alpha,
        pid,
        person(world, "facilitator"),
        rules.Reveal(datetime.now(UTC), (await load(pool, alpha, pid)).revision),
    )
    await propose(pool, alpha, pid=pid, world=world, who="target")
    state = await load(pool, alpha, pid)
    assert (state.stage, state.version) == (Stage.OBJECT, 2)
    # The person proposed answers last.
    with pytest.raises(RuleViolation) as first:
        await act(pool, alpha, pid, person(world, "target"),
                  rules.GivePosition(target, Stance.CONSENT, 2))  # fmt: skip
    assert first.value.code == "nominee_answers_last"
    await everyone_but(pool, alpha, world, pid, "target")
    await act(pool, alpha, pid, person(world, "target"),
              rules.GivePosition(target, Stance.CONSENT, 2))  # fmt: skip
    await act(
        pool,
        alpha,
        pid,
        person(world, "facilitator"),
        rules.CloseRound(datetime.now(UTC), (await load(pool, alpha, pid)).revision),
    )
    rows = await pool.fetch(
        """SELECT m.holder_id, m.election_id, lower(m.granted) AS first, d.proposal_id
           FROM mandates m JOIN decisions d ON d.id = m.decision_id WHERE m.role_id = $1""",
        role_id,
    )
    assert [dict(r) for r in rows] == [
        {"holder_id": target, "election_id": pid, "first": TERM.first, "proposal_id": pid}
    ]
    granted = await pool.fetchval(
        "SELECT data FROM journal WHERE action = 'mandate.granted' AND subject_type = 'mandate'"
        " ORDER BY id DESC LIMIT 1"
    )
    decision_id = await pool.fetchval("SELECT id FROM decisions WHERE proposal_id = $1", pid)
    assert (granted["holder_id"], granted["decision_id"]) == (target, decision_id)


async def test_a_declining_nominee_never_gets_the_mandate(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id = await new_role(pool, alpha, world)
    pid = await nominations_revealed(pool, alpha, world, role_id)
    await propose(pool, alpha, world, pid, "target")
    await everyone_but(pool, alpha, world, pid, "target")
    target = world.user_ids["target"]
    await act(
        pool,
        alpha,
        pid,
        person(world, "target"),
        rules.GivePosition(target, Stance.OBJECTION, 2, "Pas disponible cette année."),
    )
    state = await load(pool, alpha, pid)
    assert state.stage is Stage.INTEGRATE and state.ballot is not None
    assert state.ballot.declined == {target} and state.ballot.nominee is None
    outcome = await pool.fetchval(
        "SELECT outcome FROM rounds WHERE proposal_id = $1 AND version = 2", pid
    )
    assert outcome == "declined"
    with pytest.raises(RuleViolation) as again:
        await propose(pool, alpha, world, pid, "target")
    assert again.value.code == "nominee_declined" and again.value.field == "nominee"
    await propose(pool, alpha, world, pid, "member")
    await everyone_but(pool, alpha, world, pid, "member")
    await act(
        pool,
        alpha,
        pid,
        person(world, "member"),
        rules.GivePosition(world.user_ids["member"], Stance.CONSENT, 3),
    )
    await act(
        pool,
        alpha,
        pid,
        person(world, "facilitator"),
        rules.CloseRound(datetime.now(UTC), (await load(pool, alpha, pid)).revision),
    )
    holders = await pool.fetch("SELECT holder_id FROM mandates WHERE election_id = $1", pid)
    assert [r["holder_id"] for r in holders] == [world.user_ids["member"]]


async def test_a_seat_filled_for_the_dates_is_refused_in_words(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id = await new_role(pool, alpha, world)
    number = await adopt_proposal(pool, world)
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    async with db.transaction(pool) as conn:
        await mandates.grant(conn, alpha.id, role_id, 1, world.user_ids["admin"], TERM,
                             decision_id=decision)  # fmt: skip
    before = await pool.fetchval("SELECT count(*) FROM proposals")
    overlapping = Term(date(2027, 6, 1), date(2028, 6, 1))
    with pytest.raises(DomainError) as refused:
        await describe(pool, alpha, world, role_id, overlapping)
    assert refused.value.code == "seat_taken" and refused.value.field == "first"
    i18n.current_locale.set("fr")
    assert i18n.domain_message(refused.value) == (
        "Ce siège est occupé jusqu'au 31 décembre 2027 ; un nouveau mandat peut commencer"
        " le 1er janvier 2028."
    )
    assert await pool.fetchval("SELECT count(*) FROM proposals") == before  # nothing written
    # A successor from the day after is accepted.
    await describe(pool, alpha, world, role_id, Term(date(2028, 1, 1), date(2029, 1, 1)))


async def test_term_limits_are_checked_as_nominations_open(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id = await new_role(pool, alpha, world)  # at most one term in a row
    number = await adopt_proposal(pool, world)
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    async with db.transaction(pool) as conn:
        await mandates.grant(
            conn,
            alpha.id,
            role_id,
            1,
            world.user_ids["admin"],
            Term(date(2026, 1, 1), TERM.first),
            decision_id=decision,
        )
    pid = await describe(pool, alpha, world, role_id)
    await act(pool, alpha, pid, person(world, "facilitator"), rules.Submit(frozenset()))
    state = await load(pool, alpha, pid)
    assert state.ballot is not None
    assert world.user_ids["admin"] not in state.ballot.eligible
    assert world.user_ids["member"] in state.ballot.eligible
    with pytest.raises(RuleViolation) as refused:
        await act(
            pool,
            alpha,
            pid,
            person(world, "member"),
            rules.Nominate(world.user_ids["admin"], "Il connaît le rôle."),
        )
    assert refused.value.code == "nominee_not_eligible"


async def test_only_those_on_the_list_nominate_even_bypassing_the_app(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id = await new_role(pool, alpha, world)
    pid = await describe(pool, alpha, world, role_id)
    await act(pool, alpha, pid, person(world, "facilitator"), rules.Submit(frozenset()))
    round_id = await pool.fetchval("SELECT id FROM rounds WHERE proposal_id = $1", pid)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO nominations (proposal_id, round_id, voter_id, nominee_id, reason)"
            " VALUES ($1, $2, $3, NULL, 'x')",
            pid, round_id, world.user_ids["unsigned"],
        )  # fmt: skip


async def test_the_deadline_reveals_sealed_nominations(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id = await new_role(pool, alpha, world)
    pid = await describe(pool, alpha, world, role_id)
    await act(pool, alpha, pid, person(world, "facilitator"), rules.Submit(frozenset()))
    now = datetime.now(UTC)
    await act(pool, alpha, pid, person(world, "facilitator"),
              rules.SetDeadline(now + timedelta(hours=1), now))  # fmt: skip
    await act(pool, alpha, pid, person(world, "member"),
              rules.Nominate(world.user_ids["target"], "Disponible."))  # fmt: skip
    await act(pool, alpha, pid, rules.SYSTEM,
              rules.DeadlinePassed(now + timedelta(hours=2), frozenset()))  # fmt: skip
    state = await load(pool, alpha, pid)
    assert state.stage is Stage.REASONS
    deadline = await pool.fetchval("SELECT deadline FROM rounds WHERE proposal_id = $1", pid)
    assert deadline is None  # served: the deadline task leaves the round alone now
    found = await _election(pool, pid)
    assert [(n.voter_id, n.nominee_id) for n in found.nominations] == [
        (world.user_ids["member"], world.user_ids["target"])
    ]


async def _election(pool: asyncpg.Pool, pid: int) -> elections.Election:
    async with pool.acquire() as conn:
        found = await elections.election(conn, pid)
    assert found is not None
    return found


async def test_each_person_finds_their_election_step_on_their_dashboard(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    from consentir.consent import store

    async def kinds(role: str) -> list[str]:
        async with pool.acquire() as conn:
            found = await store.awaiting(conn, world.user_ids[role])
        return [a.kind for a in found if a.href.startswith(f"/s/alpha/proposals/{pid}#")]

    role_id = await new_role(pool, alpha, world)
    pid = await describe(pool, alpha, world, role_id)
    await act(pool, alpha, pid, person(world, "facilitator"), rules.Submit(frozenset()))
    assert await kinds("member") == ["nominate"]
    target = world.user_ids["target"]
    for role in EVERYONE:
        await act(pool, alpha, pid, person(world, role), rules.Nominate(target, "Disponible."))
    assert await kinds("member") == []
    assert await kinds("facilitator") == ["reveal"]
    await act(
        pool,
        alpha,
        pid,
        person(world, "facilitator"),
        rules.Reveal(datetime.now(UTC), (await load(pool, alpha, pid)).revision),
    )
    assert await kinds("facilitator") == ["propose"]
    await propose(pool, alpha, world, pid, "target")
    # The person proposed answers last: nothing asked of them while others have not.
    assert await kinds("target") == []
    assert await kinds("member") == ["answer"]
    await everyone_but(pool, alpha, world, pid, "target")
    assert await kinds("target") == ["answer"]
    await act(
        pool,
        alpha,
        pid,
        person(world, "target"),
        rules.GivePosition(target, Stance.OBJECTION, 2, "Je décline."),
    )
    assert await kinds("facilitator") == ["propose"]


async def test_a_term_taken_meanwhile_is_refused_when_proposing_and_when_adopting(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id = await new_role(pool, alpha, world)
    pid = await nominations_revealed(pool, alpha, world, role_id)
    number = await adopt_proposal(pool, world)
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    await propose(pool, alpha, world, pid, "target")  # the seat is still free
    async with db.transaction(pool) as conn:  # then filled for those dates meanwhile
        await mandates.grant(conn, alpha.id, role_id, 1, world.user_ids["admin"], TERM,
                             decision_id=decision)  # fmt: skip
    await everyone_but(pool, alpha, world, pid, "target")
    await act(pool, alpha, pid, person(world, "target"),
              rules.GivePosition(world.user_ids["target"], Stance.CONSENT, 2))  # fmt: skip
    seen = (await load(pool, alpha, pid)).revision
    with pytest.raises(DomainError) as at_adoption:
        await act(pool, alpha, pid, person(world, "facilitator"),
                  rules.CloseRound(datetime.now(UTC), seen))  # fmt: skip
    assert at_adoption.value.code == "seat_taken" and at_adoption.value.status == 409
    assert at_adoption.value.field is None  # said above the round's controls
    assert await pool.fetchval("SELECT count(*) FROM decisions WHERE proposal_id = $1", pid) == 0
    assert (await load(pool, alpha, pid)).stage is Stage.OBJECT  # nothing written
    # Proposing again for those dates would be refused next to the first day; later ones pass.
    later = Term(date(2028, 1, 1), date(2029, 1, 1))
    async with db.transaction(pool) as conn:
        await elections.check_proposal(conn, pid, world.user_ids["target"], later)
    with pytest.raises(DomainError) as taken:
        async with db.transaction(pool) as conn:
            await elections.check_proposal(conn, pid, world.user_ids["target"], TERM)
    assert taken.value.code == "seat_taken" and taken.value.field == "first"
