"""Load-test the live updates (Server-Sent Events): how fast a committed change reaches N
open streams, how much memory each open stream costs the server, and whether any event is
lost or sent twice.

    .venv/bin/python bench/live.py consentir_bench --streams 500 --seconds 20 --rate 10

Needs the database built by bench/generate.py (it reads bench/out/<name>.json). Starts
`consentir serve --workers 2` on a free loopback port (run.py's helpers), then:

1. creates API tokens, directly in the database, for a few participants of the open object
   round whose current position is a plain consent (so the round's state comes back as it
   was: they are given consent again at the end, and their tokens are revoked);
2. opens and closes a few streams (warm-up), reads the RSS of the granian workers, opens
   `--streams` streams to /live/s/<slug> with the viewer's session cookie (raw asyncio
   connections, HTTP/1.1 written by hand, chunked body parsed here: a few KiB each on the
   client side), waits for them to be idle and reads the RSS again: the difference divided
   by the number of streams is the memory per open stream;
3. posts positions (consent and concern in turn, per participant) through the JSON API at
   `--rate` per second for `--seconds`, one at a time from one client;
4. compares, on every stream, the events received with the space's journal events written
   during the posting (lost, duplicated), and takes each event's latency on each stream as
   its arrival time (the blank line that ends the message read here, `time.time()`) minus
   the journal row's `created_at` (the same machine's clock; `clock_timestamp()` taken in
   the transaction just before it commits, so the latency includes the end of that
   transaction, the notification, the worker's fan-out and the client reading it).

Prints a table and the targets met or missed, writes everything to
bench/out/live-results-<time>.json and the server's log to bench/out/live-serve.log. The
client shares the 2 cores with the server and PostgreSQL: its own CPU use is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import functools
import hashlib
import json
import math
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

from consentir import db
from consentir.accounts import store as accounts
from run import (
    OUT,
    SECRET,
    VENV_BIN,
    cpu_seconds,
    free_port,
    postgres_processes,
    start,
    stop,
    tree,
    wait_for_health,
    write_report,
)

HOST = "127.0.0.1"
TOKEN_NAME = "bench-live"
OPEN_CONCURRENCY = 50  # streams being opened at the same time
OPEN_SECONDS = 120.0  # all streams open within this, or the run stops
IDLE_SECONDS = 2.0  # after opening, before reading RSS (let allocations settle)
DRAIN_SECONDS = 10.0  # after the last post, how long to wait for the streams to catch up
# Opened and closed before the baseline (the first stream of a worker starts its LISTEN).
# Few: the memory they leave free in the workers is reused by the measured streams.
WARMUP_STREAMS = 4
# The workers' pools are opened at their full size (the app's default maximum, 10), so that
# their growth while the streams open (each reads the journal's last id) is not counted as
# the streams' memory (roughly 200 KiB per PostgreSQL connection, seen here).
POOL_SIZE = "10"
FD_MARGIN = 256  # file descriptors beyond one per stream (the client's own, httpx, asyncpg)

# Participants of the open round whose current position is a plain consent.
PARTICIPANTS = """
SELECT p.user_id, u.email
FROM rounds r
JOIN positions p ON p.round_id = r.id AND p.superseded_at IS NULL
JOIN user_accounts u ON u.id = p.user_id
WHERE r.proposal_id = $1 AND r.closed_at IS NULL AND r.kind = 'object'
  AND p.stance = 'consent' AND p.reason = '' AND p.recorded_by = p.user_id
ORDER BY p.user_id
LIMIT $2
"""
APP_CONNECTIONS = """
SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
  AND application_name IN ('consentir', 'consentir-live') AND pid <> pg_backend_pid()
