"""Background tasks: every worker runs each of them every few seconds, row by row.

A task that works on rows (a round to remind, a round to close) takes them one at a time,
each in a transaction of its own, with `each_due`: a row whose handling fails is rolled
back, its failure is written in `task_failures` (sql/migrations/0008_task_failures.sql:
attempts, next attempt after a back-off, last error; after the last attempt `failed_at`,
set aside for good), one line is logged, and the task goes on with the next row. The
record lives in the database, so it holds across workers and restarts, and a bad row never
blocks the others. The email outbox keeps the same record in its own rows and follows the
same `Retry` policy (mail.py).

`every` runs a task's passes, each task its own loop (app.py), so that none waits for
another: a pass that fails as a whole (database unreachable, a bug) is logged once with its
traceback, then in one line when the error changes or once a minute, until it works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg

from consentir import db
from consentir.db import Connection

log = logging.getLogger(__name__)

T = TypeVar("T")
ERROR_LENGTH = 2000


@dataclass(frozen=True)
class Retry:
    """How often a failing row is tried again: after 1, 2, 4 … minutes (at most `cap`
    seconds apart), `max_attempts` attempts in all, then it is set aside."""

    max_attempts: int = 8
    first: float = 60.0
    cap: float = 3600.0

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        return min(self.first * 2.0 ** (attempts - 1), self.cap)


RETRY = Retry()


def describe(exc: BaseException) -> str:
    """The error on one line, as stored and logged: its type and message, shortened, with
    no NUL (PostgreSQL refuses it in text) and no line break (one log line)."""
    text = f"{type(exc).__name__}: {exc}".replace("\x00", "\\x00")
    return " ".join(text.split())[:ERROR_LENGTH]


def log_failure(task: str, row_id: int, attempts: int, retry: Retry, error: str) -> None:
    """One line per failed attempt on a row."""
    final = attempts >= retry.max_attempts
    log.log(
        logging.ERROR if final else logging.WARNING,
        "%s: row %s failed (attempt %s of %s%s): %s",
        task,
        row_id,
        attempts,
        retry.max_attempts,
        ", set aside" if final else "",
        error,
        extra={"task": task, "row_id": row_id},
    )


_FAILED = """
INSERT INTO task_failures AS f (task, row_id, attempts, next_attempt_at, last_error, failed_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (task, row_id) DO UPDATE
SET attempts = EXCLUDED.attempts, next_attempt_at = EXCLUDED.next_attempt_at,
    last_error = EXCLUDED.last_error, failed_at = EXCLUDED.failed_at
"""

_SUCCEEDED = "DELETE FROM task_failures WHERE task = $1 AND row_id = $2"


async def each_due(
    pool: asyncpg.Pool,
    task: str,
    pick: Callable[[Connection], Awaitable[asyncpg.Record | None]],
    handle: Callable[[Connection, asyncpg.Record], Awaitable[T]],
    *,
    now: datetime,
    retry: Retry = RETRY,
    set_aside: Callable[[Connection, asyncpg.Record], Awaitable[object]] | None = None,
) -> list[T]:
    """Handle due rows one at a time until none is left; the handlers' results.

    `pick(conn)` returns the next due row, locked (`FOR UPDATE … SKIP LOCKED`, so workers
    share the rows), with its `id` and `attempts`, leaving out rows backing off or set
    aside; its query joins the task's record like this:

        LEFT JOIN task_failures f ON f.task = '<task>' AND f.row_id = <the row's id>
        WHERE … AND (f.row_id IS NULL OR (f.failed_at IS NULL AND f.next_attempt_at <= $now))

    and selects `coalesce(f.attempts, 0) AS attempts`. `handle(conn, row)` runs in a
    savepoint of the same transaction: if it raises, its work is undone, the failure is
    recorded while the row is still locked, and the next row comes. `set_aside(conn, row)`
    runs when a row is set aside, to leave it where a person will see it.
    """
    results: list[T] = []
    seen: set[int] = set()
    while True:
        async with db.transaction(pool) as conn:
            row = await pick(conn)
            if row is None:
                return results
            if row["id"] in seen:  # its handler left it due: no endless pass
                log.warning("%s: row %s is still due once handled", task, row["id"])
                return results
            seen.add(row["id"])
            try:
                async with conn.transaction():
                    results.append(await handle(conn, row))
            except Exception as exc:
                if _passing(exc):  # not the row's fault: the pass fails, no attempt counted
                    raise
                if await _failed(conn, task, row, exc, now, retry) and set_aside:
                    await set_aside(conn, row)
            else:
                if row["attempts"]:
                    await conn.execute(_SUCCEEDED, task, row["id"])


def _passing(exc: BaseException) -> bool:
    """An error of the moment (the database gone, a deadlock, a cancelled statement), not of
    the row: counting it as an attempt would set a sound row aside after a bad hour."""
    transient = (
        asyncpg.DeadlockDetectedError,
        asyncpg.SerializationError,
        asyncpg.QueryCanceledError,
    )
    return db.unavailable(exc) or isinstance(exc, transient)


async def forget(conn: Connection, tasks: tuple[str, ...], row_id: int) -> None:
    """Drop the failure records of these tasks for a row that changed (e.g. a round given a
    new deadline): it is due again at once, with its attempts counted afresh."""
    await conn.execute(
        "DELETE FROM task_failures WHERE task = ANY($1::text[]) AND row_id = $2",
        list(tasks),
        row_id,
    )


async def _failed(
    conn: Connection, task: str, row: asyncpg.Record, exc: Exception, now: datetime, retry: Retry
) -> bool:
    """Record the failed attempt; True if it was the last (the row is set aside)."""
    attempts: int = row["attempts"] + 1
    error = describe(exc)
    final = attempts >= retry.max_attempts
    next_attempt = now + timedelta(seconds=retry.backoff(attempts))
    await conn.execute(
        _FAILED, task, row["id"], attempts, next_attempt, error, now if final else None
    )
    log_failure(task, row["id"], attempts, retry, error)
    return final


REPEAT_LOG = 60.0  # seconds: a pass failing the same way again is logged at most this often


async def every(
    name: str,
    interval: float,
    stop: asyncio.Event,
    work: Callable[[], Awaitable[object]],
) -> None:
    """Run `work()` every `interval` seconds until `stop` is set; at once again when it
    returns True (a full batch: more is waiting). A failing pass never ends the loop: the
    first failure is logged with its traceback, the next ones in one line each when the
    error changes, else once a minute (an outage is not a flood of lines), and the first
    pass that works again says so."""
    failed = 0  # passes failed in a row
    traced = False  # whether this run of failures has logged a traceback yet
    said, said_at = "", 0.0  # the last error logged, and when
    while not stop.is_set():
        more: object = False
        try:
            more = await work()
        except Exception as exc:
            failed += 1
            error, clock = describe(exc), time.monotonic()
            if db.unavailable(exc):  # an outage is said once, for the whole process
                db.outage.began(exc)
            elif not traced:
                traced = True
                log.error("%s: pass failed; next try in %s s", name, interval, exc_info=True)
            elif error != said or clock - said_at >= REPEAT_LOG:
                log.warning("%s: pass failed (%s in a row): %s", name, failed, error)
            else:
                error, clock = said, said_at
            said, said_at = error, clock
        else:
            if failed:
                log.info("%s: passes work again after %s failed", name, failed)
                db.outage.ended()
            failed, traced = 0, False
        if more is True:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
