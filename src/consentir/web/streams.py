"""The live event stream of a space (Server-Sent Events), for its open pages: see live.py."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import Receive, Send

from consentir import live
from consentir.spaces.store import SpaceView
from consentir.web import boundary, openapi


class _EventStreamResponse(ASGIStreamingResponse):
    """Litestar's streaming response without its anyio task group (a task group, a cancel
    scope, a child task and an event for every open stream): the stream is sent from the
    request's own task, and a callback on `receive` (granian's answers a future: no task
    at all) cancels it when the client leaves, as Litestar's would. The stream's generator
    ends either way (its `finally` unsubscribes)."""

    __slots__ = ()

    async def send_body(self, send: Send, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None
        streaming = True
        waiting: asyncio.Future[Any] | None = None

        def watch() -> None:
            nonlocal waiting
            waiting = asyncio.ensure_future(receive())
            waiting.add_done_callback(received)

        def received(message: asyncio.Future[Any]) -> None:
            if not streaming:
                return  # the stream has ended by itself
            if (
                not message.cancelled()
                and message.exception() is None
                and message.result()["type"] == "http.request"
            ):
                watch()  # (a body sent with the GET, ignored): the client is still there
            else:
                task.cancel()  # http.disconnect, or receive failed: the client left

        watch()
        iterator: Any = self.iterator
        try:
            async for chunk in iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            # Ours (the client left) is absorbed; any other cancellation goes on.
            if not (waiting is not None and waiting.done()) or task.uncancel() > 0:
                raise
        finally:
            streaming = False
            if waiting is not None and not waiting.done():
                waiting.remove_done_callback(received)
                waiting.cancel()
            # Cancelled while sending (between two messages): its `finally` runs now.
            await iterator.aclose()


class EventStream(Stream):
    """A `Stream` served by _EventStreamResponse (same headers, cookies and status)."""

    def to_asgi_response(
        self, app: Any, request: Request[Any, Any, Any], **kwargs: Any
    ) -> ASGIResponse:
        response = super().to_asgi_response(app, request, **kwargs)
        assert type(response) is ASGIStreamingResponse
        response.__class__ = _EventStreamResponse  # the same slots: only send_body differs
        return response


@get("/live/s/{slug:str}", **openapi.STREAM)  # type: ignore[arg-type]
async def space_stream(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    hub: NamedDependency[live.Hub],
    pool: NamedDependency[asyncpg.Pool],
    after: boundary.EventIdQuery = None,
) -> Stream:
    """What happens in the space, as it commits. Only for those who may see the space (the
    `here` dependency answers 404 or 403 otherwise). `Last-Event-ID` (sent by browsers when
    they reconnect) replays the events missed since then from the journal; so does `after`
    on the first connection (a page gives the last event it was rendered with, so nothing
    committed between its rendering and the connection goes unannounced)."""
    last_id = live.parse_last_event_id(request.headers.get("last-event-id"))
    if last_id is None and after is not None and after >= 0:
        last_id = after
    return EventStream(
        live.stream(hub, pool, here.space.id, last_id),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


routes = [space_stream]
