"""Helpers to act on the app through HTTP as a given person, forms and CSRF included."""

from __future__ import annotations

import re
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

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


def field_error(html: str, field: str) -> str | None:
    """The error message shown next to a form field, if any."""
    match = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', html)
    return match.group(1) if match else None
