"""The decision register's statement has two shapes (decisions/store.py): the register as it
stands (no filter; its following pages) and filtered. Both give what a plain reading of the
table gives, page after page, whatever the filters. PostgreSQL keeps one plan for the register
as it stands, the walk of its index (no planning at each call); a filtered page's plan made
without the values would read the whole table, so that on a register of some size a filtered
page is planned with its values (only they say how common a word is)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import asyncpg
import pytest

from consentir import db
from consentir.db import Connection
from consentir.decisions import store as decisions
from consentir.decisions.search import query_text
from consentir.decisions.store import DecisionRow, Filters
from consentir.spaces.store import Space
from tests.scenario import Scenario

COUNT = 3000
COMMON, RARE = "réunion", "apiculture"  # in a third of the decisions; in six


async def fill(pool: asyncpg.Pool, space_id: int, proposer_id: int, count: int) -> None:
    """`count` decisions of the space written straight into the tables: two by two adopted at
    the same instant (the cursor's tie-break by id), words, review dates and links (superseded,
    repealed) spread over them."""
    async with db.transaction(pool) as conn:
        prefix = await conn.fetchval("SELECT decision_prefix FROM spaces WHERE id = $1", space_id)
        ids = await conn.fetchval(
            """WITH p AS (
                   INSERT INTO proposals (space_id, proposer_id, title, stage, closed_at)
                   SELECT $1, $2, 'Décision ' || g, 'adopted', now()
                   FROM generate_series(1, $3) g RETURNING id, title)
               SELECT array_agg(id ORDER BY id) FROM p""",
            space_id,
            proposer_id,
            count,
        )
        await conn.execute(
            """INSERT INTO proposal_versions (proposal_id, number, title, driver, body, author_id)
               SELECT id, 1, title, 'Pourquoi', 'Texte', proposer_id FROM proposals
               WHERE id = ANY($1::bigint[])""",
            ids,
        )
        await conn.execute(
            """INSERT INTO decisions (space_id, proposal_id, version, year, seq, number, title,
                                      driver, body, adopted_at, review_on, search_text)
               SELECT $1, p.id, 1, 2020, n::integer, $2 || '-2020-' || lpad(n::text, 5, '0'),
                      'Décision ' || n, 'Pourquoi', repeat('Texte du registre. ', 70),
                      '2020-01-01'::timestamptz + (n / 2) * interval '7 hours',
                      '2020-06-01'::date + ((n * 37) % 2000)::integer,
                      'decision ' || n
                      || CASE WHEN n % 3 = 0 THEN ' une reunion par mois' ELSE '' END
                      || CASE WHEN n % 500 = 7 THEN ' apiculture urbaine' ELSE '' END
                      || CASE WHEN n % 7 = 0 THEN ' le budget' ELSE '' END
               FROM unnest($3::bigint[]) WITH ORDINALITY AS p (id, n)""",
            space_id,
            prefix,
            ids,
        )
        # Links: one decision in ten superseded by the next one, one in 31 repealed later.
        await conn.execute(
            """INSERT INTO decision_links (target_id, decision_id, space_id, kind)
               SELECT d.id, d.id + (CASE WHEN d.seq % 10 = 1 THEN 1 ELSE 3 END), d.space_id,
                      CASE WHEN d.seq % 10 = 1 THEN 'supersedes' ELSE 'repeals' END
               FROM decisions d
               WHERE d.space_id = $1 AND d.seq + 3 <= $2
                 AND (d.seq % 10 = 1 OR d.seq % 31 = 2)""",
            space_id,
            count,
        )
    async with pool.acquire() as conn:
        await conn.execute("ANALYZE decisions, decision_links, proposals")


@dataclass(frozen=True)
class Plain:
    """A decision as a plain reading of the table gives it, to filter in Python."""

    id: int
    number: str
    adopted_at: datetime
    review_on: date
    status: str


async def plain_reading(conn: Connection, space: Space) -> list[Plain]:
    rows = await conn.fetch(
        """SELECT d.id, d.number, d.adopted_at, d.review_on, st.status
           FROM decisions d JOIN decision_states st ON st.decision_id = d.id
           WHERE d.space_id = $1""",
        space.id,
    )
    everything = [Plain(**dict(r)) for r in rows]
    return sorted(everything, key=lambda p: (p.adopted_at, p.id), reverse=True)


async def matching(conn: Connection, space: Space, words: str) -> set[int]:
    found = await conn.fetch(
        "SELECT id FROM decisions WHERE space_id = $1 AND search @@ plainto_tsquery('french', $2)",
        space.id,
        query_text(words),
    )
    return {r["id"] for r in found}


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


async def every_page(
    conn: Connection, space: Space, filters: Filters, size: int, *, links: bool = True
) -> list[DecisionRow]:
    """Every row, page after page through the cursor; each page but the last one full."""
    seen: list[DecisionRow] = []
    cursor: str | None = None
    while True:
        page, cursor = await decisions.register(
            conn, space.id, filters, after=cursor, limit=size, full_text=True, links=links
        )
        seen += page
        if cursor is None:
            return seen
        assert len(page) == size


@pytest.fixture
async def filled(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> Space:
    await fill(pool, alpha.id, world.user_ids["admin"], COUNT)
    return alpha


async def test_every_filter_gives_what_a_plain_reading_gives_page_after_page(
    pool: asyncpg.Pool, filled: Space, world: Scenario
) -> None:
    alpha = filled
    async with pool.acquire() as conn:
        beta = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    await fill(pool, beta, world.user_ids["beta_owner"], 40)  # another space's: never shown
    async with pool.acquire() as conn:
        table = await plain_reading(conn, alpha)
        common, rare = await matching(conn, alpha, COMMON), await matching(conn, alpha, RARE)
        beta_ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM decisions WHERE space_id = $1", beta)]  # fmt: skip
    assert 900 < len(common) < 1100 and len(rare) == 6
    statuses = {p.status for p in table}
    assert statuses == {"in_force", "superseded", "repealed"}
    some = tuple(sorted(p.id for p in table[::97])) + tuple(beta_ids[:3])
    cases: dict[str, tuple[Filters, Callable[[Plain], bool]]] = {
        "none": (Filters(), lambda p: True),
        "blank words": (Filters(q="   "), lambda p: True),
        "common word": (Filters(q=COMMON), lambda p: p.id in common),
        "common word, no accent": (Filters(q="REUNION"), lambda p: p.id in common),
        "rare word": (Filters(q=RARE), lambda p: p.id in rare),
        "no such word": (Filters(q="xylophone"), lambda p: False),
        "only a stop word": (Filters(q="le"), lambda p: False),
        "in force": (Filters(status="in_force"), lambda p: p.status == "in_force"),
        "superseded": (Filters(status="superseded"), lambda p: p.status == "superseded"),
        "repealed": (Filters(status="repealed"), lambda p: p.status == "repealed"),
        "adopted from": (
            Filters(adopted_from=date(2021, 3, 1)),
            lambda p: p.adopted_at >= midnight(date(2021, 3, 1)),
        ),
        "adopted until": (
            Filters(adopted_to=date(2020, 2, 29)),
            lambda p: p.adopted_at < midnight(date(2020, 3, 1)),
        ),
        "review before": (
            Filters(review_before=date(2022, 1, 1)),
            lambda p: p.review_on < date(2022, 1, 1),
        ),
        "among": (Filters(among=some), lambda p: p.id in some),
        "among nothing": (Filters(among=()), lambda p: False),
        "common word, repealed, a period": (
            Filters(
                q=COMMON,
                status="repealed",
                adopted_from=date(2020, 2, 1),
                adopted_to=date(2021, 6, 30),
            ),
            lambda p: (
                p.id in common
                and p.status == "repealed"
                and midnight(date(2020, 2, 1)) <= p.adopted_at < midnight(date(2021, 7, 1))
            ),
        ),
        "in force among, review before": (
            Filters(status="in_force", among=some, review_before=date(2023, 1, 1)),
            lambda p: p.status == "in_force" and p.id in some and p.review_on < date(2023, 1, 1),
        ),
    }
    async with pool.acquire() as conn:
        for name, (filters, keep) in cases.items():
            expected = [p.number for p in table if keep(p)]
            for size in (7, 50):
                got = [row.number for row in await every_page(conn, alpha, filters, size)]
                assert got == expected, (name, size)
        assert len(await every_page(conn, alpha, Filters(), 50)) == COUNT


async def test_both_shapes_give_the_same_rows_links_and_texts(
    pool: asyncpg.Pool, filled: Space
) -> None:
    """The register as it stands, and filtered by a filter that keeps everything: the same
    rows, every column the same (links both ways, texts, status, reviewable)."""
    read: dict[bool, list[DecisionRow]] = {}
    async with pool.acquire() as conn:
        for links in (True, False):
            plain = await every_page(conn, filled, Filters(), 64, links=links)
            everything = Filters(adopted_from=date(2000, 1, 1))
            assert await every_page(conn, filled, everything, 64, links=links) == plain
            read[links] = plain
    assert len(read[True]) == COUNT and all(row.body.startswith("Texte") for row in read[True])
    by_number = {row.number: row for row in read[True]}
    for status, by, ended in (("superseded", "superseded_by", "supersedes"),
                              ("repealed", "repealed_by", "repeals")):  # fmt: skip
        rows = [row for row in read[True] if row.status == status]
        assert rows and not any(row.reviewable for row in rows)
        for row in rows:
            assert row.number in getattr(by_number[getattr(row, by)], ended), row
    assert not any(row.superseded_by or row.repealed_by or row.supersedes or row.repeals
                   for row in read[False])  # fmt: skip


async def plans(conn: Connection, statement: str) -> tuple[int, int]:
    """(generic, custom) plans PostgreSQL made for this connection's prepared `statement`."""
    row = await conn.fetchrow(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
        statement,
    )
    assert row is not None, "the statement is prepared on this connection"
    return row["generic_plans"], row["custom_plans"]


