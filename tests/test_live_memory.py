"""What an open live stream holds while it waits (live.py, web/streams.py): a small mailbox
rather than an asyncio.Queue, one keep-alive timer per hub rather than one per stream,
nothing of what it replayed, no task group per stream; and that it still ends when the
client leaves, when the worker stops, and when the server cancels it.

The app is driven in this process by a minimal ASGI server of the test's own (as
bench/stream_memory.py does), so that tracemalloc sees every Python allocation a stream
makes and keeps."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from consentir import db, journal, live
from consentir.app import create_app
from consentir.config import Settings
from tests.helpers import TEST_SECRET
from tests.scenario import Scenario

# Python-side bytes an open, idle stream keeps (app, Litestar, this test's driver), measured
# at about 17 KiB with Litestar 2.25 on Python 3.11 (24 KiB with an asyncio.Queue, a timer
# and an anyio task group per stream); the bound leaves room for small library changes.
BYTES_PER_STREAM = 20 * 1024


def _event(event_id: int) -> live.Event:
    return live.Event(event_id, 1, "test.ping", "test", event_id, sse=b"id: %d\n\n" % event_id)


# --- the mailbox -----------------------------------------------------------------------


async def test_a_subscription_hands_over_in_order_and_a_slow_one_catches_up_instead() -> None:
    box = live.Subscription(1)
    first, second = _event(1), _event(2)
    box.put(first)
    box.put(second)
    assert await box.take() == [first, second]
    for n in range(live.QUEUE_LIMIT + 1):  # one more than it keeps: it reads the journal
        box.put(_event(10 + n))
    later = _event(1000)
    box.put(later)
    assert await box.take() == [live.CATCH_UP, later]


async def test_a_waiting_stream_is_woken_and_a_closed_one_takes_nothing_more() -> None:
    box = live.Subscription(1)
    waiting = asyncio.ensure_future(box.take())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    event = _event(7)
    box.put(event)
    assert await asyncio.wait_for(waiting, 1) == [event]
    # A wait cancelled (the client left) leaves the mailbox usable.
    cancelled = asyncio.ensure_future(box.take())
    await asyncio.sleep(0.01)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    box.put(_event(8))
    box.close()
    box.put(_event(9))  # after CLOSE: dropped, the stream ends
    for _ in range(live.QUEUE_LIMIT + 1):
        box.put(_event(10))  # CLOSE is never dropped to make room
    assert await box.take() == [live.CLOSE]


async def test_the_hub_timer_asks_for_a_keep_alive_only_after_a_quiet_while() -> None:
    box = live.Subscription(1)
    for _ in range(live.KEEPALIVE_TICKS - 1):
        box.tick()
    box.put(_event(1))  # something to send: no keep-alive on top of it
    box.tick()
    assert await box.take() == [_event(1)]
    box.quiet = 0  # the stream sent it
    for _ in range(live.KEEPALIVE_TICKS - 1):
        box.tick()
    waiting = asyncio.ensure_future(box.take())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    box.tick()
    assert await asyncio.wait_for(waiting, 1) == [live.KEEPALIVE_DUE]


async def test_a_stream_cancelled_while_it_subscribes_leaves_no_subscription(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The client leaves while its stream waits for the hub's first LISTEN."""
    hub = live.Hub(lambda: db.listen_connection(database_url), pool)  # not running: not ready
    messages = live.stream(hub, pool, 1, None)
    first = asyncio.ensure_future(anext(messages))
    await asyncio.sleep(0.05)
    assert hub.streams == 1 and not first.done()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert hub.streams == 0


# --- streams with a real hub and database ------------------------------------------------


async def _append(pool: asyncpg.Pool, space_id: int, n: int) -> int:
    async with db.transaction(pool) as conn:
        return await journal.append(
            conn, action="test.ping", subject_type="test", subject_id=n, space_id=space_id
        )


