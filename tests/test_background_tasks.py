"""Background tasks handle each row on its own: a round whose reminder or closing fails is
tried again after a back-off and then set aside with its error, while every other round is
reminded and closed on time; closings never wait for reminders."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from consentir import db, tasks
from consentir.app import create_app
from consentir.config import Settings
from consentir.consent import deadlines, rules, store
from consentir.consent.rules import Actor
from consentir.consent.store import Content
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from consentir.web.templates import environment
from tests.helpers import TEST_SECRET
from tests.process import act, to_object_round
from tests.scenario import Scenario

TEXT = Content(title="Jardin", driver="Pourquoi", body="Quoi")
BAD_EMAIL = "a;b@example.org"  # the database and the sign-up form take it; no mail header does
URL = "http://127.0.0.1:8000"


async def space(pool: asyncpg.Pool, slug: str) -> Space:
    async with pool.acquire() as conn:
        view = await spaces.space_view(conn, slug, None, instance_admin=False)
    assert view is not None
    return view.space


async def beta_round(pool: asyncpg.Pool, world: Scenario, *, react: bool) -> int:
    """A proposal of beta's owner in its clarify round (or its react round, where the
    reaction of beta's other member, `outsider`, is awaited); returns the proposal's id."""
    beta = await space(pool, "beta")
    owner = Actor(world.user_ids["beta_owner"], may_participate=True, may_facilitate=True)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, 'member')"
            " ON CONFLICT DO NOTHING",
            beta.id,
            world.user_ids["outsider"],
        )
        proposal_id = await store.create(conn, beta, owner, TEXT)
    await act(pool, beta, proposal_id, owner, rules.Submit(frozenset()))
    if react:
        await act(pool, beta, proposal_id, owner, rules.Advance(frozenset()))
    return proposal_id


async def set_deadline(pool: asyncpg.Pool, proposal_id: int, at: datetime) -> None:
    """The round's deadline, written as the facilitator's step would leave it (directly, so
    that it may lie in the past)."""
    async with pool.acquire() as conn:
        done = await conn.execute(
            "UPDATE rounds SET deadline = $2 WHERE proposal_id = $1 AND closed_at IS NULL",
            proposal_id,
            at,
        )
    assert done == "UPDATE 1"


async def bad_reminder(pool: asyncpg.Pool, world: Scenario, deadline: datetime) -> int:
    """An objection round in alpha whose reminder cannot be sent: one of the people awaited
    has an address no mail header takes. Returns the round's id."""
    alpha = await space(pool, "alpha")
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    await set_deadline(pool, proposal_id, deadline)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE users SET email = $2 WHERE id = $1", world.user_ids["target"], BAD_EMAIL
        )
        return int(
            await conn.fetchval(
                "SELECT id FROM rounds WHERE proposal_id = $1 AND closed_at IS NULL", proposal_id
            )
        )


async def failure(pool: asyncpg.Pool, task: str, round_id: int) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        return await conn.fetchrow(
            "SELECT * FROM task_failures WHERE task = $1 AND row_id = $2", task, round_id
        )


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"still not true after {timeout} s")


async def test_a_failing_reminder_does_not_stop_closings_in_other_spaces(
    pool: asyncpg.Pool, world: Scenario, database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    stuck = await bad_reminder(pool, world, now + timedelta(hours=12))
    due = await beta_round(pool, world, react=False)
    await set_deadline(pool, due, now - timedelta(minutes=1))

    async def closed() -> bool:
        async with pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT closed_at IS NOT NULL FROM rounds WHERE proposal_id = $1"
                    " AND kind = 'clarify'",
                    due,
                )
            )

    settings = Settings(database_url=database_url, secret_key=TEST_SECRET, data_dir=str(tmp_path))
    async with AsyncTestClient(app=create_app(settings), base_url=URL):
        await until(closed)  # the app's own tasks, at their first pass
        await until(lambda: failure_recorded(pool, stuck))
    found = await failure(pool, deadlines.REMINDER, stuck)
    assert found is not None and found["failed_at"] is None
    assert found["last_error"].startswith("BadMessage: not an email address")


async def failure_recorded(pool: asyncpg.Pool, round_id: int) -> bool:
    return await failure(pool, deadlines.REMINDER, round_id) is not None


