"""Roles and mandates through the JSON API: what each route answers, exactly; who may (401
without a token, 404 for what the token's owner may not see, 403 for a member where an
administrator or the holder is needed); problem+json naming the field for bad input; and a
write sent twice with one `Idempotency-Key` happens once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from consentir import db
from consentir.mandates import store
from consentir.mandates.rules import Term
from consentir.spaces.store import Space
from consentir.web import i18n
from tests.scenario import Scenario, adopt_proposal
from tests.web import Client, act_as

TREASURY = store.RoleText(
    name="Trésorerie", purpose="Tenir les comptes.", domain="Les dépenses sous 200 €.",
    accountabilities=["Tenir la caisse", "Présenter les comptes"], seats=2, term_months=12,
    consecutive_terms=2, eligibility="Membre depuis un an.",
)  # fmt: skip
SECRETARY = {
    "name": "Secrétariat", "purpose": "Tenir les registres.", "seats": 1, "term_months": 24,
    "accountabilities": ["Rédiger les comptes rendus", "  Archiver  "],
}  # fmt: skip


def today() -> date:
    return datetime.now(i18n.display_zone).date()


def bearer(world: Scenario, role: str, key: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {world.api_tokens[role]}"}
    if key is not None:
        headers["idempotency-key"] = key
    return headers


class Treasury:
    """Trésorerie (two seats) in alpha: `member` holds seat 1 from a month ago for a year,
    `facilitator` takes seat 1 after them, `target` held seat 2 last year; all granted by the
    scenario's adopted proposal (`number`)."""

    def __init__(self, role_id: int, mine: int, next_one: int, past: int, number: str) -> None:
        self.role_id, self.mine, self.next_one, self.past = role_id, mine, next_one, past
        self.number = number
        self.start = today() - timedelta(days=30)


