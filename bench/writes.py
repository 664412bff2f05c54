"""Durable writes: positions submitted through the JSON API by 50 clients in one space,
against PostgreSQL's own rate for a one-row INSERT transaction with 50 clients (pgbench),
on the same server, in the same run.

    .venv/bin/python bench/writes.py consentir_bench --clients 50 --seconds 15

Needs the database built by bench/generate.py (it reads bench/out/<name>.json). Then:

1. pgbench, `-c CLIENTS -j 2 -T SECONDS -M prepared -n`, a custom script of one statement
   (`INSERT INTO bench_pgbench_insert (user_id, stance) VALUES (:client_id, 'consent')`, each
   an autocommitted transaction: one durable commit) on a scratch table of the bench
   database, created here and dropped at the end;
2. a fresh proposal of the bench space (`--proposals`, default 1), taken through the real
   process to its object round (so the positions change nothing the other benchmarks read),
   and API tokens for CLIENTS of its participants (created in the database);
3. `consentir serve --workers 2` (run.py's helpers), and wrk with CLIENTS connections (a
   client in C, as pgbench is: an HTTP client in Python took as much CPU per position as
   the app), the participants' positions taken in turn (consent and concern), as fast as
   the answers come, through `POST /api/v1/spaces/<slug>/proposals/<id>/steps/position`
   with an `Idempotency-Key` each (as a phone would; `--no-key` leaves it out), for
   SECONDS after a warm-up; every 200 is a committed transaction (the step, its journal
   event and the key), checked at the end against the journal's rows;
4. pgbench again (the yardstick before and after: the machine may drift).

Prints both rates and the ratio (the API's rate / the mean of the two pgbench rates), the
API's latency (wrk's, of every answer), the CPU of the app, of PostgreSQL and of wrk; writes
bench/out/writes-<time>.json. The tokens are revoked at the end; the proposal(s) stay in the
data set (closed: withdrawn), with their positions and journal events, not the notifications
they caused (deleted: every page counts the viewer's unread ones). PostgreSQL's CPU is that of the
backends serving the app's connections and of its background processes (WAL writer,
checkpointer…), not of other clients' backends, so that a machine shared with other work
does not inflate it.

`--sample` also shows where the writes spend their time: pg_stat_activity, read every few
milliseconds during the measured window for the app's connections only, gives the mean
number of them in each state (running a statement, waiting for a lock, or idle in
transaction after a statement: waiting for the app to send the next one). A lock's waiters
and what its holders do while they hold it tell which lock limits, and what to shorten.
The sampler costs a little CPU: compare rates without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from consentir import db
from consentir.accounts import store as accounts
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.rules import Actor
from consentir.consent.store import Content
from consentir.spaces import store as spaces
from run import (
    OUT,
    SECRET,
    VENV_BIN,
    children_cpu,
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
TOKEN_NAME = "bench-writes"
SCRATCH = "bench_pgbench_insert"
PGBENCH_SCRIPT = f"INSERT INTO {SCRATCH} (user_id, stance) VALUES (:client_id, 'consent');\n"
WARMUP_SECONDS = 2.0


def machine_busy() -> float:
    """CPU seconds the whole machine has spent not idle."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def app_ports(app: list[psutil.Process], port: int = 5432) -> set[int]:
    """The local ports of the app's connections to PostgreSQL (pg_stat_activity's
    client_port)."""
    ports: set[int] = set()
    for proc in app:
        try:
            connections = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        ports.update(c.laddr.port for c in connections if c.raddr and c.raddr.port == port)
    return ports


async def app_backends(conn: Any, ports: set[int]) -> list[int]:
    """The pids of the backends serving these client ports."""
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])", sorted(ports)
    )
    return [int(r["pid"]) for r in rows]


def postgres_of_app(backends: list[int]) -> list[psutil.Process]:
    """The app's backends and PostgreSQL's own processes (no other client's backend)."""
    found = []
    for proc in postgres_processes():
        try:
            title = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if proc.pid in backends or not re.search(r"\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]", title):
            found.append(proc)
    return found


_ACTIVITY = """
SELECT a.state, a.wait_event_type, a.wait_event,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 72) AS statement
FROM pg_stat_activity a WHERE a.client_port = ANY($1::int[])
"""


