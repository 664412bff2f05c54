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
3. `consentir serve --workers 2` (run.py's helpers), and CLIENTS clients, one per
   participant, each posting its position (consent and concern in turn) as fast as the
   answers come, through `POST /api/v1/spaces/<slug>/proposals/<id>/steps/position` with an
   `Idempotency-Key` (as a phone would; `--no-key` leaves it out), for SECONDS after a
   warm-up; every 200 is a committed transaction (the step, its journal event and the
   key), checked at the end against the journal's rows;
4. pgbench again (the yardstick before and after: the machine may drift).

Prints both rates and the ratio (the API's rate / the mean of the two pgbench rates), the
API's latency, the CPU of the app, of PostgreSQL and of this client; writes
bench/out/writes-<time>.json. The tokens are revoked at the end; the proposal(s) stay in the
data set (closed: withdrawn), with their positions.
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
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
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


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)


def machine_busy() -> float:
    """CPU seconds the whole machine has spent not idle."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


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
    """Revoke the tokens, withdraw the proposals, drop the scratch table."""
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
            await conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    finally:
        await pool.close()


async def post_positions(
    info: dict[str, Any], port: int, prepared: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    base = f"http://{HOST}:{port}"
    slug = info["slug"]
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    durations: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    measuring = {"on": False, "stop": False}

    async def client_loop(n: int, http: httpx.AsyncClient) -> None:
        _, _, token = prepared["tokens"][n]
        proposal_id = prepared["proposals"][n % len(prepared["proposals"])]
        url = f"/api/v1/spaces/{slug}/proposals/{proposal_id}/steps/position"
        stance = "consent"
        while not measuring["stop"]:
            headers = {"authorization": f"Bearer {token}"}
            if not args.no_key:
                headers["idempotency-key"] = uuid.uuid4().hex
            body = {"stance": stance, "reason": "", "version": 1}
            sent = time.monotonic()
            try:
                answer = await http.post(url, json=body, headers=headers)
                status = str(answer.status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
            took = time.monotonic() - sent
            if measuring["on"] and not measuring["stop"]:
                statuses[status] = statuses.get(status, 0) + 1
                if status == "200":
                    durations.append(took * 1000)
                elif len(errors) < 5:
                    errors.append(status if status != "200" else "")
            if status == "200":
                stance = "concern" if stance == "consent" else "consent"

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        loops = [asyncio.create_task(client_loop(n, http)) for n in range(args.clients)]
        await asyncio.sleep(WARMUP_SECONDS)
        pool = await db.create_pool(info["database_url"], min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                first_id = int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM journal"))
            app, pg = tree_of(port), postgres_processes()
            app_before, pg_before = cpu_seconds(app), cpu_seconds(pg)
            client_before = time.process_time()
            measuring["on"] = True
            started = time.monotonic()
            await asyncio.sleep(args.seconds)
            measuring["stop"] = True
            wall = time.monotonic() - started
            app_after, pg_after = cpu_seconds(app), cpu_seconds(postgres_processes())
            client_cpu = time.process_time() - client_before
            await asyncio.gather(*loops, return_exceptions=True)
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
    ok = statuses.get("200", 0)
    durations.sort()
    return {
        "positions_ok": ok,
        "statuses": statuses,
        "first_errors": errors,
        "rate": round(ok / wall, 1),
        "latency_ms": {
            "p50": percentile(durations, 50),
            "p99": percentile(durations, 99),
            "max": percentile(durations, 100),
        },
        # Journal events of the proposals from the start of the measured window to the end
        # of the drain: at least the acknowledged positions (one event each).
        "journal_events_after_start": journal,
        "cores": {
            "app": round(sum(app_after[p] - app_before.get(p, 0.0) for p in app_after) / wall, 2),
            "postgres": round(sum(pg_after[p] - pg_before.get(p, 0.0) for p in pg_after) / wall, 2),
            "client": round(client_cpu / wall, 2),
        },
        "app_cpu_ms_per_position": round(
            sum(app_after[p] - app_before.get(p, 0.0) for p in app_after) * 1000 / max(ok, 1), 2
        ),
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
