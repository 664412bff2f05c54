"""A cause's tracked action list (issue 12 §5): created from the chosen scenario version's
actions by the adoption of the scenario choice (`create_list`, in the adoption's
transaction), then followed: each action's status (planned, in progress, done, dropped) and
its evidence, updated by its owner or a facilitator; the owners reminded as the due date
comes near, and once it has passed.

The list is the one of the latest choice decision: when an evaluation reopens the plan and a
new scenario version is chosen, a new list is made, and the earlier ones are kept as they
were (read-only). Execution progress (done out of all but the dropped) is shown apart from
the impact the measurements show (measuring.py).

Who updates an action: its owner (the person named, or a current holder of the role named)
who may act in the space, and the space's facilitators; the others are refused in words.

Reminders: an action planned or in progress is recalled to its owner once when its due date
is 7 days away or less ("soon"), and once more after it has passed ("past"); a reminder
skipped (the service down) is not sent twice: only the latest threshold reached goes out,
recorded in `reminded_on`. `send_due` is the background task (app.py), row by row through
`tasks.each_due`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any, Literal

import asyncpg
import msgspec

from consentir import tasks
from consentir.causes import rules, store
from consentir.consent.rules import Actor
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.notifications import store as notifications
from consentir.notifications.kinds import Kind, Notice
from consentir.spaces import store as spaces
from consentir.web import i18n

Status = Literal["planned", "doing", "done", "dropped"]
STATUSES: dict[str, str] = {
    "planned": N_("planned"),
    "doing": N_("in progress"),
    "done": N_("done"),
    "dropped": N_("dropped"),
}
OPEN: frozenset[str] = frozenset({"planned", "doing"})

ITEM_NOT_FOUND = N_("This action does not exist, or you cannot see it.")
NOT_OWNER = N_(
    "Only the action's owner (the person named, or a current holder of the role named) and"
    " the space's facilitators may update it."
)
EARLIER_LIST = N_(
    "This action belongs to an earlier action list, kept as it was: update the current list."
)
MAX_ITEMS = 500  # the most actions a page lists (a scenario version has far fewer)

TASK = "action_reminder"
SOON_DAYS = 7  # the first reminder: this many days before the due date, or fewer


class Person(msgspec.Struct, frozen=True):
    id: int
    name: str


class Item(msgspec.Struct, frozen=True):
    """An action of the list, as pages show it."""

    id: int
    cause_id: int
    decision_id: int
    decision_number: str
    position: int
    what: str
    owner_user: int | None
    owner_name: str | None
    owner_role: int | None
    role_name: str | None
    holders: list[Person]  # who holds the owner role today (of the cause's space)
    due_on: date | None
    status: Status
    evidence: str
    updated_at: datetime
    current: bool  # of the cause's current list (the latest choice decision's)


def may_update(item: Item, actor: Actor) -> bool:
    """Whether `actor` may change the action's status and evidence: a facilitator, or its
    owner (the person, or a holder of the role today) who may act in the space."""
    if actor.may_facilitate:
        return True
    if not actor.may_participate:
        return False
    return item.owner_user == actor.user_id or any(h.id == actor.user_id for h in item.holders)


@dataclass(frozen=True)
class Execution:
    """How far the list has been carried out: `done` out of `counted` (every action but the
    dropped ones), apart from the impact the measurements show."""

    done: int
    counted: int
    dropped: int

    @property
    def ratio(self) -> Fraction | None:
        return Fraction(self.done, self.counted) if self.counted else None


def execution(items: Iterable[Item]) -> Execution:
    statuses = [i.status for i in items]
    dropped = statuses.count("dropped")
    return Execution(statuses.count("done"), len(statuses) - dropped, dropped)


# --- creating the list -------------------------------------------------------------------------

_CREATE = """
INSERT INTO action_items (cause_id, decision_id, source_action, position, what, owner_user,
                          owner_role, due_on)
