"""SQL statements per page (issue 14, DESIGN's targets): every main page is served in at most
five statements on a warm connection, and none of them is asyncpg's type introspection, even
on a connection that has served nothing yet.

Each page is requested by a fresh app whose pool holds ONE connection: the first request runs
on a cold connection (only the pool's own set-up has run on it), the second on the same
connection, warm. The statements are those the app's `on_query` sees while serving the
request (app.py: a request's, not the background tasks'). Introspection is recognised by
what asyncpg's introspection queries read (`pg_type`, `typelem`, `typbasetype`…), and also
seen where asyncpg does it (`Connection._introspect_types`, wrapped to record the type oids):
the app's background tasks share the one connection and may run first, introspecting a type
before the page does, so the connection the page meets is no longer cold. Any introspection
during a fresh app's life (start, background tasks, the page) therefore counts, except while a
connection opens (db._init_connection looks the app's array types up then, once per
connection, so that no request pays for it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asyncpg import introspection
from litestar.testing import AsyncTestClient

from consentir import db, logs
from consentir.app import create_app
from consentir.config import Settings
from consentir.consent import rules
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.spaces.store import Space
from tests.causes_setup import adopt, new_cause
from tests.helpers import TEST_SECRET
from tests.process import act, new_proposal, open_meeting, person, to_object_round
from tests.scenario import Scenario

BUDGET = 5
INTROSPECTION = re.compile(
    r"\bpg_type\b|\btypelem\b|\btypbasetype\b|\bpg_range\b|set_config\('jit'", re.I
)
TEXT = Content(title="Vélos partagés", driver="Peu de vélos.", body="Acheter dix vélos.")


@dataclass
class Counted:
    page: str
    path: str
    cold: list[str]
    warm: list[str]
    types: list[str]  # what asyncpg introspected during the app's life (type names)

    @property
    def introspection(self) -> list[str]:
        return [q for q in self.cold + self.warm if INTROSPECTION.search(q)] + self.types

    def describe(self) -> str:
        warm = "\n      ".join(" ".join(q.split())[:110] for q in self.warm)
        return (
            f"{self.page} ({self.path}): {len(self.cold)} cold, {len(self.warm)} warm, "
            f"types introspected: {self.types}\n      {warm}"
        )


async def _stages(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> dict[str, int]:
    """A proposal of alpha's at each stage of the consent process."""
    facilitator, member = person(world, "facilitator"), person(world, "member")
    react = await new_proposal(pool, alpha, world, TEXT)
    await act(pool, alpha, react, member, rules.Submit(frozenset()))
    await act(pool, alpha, react, facilitator, rules.Advance(frozenset()))
    objected = await to_object_round(pool, alpha, world, TEXT)
    target = person(world, "target")
    await act(pool, alpha, objected, target,
              rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Pas de local."))  # fmt: skip
    integrate = await to_object_round(pool, alpha, world, TEXT)
    await act(pool, alpha, integrate, target,
              rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Pas de local."))  # fmt: skip
    async with pool.acquire() as conn:
        objection_id = int(
            await conn.fetchval("SELECT id FROM objections WHERE proposal_id = $1", integrate)
        )
    await act(pool, alpha, integrate, facilitator,
              rules.JudgeObjection(objection_id, valid=True, reason="Fondée."))  # fmt: skip
    for role in ("admin", "facilitator"):  # everyone on the list has answered
        who = person(world, role)
        await act(pool, alpha, integrate, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1))
    await act(pool, alpha, integrate, facilitator, rules.CloseRound(datetime.now(UTC)))
    adopted = await new_proposal(pool, alpha, world, TEXT)
    await adopt(pool, alpha, world, adopted)
    return {
        "draft": world.draft_id,
        "clarify": world.proposal_id,
        "react": react,
        "object": objected,
        "integrate": integrate,
        "adopted": adopted,
    }


@pytest.fixture
def introspected(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, tuple[int, ...]]]:
    """Every type introspection asyncpg does: (during a request?, the type oids)."""
    seen: list[tuple[bool, tuple[int, ...]]] = []
    original = asyncpg.connection.Connection._introspect_types
    opening: ContextVar[bool] = ContextVar("opening", default=False)
    set_up = db._init_connection

    async def opened(conn: Any) -> None:
        token = opening.set(True)
        try:
            await set_up(conn)
        finally:
            opening.reset(token)

    async def recorded(self: Any, typeoids: Any, timeout: Any) -> Any:
        if not opening.get():
            seen.append((logs.request_id.get() is not None, tuple(typeoids)))
        return await original(self, typeoids, timeout)

    monkeypatch.setattr(db, "_init_connection", opened)
    monkeypatch.setattr(asyncpg.connection.Connection, "_introspect_types", recorded)
    return seen


