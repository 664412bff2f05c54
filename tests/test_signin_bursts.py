"""Sign-in and reset limits under bursts, on a real server with two workers: an attempt is
counted before its password is checked, so no burst gets more than its budget evaluated, and
the right password sent once a burst has used the budget up is refused."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from consentir import db
from tests.helpers import TEST_SECRET, free_port, serve, stop, wait_for_health
from tests.scenario import PASSWORD, Scenario

WRONG = "not the password"


@pytest.fixture
def server(scenario_database: tuple[str, Scenario], tmp_path: Path) -> Iterator[str]:
    """`consentir serve` with two workers on a copy of the scenario database."""
    port = free_port()
    env = {
        "DATABASE_URL": scenario_database[0],
        "SECRET_KEY": TEST_SECRET,
        "DATA_DIR": str(tmp_path),
        "WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }
    process = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base
    finally:
        stop(process)


def burst_client(base: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(base_url=base, timeout=120, limits=limits)


async def csrf(client: httpx.AsyncClient) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', (await client.get("/signin")).text)
    assert match
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, token: str, email: str, password: str) -> int:
    data = {"email": email, "password": password, "_csrf_token": token}
    return (await client.post("/signin", data=data)).status_code


async def fetchval(url: str, sql: str, *args: object) -> object:
    conn = await db.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_a_burst_on_one_account_gets_five_evaluations_then_even_the_right_password_waits(
    server: str, scenario_database: tuple[str, Scenario]
) -> None:
    email = "member@example.org"
    url = scenario_database[0]
    signed_in = "SELECT count(*) FROM journal WHERE action = 'account.signed_in'"
    before = await fetchval(url, signed_in)
    async with burst_client(server) as client:
        token = await csrf(client)
        wrong = [asyncio.create_task(sign_in(client, token, email, WRONG)) for _ in range(20)]
        # The right password comes as soon as the burst has used the budget up (the first 429),
        # while the five attempts it let through are still being checked.
        for answered in asyncio.as_completed(wrong):
            if await answered == 429:
                break
        right = await sign_in(client, token, email, PASSWORD)
        statuses = await asyncio.gather(*wrong)
    assert sorted(statuses) == [400] * 5 + [429] * 15, statuses
    assert right == 429, "the right password signed in although the budget was used up"
    assert await fetchval(url, signed_in) == before
    blocked = "SELECT count(*) FROM journal WHERE action = 'account.sign_in_blocked'"
    assert await fetchval(url, blocked) == 1


async def test_a_burst_from_one_address_gets_thirty_evaluations(
    server: str, world: Scenario
) -> None:
    emails = [world.email(role) for role in world.user_ids]
    assert len(emails) == 8  # 8 accounts x 5 attempts: no account is over its own limit
    async with burst_client(server) as client:
        token = await csrf(client)
        statuses = await asyncio.gather(
            *(sign_in(client, token, email, WRONG) for email in emails for _ in range(5))
        )
    assert sorted(statuses) == [400] * 30 + [429] * 10, statuses


async def test_a_burst_of_reset_requests_sends_three_links(
    server: str, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    url = scenario_database[0]
    links = "SELECT count(*) FROM account_tokens WHERE purpose = 'reset_password' AND user_id = $1"
    before = await fetchval(url, links, world.user_ids["member"])
    async with burst_client(server) as client:
        token = await csrf(client)
        data = {"email": "member@example.org", "_csrf_token": token}
        responses = await asyncio.gather(
            *(client.post("/password/forgot", data=data) for _ in range(12))
        )
    assert sorted(r.status_code for r in responses) == [200] * 3 + [429] * 9
    deadline = time.monotonic() + 10
    while await fetchval(url, links, world.user_ids["member"]) != before + 3:  # type: ignore[operator]
        assert time.monotonic() < deadline, "the three links were not issued"
        await asyncio.sleep(0.1)


async def test_a_reset_request_answers_before_any_work_for_the_account(
    server: str, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    """A known address must not take longer to answer than an unknown one: the link is issued
    after the answer. Proved by holding a lock that blocks issuing it: the answer still comes."""
    url = scenario_database[0]
    links = "SELECT count(*) FROM account_tokens WHERE purpose = 'reset_password' AND user_id = $1"
    before = await fetchval(url, links, world.user_ids["member"])
    holder: asyncpg.Connection = await db.connect(url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("LOCK TABLE account_tokens IN EXCLUSIVE MODE")
        async with burst_client(server) as client:
            token = await csrf(client)
            data = {"email": "member@example.org", "_csrf_token": token}
            try:
                response = await client.post("/password/forgot", data=data, timeout=5)
            except httpx.ReadTimeout:
                pytest.fail("the answer for a known address waited for the link to be issued")
        assert response.status_code == 200
        await transaction.rollback()
    finally:
        await holder.close()
    deadline = time.monotonic() + 10
    while await fetchval(url, links, world.user_ids["member"]) != before + 1:  # type: ignore[operator]
        assert time.monotonic() < deadline, "the link was not issued once the lock was gone"
        await asyncio.sleep(0.1)
