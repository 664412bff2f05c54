"""Taking proposals through the consent process from tests, through the store."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from consentir import db
from consentir.consent import rules, store
from consentir.consent.rules import Actor
from consentir.consent.store import Content
from consentir.meetings import store as meetings
from consentir.meetings.rules import Presence, State
from consentir.spaces.store import Space
from tests.scenario import Scenario


def person(world: Scenario, role: str) -> Actor:
    """A scenario member as the rules see them in space alpha."""
    facilitates = role in ("facilitator", "admin")
    return Actor(world.user_ids[role], may_participate=True, may_facilitate=facilitates)


async def act(
    pool: asyncpg.Pool,
    space: Space,
    proposal_id: int,
    actor: Actor,
    action: rules.Action,
    content: Content | None = None,
) -> rules.Step:
    """One step, in its own transaction."""
    async with db.transaction(pool) as conn:
        return await store.act(conn, space, proposal_id, actor, action, content)


async def new_proposal(pool: asyncpg.Pool, space: Space, world: Scenario, text: Content) -> int:
    """A draft of member's."""
    async with db.transaction(pool) as conn:
        return await store.create(conn, space, person(world, "member"), text)


async def to_object_round(pool: asyncpg.Pool, space: Space, world: Scenario, text: Content) -> int:
    """A proposal of member's, submitted and moved on by the facilitator to its objection
    round on version 1 (admin, facilitator and target on the list)."""
    proposal_id = await new_proposal(pool, space, world, text)
    facilitator = person(world, "facilitator")
    await act(pool, space, proposal_id, person(world, "member"), rules.Submit(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    return proposal_id


async def open_meeting(
    pool: asyncpg.Pool, space: Space, world: Scenario, present: tuple[str, ...]
) -> int:
    """A meeting of the space, run by the facilitator, open now with `present` recorded
    present (an information item only: it runs no proposal)."""
    facilitator = world.user_ids["facilitator"]
    async with db.transaction(pool) as conn:
        plan = meetings.Plan("Séance", datetime.now(UTC), 60, "", "", facilitator, None,
                             [meetings.NewItem("information", "Nouvelles")])  # fmt: skip
        meeting_id = await meetings.create(conn, space.id, facilitator, plan)
        meeting = await meetings.load(conn, space.id, meeting_id)
        await meetings.set_state(conn, meeting, State.OPEN, datetime.now(UTC))
        for role in present:
            await meetings.set_presence(conn, meeting, world.user_ids[role], Presence.PRESENT)
    return meeting_id
