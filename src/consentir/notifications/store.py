"""Notifications in PostgreSQL: written in the step's transaction, listed, read, preferred.

`record` is called by the steps that hand the process to someone (consent/store.py,
meetings, charters, the deadline and review tasks), inside their transaction: one INSERT per
notice whatever the number of people told.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import msgspec

from consentir.db import Connection
from consentir.notifications.kinds import FOR_ME, Group, Kind, Notice
from consentir.spaces import store as spaces

Mode = Literal["immediate", "digest", "none"]
Category = Literal["for_me", "news"]
MODES: tuple[Mode, ...] = ("immediate", "digest", "none")
CATEGORIES: tuple[Category, ...] = ("for_me", "news")
DEFAULT_MODE: dict[Category, Mode] = {"for_me": "immediate", "news": "digest"}
PAGE_SIZE = 30


class About(msgspec.Struct, frozen=True):
    """What the notices of one event are about: where they lead and its title."""

    space_id: int
    link: str  # a path inside the site, without anchor
    title: str
    actor_id: int | None = None
    meeting_id: int | None = None


_INSERT = """
INSERT INTO notifications (user_id, space_id, kind, for_me, link, title, actor_id, meeting_id,
                           data)
SELECT person, $2, $3, $4, $5, $6, $7, $8, $9
FROM unnest($1::bigint[]) AS person
"""


async def record(conn: Connection, about: About, notices: Iterable[Notice]) -> int:
    """Write each notice for its people, in the caller's transaction; how many rows."""
    written = 0
    for notice in notices:
        people = set(notice.people)
        if notice.group is Group.FACILITATORS:
            people |= await spaces.acting_facilitator_ids(conn, about.space_id)
        elif notice.group is Group.MEMBERS:
            people |= await spaces.acting_member_ids(conn, about.space_id)
        people.discard(about.actor_id or 0)
        people.discard(0)
        if not people:
            continue
        link = f"{about.link}#{notice.anchor}" if notice.anchor else about.link
        await conn.execute(
            _INSERT, sorted(people), about.space_id, notice.kind.value, notice.kind in FOR_ME,
            link, " ".join(about.title.split()), about.actor_id, about.meeting_id, notice.data,
        )  # fmt: skip
        written += len(people)
    return written


# --- reading -----------------------------------------------------------------------------


class Item(msgspec.Struct, frozen=True):
    id: int
    kind: Kind
    for_me: bool
    link: str
    title: str
    space_name: str
    space_slug: str
    actor_name: str | None
    data: dict[str, Any]
    created_at: datetime
    read: bool


# Only what the person may still see: a space they left is left out.
_LIST = """
SELECT n.id, n.kind, n.for_me, n.link, n.title, s.name AS space_name, s.slug AS space_slug,
       a.name AS actor_name, n.data, n.created_at, n.read_at IS NOT NULL AS read
FROM notifications n
JOIN spaces s ON s.id = n.space_id
LEFT JOIN users a ON a.id = n.actor_id
WHERE n.user_id = $1 AND ($2::bigint IS NULL OR n.id < $2)
  AND ($4::boolean IS FALSE OR n.read_at IS NULL)
  AND notification_visible(n.user_id, n.space_id)
ORDER BY n.id DESC
LIMIT $3
"""


def _item(row: Any) -> Item:
    values = {key: row[key] for key in Item.__struct_fields__}
    return Item(**{**values, "kind": Kind(values["kind"])})


async def listing(
    conn: Connection, user_id: int, *, before: int | None = None, unread_only: bool = False
) -> tuple[list[Item], int | None]:
    """A page of the person's notifications, newest first, and the id to continue before."""
    rows = await conn.fetch(_LIST, user_id, before, PAGE_SIZE + 1, unread_only)
    items = [_item(r) for r in rows[:PAGE_SIZE]]
    more = items[-1].id if len(rows) > PAGE_SIZE else None
    return items, more


async def open_one(conn: Connection, user_id: int, notification_id: int) -> str | None:
    """Mark one of the person's notifications read; where it leads (None: not theirs)."""
    link = await conn.fetchval(
        "UPDATE notifications SET read_at = coalesce(read_at, now())"
        " WHERE id = $1 AND user_id = $2 RETURNING link",
        notification_id,
        user_id,
    )
    return str(link) if link is not None else None


async def seen(conn: Connection, user_id: int, link: str) -> None:
    """The person acted where these notifications led (a proposal, a charter): read."""
    await conn.execute(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL"
        " AND (link = $2 OR starts_with(link, $2 || '#'))",
        user_id,
        link,
    )


async def mark_all_read(conn: Connection, user_id: int, up_to: int) -> int:
    """Mark read every notification of the person up to the newest they were shown."""
    result = await conn.execute(
        "UPDATE notifications SET read_at = now()"
        " WHERE user_id = $1 AND read_at IS NULL AND id <= $2",
        user_id,
        up_to,
    )
    return int(result.split()[-1])


# --- preferences -------------------------------------------------------------------------


class Preference(msgspec.Struct, frozen=True):
    space_id: int
    space_name: str
    for_me: Mode
    news: Mode


_PREFERENCES = """
WITH mine AS (
    SELECT m.space_id FROM memberships m WHERE m.user_id = $1
    UNION
    SELECT c.id FROM spaces c JOIN memberships pm ON pm.space_id = c.parent_id
    WHERE c.parent_members_included AND pm.user_id = $1
)
SELECT s.id AS space_id, s.name AS space_name,
       coalesce(f.mode, 'immediate') AS for_me, coalesce(w.mode, 'digest') AS news
FROM mine JOIN spaces s ON s.id = mine.space_id
LEFT JOIN notification_preferences f
       ON f.user_id = $1 AND f.space_id = s.id AND f.category = 'for_me'
LEFT JOIN notification_preferences w
       ON w.user_id = $1 AND w.space_id = s.id AND w.category = 'news'
ORDER BY lower(s.name), s.id
"""


async def preferences(conn: Connection, user_id: int) -> list[Preference]:
    """The person's email preferences in each space they belong to, defaults filled in."""
    rows = await conn.fetch(_PREFERENCES, user_id)
    return [Preference(r["space_id"], r["space_name"], r["for_me"], r["news"]) for r in rows]


async def set_preferences(
    conn: Connection, user_id: int, choices: Iterable[tuple[int, Category, Mode]]
) -> None:
    """Store each (space, category, mode) choice, for spaces the person belongs to only."""
    chosen = list(choices)
    await conn.execute(
        """
        INSERT INTO notification_preferences (user_id, space_id, category, mode)
        SELECT $1, c.space_id, c.category, c.mode
        FROM unnest($2::bigint[], $3::text[], $4::text[]) AS c(space_id, category, mode)
        WHERE notification_visible($1, c.space_id)
        ON CONFLICT (user_id, space_id, category) DO UPDATE SET mode = EXCLUDED.mode
        """,
        user_id,
        [c[0] for c in chosen],
        [c[1] for c in chosen],
        [c[2] for c in chosen],
    )
