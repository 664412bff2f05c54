"""Bad input at the boundary: a clear 4xx, never a 500 (issue 9, item 6).

Each case was a reproduced server error: NUL bytes reaching PostgreSQL, integers beyond their
column's range, dates PostgreSQL or Python cannot handle, deeply nested JSON, line breaks in
one-line fields, unbounded lists, and bodies that are not JSON on the API. Also: data already
stored with such a value (inserted by SQL) never makes a page fail.
"""

from __future__ import annotations

import re
from typing import Any

from consentir import db
from tests.scenario import Scenario
from tests.test_proposals_web import NEW, step
from tests.web import Client, act_as, field_error, post_form

HUGE = "9" * 30  # beyond any integer column
INT64_PLUS_ONE = str(2**63)


def shows_error(html: str, field: str) -> bool:
    """The form came back with a message next to `field` (either form macro)."""
    return bool(field_error(html, field) or re.search(rf'id="e-{field}"', html))


def bearer(world: Scenario, role: str = "member") -> dict[str, str]:
    return {"authorization": f"Bearer {world.api_tokens[role]}"}


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


async def _api_step(client: Client, world: Scenario, verb: str, role: str, **data: Any) -> Any:
    url = f"/api/v1/spaces/alpha/proposals/{world.proposal_id}/steps/{verb}"
    return await client.post(url, json=data, headers=bearer(world, role))


# --- NUL ---------------------------------------------------------------------------------


