"""The decision register's SQL alone, timed through asyncpg as the app runs it: the store's
`register()` (prepared statements, asyncpg's statement cache, so PostgreSQL's plan cache
decides between custom and generic plans as it does in the app), one connection, one call
at a time, the cases taken in turn so that every statement sees the mix the app sends.

    .venv/bin/python bench/register_sql.py consentir_bench --runs 300

Prints p50/p95/p99 (ms, wall clock, rows decoded included) per case; the mean CPU time per
call of the PostgreSQL backend serving the connection (from /proc/<pid>/schedstat: the server
must run on this machine; this one hardly depends on how busy the machine is) and of this
process; and for each prepared statement how many custom and generic plans PostgreSQL made
(pg_prepared_statements).

    .venv/bin/python bench/register_sql.py consentir_bench --pages --runs 300

The register's pages instead (first page, common word, rare word, second page), one request
at a time through the real app in process (bench/breakdown.py's ASGI driver, no HTTP
server): wall-clock p50/p95/p99 of the whole page, and of its register() call within it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from consentir import db
from consentir.decisions import store as decisions
from consentir.decisions.store import Filters

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def on_cpu_ms(pid: int) -> float:
    """How long the process `pid` has run on a CPU, in ms (0 when it cannot be read)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(database_url: str, runs: int, links: bool) -> None:
    conn = await db.connect(database_url)
    try:
        space_id = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'bench'")
        first, cursor = await decisions.register(conn, space_id, Filters(), links=links)
        assert cursor is not None and first
        # A role's decisions (the `among` filter): a few hundred spread over the register.
        among = tuple(
            await conn.fetchval(
                "SELECT array_agg(id) FROM (SELECT id FROM decisions WHERE space_id = $1"
                " AND id % 2500 = 7) s",
                space_id,
            )
        )
        cases: dict[str, tuple[Filters, str | None]] = {
            "first page": (Filters(), None),
            "common word (réunion)": (Filters(q="réunion"), None),
            "rare word (apiculture)": (Filters(q="apiculture"), None),
            "second page (cursor)": (Filters(), cursor),
            "status in force": (Filters(status="in_force"), None),
            "status superseded": (Filters(status="superseded"), None),
            "status repealed": (Filters(status="repealed"), None),
            "common word, repealed": (Filters(q="réunion", status="repealed"), None),
            "adopted in a year": (
                Filters(adopted_from=first[-1].adopted_at.date().replace(month=1, day=1)),
                None,
            ),
            "among (a role's)": (Filters(among=among), None),
        }

        def call_of(filters: Filters, after: str | None) -> Callable[[], Awaitable[Any]]:
            return lambda: decisions.register(conn, space_id, filters, after=after, links=links)

        calls = {name: call_of(filters, after) for name, (filters, after) in cases.items()}
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        samples: dict[str, list[float]] = {name: [] for name in cases}
        server: dict[str, float] = dict.fromkeys(cases, 0.0)
        client: dict[str, float] = dict.fromkeys(cases, 0.0)
        for _ in range(10):  # warm-up: caches, and past the plan cache's first five
            for call in calls.values():
                await call()
        for _ in range(runs):
            for name, call in calls.items():
                cpu, own = on_cpu_ms(backend), time.process_time()
                started = time.perf_counter()
                await call()
                samples[name].append((time.perf_counter() - started) * 1000)
                server[name] += on_cpu_ms(backend) - cpu
                client[name] += (time.process_time() - own) * 1000
        print(f"{runs} calls each, links={links}, one connection, cases in turn (ms):")
        print(
            f"  {'case':26} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
            f"   {'CPU: server':>11} {'client':>6}"
        )
        for name, values in samples.items():
            print(
                f"  {name:26} {statistics.median(values):7.2f} {percentile(values, 0.95):7.2f}"
                f" {percentile(values, 0.99):7.2f} {max(values):7.2f}"
                f"   {server[name] / runs:11.3f} {client[name] / runs:6.3f}"
            )
        plans = await conn.fetch(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " ORDER BY statement"
        )
        print("plans PostgreSQL made per statement of the register (generic / custom):")
        for plan in plans:
            text = plan["statement"]
            if "JOIN decision_states st" not in text or "pg_prepared_statements" in text:
                continue
            shape = "filtered" if "plainto_tsquery" in text else "as it stands"
            page = "following page" if "(d.adopted_at, d.id) < (" in text else "first page"
            limit = text.rsplit("LIMIT", 1)[-1].strip()
            print(
                f"  {plan['generic_plans']:6} / {plan['custom_plans']:6}"
                f"  {shape}, {page}, LIMIT {limit}"
            )
    finally:
        await conn.close()


async def measure_pages(info: dict[str, Any], runs: int) -> None:
    sys.path.insert(0, str(HERE))
    from breakdown import SECRET, asgi_get
    from consentir.app import create_app
    from consentir.config import Settings

    sql: list[float] = []
    original = decisions.register

    async def register(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            sql.append((time.perf_counter() - started) * 1000)

    decisions.register = register
    settings = Settings(database_url=info["database_url"], secret_key=SECRET,
                        data_dir=str(OUT / "data"), log_level="WARNING")  # fmt: skip
    app = create_app(settings)
    cookie = f"{info['session_cookie']}; csrftoken=bench"
    paths = info["paths"]
    async with app.lifespan():
        pages = {
            "first page": paths["register"],
            "common word": paths["search_common"],
            "rare word": paths["search_rare"],
        }
        async with app.state.pool.acquire() as conn:
            space_id = await conn.fetchval("SELECT id FROM spaces WHERE slug = $1", info["slug"])
            _, cursor = await original(conn, space_id, Filters())
        # The second page: the first page's "next" link.
        pages["second page"] = f"{paths['register']}?{urlencode({'after': cursor})}"
        calls = {name: asgi_get(app, path, cookie) for name, path in pages.items()}
        whole: dict[str, list[float]] = {name: [] for name in pages}
        inner: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(20):
            for call in calls.values():
                status, _size = await call()
                assert status == 200, status
        for _ in range(runs):
            for name, call in calls.items():
                sql.clear()
                started = time.perf_counter()
                await call()
                whole[name].append((time.perf_counter() - started) * 1000)
                inner[name].append(sum(sql))
    print(f"{runs} requests each, in process, one at a time, pages in turn (ms, wall clock):")
    print(f"  {'page':14} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}   register() p50 p95 p99")
    for name, values in whole.items():
        print(
            f"  {name:14} {statistics.median(values):7.2f} {percentile(values, 0.95):7.2f}"
            f" {percentile(values, 0.99):7.2f} {max(values):7.2f}   "
            f"{statistics.median(inner[name]):6.2f} {percentile(inner[name], 0.95):6.2f}"
            f" {percentile(inner[name], 0.99):6.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="The register's SQL, timed.")
    parser.add_argument("name", nargs="?", default="consentir_bench")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--no-links", action="store_true", help="as the API asks (no links)")
    parser.add_argument("--pages", action="store_true", help="the pages, in process")
    args = parser.parse_args()
    if not 1 <= args.runs <= 10_000:
        raise SystemExit("register_sql.py: --runs must be 1–10000")
    info_file = OUT / f"{args.name}.json"
    if not info_file.exists():
        raise SystemExit(f"register_sql.py: {info_file} is missing: run bench/generate.py first")
    info = json.loads(info_file.read_text())
    if args.pages:
        asyncio.run(measure_pages(info, args.runs))
    else:
        asyncio.run(measure(info["database_url"], args.runs, not args.no_links))
    return 0


if __name__ == "__main__":
    sys.exit(main())
