"""The journal: chained per space, append-only, tamper-evident, fork-free under concurrency."""

import asyncio
import os
import subprocess
from itertools import pairwise
from pathlib import Path

import asyncpg
import pytest

from consentir import db, journal
from tests.helpers import consentir_command


async def append_many(conn: asyncpg.Connection, space_id: int | None, count: int) -> list[int]:
    ids = []
    async with conn.transaction():
        for n in range(count):
            ids.append(
                await journal.append(
                    conn,
                    action="thing.created",
                    subject_type="thing",
                    subject_id=n,
                    space_id=space_id,
                    actor_id=7,
                    data={"n": n, "texte": "réunion", "nested": {"b": [1, 2.5, None]}},
                )
            )
    return ids


async def tamper(conn: asyncpg.Connection, sql: str, *args: object) -> None:
    """Change the journal behind the trigger's back, as a hostile superuser could."""
    await conn.execute("ALTER TABLE journal DISABLE TRIGGER USER")
    await conn.execute(sql, *args)
    await conn.execute("ALTER TABLE journal ENABLE TRIGGER USER")


async def test_events_form_one_chain_per_space(conn: asyncpg.Connection) -> None:
    await append_many(conn, 1, 3)
    await append_many(conn, 2, 2)
    await append_many(conn, None, 2)
    await append_many(conn, 1, 2)
    rows = await conn.fetch("SELECT id, space_id, prev_hash, hash FROM journal ORDER BY id")
    by_space: dict[int | None, list[asyncpg.Record]] = {}
    for row in rows:
        by_space.setdefault(row["space_id"], []).append(row)
    assert {k: len(v) for k, v in by_space.items()} == {1: 5, 2: 2, None: 2}
    for chain in by_space.values():
        assert chain[0]["prev_hash"] is None
        for before, after in pairwise(chain):
            assert after["prev_hash"] == before["hash"]
    result = await journal.verify(conn)
    assert result.ok and result.rows == 9 and result.chains == 3


async def test_event_keeps_what_was_given(conn: asyncpg.Connection) -> None:
    [event_id] = await append_many(conn, 4, 1)
    row = await conn.fetchrow("SELECT * FROM journal WHERE id = $1", event_id)
    assert row["action"] == "thing.created" and row["subject_type"] == "thing"
    assert row["actor_id"] == 7 and row["space_id"] == 4
    assert row["data"] == {"n": 0, "texte": "réunion", "nested": {"b": [1, 2.5, None]}}


async def test_append_outside_a_transaction_is_refused(conn: asyncpg.Connection) -> None:
    with pytest.raises(journal.JournalOutsideTransaction):
        await journal.append(conn, action="thing.created", subject_type="thing")
    assert await conn.fetchval("SELECT count(*) FROM journal") == 0


@pytest.mark.parametrize(
    "statement",
    ["UPDATE journal SET action = 'thing.hidden'", "DELETE FROM journal", "TRUNCATE journal"],
)
async def test_database_refuses_changes(conn: asyncpg.Connection, statement: str) -> None:
    await append_many(conn, 1, 2)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await conn.execute(statement)
    assert await conn.fetchval("SELECT count(*) FROM journal") == 2


async def test_rolled_back_action_leaves_no_event(conn: asyncpg.Connection) -> None:
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await journal.append(conn, action="thing.created", subject_type="thing", space_id=1)
            raise RuntimeError("the action failed after its event was written")
    assert await conn.fetchval("SELECT count(*) FROM journal") == 0
    await append_many(conn, 1, 1)
    assert (await journal.verify(conn)).ok


@pytest.mark.parametrize(
    ("change", "target", "broken", "reason"),
    [
        ("UPDATE journal SET data = '{\"n\": 99}' WHERE id = $1", 2, 2, "does not match its hash"),
        ("UPDATE journal SET actor_id = 8 WHERE id = $1", 3, 3, "does not match its hash"),
        ("DELETE FROM journal WHERE id = $1", 2, 3, "does not follow row"),
        ("DELETE FROM journal WHERE id = $1", 4, 3, "rows were removed from its end"),
        ("DELETE FROM journal WHERE id = $1", 1, 2, "does not follow the chain's start"),
        (
            "UPDATE journal SET created_at = created_at - interval '1 day' WHERE id = $1",
            2,
            2,
            "does not match its hash",
        ),
        ("UPDATE journal SET space_id = 2 WHERE id = $1", 2, 3, "does not follow row"),
    ],
)
async def test_tampering_is_detected_and_named(
    conn: asyncpg.Connection, change: str, target: int, broken: int, reason: str
) -> None:
    """Rows are numbered 1-4 within space 1; space 2's chain stays intact."""
    ids = await append_many(conn, 1, 4)
    await append_many(conn, 2, 2)
    await tamper(conn, change, ids[target - 1])
    result = await journal.verify(conn)
    [found] = [b for b in result.breaks if b.space_id == 1]  # a moved row also breaks space 2
    assert found.event_id == ids[broken - 1]
    assert reason in str(found)
    assert str(found).startswith(f"row {ids[broken - 1]} (space 1): ")