async def test_nul_in_json_is_refused_per_field(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    response = await client.post(
        "/api/v1/spaces/alpha/proposals", json={**NEW, "title": "a\u0000b"}, headers=bearer(world)
    )
    assert_problem(response, 422, "title")
    response = await _api_step(client, world, "ask", "target", text="why\u0000?")
    assert_problem(response, 422, "text")


async def test_nul_in_a_form_shows_the_field_error(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "member")
    response = await post_form(client, "/s/alpha/proposals", {**NEW, "title": "a\x00b"})
    assert response.status_code == 422
    assert field_error(response.text, "title")
    act_as(client, world, "target")
    response = await post_form(client, f"/s/alpha/proposals/{world.proposal_id}/ask",
                               {"text": "why\x00?", "idempotency_key": "k\x00"})  # fmt: skip
    assert response.status_code == 422


async def test_nul_in_queries_and_paths(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "member")
    for url in ("/s/alpha/decisions?q=a%00b", "/s/alpha/proposals?after=a%00b",
                "/s/alpha/settings?saved=%00"):  # fmt: skip
        response = await client.get(url)
        assert response.status_code == 422, url
        assert "text/html" in response.headers["content-type"]
    for url in ("/s/al%00pha", "/s/alpha/decisions/AL-2026-%00", "/invitations/a%00b",
                "/password/reset/a%00b"):  # fmt: skip
        assert (await client.get(url)).status_code == 404, url
    act_as(client, world, "anonymous")
    for url in ("/api/v1/spaces/alpha/decisions?q=%00", "/api/v1/spaces/alpha/proposals?after=%00"):
        assert_problem(await client.get(url, headers=bearer(world)), 422)
    for url in ("/api/v1/spaces/al%00pha", "/api/v1/spaces/alpha/decisions/A%00"):
        assert_problem(await client.get(url, headers=bearer(world)), 404)


# --- integers ----------------------------------------------------------------------------


async def test_huge_integers_in_paths_are_not_found(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    for number in (HUGE, INT64_PLUS_ONE):
        for url in (f"/s/alpha/proposals/{number}", f"/s/alpha/meetings/{number}",
                    f"/s/alpha/meetings/{number}/meeting.ics"):  # fmt: skip
            assert (await client.get(url)).status_code == 404, url
        response = await post_form(client, f"/s/alpha/members/{number}/remove")
        assert response.status_code == 404
    act_as(client, world, "anonymous")
    response = await client.get(f"/api/v1/spaces/alpha/proposals/{HUGE}", headers=bearer(world))
    assert_problem(response, 404)


async def test_huge_integers_in_cursors_and_queries(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    for url in (
        f"/api/v1/spaces/alpha/proposals?after=2026-01-01T00:00:00%2B00:00~{HUGE}",
        f"/api/v1/spaces/alpha/decisions?after=2026-01-01T00:00:00%2B00:00~{INT64_PLUS_ONE}",
    ):
        assert_problem(await client.get(url, headers=bearer(world)), 422)
    # A query parameter that is no such number: 400, as any of the wrong type.
    url = f"/api/v1/spaces/alpha/members?after={HUGE}"
    assert_problem(await client.get(url, headers=bearer(world)), 400)
    act_as(client, world, "member")
    for url in (f"/s/alpha/members?after={HUGE}", f"/s/alpha/proposals/{world.proposal_id}"
                f"/diff?from_version={HUGE}"):  # fmt: skip
        assert 400 <= (await client.get(url)).status_code < 500, url


async def test_huge_integers_in_forms_and_json(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    url = f"/s/alpha/proposals/{world.proposal_id}"
    response = await step(client, world, "target", url, "position", stance="consent",
                          version=HUGE)  # fmt: skip
    assert response.status_code == 422
    act_as(client, world, "facilitator")
    response = await post_form(client, "/s/alpha/meetings", {
        "title": "AG", "starts_at": "2027-01-10T18:00", "facilitator": INT64_PLUS_ONE})  # fmt: skip
    assert response.status_code == 422
    assert shows_error(response.text, "facilitator")
    act_as(client, world, "anonymous")
    response = await _api_step(client, world, "answer", "member", question_id=2**70, text="x")
    assert_problem(response, 422, "question_id")


# --- dates -------------------------------------------------------------------------------


async def test_far_deadlines_and_meetings_are_refused(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    response = await _api_step(client, world, "deadline", "facilitator",
                                deadline="9999-12-31T23:00:00+00:00")  # fmt: skip
    assert_problem(response, 422, "deadline")
    act_as(client, world, "facilitator")
    response = await post_form(client, f"/s/alpha/proposals/{world.proposal_id}/deadline",
                               {"deadline": "9999-12-31T23:00"})  # fmt: skip
    assert response.status_code == 422
    response = await post_form(client, "/s/alpha/meetings",
                               {"title": "AG", "starts_at": "9999-12-31T23:00"})  # fmt: skip
    assert response.status_code == 422
    assert shows_error(response.text, "starts_at")
    act_as(client, world, "anonymous")
    for query in ("adopted_from=0001-01-01", "review_before=9999-12-31"):
        url = f"/api/v1/spaces/alpha/decisions?{query}"
        assert_problem(await client.get(url, headers=bearer(world)), 422)


async def test_year_one_cursors_are_refused(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    for path in ("proposals", "decisions"):
        url = f"/api/v1/spaces/alpha/{path}?after=0001-01-01T00:00:00~1"
        assert_problem(await client.get(url, headers=bearer(world)), 422)
    act_as(client, world, "member")
    response = await client.get("/s/alpha/proposals?after=0001-01-01T00:00:00~1")
    assert response.status_code == 422


async def test_stored_extreme_dates_never_break_a_page(
    client_world: tuple[Client, Scenario], database_url: str
) -> None:
    """Values written before these rules (or by hand) still show."""
    client, world = client_world
    conn = await db.connect(database_url)
    try:
        await conn.execute("UPDATE rounds SET deadline = '9999-12-31 23:59:59+00'")
        await conn.execute("UPDATE meetings SET starts_at = '9999-12-31 23:00:00+00'")
    finally:
        await conn.close()
    act_as(client, world, "member")
    for url in (f"/s/alpha/proposals/{world.proposal_id}", "/s/alpha/proposals", "/spaces",
                f"/s/alpha/meetings/{world.meeting_id}", "/s/alpha/meetings",
                f"/s/alpha/meetings/{world.meeting_id}/meeting.ics"):  # fmt: skip
        response = await client.get(url)
        assert response.status_code == 200, (url, response.text[-300:])
    response = await client.get(
        f"/api/v1/spaces/alpha/proposals/{world.proposal_id}", headers=bearer(world)
    )
    assert response.status_code == 200


# --- JSON shape --------------------------------------------------------------------------


async def test_deeply_nested_json_is_refused(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    body = '{"title": ' + "[" * 10000 + "]" * 10000 + "}"
    response = await client.post(
        "/api/v1/spaces/alpha/proposals", content=body,
        headers={**bearer(world), "content-type": "application/json"},
    )  # fmt: skip
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_supersedes_is_bounded(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    many = [f"AL-2026-{n}" for n in range(20000)]
    response = await client.post(
        "/api/v1/spaces/alpha/proposals", json={**NEW, "supersedes": many}, headers=bearer(world)
    )
    assert_problem(response, 422, "supersedes")


async def test_an_api_write_must_be_json(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    for kind in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**bearer(world), **({"content-type": kind} if kind else {})}
        response = await client.post(
            "/api/v1/spaces/alpha/proposals", content=b'{"title": "x"}', headers=headers
        )
        assert_problem(response, 415)
    response = await client.post(
        "/api/v1/spaces/alpha/proposals", json=NEW,
        headers={**bearer(world), "content-type": "application/json; charset=utf-8"},
    )  # fmt: skip
    assert response.status_code == 201


# --- line breaks in one-line fields ------------------------------------------------------


async def test_line_breaks_in_one_line_fields_are_refused(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "member")
    response = await post_form(client, "/profile", {"name": "Mem\rber", "locale": "fr"})
    assert response.status_code == 422
    assert field_error(response.text, "name")
    response = await post_form(client, "/s/alpha/proposals", {**NEW, "title": "a\nb"})
    assert response.status_code == 422
    assert field_error(response.text, "title")
    act_as(client, world, "admin")
    response = await post_form(client, "/s/alpha/settings", {
        "name": "Al\rpha", "decision_prefix": "AL", "version": "1"})  # fmt: skip
    assert response.status_code == 422
    assert field_error(response.text, "name")
    act_as(client, world, "anonymous")
    response = await client.post(
        "/api/v1/spaces/alpha/proposals", json={**NEW, "title": "title\n"}, headers=bearer(world)
    )
    assert_problem(response, 422, "title")


async def test_an_invitation_from_a_badly_named_person_still_goes(
    client_world: tuple[Client, Scenario], database_url: str
) -> None:
    client, world = client_world
    conn = await db.connect(database_url)
    try:
        await conn.execute("UPDATE users SET name = 'Ad\rmin' WHERE id = $1",
                           world.user_ids["admin"])  # fmt: skip
        await conn.execute("UPDATE spaces SET name = E'Al\\r\\npha' WHERE slug = 'alpha'")
    finally:
        await conn.close()
    act_as(client, world, "admin")
    response = await post_form(client, "/s/alpha/invitations", {"email": "new@example.org"})
    assert response.status_code == 303, response.text[-500:]
    act_as(client, world, "anonymous")
    response = await client.post("/api/v1/spaces/alpha/invitations",
                                 json={"email": "other@example.org"},
                                 headers=bearer(world, "admin"))  # fmt: skip
    assert response.status_code == 201
    assert (await client.get(f"/invitations/{world.invitation_token}")).status_code == 200