"""
CURRENT_STANCES = """
SELECT p.user_id, p.stance, r.version
FROM rounds r JOIN positions p ON p.round_id = r.id AND p.superseded_at IS NULL
WHERE r.proposal_id = $1 AND r.closed_at IS NULL AND p.user_id = ANY($2::bigint[])
"""


# --- one SSE stream, read by hand ---------------------------------------------------------


@dataclass(eq=False)
class Stream:
    """What one stream received: (event id, arrival time) in order, and how it ended."""

    index: int
    arrivals: list[tuple[int, float]] = field(default_factory=list)
    keepalives: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    status: int = 0
    local_port: int = 0  # this end's port, to find the connection in the server's list
    error: str | None = None
    ended: bool = False
    # Called with (event id, event name) for each event, as a page's htmx trigger would be.
    on_event: Callable[[int, bytes], None] | None = None

    @property
    def last_id(self) -> int:
        return self.arrivals[-1][0] if self.arrivals else 0


def request_bytes(path: str, port: int, cookie: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"host: {HOST}:{port}\r\n"
        "accept: text/event-stream\r\n"
        "cache-control: no-cache\r\n"
        f"cookie: {cookie}\r\n"
        "user-agent: consentir-bench-live\r\n"
        "\r\n"
    ).encode()


def take_messages(stream: Stream, buffer: bytes, now: float) -> bytes:
    """Handle the complete messages at the start of `buffer` (each ends with a blank line);
    returns what remains. The server ends lines with \\n only."""
    while True:
        end = buffer.find(b"\n\n")
        if end < 0:
            return buffer
        message, buffer = buffer[:end], buffer[end + 2 :]
        event_id, name = 0, b"message"
        for line in message.split(b"\n"):
            if line.startswith(b"id:"):
                event_id = int(line[3:])
                stream.arrivals.append((event_id, now))
            elif line.startswith(b"event:"):
                name = line[6:].strip()
            elif line == b": keep-alive":
                stream.keepalives += 1
            elif line == b": connected":
                stream.connected.set()
        if event_id and stream.on_event is not None:
            stream.on_event(event_id, name)


async def read_stream(
    stream: Stream, port: int, request: bytes, opening: asyncio.Semaphore
) -> None:
    """Open one stream and read it until cancelled or closed by the server."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with opening:
            reader, writer = await asyncio.open_connection(HOST, port)
            stream.local_port = int(writer.get_extra_info("sockname")[1])
            writer.write(request)
            status_line = await reader.readline()
            parts = status_line.split(b" ", 2)
            stream.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            chunked = False
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if stream.status != 200:
                stream.error = f"HTTP {stream.status}"
                return
            buffer = b""
            # Read until ": connected" while holding the semaphore: opening is then bounded.
            while not stream.connected.is_set():
                data = await _next_piece(reader, chunked)
                if not data:
                    stream.ended = True
                    return
                buffer = take_messages(stream, buffer + data, time.time())
        while True:
            data = await _next_piece(reader, chunked)
            if not data:
                stream.ended = True
                return
            buffer = take_messages(stream, buffer + data, time.time())
    except (OSError, asyncio.IncompleteReadError, ValueError) as error:
        stream.error = f"{type(error).__name__}: {error}"
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _next_piece(reader: asyncio.StreamReader, chunked: bool) -> bytes:
    """The next piece of the body: one chunk (chunked encoding), or what the socket has."""
    if not chunked:
        return await reader.read(65536)
    size_line = await reader.readline()
    if not size_line:
        return b""
    size = int(size_line.split(b";", 1)[0].strip(), 16)
    if size == 0:
        return b""
    data = await reader.readexactly(size)
    await reader.readexactly(2)  # the chunk's CRLF
    return data


# --- the server's processes ---------------------------------------------------------------


