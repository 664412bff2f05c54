"""Notifications' pages: the list (read and unread), email preferences, one-click unsubscribe."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.config import Settings
from consentir.errors import N_, DomainError
from consentir.notifications import store, unsubscribe
from consentir.notifications.kinds import sentence, sentence_values
from consentir.notifications.store import CATEGORIES, MODES
from consentir.web import boundary

FormData = URLEncodedBody[dict[str, Any]]
BAD_LINK = N_("This unsubscribe link is not valid. Choose what you receive from your settings.")


def _before(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) > boundary.INT64_MAX:
        raise DomainError("bad_cursor", N_("This page address is not valid."), status=400)
    return int(value)


@get("/notifications", name="notifications")
async def listing(
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    before: FromQuery[str] = "",
    unread: FromQuery[str] = "",
) -> Template:
    """The person's notifications, newest first, 30 a page (keyset on id)."""
    async with pool.acquire() as conn:
        items, more = await store.listing(
            conn, me.id, before=_before(before), unread_only=bool(unread)
        )
    return Template(
        "notifications/list.html",
        context={"items": items, "more": more, "unread_only": bool(unread),
                 "sentence": sentence, "sentence_values": sentence_values},
    )  # fmt: skip


@post("/notifications/{notification_id:int}/open")
async def open_one(
    notification_id: FromPath[int], me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool]
) -> Redirect:
    """Mark it read and go where it leads."""
    if notification_id > boundary.INT64_MAX:
        raise NotFoundException()
    async with db.transaction(pool) as conn:
        link = await store.open_one(conn, me.id, notification_id)
    if link is None:
        raise NotFoundException()
    return Redirect(link, status_code=303)


@post("/notifications/read")
async def mark_read(
    me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool], data: FormData
) -> Redirect:
    """Mark read everything up to the newest notification the page showed."""
    up_to = _before(str(data.get("up_to", ""))) or 0
    async with db.transaction(pool) as conn:
        await store.mark_all_read(conn, me.id, up_to)
    return Redirect("/notifications?done=read", status_code=303)


@get("/notifications/settings", name="notification_settings")
async def settings_page(
    me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool], saved: FromQuery[str] = ""
) -> Template:
    async with pool.acquire() as conn:
        preferences = await store.preferences(conn, me.id)
    return Template(
        "notifications/settings.html",
        context={"preferences": preferences, "modes": MODES, "saved": bool(saved)},
    )


@post("/notifications/settings")
async def save_settings(
    me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool], data: FormData
) -> Redirect:
    """Fields `mode-<space id>-<category>`; anything else, or a mode we do not know, is
    left out (the select offers only ours)."""
    choices: list[tuple[int, store.Category, store.Mode]] = []
    for name, value in data.items():
        prefix, _, rest = name.partition("-")
        space, _, category = rest.partition("-")
        if prefix != "mode" or not space.isdigit() or len(space) > 18:
            continue
        if category in CATEGORIES and value in MODES:
            choices.append((int(space), category, value))
    async with db.transaction(pool) as conn:
        await store.set_preferences(conn, me.id, choices)
    return Redirect("/notifications/settings?saved=1", status_code=303)


def _scope(settings: Settings, u: str, s: str, t: str) -> tuple[int, unsubscribe.Scope]:
    if not u.isdigit() or len(u) > 18:
        raise DomainError("bad_link", BAD_LINK, status=400)
    pairs = unsubscribe.verify(settings.secret_key or "", int(u), s, t)
    if pairs is None:
        raise DomainError("bad_link", BAD_LINK, status=400)
    return int(u), pairs


@get("/notifications/unsubscribe", name="unsubscribe")
async def unsubscribe_page(
    settings: NamedDependency[Settings],
    u: FromQuery[str] = "",
    s: FromQuery[str] = "",
    t: FromQuery[str] = "",
) -> Template:
    """Following the link asks once more (a link scanner must not unsubscribe anyone)."""
    _scope(settings, u, s, t)
    return Template(
        "notifications/unsubscribe.html", context={"u": u, "s": s, "t": t, "done": False}
    )


@post("/notifications/unsubscribe")
async def unsubscribe_now(
    settings: NamedDependency[Settings],
    pool: NamedDependency[asyncpg.Pool],
    u: FromQuery[str] = "",
    s: FromQuery[str] = "",
    t: FromQuery[str] = "",
) -> Response[Any]:
    """The one-click POST (RFC 8058), from the mail program or the page's button: no session,
    no CSRF token; the link's signature is the proof."""
    user_id, pairs = _scope(settings, u, s, t)
    async with db.transaction(pool) as conn:
        await store.set_preferences(conn, user_id, [(space, cat, "none") for space, cat in pairs])
    return Template("notifications/unsubscribe.html", context={"done": True})


routes = [listing, open_one, mark_read, settings_page, save_settings, unsubscribe_page,
          unsubscribe_now]  # fmt: skip
