"""Causes for tests, built through the stores and the consent engine (never by hand in SQL):
a cause proposed, taken on by decision, and any proposal of it adopted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg

from consentir import db
from consentir.causes import proposing
from consentir.causes import store as causes
from consentir.causes.store import CauseText, Purpose
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.store import Content
from consentir.spaces.store import Space
from tests.process import person
from tests.scenario import Scenario

MEETS = (
    "Se déplacer sans danger est une question de justice.",
    "Douze parents et l'association de quartier.",
    "Deux écoles et un collège desservis.",
)


async def new_cause(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, title: str = "Piste cyclable rue Paul-Bert"
) -> int:
    """A cause proposed by member in alpha (not taken on)."""
    async with db.transaction(pool) as conn:
        text = CauseText(title=title, territory="Lyon 3e", theme="mobility",
                         summary="Sécuriser le trajet des écoliers à vélo.")  # fmt: skip
        return await causes.create(conn, alpha.id, world.user_ids["member"], text)


async def adopt(pool: asyncpg.Pool, alpha: Space, world: Scenario, proposal_id: int) -> str:
    """Take a draft of member's through the process to adoption (everyone consents); its
    decision's number."""
    facilitator = person(world, "facilitator")
    async with db.transaction(pool) as conn:
        act = proposals.act
        await act(conn, alpha, proposal_id, person(world, "member"), rules.Submit(frozenset()))
        await act(conn, alpha, proposal_id, facilitator, rules.Advance(frozenset()))
        await act(conn, alpha, proposal_id, facilitator, rules.Advance(frozenset()))
        version = (await proposals.load(conn, alpha.id, proposal_id)).state.version
        for role in ("admin", "facilitator", "target"):
            consent = rules.GivePosition(world.user_ids[role], rules.Stance.CONSENT, version)
            await act(conn, alpha, proposal_id, person(world, role), consent)
        await act(conn, alpha, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
        return str(await conn.fetchval(
            "SELECT number FROM decisions WHERE proposal_id = $1", proposal_id))  # fmt: skip


async def propose(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int, purpose: Purpose,
    title: str = "", meets: tuple[str, str, str] | None = None,
) -> int:  # fmt: skip
    """A draft proposal of member's for the cause."""
    async with db.transaction(pool) as conn:
        cause = await causes.lock(conn, alpha.id, cause_id)
        content = Content(title=title or f"{purpose}: {cause.title}", driver="Pour la cause.",
                          body="Texte de la proposition.")  # fmt: skip
        return await proposing.propose(
            conn, alpha, person(world, "member"), cause, purpose, content, meets=meets
        )


async def taken_on_cause(pool: asyncpg.Pool, alpha: Space, world: Scenario, title: str = "") -> int:
    """A cause of alpha's, taken on by decision."""
    cause_id = await new_cause(pool, alpha, world, *([title] if title else []))
    proposal_id = await propose(pool, alpha, world, cause_id, "take_on", meets=MEETS)
    await adopt(pool, alpha, world, proposal_id)
    return cause_id


async def planned_cause(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> tuple[int, int]:
    """A cause taken on, with one objective and a complete number criterion adopted by
    decision: its plan is open. (cause id, criterion id)"""
    from consentir.causes import objectives  # (written with the objectives' part)
    from consentir.causes.objectives import CriterionText, ObjectiveText

    cause_id = await taken_on_cause(pool, alpha, world)
    member = world.user_ids["member"]
    async with db.transaction(pool) as conn:
        objective_id = await objectives.add_objective(
            conn, alpha.id, cause_id, member,
            ObjectiveText("short", "Des trajets sûrs", "Les enfants vont à l'école à vélo."),
        )  # fmt: skip
        criterion_id = await objectives.add_criterion(
            conn, alpha.id, cause_id, objective_id, member,
            CriterionText(name="Enfants à vélo", kind="number", unit="enfants",
                          baseline=Decimal(4), baseline_on=date(2026, 9, 1),
                          target=Decimal(40), target_on=date(2027, 6, 1),
                          source="Comptage devant l'école", method="Un matin par mois"),
        )  # fmt: skip
        proposal_id = await objectives.propose(conn, alpha, person(world, "member"), cause_id)
    await adopt(pool, alpha, world, proposal_id)
    return cause_id, criterion_id


async def draft_scenario(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int, criterion_id: int,
    title: str, actions: tuple[str, ...] = ("Compter les vélos", "Écrire à la mairie"),
) -> int:  # fmt: skip
    """A scenario of member's with its version 1 and its actions; its id."""
    from consentir.causes import scenarios
    from consentir.causes.scenarios import ActionIn, ScenarioText

    text = ScenarioText(
        title=title, summary=f"Résumé : {title}.", assumptions="La mairie écoute.",
        risks="Le budget manque.",
        actions=[ActionIn(what=what, who_user=world.user_ids["member"], criteria=[criterion_id],
                          due_on=date(2027, 1, 15), cost=Decimal("120.50"))
                 for what in actions],
    )  # fmt: skip
    async with db.transaction(pool) as conn:
        written = await scenarios.create(conn, alpha.id, cause_id, world.user_ids["member"], text)
    return written.scenario_id


async def open_choice(pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int) -> int:
    """The cause's scenario choice, opened by the facilitator and submitted (clarify)."""
    from consentir.causes import choosing

    facilitator = person(world, "facilitator")
    async with db.transaction(pool) as conn:
        cause = await causes.lock(conn, alpha.id, cause_id)
        content = Content(title="Choix du plan", driver="Choisir.", body="Le choix.")
        proposal_id = await choosing.open_choice(conn, alpha, facilitator, cause, content)
        await proposals.act(conn, alpha, proposal_id, facilitator, rules.Submit(frozenset()))
    return proposal_id


async def choose(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, proposal_id: int, scenario_id: int
) -> str:
    """Run an open choice to the adoption of `scenario_id`: everyone prefers it, the
    facilitator proposes it, everyone consents. The decision's number."""
    facilitator = person(world, "facilitator")
    now = datetime.now(UTC)
    async with db.transaction(pool) as conn:
        act = proposals.act
        revision = (await proposals.load(conn, alpha.id, proposal_id)).state.revision
        await act(conn, alpha, proposal_id, facilitator, rules.Advance(frozenset(), revision))
        listed = (await proposals.load(conn, alpha.id, proposal_id)).state.round
        assert listed is not None
        for user_id in sorted(listed.eligible):
            role = next(r for r, u in world.user_ids.items() if u == user_id)
            await act(conn, alpha, proposal_id, person(world, role),
                      rules.Nominate(scenario_id, "Le plus sûr."))  # fmt: skip
        state = (await proposals.load(conn, alpha.id, proposal_id)).state
        await act(conn, alpha, proposal_id, facilitator, rules.Reveal(now, state.revision))
        state = (await proposals.load(conn, alpha.id, proposal_id)).state
        await act(
            conn,
            alpha,
            proposal_id,
            facilitator,
            rules.ProposeHolder(scenario_id, "Tout le monde le préfère.", state.revision),
        )
        state = (await proposals.load(conn, alpha.id, proposal_id)).state
        assert state.round is not None
        for user_id in sorted(state.round.eligible):
            role = next(r for r, u in world.user_ids.items() if u == user_id)
            consent = rules.GivePosition(user_id, rules.Stance.CONSENT, state.version)
            await act(conn, alpha, proposal_id, person(world, role), consent)
        state = (await proposals.load(conn, alpha.id, proposal_id)).state
        await act(conn, alpha, proposal_id, facilitator, rules.CloseRound(now, state.revision))
        return str(await conn.fetchval(
            "SELECT number FROM decisions WHERE proposal_id = $1", proposal_id))  # fmt: skip


async def chosen_cause(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> tuple[int, int]:
    """A cause whose scenario A was chosen by decision: its action list exists and its
    evaluation is open. (cause id, criterion id)"""
    cause_id, criterion_id = await planned_cause(pool, alpha, world)
    scenario_id = await draft_scenario(pool, alpha, world, cause_id, criterion_id, "Piste")
    proposal_id = await open_choice(pool, alpha, world, cause_id)
    await choose(pool, alpha, world, proposal_id, scenario_id)
    return cause_id, criterion_id


async def evaluated_cause(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> int:
    """A cause whose scenario was chosen and whose evaluation was adopted by decision: its
    celebration is open."""
    cause_id, _criterion = await chosen_cause(pool, alpha, world)
    await adopt(pool, alpha, world, await propose(pool, alpha, world, cause_id, "evaluation"))
    return cause_id
