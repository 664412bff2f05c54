"""Pages' turns (web/middleware.py `Turns`, `Admission`): at most N worked on at once, the
others served strictly in their order of arrival, a turn handed on as soon as a response
starts, never lost to a cancelled request; requests with a body never wait for a turn."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from consentir.app import create_app
from consentir.config import Settings
from consentir.web.middleware import Admission, Turns


async def test_turns_are_given_in_order_of_arrival_and_never_exceed_the_size() -> None:
    turns = Turns(2)
    order: list[int] = []
    working = 0
    most = 0

    async def one(i: int) -> None:
        nonlocal working, most
        await turns.take()
        working += 1
        most = max(most, working)
        order.append(i)
        await asyncio.sleep(0.001 * (i % 3))  # unequal lengths: a later one could overtake
        working -= 1
        turns.hand_on()

    tasks = []
    for i in range(30):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0)  # arrivals in this order
    await asyncio.gather(*tasks)
    assert order == list(range(30))
    assert most == 2
    assert (turns.held, turns.waiting) == (0, 0)


async def test_a_cancelled_waiter_gives_its_turn_to_the_next_one() -> None:
    turns = Turns(1)
    await turns.take()  # held by "the first request"
    got: list[str] = []

    async def wait(name: str) -> None:
        await turns.take()
        got.append(name)

    second = asyncio.create_task(wait("second"))
    third = asyncio.create_task(wait("third"))
    await asyncio.sleep(0)
    assert turns.waiting == 2
    second.cancel()  # cancelled while waiting: it must not keep a place or a turn
    await asyncio.sleep(0)
    turns.hand_on()
    await asyncio.wait_for(third, 1)
    assert got == ["third"] and second.cancelled()
    turns.hand_on()
    assert (turns.held, turns.waiting) == (0, 0)


async def test_a_turn_handed_over_just_as_its_waiter_is_cancelled_is_passed_on() -> None:
    turns = Turns(1)
    await turns.take()
    got: list[str] = []

    async def wait(name: str) -> None:
        await turns.take()
        got.append(name)

    second = asyncio.create_task(wait("second"))
    third = asyncio.create_task(wait("third"))
    await asyncio.sleep(0)
    turns.hand_on()  # the turn goes to "second"…
    second.cancel()  # …which is cancelled before it runs: the turn must reach "third"
    await asyncio.wait_for(third, 1)
    assert got == ["third"]
    with pytest.raises(asyncio.CancelledError):
        await second
    turns.hand_on()
    assert (turns.held, turns.waiting) == (0, 0)


async def receive() -> dict[str, Any]:
    """A request without a body, as a server hands it to the app."""
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    """A client that takes whatever it is sent."""


def _scope(method: str, path: str = "/s/x") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": []}


async def test_a_page_hands_its_turn_on_when_its_response_starts() -> None:
    """Two pages with one turn: the second is worked on as soon as the first one's response
    has started, while the first is still sending its body to a slow reader."""
    events: list[str] = []
    body_sent = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"]
        events.append(f"work {name}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if name == "/first":
            await body_sent.wait()  # a slow reader: the body is not sent yet
        await send({"type": "http.response.body", "body": b"ok"})
        events.append(f"done {name}")

    admission = Admission(app, max_in_flight=10, body_seconds=5, max_working=1)

    first = asyncio.create_task(admission(_scope("GET", "/first"), receive, send))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(admission(_scope("GET", "/second"), receive, send))
    await asyncio.wait_for(second, 1)  # served while /first still holds its body
    assert events == ["work /first", "work /second", "done /second"]
    body_sent.set()
    await first
    assert admission.turns.held == 0 and admission.in_flight == 0


async def test_a_request_with_a_body_does_not_wait_for_a_page_turn() -> None:
    """A form's POST is not queued behind pages (and a slow body never holds a turn)."""
    release = asyncio.Event()
    served: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] == "GET":
            await release.wait()  # a page busy with its turn
        served.append(scope["method"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    admission = Admission(app, max_in_flight=10, body_seconds=5, max_working=1)

    page = asyncio.create_task(admission(_scope("GET"), receive, send))
    waiting = asyncio.create_task(admission(_scope("GET"), receive, send))
    await asyncio.sleep(0.01)
    assert admission.turns.waiting == 1
    await asyncio.wait_for(admission(_scope("POST"), receive, send), 1)
    assert served == ["POST"]
    release.set()
    await asyncio.gather(page, waiting)
    assert served == ["POST", "GET", "GET"]
    assert admission.turns.held == 0 and admission.in_flight == 0


async def test_a_served_worker_sets_what_lives_at_startup_aside_from_the_collector(
    settings: Settings,
) -> None:
    """`create_app(served=True)` (a granian worker): the startup's objects are kept out of
    every full collection (app.py `_settle`); an app made for tests does not do it."""
    async with create_app(settings).lifespan():
        assert gc.get_freeze_count() == 0
    try:
        async with create_app(settings, served=True).lifespan():
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
