"""The consent process against the real database: every effect written, the database's own
guards, concurrency (positions at the same moment, decision numbers), the deadline task."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from consentir.consent import rules, store
from consentir.consent.deadlines import run_due
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.decisions import store as decisions
from consentir.decisions.store import Filters
from consentir.spaces.store import Space
from tests.process import act, new_proposal, person, to_object_round
from tests.scenario import Scenario

DRAFT = Content(
    title="Réunions mensuelles",
    driver="Nous nous voyons trop peu.",
    body="Une réunion chaque premier lundi du mois.",
)


async def load(pool: asyncpg.Pool, space: Space, proposal_id: int) -> rules.Proposal:
    async with pool.acquire() as conn:
        return (await store.load(conn, space.id, proposal_id)).state


async def test_a_proposal_goes_from_draft_to_a_numbered_decision(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposer, facilitator = person(world, "member"), person(world, "facilitator")
    admin, target = person(world, "admin"), person(world, "target")
    proposal_id = await new_proposal(pool, alpha, world, DRAFT)
    await act(pool, alpha, proposal_id, proposer, rules.Submit(frozenset()))
    state = await load(pool, alpha, proposal_id)
    assert state.stage is rules.Stage.CLARIFY
    assert state.round is not None
    # The list is frozen from the space: signed members, the proposer and `unsigned` left out.
    assert state.round.eligible == {admin.user_id, facilitator.user_id, target.user_id}

    await act(pool, alpha, proposal_id, target, rules.AskQuestion(), Content(text="Quel lieu ?"))
    question = (await load(pool, alpha, proposal_id)).questions[0]
    with pytest.raises(rules.RuleViolation) as refused:
        await act(pool, alpha, proposal_id, facilitator, rules.Advance(frozenset()))
    assert refused.value.code == "questions_unanswered"
    await act(
        pool,
        alpha,
        proposal_id,
        proposer,
        rules.AnswerQuestion(question.id),
        Content(text="La salle des fêtes."),
    )
    await act(pool, alpha, proposal_id, facilitator, rules.Advance(frozenset()))
    await act(pool, alpha, proposal_id, target, rules.React(), Content(text="Bonne idée."))
    await act(pool, alpha, proposal_id, admin, rules.React(passed=True))
    await act(pool, alpha, proposal_id, facilitator, rules.Advance(frozenset()))

    await act(pool, alpha, proposal_id, admin, rules.GivePosition(admin.user_id, Stance.CONSENT, 1))
    await act(
        pool,
        alpha,
        proposal_id,
        facilitator,
        rules.GivePosition(facilitator.user_id, Stance.CONCERN, 1, "Le lundi est chargé."),
    )
    await act(
        pool,
        alpha,
        proposal_id,
        target,
        rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Je travaille le lundi."),
    )
    objection = (await load(pool, alpha, proposal_id)).objections[0]
    await act(
        pool,
        alpha,
        proposal_id,
        facilitator,
        rules.JudgeObjection(objection.id, valid=True, reason="Elle exclut un membre."),
    )
    await act(pool, alpha, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    assert (await load(pool, alpha, proposal_id)).stage is rules.Stage.INTEGRATE

    version_2 = Content(
        driver=DRAFT.driver,
        body="Une réunion chaque premier mardi du mois.",
        note="Le mardi, pour que chacun puisse venir.",
    )
    await act(
        pool,
        alpha,
        proposal_id,
        proposer,
        rules.PublishVersion(frozenset({objection.id})),
        version_2,
    )
    await act(pool, alpha, proposal_id, facilitator, rules.OpenObjectRound(frozenset()))
    for who in (admin, facilitator, target):
        await act(pool, alpha, proposal_id, who, rules.GivePosition(who.user_id, Stance.CONSENT, 2))
    result = await act(pool, alpha, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    assert any(isinstance(effect, rules.Adopted) for effect in result.effects)

    async with pool.acquire() as conn:
        year = datetime.now(UTC).year
        decision = await decisions.by_number(conn, alpha.id, f"AL-{year}-001")
        assert decision["version"] == 2 and "mardi" in decision["body"]
        row = await conn.fetchrow(
            "SELECT status, answered_in, proposer_confirmed_at, objector_confirmed_at, judgement"
            " FROM objections WHERE id = $1",
            objection.id,
        )
        assert row["status"] == "integrated" and row["answered_in"] == 2
        assert row["proposer_confirmed_at"] and row["objector_confirmed_at"]
        assert row["judgement"] == "Elle exclut un membre."
        # Every position names its round's version; the changed ones are kept.
        mismatched = await conn.fetchval(
            "SELECT count(*) FROM positions p JOIN rounds r ON r.id = p.round_id"
            " WHERE p.version <> r.version"
        )
        assert mismatched == 0
        events = await conn.fetch(
            "SELECT action, data FROM journal WHERE subject_type = 'proposal' AND subject_id = $1"
            " ORDER BY id",
            proposal_id,
        )
        assert events[0]["action"] == "proposal.created"
        assert events[-1]["data"]["decision"] == f"AL-{year}-001"
        assert len(events) == 19
        found, _ = await decisions.register(conn, alpha.id, Filters(q="reunion mardi"))
        assert [d.number for d in found] == [f"AL-{year}-001"]
        found, _ = await decisions.register(conn, alpha.id, Filters(q="décisions lundi"))
        assert found == []


async def test_the_database_refuses_what_the_rules_forbid(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, DRAFT)
    outsider = world.user_ids["outsider"]
    async with pool.acquire() as conn:
        round_id = await conn.fetchval(
            "SELECT id FROM rounds WHERE proposal_id = $1 AND closed_at IS NULL", proposal_id
        )
        # Not on the round's list.
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                "INSERT INTO positions (round_id, version, user_id, stance, recorded_by)"
                " VALUES ($1, 1, $2, 'consent', $2)",
                round_id,
                outsider,
            )
        # A version the round is not about.
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(
                "INSERT INTO positions (round_id, version, user_id, stance, recorded_by)"
                " VALUES ($1, 2, $2, 'consent', $2)",
                round_id,
                world.user_ids["admin"],
            )
        # An objection without its reason.
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO positions (round_id, version, user_id, stance, recorded_by)"
                " VALUES ($1, 1, $2, 'objection', $2)",
                round_id,
                world.user_ids["admin"],
            )
        # Two current positions for one person in one round.
        insert = (
            "INSERT INTO positions (round_id, version, user_id, stance, recorded_by)"
            " VALUES ($1, 1, $2, 'consent', $2)"
        )
        await conn.execute(insert, round_id, world.user_ids["admin"])
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, round_id, world.user_ids["admin"])
        # A published version never changes.
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute(
                "UPDATE proposal_versions SET body = 'x' WHERE proposal_id = $1", proposal_id
            )
        # A closed round takes no more answers.
        await conn.execute(
            "UPDATE rounds SET closed_at = now(), outcome = 'ended' WHERE id = $1", round_id
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, round_id, world.user_ids["target"])


async def test_positions_at_the_same_moment_are_all_kept(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, DRAFT)
    people = [person(world, role) for role in ("admin", "facilitator", "target")]
    await asyncio.gather(
        *(
            act(pool, alpha, proposal_id, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1))
            for who in people
        )
    )
    state = await load(pool, alpha, proposal_id)
    assert state.round is not None and state.round.missing == frozenset()


async def test_a_stale_position_is_refused_and_names_the_rule(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, DRAFT)
    await act(
        pool,
        alpha,
        proposal_id,
        person(world, "member"),
        rules.PublishVersion(),
        Content(driver="Pourquoi", body="Texte 2", note="précision"),
    )
    admin = person(world, "admin")
    with pytest.raises(rules.RuleViolation) as refused:
        await act(
            pool, alpha, proposal_id, admin, rules.GivePosition(admin.user_id, Stance.CONSENT, 1)
        )
    assert refused.value.code == "stale_version" and refused.value.status == 409
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM positions") == 0


async def test_fifty_adoptions_at_once_take_fifty_consecutive_numbers(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    ids = []
    for _ in range(50):
        proposal_id = await to_object_round(pool, alpha, world, DRAFT)
        for role in ("admin", "facilitator", "target"):
            who = person(world, role)
            await act(
                pool, alpha, proposal_id, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1)
            )
        ids.append(proposal_id)
    facilitator = person(world, "facilitator")
    results = await asyncio.gather(
        *(act(pool, alpha, pid, facilitator, rules.CloseRound(datetime.now(UTC))) for pid in ids),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    async with pool.acquire() as conn:
        seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM decisions ORDER BY seq")]
    assert seqs == list(range(1, 51))


async def test_the_deadline_closes_rounds_as_the_space_says(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, DRAFT)
    admin, facilitator = person(world, "admin"), person(world, "facilitator")
    now = datetime.now(UTC)
    await act(
        pool, alpha, proposal_id, facilitator, rules.SetDeadline(now + timedelta(hours=1), now)
    )
    await act(pool, alpha, proposal_id, admin, rules.GivePosition(admin.user_id, Stance.CONSENT, 1))
    # Silence is not consent in alpha: past the deadline the round stays open, marked overdue.
    assert await run_due(pool, now + timedelta(hours=2)) == 0
    assert (await load(pool, alpha, proposal_id)).stage is rules.Stage.OBJECT
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM rounds WHERE overdue_at IS NOT NULL") == 1
        await conn.execute("UPDATE spaces SET silence_is_consent = true WHERE id = $1", alpha.id)
    await act(
        pool, alpha, proposal_id, facilitator, rules.SetDeadline(now + timedelta(hours=1), now)
    )
    # Two workers at once: one closes it, the other finds nothing to do.
    closed = await asyncio.gather(
        run_due(pool, now + timedelta(hours=2)), run_due(pool, now + timedelta(hours=2))
    )
    assert sorted(closed) == [0, 1]
    assert (await load(pool, alpha, proposal_id)).stage is rules.Stage.ADOPTED
    async with pool.acquire() as conn:
        silent = await conn.fetchval("SELECT count(*) FROM positions WHERE silent")
        assert silent == 2


def test_review_dates_fall_on_the_same_day_months_later() -> None:
    from datetime import date

    assert decisions.add_months(date(2026, 11, 23), 6) == date(2027, 5, 23)
    assert decisions.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert decisions.add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert decisions.add_months(date(2026, 1, 30), 1) == date(2026, 2, 28)
    assert decisions.add_months(date(2026, 12, 1), 12) == date(2027, 12, 1)


async def test_a_restarted_round_drops_a_deadline_already_past(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, DRAFT)
    now = datetime.now(UTC)
    await act(pool, alpha, proposal_id, person(world, "facilitator"),
              rules.SetDeadline(now + timedelta(hours=1), now))  # fmt: skip
    async with pool.acquire() as conn:  # an hour later, the deadline has passed
        await conn.execute(
            "UPDATE rounds SET deadline = now() - interval '1 minute' WHERE proposal_id = $1",
            proposal_id,
        )
    await act(pool, alpha, proposal_id, person(world, "member"), rules.PublishVersion(),
              Content(driver="Pourquoi", body="Texte 2"))  # fmt: skip
    async with pool.acquire() as conn:
        deadline = await conn.fetchval(
            "SELECT deadline FROM rounds WHERE closed_at IS NULL AND proposal_id = $1", proposal_id
        )
    assert deadline is None
