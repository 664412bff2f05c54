"""A cause's celebration in PostgreSQL (table `celebrations`, one row per cause,
sql/migrations/0018_causes.sql): the event that ends the journey with every stakeholder
(issue 12 §5): its day, its place, the actors invited (among the cause's actors: a private
individual by their group label only, as everywhere), and the story of the cause (Markdown,
sanitised when shown). The members invited are everyone who follows or carries the cause
(`cause_people`): not stored twice.

It may be prepared only once the celebration step is open (an evaluation decision adopted:
`store.require(…, Step.CELEBRATE)`, with the cause locked, in the write's transaction), by
those who carry the cause and the facilitators, who may act in the space; its journal event
last ("cause.celebration_planned", the first time and at every change).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec

from consentir.causes import following, rules, store
from consentir.causes.store import Cause
from consentir.consent.rules import Actor
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.notifications.kinds import Kind

MAX_PEOPLE = 300  # names the page lists of those invited (the count says the rest)

NOT_CARRIER = N_("Only those who carry the cause and the facilitators prepare its celebration.")
NOT_AN_ACTOR = N_("Choose among the actors of this cause.")


class CelebrationText(msgspec.Struct, frozen=True, kw_only=True):
    """The celebration as written: its day, its place, the actors invited (ids of the cause's
    actors), the story of the cause (Markdown)."""

    held_on: date
    place: str
    story: str = ""
    invited: list[int] = msgspec.field(default_factory=list)


class Celebration(msgspec.Struct, frozen=True):
    cause_id: int
    held_on: date
    place: str
    story: str
    invited: list[int]  # actor ids, as chosen (an actor is never deleted)
    updated_by: str  # who wrote it last (a member's name)
    updated_at: datetime


class Invited(msgspec.Struct, frozen=True):
    """Who follows or carries the cause: everyone invited, by name (the first MAX_PEOPLE),
    and how many they are."""

    names: list[tuple[str, bool]]  # (name, carries the cause), those who carry it first
    count: int


def may_prepare(cause: Cause, actor: Actor) -> bool:
    """Whether `actor` may prepare the celebration: a facilitator, or one who carries the
    cause, who may act in the space."""
    return actor.may_participate and (actor.may_facilitate or actor.user_id in cause.carried_by)


_CELEBRATION = """
SELECT c.cause_id, c.held_on, c.place, c.story, c.invited, u.name AS updated_by, c.updated_at
FROM celebrations c JOIN users u ON u.id = c.updated_by
WHERE c.cause_id = $1
"""


async def celebration(conn: Connection, cause_id: int) -> Celebration | None:
    """The cause's celebration, if it is prepared (one statement)."""
    row = await conn.fetchrow(_CELEBRATION, cause_id)
    if row is None:
        return None
    return Celebration(**{**dict(row), "invited": list(row["invited"])})


async def invited_people(conn: Connection, cause_id: int) -> Invited:
    """Everyone who follows or carries the cause, those who carry it first, then by name
    (one statement; at most MAX_PEOPLE names, and their number)."""
    rows = await conn.fetch(
        """SELECT u.name, cp.carries, count(*) OVER () AS total
           FROM cause_people cp JOIN users u ON u.id = cp.user_id
           WHERE cp.cause_id = $1
           ORDER BY cp.carries DESC, u.name, u.id
           LIMIT $2""",
        cause_id,
        MAX_PEOPLE,
    )
    return Invited([(r["name"], r["carries"]) for r in rows], rows[0]["total"] if rows else 0)


async def plan(
    conn: Connection, space_id: int, cause_id: int, actor: Actor, text: CelebrationText
) -> None:
    """Prepare the celebration, or change it (in the caller's transaction): the cause of this
    space locked, its celebration step open (refused otherwise, naming the rule), by one who
    carries it or a facilitator (403 in words otherwise); the actors invited, the cause's
    (422 naming `invited` otherwise). Journalled last."""
    cause = await store.require(conn, space_id, cause_id, rules.Step.CELEBRATE)
    if not may_prepare(cause, actor):
        raise DomainError("celebration_refused", NOT_CARRIER, status=403)
    invited = sorted(set(text.invited))
    if invited:
        known = await conn.fetchval(
            "SELECT count(*) FROM actors WHERE cause_id = $1 AND id = ANY ($2::bigint[])",
            cause_id,
            invited,
        )
        if known != len(invited):
            raise DomainError("invited_not_an_actor", NOT_AN_ACTOR, status=422, field="invited")
    place = text.place.strip()
    previous = await celebration(conn, cause_id)  # (the cause is locked: it stays so)
    await conn.execute(
        """INSERT INTO celebrations (cause_id, held_on, place, story, invited, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (cause_id) DO UPDATE
               SET held_on = EXCLUDED.held_on, place = EXCLUDED.place, story = EXCLUDED.story,
                   invited = EXCLUDED.invited, updated_by = EXCLUDED.updated_by,
                   updated_at = now()""",
        cause_id, text.held_on, place, text.story.strip(), invited, actor.user_id,
    )  # fmt: skip
    data: dict[str, Any] = {"held_on": text.held_on.isoformat(), "place": place,
                            "invited": invited}  # fmt: skip
    if previous is not None:
        data["before"] = {"held_on": previous.held_on.isoformat(), "place": previous.place,
                          "invited": previous.invited}  # fmt: skip
    if previous is None or (previous.held_on, previous.place) != (text.held_on, place):
        await following.notify(conn, space_id, cause_id, Kind.CAUSE_CELEBRATION, actor.user_id,
                               {"date": text.held_on.isoformat()}, page="/celebration")  # fmt: skip
    await store.event(conn, space_id, cause_id, actor.user_id, "cause.celebration_planned", data)
