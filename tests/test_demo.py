"""The demo data: what the README says it holds, loaded once however often it is run, and
`consentir demo --reset` (which refuses to erase a configured database unless told to)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from consentir import db, demo, demo_causes, journal
from consentir.accounts import store as accounts
from consentir.causes import store as causes
from consentir.causes.rules import stepper as rules_stepper
from consentir.consent import rules
from consentir.consent.rules import Stage
from consentir.mandates import store as mandates
from consentir.mandates.rules import EndReason
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
    assert before["proposals"] == len(demo.STAGES_SHOWN) + 3 + 7, (
        "and the board's role, mandates, election; the two causes' seven"
    )
    # The board's three; the causes' (taking on, objectives; and, at the Croix-Rousse,
    # the scenario chosen and the evaluation).
    assert sorted(n.split("-")[0] for n in numbers) == ["CA"] * 3 + ["MOB"] * 2 + ["VL"] * 4
    assert [(r["state"], r["items"]) for r in planned] == [("planned", 2)]
    assert slugs == {"victoires-populaires", "conseil-administration", "mobilite-villeurbanne",
                     "vie-locale-croix-rousse"}  # fmt: skip


async def test_every_stage_of_the_process_is_shown_where_the_readme_says(loaded: db.Pool) -> None:
    async with loaded.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.stage, s.slug, p.title FROM proposals p JOIN spaces s ON s.id = p.space_id"
            " WHERE NOT p.id = ANY($1::bigint[]) AND p.kind NOT IN ('cause', 'choice')",
            await board_governance(conn),
        )
    found = {Stage(r["stage"]): (r["slug"], r["title"]) for r in rows}
    assert len(found) == len(rows), "one proposal per stage"
    # An election's own stages: the demo shows the nominations (the others follow from it).
    election = found.pop(Stage.NOMINATE)
    assert election == ("conseil-administration", demo.ELECTION_TITLE)
    ordinary = set(Stage) - rules.NOMINATION_STAGES
    assert set(found) == ordinary, f"stages missing: {ordinary - set(found)}"
    assert found == demo.STAGES_SHOWN
    assert sum(r["stage"] == "withdrawn" for r in rows) == 1


async def board_governance(conn: db.Connection) -> list[int]:
    """The board's role and mandates proposals (adopted, beside the stages shown)."""
    return [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM proposals WHERE kind = 'role' OR title LIKE 'Mandats du conseil %'"
        )
    ]


