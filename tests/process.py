"""Taking proposals through the consent process from tests, through the store."""

from __future__ import annotations

import asyncpg

from consentir import db
from consentir.consent import rules, store
from consentir.consent.rules import Actor
from consentir.consent.store import Content
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
