"""Who is asking: the session cookie for pages, a Bearer token for /api/.

The JSON API never reads the session cookie, so a page elsewhere cannot make a signed-in
browser call it (no CSRF through the API); pages and htmx requests carry a CSRF token.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from consentir.accounts import store
from consentir.accounts.store import User
from consentir.config import Settings
from consentir.web.i18n import current_locale


def session_cookie_name(settings: Settings) -> str:
    # __Host- pins the cookie to this origin, over HTTPS only.
    return "__Host-session" if settings.secure_cookies else "session"


def session_cookie(settings: Settings, token: str | None) -> Cookie:
    """The cookie that carries the session (or, with no token, the one that removes it)."""
    return Cookie(
        key=session_cookie_name(settings),
        value=token or "",
        max_age=int(store.SESSION_LIFETIME.total_seconds()) if token else 0,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                cookie_name, _, cookie_value = part.strip().partition("=")
                if cookie_name == name and cookie_value:
                    return cookie_value
    return None


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class Authentication(ASGIMiddleware):
    """Puts the signed-in User (or None) in scope["user"], and their language in effect."""

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        path: str = scope["path"]
        return path.startswith("/static/") or path == "/healthz"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        state = scope["litestar_app"].state
        user: User | None = None
        if scope["path"].startswith("/api/"):
            token = _bearer(scope)
            if token is not None:
                async with state.pool.acquire() as conn:
                    user = await store.user_from_api_token(conn, token)
                if user is None:
                    raise NotAuthorizedException("unknown or revoked API token")
        else:
            token = _cookie(scope, session_cookie_name(state.settings))
            if token is not None:
                async with state.pool.acquire() as conn:
                    user = await store.user_from_session(conn, token)
        scope["user"] = user
        if user is not None:
            current_locale.set(user.locale)
        await next_app(scope, receive, send)


def session_token(request: Request[Any, Any, Any]) -> str | None:
    return _cookie(request.scope, session_cookie_name(request.app.state.settings))


def current_user(request: Request[Any, Any, Any]) -> User | None:
    """Dependency `viewer`: the signed-in user, or None."""
    user = request.scope.get("user")
    return user if isinstance(user, User) else None


def signed_in_user(request: Request[Any, Any, Any]) -> User:
    """Dependency `me`: the signed-in user; anyone else gets 401 (pages: the sign-in form)."""
    user = current_user(request)
    if user is None:
        raise NotAuthorizedException()
    return user


def instance_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: only instance administrators pass."""
    user = connection.scope.get("user")
    if not isinstance(user, User):
        raise NotAuthorizedException()
    if not user.is_instance_admin:
        raise PermissionDeniedException()
