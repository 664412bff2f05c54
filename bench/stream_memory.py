"""Where the memory of an open live stream (SSE) goes, on the Python side.

    .venv/bin/python bench/stream_memory.py consentir_bench --streams 500
    .venv/bin/python bench/stream_memory.py consentir_bench --streams 500 --rss

Builds the app (consentir.app.create_app) in this process, runs its lifespan (pool, LISTEN
connection), and serves it with a minimal ASGI driver of its own instead of granian: per
stream, a scope like granian's, a `receive` that answers as granian's does (a future: the
request, then `http.disconnect` when the client leaves), a `send` that keeps nothing.
Opens and closes a few streams (warm-up: imports, the first LISTEN), then opens `--streams`
streams to /live/s/<slug> with the bench viewer's session cookie (bench/out/<name>.json, as
bench/live.py), waits until they are all subscribed and idle, and compares two tracemalloc
snapshots grouped by traceback: the bytes still held per open stream, by whom (the innermost
frame of consentir, litestar, anyio, asyncpg, asyncio or this driver), by the line that
allocated them and the largest tracebacks. Then closes every stream and
checks that the hub has none left.

With `--rss`: no tracemalloc (it costs memory of its own); the process's RSS and pymalloc's
allocated blocks before and after, per stream.

With `--server asgi` (or `rsgi`): the server's floor, without the app. Starts granian (one
worker, consentir's backlog and backpressure) on a bare app of this file that answers every
request with an endless stream (one SSE comment, then waits for the client to leave), opens
`--streams` raw HTTP/1.1 connections to it (as bench/live.py) and reads the worker's RSS
before and after: what any stream costs under granian, whatever the app does.

What this does not count: the server's own memory per connection (granian's Rust side:
hyper's buffers, its tokio task, channels; allocated with jemalloc, not visible to
tracemalloc; plus its own Python objects for receive/send, replaced here by the driver's)
and the allocator's fragmentation. `bench/live.py` measures the workers' RSS, all included:
the difference between the two is the server's share.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import linecache
import os
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from consentir import live
from consentir.app import create_app
from consentir.config import Settings

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SECRET = "bench-stream-memory-secret-0123456789abcdef"
WARMUP = 4
OPENING = 50  # streams being opened at the same time (as bench/live.py)
IDLE_SECONDS = 1.0  # after the last stream is subscribed, before the snapshot
OWNERS = ("consentir", "litestar", "anyio", "asyncpg", "asyncio", "msgspec", "stream_memory")


class Client:
    """One stream's client, as the server shows it to the app: receive and send."""

    __slots__ = ("__weakref__", "asked", "chunks", "connected", "gone", "status")

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.gone: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.asked = 0
        self.status = 0
        self.chunks = 0

    def receive(self) -> asyncio.Future[dict[str, Any]]:
        """As granian's: a future, not a coroutine; the (empty) request, then the leaving."""
        self.asked += 1
        if self.asked == 1:
            request = asyncio.get_running_loop().create_future()
            request.set_result({"type": "http.request", "body": b"", "more_body": False})
            return request
        return self.gone

    def leave(self) -> None:
        if not self.gone.done():
            self.gone.set_result({"type": "http.disconnect"})

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.chunks += 1
            self.connected.set()
        if self.status != 200:
            self.connected.set()


def scope_of(path: str, cookie: str, port: int) -> dict[str, Any]:
    """An HTTP/1.1 scope with what granian puts in one."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", port),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"text/event-stream"),
            (b"cache-control", b"no-cache"),
            (b"cookie", cookie.encode()),
        ],
        "state": {},
    }


async def open_streams(
    app: Any, path: str, cookie: str, count: int, first_port: int
) -> tuple[list[Client], list[asyncio.Task[None]]]:
    clients = [Client() for _ in range(count)]
    tasks: list[asyncio.Task[None]] = []
    for start in range(0, count, OPENING):
        batch = clients[start : start + OPENING]
        tasks += [
            asyncio.create_task(app(scope_of(path, cookie, first_port + n), c.receive, c.send))
            for n, c in enumerate(batch, start)
        ]
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in batch)), 60)
    bad = [c.status for c in clients if c.status != 200]
    if bad:
        raise SystemExit(f"stream_memory.py: {len(bad)} streams answered {bad[0]}")
    return clients, tasks


async def close_streams(clients: list[Client], tasks: list[asyncio.Task[None]]) -> None:
    for client in clients:
        client.leave()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)


async def settled(hub: live.Hub, count: int) -> None:
    """Every stream subscribed and past its first read of the journal."""
    deadline = time.monotonic() + 60
    while hub.streams < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"stream_memory.py: only {hub.streams} of {count} subscribed")
        await asyncio.sleep(0.05)
    await asyncio.sleep(IDLE_SECONDS)
    gc.collect()


def owner(trace: tracemalloc.Traceback) -> str:
    """The innermost frame's package among OWNERS (the frame that asked for the memory)."""
    for frame in reversed(trace):  # most recent call first
        name = frame.filename
        for candidate in OWNERS:
            if f"/{candidate}/" in name or name.endswith(f"/{candidate}.py"):
                return candidate
    return "other"


