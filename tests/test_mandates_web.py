"""Roles and mandates on the web: the space's roles and a role's page for those who may see
the space (404 for anyone else), a role recorded by administrators only (a wrong form comes
back with its messages, never a 500), and "Mes mandats" where the holder, and only the holder,
resigns."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import asyncpg

from consentir import db
from consentir.mandates import store
from consentir.mandates.rules import Term
from consentir.spaces.store import Space
from consentir.web import i18n
from tests.scenario import Scenario, adopt_proposal
from tests.web import Client, act_as, field_error, post_form

TREASURY = store.RoleText(
    name="Trésorerie", purpose="Tenir les comptes.", domain="Les dépenses sous 200 €.",
    accountabilities=["Tenir la caisse", "Présenter les comptes"], seats=2, term_months=12,
    consecutive_terms=2, eligibility="Membre depuis un an.",
)  # fmt: skip


def today() -> date:
    return datetime.now(i18n.display_zone).date()


async def treasury(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> tuple[int, int, int, str]:
    """Trésorerie (two seats): `member` holds seat 1 from a month ago for a year, granted by
    the scenario's adopted proposal; `target` held seat 2 last year. (role, member's mandate,
    target's mandate, the decision's number)."""
    number = await adopt_proposal(pool, world)
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    start = today() - timedelta(days=30)
    async with db.transaction(pool) as conn:
        role_id = await store.record_preexisting_role(
            conn, alpha.id, TREASURY, actor_id=world.user_ids["admin"]
        )
        mine = await store.grant(
            conn, alpha.id, role_id, 1, world.user_ids["member"],
            Term(start, start + timedelta(days=365)), decision_id=decision,
        )  # fmt: skip
        past = await store.grant(
            conn, alpha.id, role_id, 2, world.user_ids["target"],
            Term(start - timedelta(days=400), start - timedelta(days=35)), decision_id=decision,
        )  # fmt: skip
    return role_id, mine, past, number


def text(html: str) -> str:
    """The page's words, tags and runs of spaces removed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_members_see_the_roles_and_a_role_page_outsiders_do_not(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    role_id, _mine, _past, number = await treasury(pool, alpha, world)
    act_as(client, world, "unsigned")  # may read the space, not act in it
    listing = await client.get("/s/alpha/roles")
    assert listing.status_code == 200
    words = text(listing.text)
    assert "Trésorerie" in words and "2 sièges" in words
    assert "Siège 1 : Member" in words and "Siège 2 : vacant" in words
    assert 'href="/s/alpha/roles"' in listing.text and 'aria-current="page"' in listing.text
    assert "/s/alpha/roles/new" not in listing.text  # recording is for administrators

    page = await client.get(f"/s/alpha/roles/{role_id}")
    assert page.status_code == 200
    words = text(page.text)
    assert "antérieur à Consentir" in words
    assert "Tenir les comptes." in words and "Les dépenses sous 200 €." in words
    assert "Tenir la caisse" in words and "Présenter les comptes" in words
    assert "2 au plus" in words and "12 mois" in words and "Membre depuis un an." in words
    # Holders now and before, each with the decision that granted the seat.
    now, before = words.split("Anciens titulaires")
    assert "Member" in now and "Target" not in now
    assert f"confié par la décision {number}" in now and "Target" in before
    assert f'href="/s/alpha/decisions/{number}"' in page.text
    assert "Mandat mené à son terme" in before

    for outsider in ("outsider",):
        act_as(client, world, outsider)
        assert (await client.get("/s/alpha/roles")).status_code == 404
        assert (await client.get(f"/s/alpha/roles/{role_id}")).status_code == 404
    act_as(client, world, "member")
    assert (await client.get("/s/alpha/roles/999999")).status_code == 404
    assert (await client.get("/s/beta/roles")).status_code == 404


