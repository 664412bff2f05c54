"""The web shell: pages, languages, errors for people and for API clients, headers, health."""

import re
from urllib.parse import urlsplit

import asyncpg
import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from consentir import db
from consentir.errors import N_, DomainError

Client = AsyncTestClient[Litestar]


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


async def test_home_page_is_french_by_default(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "fr"
    html = response.text
    assert '<html lang="fr">' in html
    assert "Décider ensemble, par consentement" in html
    assert "Est-ce assez sûr pour essayer\u00a0?" in html
    assert 'href="#main"' in html and 'id="main"' in html  # skip link and its target
    assert re.search(r'<script src="/static/vendor/htmx\.min\.js\?v=\w+"></script>', html)


async def test_english_from_accept_language(client: Client) -> None:
    response = await client.get("/", headers={"accept-language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in response.text
    assert "Decide together, by consent" in response.text
    assert response.headers["content-language"] == "en"


async def test_language_switch_sets_a_cookie_and_returns(client: Client) -> None:
    token = csrf_from((await client.get("/")).text)
    response = await client.post(
        "/lang",
        data={"lang": "en", "next": "/?page=2", "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/?page=2"
    assert "lang=en" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    english = await client.get("/", headers={"accept-language": "fr"})
    assert '<html lang="en">' in english.text  # the cookie wins over the browser's language


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
async def test_language_switch_never_redirects_elsewhere(client: Client, target: str) -> None:
    token = csrf_from((await client.get("/")).text)
    response = await client.post(
        "/lang",
        data={"lang": "en", "next": target, "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


async def test_language_switch_refuses_unknown_language(client: Client) -> None:
    token = csrf_from((await client.get("/")).text)
    response = await client.post("/lang", data={"lang": "de", "_csrf_token": token})
    assert response.status_code == 422
    assert "lang=" not in response.headers.get("set-cookie", "")


async def test_state_change_without_csrf_token_is_refused(client: Client) -> None:
    await client.get("/")  # the CSRF cookie is set, but the form's token is missing
    response = await client.post("/lang", data={"lang": "en"})
    assert response.status_code == 403
    assert "lang=en" not in response.headers.get("set-cookie", "")


async def test_security_headers_on_pages_and_errors(client: Client) -> None:
    for path in ("/", "/no-such-page", "/healthz"):
        headers = (await client.get(path)).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


async def test_pages_are_private_and_vary_by_person_and_language(client: Client) -> None:
    page = await client.get("/")
    assert page.headers["cache-control"] == "private, no-cache"
    assert page.headers["vary"] == "Cookie, Accept-Language"
    static = await client.get("/static/consentir.css")
    assert "private" not in static.headers["cache-control"]


async def test_incoming_request_id_is_kept_when_sane(client: Client) -> None:
    kept = await client.get("/healthz", headers={"x-request-id": "lb-1234abcd"})
    assert kept.headers["x-request-id"] == "lb-1234abcd"
    replaced = await client.get("/healthz", headers={"x-request-id": "<script>"})
    assert replaced.headers["x-request-id"] != "<script>"


async def test_not_found_page_shows_its_request_id(client: Client) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Cette page n&#39;existe pas" in response.text
    assert f'<code class="request-id">{response.headers["x-request-id"]}</code>' in response.text


async def test_api_errors_are_problem_json(client: Client) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["code"] == "not_found"
    assert body["type"] == "urn:consentir:problem:not_found"
    assert body["instance"] == "/api/v1/no-such-thing"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_405(client: Client) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405


class Thing(msgspec.Struct):
    name: str = msgspec.field()
    size: int = 0


@post("/api/v1/things", sync_to_thread=False)
def make_thing(data: JSONBody[Thing]) -> Thing:
    if data.name == "taken":
        raise DomainError("name_taken", N_("This name is already taken."), field="name", status=409)
    return data


@get("/boom", sync_to_thread=False)
def boom() -> str:
    raise RuntimeError("an unexpected failure")


@get("/api/v1/boom", sync_to_thread=False)
def api_boom() -> str:
    raise RuntimeError("an unexpected failure")


@pytest.fixture
def app(app: Litestar) -> Litestar:
    """The real app, plus routes that fail on purpose. CSRF is skipped for them since the
    API's own token scheme comes with accounts."""
    for handler in (make_thing, boom, api_boom):
        handler.opt["exclude_from_csrf"] = True
        app.register(handler)
    return app


async def test_api_validation_errors_name_the_field(client: Client) -> None:
    response = await client.post("/api/v1/things", json={"name": "x", "size": "big"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert any("size" in error["field"] for error in body["errors"]), body


async def test_domain_error_carries_its_code_and_translated_message(client: Client) -> None:
    response = await client.post("/api/v1/things", json={"name": "taken"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "name_taken"
    assert body["errors"] == [{"field": "name", "message": "This name is already taken."}]


async def test_unexpected_error_is_a_friendly_page_with_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    rid = response.headers["x-request-id"]
    assert "Un problème est survenu de notre côté" in response.text
    assert rid in response.text
    assert "an unexpected failure" not in response.text  # no internals shown
    logged = [r for r in caplog.records if r.name == "consentir.web.errors"]
    assert logged and logged[0].exc_info is not None

    api = await client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.json()["code"] == "internal_error"
    assert "an unexpected failure" not in api.text


async def test_health_ok(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_unavailable_when_database_is_gone_then_back(
    client: Client, database: str, server_url: str
) -> None:
    name = urlsplit(database).path.lstrip("/")
    admin = await db.connect(server_url)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert (await client.get("/healthz")).status_code == 200
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_openapi_schema(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Consentir"
    assert "/healthz" in schema["paths"]
    assert "/" not in schema["paths"] and "/lang" not in schema["paths"]  # pages are not API


async def test_static_files_are_served_and_cached(client: Client) -> None:
    response = await client.get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "max-age" in response.headers["cache-control"]
    assert "set-cookie" not in response.headers


async def test_database_is_migrated_for_the_app(conn: asyncpg.Connection) -> None:
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 1


async def test_the_icon_is_found_where_browsers_look_for_it(client: Client) -> None:
    """/favicon.ico leads to our icon (the projector, files, tools ask for it)."""
    answer = await client.get("/favicon.ico", follow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("/static/favicon.svg")
    icon = await client.get(answer.headers["location"])
    assert icon.status_code == 200 and icon.text.lstrip().startswith("<svg")
