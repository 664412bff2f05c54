"""The API's description (/schema/openapi.json): what a generated client needs, nothing else.

- Only the JSON API (`/api/v1/…`), `/healthz` and the live event stream are described; the
  HTML pages are kept out (`pages()`).
- Every /api operation requires `Authorization: Bearer <token>` (`api()`), and documents its
  errors as RFC 9457 problem+json (`Problem`).
- The event stream (`/live/s/{slug}`) is text/event-stream, for pages (session cookie).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from litestar import Router
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.types import ControllerRouterHandler

BEARER = "bearer"
SESSION = "session"


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """An error (RFC 9457). `code` names the rule or the check that refused the request;
    `errors` says what is wrong with each field."""

    type: str
    title: str
    status: int
    code: str
    instance: str
    request_id: str
    detail: str | None = None
    errors: list[FieldError] | None = None


PROBLEM_JSON = "application/problem+json"

_ERRORS = {
    400: "The request could not be read: a parameter of the wrong type, a garbled cursor, "
    "malformed JSON.",
    401: "No valid Bearer token.",
    403: "The token's account may not do this (its role, an unsigned charter).",
    404: "No such resource, or one the account may not see.",
    409: "A rule of the process refuses the step now (`code` names it), or the resource "
    "changed meanwhile.",
    413: "The body is larger than 1 MiB.",
    415: "A write's body is not `application/json`.",
    422: "The body breaks its schema (`errors` per field), or a value is out of bounds: "
    "a NUL character, a line break in a one-line field, an integer beyond its column, "
    "a date outside 2000–2100, JSON nested deeper than 32 levels.",
    429: "Too many attempts: wait for `Retry-After` seconds.",
    503: "The service is unavailable for a moment: retry after `Retry-After` seconds.",
}
ERROR_RESPONSES = {
    status: ResponseSpec(Problem, description=text, media_type=PROBLEM_JSON)
    for status, text in _ERRORS.items()
}


def is_api(handler: ControllerRouterHandler) -> bool:
    return isinstance(handler, HTTPRouteHandler) and any(
        path.startswith("/api/") for path in handler.paths
    )


def api(handlers: Iterable[ControllerRouterHandler]) -> Router:
    """The JSON API's operations: Bearer tokens, problem+json errors, documented."""
    chosen = list(handlers)
    for handler in chosen:
        assert isinstance(handler, HTTPRouteHandler)
        # Idempotent: create_app runs once per test, on the same module-level handlers.
        handler.responses = {**ERROR_RESPONSES, **(handler.responses or {})}
    return Router(path="/", route_handlers=chosen, security=[{BEARER: []}])


def pages(handlers: Iterable[ControllerRouterHandler]) -> Router:
    """The HTML pages: not part of the API's description."""
    return Router(path="/", route_handlers=list(handlers), include_in_schema=False)


def config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Consentir",
        version=version,
        description=(
            "The JSON API of Consentir. Every operation under `/api/v1` requires a personal "
            "token (profile page, or `consentir token create`) sent as "
            "`Authorization: Bearer <token>`; cookies are never read there. Errors are "
            "`application/problem+json`. Writes accept an `Idempotency-Key` header."
        ),
        path="/schema",
        render_plugins=[JsonRenderPlugin(path="/openapi.json")],
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A personal API token: `Authorization: Bearer <token>`.",
                ),
                SESSION: SecurityScheme(
                    type="apiKey",
                    name="session",
                    security_scheme_in="cookie",
                    description="The browser's session (`__Host-session` over HTTPS): for "
                    "the pages and their event stream, not for the API.",
                ),
            }
        ),
        tags=[
            Tag(name="live", description="Server-Sent Events for open pages."),
            Tag(name="roles", description="A space's roles: their texts, seats and holders."),
            Tag(
                name="causes",
                description="Local causes: observation and actors, objectives and impact"
                " criteria, scenarios and their choice, the action list, measurements.",
            ),
            Tag(
                name="mandates",
                description="Mandates: who holds which seat, for which term,"
                " granted by which decision; the holder's resignation.",
            ),
        ],
    )


class StreamMessage(msgspec.Struct):
    """The `data` of an event message, as JSON."""

    id: int  # the journal event's id (also the message's SSE `id`)
    action: str  # what happened, e.g. `proposal.position_given`
    subject: str  # what it happened to: `proposal`, `meeting`, `space`…
    subject_id: int | None


_STREAM_TEXT = """Server-Sent Events (`text/event-stream`) of what commits in the space, for
those who may see it (the pages' session; 404 otherwise). The stream never ends on its own.

Each event is one message: `id:` the journal event's id; `event:` its subject,
`<subject>-<id>` (e.g. `proposal-12`, `meeting-3`) or the subject alone; `data:` JSON
`{"id", "action", "subject", "subject_id"}`. A page listens to the subjects it shows and
fetches their fragments again, with its own rights: a message says nothing more.

Other messages: `event: reload` (more was missed than a replay sends: load the page again),
`event: restart` with a `retry:` (the server stops: reconnect in a moment), and comment lines
(`: keep-alive`) while nothing happens.

On reconnecting, `Last-Event-ID` replays the events after it from the journal (bounded);
`after` does the same on a first connection."""

STREAM: dict[str, object] = {
    "tags": ["live"],
    "summary": "A space's live events (Server-Sent Events)",
    "description": _STREAM_TEXT,
    "security": [{SESSION: []}],
    "include_in_schema": True,
    "responses": {
        200: ResponseSpec(
            StreamMessage,
            description="The event stream; each message's `data` is this object.",
            media_type="text/event-stream",
        ),
        404: ERROR_RESPONSES[404],
    },
}
