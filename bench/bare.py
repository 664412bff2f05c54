"""The yardstick: a bare Litestar + asyncpg + Jinja2 app on the same server stack as
Consentir (granian, ASGI, N worker processes), with one page that runs ONE query (the 20
newest decisions of the benchmark space) and renders a small template.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/consentir_bench \\
        .venv/bin/python bench/bare.py --port 8100 --workers 2

No middleware, no session, no CSRF, no access log: what is left is the floor cost of a
page on this stack, which the proposal page is compared with.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from jinja2 import DictLoader, Environment, select_autoescape
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Décisions — {{ space }}</title></head>
<body><main><h1>Les 20 dernières décisions</h1>
<table><thead><tr><th>Numéro</th><th>Titre</th><th>Adoptée le</th><th>Statut</th></tr></thead>
<tbody>
{% for d in rows %}<tr><td>{{ d.number }}</td><td>{{ d.title }}</td>
<td>{{ d.adopted_at.strftime("%d/%m/%Y") }}</td><td>{{ d.status }}</td></tr>
{% endfor %}</tbody></table></main></body></html>
"""

# The status is derived from decision_links (migration 0016), as the register reads it.
LATEST = """
SELECT d.number, d.title, d.adopted_at,
       CASE l.kind WHEN 'supersedes' THEN 'superseded' WHEN 'repeals' THEN 'repealed'
                   ELSE 'in_force' END AS status
FROM decisions d LEFT JOIN decision_links l ON l.target_id = d.id
WHERE d.space_id = (SELECT id FROM spaces WHERE slug = $1)
ORDER BY d.adopted_at DESC, d.id DESC
LIMIT 20
"""


@get("/")
async def latest(state: State) -> Template:
    async with state.pool.acquire() as conn:
        rows = await conn.fetch(LATEST, state.slug)
    context: dict[str, Any] = {"rows": rows, "space": state.slug}
    return Template("page.html", context=context)


@get("/healthz")
async def health() -> str:
    return "ok"


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


def create_app() -> Litestar:
    dsn = os.environ["DATABASE_URL"]
    slug = os.environ.get("BENCH_SLUG", "bench")

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        # Like Consentir's pool: 10 connections per worker, no reset round trip on release,
        # so the page costs exactly one round trip to PostgreSQL.
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10, reset=_no_reset)
        try:
            yield
        finally:
            await app.state.pool.close()

    env = Environment(loader=DictLoader({"page.html": PAGE}), autoescape=select_autoescape())
    return Litestar(
        route_handlers=[latest, health],
        lifespan=[database],
        state=State({"slug": slug}),
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
        logging_config=None,
    )


def main() -> int:
    from granian import Granian
    from granian.constants import Interfaces

    parser = argparse.ArgumentParser(description="The bare one-query page, served by granian.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        print("bare.py: set DATABASE_URL to the benchmark database", file=sys.stderr)
        return 2
    Granian(
        target="bare:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=args.host,
        port=args.port,
        workers=args.workers,
        working_dir=Path(__file__).resolve().parent,
        log_access=False,
        workers_kill_timeout=15,
    ).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
