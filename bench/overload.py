"""Beyond capacity: the proposal page under 300 and 1 500 connections, with and without the
in-flight limit (MAX_IN_FLIGHT), and what a lone user meanwhile waits.

For each setting (`--limits`, "off" = 10 000, i.e. never reached) it starts
`consentir serve --workers 2` on the data set of generate.py, then for each connection count
runs wrk (`--seconds`, after `--warmup`) on the proposal page while a lone user (one more
client, one request every 0.25 s, outside wrk) loads the same page, and reads the server's
own access log (LOG_LEVEL=INFO: status and duration of every request). Prints one table,
writes out/overload-<time>.json.

    .venv/bin/python bench/overload.py consentir_bench --limits off 100 --connections 300 1500
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from run import OUT, SECRET, VENV_BIN, free_port, settle, start, stop, wait_for_health

OFF = 10_000

# wrk: count the answers by status (503 apart), per thread, summed at the end.
LUA = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) ok = 0; shed = 0; other = 0; waits = 0 end
response = function(status, headers, body)
  if status == 200 then ok = ok + 1 elseif status == 503 then shed = shed + 1; waits = waits + 1
  else other = other + 1 end
end
done = function(summary, latency, requests)
  local o, s, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); s = s + t:get("shed"); x = x + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "ok": %d, "shed": %d, "other": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "p50": %d, "p99": %d, "max": %d}\\n',
    summary.requests, summary.duration, o, s, x, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""

# --polite: a client told 503 waits its Retry-After (1 s) before asking again, as a browser's
# person or a well-behaved API client does; without it, wrk asks again at once (worst case).
# wrk calls delay() before each request of a thread: each 503 makes one request wait.
POLITE = """
delay = function()
  if waits > 0 then waits = waits - 1; return 1000 end
  return 0
end
"""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def lone_user(url: str, cookie: str, stop_at: float, seen: list[tuple[int, float]]) -> None:
    """One person loading the page every 0.25 s: (status, seconds) of each load."""
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            try:
                status = client.get(url, headers={"Cookie": cookie}).status_code
            except httpx.HTTPError:
                status = 0
            seen.append((status, time.monotonic() - started))
            time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))


def access_log(log: Path, since: float, until: float) -> dict[int, list[float]]:
    """Server-side durations (ms) by status, of the requests logged within [since, until]."""
    found: dict[int, list[float]] = {}
    for line in log.read_text().splitlines():
        if '"consentir.access"' not in line:
            continue
        entry = json.loads(line)
        stamp = datetime.fromisoformat(entry["time"]).timestamp()
        if since <= stamp <= until:
            found.setdefault(entry["status"], []).append(entry["duration_ms"])
    return found


def run_wrk(url: str, cookie: str, connections: int, seconds: int, script: Path) -> dict[str, Any]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "15s",
               "-s", str(script), "-H", f"Cookie: {cookie}", url]  # fmt: skip

    def more_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))

    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False,
        preexec_fn=more_files,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"overload.py: wrk failed: {done.stderr.strip()}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    return dict(json.loads(line[len("BENCH ") :]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", default="consentir_bench")
    parser.add_argument("--limits", nargs="+", default=["off", "100"])
    parser.add_argument("--connections", nargs="+", type=int, default=[300, 1500])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--polite", action="store_true", help="clients honour Retry-After")
    args = parser.parse_args()
    if not (1 <= args.seconds <= 60) or shutil.which("wrk") is None:
        raise SystemExit("overload.py: --seconds must be 1–60, and wrk installed")
    info = json.loads((OUT / f"{args.name}.json").read_text())
    script = OUT / "overload.lua"
    script.write_text(LUA + (POLITE if args.polite else ""))
    rows: list[dict[str, Any]] = []
    for limit in args.limits:
        port, log = free_port(), OUT / f"overload-serve-{limit}.log"
        app = start(
            [str(VENV_BIN / "consentir"), "serve", "--workers", "2"],
            {"DATABASE_URL": info["database_url"], "SECRET_KEY": SECRET, "HOST": "127.0.0.1",
             "PORT": str(port), "DATA_DIR": str(OUT / "data"), "LOG_LEVEL": "INFO",
             "MAX_IN_FLIGHT": str(OFF if limit == "off" else int(limit))},
            log,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_health(base, app, "consentir serve")
            url = base + info["paths"]["proposal"]
            first = httpx.get(url, headers={"Cookie": info["session_cookie"]}, timeout=10)
            csrf = "; ".join(f"{k}={v}" for k, v in first.cookies.items())
            cookie = info["session_cookie"] + (f"; {csrf}" if csrf else "")
            for connections in args.connections:
                settle({"app": app})
                run_wrk(url, cookie, connections, args.warmup, script)
                settle({"app": app})
                seen: list[tuple[int, float]] = []
                started = time.time()
                probe = threading.Thread(
                    target=lone_user,
                    args=(url, cookie, time.monotonic() + args.seconds, seen),
                )
                probe.start()
                data = run_wrk(url, cookie, connections, args.seconds, script)
                probe.join()
                ended = time.time()
                settle({"app": app})
                server = access_log(log, started, ended)
                lone_ok = [s for status, s in seen if status == 200]
                lone_shed = [s for status, s in seen if status == 503]
                row = {
                    "limit": limit, "connections": connections,
                    "ok_per_s": data["ok"] / (data["duration_us"] / 1e6),
                    "shed": data["shed"], "other": data["other"],
                    "socket_errors": {k: data[k] for k in ("connect", "read", "write", "timeout")},
                    "wrk_p50_ms": data["p50"] / 1000, "wrk_p99_ms": data["p99"] / 1000,
                    "server_200_p50_ms": percentile(server.get(200, []), 50),
                    "server_200_p99_ms": percentile(server.get(200, []), 99),
                    "lone_loads": len(seen), "lone_200": len(lone_ok), "lone_503": len(lone_shed),
                    "lone_200_median_s": statistics.median(lone_ok) if lone_ok else None,
                    "lone_200_max_s": max(lone_ok) if lone_ok else None,
                    "lone_503_max_s": max(lone_shed) if lone_shed else None,
                }  # fmt: skip
                rows.append(row)
                print(json.dumps(row))
        finally:
            stop(app)
    print()
    print("| MAX_IN_FLIGHT | conn. | 200/s | 503 | other | wrk p50 / p99 ms | server 200 p50 / "
          "p99 ms | lone user: loads, 200 median / max s, 503 (max s) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        lone = (f"{r['lone_loads']}, {r['lone_200_median_s'] or float('nan'):.2f} / "
                f"{r['lone_200_max_s'] or float('nan'):.2f}, {r['lone_503']} "
                f"({r['lone_503_max_s'] or float('nan'):.2f})")  # fmt: skip
        print(
            f"| {r['limit']} | {r['connections']} | {r['ok_per_s']:.0f} | {r['shed']} | "
            f"{r['other'] + sum(r['socket_errors'].values())} | "
            f"{r['wrk_p50_ms']:.0f} / {r['wrk_p99_ms']:.0f} | "
            f"{r['server_200_p50_ms']:.0f} / {r['server_200_p99_ms']:.0f} | {lone} |"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = OUT / f"overload-{stamp}.json"
    target.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")
    print(f"\nwritten to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
