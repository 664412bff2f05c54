"""The live event stream of a space (Server-Sent Events), for its open pages: see live.py."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Stream

from consentir import live
from consentir.spaces.store import SpaceView
from consentir.web import boundary, openapi


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
    return Stream(
        live.stream(hub, pool, here.space.id, last_id),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


routes = [space_stream]
