"""Choosing a cause's scenario by consent, through the stores end to end (issue 12 §4):
questions per scenario, sealed preferences, the change round, a proposed scenario, an
objection integrated by a new scenario version, and the adoption that names the chosen
version, sets the others aside and creates the action list in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from consentir import db
from consentir.causes import choice_view, proposing, scenarios
from consentir.causes import store as causes
from consentir.causes.scenarios import ScenarioText
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.rules import RuleViolation, Stage, Stance
from consentir.consent.store import Content
from consentir.decisions import trail
from consentir.errors import DomainError
from consentir.spaces.store import Space
from tests.causes_setup import (
    adopt,
    choose,
    draft_scenario,
    open_choice,
    planned_cause,
    taken_on_cause,
)
from tests.process import act, person
from tests.scenario import Scenario

NOW = datetime.now(UTC)


async def state(pool: asyncpg.Pool, alpha: Space, proposal_id: int) -> rules.Proposal:
    async with pool.acquire() as conn:
        return (await proposals.load(conn, alpha.id, proposal_id)).state


async def test_a_choice_runs_on_the_consent_engine(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, criterion = await planned_cause(pool, alpha, world)
    a = await draft_scenario(pool, alpha, world, cause_id, criterion, "Piste peinte")
    b = await draft_scenario(
        pool,
        alpha,
        world,
        cause_id,
        criterion,
        "Piste séparée",
        actions=("Chiffrer les plots", "Réunir les riverains", "Voter"),
    )
    proposal_id = await open_choice(pool, alpha, world, cause_id)
    p = await state(pool, alpha, proposal_id)
    assert p.stage is Stage.CLARIFY and p.ballot is not None and not p.ballot.of_people
    assert p.ballot.eligible == {a, b}
    assert world.user_ids["facilitator"] in p.ballot.participants  # the one who opened it too
    facilitator, member = person(world, "facilitator"), person(world, "member")

    # A question about scenario B, answered by who opened the choice.
    await act(pool, alpha, proposal_id, member, rules.AskQuestion(),
              Content(text="Combien coûtent les plots ?", scenario=b))  # fmt: skip
    async with pool.acquire() as conn:
        asked = await conn.fetchrow(
            "SELECT id, scenario_id FROM questions WHERE proposal_id = $1", proposal_id
        )
    assert asked["scenario_id"] == b
    with pytest.raises(RuleViolation) as refused:
        await act(
            pool,
            alpha,
            proposal_id,
            facilitator,
            rules.Advance(frozenset(), (await state(pool, alpha, proposal_id)).revision),
        )
    assert refused.value.rule is rules.Rule.QUESTIONS_UNANSWERED
    await act(pool, alpha, proposal_id, facilitator, rules.AnswerQuestion(asked["id"]),
              Content(text="Environ 3 000 €."))  # fmt: skip
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator, rules.Advance(frozenset(), p.revision))
    p = await state(pool, alpha, proposal_id)
    assert p.stage is Stage.NOMINATE

    # Sealed preferences: each sees only their own.
    await act(pool, alpha, proposal_id, member, rules.Nominate(b, "Plus sûr."))
    await act(pool, alpha, proposal_id, person(world, "admin"), rules.Nominate(a, "Rapide."))
    async with pool.acquire() as conn:
        p = await state(pool, alpha, proposal_id)
        mine = await choice_view.choice_context(conn, p, proposal_id, world.user_ids["member"])
        other = await choice_view.choice_context(conn, p, proposal_id, world.user_ids["target"])
    assert mine is not None and other is not None and mine["sealed"]
    assert [c.voter_id for _, casts in mine["groups"] for c in casts] == [world.user_ids["member"]]
    assert other["groups"] == []
    # A scenario outside the choice is refused by PostgreSQL too, even bypassing the rules.
    async with pool.acquire() as conn:
        round_id = await conn.fetchval(
            "SELECT id FROM rounds WHERE proposal_id = $1 AND closed_at IS NULL", proposal_id
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                """INSERT INTO preferences (proposal_id, round_id, voter_id, scenario_id, reason)
                   VALUES ($1, $2, $3, $4, 'x')""",
                proposal_id, round_id, world.user_ids["target"], 999999,
            )  # fmt: skip
    for role in ("facilitator", "target"):
        await act(pool, alpha, proposal_id, person(world, role), rules.Nominate(b, "Sûr."))
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator, rules.Reveal(NOW, p.revision))
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator, rules.OpenChangeRound(p.revision))
    await act(pool, alpha, proposal_id, person(world, "admin"), rules.Nominate(b, "Convaincue."))
    async with pool.acquire() as conn:
        p = await state(pool, alpha, proposal_id)
        shown = await choice_view.choice_context(conn, p, proposal_id, world.user_ids["target"])
    assert shown is not None and not shown["sealed"]
    assert [scenario for scenario, _ in shown["groups"]] == [b]
    assert [e.voter_id for e in shown["earlier"]] == [world.user_ids["admin"]]  # kept

    # The facilitator proposes B: the version names B's current version.
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator,
              rules.ProposeHolder(b, "Les raisons vont vers B.", p.revision))  # fmt: skip
    p = await state(pool, alpha, proposal_id)
    assert p.stage is Stage.OBJECT and p.version == 2
    async with pool.acquire() as conn:
        b1 = await scenarios.latest_version_id(conn, b)
        named = await conn.fetchval(
            "SELECT scenario_version_id FROM proposal_versions"
            " WHERE proposal_id = $1 AND number = 2", proposal_id)  # fmt: skip
        body = await conn.fetchval(
            "SELECT body FROM proposal_versions WHERE proposal_id = $1 AND number = 2",
            proposal_id)  # fmt: skip
    assert named == b1
    assert "Chiffrer les plots" in body and "Les raisons vont vers B." in body

    # An objection, judged valid, integrated by a new version of B, proposed again.
    await act(pool, alpha, proposal_id, person(world, "target"),
              rules.GivePosition(world.user_ids["target"], Stance.OBJECTION, 2,
                                 "Rien pour les piétons."))  # fmt: skip
    for role in ("admin", "facilitator", "member"):
        await act(pool, alpha, proposal_id, person(world, role),
                  rules.GivePosition(world.user_ids[role], Stance.CONSENT, 2))  # fmt: skip
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator,
              rules.JudgeObjection(p.objections[0].id, True, "Fondée.", p.revision))  # fmt: skip
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator, rules.CloseRound(NOW, p.revision))
    async with db.transaction(pool) as conn:
        current = await scenarios.scenario(conn, cause_id, b)
        written = await scenarios.add_version(
            conn, alpha.id, cause_id, b, world.user_ids["facilitator"],
            ScenarioText(summary="Piste séparée et traversée piétonne.",
                         note="Intègre l'objection : une traversée piétonne.",
                         actions=[scenarios.ActionIn(what="Peindre la traversée")]),
        )  # fmt: skip
    assert current is not None and written.number == 2
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator,
              rules.ProposeHolder(b, "La version 2 ajoute la traversée.", p.revision))  # fmt: skip
    p = await state(pool, alpha, proposal_id)
    assert p.version == 3 and p.objections[0].answered_in == 3
    for role in ("admin", "facilitator", "member", "target"):
        await act(pool, alpha, proposal_id, person(world, role),
                  rules.GivePosition(world.user_ids[role], Stance.CONSENT, 3))  # fmt: skip
    p = await state(pool, alpha, proposal_id)
    await act(pool, alpha, proposal_id, facilitator, rules.CloseRound(NOW, p.revision))

    # Adopted: the decision names B version 2; A is set aside; the action list is B v2's.
    async with pool.acquire() as conn:
        decision = await conn.fetchrow(
            """SELECT d.id, v.scenario_version_id FROM decisions d
               JOIN proposal_versions v ON v.proposal_id = d.proposal_id AND v.number = d.version
               WHERE d.proposal_id = $1""", proposal_id)  # fmt: skip
        aside = await conn.fetch(
            "SELECT id FROM scenarios WHERE cause_id = $1 AND set_aside_at IS NOT NULL", cause_id
        )
        items = await conn.fetch(
            "SELECT what, decision_id FROM action_items WHERE cause_id = $1", cause_id
        )
        cause = await causes.cause(conn, alpha.id, cause_id)
        events = await conn.fetch(
            "SELECT action FROM journal WHERE subject_type = 'cause' AND subject_id = $1",
            cause_id)  # fmt: skip
    assert decision["scenario_version_id"] == written.version_id
    assert [r["id"] for r in aside] == [a]
    assert [(r["what"], r["decision_id"]) for r in items] == [("Peindre la traversée",
                                                              decision["id"])]  # fmt: skip
    assert cause.facts.scenario_chosen
    assert "cause.scenario_chosen" in [e["action"] for e in events]


async def test_a_choice_waits_for_the_plan_and_for_a_scenario(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id = await taken_on_cause(pool, alpha, world)
    with pytest.raises(DomainError) as refused:
        await open_choice(pool, alpha, world, cause_id)
    assert refused.value.code == "no_objective"
    planned, _criterion = await planned_cause(pool, alpha, world)
    with pytest.raises(DomainError) as empty:
        await open_choice(pool, alpha, world, planned)  # no scenario yet
    assert empty.value.code == "no_scenario"


async def test_one_choice_at_a_time_and_adoption_notifies_followers(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, criterion = await planned_cause(pool, alpha, world)
    a = await draft_scenario(pool, alpha, world, cause_id, criterion, "Piste")
    proposal_id = await open_choice(pool, alpha, world, cause_id)
    with pytest.raises(DomainError) as second:
        await open_choice(pool, alpha, world, cause_id)
    assert second.value.code == "cause_proposal_under_way"
    async with db.transaction(pool) as conn:  # target follows the cause
        await causes.follow(conn, alpha.id, cause_id, world.user_ids["target"], on=True)
    number = await choose(pool, alpha, world, proposal_id, a)
    async with pool.acquire() as conn:
        told = await conn.fetch(
            "SELECT kind, data FROM notifications WHERE user_id = $1 AND link = $2",
            world.user_ids["target"], f"/s/alpha/causes/{cause_id}")  # fmt: skip
    kinds = {r["kind"]: r["data"] for r in told}
    assert kinds["cause_decision"]["number"] == number
    assert "cause_step" in kinds  # the evaluation opens


async def test_the_decision_trail_keeps_the_preferences(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, criterion = await planned_cause(pool, alpha, world)
    a = await draft_scenario(pool, alpha, world, cause_id, criterion, "Piste")
    proposal_id = await open_choice(pool, alpha, world, cause_id)
    number = await choose(pool, alpha, world, proposal_id, a)
    async with pool.acquire() as conn:
        kept = await trail.decision_trail(conn, alpha.id, number)
    preferred = [p for r in kept.rounds for p in r.preferences]
    assert preferred and all(p.nominee == "A — Piste" for p in preferred)
    assert {p.reason for p in preferred} == {"Le plus sûr."}
    assert "Scénario A, version 1 : « Piste »." in kept.body  # the proposal's text, in French


async def test_a_new_choice_once_an_evaluation_reopens_the_plan(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    """Chosen once: a second choice is refused, until an evaluation adopted reopens the
    plan; then the chosen scenario's new version is chosen again, and its actions make the
    cause's current action list (the first list kept)."""
    cause_id, criterion = await planned_cause(pool, alpha, world)
    a = await draft_scenario(pool, alpha, world, cause_id, criterion, "Piste")
    first = await open_choice(pool, alpha, world, cause_id)
    await choose(pool, alpha, world, first, a)
    with pytest.raises(DomainError) as refused:
        await open_choice(pool, alpha, world, cause_id)
    assert refused.value.code == "plan_already_chosen"
    async with db.transaction(pool) as conn:  # an evaluation that keeps the plan: still no
        cause = await causes.lock(conn, alpha.id, cause_id)
        kept = await proposing.propose(
            conn,
            alpha,
            person(world, "member"),
            cause,
            "evaluation",
            Content(title="Bilan", driver="Évaluer.", body="Rien ne change."),
        )
    await adopt(pool, alpha, world, kept)
    with pytest.raises(DomainError):
        await open_choice(pool, alpha, world, cause_id)
    async with db.transaction(pool) as conn:
        cause = await causes.lock(conn, alpha.id, cause_id)
        reopening = await proposing.propose(
            conn, alpha, person(world, "member"), cause, "evaluation",
            Content(title="Bilan 2", driver="Évaluer.", body="Le plan change."), reopens_plan=True,
        )  # fmt: skip
    await adopt(pool, alpha, world, reopening)
    async with db.transaction(pool) as conn:
        assert (await causes.cause(conn, alpha.id, cause_id)).facts.plan_reopened
        await scenarios.add_version(
            conn, alpha.id, cause_id, a, world.user_ids["member"],
            ScenarioText(summary="Piste, et comptages chaque semaine.", note="Plus de mesures.",
                         actions=[scenarios.ActionIn(what="Compter chaque semaine")]),
        )  # fmt: skip
    second = await open_choice(pool, alpha, world, cause_id)
    await choose(pool, alpha, world, second, a)
    async with pool.acquire() as conn:
        lists = await conn.fetch(
            """SELECT d.proposal_id, array_agg(i.what ORDER BY i.position) AS actions
               FROM action_items i JOIN decisions d ON d.id = i.decision_id
               WHERE i.cause_id = $1 GROUP BY d.proposal_id ORDER BY d.proposal_id""",
            cause_id,
        )
        facts = (await causes.cause(conn, alpha.id, cause_id)).facts
    assert [(r["proposal_id"], r["actions"]) for r in lists] == [
        (first, ["Compter les vélos", "Écrire à la mairie"]),
        (second, ["Compter chaque semaine"]),
    ]
    assert not facts.plan_reopened  # chosen again
