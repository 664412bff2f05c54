"""The proposal page's live round (`GET <proposal>/round`, consent/routes.py round_fragment),
re-fetched by every open page when the proposal changes: after every step, every kind of
viewer gets what the page itself shows of the round (positions hidden or shown, a
facilitator or not), cached or not, in one worker or another; its weak ETag changes with
every step, so a 304 is never the answer to a changed state; whoever may not see the
proposal gets 404, with or without If-None-Match; a re-fetch renders nothing new."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import pytest
from litestar import Litestar

from consentir import db
from consentir.accounts import store as accounts
from consentir.mandates import store as mandates
from consentir.spaces.store import Space
from consentir.web.fragments import etag_matches
from consentir.web.middleware import PAGE_VARY
from tests.causes_setup import draft_scenario, open_choice, planned_cause
from tests.scenario import Scenario
from tests.test_elections_web import PRESIDENCY, describe
from tests.test_proposal_cache import (
    VIEWERS,
    cache_of,
    drafted,
    same,
    step,
    take,
)
from tests.web import Client, act_as

# The notice that only the live response carries (the page shows the round without it).
_NOTICE = re.compile(r'\n\s*<p class="notice" role="status">.*?</p>', re.S)
_WEAK = re.compile(r'^W/"[0-9a-f]{32}"$')


def flat(html: str) -> str:
    """The HTML with its white space runs as one space (the page indents the include)."""
    return re.sub(r"\s+", " ", html).strip()


class Seen:
    """What each viewer's /round was after the last step: (status, ETag, body)."""

    def __init__(self) -> None:
        self.before: dict[str, tuple[int, str | None, str]] = {}


async def round_of(
    client: Client, url: str, etag: str | None = None, language: str = "fr"
) -> tuple[int, str | None, str, dict[str, str]]:
    headers = {"hx-request": "true", "accept-language": language}
    if etag is not None:
        headers["if-none-match"] = etag
    response = await client.get(f"{url}/round", headers=headers, follow_redirects=False)
    return response.status_code, response.headers.get("etag"), response.text, dict(response.headers)


async def check_round_every_viewer(
    client: Client, app: Litestar, world: Scenario, url: str, seen: Seen
) -> dict[str, str]:
    """For every viewer: /round cached (twice) and with the cache off is the same, and is
    the round the page itself shows; an ETag from before the last step is answered with the
    new state (200), the current one with 304 and the 200's caching headers; a viewer who
    may not see the proposal gets 404 and no ETag, whatever If-None-Match says. Returns each
    viewer's body now."""
    cache = cache_of(app)
    bodies = {}
    # Any ETag a viewer holds, sent by anyone: a 404 stays a 404.
    known = [e for _, e, _ in seen.before.values() if e] + [
        e for _, e, _ in (await _current(client, world, url)).values() if e
    ]
    for viewer in VIEWERS:
        act_as(client, world, viewer)
        cache.enabled = True
        status, etag, body, headers = await round_of(client, url)
        again = await round_of(client, url)
        cache.enabled = False
        reference = await round_of(client, url)
        cache.enabled = True
        assert status == again[0] == reference[0], viewer
        assert same(body) == same(again[2]) == same(reference[2]), f"{viewer}: cached differs"
        assert etag == again[1] == reference[1], f"{viewer}: the ETag depends on the cache"
        if viewer == "anonymous":  # asked to sign in (htmx: by HX-Redirect)
            assert status in (302, 303, 401) or "/signin" in headers.get("hx-redirect", "")
        if viewer == "anonymous" or status != 200:
            assert status in (200, 302, 303, 401, 404), (viewer, status)
            assert etag is None and "round-live" not in body
            for held in known:
                refused = await round_of(client, url, held)
                assert refused[0] == status and refused[1] is None, viewer
                assert "round-live" not in refused[2]
            seen.before[viewer] = (status, None, body)
            continue
        assert etag is not None and _WEAK.match(etag), (viewer, etag)
        assert (headers["cache-control"], headers["vary"]) == ("private, no-cache", PAGE_VARY)
        # The round as the page shows it (the page: checked against the cache off by
        # test_proposal_cache), plus the notice.
        page = (await client.get(url)).text
        assert body.lstrip().startswith('<div id="round-live"'), body[:200]
        assert _NOTICE.search(body), "no notice in the live round"
        assert flat(_NOTICE.sub("", body)) in flat(page), f"{viewer}: not the page's round"
        # The state has changed since the last ETag this viewer held (every step moves the
        # revision): never a 304 for it.
        held = seen.before.get(viewer)
        if held is not None and held[1] is not None:
            assert held[1] != etag, f"{viewer}: the ETag did not change with the state"
            fresh = await round_of(client, url, held[1])
            assert fresh[0] == 200 and fresh[2] == body, f"{viewer}: stale ETag answered 304"
        # The ETag it has now: 304, nothing rendered, the same caching headers as the 200.
        misses = cache.misses
        not_modified = await round_of(client, url, etag)
        assert not_modified[0] == 304 and not_modified[2] == "", viewer
        assert not_modified[1] == etag
        for name in ("cache-control", "vary"):
            assert not_modified[3][name] == headers[name], name
        assert cache.misses == misses
        seen.before[viewer] = (status, etag, body)
        bodies[viewer] = body
    return bodies