def workers_of(server: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return tree(server.pid)[1:]


def rss(processes: list[psutil.Process]) -> dict[int, int]:
    found = {}
    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            found[proc.pid] = proc.memory_info().rss
    return found


def rss_settled(processes: list[psutil.Process], samples: int = 3) -> dict[int, int]:
    """RSS per process, the median of a few readings half a second apart."""
    readings = []
    for n in range(samples):
        if n:
            time.sleep(0.5)
        readings.append(rss(processes))
    return {pid: sorted(r.get(pid, 0) for r in readings)[samples // 2] for pid in readings[0]}


def streams_per_worker(
    processes: list[psutil.Process], port: int, clients: set[int]
) -> dict[int, int]:
    """How many of the streams' connections (client ports `clients`) each process holds."""
    found = {}
    for proc in processes:
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found[proc.pid] = sum(
            1
            for c in conns
            if c.status == psutil.CONN_ESTABLISHED
            and c.laddr.port == port
            and c.raddr
            and c.raddr.port in clients
        )
    return found


# --- the run ------------------------------------------------------------------------------


@dataclass
class Poster:
    user_id: int
    email: str
    token: str
    token_id: int
    stance: str = "consent"  # the position they hold now


@dataclass
class Post:
    at: float
    status: int
    seconds: float
    error: str = ""


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values (p = 100: the largest), to 0.01."""
    if not ordered:
        return math.nan
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)


async def make_tokens(database_url: str, proposal_id: int, count: int) -> list[Poster]:
    pool = await db.create_pool(database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            rows = await conn.fetch(PARTICIPANTS, proposal_id, count)
        if not rows:
            raise SystemExit(
                "live.py: no participant of the open round holds a plain consent; "
                "rebuild the data set with bench/generate.py --replace"
            )
        posters = []
        for row in rows:
            async with db.transaction(pool) as conn:
                token_id, token = await accounts.create_api_token(conn, row["user_id"], TOKEN_NAME)
            posters.append(Poster(row["user_id"], row["email"], token, token_id))
        return posters
    finally:
        await pool.close()


async def restore(info: dict[str, Any], port: int, posters: list[Poster]) -> list[str]:
    """Give the round back its state: every poster holds consent again (read from the
    database: a post cut by Ctrl-C may have committed or not). Returns who still does not."""
    pool = await db.create_pool(info["database_url"], min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                CURRENT_STANCES, info["proposal_id"], [p.user_id for p in posters]
            )
    finally:
        await pool.close()
    stances = {int(r["user_id"]): (str(r["stance"]), int(r["version"])) for r in rows}
    url = f"/api/v1/spaces/{info['slug']}/proposals/{info['proposal_id']}/steps/position"
    left = []
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=10) as client:
        for poster in posters:
            stance, version = stances.get(poster.user_id, ("consent", 0))
            if stance == "consent":
                continue
            try:
                answer = await give_position(client, url, poster, "consent", version)
            except httpx.HTTPError:
                answer = None
            if answer is None or answer.status_code != 200:
                left.append(poster.email)
    return left


async def revoke_tokens(database_url: str, posters: list[Poster]) -> None:
    pool = await db.create_pool(database_url, min_size=1, max_size=2)
    try:
        for poster in posters:
            async with db.transaction(pool) as conn:
                await accounts.revoke_api_token(conn, poster.user_id, poster.token_id)
    finally:
        await pool.close()


async def give_position(
    client: httpx.AsyncClient, url: str, poster: Poster, stance: str, version: int
) -> httpx.Response:
    return await client.post(
        url,
        json={"stance": stance, "reason": "", "version": version},
        headers={"authorization": f"Bearer {poster.token}"},
    )


async def open_streams(
    streams: list[Stream], port: int, request: bytes, concurrency: int = OPEN_CONCURRENCY
) -> tuple[list[asyncio.Task[None]], float]:
    opening = asyncio.Semaphore(concurrency)
    started = time.monotonic()
    tasks = [asyncio.create_task(read_stream(s, port, request, opening)) for s in streams]

    async def all_connected() -> None:
        for s, task in zip(streams, tasks, strict=True):
            done = asyncio.ensure_future(s.connected.wait())
            await asyncio.wait({done, task}, return_when=asyncio.FIRST_COMPLETED)
            done.cancel()
            if not s.connected.is_set():
                raise SystemExit(f"live.py: stream {s.index} did not open: {s.error or 'closed'}")

    try:
        await asyncio.wait_for(all_connected(), OPEN_SECONDS)
    except TimeoutError:
        opened = sum(s.connected.is_set() for s in streams)
        raise SystemExit(
            f"live.py: only {opened} of {len(streams)} streams opened in {OPEN_SECONDS:.0f} s"
        ) from None
    return tasks, time.monotonic() - started


async def close_streams(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def measure(
    args: argparse.Namespace,
    info: dict[str, Any],
    server: subprocess.Popen[bytes],
    port: int,
    posters: list[Poster],
) -> dict[str, Any]:
    base = f"http://{HOST}:{port}"
    slug, proposal_id = info["slug"], info["proposal_id"]
    request = request_bytes(f"/live/s/{slug}", port, info["session_cookie"])
    proposal_url = f"/api/v1/spaces/{slug}/proposals/{proposal_id}"
    step_url = f"{proposal_url}/steps/position"
    workers = workers_of(server)
    results: dict[str, Any] = {}
    pool = await db.create_pool(info["database_url"], min_size=1, max_size=2)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        try:
            # Warm-up: the API, then a few streams opened and closed (first LISTEN, imports).
            first = await client.get(
                proposal_url, headers={"authorization": f"Bearer {posters[0].token}"}
            )
            if first.status_code != 200:
                raise SystemExit(f"live.py: {proposal_url} answered {first.status_code}")
            version = int(first.json()["version"])
            warm = [Stream(-1 - n) for n in range(WARMUP_STREAMS)]
            warm_tasks, _ = await open_streams(warm, port, request)
            await close_streams(warm_tasks)
            await asyncio.sleep(1.0)
            before = await asyncio.to_thread(rss_settled, workers)
            async with pool.acquire() as conn:
                connections_before = int(await conn.fetchval(APP_CONNECTIONS))

            streams = [Stream(n) for n in range(args.streams)]
            tasks, open_seconds = await open_streams(streams, port, request)
            print(f"  {len(streams)} streams open in {open_seconds:.1f} s")
            await asyncio.sleep(IDLE_SECONDS)
            after = await asyncio.to_thread(rss_settled, workers)
            async with pool.acquire() as conn:
                connections_after = int(await conn.fetchval(APP_CONNECTIONS))
            held = streams_per_worker(workers, port, {s.local_port for s in streams})
            grown = sum(after.values()) - sum(before.values())
            results["memory"] = {
                "rss_before_kib": {str(k): v // 1024 for k, v in before.items()},
                "rss_after_kib": {str(k): v // 1024 for k, v in after.items()},
                "kib_per_stream": round(grown / 1024 / len(streams), 1),
                "streams_per_worker": {str(k): v for k, v in held.items() if v},
                # The workers' PostgreSQL connections (pools and LISTEN): if they grew while
                # the streams opened, part of the growth is theirs, not the streams'.
                "pg_connections_before_after": [connections_before, connections_after],
            }
            results["open_seconds"] = round(open_seconds, 2)
            print(
                f"  workers' RSS {sum(before.values()) / 2**20:.1f} → "
                f"{sum(after.values()) / 2**20:.1f} MiB: "
                f"{results['memory']['kib_per_stream']:.1f} KiB per stream; "
                f"connections per worker pid {held}; the workers' PostgreSQL connections "
                f"{connections_before} → {connections_after}"
            )

            # Posting, paced: the i-th position is due at start + i / rate.
            async with pool.acquire() as conn:
                first_id = int(
                    await conn.fetchval(
                        "SELECT coalesce(max(id), 0) FROM journal"
                        " WHERE space_id = (SELECT id FROM spaces WHERE slug = $1)",
                        slug,
                    )
                )
            total = round(args.seconds * args.rate)
            posts: list[Post] = []
            procs = tree(server.pid)
            cpu_before, client_before = cpu_seconds(procs), time.process_time()
            started = time.monotonic()
            for i in range(total):
                delay = started + i / args.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                poster = posters[i % len(posters)]
                stance = "concern" if poster.stance == "consent" else "consent"
                sent = time.monotonic()
                try:
                    answer = await give_position(client, step_url, poster, stance, version)
                except httpx.HTTPError as failure:
                    posts.append(Post(sent - started, 0, time.monotonic() - sent, repr(failure)))
                    continue
                detail = "" if answer.status_code == 200 else answer.text[:200]
                posts.append(
                    Post(sent - started, answer.status_code, time.monotonic() - sent, detail)
                )
                if answer.status_code == 200:
                    poster.stance = stance
            post_wall = time.monotonic() - started
            cpu_after, client_after = cpu_seconds(procs), time.process_time()
            async with pool.acquire() as conn:
                rows = await conn.fetch(
                    "SELECT id, action, created_at FROM journal"
                    " WHERE space_id = (SELECT id FROM spaces WHERE slug = $1) AND id > $2"
                    " ORDER BY id",
                    slug,
                    first_id,
                )
            expected = {int(r["id"]): r["created_at"].timestamp() for r in rows}
            actions: dict[str, int] = {}
            for r in rows:
                actions[r["action"]] = actions.get(r["action"], 0) + 1

            # Let the streams catch up with the last event, then close them.
            last = max(expected, default=0)
            for _ in range(round(DRAIN_SECONDS / 0.1)):
                if not any(s.last_id < last and s.error is None and not s.ended for s in streams):
                    break
                await asyncio.sleep(0.1)
            await close_streams(tasks)
            results["posting"] = summarise_posts(posts, post_wall, args)
            results["posting"]["journal_events"] = actions
            results["cpu_cores_while_posting"] = {
                "server": round(
                    sum(cpu_after[p] - cpu_before.get(p, 0.0) for p in cpu_after) / post_wall, 3
                ),
                "client": round((client_after - client_before) / post_wall, 3),
            }
            results["delivery"] = summarise_delivery(streams, expected)
        finally:
            await pool.close()
    return results


def summarise_posts(posts: list[Post], wall: float, args: argparse.Namespace) -> dict[str, Any]:
    ok = [p for p in posts if p.status == 200]
    errors: dict[str, int] = {}
    for p in posts:
        if p.status != 200:
            errors[str(p.status)] = errors.get(str(p.status), 0) + 1
    durations = sorted(p.seconds * 1000 for p in ok)
    return {
        "asked": len(posts),
        "ok": len(ok),
        "errors": sum(errors.values()),
        "errors_by_status": errors,
        "first_errors": [p.error for p in posts if p.status != 200][:5],
        "rate_asked": args.rate,
        # Successful posts per second over the time they were sent in (the last one's slot
        # included): the asked rate when the poster kept to its schedule.
        "rate_achieved": round(len(ok) / (posts[-1].at + 1 / args.rate), 2) if posts else 0.0,
        "wall_seconds": round(wall, 2),
        "post_ms": {
            "p50": percentile(durations, 50),
            "p99": percentile(durations, 99),
            "max": percentile(durations, 100),
        },
    }


def summarise_delivery(streams: list[Stream], expected: dict[int, float]) -> dict[str, Any]:
    latencies: list[float] = []
    lost = duplicated = unexpected = out_of_order = 0
    lost_streams = 0
    for s in streams:
        seen: set[int] = set()
        highest = 0
        for event_id, arrived in s.arrivals:
            if event_id in seen:
                duplicated += 1
                continue
            seen.add(event_id)
            out_of_order += event_id < highest  # live.py promises commit (= id) order
            highest = max(highest, event_id)
            if event_id in expected:
                latencies.append((arrived - expected[event_id]) * 1000)
            else:
                unexpected += 1
        missing = len(expected.keys() - seen)
        lost += missing
        lost_streams += missing > 0
    latencies.sort()
    return {
        "streams": len(streams),
        "events_expected": len(expected),
        "deliveries_expected": len(expected) * len(streams),
        "delivered": len(latencies),
        "lost": lost,
        "streams_with_losses": lost_streams,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "out_of_order": out_of_order,
        "stream_errors": sum(s.error is not None for s in streams),
        "streams_closed_by_server": sum(s.ended for s in streams),
        "first_stream_errors": sorted({s.error for s in streams if s.error})[:5],
        "keepalives": sum(s.keepalives for s in streams),
        "latency_ms": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "max": percentile(latencies, 100),
            "min": percentile(latencies, 0),
        },
    }


# --- scenario "fragments": a live event on a proposal open on N pages ------------------------
#
# Each page is what a browser holding the proposal page does: one SSE stream on the space
# (`/live/s/<slug>`), and, when an event named `proposal-<id>` arrives, a GET of the round's
# fragment (`<proposal>/round`, as htmx sends it: `HX-Request`, the session cookie), made as
# static/live.js makes it (its numbers are read from that file): after a random 0–SPREAD_MS;
# refused (503, 429), sent again after Retry-After plus a random 0–JITTER_MS, until it is
# answered; with `If-None-Match` when the page holds a copy from an earlier fetch (the
# browser's HTTP cache: the fragment is `private, no-cache` with an ETag), a 304 then showing
# that copy. One fetch at a time per page, and at most one more waiting (htmx's default
# `hx-sync`, "queue first": a third event meanwhile is dropped). A page has no copy before
# its first live fetch (the round came with the page). One position is committed at a time
# through the JSON API; for each page, the time from that commit (the journal row's
# `created_at`, taken just before the commit) until the page shows a fragment with the new
# round state (its body equals the reference fetched once everything is quiet, and differs
# from the one before the event). A stale body counts as not updated.

FRAGMENT_TIMEOUT = 30.0  # seconds for every page to be updated after an event
FETCH_CONCURRENCY_AT_START = 50
# Per-request parts of a fragment that are not the round's state (a form's token).
VOLATILE = re.compile(rb'(name="(?:_csrf_token|csrf_token|_key|key)" value=")[^"]*"')
LIVE_JS = Path(__file__).resolve().parents[1] / "static" / "live.js"


@dataclass(frozen=True)
class LiveRules:
    """How static/live.js spreads and retries a fetch the stream triggers."""

    spread_ms: float
    jitter_ms: float
    retry_after_default_s: float
    retry_after_max_s: float

    @classmethod
    def read(cls, path: Path = LIVE_JS) -> LiveRules:
        text = path.read_text()

        def number(name: str) -> float:
            found = re.search(rf"\bvar {name} = (\d+(?:\.\d+)?);", text)
            if found is None:
                raise SystemExit(f"live.py: {name} not found in {path}")
            return float(found.group(1))

        return cls(number("SPREAD_MS"), number("JITTER_MS"), number("RETRY_AFTER_DEFAULT_S"),
                   number("RETRY_AFTER_MAX_S"))  # fmt: skip

    def retry_after(self, header: str | None) -> float:
        """Seconds to wait, as live.js reads Retry-After (digits; an HTTP date; else 1 s)."""
        value = (header or "").strip()
        seconds = self.retry_after_default_s
        if value.isdigit():
            seconds = float(value)
        elif value:
            with contextlib.suppress(TypeError, ValueError):
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        return min(max(seconds, 0.0), self.retry_after_max_s)


@dataclass
class Fetch:
    started: float
    ended: float
    status: int
    digest: str  # of what the page shows after it (a 304: its copy)
    trigger: int  # the event id that made the page fetch


@dataclass(eq=False)
class Page:
    stream: Stream
    etag: str | None = None  # the browser's cached copy of the fragment: its ETag…
    copy: str = ""  # …and the digest of its body
    fetches: list[Fetch] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    busy: bool = False  # a fetch under way (htmx's request queue: "queue first")
    queued: int | None = None  # the event of the one fetch waiting for it, if any


async def http_get(
    port: int, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """One GET on its own connection (`connection: close`), HTTP/1.1 written by hand:
    light enough for 500 at once in one process."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        lines = [f"GET {path} HTTP/1.1", f"host: {HOST}:{port}", "connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        raw = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if "chunked" in found.get("transfer-encoding", ""):
        body = dechunk(body)
    return status, found, body


def dechunk(data: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        end = data.index(b"\r\n", at)
        size = int(data[at:end].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        at = end + 2 + size + 2


def digest(body: bytes) -> str:
    return hashlib.sha1(VOLATILE.sub(rb"\1\"", body)).hexdigest()


async def fetch_fragment(
    page: Page, port: int, path: str, cookie: str, trigger: int, live: LiveRules | None
) -> None:
    """The page's fetch of its round, as live.js makes it (`live`: None for the one made
    before any event, which only reads the state then: no spread, no copy kept). Every
    attempt is recorded; the last one answered (not 503/429) leaves the page's copy."""
    if live is not None:
        await asyncio.sleep(random.uniform(0, live.spread_ms) / 1000)
    deadline = time.monotonic() + FRAGMENT_TIMEOUT
    while True:
        headers = {"cookie": cookie, "hx-request": "true", "hx-current-url": path}
        if live is not None and page.etag:
            headers["if-none-match"] = page.etag
        started = time.time()
        try:
            status, found, body = await http_get(port, path, headers)
        except (OSError, ValueError, IndexError) as error:
            page.fetches.append(Fetch(started, time.time(), 0, repr(error), trigger))
            return
        shown = page.copy if status == 304 else digest(body)
        page.fetches.append(Fetch(started, time.time(), status, shown, trigger))
        if live is None:
            return
        if status in (503, 429):
            wait = live.retry_after(found.get("retry-after"))
            wait += random.uniform(0, live.jitter_ms) / 1000
            if time.monotonic() + wait > deadline:
                return
            await asyncio.sleep(wait)
            continue
        if status == 200 and "etag" in found:  # the browser keeps it (private, no-cache)
            page.etag, page.copy = found["etag"], shown
        return


async def fragments(
    args: argparse.Namespace,
    info: dict[str, Any],
    server: subprocess.Popen[bytes],
    port: int,
    posters: list[Poster],
) -> dict[str, Any]:
    slug, proposal_id = info["slug"], info["proposal_id"]
    cookie = info["session_cookie"]
    fragment = f"/s/{slug}/proposals/{proposal_id}/round"
    wanted = f"proposal-{proposal_id}".encode()
    step_url = f"/api/v1/spaces/{slug}/proposals/{proposal_id}/steps/position"
    base = f"http://{HOST}:{port}"
    pages: list[Page] = []
    live = LiveRules.read()

    def on_event(page: Page, event_id: int, name: bytes) -> None:
        if name != wanted:
            return
        if page.busy:  # htmx: one more waits for the current one; beyond that, dropped
            if page.queued is None:
                page.queued = event_id
            return
        page.busy = True
        task = asyncio.create_task(run_fetches(page, event_id))
        page.tasks.add(task)
        task.add_done_callback(page.tasks.discard)

    async def run_fetches(page: Page, event_id: int) -> None:
        try:
            next_event: int | None = event_id
            while next_event is not None:
                await fetch_fragment(page, port, fragment, cookie, next_event, live)
                next_event, page.queued = page.queued, None
        finally:
            page.busy = False

    for n in range(args.streams):
        page = Page(Stream(n))
        page.stream.on_event = functools.partial(on_event, page)
        pages.append(page)
    request = request_bytes(f"/live/s/{slug}", port, cookie)
    results: dict[str, Any] = {"pages": args.streams, "live_js": vars(live), "events": []}
    pooled: list[float] = []
    pool = await db.create_pool(info["database_url"], min_size=1, max_size=2)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        try:
            first = await client.get(
                f"/api/v1/spaces/{slug}/proposals/{proposal_id}",
                headers={"authorization": f"Bearer {posters[0].token}"},
            )
            if first.status_code != 200:
                raise SystemExit(f"live.py: the proposal's API answered {first.status_code}")
            version = int(first.json()["version"])
            # The proposal page as a browser loads it: its cookies then (the CSRF cookie the
            # page sets) go with every fetch of the fragment, as a browser's would.
            loaded = await client.get(f"/s/{slug}/proposals/{proposal_id}",
                                      headers={"cookie": cookie})  # fmt: skip
            if loaded.status_code != 200:
                raise SystemExit(f"live.py: the proposal's page answered {loaded.status_code}")
            cookie = "; ".join([cookie, *(f"{k}={v}" for k, v in loaded.cookies.items())])
            tasks, open_seconds = await open_streams([p.stream for p in pages], port, request)
            print(f"  {len(pages)} pages: streams open in {open_seconds:.1f} s")
            # The state before any event, as each page shows it (a browser has the round from
            # the page itself: no copy of the fragment is kept from this fetch).
            limit = asyncio.Semaphore(FETCH_CONCURRENCY_AT_START)

            async def initial(page: Page) -> None:
                async with limit:
                    await fetch_fragment(page, port, fragment, cookie, 0, None)

            await asyncio.gather(*(initial(p) for p in pages))
            bad = [p.fetches[-1].status for p in pages if p.fetches[-1].status != 200]
            if bad:
                raise SystemExit(f"live.py: the fragment answered {sorted(set(bad))}")
            workers = tree(server.pid)
            for k in range(args.events):
                await asyncio.sleep(args.pause)
                poster = posters[k % len(posters)]
                stance = "concern" if poster.stance == "consent" else "consent"
                before = {p.fetches[-1].digest for p in pages}
                async with pool.acquire() as conn:
                    last_id = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM journal"))
                cpu_before = cpu_seconds(workers)
                pg_before = cpu_seconds(postgres_processes())
                answer = await give_position(client, step_url, poster, stance, version)
                if answer.status_code != 200:
                    raise SystemExit(f"live.py: position answered {answer.status_code}")
                poster.stance = stance
                async with pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT id, created_at FROM journal WHERE id > $1"
                        " AND space_id = (SELECT id FROM spaces WHERE slug = $2) ORDER BY id",
                        last_id,
                        slug,
                    )
                committed = rows[-1]["created_at"].timestamp()
                event_ids = {int(r["id"]) for r in rows}
                deadline = time.monotonic() + FRAGMENT_TIMEOUT
                while time.monotonic() < deadline:
                    done = all(
                        any(f.trigger in event_ids for f in p.fetches) and not p.tasks
                        for p in pages
                    )
                    if done:
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)  # anything late, then the state at rest
                cpu_after = cpu_seconds(workers)
                pg_after = cpu_seconds(postgres_processes())
                _, _, body = await http_get(
                    port, fragment, {"cookie": cookie, "hx-request": "true"}
                )
                reference = digest(body)
                latencies: list[float] = []
                statuses: dict[str, int] = {}
                stale = missing = 0
                for p in pages:
                    mine = [f for f in p.fetches if f.trigger in event_ids]
                    for f in mine:
                        statuses[str(f.status)] = statuses.get(str(f.status), 0) + 1
                    # A 304 shows the page's copy (its digest is that copy's).
                    fresh = [f for f in mine if f.status in (200, 304) and f.digest == reference]
                    if fresh:
                        latencies.append((min(f.ended for f in fresh) - committed) * 1000)
                    elif mine:
                        stale += 1
                    else:
                        missing += 1
                latencies.sort()
                pooled.extend(latencies)
                server_cpu = sum(cpu_after[q] - cpu_before.get(q, 0.0) for q in cpu_after)
                pg_cpu = sum(pg_after[q] - pg_before.get(q, 0.0) for q in pg_after)
                event: dict[str, Any] = {
                    "journal_events": len(event_ids),
                    "state_changed": reference not in before,
                    "updated": len(latencies),
                    "stale": stale,
                    "no_fetch": missing,
                    "fetch_statuses": statuses,
                    "ms_from_commit": {
                        "p50": percentile(latencies, 50),
                        "p99": percentile(latencies, 99),
                        "max": percentile(latencies, 100),
                    },
                    "app_cpu_ms": round(server_cpu * 1000, 1),
                    "postgres_cpu_ms": round(pg_cpu * 1000, 1),
                }
                results["events"].append(event)
                print(
                    f"  event {k + 1}: {event['updated']}/{len(pages)} pages updated, "
                    f"p50 {event['ms_from_commit']['p50']:.0f} ms, "
                    f"p99 {event['ms_from_commit']['p99']:.0f} ms, app CPU "
                    f"{event['app_cpu_ms']:.0f} ms, statuses {statuses}"
                )
            await close_streams(tasks)
        finally:
            await pool.close()
    every = results["events"]
    pooled.sort()
    results["summary"] = {
        "events": len(every),
        "updated": sum(e["updated"] for e in every),
        "expected": len(every) * len(pages),
        "stale": sum(e["stale"] for e in every),
        "no_fetch": sum(e["no_fetch"] for e in every),
        # Fetches refused for now (503, 429) and sent again after Retry-After, as live.js does.
        "refused": sum(e["fetch_statuses"].get(c, 0) for e in every for c in ("503", "429")),
        "not_modified": sum(e["fetch_statuses"].get("304", 0) for e in every),
        "ms_from_commit": {
            "p50": percentile(pooled, 50),
            "p99": percentile(pooled, 99),
            "max": percentile(pooled, 100),
        },
        "app_cpu_ms_per_event": round(sum(e["app_cpu_ms"] for e in every) / max(1, len(every)), 1),
        "postgres_cpu_ms_per_event": round(
            sum(e["postgres_cpu_ms"] for e in every) / max(1, len(every)), 1
        ),
    }
    return results


def report_fragments(
    args: argparse.Namespace, info: dict[str, Any], results: dict[str, Any], stamp: str, busy: float
) -> int:
    s = results["summary"]
    ms = s["ms_from_commit"]
    print()
    print(
        "| pages | events | pages updated | stale | no fetch | refused, retried | p50 ms "
        "| p99 ms | max ms | app CPU ms/event | PostgreSQL CPU ms/event |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {results['pages']} | {s['events']} | {s['updated']}/{s['expected']} | {s['stale']} "
        f"| {s['no_fetch']} | {s['refused']} | {ms['p50']:.0f} | {ms['p99']:.0f} "
        f"| {ms['max']:.0f} | {s['app_cpu_ms_per_event']:.0f} "
        f"| {s['postgres_cpu_ms_per_event']:.0f} |"
    )
    live = results["live_js"]
    print(
        f"  as static/live.js: first fetch after 0–{live['spread_ms']:.0f} ms; refused: again "
        f"after Retry-After + 0–{live['jitter_ms']:.0f} ms"
    )
    checks = [
        ("every page updated", s["updated"] == s["expected"], f"{s['updated']}/{s['expected']}"),
        ("p99 ≤ 1 s from commit", ms["p99"] <= 1000, f"{ms['p99']:.0f} ms"),
    ]
    print()
    for label, ok, value in checks:
        print(f"  {'MET   ' if ok else 'MISSED'} {label}: {value}")
    report = {
        "when": stamp,
        "scenario": "fragments",
        "machine": {"cpus": psutil.cpu_count(), "busy_cores_before": round(busy, 2)},
        "settings": {"pages": args.streams, "events": args.events, "pause": args.pause,
                     "workers": args.workers},
        "database": {k: info[k] for k in ("database", "slug", "proposal_id")},
        "results": results,
    }  # fmt: skip
    write_report("live-fragments", stamp, report, checks)
    return 0 if all(ok for _, ok, _ in checks) else 1


def verdicts(results: dict[str, Any], streams: int) -> list[tuple[str, bool, str]]:
    delivery, memory = results["delivery"], results["memory"]
    p99 = delivery["latency_ms"]["p99"]
    at = f"{streams} streams" + ("" if streams == 500 else "; the targets are for 500")
    per_stream = memory["kib_per_stream"]
    return [
        (f"p99 < 250 ms ({at})", p99 < 250, f"{p99:.1f} ms"),
        (f"p99 ≤ 150 ms, DESIGN ({at})", p99 <= 150, f"{p99:.1f} ms"),
        ("< 64 KiB per open stream", per_stream < 64, f"{per_stream:.1f} KiB"),
        ("0 events lost", delivery["lost"] == 0, str(delivery["lost"])),
        ("0 events duplicated", delivery["duplicated"] == 0, str(delivery["duplicated"])),
        ("0 HTTP errors", results["posting"]["errors"] == 0, str(results["posting"]["errors"])),
    ]


def table(results: dict[str, Any]) -> str:
    d, p, m = results["delivery"], results["posting"], results["memory"]
    lat = d["latency_ms"]
    cpu = results["cpu_cores_while_posting"]
    per_worker = " / ".join(map(str, m["streams_per_worker"].values())) or "?"
    return "\n".join(
        [
            "| streams | per worker | KiB/stream | posts ok/asked | rate/s | HTTP errors "
            "| p50 ms | p95 ms | p99 ms | max ms | lost | dup. | CPU cores: server / client |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
            "| --- |",
            f"| {d['streams']} | {per_worker} "
            f"| {m['kib_per_stream']:.1f} | {p['ok']}/{p['asked']} | {p['rate_achieved']:.1f} "
            f"| {p['errors']} | {lat['p50']:.1f} | {lat['p95']:.1f} | {lat['p99']:.1f} "
            f"| {lat['max']:.1f} | {d['lost']} | {d['duplicated']} "
            f"| {cpu['server']:.2f} / {cpu['client']:.2f} |",
        ]
    )


def raise_file_limit(streams: int) -> int:
    """Raise the soft limit on open files if the streams need it (the server, started by
    this script, inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = streams + FD_MARGIN
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            raise SystemExit(
                f"live.py: {streams} streams need {need} open files; the hard limit is {hard}"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        soft = need
    return soft


def main() -> int:
    parser = argparse.ArgumentParser(description="Load-test Consentir's live updates (SSE).")
    parser.add_argument(
        "name", nargs="?", default="consentir_bench", help="the database generate.py built"
    )
    parser.add_argument("--streams", type=int, default=500, help="open SSE streams")
    parser.add_argument("--seconds", type=float, default=20, help="how long positions are posted")
    parser.add_argument("--rate", type=float, default=10, help="positions posted per second")
    parser.add_argument("--posters", type=int, default=4, help="participants posting in turn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--scenario",
        choices=("stream", "fragments"),
        default="stream",
        help="stream: events on N streams at --rate (default); fragments: a live event on a "
        "proposal open on --streams pages, each re-fetching the round's fragment",
    )
    parser.add_argument(
        "--events", type=int, default=5, help="fragments: positions committed, one at a time"
    )
    parser.add_argument(
        "--pause", type=float, default=2.0, help="fragments: seconds of quiet before each event"
    )
    args = parser.parse_args()
    if not (1 <= args.events <= 100 and 0 <= args.pause <= 60):
        raise SystemExit("live.py: --events 1–100, --pause 0–60")
    if not (1 <= args.streams <= 10_000 and 0 < args.seconds <= 300 and 0 < args.rate <= 200):
        raise SystemExit("live.py: --streams 1–10000, --seconds up to 300, --rate up to 200")
    if not 1 <= args.posters <= 10:
        raise SystemExit("live.py: --posters must be 1–10")
    info_file = OUT / f"{args.name}.json"
    if not info_file.exists():
        raise SystemExit(f"live.py: {info_file} is missing: run bench/generate.py {args.name}")
    info = json.loads(info_file.read_text())
    files = raise_file_limit(args.streams)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    busy = psutil.cpu_percent(interval=1.0) / 100 * (psutil.cpu_count() or 1)
    print(f"machine: {psutil.cpu_count()} CPUs, {busy:.2f} cores busy; open files limit {files}")

    posters = asyncio.run(make_tokens(info["database_url"], info["proposal_id"], args.posters))
    print(f"  API tokens for {', '.join(p.email for p in posters)}")
    port = free_port()
    server: subprocess.Popen[bytes] | None = None
    try:
        server = start(
            [str(VENV_BIN / "consentir"), "serve", "--workers", str(args.workers)],
            {
                "DATABASE_URL": info["database_url"],
                "SECRET_KEY": SECRET,
                "HOST": HOST,
                "PORT": str(port),
                "DATA_DIR": str(OUT / "data"),
                "LOG_LEVEL": "WARNING",
                "DB_POOL_MIN": POOL_SIZE,
                "DB_POOL_MAX": POOL_SIZE,
            },
            OUT / "live-serve.log",
        )
        wait_for_health(f"http://{HOST}:{port}", server, "consentir serve")
        if args.scenario == "fragments":
            results = asyncio.run(fragments(args, info, server, port, posters))
        else:
            results = asyncio.run(measure(args, info, server, port, posters))
    except KeyboardInterrupt:
        results = None
    finally:
        if server is not None:
            if server.poll() is None:
                left = asyncio.run(restore(info, port, posters))
                if left:
                    print(f"live.py: could not give consent back for {', '.join(left)}")
            stop(server)
        asyncio.run(revoke_tokens(info["database_url"], posters))
    if results is None:
        print("live.py: interrupted; the server is stopped, the API tokens revoked")
        return 130
    if args.scenario == "fragments":
        return report_fragments(args, info, results, stamp, busy)

    print()
    print(table(results))
    print()
    checks = verdicts(results, args.streams)
    for label, ok, value in checks:
        print(f"  {'MET   ' if ok else 'MISSED'} {label}: {value}")
    d, posted = results["delivery"], results["posting"]
    print(
        f"  positions: {posted['ok']} of {posted['asked']} posted, HTTP answer p50 "
        f"{posted['post_ms']['p50']:.1f} ms, p99 {posted['post_ms']['p99']:.1f} ms"
    )
    print(
        f"  {d['events_expected']} events × {d['streams']} streams: {d['delivered']} delivered, "
        f"{d['unexpected']} unexpected, {d['out_of_order']} out of order, "
        f"{d['stream_errors']} stream errors, "
        f"{d['streams_closed_by_server']} closed by the server"
    )
    report = {
        "when": stamp,
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "busy_cores_before": round(busy, 2),
            "open_files_limit": files,
        },
        "settings": {
            "streams": args.streams,
            "seconds": args.seconds,
            "rate": args.rate,
            "posters": [p.email for p in posters],
            "workers": args.workers,
        },
        "database": {k: info[k] for k in ("database", "slug", "proposal_id")},
        "results": results,
    }
    write_report("live-results", stamp, report, checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
