"""The parts of the site that belong to no area: home page, health check, language switch."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts import store as accounts
from consentir.accounts.store import User
from consentir.config import Settings
from consentir.web.errors import RETRY_AFTER_UNAVAILABLE
from consentir.web.i18n import LOCALE_COOKIE
from consentir.web.templates import static_url


@get("/", include_in_schema=False, name="home")
async def home(
    viewer: NamedDependency[User | None], settings: NamedDependency[Settings]
) -> Template | Redirect:
    """Visitors learn what Consentir is and how to join; signed-in people go to their spaces."""
    if viewer is not None:
        return Redirect("/spaces", status_code=303)
    return Template("home.html", context={"signup_open": settings.signup_open})


@get("/favicon.ico", include_in_schema=False, name="favicon", cache=86400)
async def favicon() -> Redirect:
    """Browsers and tools ask for /favicon.ico whatever the page says: our icon."""
    return Redirect(static_url("favicon.svg"), status_code=302)  # (the address changes with it)


class Health(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unreachable"]


@get("/healthz", tags=["operations"], summary="Liveness and database reachability", cache=False)
async def healthz(pool: NamedDependency[asyncpg.Pool]) -> Response[Health]:
    """200 when the database answers within two seconds, 503 with Retry-After otherwise."""
    if await db.ping(pool):
        return Response(Health("ok", "ok"), status_code=200)
    return Response(
        Health("unavailable", "unreachable"),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
    )


class LanguageChoice(msgspec.Struct):
    lang: Literal["fr", "en"]
    next: Annotated[str, msgspec.Meta(max_length=2000)] = "/"


def local_path(target: str) -> str:
    """`target` if it is a path on this site, else "/": never redirect elsewhere."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/"


ONE_YEAR = 365 * 24 * 3600


@post("/lang", include_in_schema=False, name="switch_language")
async def switch_language(
    data: URLEncodedBody[LanguageChoice],
    settings: NamedDependency[Settings],
    viewer: NamedDependency[User | None],
    pool: NamedDependency[asyncpg.Pool],
) -> Redirect:
    if viewer is not None:  # signed in: the choice is kept with the account
        async with pool.acquire() as conn:
            await accounts.set_locale(conn, viewer.id, data.lang)
    response = Redirect(local_path(data.next), status_code=303)
    response.set_cookie(
        LOCALE_COOKIE,
        data.lang,
        max_age=ONE_YEAR,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    return response


routes = [home, favicon, healthz, switch_language]
