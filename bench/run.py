"""Load-test Consentir against a bare Litestar page, in one run, on this machine.

    .venv/bin/python bench/run.py consentir_bench

Needs the database built by bench/generate.py (it reads bench/out/<name>.json) and `wrk`
(Debian: apt-get install wrk). Starts `consentir serve --workers 2` and bench/bare.py
(2 workers) on free loopback ports, then, for each scenario, a warm-up and a measured wrk
run of fixed duration, sampling the CPU time of the app, PostgreSQL and wrk meanwhile.
Before the load, the SQL statements of each page are counted once, in process, through
create_app's `on_query`. Prints a table and the targets met or missed; writes everything
to bench/out/results-<time>.json and the servers' logs to bench/out/*.log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
VENV_BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-long-enough-0123456789abcdef"
START_SECONDS = 60.0

LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50": %d, "p95": %d, "p99": %d, ' ..
    '"max": %d, "mean": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass
class Scenario:
    name: str
    server: str  # "app" or "bare"
    path: str
    connections: int
    cookie: bool = True


@dataclass
class Result:
    scenario: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_detail: dict[str, int]
    kb_per_response: float
    cpu: dict[str, float] = field(default_factory=dict)  # cores used, by whom


Check = tuple[str, bool, str]  # a target's label, met or not, the value measured


def write_report(prefix: str, stamp: str, report: dict[str, Any], checks: list[Check]) -> None:
    """The run's figures and its targets, met or not, into out/<prefix>-<stamp>.json."""
    report["targets"] = [
        {"target": label, "met": ok, "value": value} for label, ok, value in checks
    ]
    OUT.mkdir(exist_ok=True)
    target = OUT / f"{prefix}-{stamp}.json"
    target.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwritten to {target}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(base: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"run.py: {what} exited with status {process.returncode}; see its log")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"run.py: {what} did not answer {base}/healthz within {START_SECONDS:.0f} s")


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one below
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group this script started
        process.wait(5)


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seen = {}
    for proc in processes:
        try:
            times = proc.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seen[proc.pid] = times.user + times.system
    return seen


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_load(seconds: float = 3.0) -> float:
    """Cores busy on the machine, over `seconds`, before anything of ours runs."""
    before = psutil.cpu_times()
    time.sleep(seconds)
    after = psutil.cpu_times()
    return float(psutil.cpu_count() - (after.idle - before.idle) / seconds)


def wrk(url: str, connections: int, seconds: int, headers: list[str], script: Path) -> str:
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"run.py: wrk failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def settle(servers: dict[str, subprocess.Popen[bytes]], limit: float = 30.0) -> float:
    """Wait until both servers are idle: after wrk stops, they still answer the requests
    already queued (nobody reads those answers). Returns the seconds waited."""
    started = time.monotonic()
    procs = [p for proc in servers.values() for p in tree(proc.pid)]
    while time.monotonic() - started < limit:
        before = sum(cpu_seconds(procs).values())
        time.sleep(0.5)
        if sum(cpu_seconds(procs).values()) - before < 0.05:  # under 0.1 core
            break
    return time.monotonic() - started