SELECT $1, $2, a.id, a.position, a.what, a.who_user, a.who_role, a.due_on
FROM scenario_actions a
JOIN scenario_versions v ON v.id = a.version_id
JOIN scenarios s ON s.id = v.scenario_id
WHERE a.version_id = $3 AND s.cause_id = $1
ORDER BY a.position
RETURNING id
"""


async def create_list(
    conn: Connection, cause_id: int, decision_id: int, scenario_version_id: int
) -> int:
    """The cause's action list from the chosen version's actions, in the adoption's
    transaction (`decision_id`, the choice's decision): how many actions it holds. A version
    of another cause's scenario is a mistake of the caller."""
    known = await conn.fetchval(
        """SELECT true FROM scenario_versions v JOIN scenarios s ON s.id = v.scenario_id
           WHERE v.id = $1 AND s.cause_id = $2""",
        scenario_version_id,
        cause_id,
    )
    if not known:
        raise ValueError(f"scenario version {scenario_version_id} is not of cause {cause_id}")
    rows = await conn.fetch(_CREATE, cause_id, decision_id, scenario_version_id)
    return len(rows)


# --- reading -----------------------------------------------------------------------------------

# $1 the cause, $2 today, $3 at most this many rows; an item's id for `item` ($4, or NULL).
_ITEMS = """
SELECT ai.id, ai.cause_id, ai.decision_id, d.number AS decision_number, ai.position, ai.what,
       ai.owner_user, u.name AS owner_name, ai.owner_role, rv.name AS role_name,
       (SELECT coalesce(json_agg(json_build_array(hu.id, hu.name) ORDER BY m.seat, hu.id), '[]')
          FROM mandates m JOIN users hu ON hu.id = m.holder_id
         WHERE m.role_id = ai.owner_role AND m.space_id = c.space_id
           AND m.term @> $2::date) AS holders,
       ai.due_on, ai.status, ai.evidence, ai.updated_at,
       ai.decision_id = (SELECT max(l.decision_id) FROM action_items l
                          WHERE l.cause_id = ai.cause_id) AS current
FROM action_items ai
JOIN causes c ON c.id = ai.cause_id
JOIN decisions d ON d.id = ai.decision_id
LEFT JOIN users u ON u.id = ai.owner_user
LEFT JOIN roles r ON r.id = ai.owner_role
LEFT JOIN role_versions rv ON rv.role_id = r.id AND rv.number = r.version
WHERE ai.cause_id = $1 AND ($4::bigint IS NULL OR ai.id = $4)
ORDER BY ai.decision_id DESC, ai.position, ai.id
LIMIT $3
"""


def _item(row: Any) -> Item:
    values = {key: row[key] for key in Item.__struct_fields__}
    values["holders"] = [Person(i, n) for i, n in row["holders"]]
    return Item(**values)


async def items(conn: Connection, cause_id: int, today: date) -> list[Item]:
    """The cause's actions: the current list first (by position), then the earlier ones,
    each with its owner's name, or its role's name and holders today."""
    rows = await conn.fetch(_ITEMS, cause_id, today, MAX_ITEMS, None)
    return [_item(r) for r in rows]


# --- updating ----------------------------------------------------------------------------------


class Change(msgspec.Struct, frozen=True):
    status: Status
    evidence: str = ""


async def update(
    conn: Connection, space_id: int, cause_id: int, item_id: int, actor: Actor, change: Change
) -> Item:
    """Change an action's status and evidence (in the caller's transaction): an action of
    the cause's current list (the cause of this space, locked; its evaluation step open),
    by its owner or a facilitator; journalled last."""
    cause = await store.lock(conn, space_id, cause_id)
    row = await conn.fetchrow(_ITEMS, cause_id, _today(), 1, item_id)
    if row is None:
        raise DomainError("action_not_found", ITEM_NOT_FOUND, status=404)
    rules.require(cause.facts, rules.Step.EVALUATE)
    item = _item(row)
    if not may_update(item, actor):
        raise DomainError("not_action_owner", NOT_OWNER, status=403)
    if not item.current:
        raise DomainError("earlier_action_list", EARLIER_LIST, status=409)
    evidence = change.evidence.strip()
    await conn.execute(
        """UPDATE action_items SET status = $2, evidence = $3, updated_at = now()
           WHERE id = $1""",
        item.id,
        change.status,
        evidence,
    )
    await store.event(
        conn, space_id, cause_id, actor.user_id, "cause.action_updated",
        {"action": item.id, "what": item.what, "status": [item.status, change.status],
         "evidence": evidence},
    )  # fmt: skip
    return msgspec.structs.replace(item, status=change.status, evidence=evidence)


def _today() -> date:
    return datetime.now(i18n.display_zone).date()


# --- reminders ---------------------------------------------------------------------------------


class Threshold(StrEnum):
    SOON = "soon"  # the due date is SOON_DAYS days away or fewer (today included)
    PAST = "past"  # the due date has passed


def reminder(due_on: date, reminded_on: date | None, today: date) -> Threshold | None:
    """The reminder an open action due on `due_on` calls for `today`, given the day of its
    last reminder: the latest threshold reached, unless a reminder went out since it was
    reached."""
    if today < due_on - timedelta(days=SOON_DAYS):
        return None
    past = today > due_on
    reached = due_on + timedelta(days=1) if past else due_on - timedelta(days=SOON_DAYS)
    if reminded_on is not None and reminded_on >= reached:
        return None
    return Threshold.PAST if past else Threshold.SOON


# $1 today, $2 now. The same rule as `reminder`, in SQL: an open action of its cause's
# current list, due within SOON_DAYS days or past, not reminded since the latest threshold
# it reached; not backing off after a failure.
_DUE = f"""
SELECT ai.id, ai.cause_id, c.space_id, s.slug, ai.what, ai.due_on, ai.reminded_on,
       ai.owner_user, ai.owner_role, coalesce(f.attempts, 0) AS attempts
FROM action_items ai
JOIN causes c ON c.id = ai.cause_id
JOIN spaces s ON s.id = c.space_id
LEFT JOIN task_failures f ON f.task = '{TASK}' AND f.row_id = ai.id
WHERE ai.status IN ('planned', 'doing')
  AND ai.due_on <= $1::date + {SOON_DAYS}
  AND ai.decision_id = (SELECT max(l.decision_id) FROM action_items l
                         WHERE l.cause_id = ai.cause_id)
  AND (ai.reminded_on IS NULL
       OR ai.reminded_on < CASE WHEN ai.due_on < $1::date THEN ai.due_on + 1
                                ELSE ai.due_on - {SOON_DAYS} END)
  AND (f.row_id IS NULL OR (f.failed_at IS NULL AND f.next_attempt_at <= $2))
ORDER BY ai.due_on, ai.id
"""  # noqa: S608 (constant text)


class Due(msgspec.Struct, frozen=True):
    item_id: int
    cause_id: int
    space_id: int
    what: str
    due_on: date
    threshold: Threshold


def _due(row: Any, today: date) -> Due | None:
    threshold = reminder(row["due_on"], row["reminded_on"], today)
    if threshold is None:
        return None
    return Due(row["id"], row["cause_id"], row["space_id"], row["what"], row["due_on"],
               threshold)  # fmt: skip


async def due_reminders(conn: Connection, today: date) -> list[Due]:
    """Every reminder due on `today`, earliest due date first."""
    rows = await conn.fetch(_DUE, today, datetime.now(UTC))
    return [d for d in (_due(r, today) for r in rows) if d is not None]


async def _owners(conn: Connection, row: Any, today: date) -> frozenset[int]:
    """Who is told: the person named, else the role's holders today, else (nobody owns it)
    the space's facilitators."""
    if row["owner_user"] is not None:
        return frozenset({int(row["owner_user"])})
    if row["owner_role"] is not None:
        holders = await conn.fetch(
            """SELECT holder_id FROM mandates
               WHERE role_id = $1 AND space_id = $2 AND term @> $3::date""",
            row["owner_role"],
            row["space_id"],
            today,
        )
        if holders:
            return frozenset(int(h["holder_id"]) for h in holders)
    return await spaces.acting_facilitator_ids(conn, row["space_id"])


async def _send(conn: Connection, row: Any, today: date) -> int:
    """One action's reminder, recorded with the notifications: how many people were told."""
    due = _due(row, today)
    if due is None:  # the query and the rule disagree: nothing is sent
        return 0
    await conn.execute("UPDATE action_items SET reminded_on = $2 WHERE id = $1", due.item_id, today)
    about = notifications.About(
        space_id=due.space_id, link=f"/s/{row['slug']}/causes/{due.cause_id}/actions",
        title=due.what,
    )  # fmt: skip
    notice = Notice(
        Kind.ACTION_DUE, await _owners(conn, row, today), anchor=f"action-{due.item_id}",
        data={"date": due.due_on.isoformat(), "threshold": due.threshold.value},
    )  # fmt: skip
    return await notifications.record(conn, about, [notice])


async def remind(conn: Connection, today: date) -> int:
    """Send, in the caller's transaction, every reminder due on `today`: how many people
    were told."""
    told = 0
    for row in await conn.fetch(_DUE + " FOR UPDATE OF ai", today, datetime.now(UTC)):
        told += await _send(conn, row, today)
    return told


async def send_due(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """The background task: every reminder due today (in the instance's time zone), one
    action at a time in a transaction of its own; how many people were told."""
    at = now or datetime.now(UTC)
    today = at.astimezone(i18n.display_zone).date()

    async def pick(conn: Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(_DUE + " LIMIT 1 FOR UPDATE OF ai SKIP LOCKED", today, at)

    async def handle(conn: Connection, row: asyncpg.Record) -> int:
        return await _send(conn, row, today)

    return sum(await tasks.each_due(pool, TASK, pick, handle, now=at))
