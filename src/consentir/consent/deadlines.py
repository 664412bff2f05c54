"""Rounds over days: reminders 24 hours before a deadline, and closing rounds at it.

Both run in every worker, every few seconds; `FOR UPDATE SKIP LOCKED` hands each round to
one worker only. Each round is handled in a transaction of its own (one action each).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from consentir import db, mail
from consentir.consent import rules, store
from consentir.spaces import store as spaces
from consentir.web.emails import compose_with

log = logging.getLogger(__name__)

REMINDER_BEFORE = timedelta(hours=24)


async def close_one_due(pool: asyncpg.Pool, now: datetime) -> bool | None:
    """Handle the next round past its deadline: True if it closed, False if the rules keep it
    open (then it is marked overdue for the facilitator), None if there is none."""
    async with db.transaction(pool) as conn:
        due = await conn.fetchrow(
            """SELECT p.space_id, p.id AS proposal_id, r.id AS round_id
               FROM rounds r JOIN proposals p ON p.id = r.proposal_id
               WHERE r.closed_at IS NULL AND r.deadline <= $1 AND r.overdue_at IS NULL
               ORDER BY r.deadline
               LIMIT 1
               FOR UPDATE OF p SKIP LOCKED""",
            now,
        )
        if due is None:
            return None
        space = await spaces.space_by_id(conn, due["space_id"])
        try:
            async with conn.transaction():
                action = rules.DeadlinePassed(now, frozenset())
                await store.act(conn, space, due["proposal_id"], rules.SYSTEM, action)
        except rules.RuleViolation as refused:
            await conn.execute(
                "UPDATE rounds SET overdue_at = $2 WHERE id = $1", due["round_id"], now
            )
            log.info("round %s stays open past its deadline: %s", due["round_id"], refused.code)
            return False
        return True


async def run_due(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """Close every round past its deadline that the rules let close; how many closed."""
    closed = 0
    while (outcome := await close_one_due(pool, now or datetime.now(UTC))) is not None:
        closed += outcome
    return closed


async def send_reminders(
    pool: asyncpg.Pool, templates: Any, public_url: str, now: datetime | None = None
) -> int:
    """Email, once per round, everyone on its list who has not answered, when its deadline
    is less than 24 hours away. Returns how many emails were queued."""
    now = now or datetime.now(UTC)
    sent = 0
    while True:
        async with db.transaction(pool) as conn:
            due = await conn.fetchrow(
                """SELECT r.id, r.kind, r.deadline, p.id AS proposal_id, p.title,
                          s.slug, s.name AS space
                   FROM rounds r JOIN proposals p ON p.id = r.proposal_id
                   JOIN spaces s ON s.id = p.space_id
                   WHERE r.closed_at IS NULL AND r.reminded_at IS NULL
                     AND r.deadline > $1 AND r.deadline <= $2
                   ORDER BY r.deadline LIMIT 1
                   FOR UPDATE OF r SKIP LOCKED""",
                now,
                now + REMINDER_BEFORE,
            )
            if due is None:
                return sent
            waiting = await conn.fetch(
                """SELECT u.email, u.name, u.locale FROM round_participants rp
                   JOIN users u ON u.id = rp.user_id
                   WHERE rp.round_id = $1 AND $2 <> 'clarify'
                     AND NOT EXISTS (SELECT 1 FROM positions WHERE round_id = $1
                                     AND user_id = rp.user_id AND superseded_at IS NULL)
                     AND NOT EXISTS (SELECT 1 FROM reactions WHERE round_id = $1
                                     AND author_id = rp.user_id)""",
                due["id"],
                due["kind"],
            )
            link = f"{public_url}/s/{due['slug']}/proposals/{due['proposal_id']}"
            for person in waiting:
                subject, body = compose_with(
                    templates, "round_reminder", person["locale"], name=person["name"],
                    title=due["title"], space=due["space"], link=link,
                    deadline=due["deadline"],
                )  # fmt: skip
                await mail.enqueue(conn, to=person["email"], subject=subject, body=body)
                sent += 1
            await conn.execute("UPDATE rounds SET reminded_at = $2 WHERE id = $1", due["id"], now)


async def run_scheduler(
    pool: asyncpg.Pool,
    templates: Any,
    public_url: str,
    *,
    interval: float,
    stop: asyncio.Event,
) -> None:
    """The worker's deadline loop, until `stop` is set."""
    while not stop.is_set():
        try:
            await send_reminders(pool, templates, public_url)
            await run_due(pool)
        except Exception:  # the loop must outlive a lost connection or a bad row
            log.exception("deadline task failed; next try in %s s", interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
