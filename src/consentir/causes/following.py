"""Telling a cause's followers (those who follow or carry it) of what happens to it, through
the notifications (notifications/store.py), in the transaction of the change: a decision of
the cause adopted, a new step open, a new measurement. Whoever acted is not told."""

from __future__ import annotations

from consentir.causes import store
from consentir.db import Connection
from consentir.notifications import store as notifications
from consentir.notifications.kinds import Kind, Notice


async def notify(
    conn: Connection,
    space_id: int,
    cause_id: int,
    kind: Kind,
    actor_id: int | None,
    data: dict[str, str] | None = None,
    *,
    page: str = "",
    anchor: str = "",
) -> int:
    """One notice of `kind` for each follower of the cause, leading to the cause's `page`
    ("/evaluation"; its overview by default) at `anchor`; how many were written."""
    row = await conn.fetchrow(
        """SELECT c.title, s.slug FROM causes c JOIN spaces s ON s.id = c.space_id
           WHERE c.id = $1 AND c.space_id = $2""",
        cause_id,
        space_id,
    )
    if row is None:
        return 0
    people = await store.followers(conn, cause_id)
    about = notifications.About(
        space_id=space_id, link=f"/s/{row['slug']}/causes/{cause_id}{page}", title=row["title"],
        actor_id=actor_id,
    )  # fmt: skip
    return await notifications.record(
        conn, about, [Notice(kind, people, anchor=anchor, data=data or {})]
    )
