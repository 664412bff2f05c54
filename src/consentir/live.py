"""Live updates: one LISTEN connection per worker, fanned out to that worker's SSE streams.

Every change appends a journal event and calls `pg_notify('space:<id>', <event id>)` in its
own transaction (sql/migrations/0001_journal.sql), so a notification arrives only for what
committed. Within a space, event ids are given out under the chain's lock, in commit order:
a stream that has sent event N has seen every earlier event of that space.

- `Hub` (one per worker) holds the LISTEN connection, LISTENs to the spaces that have open
  streams, reads each notified event once (one query per event per worker) and puts it in
  the queue of every stream of that space.
- A stream (`stream()`) first subscribes, then replays the journal after the client's
  `Last-Event-ID`, then forwards live events, skipping any it already sent; a comment line
  after at most KEEPALIVE seconds of silence keeps proxies from closing it (one timer per
  hub ticks every stream, not one per stream). A replay is bounded (REPLAY_LIMIT events): a
  client further behind (a page left open for days, a forged `Last-Event-ID: 0`) is sent one
  `reload` event instead, and the page reloads (static/live.js).
- A stream holds little while it waits (hundreds are open per worker): its Subscription
  (a list of what waits, at most QUEUE_LIMIT items, beyond which a slow client catches up
  from the journal instead; one future while it waits), its generator's frame, and nothing
  of what it replayed or of the request that opened it.
- If the LISTEN connection drops (PostgreSQL restarted, the backend was terminated), the hub
  reconnects by itself, retrying every half second at most, and tells every stream to catch
  up from the journal, so nothing committed meanwhile is lost.
- When the worker is told to stop (SIGTERM), `Hub.close_streams()` ends every stream at once
  with a `retry:` so that browsers reconnect (to another worker or instance) and catch up:
  granian waits for open connections to end before the app's own shutdown runs.

What a stream sends is small and says nothing a viewer may not see: the event's id, its
action and its subject (`event: proposal-12`, `data: {"id": 81, "action": …}`); pages fetch
the fragments they show with the viewer's own rights.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import asyncpg
import msgspec

from consentir import journal

log = logging.getLogger(__name__)

KEEPALIVE = 15.0  # seconds of silence at most on a stream: then a comment line
KEEPALIVE_TICKS = 3  # the hub looks at its streams this many times per KEEPALIVE
REPLAY_LIMIT = 500  # events a stream replays at most; further behind, the page reloads
QUEUE_LIMIT = 256  # events waiting for a slow stream; beyond it, it catches up from the journal
# Seconds between two attempts to LISTEN again: short, so that streams are live again within a
# second of the database's return (one connection attempt per worker, cheap for the server).
RECONNECT_DELAYS = (0.05, 0.1, 0.25, 0.5)
RESTART_RETRY_MS = (500, 2000)  # browsers come back after a random delay in this range


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    space_id: int
    action: str
    subject_type: str
    subject_id: int | None
    sse: bytes  # the SSE message, encoded once for every stream that sends it


def _encode(event_id: int, action: str, subject_type: str, subject_id: int | None) -> bytes:
    """One SSE message: named after its subject, so a page listens only to what it shows."""
    name = f"{subject_type}-{subject_id}" if subject_id else subject_type
    data = msgspec.json.encode(
        {"id": event_id, "action": action, "subject": subject_type, "subject_id": subject_id}
    )
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, name.encode(), data)


# What a stream is handed: events, or CATCH_UP: "read the journal from your last id", or
# CLOSE: the worker stops, the browser will reconnect (to another one) and catch up, or
# KEEPALIVE_DUE: nothing was sent for a while, send a comment line.
CATCH_UP = object()
CLOSE = object()
KEEPALIVE_DUE = object()


def _reload(latest: int) -> bytes:
    """Too much was missed to replay: the page reloads. Its id is the latest event, so a
    client that does not reload resumes from now on when it reconnects."""
    return b'id: %d\nevent: reload\ndata: {"id": %d}\n\n' % (latest, latest)


def _restart() -> bytes:
    """The last message of a stream whose worker stops: come back soon (to another worker),
    with the `Last-Event-ID` that replays what was missed. A named event, because htmx's
    hx-sse applies `retry` only from a message it dispatches."""
    low, high = RESTART_RETRY_MS
    return b"retry: %d\nevent: restart\ndata: {}\n\n" % random.randint(low, high)  # noqa: S311


def _event(row: asyncpg.Record) -> Event:
    fields = (row["id"], row["action"], row["subject_type"], row["subject_id"])
    return Event(row["id"], row["space_id"], *fields[1:], sse=_encode(*fields))


class Subscription:
    """One stream's mailbox: what the hub handed it and it has not taken yet (at most
    QUEUE_LIMIT items: a slow client drops them and catches up from the journal instead),
    and the future its stream waits on, only while it waits. Small: one per open stream."""

    __slots__ = ("_items", "_waiter", "quiet", "space_id")

    def __init__(self, space_id: int) -> None:
        self.space_id = space_id
        self.quiet = 0  # the hub's ticks since the stream last sent something
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        if self._items and self._items[0] is CLOSE:  # the stream ends: nothing more for it
            return
        if len(self._items) >= QUEUE_LIMIT:  # a slow client: drop what waits, read it again later
            self._items.clear()
            item = CATCH_UP
        self._items.append(item)
        self._wake()

    def close(self) -> None:
        self._items = [CLOSE]
        self._wake()

    def tick(self) -> None:
        """The hub's keep-alive timer: after KEEPALIVE_TICKS ticks without anything sent
        (KEEPALIVE seconds at most), the stream sends a comment line."""
        self.quiet += 1
        if self.quiet >= KEEPALIVE_TICKS and not self._items:
            self.put(KEEPALIVE_DUE)

    async def take(self) -> list[Any]:
        """Everything handed so far, in order; waits for something if there is nothing."""
        while not self._items:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        items, self._items = self._items, []
        return items

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


Connect = Callable[[], Awaitable[asyncpg.Connection]]


class Hub:
    """The worker's LISTEN connection and the streams it feeds."""

    def __init__(self, connect: Connect, pool: asyncpg.Pool) -> None:
        self._connect = connect
        self._pool = pool
        self._subscribers: dict[int, set[Subscription]] = {}
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()  # LISTEN / UNLISTEN and reconnects, one at a time
        self._listening: set[int] = set()  # spaces LISTENed to on the current connection
        self._incoming: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        self._closing = False
        self.reconnects = 0  # how many times the connection was made again (for tests, logs)

    # --- subscriptions -----------------------------------------------------------------

    async def subscribe(self, space_id: int) -> Subscription:
        """A new stream of the space; returns once the space is listened to (every subscriber
        waits for that, not only the first), so nothing committed from then on is missed."""
        subscription = Subscription(space_id)
        if self._closing:  # the worker stops: this stream ends at once, to be made elsewhere
            subscription.close()
            return subscription
        self._subscribers.setdefault(space_id, set()).add(subscription)
        try:
            await self._sync(space_id)
            await self._ready.wait()
        except BaseException:  # the client left meanwhile: its stream will not unsubscribe
            with anyio.CancelScope(shield=True):
                await self.unsubscribe(subscription)
            raise
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        streams = self._subscribers.get(subscription.space_id)
        if streams is None:
            return
        streams.discard(subscription)
        if not streams:
            del self._subscribers[subscription.space_id]
        await self._sync(subscription.space_id)

    async def _sync(self, space_id: int) -> None:
        """LISTEN to the space while it has streams, UNLISTEN when it has none."""
        async with self._lock:
            wanted = space_id in self._subscribers
            conn = self._conn
            if wanted == (space_id in self._listening) or conn is None or conn.is_closed():
                return
            # A lost connection is noticed by run(), which listens again to every space.
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                if wanted:
                    await conn.add_listener(_channel(space_id), self._notified)
                    self._listening.add(space_id)
                else:
                    self._listening.discard(space_id)
                    await conn.remove_listener(_channel(space_id), self._notified)

    @property
    def streams(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    def close_streams(self) -> None:
        """End every stream, and any opened from now on: the worker is stopping. Safe to call
        from a signal handler scheduled on the loop; calling it again changes nothing."""
        self._closing = True
        for streams in self._subscribers.values():
            for subscription in streams:
                subscription.close()

    # --- the connection ----------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the LISTEN connection up until `stop` is set."""
        helpers = [asyncio.create_task(self._fan_out()), asyncio.create_task(self._keep_alive())]
        try:
            await self._listen(stop)
        finally:
            for helper in helpers:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
            self._ready.set()  # nobody waits for a connection that will not come
            for streams in self._subscribers.values():
                for subscription in streams:
                    subscription.close()

    async def _listen(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            try:
                await self._open()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                # Said once per outage; the attempts every half second after it are not news.
                log.log(
                    logging.WARNING if attempt == 1 else logging.DEBUG,
                    "live: cannot listen (%s); trying again every %.2fs",
                    error, RECONNECT_DELAYS[-1],
                )  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            attempt = 0
            stopping = asyncio.ensure_future(stop.wait())
            lost = asyncio.ensure_future(self._lost.wait())
            await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            lost.cancel()
            await self._close()

    async def _open(self) -> None:
        async with self._lock:
            conn = await self._connect()
            self._lost.clear()
            conn.add_termination_listener(lambda _conn: self._lost.set())
            self._listening = set()
            for space_id in list(self._subscribers):
                await conn.add_listener(_channel(space_id), self._notified)
                self._listening.add(space_id)
            first = self._conn is None and not self._ready.is_set()
            self._conn = conn
            self._ready.set()
            if not first:
                self.reconnects += 1
                log.info("live: listening again; %d streams catch up", self.streams)
        # Whatever committed while nobody listened is in the journal: every stream reads it.
        for streams in self._subscribers.values():
            for subscription in streams:
                subscription.put(CATCH_UP)

    async def _close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)

    def _notified(self, con_ref: object, pid: int, channel: str, payload: object) -> None:
        space_id = int(channel.partition(":")[2])
        if space_id in self._subscribers:
            self._incoming.put_nowait((space_id, int(str(payload))))

    async def _keep_alive(self) -> None:
        """One timer for every stream of the worker (rather than one per stream)."""
        while True:
            await asyncio.sleep(KEEPALIVE / KEEPALIVE_TICKS)
            for streams in self._subscribers.values():
                for subscription in streams:
                    subscription.tick()

    async def _fan_out(self) -> None:
        """Read notified events, in the order they came (commit order), in batches: one query
        for whatever arrived meanwhile; hand each to every stream of its space."""
        while True:
            notified = [await self._incoming.get()]
            while not self._incoming.empty():
                notified.append(self._incoming.get_nowait())
            try:
                async with self._pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT id, space_id, action, subject_type, subject_id FROM journal"
                        " WHERE id = ANY($1::bigint[])"
                        " ORDER BY id",
                        [event_id for _space, event_id in notified],
                    )
                items: dict[int, list[Any]] = {}
                for row in rows:
                    items.setdefault(row["space_id"], []).append(_event(row))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                # The streams will read the journal themselves.
                items = {space_id: [CATCH_UP] for space_id, _event_id in notified}
            for space_id, events in items.items():
                for subscription in list(self._subscribers.get(space_id, ())):
                    for item in events:
                        subscription.put(item)


