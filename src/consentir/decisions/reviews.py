"""Decisions due for review: on its review date, a decision in force (and not the record of
a review: decision_states.reviewable) is announced to those who hold a stake in it (its
proposer, those who objected, the space's facilitators), once per review date. A background
task, decision by decision through `tasks.each_due`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from consentir import tasks
from consentir.db import Connection
from consentir.notifications import store as notifications
from consentir.notifications.kinds import Group, Kind, Notice
from consentir.web import i18n

TASK = "review"

_DUE = f"""
SELECT d.id, d.space_id, d.number, d.title, s.slug, p.proposer_id,
       (SELECT coalesce(array_agg(DISTINCT o.objector_id), '{{}}') FROM objections o
         WHERE o.proposal_id = d.proposal_id) AS objectors,
       coalesce(f.attempts, 0) AS attempts
FROM decisions d
JOIN spaces s ON s.id = d.space_id
JOIN proposals p ON p.id = d.proposal_id
LEFT JOIN task_failures f ON f.task = '{TASK}' AND f.row_id = d.id
WHERE d.review_announced_on IS NULL AND d.review_on <= $2
  AND EXISTS (SELECT 1 FROM decision_states st WHERE st.decision_id = d.id AND st.reviewable)
  AND (f.row_id IS NULL OR (f.failed_at IS NULL AND f.next_attempt_at <= $1))
ORDER BY d.review_on, d.id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""  # noqa: S608 (constant text)


async def announce_due(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """Announce every decision whose review date has come; how many were announced."""
    at = now or datetime.now(UTC)
    today = at.astimezone(i18n.display_zone).date()

    async def pick(conn: Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(_DUE, at, today)

    async def handle(conn: Connection, due: asyncpg.Record) -> int:
        about = notifications.About(
            space_id=due["space_id"],
            link=f"/s/{due['slug']}/decisions/{due['number']}",
            title=f"{due['number']} {due['title']}",
        )
        stake = frozenset({due["proposer_id"], *due["objectors"]})
        told = await notifications.record(
            conn, about, [Notice(Kind.REVIEW_DUE, stake, group=Group.FACILITATORS)]
        )
        await conn.execute(
            "UPDATE decisions SET review_announced_on = $2 WHERE id = $1", due["id"], today
        )
        return told

    return len(await tasks.each_due(pool, TASK, pick, handle, now=at))