async def test_concurrent_appends_never_fork_the_chain(database: str) -> None:
    pool = await db.create_pool(database, min_size=20, max_size=20)
    start = asyncio.Event()

    async def writer(n: int) -> None:
        async with pool.acquire() as conn:
            await start.wait()
            for k in range(5):
                async with conn.transaction():
                    await journal.append(
                        conn,
                        action="thing.created",
                        subject_type="thing",
                        subject_id=n * 100 + k,
                        space_id=1,
                    )

    try:
        tasks = [asyncio.create_task(writer(n)) for n in range(20)]
        await asyncio.sleep(0.2)  # every writer holds its connection before any starts
        start.set()
        await asyncio.gather(*tasks)
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, prev_hash, hash FROM journal WHERE space_id = 1 ORDER BY id"
            )
            assert len(rows) == 100
            prev = [r["prev_hash"] for r in rows]
            assert prev[0] is None and len(set(prev)) == 100, "two events share a predecessor"
            for before, after in pairwise(rows):
                assert after["prev_hash"] == before["hash"]
            assert (await journal.verify(conn)).ok
    finally:
        await pool.close()


async def test_notification_only_after_commit(conn: asyncpg.Connection, database: str) -> None:
    listener = await db.connect(database)
    received: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    await listener.add_listener("space:5", lambda *args: received.put_nowait((args[2], args[3])))
    try:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await journal.append(conn, action="thing.created", subject_type="thing", space_id=5)
                raise RuntimeError
        [event_id] = await append_many(conn, 5, 1)
        channel, payload = await asyncio.wait_for(received.get(), timeout=5)
        assert (channel, payload) == ("space:5", str(event_id))
        assert received.empty(), "the rolled-back event was announced"
    finally:
        await listener.close()


def run_verify(database: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*consentir_command(), "journal", "verify", *extra],
        env={**os.environ, "DATABASE_URL": database, "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_verify_command(conn: asyncpg.Connection, database: str, tmp_path: Path) -> None:
    ids = await append_many(conn, 3, 3)
    good = await asyncio.to_thread(run_verify, database, tmp_path)
    assert good.returncode == 0, good.stderr
    assert "journal intact: 3 rows in 1 chains" in good.stdout
    await tamper(conn, "UPDATE journal SET data = '{}' WHERE id = $1", ids[1])
    bad = await asyncio.to_thread(run_verify, database, tmp_path)
    assert bad.returncode == 1
    assert f"journal broken at row {ids[1]} (space 3)" in bad.stderr


async def test_space_zero_is_not_a_space(conn: asyncpg.Connection) -> None:
    """Chain 0 holds instance-wide events; no space may write into it."""
    with pytest.raises(asyncpg.CheckViolationError):
        async with conn.transaction():
            await journal.append(conn, action="thing.created", subject_type="thing", space_id=0)


async def rewrite_history(conn: asyncpg.Connection, event_id: int, space_id: int) -> None:
    """What someone in full control of the server could do: change a row and re-hash every
    row after it, and the chain's head, so that the chain is consistent again."""
    await conn.execute("ALTER TABLE journal DISABLE TRIGGER USER")
    await conn.execute("UPDATE journal SET data = '{\"rewritten\": true}' WHERE id = $1", event_id)
    rows = await conn.fetch(
        "SELECT id FROM journal WHERE space_id = $1 AND id >= $2 ORDER BY id", space_id, event_id
    )
    for row in rows:
        await conn.execute(
            "UPDATE journal j SET prev_hash = (SELECT hash FROM journal p WHERE p.space_id = $2"
            " AND p.id < j.id ORDER BY p.id DESC LIMIT 1) WHERE id = $1",
            row["id"],
            space_id,
        )
        await conn.execute("UPDATE journal j SET hash = journal_digest(j) WHERE id = $1", row["id"])
    await conn.execute(
        "UPDATE journal_heads h SET last_hash = j.hash FROM journal j"
        " WHERE j.id = h.last_id AND h.chain = $1",
        space_id,
    )
    await conn.execute("ALTER TABLE journal ENABLE TRIGGER USER")


async def test_anchor_reveals_a_rewritten_chain(
    conn: asyncpg.Connection, database: str, tmp_path: Path
) -> None:
    ids = await append_many(conn, 6, 3)
    anchor = tmp_path / "anchor.json"
    first = await asyncio.to_thread(run_verify, database, tmp_path, "--anchor", str(anchor))
    assert first.returncode == 0 and "anchor written" in first.stdout
    await append_many(conn, 6, 1)  # the journal goes on: the anchored head is still there
    second = await asyncio.to_thread(run_verify, database, tmp_path, "--anchor", str(anchor))
    assert second.returncode == 0, second.stderr
    assert "1 anchored heads found unchanged" in second.stdout

    await rewrite_history(conn, ids[1], 6)
    assert (await journal.verify(conn)).ok, "a full rewrite passes the chain check alone"
    third = await asyncio.to_thread(run_verify, database, tmp_path, "--anchor", str(anchor))
    assert third.returncode == 1
    assert "the chain was rewritten" in third.stderr


async def test_verify_on_a_database_without_journal(empty_database: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(run_verify, empty_database, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "consentir: this database has no journal yet: run `consentir migrate` first"
    )