async def sample_activity(
    database_url: str, ports: set[int], stop: asyncio.Event, every: float = 0.005
) -> dict[str, Any]:
    """Until `stop`: how many of the app's connections are in each state, on average."""
    conn = await db.connect(database_url)
    counts: dict[str, int] = {}
    samples = 0
    try:
        while not stop.is_set():
            for row in await conn.fetch(_ACTIVITY, sorted(ports)):
                if row["state"] == "idle":
                    key = "idle (in the pool)"
                elif row["state"] == "idle in transaction":
                    key = f"app's turn, after: {row['statement']}"
                elif row["wait_event_type"] in (None, "Client"):
                    key = f"running: {row['statement']}"
                else:
                    key = f"{row['wait_event_type']}:{row['wait_event']}: {row['statement']}"
                counts[key] = counts.get(key, 0) + 1
            samples += 1
            await asyncio.sleep(every)
    finally:
        await conn.close()
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return {
        "samples": samples,
        "connections": len(ports),
        "mean_connections": {k: round(v / max(samples, 1), 3) for k, v in ordered},
    }


# --- pgbench, the yardstick -----------------------------------------------------------------


def pgbench(database_url: str, clients: int, seconds: int) -> dict[str, Any]:
    """One pgbench run of the one-row INSERT script; its transactions per second."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT)
    try:
        command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2",
                   "-T", str(seconds), "-f", script.name, database_url]  # fmt: skip
        # pgbench's backends start and end within the run: the machine's busy time instead.
        busy_before = machine_busy()
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
        wall = time.monotonic() - started
        busy_after = machine_busy()
    finally:
        Path(script.name).unlink()
    if done.returncode != 0:
        raise SystemExit(f"writes.py: pgbench failed: {done.stderr.strip()[-500:]}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if tps is None:
        raise SystemExit(f"writes.py: no tps in pgbench's output:\n{done.stdout}")
    return {
        "command": " ".join([*command[:-1], "<bench database>"]),
        "tps": float(tps.group(1)),
        "latency_ms_mean": float(latency.group(1)) if latency else None,
        "failed": int(failed.group(1)) if failed else 0,
        "machine_cores": round((busy_after - busy_before) / wall, 2),
    }


# --- the API side ---------------------------------------------------------------------------


async def prepare(info: dict[str, Any], clients: int, count: int) -> dict[str, Any]:
    """`count` fresh proposals in their object round; tokens for `clients` participants."""
    pool = await db.create_pool(info["database_url"], min_size=1, max_size=2)
    try:
        async with db.transaction(pool) as conn:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SCRATCH} (id bigserial PRIMARY KEY,"
                " user_id bigint NOT NULL, stance text NOT NULL,"
                " created_at timestamptz NOT NULL DEFAULT now())"
            )
            space = await spaces.space_by_id(
                conn, await conn.fetchval("SELECT id FROM spaces WHERE slug = $1", info["slug"])
            )
            members = await conn.fetch(
                "SELECT m.user_id, m.role FROM memberships m WHERE m.space_id = $1"
                " ORDER BY m.user_id",
                space.id,
            )
        ids = [int(r["user_id"]) for r in members]
        facilitator = next(int(r["user_id"]) for r in members if r["role"] == "facilitator")
        proposer_id = ids[2]
        voters = [i for i in ids if i not in (facilitator, proposer_id)][:clients]
        if len(voters) < clients:
            raise SystemExit(f"writes.py: only {len(voters)} participants for {clients} clients")
        proposer = Actor(proposer_id, may_participate=True, may_facilitate=False)
        chair = Actor(facilitator, may_participate=True, may_facilitate=True)
        made = []
        for n in range(count):
            content = Content(
                title=f"Banc d'écriture {n + 1}",
                driver="Mesurer les écritures durables.",
                body="Chaque position est un engagement durable.",
            )
            async with db.transaction(pool) as conn:
                proposal_id = await proposals.create(conn, space, proposer, content)
            for actor, action in (
                (proposer, rules.Submit(frozenset())),
                (chair, rules.Advance(frozenset())),
                (chair, rules.Advance(frozenset())),
            ):
                async with db.transaction(pool) as conn:
                    await proposals.act(conn, space, proposal_id, actor, action, None)
            made.append(proposal_id)
        tokens = []
        for user_id in voters:
            async with db.transaction(pool) as conn:
                token_id, token = await accounts.create_api_token(conn, user_id, TOKEN_NAME)
            tokens.append((user_id, token_id, token))
        return {"space_id": space.id, "proposals": made, "tokens": tokens,
                "facilitator": facilitator, "proposer": proposer_id}  # fmt: skip
    finally:
        await pool.close()


async def finish(info: dict[str, Any], prepared: dict[str, Any]) -> None:
    """Revoke the tokens, withdraw the proposals, delete the notifications they caused (the
    members' unread counts, which every page shows, stay those of the data set), drop the
    scratch table."""
    pool = await db.create_pool(info["database_url"], min_size=1, max_size=2)
    try:
        for user_id, token_id, _ in prepared.get("tokens", []):
            async with db.transaction(pool) as conn:
                await accounts.revoke_api_token(conn, user_id, token_id)
        async with pool.acquire() as conn:
            space = await spaces.space_by_id(
                conn, await conn.fetchval("SELECT id FROM spaces WHERE slug = $1", info["slug"])
            )
        proposer = Actor(prepared["proposer"], may_participate=True, may_facilitate=False)
        for proposal_id in prepared.get("proposals", []):
            try:
                async with db.transaction(pool) as conn:
                    await proposals.act(conn, space, proposal_id, proposer, rules.Withdraw(), None)
            except Exception as error:  # the data set stays usable either way
                print(f"writes.py: proposal {proposal_id} not withdrawn: {error}")
        async with pool.acquire() as conn:
            await conn.execute(
                "DELETE FROM notifications WHERE space_id = $1"
                " AND split_part(link, '#', 1) = ANY($2::text[])",
                space.id,
                [f"/s/{space.slug}/proposals/{p}" for p in prepared.get("proposals", [])],
            )
            await conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    finally:
        await pool.close()


# wrk's script: each thread sends, in turn, the positions of its share of the participants
# (participant n: the thread n modulo the threads' count), each on its proposal (n modulo
# the proposals' count), consent and concern in turn, each with a key of its own; it counts
# the answers by status. `done` prints one line of JSON.
LUA = """
local tokens = {%(tokens)s}
local proposals = {%(proposals)s}
local slug, tag, keyed = "%(slug)s", "%(tag)s", %(keyed)s
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses, mine, turn, sent = {}, {}, {}, 0
  local count = tonumber(args[1])
  for n = id, #tokens - 1, count do table.insert(mine, n) end
end

function request()
  sent = sent + 1
  local n = mine[(sent - 1) %% #mine + 1]
  turn[n] = (turn[n] or 0) + 1
  local stance = turn[n] %% 2 == 1 and "consent" or "concern"
  local headers = {["Authorization"] = "Bearer " .. tokens[n + 1],
                   ["Content-Type"] = "application/json"}
  if keyed then headers["Idempotency-Key"] = tag .. "-" .. id .. "-" .. sent end
  local path = "/api/v1/spaces/" .. slug .. "/proposals/" .. proposals[n %% #proposals + 1]
               .. "/steps/position"
  return wrk.format("POST", path, headers,
                    '{"stance": "' .. stance .. '", "reason": "", "version": 1}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counted = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counted[status] = (counted[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counted) do
    table.insert(parts, string.format('"%%d": %%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"duration_us": %%d, "statuses": {%%s}, "socket_errors": %%d, ' ..
    '"p50": %%d, "p99": %%d, "max": %%d}\\n',
    summary.duration, table.concat(parts, ", "), e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_script(slug: str, prepared: dict[str, Any], tag: str, *, keyed: bool) -> str:
    return LUA % {
        "tokens": ", ".join(json.dumps(token) for _, _, token in prepared["tokens"]),
        "proposals": ", ".join(str(p) for p in prepared["proposals"]),
        "slug": slug,
        "tag": tag,
        "keyed": "true" if keyed else "false",
    }


async def run_wrk(url: str, clients: int, seconds: float, script: Path) -> dict[str, Any]:
    """One wrk run (2 threads, one connection per client); what its `done` printed."""
    threads = min(2, clients)
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{round(seconds)}s", "--timeout", "30s",
               "-s", str(script), url, "--", str(threads)]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await process.communicate()
    line = next((x for x in out.decode().splitlines() if x.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        problem = (err or out).decode().strip()[-500:]
        raise SystemExit(f"writes.py: wrk failed ({process.returncode}): {problem}")
    found: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    return found


async def post_positions(
    info: dict[str, Any], port: int, prepared: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """CLIENTS connections posting positions as fast as the answers come (wrk: a client in
    C, so that the load generator takes little of the machine, as pgbench's own does): a
    warm-up, then the measured run."""
    url = f"http://{HOST}:{port}"
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    with tempfile.TemporaryDirectory() as folder:  # (the tokens: removed at the end)
        warm_up, measured = Path(folder) / "warm-up.lua", Path(folder) / "measured.lua"
        for script, tag in ((warm_up, "w"), (measured, "m")):
            script.write_text(lua_script(info["slug"], prepared, f"{tag}{stamp}",
                                         keyed=not args.no_key))  # fmt: skip
        await run_wrk(url, args.clients, WARMUP_SECONDS, warm_up)
        pool = await db.create_pool(info["database_url"], min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                first_id = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM journal"))
                app = tree_of(port)
                ports = app_ports(app)
                pg = postgres_of_app(await app_backends(conn, ports))
            app_before, pg_before = cpu_seconds(app), cpu_seconds(pg)
            client_before = children_cpu()
            stop_sampling = asyncio.Event()
            sampling = (
                asyncio.create_task(sample_activity(info["database_url"], ports, stop_sampling))
                if args.sample
                else None
            )
            started = time.monotonic()
            found = await run_wrk(url, args.clients, args.seconds, measured)
            wall = time.monotonic() - started
            app_after, pg_after = cpu_seconds(app), cpu_seconds(pg)
            client_cpu = children_cpu() - client_before
            stop_sampling.set()
            activity = await sampling if sampling is not None else None
            async with pool.acquire() as conn:
                journal = int(
                    await conn.fetchval(
                        "SELECT count(*) FROM journal WHERE id > $1 AND subject_type = 'proposal'"
                        " AND subject_id = ANY($2::bigint[])",
                        first_id,
                        prepared["proposals"],
                    )
                )
        finally:
            await pool.close()
    statuses: dict[str, int] = found["statuses"]
    if found["socket_errors"]:
        statuses["socket errors"] = found["socket_errors"]
    ok = statuses.get("200", 0)
    measured_seconds = found["duration_us"] / 1e6
    app_seconds = sum(app_after[p] - app_before.get(p, 0.0) for p in app_after)
    return {
        "positions_ok": ok,
        "statuses": statuses,
        "rate": round(ok / measured_seconds, 1),
        "latency_ms": {key: round(found[key] / 1000, 2) for key in ("p50", "p99", "max")},
        # Journal events of the proposals written from the start of the measured run: at
        # least the acknowledged positions (one event each).
        "journal_events_after_start": journal,
        "cores": {
            "app": round(app_seconds / wall, 2),
            "postgres": round(sum(pg_after[p] - pg_before.get(p, 0.0) for p in pg_after) / wall, 2),
            "client": round(client_cpu / wall, 2),
        },
        "activity": activity,
        "app_cpu_ms_per_position": round(app_seconds * 1000 / max(ok, 1), 2),
    }


SERVER: dict[str, subprocess.Popen[bytes]] = {}


def tree_of(port: int) -> list[psutil.Process]:
    return tree(SERVER[str(port)].pid)


def main() -> int:
    parser = argparse.ArgumentParser(description="Durable positions through the API vs pgbench.")
    parser.add_argument("name", nargs="?", default="consentir_bench")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=15, help="each measured run")
    parser.add_argument("--proposals", type=int, default=1, help="spread the clients over K")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-key", action="store_true", help="no Idempotency-Key header")
    parser.add_argument(
        "--sample", action="store_true", help="show where the app's connections spend their time"
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 55 and 1 <= args.seconds <= 300 and 1 <= args.proposals <= 50):
        raise SystemExit("writes.py: --clients 1–55, --seconds 1–300, --proposals 1–50")
    info_file = OUT / f"{args.name}.json"
    if not info_file.exists():
        raise SystemExit(f"writes.py: {info_file} is missing: run bench/generate.py {args.name}")
    info = json.loads(info_file.read_text())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    busy = psutil.cpu_percent(interval=1.0) / 100 * (psutil.cpu_count() or 1)
    print(f"machine: {psutil.cpu_count()} CPUs, {busy:.2f} cores busy")

    prepared: dict[str, Any] = {}
    port = free_port()
    server: subprocess.Popen[bytes] | None = None
    try:
        prepared = asyncio.run(prepare(info, args.clients, args.proposals))
        print(f"  proposals {prepared['proposals']} in their object round; "
              f"{len(prepared['tokens'])} API tokens")  # fmt: skip
        before = pgbench(info["database_url"], args.clients, args.seconds)
        print(f"  pgbench (before): {before['tps']:.0f} tps")
        server = start(
            [str(VENV_BIN / "consentir"), "serve", "--workers", str(args.workers)],
            {
                "DATABASE_URL": info["database_url"],
                "SECRET_KEY": SECRET,
                "HOST": HOST,
                "PORT": str(port),
                "DATA_DIR": str(OUT / "data"),
                "LOG_LEVEL": "WARNING",
            },
            OUT / "writes-serve.log",
        )
        SERVER[str(port)] = server
        wait_for_health(f"http://{HOST}:{port}", server, "consentir serve")
        api = asyncio.run(post_positions(info, port, prepared, args))
        print(f"  API: {api['rate']:.0f} positions/s, statuses {api['statuses']}")
        stop(server)
        server = None
        after = pgbench(info["database_url"], args.clients, args.seconds)
        print(f"  pgbench (after): {after['tps']:.0f} tps")
    finally:
        if server is not None:
            stop(server)
        if prepared:
            asyncio.run(finish(info, prepared))

    yardstick = (before["tps"] + after["tps"]) / 2
    ratio = api["rate"] / yardstick if yardstick else 0.0
    lat = api["latency_ms"]
    print()
    print("| what | rate/s | p50 ms | p99 ms | app cores | PostgreSQL cores | client cores |")
    # (pgbench's row: the whole machine's busy cores, its backends being gone at the end)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| pgbench one-row INSERT, {args.clients} clients (before / after) "
          f"| {before['tps']:.0f} / {after['tps']:.0f} | | | | "
          f"machine {before['machine_cores']:.2f} / {after['machine_cores']:.2f} | |")  # fmt: skip
    print(f"| positions through the API, {args.clients} clients, {args.proposals} proposal(s) "
          f"| {api['rate']:.0f} | {lat['p50']:.1f} | {lat['p99']:.1f} | {api['cores']['app']:.2f} "
          f"| {api['cores']['postgres']:.2f} | {api['cores']['client']:.2f} |")  # fmt: skip
    errors = sum(v for k, v in api["statuses"].items() if k != "200")
    durable = api["journal_events_after_start"] >= api["positions_ok"]
    checks = [
        ("API ≥ 50 % of pgbench's rate", ratio >= 0.5, f"{ratio:.0%}"),
        ("no error answers", errors == 0, str(errors)),
        ("every acknowledged position has its journal event", durable,
         f"{api['journal_events_after_start']} events, {api['positions_ok']} acknowledged"),
    ]  # fmt: skip
    print()
    for label, ok, value in checks:
        print(f"  {'MET   ' if ok else 'MISSED'} {label}: {value}")
    print(f"  app CPU per position: {api['app_cpu_ms_per_position']:.2f} ms")
    if api["activity"]:
        activity = api["activity"]
        print(f"\n  the app's {activity['connections']} connections, mean number in each state "
              f"({activity['samples']} samples):")  # fmt: skip
        for key, mean in list(activity["mean_connections"].items())[:20]:
            print(f"  {mean:6.2f}  {key}")
    report = {
        "when": stamp,
        "machine": {"cpus": psutil.cpu_count(), "busy_cores_before": round(busy, 2)},
        "settings": vars(args),
        "pgbench": {"before": before, "after": after, "script": PGBENCH_SCRIPT.strip()},
        "api": api,
        "ratio": round(ratio, 3),
    }
    write_report("writes", stamp, report, checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