async def treasury(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> Treasury:
    number = await adopt_proposal(pool, world)
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    start = today() - timedelta(days=30)
    async with db.transaction(pool) as conn:
        role_id = await store.record_preexisting_role(
            conn, alpha.id, TREASURY, actor_id=world.user_ids["admin"]
        )

        async def grant(seat: int, role: str, first: date, after_last: date) -> int:
            return await store.grant(conn, alpha.id, role_id, seat, world.user_ids[role],
                                     Term(first, after_last), decision_id=decision)  # fmt: skip

        mine = await grant(1, "member", start, start + timedelta(days=365))
        next_one = await grant(1, "facilitator", start + timedelta(days=365),
                               start + timedelta(days=730))  # fmt: skip
        past = await grant(2, "target", start - timedelta(days=400), start - timedelta(days=35))
    return Treasury(role_id, mine, next_one, past, number)


def person(world: Scenario, role: str) -> dict[str, Any]:
    return {"id": world.user_ids[role], "name": role.title()}


def mandate(
    world: Scenario, t: Treasury, mandate_id: int, role: str, seat: int, first: date,
    after_last: date, when: str, **changes: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": mandate_id, "space": "alpha", "role_id": t.role_id, "role_name": "Trésorerie",
        "seat": seat, "holder": person(world, role), "first": first.isoformat(),
        "last": (after_last - timedelta(days=1)).isoformat(), "ended_on": None,
        "end_reason": None, "decision": t.number, "when": when, **changes,
    }  # fmt: skip


def mandates_of(world: Scenario, t: Treasury) -> dict[str, dict[str, Any]]:
    """The treasury's three mandates as the API answers them today."""
    s = t.start
    return {
        "member": mandate(world, t, t.mine, "member", 1, s, s + timedelta(days=365), "current"),
        "facilitator": mandate(world, t, t.next_one, "facilitator", 1, s + timedelta(days=365),
                               s + timedelta(days=730), "future"),
        "target": mandate(world, t, t.past, "target", 2, s - timedelta(days=400),
                          s - timedelta(days=35), "past"),
    }  # fmt: skip


def treasury_role(world: Scenario, t: Treasury) -> dict[str, Any]:
    return {
        "id": t.role_id, "version": 1, "name": "Trésorerie", "purpose": "Tenir les comptes.",
        "domain": "Les dépenses sous 200 €.",
        "accountabilities": ["Tenir la caisse", "Présenter les comptes"], "seats": 2,
        "term_months": 12, "consecutive_terms": 2, "eligibility": "Membre depuis un an.",
        "preexisting": True, "retired_on": None,
        "seats_today": [
            {"seat": 1, "holder": person(world, "member"), "mandate_id": t.mine},
            {"seat": 2, "holder": None, "mandate_id": None},
        ],
    }  # fmt: skip


async def journal(pool: asyncpg.Pool, action: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM journal WHERE action = $1", action))


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


async def test_a_spaces_roles_and_a_role_with_its_holders(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")  # the API reads the token, never the cookie
    t = await treasury(pool, alpha, world)
    # `unsigned` may read the space, not act in it: reading roles is reading.
    listing = await client.get("/api/v1/spaces/alpha/roles", headers=bearer(world, "unsigned"))
    assert listing.status_code == 200, listing.text
    assert listing.json() == {"roles": [treasury_role(world, t)]}

    role = await client.get(f"/api/v1/spaces/alpha/roles/{t.role_id}",
                            headers=bearer(world, "unsigned"))  # fmt: skip
    assert role.status_code == 200, role.text
    held = mandates_of(world, t)
    assert role.json() == {
        **treasury_role(world, t),
        "current": [held["member"]], "future": [held["facilitator"]], "past": [held["target"]],
    }  # fmt: skip

    # Nobody signed in: 401; an outsider, another space, a role that is not there: 404.
    for url in ("/api/v1/spaces/alpha/roles", f"/api/v1/spaces/alpha/roles/{t.role_id}"):
        problem(await client.get(url), 401, "not_authenticated")
        problem(await client.get(url, headers=bearer(world, "outsider")), 404, "not_found")
    problem(await client.get(f"/api/v1/spaces/beta/roles/{t.role_id}",
                             headers=bearer(world, "member")), 404, "not_found")  # fmt: skip
    problem(await client.get("/api/v1/spaces/alpha/roles/999999", headers=bearer(world, "member")),
            404, "role_not_found")  # fmt: skip


async def test_only_administrators_record_a_role_once_per_key(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    url = "/api/v1/spaces/alpha/roles"
    problem(await client.post(url, json=SECRETARY), 401, "not_authenticated")
    problem(await client.post(url, json=SECRETARY, headers=bearer(world, "outsider")), 404,
            "not_found")  # fmt: skip
    for role in ("member", "facilitator"):
        refused = await client.post(url, json=SECRETARY, headers=bearer(world, role, "r-1"))
        problem(refused, 403, "admins_only")
    problem(await client.post(url, json=SECRETARY, headers=bearer(world, "unsigned")), 403,
            "charter_not_signed")  # fmt: skip

    # Bad bodies: 422, each naming its field; nothing recorded.
    admin = bearer(world, "admin")
    for wrong, field in (
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"purpose": " "}, "purpose"),
        ({"name": "Deux\nlignes"}, "name"),
        ({"seats": 0}, "seats"),
        ({"term_months": "douze"}, "term_months"),
        ({"consecutive_terms": 99}, "consecutive_terms"),
        ({"accountabilities": ["y" * 301]}, "accountabilities[0]"),
        ({"accountabilities": ["ok"] * 101}, "accountabilities"),
        ({"purpose": "x" * 2001}, "purpose"),
    ):
        bad = await client.post(url, json={**SECRETARY, **wrong}, headers=admin)
        assert bad.status_code == 422, (wrong, bad.text)
        assert fields(bad.json()) == {field}, (wrong, bad.text)
    blank = problem(await client.post(url, json={**SECRETARY, "name": " "}, headers=admin), 422,
                    "field_required")  # fmt: skip
    assert blank["errors"] == [{"field": "name", "message": "Ce champ est obligatoire."}]
    seats = problem(await client.post(url, json={**SECRETARY, "seats": 0}, headers=admin), 422,
                    "validation_failed")  # fmt: skip
    assert fields(seats) == {"seats"}
    missing = await client.post(url, json={"name": "Rien d'autre"}, headers=admin)
    assert "`purpose`" in problem(missing, 422, "validation_failed")["errors"][0]["message"]
    assert await pool.fetchval("SELECT count(*) FROM roles") == 0
    assert await journal(pool, "role.recorded") == 0

    done = await client.post(url, json=SECRETARY, headers=bearer(world, "admin", "r-1"))
    assert done.status_code == 201, done.text
    role_id = await pool.fetchval("SELECT id FROM roles")
    assert done.headers["location"] == f"/api/v1/spaces/alpha/roles/{role_id}"
    assert done.json() == {
        "id": role_id, "version": 1, "name": "Secrétariat", "purpose": "Tenir les registres.",
        "domain": "", "accountabilities": ["Rédiger les comptes rendus", "Archiver"],
        "seats": 1, "term_months": 24, "consecutive_terms": None, "eligibility": "",
        "preexisting": True, "retired_on": None,
        "seats_today": [{"seat": 1, "holder": None, "mandate_id": None}],
    }  # fmt: skip
    # Sent again with the same key (a client's retry): the first answer, nothing written.
    again = await client.post(url, json=SECRETARY, headers=bearer(world, "admin", "r-1"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == done.json() and again.headers["location"] == done.headers["location"]
    assert await pool.fetchval("SELECT count(*) FROM roles") == 1
    assert await journal(pool, "role.recorded") == 1
    # The same key for another role: refused, nothing recorded.
    other = await client.post(url, json={**SECRETARY, "name": "Autre"},
                              headers=bearer(world, "admin", "r-1"))  # fmt: skip
    problem(other, 422, "idempotency_key_reused")
    assert await pool.fetchval("SELECT count(*) FROM roles") == 1
    # Where it is, as GET answers it.
    shown = await client.get(done.headers["location"], headers=bearer(world, "member"))
    assert shown.json() == {**done.json(), "current": [], "future": [], "past": []}


async def test_my_mandates_and_a_spaces_mandates(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    t = await treasury(pool, alpha, world)
    held = mandates_of(world, t)
    for role in ("member", "facilitator", "target"):
        mine = await client.get("/api/v1/mandates", headers=bearer(world, role))
        assert mine.status_code == 200, mine.text
        assert mine.json() == {"mandates": [held[role]]}, role
    nothing = await client.get("/api/v1/mandates", headers=bearer(world, "outsider"))
    assert nothing.json() == {"mandates": []}  # nobody else's
    problem(await client.get("/api/v1/mandates"), 401, "not_authenticated")

    url = "/api/v1/spaces/alpha/mandates"
    everyone = await client.get(url, headers=bearer(world, "unsigned"))
    assert everyone.status_code == 200, everyone.text
    # By role, seat, then latest first.
    assert everyone.json() == {"mandates": [held["facilitator"], held["member"], held["target"]]}
    problem(await client.get(url), 401, "not_authenticated")
    problem(await client.get(url, headers=bearer(world, "outsider")), 404, "not_found")
    beta = await client.get("/api/v1/spaces/beta/mandates", headers=bearer(world, "member"))
    problem(beta, 404, "not_found")


async def test_the_holder_resigns_once_per_key_and_nobody_else_can(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    t = await treasury(pool, alpha, world)
    url = f"/api/v1/spaces/alpha/mandates/{t.mine}/resign"
    day = {"last_day": today().isoformat()}
    problem(await client.post(url, json=day), 401, "not_authenticated")
    problem(await client.post(url, json=day, headers=bearer(world, "outsider")), 404, "not_found")
    for other in ("target", "facilitator", "admin"):
        problem(await client.post(url, json=day, headers=bearer(world, other, "k")), 403,
                "not_holder")  # fmt: skip
    # Another space's address for it, a mandate that is not there: 404.
    member = bearer(world, "member")
    problem(await client.post(f"/api/v1/spaces/beta/mandates/{t.mine}/resign", json=day,
                              headers=member), 404, "not_found")  # fmt: skip
    problem(await client.post("/api/v1/spaces/alpha/mandates/999999/resign", json=day,
                              headers=member), 404, "mandate_not_found")  # fmt: skip
    # Their own mandate, over: 409.
    ended = await client.post(f"/api/v1/spaces/alpha/mandates/{t.past}/resign", json=day,
                              headers=bearer(world, "target"))  # fmt: skip
    problem(ended, 409, "mandate_ended")

    # The holder: a day before today, after the term, not a date, out of the window, none.
    yesterday = (today() - timedelta(days=1)).isoformat()
    outside = problem(await client.post(url, json={"last_day": yesterday}, headers=member), 422,
                      "last_day_outside_term")  # fmt: skip
    assert outside["errors"] == [{
        "field": "last_day",
        "message": "Le dernier jour doit tomber dans le mandat, à partir d’aujourd’hui.",
    }]  # fmt: skip
    for wrong, code in (
        ("2099-01-01", "last_day_outside_term"),
        ("demain", "validation_failed"),
        ("2200-01-01", "validation_failed"),
        (None, "validation_failed"),
    ):
        bad = problem(await client.post(url, json={"last_day": wrong}, headers=member), 422, code)
        assert fields(bad) == {"last_day"}, (wrong, bad)
    no_field = problem(await client.post(url, json={}, headers=member), 422, "validation_failed")
    assert "`last_day`" in no_field["errors"][0]["message"]
    problem(await client.post(url, headers=member), 422, "validation_failed")  # no body at all
    assert await pool.fetchval("SELECT ended_on FROM mandates WHERE id = $1", t.mine) is None
    assert await journal(pool, "mandate.resigned") == 0

    last = today() + timedelta(days=10)
    done = await client.post(url, json={"last_day": last.isoformat()},
                             headers=bearer(world, "member", "resign-1"))  # fmt: skip
    assert done.status_code == 200, done.text
    s = t.start
    assert done.json() == mandate(
        world, t, t.mine, "member", 1, s, last + timedelta(days=1), "current",
        ended_on=last.isoformat(), end_reason="resigned",
    )  # fmt: skip
    again = await client.post(url, json={"last_day": last.isoformat()},
                              headers=bearer(world, "member", "resign-1"))  # fmt: skip
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == done.json()
    assert await journal(pool, "mandate.resigned") == 1
    assert await pool.fetchval("SELECT ended_on FROM mandates WHERE id = $1", t.mine) == last
    # Without the key, a second resignation is refused: the mandate has an end already.
    problem(await client.post(url, json={"last_day": last.isoformat()}, headers=member), 409,
            "mandate_ended")  # fmt: skip
    # The seat is still held until the last day, as the role says.
    role = (await client.get(f"/api/v1/spaces/alpha/roles/{t.role_id}", headers=member)).json()
    assert role["current"] == [done.json()]


async def test_the_api_document_describes_roles_and_mandates(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    paths = document["paths"]
    expected = {
        ("/api/v1/spaces/{slug}/roles", "get"): "roles",
        ("/api/v1/spaces/{slug}/roles", "post"): "roles",
        ("/api/v1/spaces/{slug}/roles/{role_id}", "get"): "roles",
        ("/api/v1/mandates", "get"): "mandates",
        ("/api/v1/spaces/{slug}/mandates", "get"): "mandates",
        ("/api/v1/spaces/{slug}/mandates/{mandate_id}/resign", "post"): "mandates",
    }
    for (path, method), tag in expected.items():
        operation = paths[path][method]
        assert operation["tags"] == [tag], path
        assert operation["summary"], path
        assert operation["security"] == [{"bearer": []}], path
        assert "422" in operation["responses"] and "404" in operation["responses"], path
    resign = paths["/api/v1/spaces/{slug}/mandates/{mandate_id}/resign"]["post"]
    assert "200" in resign["responses"] and "201" not in resign["responses"]
    assert "201" in paths["/api/v1/spaces/{slug}/roles"]["post"]["responses"]
    # The pages of the same area are not part of the API's document.
    assert not any(path.startswith("/s/") or path == "/mandates" for path in paths)
