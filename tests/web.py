"""Helpers to act on the app through HTTP as a given person, forms and CSRF included."""

from __future__ import annotations

import re
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from consentir.consent.routes import MOVING_VERBS
from tests.scenario import Scenario

Client = AsyncTestClient[Litestar]
_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(client: Client) -> str:
    """A CSRF token for this client (its cookie is set by the same request)."""
    match = _TOKEN.search((await client.get("/signin")).text)
    assert match, "no CSRF token on the sign-in page"
    return match.group(1)


def act_as(client: Client, world: Scenario, role: str) -> None:
    """Make the client's next requests come from `role` (anonymous: no session)."""
    client.cookies.delete("session")
    if role != "anonymous":  # as the server would set it, so a new sign-in replaces it
        client.cookies.set("session", world.sessions[role], domain="127.0.0.1", path="/")


async def post_form(
    client: Client, path: str, data: dict[str, Any] | None = None, *, token: str | None = None
) -> httpx.Response:
    token = token or await csrf_token(client)
    return await client.post(
        path, data={**(data or {}), "_csrf_token": token}, follow_redirects=False
    )


_REVISION = re.compile(r'data-revision="(\d+)"')


async def page_revision(client: Client, url: str) -> str:
    """The revision the proposal page at `url` shows its reader (and its forms send)."""
    match = _REVISION.search((await client.get(url)).text)
    assert match, f"no revision on {url}"
    return match.group(1)


async def post_step(
    client: Client, url: str, verb: str, data: dict[str, Any] | None = None
) -> httpx.Response:
    """A step form sent from the proposal page at `url`, as a browser would send it (a step
    that moves the process with the revision the page showed)."""
    data = dict(data or {})
    if verb in MOVING_VERBS and "revision" not in data:
        data["revision"] = await page_revision(client, url)
    return await post_form(client, f"{url}/{verb}", data)


def field_error(html: str, field: str) -> str | None:
    """The error message shown next to a form field, if any."""
    match = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else None
