"""Causes in PostgreSQL (sql/migrations/0018_causes.sql): the cause itself, who carries and
follows it, and what it has reached, read in one statement for the pure rules
(causes/rules.py).

What a cause has reached is never stored: it is derived from the decisions of its proposals
(`cause_proposals`, one purpose each: take_on, objectives, choice, evaluation). Every change
runs in the caller's transaction with its journal event (subject "cause"); the other parts of
a cause (observing.py, objectives.py, scenarios.py, measuring.py, acting.py) follow the same
pattern and call `lock` first when a rule of the journey decides what they may write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from consentir import journal
from consentir.causes import rules
from consentir.causes.rules import Criterion
from consentir.db import Connection
from consentir.errors import N_, DomainError

NOT_FOUND = N_("This cause does not exist, or you cannot see it.")
UNDER_WAY = N_("A proposal of this kind is already under way for this cause: %(title)s.")

Purpose = Literal["take_on", "objectives", "choice", "evaluation"]
PURPOSES: tuple[Purpose, ...] = ("take_on", "objectives", "choice", "evaluation")

# The movement's five themes, by code; a cause may also name a free one, stored as written.
THEMES: dict[str, str] = {
    "social_justice": N_("social justice"),
    "mobility": N_("mobility"),
    "living_together": N_("living better together"),
    "local_life": N_("local life"),
    "land_planning": N_("land planning"),
}


class Person(msgspec.Struct, frozen=True):
    id: int
    name: str


class CauseProposal(msgspec.Struct, frozen=True):
    """One of the cause's proposals: its purpose and, once adopted, its decision."""

    proposal_id: int
    purpose: Purpose
    title: str
    stage: str
    closed: bool
    decision_number: str | None = None
    decision_id: int | None = None
    adopted_at: datetime | None = None
    proposer_id: int | None = None


class Cause(msgspec.Struct, frozen=True):
    id: int
    space_id: int
    title: str
    territory: str
    theme: str  # a code of THEMES, or a free theme as written
    summary: str
    created_by: int
    created_at: datetime
    carriers: list[Person]
    followers: int
    following: bool  # the viewer follows it
    proposals: list[CauseProposal]  # oldest first
    facts: rules.Cause  # what the journey's rules need

    def under_way(self, purpose: Purpose) -> CauseProposal | None:
        return next((p for p in self.proposals if p.purpose == purpose and not p.closed), None)

    def adopted(self, purpose: Purpose) -> list[CauseProposal]:
        return [p for p in self.proposals if p.purpose == purpose and p.decision_number]

    @property
    def carried_by(self) -> frozenset[int]:
        return frozenset(p.id for p in self.carriers)


_CAUSE = """
SELECT c.id, c.space_id, c.title, c.territory, c.theme, c.summary, c.created_by, c.created_at,
       (SELECT coalesce(json_agg(json_build_array(u.id, u.name) ORDER BY u.name, u.id), '[]')
          FROM cause_people cp JOIN users u ON u.id = cp.user_id
         WHERE cp.cause_id = c.id AND cp.carries) AS carriers,
       (SELECT count(*) FROM cause_people WHERE cause_id = c.id) AS followers,
       EXISTS (SELECT 1 FROM cause_people WHERE cause_id = c.id AND user_id = $3) AS following,
       (SELECT coalesce(json_agg(json_build_array(
                   cp.proposal_id, cp.purpose, p.title, p.stage, p.closed_at IS NOT NULL,
                   d.number, d.id, d.adopted_at,
                   cp.meets_values, cp.meets_mobilised, cp.meets_impact, p.proposer_id,
                   cp.reopens_plan)
                 ORDER BY cp.proposal_id), '[]')
          FROM cause_proposals cp JOIN proposals p ON p.id = cp.proposal_id
          LEFT JOIN decisions d ON d.proposal_id = cp.proposal_id
         WHERE cp.cause_id = c.id) AS proposals,
       (SELECT coalesce(json_agg(json_build_array(
                   o.id, d.id IS NOT NULL,
                   (SELECT coalesce(json_agg(json_build_array(
                               ic.baseline IS NOT NULL, ic.target IS NOT NULL) ORDER BY ic.id),
                            '[]')
                      FROM impact_criteria ic WHERE ic.objective_id = o.id))
                 ORDER BY o.id), '[]')
          FROM objectives o LEFT JOIN decisions d ON d.proposal_id = o.proposal_id
         WHERE o.cause_id = c.id) AS objectives
FROM causes c
WHERE c.id = $1 AND c.space_id = $2
"""


def _proposals(rows: list[list[Any]]) -> list[CauseProposal]:
    return [
        CauseProposal(
            proposal_id=r[0],
            purpose=r[1],
            title=r[2],
            stage=r[3],
            closed=r[4],
            decision_number=r[5],
            decision_id=r[6],
            adopted_at=datetime.fromisoformat(r[7]) if r[7] else None,
            proposer_id=r[11],
        )
        for r in rows
    ]