@asynccontextmanager
async def _hub(database_url: str, pool: asyncpg.Pool) -> AsyncIterator[live.Hub]:
    hub = live.Hub(lambda: db.listen_connection(database_url), pool)
    stop = asyncio.Event()
    running = asyncio.create_task(hub.run(stop))
    try:
        yield hub
    finally:
        stop.set()
        await running


async def test_an_idle_stream_gets_keep_alives_from_the_hubs_one_timer(
    pool: asyncpg.Pool, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "KEEPALIVE", 0.6)
    async with pool.acquire() as conn:
        space_id = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'alpha'")
    async with _hub(database_url, pool) as hub:
        messages = live.stream(hub, pool, space_id, None)
        try:
            assert (await anext(messages)).startswith(b"retry: 1000")
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await asyncio.wait_for(anext(messages), 2) == b": keep-alive\n\n"
            assert loop.time() - started <= 0.6 + 0.4  # KEEPALIVE at most, give or take
            event_id = await _append(pool, space_id, 1)
            sent = await asyncio.wait_for(anext(messages), 5)
            assert sent.startswith(b"id: %d\n" % event_id)  # not lost behind keep-alives
            assert await asyncio.wait_for(anext(messages), 2) == b": keep-alive\n\n"
        finally:
            await messages.aclose()
        assert hub.streams == 0


async def test_a_waiting_stream_keeps_nothing_of_what_it_replayed(
    pool: asyncpg.Pool, database_url: str
) -> None:
    async with pool.acquire() as conn:
        space_id = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'alpha'")
        start = await journal.last_id(conn, space_id)
    ids = [await _append(pool, space_id, n) for n in range(5)]
    async with _hub(database_url, pool) as hub:
        messages = live.stream(hub, pool, space_id, start)
        try:
            assert (await anext(messages)).startswith(b"retry: 1000")
            replayed = [await asyncio.wait_for(anext(messages), 5) for _ in ids]
            assert [m.split(b"\n")[0] for m in replayed] == [b"id: %d" % i for i in ids]
            waiting = asyncio.ensure_future(anext(messages))  # waits for the next event
            await asyncio.sleep(0.2)
            gc.collect()
            kept = [o for o in gc.get_objects() if isinstance(o, live.Event)]
            assert kept == [], kept
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        finally:
            await messages.aclose()
        assert hub.streams == 0


# --- through the app, served by a minimal ASGI driver -----------------------------------


class Client:
    """One stream's client as a server shows it to the app."""

    def __init__(self) -> None:
        self.started = asyncio.Event()  # the first message of the stream is in
        self.gone: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.asked = 0
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.ended = False

    def receive(self) -> asyncio.Future[dict[str, Any]]:
        """As granian's: a future (not a coroutine); the request first, then the leaving."""
        self.asked += 1
        if self.asked == 1:
            request = asyncio.get_running_loop().create_future()
            request.set_result({"type": "http.request", "body": b"", "more_body": False})
            return request
        return self.gone

    async def coroutine(self) -> dict[str, Any]:
        """As other ASGI servers' `receive`."""
        return await self.receive()

    def leave(self) -> None:
        self.gone.set_result({"type": "http.disconnect"})

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = dict(message["headers"])
        elif message["type"] == "http.response.body":
            self.body.append(message["body"])
            self.ended = not message.get("more_body", False)
        if self.body or self.status not in (0, 200):
            self.started.set()


def _scope(cookie: str, port: int) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", port),
        "scheme": "http", "method": "GET", "root_path": "", "path": "/live/s/alpha",
        "raw_path": b"/live/s/alpha", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"cookie", cookie.encode())], "state": {},
    }  # fmt: skip


@pytest.fixture
def stream_app(scenario_database: tuple[str, Scenario], tmp_path: Path) -> Litestar:
    settings = Settings(
        database_url=scenario_database[0], secret_key=TEST_SECRET, data_dir=str(tmp_path),
        db_pool_min=4, db_pool_max=4,
    )  # fmt: skip
    return create_app(settings)