async def stage_row(conn: db.Connection, stage: Stage) -> Any:
    """The proposal `STAGES_SHOWN` names for `stage`."""
    return await conn.fetchrow(
        "SELECT p.*, (SELECT kind FROM rounds r WHERE r.proposal_id = p.id"
        "             AND r.closed_at IS NULL) AS open_round"
        " FROM proposals p WHERE p.stage = $1 AND p.title = $2",
        stage.value,
        demo.STAGES_SHOWN[stage][1],
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


# --- the board's roles and mandates ------------------------------------------------------


async def board_roles(conn: db.Connection) -> dict[str, mandates.Role]:
    board = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'conseil-administration'")
    return {r.text.name: r for r in await mandates.roles(conn, board)}


async def test_the_board_has_its_four_roles(loaded: db.Pool) -> None:
    async with loaded.acquire() as conn:
        roles = await board_roles(conn)
        recorded = await conn.fetchval(
            "SELECT count(*) FROM journal WHERE action = 'role.recorded'"
        )
    assert set(roles) == {"Présidence", "Trésorerie", "Secrétariat", "Référent·e charte"}
    assert {name: r.text.seats for name, r in roles.items()} == {
        "Présidence": 1, "Trésorerie": 1, "Secrétariat": 1, "Référent·e charte": 2
    }  # fmt: skip
    assert {name: r.text.term_months for name, r in roles.items()} == {
        "Présidence": 24, "Trésorerie": 24, "Secrétariat": 24, "Référent·e charte": 12
    }  # fmt: skip
    assert roles["Présidence"].text.consecutive_terms == 2
    for role in roles.values():
        assert role.text.purpose and role.text.domain and role.text.eligibility, role.text.name
        assert 3 <= len(role.text.accountabilities) <= 4, role.text.name
    assert "entretien avec un membre du conseil" in roles["Référent·e charte"].text.purpose
    assert {name for name, r in roles.items() if r.preexisting} == {
        "Présidence", "Trésorerie", "Secrétariat"
    }, "recorded as pre-existing; the référent·e role was created by consent"  # fmt: skip
    assert recorded == 3


async def test_the_referent_role_links_to_the_decision_that_created_it(loaded: db.Pool) -> None:
    async with loaded.acquire() as conn:
        roles = await board_roles(conn)
        versions = await conn.fetch(
            "SELECT v.role_id, v.number, d.number AS decision, d.title, p.kind, p.stage,"
            "       p.role_id AS proposal_role"
            " FROM role_versions v LEFT JOIN decisions d ON d.id = v.decision_id"
            " LEFT JOIN proposals p ON p.id = d.proposal_id"
        )
        adopted = await conn.fetchval(
            "SELECT data->>'decision' FROM journal WHERE action = 'role.adopted'"
        )
    by_role = {r["role_id"]: r for r in versions}
    referent = by_role[roles["Référent·e charte"].id]
    assert referent["number"] == 1 and referent["decision"].startswith("CA-")
    assert referent["title"] == demo.ROLE_PROPOSAL
    assert (referent["kind"], referent["stage"]) == ("role", "adopted")
    assert referent["proposal_role"] == roles["Référent·e charte"].id
    assert adopted == referent["decision"]
    for name in ("Présidence", "Trésorerie", "Secrétariat"):
        assert by_role[roles[name].id]["decision"] is None, f"{name}: no decision created it"


async def test_the_board_s_mandates_and_their_decision(loaded: db.Pool) -> None:
    today = datetime.now(UTC).date()
    async with loaded.acquire() as conn:
        board = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'conseil-administration'")
        held = await mandates.space_mandates(conn, board)
        granting = await conn.fetchrow(
            "SELECT d.number, d.title, p.kind, p.stage FROM decisions d"
            " JOIN proposals p ON p.id = d.proposal_id WHERE d.title = $1",
            demo.mandates_title(today.year),
        )
        assert (await journal.verify(conn)).ok
    current = {(m.role_name, m.seat): m.holder_name for m in held if m.term.covers(today)}
    assert current == {
        ("Présidence", 1): "Camille Moreau",
        ("Trésorerie", 1): "Thomas Girard",
        ("Secrétariat", 1): "Aïcha Diallo",
        ("Référent·e charte", 1): "Léa Fontaine",
    }, "the second référent·e seat is vacant"
    assert (granting["kind"], granting["stage"]) == ("ordinary", "adopted")
    assert {m.decision_number for m in held} == {granting["number"]}
    past = [m for m in held if m.term.after_last <= today]
    assert [(m.role_name, m.holder_name, m.end_reason) for m in past] == [
        ("Secrétariat", "Pierre Dubois", EndReason.RESIGNED)
    ]
    secretary = next(m for m in held if m.holder_name == "Aïcha Diallo")
    assert past[0].ended_on is not None and past[0].ended_on < today
    assert secretary.first == past[0].ended_on + timedelta(days=1), "she took his seat next day"


async def test_the_treasurer_s_term_ends_within_a_month(loaded: db.Pool) -> None:
    today = datetime.now(UTC).date()
    async with loaded.acquire() as conn:
        board = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'conseil-administration'")
        held = await mandates.space_mandates(conn, board)
    treasurer = next(m for m in held if m.role_name == "Trésorerie")
    assert treasurer.term.covers(today)
    assert 0 <= (treasurer.term.last - today).days <= 31
    ending = [m.role_name for m in held if m.term.covers(today) and m.term.last <= today
              + timedelta(days=31)]  # fmt: skip
    assert ending == ["Trésorerie"], "the only term ending soon"


async def test_the_board_s_roles_page_shows_its_holders(
    loaded: db.Pool, database: str, tmp_path: Path
) -> None:
    from consentir.app import create_app
    from consentir.config import Settings
    from tests.helpers import TEST_SECRET

    settings = Settings(database_url=database, secret_key=TEST_SECRET, data_dir=str(tmp_path))
    async with AsyncTestClient[Litestar](
        app=create_app(settings), base_url="http://127.0.0.1:8000"
    ) as client:
        signed_in = await post_form(
            client,
            "/signin",
            {"email": "thomas@demo.consentir.org", "password": demo.DEMO_PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        page = await client.get("/s/conseil-administration/roles")
    assert page.status_code == 200
    for text in ("Présidence", "Trésorerie", "Secrétariat", "Référent·e charte",
                 "Camille Moreau", "Thomas Girard", "Aïcha Diallo", "Léa Fontaine"):  # fmt: skip
        assert text in page.text, text


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


async def test_the_demo_causes_stand_where_the_readme_says(loaded: db.Pool) -> None:
    """The mobility cause: observed, objectives adopted, scenarios A and B (B in version 2),
    its choice in the preferences round (sealed); the Croix-Rousse cause: evaluated, with
    measurements, ready to celebrate."""
    async with loaded.acquire() as conn:
        rows = await conn.fetch("SELECT id, space_id, title FROM causes ORDER BY id")
        found = {r["title"]: r for r in rows}
        bike = found[demo_causes.BIKE_LANE]
        shade = found[demo_causes.SHADE]
        lane = await causes.cause(conn, bike["space_id"], bike["id"])
        colbert = await causes.cause(conn, shade["space_id"], shade["id"])
        versions = await conn.fetch(
            """SELECT s.letter, max(v.number) AS latest FROM scenarios s
               JOIN scenario_versions v ON v.scenario_id = s.id
               WHERE s.cause_id = $1 GROUP BY s.letter ORDER BY s.letter""",
            bike["id"])  # fmt: skip
        choice = await conn.fetchrow(
            """SELECT p.stage, (SELECT count(*) FROM preferences f
                                WHERE f.proposal_id = p.id) AS preferences
               FROM cause_proposals cp JOIN proposals p ON p.id = cp.proposal_id
               WHERE cp.cause_id = $1 AND cp.purpose = 'choice'""", bike["id"])  # fmt: skip
        actors = await conn.fetchval(
            "SELECT count(*) FROM actors WHERE cause_id = $1", bike["id"])  # fmt: skip
        moved = await conn.fetchval(
            """SELECT count(*) FROM actor_assessments a JOIN actors x ON x.id = a.actor_id
               WHERE x.cause_id = $1""", bike["id"])  # fmt: skip
        measured = await conn.fetchval(
            "SELECT count(*) FROM measurements WHERE cause_id = $1", shade["id"])  # fmt: skip
    assert [g.step for g in rules_stepper(lane.facts) if g.current] == ["plan"]
    assert lane.facts.taken_on and not lane.facts.scenario_chosen
    assert len(lane.adopted("objectives")) == 1 and len(lane.facts.objectives) == 2
    assert [(r["letter"], r["latest"]) for r in versions] == [("A", 1), ("B", 2)]
    assert choice["stage"] == "nominate" and choice["preferences"] == 2
    assert actors == 6 and moved == 7  # the deputy mayor moved once
    assert colbert.facts.evaluation_adopted
    assert [g.step for g in rules_stepper(colbert.facts) if g.current] == ["celebrate"]
    assert measured == 10