def _facts(proposals: list[list[Any]], objectives: list[list[Any]]) -> rules.Cause:
    """What the rules know of the cause, from its proposals and objectives."""
    adopted = {(r[1]) for r in proposals if r[5] is not None}
    taking_on = [r for r in proposals if r[1] == "take_on"]
    answered: frozenset[Criterion] = frozenset()
    if taking_on:
        latest = taking_on[-1]
        texts = {Criterion.VALUES: latest[8], Criterion.MOBILISED: latest[9],
                 Criterion.LOCAL_IMPACT: latest[10]}  # fmt: skip
        answered = frozenset(c for c, text in texts.items() if text and text.strip())
    return rules.Cause(
        answered=answered,
        taken_on="take_on" in adopted,
        objectives=tuple(
            rules.Objective(
                adopted=bool(o[1]),
                criteria=tuple(rules.ImpactCriterion(bool(b), bool(t)) for b, t in o[2]),
            )
            for o in objectives
        ),
        scenario_chosen="choice" in adopted,
        evaluation_adopted="evaluation" in adopted,
        plan_reopened=_reopened(proposals),
    )


def _reopened(proposals: list[list[Any]]) -> bool:
    """The latest decision (by its id) among the choices and evaluations is an evaluation
    that reopens the plan."""
    decided = sorted((r[6], r[1], r[12]) for r in proposals
                     if r[5] is not None and r[1] in ("choice", "evaluation"))  # fmt: skip
    return bool(decided) and decided[-1][1] == "evaluation" and bool(decided[-1][2])


async def cause(
    conn: Connection, space_id: int, cause_id: int, viewer_id: int | None = None
) -> Cause:
    """The cause of this space (404 in words for any other), with what it has reached."""
    row = await conn.fetchrow(_CAUSE, cause_id, space_id, viewer_id or 0)
    if row is None:
        raise DomainError("cause_not_found", NOT_FOUND, status=404)
    return Cause(
        id=row["id"], space_id=row["space_id"], title=row["title"], territory=row["territory"],
        theme=row["theme"], summary=row["summary"], created_by=row["created_by"],
        created_at=row["created_at"],
        carriers=[Person(i, n) for i, n in row["carriers"]],
        followers=row["followers"], following=row["following"],
        proposals=_proposals(row["proposals"]),
        facts=_facts(row["proposals"], row["objectives"]),
    )  # fmt: skip


async def lock(conn: Connection, space_id: int, cause_id: int) -> Cause:
    """The cause, its row locked until the transaction ends: what a rule of the journey decides
    on cannot change before the write (two facilitators, a double click)."""
    locked = await conn.fetchval(
        "SELECT id FROM causes WHERE id = $1 AND space_id = $2 FOR UPDATE", cause_id, space_id
    )
    if locked is None:
        raise DomainError("cause_not_found", NOT_FOUND, status=404)
    return await cause(conn, space_id, cause_id)


async def require(conn: Connection, space_id: int, cause_id: int, step: rules.Step) -> Cause:
    """Lock the cause and refuse, naming the rule, what belongs to a step not open yet."""
    locked = await lock(conn, space_id, cause_id)
    rules.require(locked.facts, step)
    return locked


# --- listing -------------------------------------------------------------------------------


class Listed(msgspec.Struct, frozen=True):
    id: int
    title: str
    territory: str
    theme: str
    created_at: datetime
    followers: int
    step: str  # the furthest open step, or "proposed" before it is taken on


PAGE_SIZE = 30

_LIST = """
SELECT c.id, c.title, c.territory, c.theme, c.created_at,
       (SELECT count(*) FROM cause_people WHERE cause_id = c.id) AS followers,
       CASE
         WHEN EXISTS (SELECT 1 FROM cause_proposals cp JOIN decisions d
                        ON d.proposal_id = cp.proposal_id
                      WHERE cp.cause_id = c.id AND cp.purpose = 'evaluation') THEN 'celebrate'
         WHEN EXISTS (SELECT 1 FROM cause_proposals cp JOIN decisions d
                        ON d.proposal_id = cp.proposal_id
                      WHERE cp.cause_id = c.id AND cp.purpose = 'choice') THEN 'evaluate'
         -- (objectives are adopted complete: objectives.propose refuses them otherwise)
         WHEN EXISTS (SELECT 1 FROM objectives o JOIN decisions d ON d.proposal_id = o.proposal_id
                      WHERE o.cause_id = c.id) THEN 'plan'
         WHEN EXISTS (SELECT 1 FROM cause_proposals cp JOIN decisions d
                        ON d.proposal_id = cp.proposal_id
                      WHERE cp.cause_id = c.id AND cp.purpose = 'take_on') THEN 'observe'
         ELSE 'proposed' END AS step
FROM causes c
WHERE c.space_id = $1 AND ($2::bigint IS NULL OR c.id < $2)
ORDER BY c.id DESC
LIMIT $3
"""


async def listing(
    conn: Connection, space_id: int, before: int | None = None
) -> tuple[list[Listed], int | None]:
    """The space's causes, newest first, a page at a time (keyset on the id): the page, and
    the id to continue before (None: the last page)."""
    rows = await conn.fetch(_LIST, space_id, before, PAGE_SIZE + 1)
    items = [Listed(**dict(r)) for r in rows[:PAGE_SIZE]]
    return items, (items[-1].id if len(rows) > PAGE_SIZE else None)