def site(trace: tracemalloc.Traceback) -> tracemalloc.Frame:
    """The innermost frame outside the standard library: the line of ours or a library's
    that made the allocation (an asyncio.Event made by anyio is anyio's)."""
    for frame in reversed(trace):
        if "site-packages" in frame.filename or "/consentir/" in frame.filename:
            return frame
        if frame.filename.endswith("stream_memory.py"):
            return frame
    return trace[-1]


def short(frame: tracemalloc.Frame) -> str:
    name = frame.filename
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    code = linecache.getline(frame.filename, frame.lineno).strip()
    return f"{name}:{frame.lineno}  {code[:70]}"


def report(diff: list[tracemalloc.StatisticDiff], count: int, top: int) -> dict[str, Any]:
    total = sum(d.size_diff for d in diff)
    blocks = sum(d.count_diff for d in diff)
    by_owner: dict[str, int] = defaultdict(int)
    for d in diff:
        by_owner[owner(d.traceback)] += d.size_diff
    print(
        f"tracemalloc: {total / 1024 / count:.1f} KiB per stream "
        f"({blocks / count:.1f} blocks), {total / 2**20:.2f} MiB for {count} streams"
    )
    for name, size in sorted(by_owner.items(), key=lambda kv: -kv[1]):
        print(f"  {name:14} {size / 1024 / count:7.2f} KiB per stream")
    by_site: dict[tracemalloc.Frame, list[int]] = defaultdict(lambda: [0, 0])
    for d in diff:
        entry = by_site[site(d.traceback)]
        entry[0] += d.size_diff
        entry[1] += d.count_diff
    print("\nby the line that allocated (outside the standard library), per stream:")
    sites = sorted(by_site.items(), key=lambda kv: -kv[1][0])
    for frame, (size, number) in sites[: top * 2]:
        print(f"  {size / count:7.0f} B {number / count:5.1f} blocks  {short(frame)}")
    print(f"\nthe {top} largest tracebacks (per stream; innermost frame last):")
    largest = sorted(diff, key=lambda d: -d.size_diff)[:top]
    for d in largest:
        print(f"\n  {d.size_diff / count:8.0f} B  {d.count_diff / count:5.1f} blocks")
        frames = [
            f for f in d.traceback if "/consentir/" in f.filename or "site-packages" in f.filename
        ]
        shown = frames[-6:] if frames else list(d.traceback)[-3:]
        if d.traceback[-1] not in shown:
            shown.append(d.traceback[-1])
        for frame in shown:
            print(f"      {short(frame)}")
    return {
        "bytes_per_stream": round(total / count),
        "blocks_per_stream": round(blocks / count, 1),
        "by_owner_bytes_per_stream": {k: round(v / count) for k, v in by_owner.items()},
        "by_site": [
            {"bytes_per_stream": round(size / count), "where": short(frame)}
            for frame, (size, _number) in sites[: top * 2]
        ],
        "largest": [
            {
                "bytes_per_stream": round(d.size_diff / count),
                "where": [short(f) for f in list(d.traceback)[-6:]],
            }
            for d in largest
        ],
    }


def rss() -> int:
    return int(psutil.Process(os.getpid()).memory_info().rss)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    info = json.loads((OUT / f"{args.name}.json").read_text())
    settings = Settings(
        database_url=info["database_url"],
        secret_key=SECRET,
        data_dir=str(OUT / "data"),
        db_pool_min=10,
        db_pool_max=10,
        log_level="WARNING",
    )
    app = create_app(settings)
    path, cookie = f"/live/s/{info['slug']}", info["session_cookie"]
    result: dict[str, Any] = {"streams": args.streams}
    async with app.lifespan():
        hub: live.Hub = app.state.hub
        warm, warm_tasks = await open_streams(app, path, cookie, WARMUP, 1000)
        await settled(hub, WARMUP)
        await close_streams(warm, warm_tasks)
        del warm, warm_tasks
        gc.collect()
        await asyncio.sleep(0.2)
        if args.rss:
            rss_before, blocks_before = rss(), sys.getallocatedblocks()
        else:
            tracemalloc.start(args.frames)
            before = tracemalloc.take_snapshot()
        clients, tasks = await open_streams(app, path, cookie, args.streams, 2000)
        await settled(hub, args.streams)
        if args.rss:
            grown, blocks = rss() - rss_before, sys.getallocatedblocks() - blocks_before
            print(
                f"RSS: {grown / 1024 / args.streams:.1f} KiB per stream; pymalloc blocks "
                f"{blocks / args.streams:.1f} per stream"
            )
            result["rss_kib_per_stream"] = round(grown / 1024 / args.streams, 1)
            result["blocks_per_stream"] = round(blocks / args.streams, 1)
        else:
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            # Not the streams': the worker's background tasks (email, deadlines) at work.
            ignore = [
                tracemalloc.Filter(False, tracemalloc.__file__),
                *(tracemalloc.Filter(False, f"*/consentir/{name}", all_frames=True)
                  for name in ("mail.py", "tasks.py", "notifications/*")),
            ]  # fmt: skip
            diff = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "traceback")
            result["tracemalloc"] = report(diff, args.streams, args.top)
        await close_streams(clients, tasks)
        await asyncio.sleep(0.2)
        left = hub.streams
        print(f"\nclosed: {left} streams left in the hub")
        result["left_after_close"] = left
        if left:
            raise SystemExit("stream_memory.py: streams left subscribed after their clients left")
    return result