async def _count(
    database_url: str, tmp_path: Path, world: Scenario, role: str, path: str
) -> tuple[list[str], list[str], int]:
    """The statements of a first (cold connection) and a second (warm) request of `path`."""
    log: list[str] = []
    settings = Settings(database_url=database_url, secret_key=TEST_SECRET,
                        data_dir=str(tmp_path), db_pool_min=1, db_pool_max=1)  # fmt: skip
    app = create_app(settings, on_query=log.append)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        client.cookies.set("session", world.sessions[role], domain="127.0.0.1", path="/")
        first = await client.get(path)
        cold = list(log)
        log.clear()
        second = await client.get(path)
        warm = list(log)
    assert first.status_code == second.status_code
    return cold, warm, second.status_code


async def _type_names(pool: asyncpg.Pool, oids: set[int]) -> dict[int, str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1::oid[])",
            sorted(oids),
        )
    return {int(r["oid"]): str(r["name"]) for r in rows}


@pytest.fixture
async def counted(
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    database_url: str,
    tmp_path: Path,
    introspected: list[tuple[bool, tuple[int, ...]]],
) -> list[Counted]:
    stages = await _stages(pool, alpha, world)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, stage FROM proposals WHERE id = ANY($1::bigint[])", list(stages.values())
        )
        assert {r["id"]: r["stage"] for r in rows} == {v: k for k, v in stages.items()}
        number = str(
            await conn.fetchval(
                "SELECT number FROM decisions WHERE proposal_id = $1", stages["adopted"]
            )
        )
    await new_cause(pool, alpha, world)
    live_meeting = await open_meeting(pool, alpha, world, ("facilitator", "member"))
    meeting = f"/s/alpha/meetings/{world.meeting_id}"
    running = f"/s/alpha/meetings/{live_meeting}"
    pages: list[tuple[str, str, str]] = [
        ("dashboard", "facilitator", "/spaces"),
        *((f"proposal, {stage}", "member" if stage == "draft" else "facilitator",
           f"/s/alpha/proposals/{proposal_id}")
          for stage, proposal_id in stages.items()),
        ("proposal, object (a participant who has not answered)", "admin",
         f"/s/alpha/proposals/{stages['object']}"),
        ("register", "facilitator", "/s/alpha/decisions"),
        ("register search", "facilitator", "/s/alpha/decisions?q=velos"),
        ("decision", "facilitator", f"/s/alpha/decisions/{number}"),
        ("meeting (planned)", "facilitator", meeting),
        ("meeting console", "facilitator", f"{running}/console"),
        ("meeting, participant's screen", "member", f"{running}/live"),
        ("meeting, projector", "facilitator", f"{running}/screen"),
        ("meeting minutes", "facilitator", f"{running}/minutes"),
        ("meetings", "facilitator", "/s/alpha/meetings"),
        ("causes overview", "facilitator", "/s/alpha/causes"),
        ("members", "facilitator", "/s/alpha/members"),
    ]  # fmt: skip
    found = []
    for page, role, path in pages:
        introspected.clear()
        cold, warm, status = await _count(database_url, tmp_path, world, role, path)
        assert status == 200, (page, path, status)
        oids = {oid for _, batch in introspected for oid in batch}
        names = await _type_names(pool, oids) if oids else {}
        types = [
            f"{names.get(oid, oid)} ({'request' if during else 'start or background'})"
            for during, batch in introspected
            for oid in batch
        ]
        found.append(Counted(page, path, cold, warm, types))
    return found


def _report(found: list[Counted], wrong: Callable[[Counted], bool]) -> str:
    return "\n".join(c.describe() for c in found if wrong(c))


async def test_every_main_page_is_served_in_at_most_five_statements_when_warm(
    counted: list[Counted],
) -> None:
    assert len(counted) == 19
    over = _report(counted, lambda c: len(c.warm) > BUDGET)
    assert not over, f"pages over {BUDGET} statements on a warm connection:\n{over}"


async def test_no_page_introspects_types_even_on_a_cold_connection(
    counted: list[Counted],
) -> None:
    # The pattern recognises what asyncpg sends when it meets a type it has no codec for.
    assert INTROSPECTION.search(introspection.INTRO_LOOKUP_TYPES_13)
    assert INTROSPECTION.search(introspection.TYPE_BY_NAME)
    introspecting = _report(counted, lambda c: bool(c.introspection))
    assert not introspecting, f"pages whose statements include type introspection:\n{introspecting}"