async def _current(client: Client, world: Scenario, url: str) -> dict[str, tuple[int, Any, str]]:
    """Each viewer's ETag now (to try them on those who may not see the proposal)."""
    found = {}
    for viewer in ("member", "facilitator"):
        act_as(client, world, viewer)
        status, etag, body, _ = await round_of(client, url)
        found[viewer] = (status, etag, body)
    return found


# Each step, and whether it changes what the round shows (every step changes the revision,
# hence the ETag; these change the round's content too).
STEPS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("member", "submit", {}, True),  # the clarifying round opens
    ("target", "ask", {"text": "Quel lundi exactement ?"}, False),
    ("member", "answer", {"text": "Le premier du mois.", "question_id": "?q"}, False),
    ("facilitator", "advance", {}, True),  # the reaction round
    ("target", "react", {"text": "Bonne idée, vraiment."}, True),
    ("facilitator", "advance", {}, True),  # the objection round
    ("admin", "position", {"stance": "consent", "version": "1"}, True),
    ("target", "position",
     {"stance": "objection", "version": "1", "reason": "Le lundi, la salle est prise."}, True),
    ("facilitator", "judge",
     {"objection_id": "?o", "verdict": "valid", "reason": "Elle est connue."}, False),
    ("facilitator", "position", {"stance": "consent", "version": "1"}, True),
    ("facilitator", "close-round", {}, True),  # a valid objection: to integrate
]  # fmt: skip
REASON = "Le lundi, la salle est prise."


@pytest.mark.parametrize("hide", [True, False], ids=["positions-hidden", "positions-shown"])
async def test_every_step_changes_the_live_round_for_every_viewer(
    two_apps: tuple[Client, Litestar, Client, Litestar],
    world: Scenario,
    pool: asyncpg.Pool,
    alpha: Space,
    hide: bool,
) -> None:
    client, app, other, other_app = two_apps
    url = await drafted(client, world, pool, alpha, hide)
    seen, seen_other = Seen(), Seen()
    # The draft: its proposer and the facilitators only.
    bodies = await check_round_every_viewer(client, app, world, url, seen)
    assert set(bodies) == {"member", "facilitator", "admin"}
    for role, verb, sent, changes in STEPS:
        data = await take(client, world, pool, url, role, verb, sent)
        before = bodies
        bodies = await check_round_every_viewer(client, app, world, url, seen)
        # The other worker, whose cache holds the round from before the step.
        assert await check_round_every_viewer(other, other_app, world, url, seen_other) == bodies
        assert set(bodies) == {"member", "target", "facilitator", "admin", "unsigned"}
        for viewer, body in bodies.items():
            if changes and viewer in before:
                assert body != before[viewer], f"{verb}: {viewer}'s round did not change"
            elif viewer in before:
                assert body == before[viewer], f"{verb}: {viewer}'s round changed"
        # Everyone sees the same round (nothing of the viewer's in it).
        assert len(set(bodies.values())) == 1, verb
        shown = next(iter(bodies.values()))
        if verb == "position" and data["stance"] == "objection":
            assert (REASON in shown) is not hide, "a hidden position shown, or a shown one hidden"
        if verb == "close-round":
            assert 'id="round"' not in shown  # no open round: nothing but the notice
    act_as(client, world, "facilitator")
    page = (await client.get(url)).text
    assert REASON in page  # the round closed: positions shown in the past rounds


async def test_a_live_round_renders_once_for_all_its_viewers(
    two_apps: tuple[Client, Litestar, Client, Litestar], world: Scenario
) -> None:
    """After a change, the first fetch renders the round (and its live wrapper) once per
    language; every other viewer's fetch, and the page, are served from the cache."""
    client, app, _, _ = two_apps
    url = f"/s/alpha/proposals/{world.proposal_id}"
    await step(client, world, "target", url, "ask", text="Une question de plus ?")
    cache = cache_of(app)
    misses, hits = cache.misses, cache.hits
    for _ in range(3):
        for viewer in ("member", "target", "facilitator", "admin", "unsigned"):
            act_as(client, world, viewer)
            assert (await round_of(client, url))[0] == 200
    assert cache.misses - misses <= 2  # _round_live.html and _round.html, once each
    assert cache.hits - hits >= 13
    act_as(client, world, "admin")
    misses = cache.misses
    assert (await client.get(url)).status_code == 200
    round_key = [k for k in cache._entries if k[0] == "proposals/_round.html"]
    assert round_key and cache.misses - misses <= 3  # the page's other parts, not the round


