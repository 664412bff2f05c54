"""Where a page's CPU time goes, in process, one request after another (no HTTP server, no
concurrency): the real app from create_app(), driven through its ASGI interface, with its
parts timed by wrapping them.

    .venv/bin/python bench/breakdown.py consentir_bench --requests 300

Prints, per page, the CPU milliseconds per request (time.process_time) and how much of it
was spent in: the session lookup, the space lookup, the page's own SQL (each including
asyncpg's decoding of the rows), the rules, Markdown, the Jinja rendering, and the rest
(Litestar, middleware, DI, response); also how many gettext and date-formatting calls one
page makes. The bare one-query page (bench/bare.py) is measured the same way for scale.
Times around awaited calls include whatever the event loop ran meanwhile; with one request
at a time that is the request itself.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SECRET = "bench-secret-key-long-enough-0123456789abcdef"

spent: defaultdict[str, float] = defaultdict(float)
calls: Counter[str] = Counter()


def timed(owner: Any, name: str, label: str) -> None:
    """Replace owner.name by a wrapper adding its CPU time to spent[label]."""
    original = getattr(owner, name)
    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await original(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - started

        setattr(owner, name, wrapped_async)
        return

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    setattr(owner, name, wrapped)


def counted(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls[label] += 1
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def instrument() -> None:
    """Wrap the parts of a page before the app is built (the template environment takes its
    filters when it is created)."""
    from consentir.accounts import store as accounts
    from consentir.consent import routes as consent_routes
    from consentir.consent import rules
    from consentir.consent import store as proposals
    from consentir.decisions import store as decisions
    from consentir.spaces import store as spaces
    from consentir.web import i18n

    timed(jinja2.Template, "render", "jinja render")
    timed(accounts, "user_from_session", "sql: session")
    timed(spaces, "space_view", "sql: space")
    timed(proposals, "load", "sql: proposal state")
    timed(proposals, "detail", "sql: proposal detail")
    timed(decisions, "register", "sql: register")
    timed(consent_routes, "render_markdown", "markdown")
    timed(rules, "allowed", "rules")
    counted(i18n, "gettext", "gettext")
    counted(i18n, "format_when", "format_when")
    counted(i18n, "format_day", "format_day")


Call = Callable[[], Awaitable[tuple[int, int]]]


def asgi_get(app: Any, target: str, cookie: str | None) -> Call:
    path, _, query = target.partition("?")
    headers = [(b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))

    async def call() -> tuple[int, int]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query.encode(), "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        status, size = 0, 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))

        await app(scope, receive, send)
        return status, size

    return call


async def per_request(call: Call, requests: int) -> tuple[float, int, int]:
    """CPU ms per request after a warm-up; resets the counters before the measured part."""
    status, size = 0, 0
    for _ in range(30):
        status, size = await call()
    spent.clear()
    calls.clear()
    started = time.process_time()
    for _ in range(requests):
        await call()
    return (time.process_time() - started) / requests * 1000, status, size


async def measure(info: dict[str, Any], pages: list[str], requests: int) -> None:
    from consentir.app import create_app
    from consentir.config import Settings

    settings = Settings(database_url=info["database_url"], secret_key=SECRET,
                        data_dir=str(OUT / "data"), log_level="WARNING")  # fmt: skip
    app = create_app(settings)
    # Like a browser after its first visit: the session and the CSRF cookie it was given.
    cookie = f"{info['session_cookie']}; csrftoken=bench"
    async with app.lifespan():
        for page in pages:
            total, status, size = await per_request(
                asgi_get(app, info["paths"][page], cookie), requests
            )
            print(f"\n{page}: {total:.2f} ms CPU per request (HTTP {status}, {size / 1024:.1f} KB)")
            parts = {label: seconds / requests * 1000 for label, seconds in spent.items()}
            for label, ms in sorted(parts.items(), key=lambda kv: -kv[1]):
                if ms >= 0.005:
                    print(f"  {label:22} {ms:6.2f} ms  {ms / total:4.0%}")
            rest = total - sum(parts.values())
            print(f"  {'rest (framework…)':22} {rest:6.2f} ms  {rest / total:4.0%}")
            print("  calls per page: " + ", ".join(
                f"{label} {count / requests:.0f}" for label, count in sorted(calls.items())
            ))  # fmt: skip


async def measure_bare(database_url: str, slug: str, requests: int) -> None:
    os.environ.setdefault("DATABASE_URL", database_url)
    os.environ.setdefault("BENCH_SLUG", slug)
    sys.path.insert(0, str(HERE))
    import bare

    app = bare.create_app()
    async with app.lifespan():
        total, status, size = await per_request(asgi_get(app, "/", None), requests)
    print(f"\nbare page: {total:.2f} ms CPU per request (HTTP {status}, {size / 1024:.1f} KB)")


def main() -> int:
    parser = argparse.ArgumentParser(description="Where a page's CPU time goes.")
    parser.add_argument("name", nargs="?", default="consentir_bench")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--page", nargs="*", default=["proposal", "search_common", "search_rare", "register"]
    )
    args = parser.parse_args()
    if not 1 <= args.requests <= 10_000:
        raise SystemExit("breakdown.py: --requests must be 1–10000")
    info_file = OUT / f"{args.name}.json"
    if not info_file.exists():
        raise SystemExit(f"breakdown.py: {info_file} is missing: run bench/generate.py first")
    info = json.loads(info_file.read_text())
    instrument()
    asyncio.run(measure(info, args.page, args.requests))
    asyncio.run(measure_bare(info["database_url"], info["slug"], args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