# --- writing -------------------------------------------------------------------------------


class CauseText(msgspec.Struct, frozen=True):
    title: str
    territory: str
    theme: str
    summary: str = ""


async def create(conn: Connection, space_id: int, actor_id: int, text: CauseText) -> int:
    """A new cause, carried (and so followed) by who creates it. It is proposed, not taken
    on: a decision takes it on (`open_proposal` with purpose "take_on")."""
    cause_id = await conn.fetchval(
        """INSERT INTO causes (space_id, title, territory, theme, summary, created_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        space_id, text.title.strip(), text.territory.strip(), text.theme.strip(), text.summary,
        actor_id,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO cause_people (cause_id, user_id, carries) VALUES ($1, $2, true)",
        cause_id,
        actor_id,
    )
    await event(conn, space_id, int(cause_id), actor_id, "cause.created", {"title": text.title})
    return int(cause_id)


async def edit(
    conn: Connection, space_id: int, cause_id: int, actor_id: int, text: CauseText
) -> None:
    await lock(conn, space_id, cause_id)
    await conn.execute(
        """UPDATE causes SET title = $3, territory = $4, theme = $5, summary = $6
           WHERE id = $1 AND space_id = $2""",
        cause_id, space_id, text.title.strip(), text.territory.strip(), text.theme.strip(),
        text.summary,
    )  # fmt: skip
    await event(conn, space_id, cause_id, actor_id, "cause.edited", {"title": text.title})


async def follow(
    conn: Connection, space_id: int, cause_id: int, user_id: int, *, on: bool, carries: bool = False
) -> None:
    """Follow (or stop following) the cause; `carries`: join those who carry it."""
    await lock(conn, space_id, cause_id)
    if on:
        await conn.execute(
            """INSERT INTO cause_people (cause_id, user_id, carries) VALUES ($1, $2, $3)
               ON CONFLICT (cause_id, user_id)
               DO UPDATE SET carries = cause_people.carries OR EXCLUDED.carries""",
            cause_id,
            user_id,
            carries,
        )
    else:
        await conn.execute(
            "DELETE FROM cause_people WHERE cause_id = $1 AND user_id = $2", cause_id, user_id
        )
    action = "cause.carried" if on and carries else "cause.followed" if on else "cause.unfollowed"
    await event(conn, space_id, cause_id, user_id, action, {})


async def followers(conn: Connection, cause_id: int) -> frozenset[int]:
    rows = await conn.fetch("SELECT user_id FROM cause_people WHERE cause_id = $1", cause_id)
    return frozenset(int(r["user_id"]) for r in rows)


async def event(
    conn: Connection,
    space_id: int,
    cause_id: int,
    actor_id: int | None,
    action: str,
    data: dict[str, Any],
) -> None:
    """The journal's record of a change to the cause (call it last in the transaction)."""
    await journal.append(
        conn, action=action, subject_type="cause", subject_id=cause_id, space_id=space_id,
        actor_id=actor_id, data=data,
    )  # fmt: skip


# --- the cause's proposals -------------------------------------------------------------------


async def link_proposal(
    conn: Connection,
    cause: Cause,
    proposal_id: int,
    purpose: Purpose,
    *,
    meets: tuple[str, str, str] | None = None,
    reopens_plan: bool = False,
) -> None:
    """Make the draft `proposal_id` (just created in this transaction, see
    proposals.create) one of the cause's proposals. One of each purpose at a time: a second is
    refused in words, naming the one under way."""
    under_way = cause.under_way(purpose)
    if under_way is not None:
        raise DomainError(
            "cause_proposal_under_way", UNDER_WAY, status=409,
            params={"title": under_way.title},
        )  # fmt: skip
    kind = "choice" if purpose == "choice" else "cause"
    await conn.execute("UPDATE proposals SET kind = $2 WHERE id = $1", proposal_id, kind)
    values, mobilised, impact = meets or (None, None, None)
    await conn.execute(
        """INSERT INTO cause_proposals (proposal_id, cause_id, space_id, purpose, meets_values,
                                        meets_mobilised, meets_impact, reopens_plan)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        proposal_id, cause.id, cause.space_id, purpose, values, mobilised, impact, reopens_plan,
    )  # fmt: skip


class OfProposal(msgspec.Struct, frozen=True):
    """What a proposal's page shows of the cause it belongs to."""

    cause_id: int
    cause_title: str
    purpose: Purpose
    meets_values: str | None
    meets_mobilised: str | None
    meets_impact: str | None
    reopens_plan: bool


async def of_proposal(conn: Connection, proposal_id: int) -> OfProposal | None:
    row = await conn.fetchrow(
        """SELECT cp.cause_id, c.title AS cause_title, cp.purpose, cp.meets_values,
                  cp.meets_mobilised, cp.meets_impact, cp.reopens_plan
           FROM cause_proposals cp JOIN causes c ON c.id = cp.cause_id
           WHERE cp.proposal_id = $1""",
        proposal_id,
    )
    return OfProposal(**dict(row)) if row is not None else None
