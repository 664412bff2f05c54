"""The migrations runner: once each, in order, under a lock, refusing changed files."""

import asyncio
import os
from asyncio.subprocess import PIPE
from pathlib import Path

import asyncpg
import pytest

from consentir import db, migrations
from consentir.migrations import MigrationError, load_migrations
from tests.helpers import consentir_command


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    target.mkdir()
    (target / "0001_first.sql").write_text("CREATE TABLE first (id int PRIMARY KEY);")
    (target / "0002_second.sql").write_text("CREATE TABLE second (id int PRIMARY KEY);")
    return target


async def applied_versions(conn: asyncpg.Connection) -> list[int]:
    return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]


async def test_fresh_database_gets_every_migration_in_order(empty_database: str) -> None:
    conn = await db.connect(empty_database)
    try:
        done = await migrations.migrate(conn)
        expected = load_migrations()
        assert [m.version for m in done] == [m.version for m in expected]
        rows = await conn.fetch(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
        )
        assert [(r["version"], r["name"], r["checksum"]) for r in rows] == [
            (m.version, m.name, m.checksum) for m in expected
        ]
        assert await conn.fetchval("SELECT to_regclass('journal') IS NOT NULL")
    finally:
        await conn.close()


async def test_rerun_applies_nothing(empty_database: str, folder: Path) -> None:
    conn = await db.connect(empty_database)
    try:
        assert len(await migrations.migrate(conn, folder)) == 2
        assert await migrations.migrate(conn, folder) == []
        (folder / "0003_third.sql").write_text("CREATE TABLE third (id int);")
        assert [m.version for m in await migrations.migrate(conn, folder)] == [3]
        assert await applied_versions(conn) == [1, 2, 3]
    finally:
        await conn.close()


async def test_changed_file_is_refused(empty_database: str, folder: Path) -> None:
    conn = await db.connect(empty_database)
    try:
        await migrations.migrate(conn, folder)
        (folder / "0002_second.sql").write_text("CREATE TABLE second (id bigint);")
        with pytest.raises(MigrationError, match=r"0002_second\.sql was changed"):
            await migrations.migrate(conn, folder)
    finally:
        await conn.close()


async def test_database_from_newer_code_is_refused(empty_database: str, folder: Path) -> None:
    conn = await db.connect(empty_database)
    try:
        await migrations.migrate(conn, folder)
        (folder / "0002_second.sql").unlink()
        with pytest.raises(MigrationError, match=r"0002 that this code does not know"):
            await migrations.migrate(conn, folder)
    finally:
        await conn.close()


async def test_failing_migration_leaves_nothing_behind(empty_database: str, folder: Path) -> None:
    (folder / "0003_broken.sql").write_text(
        "CREATE TABLE half (id int); INSERT INTO nowhere VALUES (1);"
    )
    conn = await db.connect(empty_database)
    try:
        with pytest.raises(MigrationError, match=r"0003_broken\.sql failed and was rolled back"):
            await migrations.migrate(conn, folder)
        assert await applied_versions(conn) == [1, 2]
        assert await conn.fetchval("SELECT to_regclass('half')") is None
    finally:
        await conn.close()


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_Upper.sql"])
def test_badly_named_file_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"named NNNN_name\.sql"):
        load_migrations(tmp_path)


async def test_two_concurrent_runners_migrate_once(empty_database: str, folder: Path) -> None:
    # Slow enough that the two runners overlap; CREATE TABLE would fail if run twice.
    (folder / "0003_slow.sql").write_text("SELECT pg_sleep(0.5); CREATE TABLE slow (id int);")
    first, second = await db.connect(empty_database), await db.connect(empty_database)
    try:
        results = await asyncio.gather(
            migrations.migrate(first, folder), migrations.migrate(second, folder)
        )
        assert sorted(len(r) for r in results) == [0, 3]
        assert await applied_versions(first) == [1, 2, 3]
    finally:
        await first.close()
        await second.close()


async def test_two_processes_starting_together_migrate_once(
    empty_database: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database, "DATA_DIR": str(tmp_path)}
    processes = [
        await asyncio.create_subprocess_exec(
            *consentir_command(), "migrate", env=env, stdout=PIPE, stderr=PIPE
        )
        for _ in range(2)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 60)
    assert [p.returncode for p in processes] == [0, 0], outputs
    conn = await db.connect(empty_database)
    try:
        assert await applied_versions(conn) == [m.version for m in load_migrations()]
    finally:
        await conn.close()


def test_repository_migrations_are_well_formed() -> None:
    found = load_migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1)), "no gaps in numbering"
