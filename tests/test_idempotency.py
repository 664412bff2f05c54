"""A write sent twice happens once: every API write honours `Idempotency-Key`, every form
that creates something carries a key (a double click makes one row), and old keys are
purged."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import asyncpg

from consentir.web import idempotency
from tests.scenario import Scenario
from tests.web import Client, act_as, csrf_token

_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def bearer(world: Scenario, role: str, key: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {world.api_tokens[role]}"}
    if key is not None:
        headers["idempotency-key"] = key
    return headers


async def form_key(client: Client, url: str) -> str:
    """The idempotency key the form on the page at `url` carries."""
    page = await client.get(url)
    assert page.status_code == 200, page.text[-300:]
    match = _KEY.search(page.text)
    assert match, f"the form at {url} carries no idempotency key"
    return match.group(1)


async def count(pool: asyncpg.Pool, query: str, *args: object) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(query, *args))


async def test_ten_identical_invitations_at_once_make_one_invitation_and_one_email(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    body = {"email": "Nouvelle@example.org", "role": "member"}
    answers = await asyncio.gather(*(
        client.post("/api/v1/spaces/alpha/invitations", json=body,
                    headers=bearer(world, "admin", "invite-1"))
        for _ in range(10)
    ))  # fmt: skip
    assert [a.status_code for a in answers] == [201] * 10, answers[0].text
    assert all(a.json() == answers[0].json() for a in answers)
    assert answers[0].json() == {"email": "nouvelle@example.org", "role": "member",
                                 "space": "alpha"}  # fmt: skip
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 9
    invited = "SELECT count(*) FROM invitations WHERE email = 'nouvelle@example.org'"
    assert await count(pool, invited) == 1
    emails = "SELECT count(*) FROM outbox WHERE recipient = 'nouvelle@example.org'"
    assert await count(pool, emails) == 1

    # The same key for another invitation: refused, nothing sent.
    other = await client.post("/api/v1/spaces/alpha/invitations", json={"email": "x@example.org"},
                              headers=bearer(world, "admin", "invite-1"))  # fmt: skip
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert await count(pool, "SELECT count(*) FROM outbox WHERE recipient = 'x@example.org'") == 0


async def test_a_double_submitted_new_proposal_makes_one_draft(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "member")
    key = await form_key(client, "/s/alpha/proposals/new")
    data = {"title": "Vélos partagés", "driver": "Pourquoi", "body": "Quoi",
            "idempotency_key": key, "_csrf_token": await csrf_token(client)}  # fmt: skip
    first, second = await asyncio.gather(
        client.post("/s/alpha/proposals", data=data, follow_redirects=False),
        client.post("/s/alpha/proposals", data=data, follow_redirects=False),
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert re.fullmatch(r"/s/alpha/proposals/\d+", first.headers["location"])
    drafts = "SELECT count(*) FROM proposals WHERE title = 'Vélos partagés'"
    assert await count(pool, drafts) == 1

    # Back to the form, changed, sent again with the spent key: the form again, a new key.
    changed = await client.post("/s/alpha/proposals", data={**data, "title": "Autre"},
                                follow_redirects=False)  # fmt: skip
    assert changed.status_code == 422
    assert "idempotency" in changed.text.lower() or "clé" in changed.text.lower()
    fresh = _KEY.search(changed.text)
    assert fresh and fresh.group(1) != key
    assert await count(pool, "SELECT count(*) FROM proposals WHERE title = 'Autre'") == 0


async def test_a_double_submitted_meeting_plan_makes_one_meeting(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    key = await form_key(client, "/s/alpha/meetings/new")
    data = {"title": "Séance de mars", "starts_at": "2027-03-06T10:00", "idempotency_key": key,
            "_csrf_token": await csrf_token(client)}  # fmt: skip
    first, second = await asyncio.gather(
        client.post("/s/alpha/meetings", data=data, follow_redirects=False),
        client.post("/s/alpha/meetings", data=data, follow_redirects=False),
    )
    assert first.status_code == second.status_code == 303, first.text[-300:]
    assert first.headers["location"] == second.headers["location"]
    assert await count(pool, "SELECT count(*) FROM meetings WHERE title = 'Séance de mars'") == 1


async def test_a_double_submitted_invitation_form_sends_one_invitation(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "admin")
    key = await form_key(client, "/s/alpha/members")
    data = {"email": "double@example.org", "role": "member", "idempotency_key": key,
            "_csrf_token": await csrf_token(client)}  # fmt: skip
    for _ in range(2):
        sent = await client.post("/s/alpha/invitations", data=data, follow_redirects=False)
        assert sent.status_code == 303
    assert (
        await count(pool, "SELECT count(*) FROM invitations WHERE email = 'double@example.org'")
        == 1
    )
    assert (
        await count(pool, "SELECT count(*) FROM outbox WHERE recipient = 'double@example.org'") == 1
    )


async def test_a_replayed_step_answers_as_the_first_and_writes_the_key_once(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, query_log: list[str]
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    url = f"/api/v1/spaces/alpha/proposals/{world.proposal_id}/steps/ask"
    query_log.clear()
    first = await client.post(url, json={"text": "Où ?"}, headers=bearer(world, "target", "q1"))
    assert first.status_code == 200, first.text
    writes = [q for q in query_log if "idempotency_keys" in q]
    assert len(writes) == 1 and writes[0].lstrip().startswith("INSERT"), writes
    again = await client.post(url, json={"text": "Où ?"}, headers=bearer(world, "target", "q1"))
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await count(pool, "SELECT count(*) FROM questions WHERE text = 'Où ?'") == 1


async def test_the_purge_deletes_keys_older_than_48_hours_and_keeps_the_others(
    pool: asyncpg.Pool, world: Scenario
) -> None:
    now = datetime.now(UTC)
    user = world.user_ids["member"]
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO idempotency_keys (user_id, key, request, status, body, created_at)
               SELECT $1, 'old-' || n, '\\x00', 200, '', $2::timestamptz - n * interval '1 second'
               FROM generate_series(1, 2500) n""",
            user,
            now - timedelta(hours=49),
        )
        for key, age in (("recent-47h", 47), ("recent-1h", 1), ("now", 0)):
            await conn.execute(
                """INSERT INTO idempotency_keys (user_id, key, request, status, body, created_at)
                   VALUES ($1, $2, '\\x00', 200, '', $3)""",
                user,
                key,
                now - timedelta(hours=age),
            )
    assert await idempotency.purge(pool, now) == 2500  # in batches of 1 000
    async with pool.acquire() as conn:
        kept = {r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys")}
    assert {"recent-47h", "recent-1h", "now"} <= kept
    assert not any(key.startswith("old-") for key in kept)
    assert await idempotency.purge(pool, now) == 0
