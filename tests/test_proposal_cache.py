"""The proposal page's shared fragments (web/fragments.py), rendered once and served many
times: after every step of the process, every kind of viewer gets the page the app renders
with the cache off, never another person's; the cache holds no form, CSRF token or personal
line; two apps (two workers) on one database never serve a stale fragment."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from consentir import db
from consentir.mandates import store as mandates
from consentir.spaces.store import Space
from consentir.web.fragments import FragmentCache
from tests.causes_setup import draft_scenario, open_choice, planned_cause
from tests.scenario import Scenario
from tests.test_elections_web import PRESIDENCY, describe
from tests.web import Client, act_as, csrf_token, post_form, post_step

TEST_SECRET = "x" * 40
NEW = {"title": "Réunions mensuelles", "driver": "Nous nous voyons trop peu.",
       "body": "Une **réunion** chaque premier lundi du mois."}  # fmt: skip
# Every kind of viewer: the proposer, a member, a facilitator, an admin, someone signed in
# who has not signed the charter, someone outside the space, nobody.
VIEWERS = ("member", "target", "facilitator", "admin", "unsigned", "outsider", "anonymous")
_KEY = re.compile(r'name="idempotency_key" value="[^"]*"')
_REQUEST = re.compile(r'request-id">[0-9a-f]+<')


def cache_of(app: Litestar) -> FragmentCache:
    engine = app.template_engine
    assert engine is not None
    cache = engine.engine.globals["fragment_cache"]  # type: ignore[attr-defined]
    assert isinstance(cache, FragmentCache)
    return cache


def same(html: str) -> str:
    """The page without what differs between two renderings for one person (the forms'
    fresh idempotency keys, an error page's request id)."""
    html = _KEY.sub('name="idempotency_key" value=""', html)
    return _REQUEST.sub("", html)


async def check_every_viewer(client: Client, app: Litestar, world: Scenario, url: str) -> int:
    """Every viewer's page, cached (twice: rendered, then served from the cache) and with the
    cache off, is the same; no cached fragment holds a form, a token or a personal line.
    Returns how many fragments were served from the cache."""
    cache = cache_of(app)
    hits = cache.hits
    for viewer in VIEWERS:
        act_as(client, world, viewer)
        token = await csrf_token(client) if viewer != "anonymous" else None
        cache.enabled = True
        first = await client.get(url)
        second = await client.get(url)
        cache.enabled = False
        reference = await client.get(url)
        cache.enabled = True
        assert first.status_code == second.status_code == reference.status_code, viewer
        assert same(first.text) == same(reference.text), f"{viewer}: first rendering differs"
        assert same(second.text) == same(reference.text), f"{viewer}: cached page differs"
        for html in cache._entries.values():
            assert "<form" not in html and "_csrf_token" not in html
            assert "idempotency_key" not in html
            assert token is None or token not in html
            for personal in ('data-mark="my-nomination"', 'data-mark="you-are-proposed"',
                             "Vous avez répondu", "Ce que vous pouvez faire"):  # fmt: skip
                assert personal not in html
    return cache.hits - hits


async def step(
    client: Client, world: Scenario, role: str, url: str, verb: str, **data: Any
) -> None:
    act_as(client, world, role)
    response = await post_step(client, url, verb, data)
    assert response.status_code == 303, (
        verb,
        role,
        re.findall(r'role="alert">(.*?)<', response.text),
    )


async def objection_id(pool: asyncpg.Pool, url: str) -> int:
    proposal_id = int(url.rsplit("/", 1)[1])
    found = await pool.fetchval(
        "SELECT max(id) FROM objections WHERE proposal_id = $1", proposal_id
    )
    assert found is not None
    return int(found)


async def question_id(pool: asyncpg.Pool, url: str) -> int:
    proposal_id = int(url.rsplit("/", 1)[1])
    return int(await pool.fetchval("SELECT max(id) FROM questions WHERE proposal_id = $1",
                                   proposal_id))  # fmt: skip


async def drafted(client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space,
                  hide: bool) -> str:  # fmt: skip
    """A new draft of the member's in alpha, whose positions are hidden or not: its URL."""
    await pool.execute("UPDATE spaces SET hide_positions = $1 WHERE id = $2", hide, alpha.id)
    act_as(client, world, "member")
    created = await post_form(client, "/s/alpha/proposals", NEW)
    assert created.status_code == 303, created.text
    return str(created.headers["location"])


async def take(
    client: Client, world: Scenario, pool: asyncpg.Pool, url: str, role: str, verb: str,
    data: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """One step of a walk through the process: "?o" and "?q" stand for the proposal's last
    objection and question; what was sent."""
    data = dict(data)
    for field, value in data.items():
        if value == "?o":
            data[field] = str(await objection_id(pool, url))
        elif value == "?q":
            data[field] = str(await question_id(pool, url))
    await step(client, world, role, url, verb, **data)
    return data


@pytest.mark.parametrize("hide", [True, False], ids=["positions-hidden", "positions-shown"])
async def test_every_step_every_viewer_the_cached_page_is_the_fresh_one(
    two_apps: tuple[Client, Litestar, Client, Litestar],
    world: Scenario,
    pool: asyncpg.Pool,
    alpha: Space,
    hide: bool,
) -> None:
    client, app, other, other_app = two_apps
    url = await drafted(client, world, pool, alpha, hide)
    hits = await check_every_viewer(client, app, world, url)  # the draft
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("member", "submit", {}),
        ("target", "ask", {"text": "Quel lundi exactement ?"}),
        ("member", "answer", {"text": "Le premier du mois.", "question_id": "?q"}),
        ("facilitator", "advance", {}),  # reactions
        ("target", "react", {"text": "Bonne idée."}),
        ("facilitator", "advance", {}),  # the objection round
        ("admin", "position", {"stance": "consent", "version": "1"}),
        (
            "target",
            "position",
            {"stance": "objection", "version": "1", "reason": "Le lundi, la salle est prise."},
        ),
        (
            "facilitator",
            "judge",
            {"objection_id": "?o", "verdict": "valid", "reason": "Elle est connue."},
        ),
        ("facilitator", "position", {"stance": "consent", "version": "1"}),
        ("facilitator", "close-round", {}),  # a valid objection: to integrate
        (
            "member",
            "publish",
            {
                "title": "Réunions mensuelles",
                "driver": NEW["driver"],
                "body": "Le premier mardi du mois.",
                "note": "Le mardi.",
                "answers": "?o",
            },
        ),
    ]
    for role, verb, data in steps:
        await take(client, world, pool, url, role, verb, data)
        hits += await check_every_viewer(client, app, world, url)
        # The other worker, which has cached the page before this step, serves it fresh.
        hits += await check_every_viewer(other, other_app, world, url)
    # The page reached the integrate stage or a new round: finish with what the rules allow
    # now (open the round on version 2, consents, close: adopted), checking each step.
    act_as(client, world, "facilitator")
    page = (await client.get(url)).text
    for verb in ("open-object-round",):
        if f"/{verb}" in page:
            await step(client, world, "facilitator", url, verb)
            hits += await check_every_viewer(client, app, world, url)
    for role in ("target", "member", "admin", "facilitator"):
        act_as(client, world, role)
        page = (await client.get(url)).text
        if f"{url}/confirm" in page:
            await step(client, world, role, url, "confirm", objection_id=str(
                await objection_id(pool, url)))  # fmt: skip
            hits += await check_every_viewer(other, other_app, world, url)
        if 'id="stance-consent"' in page:
            await step(client, world, role, url, "position", stance="consent", version="2")
            hits += await check_every_viewer(client, app, world, url)
    act_as(client, world, "facilitator")
    page = (await client.get(url)).text
    assert f"{url}/close-round" in page, "the round on version 2 cannot be closed"
    await step(client, world, "facilitator", url, "close-round")
    hits += await check_every_viewer(client, app, world, url)
    hits += await check_every_viewer(other, other_app, world, url)
    proposal_id = int(url.rsplit("/", 1)[1])
    assert await pool.fetchval("SELECT stage FROM proposals WHERE id = $1", proposal_id) == (
        "adopted"
    )
    assert hits > 0  # the cache served fragments along the way


async def test_a_renamed_person_shows_under_their_new_name(
    two_apps: tuple[Client, Litestar, Client, Litestar], world: Scenario, pool: asyncpg.Pool
) -> None:
    """A name change bumps no revision: the fragment's key holds a digest of its data."""
    client, app, _, _ = two_apps
    url = f"/s/alpha/proposals/{world.proposal_id}"
    await step(client, world, "target", url, "ask", text="Une question ?")
    act_as(client, world, "admin")
    assert "Target" in (await client.get(url)).text
    hits = cache_of(app).hits
    assert "Target" in (await client.get(url)).text and cache_of(app).hits > hits
    await pool.execute(
        "UPDATE users SET name = 'Cible Renommée' WHERE id = $1", world.user_ids["target"]
    )
    page = (await client.get(url)).text
    assert "Cible Renommée" in page
    assert await check_every_viewer(client, app, world, url) > 0


async def test_an_election_nomination_and_reveal_every_viewer(
    two_apps: tuple[Client, Litestar, Client, Litestar],
    world: Scenario,
    pool: asyncpg.Pool,
    alpha: Space,
) -> None:
    client, app, other, other_app = two_apps
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, PRESIDENCY, actor_id=world.user_ids["admin"]
        )
    url = await describe(client, world, role_id)
    await step(client, world, "facilitator", url, "submit")
    hits = await check_every_viewer(client, app, world, url)
    target = str(world.user_ids["target"])
    for role in ("member", "facilitator", "admin", "target"):
        await step(client, world, role, url, "nominate", nominee=target, reason=f"Par {role}.")
        hits += await check_every_viewer(client, app, world, url)
        hits += await check_every_viewer(other, other_app, world, url)
    await step(client, world, "facilitator", url, "reveal")
    hits += await check_every_viewer(client, app, world, url)
    hits += await check_every_viewer(other, other_app, world, url)
    await step(client, world, "facilitator", url, "open-change-round")
    await step(client, world, "target", url, "nominate", nominee=str(world.user_ids["member"]),
               reason="Plutôt elle.")  # fmt: skip
    hits += await check_every_viewer(other, other_app, world, url)
    await step(client, world, "facilitator", url, "propose-holder", nominee=target,
               reason="Nommée trois fois.", first="2027-03-01", last="2029-02-28")  # fmt: skip
    hits += await check_every_viewer(client, app, world, url)
    hits += await check_every_viewer(other, other_app, world, url)
    act_as(client, world, "member")
    page = (await client.get(url)).text
    assert 'data-mark="revealed"' in page and "Plutôt elle." in page
    assert hits > 0


async def test_a_scenario_choice_in_its_own_words_every_viewer(
    two_apps: tuple[Client, Litestar, Client, Litestar],
    world: Scenario,
    pool: asyncpg.Pool,
    alpha: Space,
) -> None:
    """A choice names its rounds as a choice does ("Tour des préférences"), cached or not."""
    client, app, other, other_app = two_apps
    cause_id, criterion_id = await planned_cause(pool, alpha, world)
    first = await draft_scenario(pool, alpha, world, cause_id, criterion_id, "Piste")
    await draft_scenario(pool, alpha, world, cause_id, criterion_id, "Zone")
    proposal_id = await open_choice(pool, alpha, world, cause_id)
    url = f"/s/alpha/proposals/{proposal_id}"
    hits = await check_every_viewer(client, app, world, url)
    await step(client, world, "facilitator", url, "advance")
    hits += await check_every_viewer(client, app, world, url)
    await step(client, world, "member", url, "nominate", nominee=str(first), reason="Sûre.")
    hits += await check_every_viewer(client, app, world, url)
    hits += await check_every_viewer(other, other_app, world, url)
    act_as(client, world, "member")
    page = (await client.get(url)).text
    assert "Tour des préférences" in page and "Tour des nominations" not in page
    assert hits > 0