# --- the server's floor: granian and a bare app --------------------------------------------

HELLO = b"retry: 1000\n: connected\n\n"


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An endless event stream and nothing else (granian's ASGI interface)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": HELLO, "more_body": True})
    while (await receive())["type"] != "http.disconnect":
        pass


async def bare_rsgi(scope: Any, protocol: Any) -> None:
    """The same with granian's own interface (RSGI)."""
    headers = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
    transport = protocol.response_stream(200, headers)
    await transport.send_bytes(HELLO)
    await protocol.client_disconnect()


async def raw_stream(port: int, opened: asyncio.Event, leave: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /live/s/bench HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        b"Cache-Control: no-cache\r\n\r\n"
    )
    received = b""
    while b"connected" not in received:
        piece = await reader.read(4096)
        if not piece:
            raise SystemExit("stream_memory.py: the bare server closed a stream")
        received += piece
    opened.set()
    await leave.wait()
    writer.close()


def worker_rss(server: Any) -> int:
    return sum(
        int(p.memory_info().rss) for p in psutil.Process(server.pid).children(recursive=True)
    )


def server_floor(args: argparse.Namespace) -> dict[str, Any]:
    import socket
    import subprocess

    from consentir.cli import BACKLOG, CONCURRENT_PER_WORKER

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).parent / "granian"), "--interface", args.server,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws",
        "--backlog", str(BACKLOG), "--backpressure", str(CONCURRENT_PER_WORKER),
        "--log-level", "warning", "--working-dir", str(HERE), *args.granian.split(),
        f"stream_memory:bare_{args.server}",
    ]  # fmt: skip
    server = subprocess.Popen(command, start_new_session=True)
    try:
        before, after = asyncio.run(measure_server(server, port, args.streams))
    finally:
        server.terminate()
        server.wait(10)
    per_stream = (after - before) / 1024 / args.streams
    print(
        f"granian ({args.server} {args.granian}, bare app, 1 worker): RSS {before / 2**20:.1f} → "
        f"{after / 2**20:.1f} MiB, {per_stream:.1f} KiB per stream"
    )
    return {
        "server": args.server,
        "granian_options": args.granian,
        "streams": args.streams,
        "rss_kib_per_stream": round(per_stream, 1),
    }


async def measure_server(server: Any, port: int, count: int) -> tuple[int, int]:
    """The worker's RSS before and after `count` streams are opened (after a warm-up)."""
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit(f"stream_memory.py: granian exited ({server.returncode})")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)

    async def streams(count: int) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
        leave = asyncio.Event()
        opened = [asyncio.Event() for _ in range(count)]
        tasks = [asyncio.create_task(raw_stream(port, o, leave)) for o in opened]
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 60)
        return leave, tasks

    leave, tasks = await streams(WARMUP)
    leave.set()
    await asyncio.gather(*tasks)
    await asyncio.sleep(1.0)
    before = worker_rss(server)
    leave, tasks = await streams(count)
    await asyncio.sleep(2.0)
    after = worker_rss(server)
    leave.set()
    await asyncio.gather(*tasks)
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(description="Python-side memory per open live stream.")
    parser.add_argument("name", nargs="?", default="consentir_bench")
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--frames", type=int, default=30, help="tracemalloc traceback depth")
    parser.add_argument("--top", type=int, default=12, help="largest tracebacks shown")
    parser.add_argument("--rss", action="store_true", help="RSS only, without tracemalloc")
    parser.add_argument(
        "--server", choices=("asgi", "rsgi"), help="the server's floor: granian on a bare app"
    )
    parser.add_argument("--granian", default="", help="with --server: more granian options")
    parser.add_argument("--json", type=Path, help="also write the figures there")
    args = parser.parse_args()
    if not 1 <= args.streams <= 5000:
        raise SystemExit("stream_memory.py: --streams 1–5000")
    if args.server:
        result = server_floor(args)
    elif not (OUT / f"{args.name}.json").exists():
        raise SystemExit(f"stream_memory.py: {OUT / args.name}.json is missing (bench/generate.py)")
    else:
        result = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
