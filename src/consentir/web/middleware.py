"""The outermost layer of every HTTP request: request id, locale, security headers, access log.

It wraps Litestar's own outer handler (see app.py) rather than being a route middleware,
so that responses the router makes itself (404, 405) get the same headers and request id.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from consentir.logs import request_id
from consentir.web.i18n import LOCALE_COOKIE, current_locale, negotiate

access_log = logging.getLogger("consentir.access")

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
                        extra.append((b"cache-control", b"private, no-cache"))
                    extra.append((b"vary", b"Cookie, Accept-Language"))
                message["headers"] = [*(message.get("headers") or []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
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
