"""The proposal page's live round in Chromium (static/live.js): when the space's stream
announces a change, the page fetches its round; a fetch the server refuses for now (503 with
Retry-After, as the admission guard answers under load) is never swapped into the page, and
is sent again after Retry-After (plus a little random jitter), until the page shows the new
state. Then a second change: the browser asks again with the ETag it holds, and shows the
new round."""

from __future__ import annotations

import json
import time
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Request, Route, expect

from consentir.consent import rules
from consentir.consent.store import Content
from consentir.spaces.store import Space
from tests.browser.test_joining import signed_in
from tests.process import act, person, to_object_round
from tests.scenario import Scenario

pytestmark = pytest.mark.browser

TEXT = Content(title="Jardin partagé", driver="Le terrain est en friche.",
               body="Cultiver le terrain ensemble, le samedi.")  # fmt: skip
REFUSED = "Trop de monde, revenez dans un instant"


def round_statuses(log: Path) -> list[int]:
    """What the server answered to each fetch of a round, in order (its access log)."""
    lines = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return [e["status"] for e in lines if str(e.get("path", "")).endswith("/round")]


async def test_a_refused_live_fetch_is_sent_again_after_retry_after(
    chromium: Browser,
    scenario_server: str,
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    tmp_path: Path,
) -> None:
    base = scenario_server
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    url = f"{base}/s/alpha/proposals/{proposal_id}"
    page = await signed_in(chromium, base, "member@example.org")
    fetches: list[tuple[float, int, str | None]] = []  # when, what the page got, If-None-Match

    async def round_route(route: Route, request: Request) -> None:
        held = await request.header_value("if-none-match")
        if not fetches:  # the first live fetch: refused, as the admission guard does
            fetches.append((time.monotonic(), 503, held))
            await route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Cache-Control": "no-store"},
                content_type="text/html; charset=utf-8",
                body=f"<!doctype html><title>503</title><h1>{REFUSED}</h1>",
            )
            return
        response = await route.fetch()
        fetches.append((time.monotonic(), response.status, held))
        await route.fulfill(response=response)

    await page.route(f"**/proposals/{proposal_id}/round", round_route)
    async with page.expect_response(lambda r: "/live/s/alpha" in r.url):
        await page.goto(url)
    live = page.locator("#round-live")
    await expect(live).to_contain_text("0 sur 3 a répondu")
    await expect(live).not_to_contain_text("vient de changer")

    # Someone gives their position: the stream announces it, the first fetch is refused.
    changed = time.monotonic()
    await act(pool, alpha, proposal_id, person(world, "admin"),
              rules.GivePosition(world.user_ids["admin"], rules.Stance.CONSENT, 1))  # fmt: skip
    await expect(live).to_contain_text("1 sur 3 a répondu", timeout=10_000)
    await expect(live).to_contain_text("vient de changer")
    assert REFUSED not in await page.content()
    assert [status for _, status, _ in fetches] == [503, 200], fetches
    refused_at, answered_at = fetches[0][0], fetches[1][0]
    assert refused_at - changed < 2.0  # the first fetch came at once (0–300 ms spread)
    # Sent again after Retry-After (1 s), with at most 1 s of jitter (and some slack).
    assert 1.0 <= answered_at - refused_at <= 3.0, answered_at - refused_at

    # Another change, with the route gone (Playwright's routing turns Chromium's HTTP cache
    # off): Chromium revalidates the copy it keeps (If-None-Match, the weak ETag); the state
    # has changed, so it gets the new round (200), never the old one.
    await page.unroute(f"**/proposals/{proposal_id}/round", round_route)
    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/round") else None)
    await act(pool, alpha, proposal_id, person(world, "target"),
              rules.GivePosition(world.user_ids["target"], rules.Stance.CONSENT, 1))  # fmt: skip
    await expect(live).to_contain_text("2 sur 3 ont répondu", timeout=10_000)
    await expect(live).to_contain_text("vient de changer")
    assert len(sent) == 1, [r.url for r in sent]
    answer = await sent[0].response()
    assert answer is not None and answer.status == 200
    facilitator = world.user_ids["facilitator"]
    await act(pool, alpha, proposal_id, person(world, "facilitator"),
              rules.GivePosition(facilitator, rules.Stance.CONSENT, 1))  # fmt: skip
    await expect(live).to_contain_text("3 sur 3 ont répondu", timeout=10_000)
    assert len(sent) == 2, [r.url for r in sent]
    held = (await sent[1].all_headers()).get("if-none-match", "")
    assert held.startswith('W/"'), held  # the copy kept from the fetch before
    # The same announcement again (nothing changed): the server answers 304 to the ETag,
    # Chromium hands its copy to htmx, and the page shows the same round.
    async with page.expect_response(lambda r: r.url.endswith("/round")):
        await page.evaluate(f"htmx.trigger('#sse', 'proposal-{proposal_id}')")
    assert (await sent[2].all_headers()).get("if-none-match") == (
        await (await sent[1].response()).all_headers()  # type: ignore[union-attr]
    )["etag"]
    assert round_statuses(tmp_path / "server.log")[-2:] == [200, 304]
    await expect(live).to_contain_text("3 sur 3 ont répondu")
    await page.context.close()