def measure(
    scenario: Scenario,
    url: str,
    headers: list[str],
    script: Path,
    *,
    warmup: int,
    duration: int,
    servers: dict[str, subprocess.Popen[bytes]],
) -> Result:
    settle(servers)
    wrk(url, scenario.connections, warmup, headers, script)
    settle(servers)  # the measured run starts from empty queues
    groups = {name: tree(proc.pid) for name, proc in servers.items()}
    before = {name: cpu_seconds(procs) for name, procs in groups.items()}
    pg_before = cpu_seconds(postgres_processes())
    wrk_before = children_cpu()
    machine_before = psutil.cpu_times()
    started = time.monotonic()
    output = wrk(url, scenario.connections, duration, headers, script)
    wall = time.monotonic() - started
    machine_after = psutil.cpu_times()
    cpu: dict[str, float] = {}
    for name, procs in groups.items():
        after = cpu_seconds(procs)
        cpu[name] = sum(after[pid] - before[name].get(pid, 0.0) for pid in after) / wall
    pg_after = cpu_seconds(postgres_processes())
    cpu["postgres"] = sum(pg_after[pid] - pg_before.get(pid, 0.0) for pid in pg_after) / wall
    cpu["wrk"] = (children_cpu() - wrk_before) / wall
    idle = (machine_after.idle - machine_before.idle) / wall
    cpu["machine_busy"] = psutil.cpu_count() - idle
    cpu["server"] = cpu[scenario.server]
    # Anything else on the machine (other programs, the kernel's network work).
    cpu["other"] = cpu["machine_busy"] - cpu["app"] - cpu["bare"] - cpu["postgres"] - cpu["wrk"]
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[len("BENCH ") :])
    seconds = data["duration_us"] / 1e6
    errors = {k: data[k] for k in ("connect", "read", "write", "status", "timeout")}
    cpu["server_ms_per_request"] = cpu["server"] * seconds / max(1, data["requests"]) * 1000
    return Result(
        scenario=scenario.name,
        connections=scenario.connections,
        requests=data["requests"],
        rps=data["requests"] / seconds,
        p50_ms=data["p50"] / 1000,
        p95_ms=data["p95"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=data["max"] / 1000,
        errors=sum(errors.values()),
        error_detail=errors,
        kb_per_response=data["bytes"] / max(1, data["requests"]) / 1024,
        cpu={k: round(v, 2) for k, v in cpu.items()},
    )


async def count_statements(database_url: str, cookie: str, paths: dict[str, str]) -> dict[str, Any]:
    """Each page requested in process, through the real app with `on_query`: how many SQL
    statements it sends and how big it is (the app counts a request's statements only, not
    its background tasks')."""
    from litestar.testing import AsyncTestClient

    from consentir.app import create_app
    from consentir.config import Settings

    log: list[str] = []
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        data_dir=str(OUT / "data"),
        log_level="WARNING",
    )
    app = create_app(settings, on_query=log.append)
    found: dict[str, Any] = {}
    name, _, value = cookie.partition("=")
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        client.cookies.set(name, value)
        for key, path in paths.items():
            log.clear()
            response = await client.get(path)
            found[key] = {
                "statements": len(log),
                "status": response.status_code,
                "bytes": len(response.content),
                "sql": [" ".join(s.split())[:90] for s in log],
            }
    return found


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | conn. | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | KB/resp "
        "| server CPU ms/req | CPU cores: server / postgres / wrk / other |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        c = r.cpu
        lines.append(
            f"| {r.scenario} | {r.connections} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.max_ms:.0f} | {r.errors} | {r.kb_per_response:.1f} "
            f"| {c['server_ms_per_request']:.2f} | {c['server']:.2f} / {c['postgres']:.2f} "
            f"/ {c['wrk']:.2f} / {c['other']:.2f} |"
        )
    return "\n".join(lines)