async def test_only_administrators_record_a_role_and_a_wrong_form_comes_back(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    good = {"name": "Secrétariat", "purpose": "Tenir les registres.", "seats": "1",
            "term_months": "24", "accountabilities": "Rédiger les comptes rendus\n\n  Archiver  ",
            "idempotency_key": "k-1"}  # fmt: skip
    for role in ("member", "facilitator"):
        act_as(client, world, role)
        assert (await client.get("/s/alpha/roles/new")).status_code == 403
        assert (await post_form(client, "/s/alpha/roles/new", good)).status_code == 403
    assert await pool.fetchval("SELECT count(*) FROM roles") == 0

    act_as(client, world, "admin")
    assert (await client.get("/s/alpha/roles")).text.count("/s/alpha/roles/new") == 1
    wrong = {**good, "name": "", "seats": "0", "term_months": "douze",
             "consecutive_terms": "99", "purpose": "x" * 2001,
             "accountabilities": "y" * 301}  # fmt: skip
    refused = await post_form(client, "/s/alpha/roles/new", wrong)
    assert refused.status_code == 422
    html = refused.text
    assert field_error(html, "name") == "Ce champ est obligatoire."
    assert field_error(html, "seats") == "Saisissez un nombre entre 1 et 50."
    assert field_error(html, "term_months") is not None
    assert field_error(html, "consecutive_terms") == "Saisissez un nombre entre 1 et 20."
    assert field_error(html, "purpose") == "2000 caractères au maximum."
    assert 'class="form-errors"' in html and "y" * 301 in html  # what was typed is kept
    # The fields pass, the lines do not: one line too long.
    long_line = await post_form(client, "/s/alpha/roles/new",
                                {**good, "accountabilities": "y" * 301})  # fmt: skip
    assert long_line.status_code == 422
    assert field_error(long_line.text, "accountabilities") == "300 caractères au maximum par ligne."
    for evil in ("Nom\nsur deux lignes", "nul\x00"):
        bad = await post_form(client, "/s/alpha/roles/new", {**good, "name": evil})
        assert bad.status_code == 422, evil
    assert await pool.fetchval("SELECT count(*) FROM roles") == 0

    done = await post_form(client, "/s/alpha/roles/new", good)
    assert done.status_code == 303
    location = done.headers["location"]
    again = await post_form(client, "/s/alpha/roles/new", good)  # a double click
    assert again.status_code == 303 and again.headers["location"] == location
    assert await pool.fetchval("SELECT count(*) FROM roles") == 1
    page = await client.get(location)
    words = text(page.text)
    assert "Le rôle est enregistré." in words and "antérieur à Consentir" in words
    assert re.search(r"<li>Rédiger les comptes rendus</li><li>Archiver</li>", page.text)
    assert "sans limite" in words and "Siège 1" not in words and "vacant" in words
    action = await pool.fetchval("SELECT action FROM journal WHERE subject_type = 'role'")
    assert action == "role.recorded"


async def test_the_holder_resigns_from_my_mandates_and_nobody_else_can(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    role_id, mine, past, number = await treasury(pool, alpha, world)
    act_as(client, world, "member")
    page = await client.get("/mandates")
    assert page.status_code == 200
    assert 'href="/mandates"' in page.text  # in the header
    current = text(page.text).split("Mandats passés")[0]
    assert "Trésorerie" in current and "Alpha" in current and "siège 1" in current
    assert f'href="/s/alpha/decisions/{number}"' in page.text
    assert f'action="/s/alpha/mandates/{mine}/resign"' in page.text
    assert f"/mandates/{past}/resign" not in page.text  # target's, and over

    resign = f"/s/alpha/mandates/{mine}/resign"
    # Someone else cannot end it, whatever their role in the space.
    for other in ("target", "facilitator", "admin"):
        act_as(client, world, other)
        refused = await post_form(client, resign, {"last_day": today().isoformat()})
        assert refused.status_code == 403, other
    act_as(client, world, "outsider")
    assert (await post_form(client, resign, {"last_day": today().isoformat()})).status_code == 404
    act_as(client, world, "target")  # their own mandate, ended long ago
    ended = await post_form(client, f"/s/alpha/mandates/{past}/resign",
                            {"last_day": today().isoformat()})  # fmt: skip
    assert ended.status_code == 409
    assert field_error(ended.text, f"last_day-{past}") == "Ce mandat a déjà pris fin."
    # Another space's address for this mandate: it is not there.
    act_as(client, world, "member")
    assert (await post_form(client, "/s/beta/mandates/1/resign", {})).status_code == 404

    # The holder: a day before today, or after the term, is refused next to the field.
    for wrong in ((today() - timedelta(days=1)).isoformat(), "2099-01-01", "demain", ""):
        refused = await post_form(client, resign, {"last_day": wrong})
        assert refused.status_code == 422, wrong
        assert field_error(refused.text, f"last_day-{mine}"), wrong
    assert await pool.fetchval("SELECT ended_on FROM mandates WHERE id = $1", mine) is None

    last = today() + timedelta(days=10)
    done = await post_form(client, resign, {"last_day": last.isoformat()})
    assert done.status_code == 303
    assert done.headers["location"] == f"/mandates?resigned={mine}#mandate-{mine}"
    after = await client.get(done.headers["location"])
    words = text(after.text)
    assert "Votre démission est enregistrée" in words
    # Still current until its last day, the form gone: it says how it ends instead.
    assert "Fin anticipée : démission" in words and f'action="{resign}"' not in after.text
    assert await pool.fetchval("SELECT ended_on FROM mandates WHERE id = $1", mine) == last
    # Still current until its last day, now shown as ending then.
    async with pool.acquire() as conn:
        [held] = await store.my_mandates(conn, world.user_ids["member"])
    assert held.term.last == last and held.end_reason == "resigned"
    role_page = text((await client.get(f"/s/alpha/roles/{role_id}")).text)
    assert "Member" in role_page.split("Anciens titulaires")[0]
    actions = await pool.fetch(
        "SELECT action, actor_id FROM journal WHERE action = 'mandate.resigned'"
    )
    assert [(a["action"], a["actor_id"]) for a in actions] == [
        ("mandate.resigned", world.user_ids["member"])
    ]


async def test_a_past_resignation_shows_how_the_mandate_ended(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """A successor who withdraws before beginning, and a mandate ended early, as the role
    page and "Mes mandats" tell them."""
    client, world = client_world
    role_id, _mine, _past, _number = await treasury(pool, alpha, world)
    start = today() - timedelta(days=30)
    decision = await pool.fetchval("SELECT min(id) FROM decisions")
    async with db.transaction(pool) as conn:
        successor = await store.grant(
            conn, alpha.id, role_id, 1, world.user_ids["facilitator"],
            Term(start + timedelta(days=365), start + timedelta(days=730)), decision_id=decision,
        )  # fmt: skip
    act_as(client, world, "facilitator")
    page = await client.get("/mandates")
    assert "Mandats à venir" in text(page.text)
    assert f'action="/s/alpha/mandates/{successor}/resign"' in page.text
    first = start + timedelta(days=365)
    done = await post_form(client, f"/s/alpha/mandates/{successor}/resign",
                           {"last_day": (first - timedelta(days=1)).isoformat()})  # fmt: skip
    assert done.status_code == 303
    past = text((await client.get("/mandates")).text).split("Mandats passés")[1]
    assert "retiré avant son début" in past and "Fin anticipée : démission" in past
    role_page = text((await client.get(f"/s/alpha/roles/{role_id}")).text)
    before = role_page.split("Anciens titulaires")[1]
    assert "Facilitator" in before and "Fin anticipée : démission" in before

    act_as(client, world, "outsider")  # nothing of theirs: an empty page, no one else's
    empty = text((await client.get("/mandates")).text)
    assert "Vous n'exercez aucun mandat aujourd'hui." in empty and "Trésorerie" not in empty
    act_as(client, world, "anonymous")
    response = await client.get("/mandates", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/signin")
