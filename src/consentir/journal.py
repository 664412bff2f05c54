"""The journal: append an event inside the caller's transaction; verify the hash chains.

The SQL side (sql/migrations/0001_journal.sql) holds the definition of a row's hash
(`journal_digest`) and the append itself (`journal_append`), so appending and verifying
use one and the same encoding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from consentir.db import Connection


class JournalOutsideTransaction(RuntimeError):
    """An event must be written in the same transaction as the change it records."""


def _call(first: int) -> str:
    """`journal_append(...)` with its six arguments as parameters `$first`… (`_arguments`)."""
    return "journal_append(" + ", ".join(f"${first + n}" for n in range(6)) + ")"


def _arguments(
    space_id: int | None,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int | None,
    data: dict[str, Any] | None,
) -> tuple[Any, ...]:
    return (space_id, actor_id, action, subject_type, subject_id, data or {})


async def append(
    conn: Connection,
    *,
    action: str,
    subject_type: str,
    subject_id: int | None = None,
    space_id: int | None = None,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append one event; returns its id. Call it last in the action's transaction: it holds
    the space's chain lock until commit."""
    if not conn.is_in_transaction():
        raise JournalOutsideTransaction(action)
    event_id = await conn.fetchval(
        f"SELECT {_call(1)}",
        *_arguments(space_id, actor_id, action, subject_type, subject_id, data),
    )
    return int(event_id)


async def append_with(
    conn: Connection,
    changes: str,
    guard: str,
    args: Sequence[Any],
    *,
    action: str,
    subject_type: str,
    subject_id: int | None = None,
    space_id: int | None = None,
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int | None:
    """The action's last changes and its event, in one statement (one round trip while the
    action's locks are held): `changes` is a WITH list of data-modifying statements using
    `$1`… of `args`; the event is appended once if the one named `guard` returns a row, and
    its id returned; None if it returns none (nothing appended: the caller refuses the
    action, and its transaction rolls back). As `append`, it comes last.

    Every statement of a WITH list runs to completion, on one snapshot, in an unspecified
    order: none of `changes` may read a table another of them writes; one that must run
    after another reads its RETURNING rows (e.g. `(SELECT count(*) FROM other)`). The event
    is appended after `guard` has run, since it reads it; PostgreSQL runs the others by the
    statement's end. The chain is extended exactly as by `append` (journal_append takes the
    chain's head lock and holds it until commit), so it stays one chain in commit order."""
    if not conn.is_in_transaction():
        raise JournalOutsideTransaction(action)
    once = f"(SELECT FROM {guard} LIMIT 1) AS once"
    event_id = await conn.fetchval(
        f"WITH {changes} SELECT {_call(len(args) + 1)} FROM {once}",  # noqa: S608 (constant)
        *args,
        *_arguments(space_id, actor_id, action, subject_type, subject_id, data),
    )
    return None if event_id is None else int(event_id)


async def last_id(conn: Connection, space_id: int) -> int:
    """The id of the space's latest event (0 if none): where a live page starts listening."""
    value = await conn.fetchval(
        "SELECT coalesce(max(id), 0) FROM journal WHERE space_id = $1", space_id
    )
    return int(value)


@dataclass(frozen=True)
class Break:
    event_id: int
    space_id: int | None
    reason: str

    def __str__(self) -> str:
        chain = "instance" if self.space_id is None else f"space {self.space_id}"
        return f"row {self.event_id} ({chain}): {self.reason}"


@dataclass
class Verification:
    rows: int = 0
    chains: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


_WALK = """
SELECT j.id, j.space_id, j.prev_hash, j.hash, journal_digest(j) AS expected
FROM journal j
ORDER BY j.space_id NULLS FIRST, j.id
"""


async def verify(conn: Connection) -> Verification:
    """Walk every chain; a chain's first break is reported (later rows of it cannot be trusted)."""
    result = Verification()
    heads: dict[int, asyncpg.Record] = {}
    broken: set[int] = set()
    current: int | None = None
    previous: asyncpg.Record | None = None

    def close_chain(chain: int, last: asyncpg.Record | None) -> None:
        head = heads.pop(chain, None)
        if chain in broken or last is None:
            return
        if head is None or head["last_id"] != last["id"] or head["last_hash"] != last["hash"]:
            recorded = "none" if head is None else f"row {head['last_id']}"
            result.breaks.append(
                Break(
                    last["id"],
                    last["space_id"],
                    f"the chain ends here but its head records {recorded}: "
                    "rows were removed from its end",
                )
            )

    async with conn.transaction(isolation="repeatable_read", readonly=True):
        heads.update(
            (row["chain"], row)
            for row in await conn.fetch("SELECT chain, last_id, last_hash FROM journal_heads")
        )
        async for row in conn.cursor(_WALK, prefetch=2000):
            chain = row["space_id"] or 0
            if chain != current:
                if current is not None:
                    close_chain(current, previous)
                current, previous = chain, None
                result.chains += 1
            result.rows += 1
            if chain in broken:
                continue
            expected_prev = previous["hash"] if previous is not None else None
            if row["hash"] != row["expected"]:
                reason = "its content does not match its hash (it was changed after writing)"
            elif row["prev_hash"] != expected_prev:
                before = f"row {previous['id']}" if previous is not None else "the chain's start"
                reason = f"it does not follow {before}: a row before it was removed or changed"
            else:
                previous = row
                continue
            broken.add(chain)
            result.breaks.append(Break(row["id"], row["space_id"], reason))
        if current is not None:
            close_chain(current, previous)
    for chain, head in heads.items():
        if head["last_id"] is not None:
            result.breaks.append(
                Break(
                    head["last_id"],
                    chain or None,
                    "its chain's head records this row, but the chain has no rows",
                )
            )
    result.breaks.sort(key=lambda b: b.event_id)
    return result


# --- anchoring -----------------------------------------------------------------------------
# Someone with full control of the database server could rewrite a chain and re-hash every
# row after the change. The hashes of the chains' heads, kept outside the database (a file
# copied elsewhere, printed in minutes, sent to members), make that visible: a recorded head
# must still be in the journal with the same hash.


async def heads(conn: Connection) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT chain, last_id, last_hash FROM journal_heads WHERE last_id IS NOT NULL"
    )
    return {str(r["chain"]): {"id": r["last_id"], "hash": r["last_hash"].hex()} for r in rows}


async def check_anchor(conn: Connection, anchored: dict[str, dict[str, Any]]) -> list[Break]:
    """Breaks for every recorded head that the journal no longer holds as recorded."""
    found = []
    for chain, head in sorted(anchored.items(), key=lambda item: int(item[1]["id"])):
        space_id = int(chain) or None
        row = await conn.fetchrow("SELECT space_id, hash FROM journal WHERE id = $1", head["id"])
        if row is None:
            reason = "recorded in the anchor, but no longer in the journal"
        elif row["space_id"] != space_id or row["hash"].hex() != head["hash"]:
            reason = "its hash differs from the one recorded in the anchor: the chain was rewritten"
        else:
            continue
        found.append(Break(int(head["id"]), space_id, reason))
    return found