async def _open(
    app: Litestar, world: Scenario, count: int, batch: int = 25, coroutines: bool = False
) -> tuple[list[Client], list[asyncio.Task[None]]]:
    clients = [Client() for _ in range(count)]
    tasks: list[asyncio.Task[None]] = []
    cookie = f"session={world.sessions['member']}"
    for first in range(0, count, batch):
        some = clients[first : first + batch]
        tasks += [
            asyncio.create_task(
                app(_scope(cookie, 2000 + n), c.coroutine if coroutines else c.receive, c.send)  # type: ignore[arg-type]
            )
            for n, c in enumerate(some, first)
        ]
        await asyncio.wait_for(asyncio.gather(*(c.started.wait() for c in some)), 10)
    hub: live.Hub = app.state.hub
    for _ in range(200):
        if hub.streams == count:
            break
        await asyncio.sleep(0.02)
    assert hub.streams == count
    assert all(c.status == 200 for c in clients), {c.status for c in clients}
    return clients, tasks


@pytest.mark.parametrize("receive", ["future", "coroutine"])
async def test_a_stream_through_the_app_ends_when_its_client_leaves(
    stream_app: Litestar, world: Scenario, receive: str
) -> None:
    """`receive` answering a future (granian) or a coroutine (other ASGI servers)."""
    async with stream_app.lifespan():
        hub: live.Hub = stream_app.state.hub
        (client,), (task,) = await _open(stream_app, world, 1, coroutines=receive == "coroutine")
        assert client.headers[b"content-type"].startswith(b"text/event-stream")
        assert client.headers[b"cache-control"] == b"no-cache"
        assert client.headers[b"x-accel-buffering"] == b"no"
        assert b"x-request-id" in client.headers  # the outer layers still wrap it
        assert client.body[0].startswith(b"retry: 1000")
        client.leave()
        await asyncio.wait_for(task, 5)  # ends without an error: the client's leaving
        assert hub.streams == 0
        assert not client.ended  # nothing more was sent to a client that left


async def test_streams_through_the_app_end_with_a_restart_when_the_worker_stops(
    stream_app: Litestar, world: Scenario
) -> None:
    async with stream_app.lifespan():
        hub: live.Hub = stream_app.state.hub
        clients, tasks = await _open(stream_app, world, 3)
        hub.close_streams()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        for client in clients:
            assert b"event: restart" in client.body[-2] and client.ended
        assert hub.streams == 0


async def test_a_stream_cancelled_by_the_server_is_not_swallowed_and_unsubscribes(
    stream_app: Litestar, world: Scenario
) -> None:
    async with stream_app.lifespan():
        hub: live.Hub = stream_app.state.hub
        _clients, (task,) = await _open(stream_app, world, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert hub.streams == 0


async def test_an_open_stream_keeps_a_bounded_number_of_python_bytes(
    stream_app: Litestar, world: Scenario
) -> None:
    count = 100
    async with stream_app.lifespan():
        hub: live.Hub = stream_app.state.hub
        warm, warm_tasks = await _open(stream_app, world, 8)  # imports, LISTEN, statements
        for client in warm:
            client.leave()
        await asyncio.gather(*warm_tasks)
        del warm, warm_tasks, client
        gc.collect()
        tracemalloc.start(1)
        try:
            before = tracemalloc.take_snapshot()
            clients, tasks = await _open(stream_app, world, count)
            await asyncio.sleep(0.3)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
        grown = sum(
            d.size_diff
            for d in after.filter_traces(ignore).compare_to(
                before.filter_traces(ignore), "filename"
            )
        )
        for client in clients:
            client.leave()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert hub.streams == 0
    assert 0 < grown / count <= BYTES_PER_STREAM, f"{grown / count / 1024:.1f} KiB per stream"
