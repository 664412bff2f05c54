"""Schema migrations: sql/migrations/NNNN_name.sql, applied once each, in order.

Each file runs in its own transaction and is recorded with its SHA-256 in
`schema_migrations`. The whole run holds a PostgreSQL advisory lock, so two app processes
starting together migrate once: the second waits, then finds nothing left to do. A file
changed after it was applied is refused, and so is a database that knows migrations this
code does not (it was migrated by newer code).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from consentir.db import Connection
from consentir.resources import resource_dir

log = logging.getLogger(__name__)

# An arbitrary constant naming this lock among the application's advisory locks.
MIGRATION_LOCK = 0x636F6E73  # "cons"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """The schema cannot be brought up to date safely; the message says why."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def default_directory() -> Path:
    return resource_dir("sql") / "migrations"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    folder = directory or default_directory()
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} appears twice")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def migrate(conn: Connection, directory: Path | None = None) -> list[Migration]:
    """Apply what is pending; returns the migrations this call applied."""
    migrations = load_migrations(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(_CREATE_TABLE)
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
        applied = {row["version"]: row for row in rows}
        known = {m.version for m in migrations}
        unknown = sorted(set(applied) - known)
        if unknown:
            raise MigrationError(
                f"the database has migration {unknown[0]:04d} that this code does not know: "
                "it was migrated by a newer version of Consentir"
            )
        done: list[Migration] = []
        for migration in migrations:
            row = applied.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name}.sql was changed "
                        "after it was applied; write a new migration instead"
                    )
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum)"
                        " VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name}.sql failed"
                    f" and was rolled back: {exc}"
                ) from exc
            log.info("applied migration %04d_%s", migration.version, migration.name)
            done.append(migration)
        return done
    finally:
        if not conn.is_closed():  # a lost connection has released its lock already
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