async def test_a_failing_reminder_is_retried_with_backoff_then_set_aside(
    pool: asyncpg.Pool, world: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    stuck = await bad_reminder(pool, world, now + timedelta(hours=10))
    fine = await beta_round(pool, world, react=True)  # comes after the stuck one
    await set_deadline(pool, fine, now + timedelta(hours=20))
    templates = environment()

    with caplog.at_level(logging.WARNING, logger="consentir.tasks"):
        # The other round's reminder goes out at once, the stuck one waits its turn.
        assert await deadlines.send_reminders(pool, templates, URL, now) == 1
    found = await failure(pool, deadlines.REMINDER, stuck)
    assert found is not None
    assert (found["attempts"], found["failed_at"]) == (1, None)
    assert found["next_attempt_at"] == now + timedelta(minutes=1)
    assert "BadMessage" in found["last_error"] and BAD_EMAIL in found["last_error"]
    lines = [r for r in caplog.records if r.name == "consentir.tasks"]
    assert len(lines) == 1 and lines[0].exc_info is None  # one line, no traceback
    assert f"reminder: row {stuck} failed (attempt 1 of 8)" in lines[0].getMessage()

    # Backing off: not tried again before its time.
    assert await deadlines.send_reminders(pool, templates, URL, now + timedelta(seconds=30)) == 0
    assert (await failure(pool, deadlines.REMINDER, stuck))["attempts"] == 1  # type: ignore[index]

    at = now
    for attempt in range(2, 9):
        at += timedelta(seconds=tasks.RETRY.backoff(attempt - 1))
        assert await deadlines.send_reminders(pool, templates, URL, at) == 0
        found = await failure(pool, deadlines.REMINDER, stuck)
        assert found is not None and found["attempts"] == attempt
    assert found["failed_at"] == at, "set aside after the eighth attempt"

    # Set aside: never tried again, by any worker.
    assert await deadlines.send_reminders(pool, templates, URL, at + timedelta(hours=5)) == 0
    assert (await failure(pool, deadlines.REMINDER, stuck))["attempts"] == 8  # type: ignore[index]
    async with pool.acquire() as conn:
        sent = await conn.fetch("SELECT recipient FROM outbox")
        reminded = await conn.fetchval("SELECT reminded_at FROM rounds WHERE id = $1", stuck)
    assert [r["recipient"] for r in sent] == [world.email("outsider")]
    assert reminded is None


async def test_a_title_with_a_line_break_still_gets_its_reminder(
    pool: asyncpg.Pool, world: Scenario
) -> None:
    """What jammed the task in production: a title ending in CR, from before titles were
    kept to one line, broke the reminder's subject."""
    alpha = await space(pool, "alpha")
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    now = datetime.now(UTC)
    await set_deadline(pool, proposal_id, now + timedelta(hours=3))
    async with pool.acquire() as conn:
        await conn.execute("UPDATE proposals SET title = 'Budget\r' WHERE id = $1", proposal_id)
    assert await deadlines.send_reminders(pool, environment(), URL, now) == 3
    async with pool.acquire() as conn:
        subjects = {r["subject"] for r in await conn.fetch("SELECT subject FROM outbox")}
    (subject,) = subjects
    assert "Budget" in subject and "\r" not in subject
    assert await failure(pool, deadlines.REMINDER, proposal_id) is None


async def a_round_that_cannot_close(pool: asyncpg.Pool, world: Scenario) -> tuple[int, int]:
    """An object round in alpha (silence counts as consent) whose closing fails inside the
    database, for this round only: (proposal id, round id)."""
    alpha = await space(pool, "alpha")
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE spaces SET silence_is_consent = true WHERE id = $1", alpha.id)
        round_id = await conn.fetchval(
            "SELECT id FROM rounds WHERE proposal_id = $1 AND closed_at IS NULL", proposal_id
        )
        await conn.execute(f"""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
            CREATE TRIGGER refuse BEFORE UPDATE ON rounds FOR EACH ROW
                WHEN (OLD.id = {int(round_id)} AND NEW.closed_at IS NOT NULL)
                EXECUTE FUNCTION refuse();
        """)  # fmt: skip
    return proposal_id, int(round_id)


async def test_a_closing_that_fails_is_retried_and_does_not_hold_the_others(
    pool: asyncpg.Pool, world: Scenario
) -> None:
    now = datetime.now(UTC)
    failing, failing_round = await a_round_that_cannot_close(pool, world)
    await set_deadline(pool, failing, now - timedelta(hours=1))  # the first one due
    other = await beta_round(pool, world, react=False)
    await set_deadline(pool, other, now - timedelta(minutes=1))

    assert await deadlines.run_due(pool, now) == 1  # the other one closed
    found = await failure(pool, deadlines.CLOSING, failing_round)
    assert found is not None and found["attempts"] == 1
    assert "No space left on device" in found["last_error"]
    assert await deadlines.run_due(pool, now + timedelta(seconds=30)) == 0  # backing off
    assert (await failure(pool, deadlines.CLOSING, failing_round))["attempts"] == 1  # type: ignore[index]

    async with pool.acquire() as conn:
        await conn.execute("DROP TRIGGER refuse ON rounds")
    assert await deadlines.run_due(pool, now + timedelta(minutes=2)) == 1
    assert await failure(pool, deadlines.CLOSING, failing_round) is None  # the record goes
    async with pool.acquire() as conn:
        stage = await conn.fetchval("SELECT stage FROM proposals WHERE id = $1", failing)
    assert stage == "adopted"


async def test_a_failing_pass_logs_its_traceback_once_then_a_line_when_it_changes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database outage is said once for the whole process (consentir.db), without a
    traceback; another error gets its traceback once, then one line when it changes."""
    stop = asyncio.Event()
    passes = 0

    async def work() -> None:
        nonlocal passes
        passes += 1
        if passes == 6:
            stop.set()
        if passes < 3:  # the database is down…
            raise ConnectionRefusedError("[Errno 111] Connect call failed")
        if passes == 3:  # …then a bug shows
            raise KeyError("round")
        if passes == 4:
            raise ValueError("another row")

    with caplog.at_level(logging.INFO):
        try:
            await asyncio.wait_for(tasks.every("closings", 0.01, stop, work), timeout=5)
        finally:
            db.outage.ended()
    records = [r for r in caplog.records if r.name in ("consentir.tasks", "consentir.db")]
    assert [(r.name, r.levelname) for r in records] == [
        ("consentir.db", "WARNING"),  # the outage, once
        ("consentir.tasks", "ERROR"),  # the first other failure, with its traceback
        ("consentir.tasks", "WARNING"),
        ("consentir.tasks", "INFO"),
        ("consentir.db", "INFO"),  # the outage is over
    ]
    assert records[1].exc_info is not None and records[2].exc_info is None
    assert records[2].getMessage() == "closings: pass failed (4 in a row): ValueError: another row"
    assert records[3].getMessage() == "closings: passes work again after 4 failed"


async def test_a_new_deadline_takes_a_set_aside_round_back(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    """A round the deadline tasks set aside is tried afresh once the facilitator sets a new
    deadline (else it would stay open for good)."""
    pid = await to_object_round(pool, alpha, world, Content(title="T", driver="D", body="B"))
    async with pool.acquire() as conn:
        round_id = await conn.fetchval(
            "SELECT id FROM rounds WHERE proposal_id = $1 AND closed_at IS NULL", pid
        )
        for task in (deadlines.REMINDER, deadlines.CLOSING):
            await conn.execute(
                "INSERT INTO task_failures VALUES ($1, $2, 8, now(), 'boom', now())",
                task,
                round_id,
            )
    now = datetime.now(UTC)
    facilitator = Actor(world.user_ids["facilitator"], may_participate=True, may_facilitate=True)
    await act(pool, alpha, pid, facilitator, rules.SetDeadline(now + timedelta(days=1), now))
    for task in (deadlines.REMINDER, deadlines.CLOSING):
        assert await failure(pool, task, round_id) is None


async def test_an_error_of_the_moment_costs_the_row_no_attempt(pool: asyncpg.Pool) -> None:
    """A deadlock (or the database gone) fails the pass, not the row: no attempt counted."""
    picked = 0

    async def pick(conn: db.Connection) -> asyncpg.Record | None:
        nonlocal picked
        picked += 1
        return await conn.fetchrow("SELECT 7::bigint AS id, 0 AS attempts") if picked == 1 else None

    async def handle(conn: db.Connection, row: asyncpg.Record) -> None:
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    with pytest.raises(asyncpg.DeadlockDetectedError):
        await tasks.each_due(pool, "closing", pick, handle, now=datetime.now(UTC))
    assert await failure(pool, "closing", 7) is None


async def test_a_closing_set_aside_leaves_the_round_overdue(
    pool: asyncpg.Pool, world: Scenario
) -> None:
    """After its last failed attempt a closing is set aside, and its round is marked overdue:
    the facilitator's dashboard shows it (it would otherwise wait unseen)."""
    now = datetime.now(UTC)
    failing, round_id = await a_round_that_cannot_close(pool, world)
    await set_deadline(pool, failing, now - timedelta(hours=1))
    at = now
    for attempt in range(1, tasks.RETRY.max_attempts + 1):
        assert await deadlines.run_due(pool, at) == 0
        at += timedelta(seconds=tasks.RETRY.backoff(attempt))
    found = await failure(pool, deadlines.CLOSING, round_id)
    assert found is not None and found["failed_at"] is not None
    async with pool.acquire() as conn:
        overdue = await conn.fetchval("SELECT overdue_at FROM rounds WHERE id = $1", round_id)
    assert overdue is not None
