"""The outer layers of every HTTP request: request id, locale, security headers, access log
(RequestContext); admission: the in-flight limit, the pages' turn to be worked on, and the
body's time limit (Admission).

It wraps Litestar's own outer handler (see app.py) rather than being a route middleware,
so that responses the router makes itself (404, 405) get the same headers and request id.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import time
import uuid
from collections import deque
from typing import Any

from litestar.exceptions import HTTPException

from consentir.logs import request_id
from consentir.web import errors
from consentir.web.i18n import LOCALE_COOKIE, current_locale, negotiate

access_log = logging.getLogger("consentir.access")
log = logging.getLogger(__name__)

# What every HTML page is sent with (it carries a CSRF token and depends on who asks and in
# which language); a 304 for a page (consent/routes.py round_fragment) says the same.
PAGE_CACHE_CONTROL = "private, no-cache"
PAGE_VARY = "Cookie, Accept-Language"

SHED = "consentir.shed"  # scope key: this request was answered 503 by Admission
SHED_REPORT_SECONDS = 10.0  # at most one line per this many seconds about shed requests

_INCOMING_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")

# No inline script or style anywhere: htmx is loaded from /static and told not to inject its
# indicator stylesheet (base.html); the event stream is same-origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _cookie(raw: bytes | None, name: str) -> str | None:
    if not raw:
        return None
    for part in raw.decode("latin-1").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class RequestContext:
    def __init__(self, app: Any, *, secure: bool) -> None:
        self.app = app
        self.headers = [*_SECURITY_HEADERS, *([_HSTS] if secure else [])]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        incoming = _header(headers, b"x-request-id")
        rid = incoming.decode() if incoming and _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        locale = negotiate(
            _cookie(_header(headers, b"cookie"), LOCALE_COOKIE),
            (_header(headers, b"accept-language") or b"").decode("latin-1"),
        )
        rid_token = request_id.set(rid)
        locale_token = current_locale.set(locale)
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", rid.encode()), *self.headers]
                sent = message.get("headers") or []
                if _header(sent, b"content-language") is None:
                    extra.append((b"content-language", current_locale.get().encode()))
                if (_header(sent, b"content-type") or b"").startswith(b"text/html"):
                    # Pages carry a CSRF token and depend on who asks and in which language.
                    if _header(sent, b"cache-control") is None:
                        extra.append((b"cache-control", PAGE_CACHE_CONTROL.encode()))
                    extra.append((b"vary", PAGE_VARY.encode()))
                message["headers"] = [*(message.get("headers") or []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # A request shed by Admission is counted there, not logged line by line.
            if not scope.get(SHED) or access_log.isEnabledFor(logging.DEBUG):
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id.reset(rid_token)
            current_locale.reset(locale_token)


class BodyTimeout(HTTPException):
    """The request's body did not arrive within its time limit."""

    status_code = 408
    detail = "request body too slow"


# Not counted against the in-flight limit: live streams stay open as long as their page (they
# are bounded by granian's backpressure instead), and the health check must answer under load.
_UNCOUNTED = ("/live/", "/healthz")


class Admission:
    """Bounds the work a worker takes on, so that what it admits keeps a bounded latency.

    - At most `max_in_flight` requests at once (live streams and /healthz not counted);
      one more is answered at once with 503 and `Retry-After`, before any work or query:
      under overload some are told to come back, instead of everyone waiting seconds.
    - Of those, requests without a body (GET, HEAD: pages, fragments) are worked on
      `max_working` at a time (the pool's size), in their order of arrival, each until its
      response starts: under load each one runs through its queries and its rendering
      without being interleaved with a hundred others, so the last served waits about as
      long as the first, instead of every request getting slower together (p99 close to
      p50). Requests with a body are not queued there: a client slow to send its body must
      never hold a turn that pages wait for.
    - A request's body must arrive within `body_seconds` of its start; a slower one (one byte
      every few seconds) is cut with 408 instead of holding a slot for minutes.
    """

    def __init__(
        self, app: Any, *, max_in_flight: int, body_seconds: float, max_working: int = 10
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.body_seconds = body_seconds
        self.turns = Turns(max_working)
        self.in_flight = 0
        self.shed = 0  # requests answered 503 (for tests and logs)
        self._unreported = 0
        self._reported_at = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bodiless = scope["method"] in _BODILESS
        if not bodiless:  # a body must arrive in time (408)
            receive = self._in_time(receive)
        if scope["path"].startswith(_UNCOUNTED):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            # No access-log line each: under overload that would be more work per refusal.
            scope[SHED] = True
            self._count_shed()
            await _overloaded(scope, send)
            return
        self.in_flight += 1
        try:
            if bodiless:
                await self._in_turn(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _in_turn(self, scope: Any, receive: Any, send: Any) -> None:
        """The app, once this request's turn has come; the turn is handed on as soon as the
        response starts (sending its body to a slow reader takes no one's turn)."""
        await self.turns.take()
        held = True

        def hand_on() -> None:
            nonlocal held
            if held:
                held = False
                self.turns.hand_on()

        async def send_handing_on(message: Any) -> None:
            if message["type"] == "http.response.start":
                hand_on()
            await send(message)

        try:
            await self.app(scope, receive, send_handing_on)
        finally:
            hand_on()

    def _count_shed(self) -> None:
        self.shed += 1
        self._unreported += 1
        now = time.monotonic()
        if now - self._reported_at >= SHED_REPORT_SECONDS:
            log.warning(
                "overloaded: %d requests answered 503 since the last report (MAX_IN_FLIGHT=%d)",
                self._unreported, self.max_in_flight,
            )  # fmt: skip
            self._unreported = 0
            self._reported_at = now

    def _in_time(self, receive: Any) -> Any:
        deadline = asyncio.get_running_loop().time() + self.body_seconds
        complete = False

        async def receive_in_time() -> Any:
            nonlocal complete
            if complete:  # the body is in: what follows is the wait for a disconnect
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout() from None
            complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        return receive_in_time


class Turns:
    """At most `size` holders at once; the others wait, served strictly in their order of
    arrival (a deque of futures: nothing overtakes, whatever the event loop's scheduling)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.held = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def take(self) -> None:
        if self.held < self.size and not self._waiting:
            self.held += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.hand_on()  # handed a turn just as it was cancelled: pass it on
            elif waiter in self._waiting:  # (hand_on may have dropped it already)
                self._waiting.remove(waiter)
            raise

    def hand_on(self) -> None:
        """Give the turn to the longest waiting, or free it."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # `held` is unchanged: the turn changes hands
                return
        self.held -= 1


# Requests that carry no body: nothing to time (and a live stream's first read, which
# waits for the client to leave, must not be cut).
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_OVERLOADED = 1  # seconds


async def _overloaded(scope: Any, send: Any) -> None:
    """503 with Retry-After, made without the app: problem+json for the API and for JSON
    clients, a few lines of HTML in the visitor's language for pages."""
    path: str = scope["path"]
    accept = (_header(scope["headers"], b"accept") or b"").decode("latin-1")
    title = errors.unavailable_title()
    if errors.answers_json(path, accept):
        body = json.dumps(
            {"type": "urn:consentir:problem:overloaded", "title": title, "status": 503,
             "code": "overloaded", "instance": path, "request_id": request_id.get() or ""}
        ).encode()  # fmt: skip
        content_type = b"application/problem+json"
    else:
        body = (
            f'<!doctype html><html lang="{current_locale.get()}"><meta charset="utf-8">'
            f"<title>503 — Consentir</title><h1>{html.escape(title)}</h1>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_OVERLOADED).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