Node = dict[str, Any]


async def explain(conn: Connection, statement: str, mode: str, args: str) -> list[Node]:
    """The plan's main nodes, made without the values (mode "generic") or with them."""
    async with conn.transaction():
        await conn.execute(f"SET LOCAL plan_cache_mode = force_{mode}_plan")
        await conn.execute(f"PREPARE shape AS {statement}")
        explained = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE shape({args})")
        await conn.execute("DEALLOCATE shape")
    return walk(explained[0]["Plan"])


def walk(node: Node) -> list[Node]:
    """A plan's node and those under it (EXPLAIN's JSON), but not its sub-plans (the links
    of each row shown, read by their own keys)."""
    found = [node]
    for child in node.get("Plans", []):
        if child.get("Parent Relationship") not in ("SubPlan", "InitPlan"):
            found += walk(child)
    return found


def reads(nodes: list[Node]) -> set[tuple[str, str | None]]:
    """How the plan reads the register's decisions (alias d): (node type, index)."""
    return {
        (n["Node Type"], n.get("Index Name"))
        for n in nodes
        if n.get("Alias") == "d" or n.get("Index Name") == "decisions_search_idx"
    }


async def test_the_register_keeps_its_plan_and_a_filtered_page_is_planned_with_its_values(
    pool: asyncpg.Pool, filled: Space
) -> None:
    listing = decisions._register_sql(False, False, decisions.PAGE + 1)
    filtered = decisions._register_sql(True, False, decisions.PAGE + 1)
    space = f"{filled.id:d}, false, true"
    async with pool.acquire() as conn:
        for _ in range(8):
            page, cursor = await decisions.register(conn, filled.id, Filters(), links=True)
            assert len(page) == decisions.PAGE and cursor is not None
        generic, custom = await plans(conn, listing)
        assert generic >= 3 and custom <= 5, "the register's plan is kept after five runs"
        # That plan walks the register's index from the newest decision: no reading of the
        # whole table, no sort.
        kept = await explain(conn, listing, "generic", space)
        assert reads(kept) == {("Index Scan", "decisions_register_idx")}, kept
        assert not any(n["Node Type"] == "Sort" for n in kept), kept
        # Filtered: a plan made without the values has no index for the filters (the
        # whole table is read), so that, on a register of some size, PostgreSQL always
        # prefers the plans made with them, which use the right index for the words given.
        unknown = await explain(
            conn, filtered, "generic", f"{space}, '', '', NULL, NULL, NULL, NULL"
        )
        assert reads(unknown) == {("Seq Scan", None)}, unknown
        common = await explain(
            conn, filtered, "custom", f"{space}, 'reunion', '', NULL, NULL, NULL, NULL"
        )
        assert reads(common) == {("Index Scan", "decisions_register_idx")}, common
        rare = await explain(
            conn, filtered, "custom", f"{space}, 'apiculture', '', NULL, NULL, NULL, NULL"
        )
        assert ("Bitmap Index Scan", "decisions_search_idx") in reads(rare), rare
