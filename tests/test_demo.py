"""The demo data: what the README says it holds, loaded once however often it is run, and
`consentir demo --reset` (which refuses to erase a configured database unless told to)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from consentir import db, demo, journal
from consentir.accounts import store as accounts
from consentir.consent.rules import Stage
from consentir.spaces import store as spaces
from tests.helpers import consentir_command
from tests.web import post_form

COUNTS = """
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM spaces) AS spaces,
       (SELECT count(*) FROM memberships) AS memberships,
       (SELECT count(*) FROM charters) AS charters,
       (SELECT count(*) FROM charter_signatures) AS signatures,
       (SELECT count(*) FROM proposals) AS proposals,
       (SELECT count(*) FROM proposal_versions) AS versions,
       (SELECT count(*) FROM rounds) AS rounds, (SELECT count(*) FROM positions) AS positions,
       (SELECT count(*) FROM objections) AS objections,
       (SELECT count(*) FROM decisions) AS decisions, (SELECT count(*) FROM meetings) AS meetings,
       (SELECT count(*) FROM journal) AS events
"""


async def counts(conn: db.Connection) -> dict[str, int]:
    return dict(await conn.fetchrow(COUNTS))


@pytest.fixture
async def pool(database: str) -> AsyncIterator[db.Pool]:
    created = await db.create_pool(database, min_size=1, max_size=2)
    yield created
    await created.close()


@pytest.fixture
async def loaded(pool: db.Pool) -> db.Pool:
    await demo.load(pool)
    return pool


async def test_demo_is_idempotent_and_journaled(pool: db.Pool) -> None:
    first = await demo.load(pool)
    async with pool.acquire() as conn:
        before = await counts(conn)
    second = await demo.load(pool)
    async with pool.acquire() as conn:
        after = await counts(conn)
        numbers = [r["number"] for r in await conn.fetch("SELECT number FROM decisions")]
        planned = await conn.fetch(
            "SELECT m.state, count(i.*) AS items FROM meetings m"
            " JOIN agenda_items i ON i.meeting_id = m.id GROUP BY m.id"
        )
        slugs = {r["slug"] for r in await conn.fetch("SELECT slug FROM spaces")}
        assert (await journal.verify(conn)).ok
    assert first == second and len(first) == 12
    assert before == after
    assert before["users"] == 12 and before["spaces"] == 4 and before["charters"] == 2
    assert before["signatures"] == 12 + 5, "the movement's twelve and the board's five"
    assert before["proposals"] == len(Stage)
    assert len(numbers) == 1 and numbers[0].startswith("CA-")
    assert [(r["state"], r["items"]) for r in planned] == [("planned", 2)]
    assert slugs == {"victoires-populaires", "conseil-administration", "mobilite-villeurbanne",
                     "vie-locale-croix-rousse"}  # fmt: skip


async def test_every_stage_of_the_process_is_shown_where_the_readme_says(loaded: db.Pool) -> None:
    async with loaded.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.stage, s.slug, p.title FROM proposals p JOIN spaces s ON s.id = p.space_id"
        )
    found = {Stage(r["stage"]): (r["slug"], r["title"]) for r in rows}
    assert len(found) == len(rows), "one proposal per stage"
    assert set(found) == set(Stage), f"stages missing: {set(Stage) - set(found)}"
    assert found == demo.STAGES_SHOWN
    assert sum(r["stage"] == "withdrawn" for r in rows) == 1


async def stage_row(conn: db.Connection, stage: Stage) -> Any:
    return await conn.fetchrow(
        "SELECT p.*, (SELECT kind FROM rounds r WHERE r.proposal_id = p.id"
        "             AND r.closed_at IS NULL) AS open_round"
        " FROM proposals p WHERE p.stage = $1",
        stage.value,
    )


async def test_each_stage_is_reached_as_the_process_says(loaded: db.Pool) -> None:
    async with loaded.acquire() as conn:
        adopted = await stage_row(conn, Stage.ADOPTED)
        versions = await conn.fetch(
            "SELECT number, title FROM proposal_versions WHERE proposal_id = $1 ORDER BY number",
            adopted["id"],
        )
        adopted_objection = await conn.fetchrow(
            "SELECT status, version, answered_in, proposer_confirmed_at IS NOT NULL AS by_p,"
            " objector_confirmed_at IS NOT NULL AS by_o FROM objections WHERE proposal_id = $1",
            adopted["id"],
        )
        decision = await conn.fetchrow(
            "SELECT number, title FROM decisions WHERE proposal_id = $1", adopted["id"]
        )
        integrate = await stage_row(conn, Stage.INTEGRATE)
        waiting = await conn.fetch(
            "SELECT status, answered_in FROM objections WHERE proposal_id = $1", integrate["id"]
        )
        object_ = await stage_row(conn, Stage.OBJECT)
        react = await stage_row(conn, Stage.REACT)
        reactions = await conn.fetchval(
            "SELECT count(*) FROM reactions x JOIN rounds r ON r.id = x.round_id"
            " WHERE r.proposal_id = $1 AND r.closed_at IS NULL",
            react["id"],
        )
        clarify = await stage_row(conn, Stage.CLARIFY)
        draft = await stage_row(conn, Stage.DRAFT)
        withdrawn = await stage_row(conn, Stage.WITHDRAWN)
        rejected = await stage_row(conn, Stage.REJECTED)
        events = {
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM journal WHERE subject_type = 'proposal'"
                " AND subject_id = ANY($1::bigint[])",
                [withdrawn["id"], rejected["id"]],
            )
        }
    # Adopted after an objection was integrated, in a version 2 with a title of its own.
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["title"] == "Une réunion mensuelle du conseil"
    assert versions[1]["title"] == adopted["title"] == "Un conseil mensuel le premier mardi"
    assert dict(adopted_objection) == {
        "status": "integrated", "version": 1, "answered_in": 2, "by_p": True, "by_o": True
    }  # fmt: skip
    assert decision["number"].startswith("CA-") and decision["title"] == adopted["title"]
    # Integrate: a valid objection no version answers yet, waiting for the proposer.
    assert [dict(r) for r in waiting] == [{"status": "valid", "answered_in": None}]
    assert integrate["version"] == 1 and integrate["open_round"] is None
    assert object_["open_round"] == "object"
    assert react["open_round"] == "react" and reactions >= 1
    assert clarify["open_round"] == "clarify" and draft["open_round"] is None
    assert withdrawn["closed_at"] is not None and "proposal.withdrawn" in events
    assert rejected["closed_reason"] and "proposal.closed_without_consent" in events


async def test_the_board_has_a_charter_signed_by_each_of_its_members(loaded: db.Pool) -> None:
    async with loaded.acquire() as conn:
        board = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'conseil-administration'")
        charter = await conn.fetchrow(
            "SELECT id, version, body FROM charters WHERE space_id = $1", board
        )
        members = {
            r["user_id"]
            for r in await conn.fetch("SELECT user_id FROM memberships WHERE space_id = $1", board)
        }
        signed = {
            r["user_id"]
            for r in await conn.fetch(
                "SELECT user_id FROM charter_signatures WHERE charter_id = $1", charter["id"]
            )
        }
        acting = await spaces.acting_member_ids(conn, board)
        journaled = await conn.fetchval(
            "SELECT count(*) FROM journal WHERE space_id = $1 AND action = 'charter.signed'", board
        )
    assert charter["version"] == 1 and "Conseil d'Administration" in charter["body"]
    assert len(members) == 5 and signed == members
    assert acting == members, "every board member may act: the charter is signed"
    assert journaled == 5


async def test_each_stage_has_its_page(loaded: db.Pool, database: str, tmp_path: Path) -> None:
    from consentir.app import create_app
    from consentir.config import Settings
    from tests.helpers import TEST_SECRET

    async with loaded.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.id, p.title, p.stage, s.slug FROM proposals p"
            " JOIN spaces s ON s.id = p.space_id"
        )
    settings = Settings(database_url=database, secret_key=TEST_SECRET, data_dir=str(tmp_path))
    # Karim facilitates the movement, the board and the mobility collective; Léa administers
    # the Croix-Rousse collective: between them they see every proposal, drafts included.
    reader = {"vie-locale-croix-rousse": "lea"}
    async with AsyncTestClient[Litestar](
        app=create_app(settings), base_url="http://127.0.0.1:8000"
    ) as client:
        for person in ("karim", "lea"):
            signed_in = await post_form(
                client, "/signin",
                {"email": f"{person}@demo.consentir.org", "password": demo.DEMO_PASSWORD},
            )  # fmt: skip
            assert signed_in.status_code == 303, signed_in.text
            for row in rows:
                if reader.get(row["slug"], "karim") != person:
                    continue
                page = await client.get(f"/s/{row['slug']}/proposals/{row['id']}")
                assert page.status_code == 200, (row["stage"], page.status_code)
                assert row["title"].replace("'", "&#39;") in page.text


# --- consentir demo --reset ----------------------------------------------------------------


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*consentir_command(), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def configured(database: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database, "DATA_DIR": str(tmp_path)}


async def test_reset_refuses_a_configured_database_without_confirmation(
    conn: asyncpg.Connection, database: str, tmp_path: Path
) -> None:
    async with conn.transaction():
        await accounts.create_user(conn, email="keep@example.org", name="Keep", password_hash=None)
    refused = await asyncio.to_thread(run, configured(database, tmp_path), "demo", "--reset")
    assert refused.returncode == 2
    assert "--reset erases the whole database at DATABASE_URL" in refused.stderr
    assert "--confirm-erase" in refused.stderr and "secret" not in refused.stderr
    alone = await asyncio.to_thread(run, configured(database, tmp_path), "demo", "--confirm-erase")
    assert alone.returncode == 2 and "only goes with --reset" in alone.stderr
    assert await conn.fetchval("SELECT count(*) FROM users") == 1, "nothing was touched"


async def test_reset_with_confirmation_erases_everything_and_reloads(
    database: str, tmp_path: Path
) -> None:
    env = configured(database, tmp_path)
    assert (await asyncio.to_thread(run, env, "demo")).returncode == 0
    conn = await db.connect(database)
    try:
        fresh = await counts(conn)
        async with conn.transaction():
            await accounts.create_user(conn, email="x@example.org", name="X", password_hash=None)
        # Someone's change to the demo data: the reset takes it away too.
        await conn.execute("UPDATE proposals SET title = 'changé' WHERE stage = 'draft'")
    finally:
        await conn.close()
    reset = await asyncio.to_thread(run, env, "demo", "--reset", "--confirm-erase")
    assert reset.returncode == 0, reset.stderr
    assert "database erased" in reset.stdout and "camille@demo.consentir.org" in reset.stdout
    conn = await db.connect(database)
    try:
        assert await counts(conn) == fresh
        assert await accounts.user_by_email(conn, "x@example.org") is None
        assert await conn.fetchval("SELECT count(*) FROM proposals WHERE title = 'changé'") == 0
        assert (await journal.verify(conn)).ok
    finally:
        await conn.close()


async def test_reset_refuses_while_the_service_uses_the_database(
    database: str, tmp_path: Path
) -> None:
    env = configured(database, tmp_path)
    assert (await asyncio.to_thread(run, env, "demo")).returncode == 0
    service = await db.connect(database)  # named like the app's own connections
    try:
        refused = await asyncio.to_thread(run, env, "demo", "--reset", "--confirm-erase")
        assert refused.returncode == 2
        assert "the service is using this database (1 connections): stop it first" in (
            refused.stderr
        )
        assert await service.fetchval("SELECT count(*) FROM users") == 12, "nothing was erased"
    finally:
        await service.close()


def postgres_processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(folder) in " ".join(
            process.info["cmdline"] or []
        ):
            found.append(process)
    return found


def test_reset_on_the_embedded_database_needs_no_confirmation(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATA_DIR"] = str(tmp_path)
    created = run(env, "user", "create", "extra@example.org", "--name", "Extra",
                  stdin="a long enough password\n")  # fmt: skip
    assert created.returncode == 0, created.stderr
    reset = run(env, "demo", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert "database erased" in reset.stdout and "camille@demo.consentir.org" in reset.stdout
    gone = run(env, "token", "create", "extra@example.org")
    assert gone.returncode == 2 and "no account uses extra@example.org" in gone.stderr
    demo_account = run(env, "token", "create", "camille@demo.consentir.org")
    assert demo_account.returncode == 0, demo_account.stderr
    assert (tmp_path / "postgres" / "PG_VERSION").exists(), "the data folder stays"
    psutil.wait_procs(postgres_processes_using(tmp_path), timeout=15)
    assert postgres_processes_using(tmp_path) == [], "postgres was left running"
