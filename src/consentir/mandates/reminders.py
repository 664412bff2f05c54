"""Reminders before a term ends: 60, 30 and 7 days before a mandate's last day, its holder is
told (what waits for them: stand again, hand over) and so are the space's facilitators and
administrators (news: an election may be due).

`due` is the rule, pure: which reminder a term calls for on a day, given those already sent.
Only the most urgent one goes out, once: after an outage that skipped the 60-day date, the
60-day reminder still goes out if the 30-day date has not come, and a service back after the
30-day date sends the 30-day one alone. A mandate ending early counts by its running term;
one that has ended, or has not begun, gets none.

`send_due` is the background task (app.py), mandate by mandate through `tasks.each_due`: its
query picks exactly the mandates `due` answers for, locked (`SKIP LOCKED`: workers share them),
and the reminder is recorded in `mandate_reminders` (sql/migrations/0015_term_reminders.sql,
one row per mandate and threshold, a second refused by its key) in the transaction that
writes the notifications.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime

import asyncpg

from consentir import tasks
from consentir.db import Connection
from consentir.mandates.rules import Mandate, Term
from consentir.notifications import store as notifications
from consentir.notifications.kinds import Kind, Notice
from consentir.spaces import store as spaces
from consentir.web import i18n

TASK = "term_reminder"
THRESHOLDS: tuple[int, ...] = (60, 30, 7)  # days before the last day


def due(
    term: Term, day: date, sent: Collection[int], thresholds: Collection[int] = THRESHOLDS
) -> int | None:
    """The reminder (its number of days) a running `term` calls for on `day`, if any: the
    smallest threshold its last day is within, unless that one was sent already. None before
    the term begins and after it ends."""
    if not term.covers(day):
        return None
    left = (term.last - day).days
    reached = [days for days in thresholds if left <= days]
    if not reached:
        return None
    urgent = min(reached)
    return None if urgent in sent else urgent


# $1 now, $2 today, $3 the thresholds. The same rule as `due`, in SQL: a current mandate
# whose smallest threshold at or above the days left before its last day has no reminder
# yet. (upper(term) - 1 is the last day; a date minus a date is a number of days.)
_DUE = f"""
SELECT m.id, m.space_id, s.slug, m.role_id, v.name AS role_name, m.seat, m.holder_id,
       u.name AS holder_name, lower(m.granted) AS first, upper(m.granted) AS after_last,
       m.ended_on,
       (SELECT coalesce(array_agg(r.days_before), '{{}}') FROM mandate_reminders r
         WHERE r.mandate_id = m.id) AS sent,
       coalesce(f.attempts, 0) AS attempts
FROM mandates m
JOIN spaces s ON s.id = m.space_id
JOIN roles ro ON ro.id = m.role_id
JOIN role_versions v ON v.role_id = ro.id AND v.number = ro.version
JOIN users u ON u.id = m.holder_id
CROSS JOIN LATERAL (
    SELECT min(t) AS days FROM unnest($3::integer[]) AS t WHERE t >= upper(m.term) - 1 - $2::date
) AS next
LEFT JOIN task_failures f ON f.task = '{TASK}' AND f.row_id = m.id
WHERE NOT isempty(m.term)
  AND upper(m.term) > $2::date
  AND upper(m.term) <= $2::date + 1 + (SELECT max(t) FROM unnest($3::integer[]) AS t)
  AND lower(m.term) <= $2::date
  AND next.days IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM mandate_reminders r
                  WHERE r.mandate_id = m.id AND r.days_before = next.days)
  AND (f.row_id IS NULL OR (f.failed_at IS NULL AND f.next_attempt_at <= $1))
ORDER BY upper(m.term), m.id
LIMIT 1
FOR UPDATE OF m SKIP LOCKED
"""  # noqa: S608 (constant text)

_SENT = """
INSERT INTO mandate_reminders (mandate_id, days_before, last_day) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
RETURNING mandate_id
"""


async def send_due(
    pool: asyncpg.Pool, now: datetime | None = None, thresholds: tuple[int, ...] = THRESHOLDS
) -> int:
    """Send every reminder due today (in the instance's time zone); how many people were told."""
    at = now or datetime.now(UTC)
    today = at.astimezone(i18n.display_zone).date()
    wanted = sorted(set(thresholds))

    async def pick(conn: Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(_DUE, at, today, wanted)

    async def handle(conn: Connection, row: asyncpg.Record) -> int:
        mandate = Mandate(row["id"], row["holder_id"], row["seat"],
                          Term(row["first"], row["after_last"]), row["ended_on"])  # fmt: skip
        days = due(mandate.term, today, row["sent"], wanted)
        if days is None:  # the query and the rule disagree: nothing is sent
            return 0
        last = mandate.term.last
        if await conn.fetchval(_SENT, mandate.id, days, last) is None:
            return 0  # sent already (the key refused a second one)
        data = {"name": row["holder_name"], "date": last.isoformat(), "days": str(days)}
        holder = mandate.holder
        mine = notifications.About(space_id=row["space_id"], link="/mandates",
                                   title=row["role_name"])  # fmt: skip
        told = await notifications.record(
            conn, mine, [Notice(Kind.TERM_ENDING, frozenset({holder}),
                                anchor=f"mandate-{mandate.id}", data=data)],
        )  # fmt: skip
        # The facilitators and administrators who may act in the space; a holder among them
        # has their own reminder already.
        facilitators = await spaces.acting_facilitator_ids(conn, row["space_id"])
        role = notifications.About(space_id=row["space_id"], title=row["role_name"],
                                   link=f"/s/{row['slug']}/roles/{row['role_id']}")  # fmt: skip
        told += await notifications.record(
            conn, role, [Notice(Kind.ROLE_TERM_ENDING, facilitators - {holder},
                                anchor="holders", data=data)],
        )  # fmt: skip
        return told

    return sum(await tasks.each_due(pool, TASK, pick, handle, now=at))
