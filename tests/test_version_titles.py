"""A proposal's title belongs to its versions (issue 10, section 1): a new version may retitle
it; the decision, the register, its search and exports take the adopted version's title."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from consentir import db, migrations
from consentir.consent import rules
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.spaces.store import Space
from tests.process import act, person, to_object_round
from tests.scenario import Scenario
from tests.web import Client, act_as, post_step

FIRST = Content(title="Réponse sous huit jours", driver="Les mails restent sans réponse.",
                body="Répondre **sous huit jours**.")  # fmt: skip


async def test_a_new_version_retitles_and_the_decision_takes_its_title(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    pid = await to_object_round(pool, alpha, world, FIRST)
    url = f"/s/alpha/proposals/{pid}"
    act_as(client, world, "member")  # the proposer: the form offers the current title
    page = (await client.get(url)).text
    assert 'name="title" maxlength="200" required value="Réponse sous huit jours"' in page
    published = await post_step(client, url, "publish", {
        "title": "Réponse sous quinze jours", "driver": FIRST.driver,
        "body": "Répondre **sous quinze jours**.", "note": "Huit jours : trop court."})  # fmt: skip
    assert published.status_code == 303, published.text[:2000]
    async with pool.acquire() as conn:
        titles = await conn.fetch(
            "SELECT number, title FROM proposal_versions WHERE proposal_id = $1 ORDER BY number",
            pid,
        )
    assert [(r["number"], r["title"]) for r in titles] == [
        (1, "Réponse sous huit jours"), (2, "Réponse sous quinze jours")]  # fmt: skip
    page = (await client.get(url)).text
    assert "Réponse sous quinze jours" in page and 'data-mark="retitled"' in page

    for role in ("admin", "facilitator", "target"):
        who = person(world, role)
        await act(pool, alpha, pid, who, rules.GivePosition(who.user_id, Stance.CONSENT, 2))
    await act(pool, alpha, pid, person(world, "facilitator"), rules.CloseRound(datetime.now(UTC)))
    async with pool.acquire() as conn:
        number, title = await conn.fetchrow(
            "SELECT number, title FROM decisions WHERE proposal_id = $1", pid
        )
    assert title == "Réponse sous quinze jours"
    register = (await client.get("/s/alpha/decisions")).text
    assert "Réponse sous quinze jours" in register and "sous huit jours" not in register
    found = (await client.get("/s/alpha/decisions", params={"q": "quinze"})).text
    assert number in found
    decision = (await client.get(f"/s/alpha/decisions/{number}")).text
    assert "Réponse sous quinze jours" in decision
    exported = await client.get("/s/alpha/decisions/export", params={"format": "json"})
    assert "Réponse sous quinze jours" in exported.text


async def test_the_api_publish_step_takes_a_title(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """Left out, the new version keeps the current title; given, it retitles."""
    client, world = client_world
    pid = await to_object_round(pool, alpha, world, FIRST)
    api = f"/api/v1/spaces/alpha/proposals/{pid}"
    headers = {"authorization": f"Bearer {world.api_tokens['member']}"}

    async def publish(**extra: str) -> dict[str, object]:
        revision = (await client.get(api, headers=headers)).json()["revision"]
        body = {"driver": FIRST.driver, "body": "Autrement.", "revision": revision, **extra}
        answer = await client.post(f"{api}/steps/publish", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    assert (await publish())["title"] == "Réponse sous huit jours"
    retitled = await publish(title="Réponse sous dix jours")
    assert retitled["title"] == "Réponse sous dix jours"
    assert [v["title"] for v in retitled["versions"]] == [  # type: ignore[union-attr]
        "Réponse sous huit jours", "Réponse sous huit jours", "Réponse sous dix jours"]  # fmt: skip
    two_lines = {"driver": "D", "body": "B", "revision": retitled["revision"],
                 "title": "Deux\nlignes"}  # fmt: skip
    refused = await client.post(f"{api}/steps/publish", headers=headers, json=two_lines)
    assert refused.status_code == 422


async def test_existing_versions_take_their_proposals_title(
    empty_database: str, tmp_path: Path
) -> None:
    """The migration gives every existing version its proposal's title (published versions
    otherwise never change)."""
    before = tmp_path / "before"
    before.mkdir()
    for path in migrations.default_directory().glob("*.sql"):
        if path.name < "0009":
            shutil.copy(path, before / path.name)
    conn = await db.connect(empty_database)
    try:
        await migrations.migrate(conn, before)
        user = await conn.fetchval(
            "INSERT INTO users (email, name, password_hash) VALUES ('a@b.c', 'A', 'x') RETURNING id"
        )
        space = await conn.fetchval(
            "INSERT INTO spaces (slug, name, kind, decision_prefix)"
            " VALUES ('sp', 'S', 'collective', 'SP') RETURNING id"
        )
        proposal = await conn.fetchval(
            "INSERT INTO proposals (space_id, proposer_id, title, stage) VALUES ($1, $2, 'Vélos',"
            " 'draft') RETURNING id",
            space,
            user,
        )
        await conn.execute(
            "INSERT INTO proposal_versions (proposal_id, number, driver, body, author_id)"
            " VALUES ($1, 1, 'D', 'B', $2), ($1, 2, 'D', 'B2', $2)",
            proposal,
            user,
        )
        await conn.execute("UPDATE proposals SET stage = 'clarify', version = 2 WHERE id = $1",
                           proposal)  # fmt: skip
        await migrations.migrate(conn)
        titles = await conn.fetch(
            "SELECT title FROM proposal_versions WHERE proposal_id = $1 ORDER BY number", proposal
        )
        assert [r["title"] for r in titles] == ["Vélos", "Vélos"]
    finally:
        await conn.close()
