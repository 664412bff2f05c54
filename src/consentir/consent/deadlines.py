"""Rounds over days: reminders 24 hours before a deadline, and closing rounds at it.

Two tasks, run apart in every worker every few seconds (app.py), so that closings never
wait for reminders. Each takes rounds one at a time through `tasks.each_due`: a transaction
per round (one action each), `FOR UPDATE SKIP LOCKED` handing each round to one worker; a
round whose reminder or closing fails is retried with back-off and, after the last
attempt, set aside with its error in `task_failures`, while the others go on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from consentir import mail, tasks
from consentir.consent import rules, store
from consentir.db import Connection
from consentir.notifications import store as notifications
from consentir.notifications.kinds import Group, Kind, Notice
from consentir.spaces import store as spaces
from consentir.web.emails import compose_with

log = logging.getLogger(__name__)

REMINDER_BEFORE = timedelta(hours=24)
REMINDER = "reminder"  # task names, in task_failures and in the logs
CLOSING = "closing"

# Rounds whose closing or reminder failed wait for their next attempt (tasks.each_due).
_DUE_CLOSING = """
SELECT r.id, p.space_id, p.id AS proposal_id, coalesce(f.attempts, 0) AS attempts
FROM rounds r JOIN proposals p ON p.id = r.proposal_id
LEFT JOIN task_failures f ON f.task = 'closing' AND f.row_id = r.id
WHERE r.closed_at IS NULL AND r.deadline <= $1 AND r.overdue_at IS NULL
  AND (f.row_id IS NULL OR (f.failed_at IS NULL AND f.next_attempt_at <= $1))
ORDER BY r.deadline, r.id
LIMIT 1
FOR UPDATE OF p SKIP LOCKED
"""

_DUE_REMINDER = """
SELECT r.id, r.kind, r.deadline, p.id AS proposal_id, p.title, s.slug, s.name AS space,
       coalesce(f.attempts, 0) AS attempts
FROM rounds r JOIN proposals p ON p.id = r.proposal_id
JOIN spaces s ON s.id = p.space_id
LEFT JOIN task_failures f ON f.task = 'reminder' AND f.row_id = r.id
WHERE r.closed_at IS NULL AND r.reminded_at IS NULL AND r.deadline > $1 AND r.deadline <= $2
  AND (f.row_id IS NULL OR (f.failed_at IS NULL AND f.next_attempt_at <= $1))
ORDER BY r.deadline, r.id
LIMIT 1
FOR UPDATE OF r SKIP LOCKED
"""

_WAITING = """
SELECT u.email, u.name, u.locale FROM round_participants rp
JOIN users u ON u.id = rp.user_id
WHERE rp.round_id = $1 AND $2 <> 'clarify'
  AND NOT EXISTS (SELECT 1 FROM positions WHERE round_id = $1
                  AND user_id = rp.user_id AND superseded_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM reactions WHERE round_id = $1 AND author_id = rp.user_id)
"""


async def _close(conn: Connection, due: asyncpg.Record, now: datetime) -> bool:
    """Close one round past its deadline: True if it closed, False if the rules keep it
    open (then it is marked overdue for the facilitator)."""
    space = await spaces.space_by_id(conn, due["space_id"])
    try:
        async with conn.transaction():
            action = rules.DeadlinePassed(now, frozenset())
            await store.act(conn, space, due["proposal_id"], rules.SYSTEM, action)
    except rules.RuleViolation as refused:
        await _mark_overdue(conn, due, now)
        log.info("round %s stays open past its deadline: %s", due["id"], refused.code)
        return False
    return True


async def _mark_overdue(conn: Connection, due: asyncpg.Record, now: datetime) -> None:
    """The round stays open past its deadline: the facilitators' dashboards say so, and
    they are notified."""
    await conn.execute("UPDATE rounds SET overdue_at = $2 WHERE id = $1", due["id"], now)
    row = await conn.fetchrow(
        "SELECT p.title, s.slug FROM proposals p JOIN spaces s ON s.id = p.space_id"
        " WHERE p.id = $1",
        due["proposal_id"],
    )
    assert row is not None  # the round's proposal, locked
    about = notifications.About(
        space_id=due["space_id"],
        link=f"/s/{row['slug']}/proposals/{due['proposal_id']}",
        title=row["title"],
    )
    overdue = Notice(Kind.ROUND_OVERDUE, group=Group.FACILITATORS, anchor="now")
    await notifications.record(conn, about, [overdue])


async def run_due(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """Close every round past its deadline that the rules let close; how many closed."""
    at = now or datetime.now(UTC)

    async def pick(conn: Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(_DUE_CLOSING, at)

    async def handle(conn: Connection, due: asyncpg.Record) -> bool:
        return await _close(conn, due, at)

    async def set_aside(conn: Connection, due: asyncpg.Record) -> None:
        # A closing that keeps failing: the round waits for the facilitator, shown overdue.
        await _mark_overdue(conn, due, at)

    return sum(await tasks.each_due(pool, CLOSING, pick, handle, now=at, set_aside=set_aside))


async def send_reminders(
    pool: asyncpg.Pool, templates: Any, public_url: str, now: datetime | None = None
) -> int:
    """Email, once per round, everyone on its list who has not answered, when its deadline
    is less than 24 hours away. Returns how many emails were queued."""
    at = now or datetime.now(UTC)

    async def pick(conn: Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(_DUE_REMINDER, at, at + REMINDER_BEFORE)

    async def handle(conn: Connection, due: asyncpg.Record) -> int:
        waiting = await conn.fetch(_WAITING, due["id"], due["kind"])
        link = f"{public_url}/s/{due['slug']}/proposals/{due['proposal_id']}"
        # A title is one line in a subject, whatever an older version let it hold.
        title = " ".join(due["title"].split())
        for person in waiting:
            subject, body = compose_with(
                templates, "round_reminder", person["locale"], name=person["name"],
                title=title, space=due["space"], link=link, deadline=due["deadline"],
            )  # fmt: skip
            await mail.enqueue(conn, to=person["email"], subject=subject, body=body)
        await conn.execute("UPDATE rounds SET reminded_at = $2 WHERE id = $1", due["id"], at)
        return len(waiting)

    return sum(await tasks.each_due(pool, REMINDER, pick, handle, now=at))
