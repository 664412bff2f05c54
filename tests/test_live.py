"""The live plumbing (live.py) against real servers: two `consentir serve` processes on one
database stand for two workers, each with its own LISTEN connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from consentir import db
from tests.conftest import TEST_SECRET
from tests.helpers import free_port, serve, stop, wait_for_health
from tests.scenario import Scenario


@dataclass
class Servers:
    a: str
    b: str
    database_url: str
    world: Scenario


@pytest.fixture
def servers(scenario_database: tuple[str, Scenario], tmp_path: Path) -> Iterator[Servers]:
    url, world = scenario_database
    started: list[Any] = []
    bases: list[str] = []
    try:
        for name in ("a", "b"):
            port = free_port()
            process = serve(
                {"DATABASE_URL": url, "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path / name),
                 "PUBLIC_URL": f"http://127.0.0.1:{port}", "WORKERS": "1"},
                port,
            )  # fmt: skip
            started.append(process)
            bases.append(f"http://127.0.0.1:{port}")
            wait_for_health(bases[-1], process)
        yield Servers(bases[0], bases[1], url, world)
    finally:
        for process in started:
            stop(process)


class Stream:
    """An open SSE stream, read message by message."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def message(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message that carries an event (comments and `retry` are skipped)."""
        fields: dict[str, Any] = {}

        async def read() -> dict[str, Any]:
            async for line in self.lines:
                if line == "":
                    if "event" in fields:
                        return dict(fields)
                    fields.clear()
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                fields[name] = json.loads(value) if name == "data" else value
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(read(), timeout)

    async def nothing_within(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            await self.message(timeout=seconds)


@asynccontextmanager
async def stream_of(
    client: httpx.AsyncClient, base: str, world: Scenario, role: str = "member",
    last_id: int | None = None,
) -> AsyncIterator[Stream]:  # fmt: skip
    headers = {"cookie": f"session={world.sessions[role]}"}
    if last_id is not None:
        headers["last-event-id"] = str(last_id)
    async with client.stream("GET", f"{base}/live/s/alpha", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        first = await asyncio.wait_for(anext(stream.lines), 5)
        assert first == "retry: 1000"  # the stream is subscribed: what follows is live
        yield stream


async def ask(client: httpx.AsyncClient, base: str, world: Scenario, text: str) -> None:
    response = await client.post(
        f"{base}/api/v1/spaces/alpha/proposals/{world.proposal_id}/steps/ask",
        json={"text": text},
        headers={"authorization": f"Bearer {world.api_tokens['facilitator']}"},
    )
    assert response.status_code == 200, response.text


async def test_a_change_made_on_one_worker_reaches_a_stream_on_the_other(
    servers: Servers,
) -> None:
    async with (
        httpx.AsyncClient(timeout=10) as client,
        stream_of(client, servers.a, servers.world) as stream,
    ):
        await ask(client, servers.b, servers.world, "Combien de temps ?")
        message = await stream.message()
    assert message["event"] == f"proposal-{servers.world.proposal_id}"
    assert message["data"]["action"] == "proposal.question_asked"
    assert message["data"]["id"] == int(message["id"])
    assert "Combien" not in json.dumps(message)  # ids and names only: pages fetch the rest


async def test_a_reconnecting_stream_gets_what_it_missed_once_and_in_order(
    servers: Servers,
) -> None:
    world = servers.world
    async with httpx.AsyncClient(timeout=10) as client:
        async with stream_of(client, servers.a, world) as stream:
            await ask(client, servers.b, world, "Première ?")
            seen = await stream.message()
        # Disconnected: three changes happen meanwhile, on both workers.
        for n, base in enumerate((servers.a, servers.b, servers.a)):
            await ask(client, base, world, f"Question {n} ?")
        async with stream_of(client, servers.b, world, last_id=int(seen["id"])) as stream:
            replayed = [await stream.message() for _ in range(3)]
            await ask(client, servers.a, world, "Et ensuite ?")
            live_one = await stream.message()
            await stream.nothing_within(0.5)
    ids = [int(m["id"]) for m in [*replayed, live_one]]
    assert ids == sorted(ids) and len(set(ids)) == 4 and ids[0] > int(seen["id"])
    conn = await asyncpg.connect(servers.database_url)
    try:
        journal = await conn.fetch(
            "SELECT id FROM journal WHERE space_id = (SELECT id FROM spaces WHERE slug = 'alpha')"
            " AND id > $1 ORDER BY id",
            int(seen["id"]),
        )
    finally:
        await conn.close()
    assert ids == [r["id"] for r in journal]  # nothing lost, nothing repeated


async def test_streams_recover_when_the_listener_connection_is_terminated(
    servers: Servers,
) -> None:
    world = servers.world
    async with (
        httpx.AsyncClient(timeout=10) as client,
        stream_of(client, servers.a, world) as stream,
    ):
        admin = await asyncpg.connect(servers.database_url)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()",
                db.LISTENER_NAME,
            )
        finally:
            await admin.close()
        assert killed == 2  # one listener per worker
        # A change while the listeners are down, then one after.
        await ask(client, servers.b, world, "Pendant la coupure ?")
        first = await stream.message(timeout=10)
        await ask(client, servers.b, world, "Après la coupure ?")
        second = await stream.message(timeout=10)
    assert first["data"]["action"] == second["data"]["action"] == "proposal.question_asked"
    assert int(second["id"]) > int(first["id"])


async def test_only_those_who_may_see_the_space_open_its_stream(servers: Servers) -> None:
    world = servers.world
    async with httpx.AsyncClient(timeout=10) as client:
        outsider = await client.get(
            f"{servers.a}/live/s/alpha", headers={"cookie": f"session={world.sessions['outsider']}"}
        )
        anonymous = await client.get(f"{servers.a}/live/s/alpha")
        unknown = await client.get(
            f"{servers.a}/live/s/nowhere", headers={"cookie": f"session={world.sessions['member']}"}
        )
    assert outsider.status_code == 404 and unknown.status_code == 404
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")


@pytest.mark.parametrize("missed", [3, 8])
async def test_a_replay_is_bounded_beyond_it_the_page_is_told_to_reload(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch, missed: int
) -> None:
    """A stream that missed up to REPLAY_LIMIT events gets them, in order; one further behind
    (a forged `Last-Event-ID: 0`, a page open for days) gets one `reload` event carrying the
    latest id instead of the space's history; then the live events, either way (live.stream
    driven directly, with a real hub and database)."""
    from consentir import journal, live

    monkeypatch.setattr(live, "REPLAY_LIMIT", 5)
    async with pool.acquire() as conn:
        space_id = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'alpha'")
        start = await journal.last_id(conn, space_id)

    async def append(n: int) -> int:
        async with db.transaction(pool) as conn:
            return await journal.append(conn, action="test.ping", subject_type="test",
                                        subject_id=n, space_id=space_id)  # fmt: skip

    latest = [await append(n) for n in range(missed)][-1]
    hub = live.Hub(lambda: db.listen_connection(database_url), pool)
    stop = asyncio.Event()
    running = asyncio.create_task(hub.run(stop))
    messages = live.stream(hub, pool, space_id, start)
    try:
        assert (await anext(messages)).startswith(b"retry: 1000")
        count = missed if missed <= 5 else 1
        replayed = [await asyncio.wait_for(anext(messages), 5) for _ in range(count)]
        await append(100)
        live_one = await asyncio.wait_for(anext(messages), 5)
    finally:
        stop.set()
        await running
        await messages.aclose()
    assert hub.streams == 0  # the stream's end unsubscribed it
    if missed <= 5:
        subjects = [int(json.loads(m.split(b"data: ")[1])["subject_id"]) for m in replayed]
        assert subjects == list(range(missed))
    else:
        assert replayed == [b'id: %d\nevent: reload\ndata: {"id": %d}\n\n' % (latest, latest)]
    assert b"event: test-100\n" in live_one


async def test_a_page_that_asks_for_the_whole_journal_is_told_to_reload(servers: Servers) -> None:
    """`?after=0` on a space with more than REPLAY_LIMIT events: one `reload`, not a replay."""
    from consentir import live

    world = servers.world
    conn = await asyncpg.connect(servers.database_url)
    try:
        await conn.execute(
            "SELECT journal_append(s.id, NULL, 'test.ping', 'test', n, '{}'::jsonb)"
            " FROM spaces s, generate_series(1, $1) n WHERE s.slug = 'alpha'",
            live.REPLAY_LIMIT + 1,
        )
        latest = await conn.fetchval("SELECT max(id) FROM journal")
    finally:
        await conn.close()
    headers = {"cookie": f"session={world.sessions['member']}"}
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{servers.a}/live/s/alpha?after=0", headers=headers) as response,
    ):
        message = await Stream(response).message()
    assert message == {"id": str(latest), "event": "reload", "data": {"id": latest}}
