"""The sign-in limit holds across processes: it is counted in PostgreSQL, not in memory."""

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from consentir import db, ratelimit
from tests.helpers import TEST_SECRET, free_port, serve, stop, wait_for_health


@pytest.fixture
def two_servers(database: str, tmp_path: Path) -> Iterator[list[str]]:
    env = {"DATABASE_URL": database, "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path)}
    ports = [free_port(), free_port()]
    processes = [serve(env, port) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base, process in zip(bases, processes, strict=True):
            wait_for_health(base, process)
        yield bases
    finally:
        for process in processes:
            stop(process)


def attempt(client: httpx.Client, base: str) -> int:
    page = client.get(f"{base}/signin")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        f"{base}/signin",
        data={"email": "ada@example.org", "password": "wrong", "_csrf_token": token.group(1)},
    )
    return response.status_code


def test_failed_sign_ins_are_counted_across_two_processes(two_servers: list[str]) -> None:
    limit = 5
    with httpx.Client(timeout=10) as client:
        # Alternate between the two processes: neither sees more than three attempts itself.
        statuses = [attempt(client, two_servers[n % 2]) for n in range(limit + 2)]
    assert statuses[:limit] == [400] * limit
    assert statuses[limit:] == [429, 429], statuses


async def test_counts_start_again_in_a_new_window(conn: asyncpg.Connection) -> None:
    limit = ratelimit.Limit("test", max_hits=2, window_seconds=60)
    taken = [(await ratelimit.take(conn, (limit, "Ada@Example.org"))).granted for _ in range(3)]
    assert taken == [True, True, False]
    assert (await ratelimit.peek(conn, limit, "ada@example.org")).reached
    await conn.execute("UPDATE rate_limits SET window_start = window_start - interval '2 minutes'")
    fresh = await ratelimit.peek(conn, limit, "ada@example.org")
    assert fresh.hits == 0 and not fresh.reached
    assert (await ratelimit.take(conn, (limit, "ada@example.org"))).granted
    assert await ratelimit.prune(conn, older_than_seconds=60) == 1


async def test_concurrent_takes_never_pass_the_limit(database: str) -> None:
    """Twenty takes on ten connections at once: exactly five granted, as many as the limit."""
    limit = ratelimit.Limit("test", max_hits=5, window_seconds=60)
    pool = await db.create_pool(database, min_size=10, max_size=10)
    try:

        async def take() -> ratelimit.Reservation:
            async with pool.acquire() as conn:
                return await ratelimit.take(conn, (limit, "ada@example.org"))

        results = await asyncio.gather(*(take() for _ in range(20)))
    finally:
        await pool.close()
    granted = [r for r in results if r.granted]
    assert sorted(r.counts[0].hits for r in granted) == [1, 2, 3, 4, 5]
    assert [r.counts[0].hits for r in results if not r.granted] == [5] * 15
    assert all(0 < r.retry_after <= 60 for r in results)


async def test_a_refused_take_leaves_every_counter_as_it_was(conn: asyncpg.Connection) -> None:
    account = ratelimit.Limit("account", max_hits=5, window_seconds=60)
    address = ratelimit.Limit("address", max_hits=1, window_seconds=60)
    first = await ratelimit.take(conn, (account, "ada@example.org"), (address, "10.0.0.1"))
    assert first.granted and first.last_allowed  # the address's only attempt
    second = await ratelimit.take(conn, (account, "ada@example.org"), (address, "10.0.0.1"))
    assert not second.granted
    assert (await ratelimit.peek(conn, account, "ada@example.org")).hits == 1
    await ratelimit.give_back(conn, first)
    assert (await ratelimit.peek(conn, account, "ada@example.org")).hits == 0
    assert (await ratelimit.peek(conn, address, "10.0.0.1")).hits == 0
    third = await ratelimit.take(conn, (account, "Ada@Example.org"), (address, "10.0.0.1"))
    assert third.granted and not any(c.hits > 1 for c in third.counts)