@contextlib.contextmanager
def streams_closed_on_signals(hub: Hub) -> Iterator[None]:
    """While in the block, SIGTERM and SIGINT also end the hub's streams (Hub.close_streams).

    In a granian worker the signal first tells the server to stop accepting and to wait for
    open connections; an SSE stream never ends by itself, so without this the app's shutdown
    would not run and the worker would be killed. The server's own handler (the loop's) still
    runs: the signal wakes the loop through its wakeup fd whatever the Python-level handler,
    and ours chains to the one it replaces. Only from the main thread (signals need it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in signals}

    def on_signal(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(hub.close_streams)
        chained = previous.get(signum)
        if callable(chained):
            chained(signum, frame)

    for wanted in signals:
        signal.signal(wanted, on_signal)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _channel(space_id: int) -> str:
    return f"space:{space_id}"


async def events_after(
    pool: asyncpg.Pool, space_id: int, after: int, limit: int = REPLAY_LIMIT
) -> list[Event]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, space_id, action, subject_type, subject_id FROM journal"
            " WHERE space_id = $1 AND id > $2"
            " ORDER BY id LIMIT $3",
            space_id,
            after,
            limit,
        )
    return [_event(row) for row in rows]


async def last_event_id(pool: asyncpg.Pool, space_id: int) -> int:
    async with pool.acquire() as conn:
        return await journal.last_id(conn, space_id)


def parse_last_event_id(header: str | None) -> int | None:
    if header is None or not header.strip().isdigit() or len(header.strip()) > 18:
        return None
    return int(header.strip())


async def stream(
    hub: Hub, pool: asyncpg.Pool, space_id: int, last_id: int | None
) -> AsyncGenerator[bytes, None]:
    """The bytes of one SSE stream of a space, until the client goes away or the worker stops.

    While it waits it keeps its subscription and a few ints, not what it replayed: a catch-up
    can read REPLAY_LIMIT events, for each of hundreds of streams after a reconnection."""
    subscription = await hub.subscribe(space_id)
    try:
        # `retry` tells the browser how soon to come back after a cut.
        yield b"retry: 1000\n: connected\n\n"
        sent = last_id if last_id is not None else await last_event_id(pool, space_id)
        items: list[Any] = [CATCH_UP] if last_id is not None else []
        event: Event | None = None
        while True:
            spoke = False
            for item in items:
                if item is CLOSE:
                    yield _restart()
                    return
                if item is CATCH_UP:
                    # One bounded read: a client too far behind reloads its page rather than
                    # being sent the space's whole history.
                    missed = await events_after(pool, space_id, sent, REPLAY_LIMIT + 1)
                    if len(missed) > REPLAY_LIMIT:
                        missed.clear()
                        sent = await last_event_id(pool, space_id)
                        yield _reload(sent)
                        spoke = True
                    missed.reverse()
                    while missed:  # each let go of once sent
                        event = missed.pop()
                        yield event.sse
                        sent, event, spoke = event.id, None, True
                elif item is KEEPALIVE_DUE:
                    yield b": keep-alive\n\n"
                    spoke = True
                elif isinstance(item, Event) and item.id > sent:
                    yield item.sse
                    sent, spoke = item.id, True
            if spoke:
                subscription.quiet = 0
            items.clear()
            items = await subscription.take()
    finally:
        # The client went away: the server cancels this generator; the UNLISTEN of a
        # space's last stream must still run to its end.
        with anyio.CancelScope(shield=True):
            await hub.unsubscribe(subscription)