def verdicts(results: list[Result], counts: dict[str, Any]) -> list[tuple[str, bool, str]]:
    by = {(r.scenario, r.connections): r for r in results}
    out: list[tuple[str, bool, str]] = []
    bare, page = by.get(("bare", 50)), by.get(("proposal", 50))
    if bare and page:
        ratio = page.rps / bare.rps
        out.append(("proposal ≥ 50 % of bare req/s (50 conn.)", ratio >= 0.5, f"{ratio:.0%}"))
    if page:
        out.append(("proposal ≥ 900 req/s (50 conn.)", page.rps >= 900, f"{page.rps:,.0f}"))
        out.append(("proposal p99 ≤ 100 ms (50 conn.)", page.p99_ms <= 100, f"{page.p99_ms:.1f}"))
        out.append(("proposal no errors (50 conn.)", page.errors == 0, str(page.errors)))
    crowd = by.get(("proposal", 200))
    if crowd:
        out.append(
            ("proposal p99 ≤ 600 ms (200 conn.)", crowd.p99_ms <= 600, f"{crowd.p99_ms:.1f}")
        )
        out.append(("proposal p99 ≤ 4 × p50 (200 conn., issue 14)",
                    crowd.p99_ms <= 4 * crowd.p50_ms,
                    f"{crowd.p99_ms:.1f} vs 4 × {crowd.p50_ms:.1f}"))  # fmt: skip
        out.append(("proposal no errors (200 conn.)", crowd.errors == 0, str(crowd.errors)))
    for name in ("search common", "search rare"):
        found = by.get((name, 50))
        if found:
            out.append((f"{name} p95 < 50 ms", found.p95_ms < 50, f"{found.p95_ms:.1f}"))
    # Issue 14: the register's page and common-word search at 1 M decisions.
    for name in ("search common", "register"):
        found = by.get((name, 50))
        if found and bare:
            ratio = found.rps / bare.rps
            out.append((f"{name} ≥ 50 % of bare req/s (50 conn.)", ratio >= 0.5, f"{ratio:.0%}"))
            out.append((f"{name} p99 ≤ 100 ms (50 conn.)", found.p99_ms <= 100,
                        f"{found.p99_ms:.1f}"))  # fmt: skip
    for name in ("search common", "register"):
        alone = by.get((name, 1))
        if alone:
            out.append((f"{name} alone p99 ≤ 10 ms", alone.p99_ms <= 10, f"{alone.p99_ms:.1f}"))
    small, large = by.get(("proposal", 1)), by.get(("proposal large", 1))
    if small and large:
        times = large.cpu["server_ms_per_request"] / max(small.cpu["server_ms_per_request"], 1e-9)
        out.append(("1 000-contribution page CPU/req ≤ 1.5× the 155 one", times <= 1.5,
                    f"{times:.2f}×"))  # fmt: skip
    if "proposal" in counts:
        n = counts["proposal"]["statements"]
        out.append(("SQL statements per proposal page ≤ 6", n <= 6, str(n)))
        # (in process, on the app's first connection: cold; tests/test_statement_budget.py
        # counts every main page warm and cold)
        out.append(("SQL statements per proposal page ≤ 5 (issue 14)", n <= 5, str(n)))
        size = counts["proposal"]["bytes"] / 1024
        out.append(("proposal page HTML ≤ 100 KB", size <= 100, f"{size:.1f} KB"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="Load-test Consentir against a bare page.")
    parser.add_argument(
        "name", nargs="?", default="consentir_bench", help="the database generate.py built"
    )
    parser.add_argument("--duration", type=int, default=15, help="seconds measured per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--log-level", default="INFO", help="the app's LOG_LEVEL (default INFO)")
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    args = parser.parse_args()
    if not (1 <= args.duration <= 120 and 0 <= args.warmup <= 30):
        raise SystemExit("run.py: --duration must be 1–120 s and --warmup 0–30 s")
    if shutil.which("wrk") is None:
        raise SystemExit("run.py: wrk is not installed (Debian: apt-get install wrk)")
    info_file = OUT / f"{args.name}.json"
    if not info_file.exists():
        raise SystemExit(f"run.py: {info_file} is missing: run bench/generate.py {args.name}")
    info = json.loads(info_file.read_text())
    database_url, paths = info["database_url"], info["paths"]

    background = machine_load()
    print(f"machine: {psutil.cpu_count()} CPUs, {background:.2f} cores busy before the run")
    if background > 0.25:
        print(
            "  WARNING: something else is using the CPU; the figures will be lower than "
            "on a quiet machine (see the 'other' column)"
        )
    print("counting SQL statements per page (in process, outside the load)…")
    counts = asyncio.run(
        count_statements(
            database_url,
            info["session_cookie"],
            {
                "proposal": paths["proposal"],
                "search_common": paths["search_common"],
                "search_rare": paths["search_rare"],
                "register": paths["register"],
                **(
                    {"proposal_large": paths["proposal_large"]} if "proposal_large" in paths else {}
                ),
            },
        )
    )
    for key, found in counts.items():
        print(
            f"  {key}: {found['statements']} statements, HTTP {found['status']}, "
            f"{found['bytes'] / 1024:.1f} KB"
        )
        for sql in found["sql"]:
            print(f"      {sql}")

    app_port, bare_port = free_port(), free_port()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    app = start(
        [str(VENV_BIN / "consentir"), "serve", "--workers", str(args.workers)],
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(app_port),
            "DATA_DIR": str(OUT / "data"),
            "LOG_LEVEL": args.log_level,
        },
        OUT / "consentir-serve.log",
    )
    bare = start(
        [
            sys.executable,
            str(HERE / "bare.py"),
            "--port",
            str(bare_port),
            "--workers",
            str(args.workers),
        ],
        {
            "DATABASE_URL": database_url,
            "BENCH_SLUG": info["slug"],
            "LITESTAR_WARN_SYNC_TO_THREAD_WITH_ASYNC": "0",
        },
        OUT / "bare.log",
    )
    results: list[Result] = []
    try:
        app_base, bare_base = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
        wait_for_health(app_base, app, "consentir serve")
        wait_for_health(bare_base, bare, "bare.py")
        # A browser sends back the CSRF cookie it was given; do the same.
        first = httpx.get(app_base + paths["proposal"], headers={"Cookie": info["session_cookie"]})
        if first.status_code != 200 or "proposal-title" not in first.text:
            raise SystemExit(f"run.py: the proposal page answered {first.status_code}")
        csrf = "; ".join(f"{k}={v}" for k, v in first.cookies.items())
        cookie = info["session_cookie"] + (f"; {csrf}" if csrf else "")
        scenarios = [
            Scenario("bare", "bare", "/", 50, cookie=False),
            Scenario("proposal", "app", paths["proposal"], 50),
            Scenario("proposal", "app", paths["proposal"], 200),
            Scenario("search common", "app", paths["search_common"], 50),
            Scenario("search rare", "app", paths["search_rare"], 50),
            Scenario("register", "app", paths["register"], 50),
            # The proposal with 1 000 contributions (generate.py --contributions): its CPU per
            # request against the 155-contribution page's (target ≤ 1.5×).
            *(
                [Scenario("proposal large", "app", paths["proposal_large"], 50)]
                if "proposal_large" in paths
                else []
            ),
            # One connection: the service time of one request, without queueing.
            Scenario("proposal", "app", paths["proposal"], 1),
            Scenario("search common", "app", paths["search_common"], 1),
            Scenario("search rare", "app", paths["search_rare"], 1),
            Scenario("register", "app", paths["register"], 1),
            *(
                [Scenario("proposal large", "app", paths["proposal_large"], 1)]
                if "proposal_large" in paths
                else []
            ),
        ]
        script = OUT / "report.lua"
        script.write_text(LUA)
        servers = {"app": app, "bare": bare}
        for scenario in scenarios:
            if args.only and scenario.name not in args.only:
                continue
            base = app_base if scenario.server == "app" else bare_base
            check = httpx.get(base + scenario.path, headers={"Cookie": cookie}, timeout=10)
            if check.status_code != 200:
                raise SystemExit(f"run.py: {scenario.path} answered {check.status_code}")
            headers = [f"Cookie: {cookie}"] if scenario.cookie else []
            result = measure(
                scenario,
                base + scenario.path,
                headers,
                script,
                warmup=args.warmup,
                duration=args.duration,
                servers=servers,
            )
            results.append(result)
            print(
                f"  {scenario.name} @{scenario.connections}: {result.rps:,.0f} req/s, "
                f"p50 {result.p50_ms:.1f} p95 {result.p95_ms:.1f} p99 {result.p99_ms:.1f} ms, "
                f"{result.errors} errors, CPU {result.cpu}"
            )
        settle(servers)  # stopping with requests in flight makes the app log errors
    finally:
        stop(app)
        stop(bare)

    print()
    print(table(results))
    print()
    checks = verdicts(results, counts)
    for label, ok, value in checks:
        print(f"  {'MET   ' if ok else 'MISSED'} {label}: {value}")
    report = {
        "when": stamp,
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "busy_cores_before": round(background, 2),
        },
        "settings": {
            "duration": args.duration,
            "warmup": args.warmup,
            "workers": args.workers,
            "log_level": args.log_level,
        },
        "database": {
            k: info[k]
            for k in ("database", "slug", "proposal_id", "contributions", "decisions", "words")
        },
        "statements": counts,
        "results": [asdict(r) for r in results],
    }
    write_report("results", stamp, report, checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