async def test_who_may_not_see_the_proposal_gets_404_with_or_without_an_etag(
    two_apps: tuple[Client, Litestar, Client, Litestar], world: Scenario, pool: asyncpg.Pool
) -> None:
    client, _, _, _ = two_apps
    draft = f"/s/alpha/proposals/{world.draft_id}"
    act_as(client, world, "member")  # the draft's proposer
    status, etag, _, _ = await round_of(client, draft)
    assert status == 200 and etag is not None
    # Someone else's draft: a plain member, someone of another space.
    for viewer in ("target", "unsigned", "outsider"):
        act_as(client, world, viewer)
        for held in (None, etag, "*"):
            refused = await round_of(client, draft, held)
            assert refused[0] == 404 and refused[1] is None, (viewer, held)
            assert "round-live" not in refused[2]
    # Another space's member, at alpha's proposal: not through alpha, nor through theirs.
    beta_owner = await _beta_owner_session(pool, world)
    client.cookies.set("session", beta_owner, domain="127.0.0.1", path="/")
    url = f"/s/alpha/proposals/{world.proposal_id}"
    act_as(client, world, "member")
    _, open_etag, _, _ = await round_of(client, url)
    client.cookies.set("session", beta_owner, domain="127.0.0.1", path="/")
    for address in (url, f"/s/beta/proposals/{world.proposal_id}"):
        for held in (None, open_etag, "*"):
            refused = await round_of(client, address, held)
            assert refused[0] == 404 and refused[1] is None, (address, held)
    # A proposal number that does not exist.
    act_as(client, world, "admin")
    assert (await round_of(client, "/s/alpha/proposals/999999", "*"))[0] == 404


async def _beta_owner_session(pool: asyncpg.Pool, world: Scenario) -> str:
    """A session for beta's owner (a member of another space only)."""
    async with db.transaction(pool) as conn:
        owner = await accounts.user_by_id(conn, world.user_ids["beta_owner"])
        assert owner is not None
        return await accounts.start_session(conn, owner, replaces=None, user_agent="tests")


async def test_another_language_is_another_etag(
    two_apps: tuple[Client, Litestar, Client, Litestar], world: Scenario, pool: asyncpg.Pool
) -> None:
    """A signed-in person reads in their own language: once it changes, the ETag they held
    (French) is answered with the English round, under another ETag."""
    client, _, _, _ = two_apps
    url = f"/s/alpha/proposals/{world.proposal_id}"
    act_as(client, world, "target")
    status, french, body, _ = await round_of(client, url)
    assert status == 200 and french is not None and "vient de changer" in body
    assert (await round_of(client, url, french))[0] == 304
    await pool.execute("UPDATE users SET locale = 'en' WHERE id = $1", world.user_ids["target"])
    status, english, body, _ = await round_of(client, url, french)
    assert status == 200 and english not in (None, french) and "has just changed" in body
    assert (await round_of(client, url, english))[0] == 304


def test_if_none_match_uses_the_weak_comparison() -> None:
    tag = 'W/"0123456789abcdef0123456789abcdef"'
    assert etag_matches(tag, tag)
    assert etag_matches('"0123456789abcdef0123456789abcdef"', tag)
    assert etag_matches(f'W/"other", {tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches(None, tag) and not etag_matches("", tag)
    assert not etag_matches('W/"0123456789abcdef0123456789abcdee"', tag)


async def test_an_election_and_a_choice_live_round_is_the_pages(
    two_apps: tuple[Client, Litestar, Client, Litestar],
    world: Scenario,
    pool: asyncpg.Pool,
    alpha: Space,
) -> None:
    """Who has answered a nominations round is read from the nominations (an election) or
    the preferences (a scenario choice): the live round counts them as the page does."""
    client, app, other, other_app = two_apps
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, PRESIDENCY, actor_id=world.user_ids["admin"]
        )
    url = await describe(client, world, role_id)
    await step(client, world, "facilitator", url, "submit")
    seen, seen_other = Seen(), Seen()
    bodies = await check_round_every_viewer(client, app, world, url, seen)
    target = str(world.user_ids["target"])
    for role in ("member", "facilitator"):
        await step(client, world, role, url, "nominate", nominee=target, reason=f"Par {role}.")
        before, bodies = bodies, await check_round_every_viewer(client, app, world, url, seen)
        assert bodies["admin"] != before["admin"]  # one more has answered
        await check_round_every_viewer(other, other_app, world, url, seen_other)
    cause_id, criterion_id = await planned_cause(pool, alpha, world)
    first = await draft_scenario(pool, alpha, world, cause_id, criterion_id, "Piste")
    await draft_scenario(pool, alpha, world, cause_id, criterion_id, "Zone")
    choice = f"/s/alpha/proposals/{await open_choice(pool, alpha, world, cause_id)}"
    seen = Seen()
    await check_round_every_viewer(client, app, world, choice, seen)
    await step(client, world, "facilitator", choice, "advance")
    bodies = await check_round_every_viewer(client, app, world, choice, seen)
    await step(client, world, "member", choice, "nominate", nominee=str(first), reason="Sûre.")
    before, bodies = bodies, await check_round_every_viewer(client, app, world, choice, seen)
    assert bodies["admin"] != before["admin"]
    assert "Tour des préférences" in bodies["admin"]
