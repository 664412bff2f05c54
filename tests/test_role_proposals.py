"""Creating or changing a role is a consent decision: a proposal of kind "role" carries the
role's text in each version, and its adoption writes the role, linked to the decision, in
the same transaction."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import asyncpg
import msgspec
import pytest

from consentir import db
from consentir.consent import rules, store
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.errors import DomainError
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.mandates.store import RoleText
from consentir.spaces.store import Space
from tests.process import act, person
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form

SECRETARY = RoleText(
    name="Secrétariat", purpose="Garder la mémoire du collectif.", domain="Les comptes rendus.",
    accountabilities=["Rédiger les comptes rendus", "Tenir l'agenda"], seats=1, term_months=12,
)  # fmt: skip
PROPOSAL = Content(title="Créer le secrétariat", driver="Personne ne tient les comptes rendus.",
                   body="Un rôle de secrétariat, pour un an.", role=SECRETARY)  # fmt: skip


async def adopt(pool: asyncpg.Pool, space: Space, world: Scenario, proposal_id: int) -> str:
    """Take a draft of member's through the process, everyone consenting; its number."""
    facilitator = person(world, "facilitator")
    await act(pool, space, proposal_id, person(world, "member"), rules.Submit(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    for role in ("facilitator", "admin", "target"):
        who = person(world, role)
        version = await pool.fetchval("SELECT version FROM proposals WHERE id = $1", proposal_id)
        await act(pool, space, proposal_id, who, rules.GivePosition(who.user_id, Stance.CONSENT,
                                                                   version))  # fmt: skip
    await act(pool, space, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    number = await pool.fetchval("SELECT number FROM decisions WHERE proposal_id = $1", proposal_id)
    assert number, "adopted"
    return str(number)


async def draft(pool: asyncpg.Pool, space: Space, world: Scenario, content: Content,
                role_id: int | None = None) -> int:  # fmt: skip
    async with db.transaction(pool) as conn:
        return await store.create(conn, space, person(world, "member"), content, role_id=role_id)


async def test_adopting_a_role_proposal_creates_the_role_linked_to_its_decision(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    pid = await draft(pool, alpha, world, PROPOSAL)
    assert await pool.fetchval("SELECT kind FROM proposals WHERE id = $1", pid) == "role"
    assert await pool.fetchval("SELECT count(*) FROM roles") == 0  # nothing before consent
    number = await adopt(pool, alpha, world, pid)
    async with pool.acquire() as conn:
        [role] = await mandates.roles(conn, alpha.id)
    assert role.text == SECRETARY and role.version == 1 and not role.preexisting
    linked = await pool.fetchval(
        "SELECT d.number FROM role_versions v JOIN decisions d ON d.id = v.decision_id"
        " WHERE v.role_id = $1 AND v.number = 1",
        role.id,
    )
    assert linked == number
    assert await pool.fetchval("SELECT role_id FROM proposals WHERE id = $1", pid) == role.id
    assert await pool.fetchval("SELECT count(*) FROM journal WHERE action = 'role.adopted'") == 1

    # Changing it is another decision: version 2 of the role, with two seats now.
    two_seats = msgspec.structs.replace(SECRETARY, seats=2)
    change = Content(title="Deux sièges au secrétariat", driver="Trop de travail.",
                     body="Le secrétariat a deux sièges.", role=two_seats)  # fmt: skip
    second = await draft(pool, alpha, world, change, role_id=role.id)
    decision = await adopt(pool, alpha, world, second)
    async with pool.acquire() as conn:
        changed = await mandates.role(conn, alpha.id, role.id)
    assert changed.version == 2 and changed.text.seats == 2
    # The second seat exists now: a mandate can be granted on it.
    decision_id = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", decision)
    async with db.transaction(pool) as conn:
        term = Term(date(2027, 1, 1), date(2028, 1, 1))
        await mandates.grant(conn, alpha.id, role.id, 2, world.user_ids["target"], term,
                             decision_id=decision_id)  # fmt: skip


async def test_a_new_version_keeps_the_role_text_and_ordinary_proposals_make_no_role(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    pid = await draft(pool, alpha, world, PROPOSAL)
    await act(pool, alpha, pid, person(world, "member"), rules.Submit(frozenset()))
    retitled = Content(title="Créer un secrétariat", driver="d", body="b")
    await act(pool, alpha, pid, person(world, "member"), rules.PublishVersion(frozenset()),
              retitled)  # fmt: skip
    texts = await pool.fetch(
        "SELECT role_text FROM proposal_versions WHERE proposal_id = $1 ORDER BY number", pid
    )
    assert texts[0]["role_text"] == texts[1]["role_text"] and texts[1]["role_text"]["seats"] == 1
    ordinary = await draft(pool, alpha, world, Content(title="Vélos", driver="d", body="b"))
    await adopt(pool, alpha, world, ordinary)
    assert await pool.fetchval("SELECT count(*) FROM roles") == 0


async def test_a_role_of_another_space_or_a_change_without_text_is_refused(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    beta = await pool.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    async with db.transaction(pool) as conn:
        admin = world.user_ids["admin"]
        other = await mandates.record_preexisting_role(conn, beta, SECRETARY, actor_id=admin)
    with pytest.raises(DomainError) as elsewhere:
        await draft(pool, alpha, world, PROPOSAL, role_id=other)
    assert elsewhere.value.status == 404
    async with db.transaction(pool) as conn:
        mine = await mandates.record_preexisting_role(conn, alpha.id, SECRETARY,
                                                      actor_id=world.user_ids["admin"])  # fmt: skip
    with pytest.raises(DomainError) as textless:
        await draft(pool, alpha, world, Content(title="t", driver="d", body="b"), role_id=mine)
    assert textless.value.code == "role_text_required"


async def test_the_api_takes_a_role_proposal(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool
) -> None:
    act_as(scenario_client, world, "anonymous")
    headers = {"authorization": f"Bearer {world.api_tokens['member']}"}
    body = {"title": "Créer le secrétariat", "driver": "Pourquoi", "body": "Quoi",
            "role": {"name": "Secrétariat", "purpose": "p", "domain": "d",
                     "accountabilities": ["Rédiger"], "seats": 1, "term_months": 12}}  # fmt: skip
    made = await scenario_client.post("/api/v1/spaces/alpha/proposals", json=body, headers=headers)
    assert made.status_code == 201, made.text
    row = await pool.fetchrow(
        "SELECT p.kind, v.role_text FROM proposals p JOIN proposal_versions v"
        " ON v.proposal_id = p.id WHERE p.id = $1",
        made.json()["id"],
    )
    assert row["kind"] == "role" and row["role_text"]["name"] == "Secrétariat"
    bad = {**body, "role": {**body["role"], "seats": 0}}
    refused = await scenario_client.post("/api/v1/spaces/alpha/proposals", json=bad,
                                         headers=headers)  # fmt: skip
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")


# --- the browser form -----------------------------------------------------------------------

FORM = {"kind": "role", "title": "", "driver": "Personne ne tient les comptes rendus.",
        "body": "Un secrétariat, pour six mois.", "name": "Secrétariat",
        "purpose": "Garder la mémoire du collectif.", "domain": "Les comptes rendus.",
        "accountabilities": "Rédiger les comptes rendus\n\n  Tenir   l'agenda \n", "seats": "2",
        "term_months": "6", "consecutive_terms": "", "eligibility": ""}  # fmt: skip


def words(page: str) -> str:
    """The page's words, tags and runs of spaces removed, entities read."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def value_of(page: str, field: str) -> str:
    """What a form's input or textarea shows."""
    shown = r'(?:value="([^"]*)"|>([^<]*)</textarea>)'
    found = re.search(rf'id="f-{field}" name="{field}"[^>]*?{shown}', page)
    assert found, f"no field {field}"
    return html.unescape(found.group(1) if found.group(1) is not None else found.group(2))


async def recorded(pool: asyncpg.Pool, space_id: int, world: Scenario) -> int:
    """The secretary, recorded as a role the space had before (by alpha's administrator)."""
    async with db.transaction(pool) as conn:
        admin = world.user_ids["admin"]
        return await mandates.record_preexisting_role(conn, space_id, SECRETARY, actor_id=admin)


async def test_a_member_proposes_a_new_role_with_the_form(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool
) -> None:
    act_as(scenario_client, world, "member")
    roles = await scenario_client.get("/s/alpha/roles")
    assert 'href="/s/alpha/proposals/new?kind=role"' in roles.text
    blank = await scenario_client.get("/s/alpha/proposals/new?kind=role")
    assert blank.status_code == 200
    assert "Proposer un nouveau rôle" in words(blank.text)
    assert 'name="kind" value="role"' in blank.text and 'name="role_id"' not in blank.text
    assert value_of(blank.text, "seats") == "1" and value_of(blank.text, "term_months") == "12"
    plain = await scenario_client.get("/s/alpha/proposals/new")  # an ordinary proposal
    assert 'id="f-seats"' not in plain.text and 'name="kind"' not in plain.text

    made = await post_form(scenario_client, "/s/alpha/proposals",
                           {**FORM, "idempotency_key": "role-1"})  # fmt: skip
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    again = await post_form(
        scenario_client, "/s/alpha/proposals", {**FORM, "idempotency_key": "role-1"}
    )  # a double click
    assert again.headers["location"] == location
    pid = int(location.rsplit("/", 1)[1])
    row = await pool.fetchrow(
        "SELECT p.kind, p.role_id, p.title, v.role_text FROM proposals p"
        " JOIN proposal_versions v ON v.proposal_id = p.id WHERE p.id = $1",
        pid,
    )
    assert row["kind"] == "role" and row["role_id"] is None
    assert row["title"] == "Créer le rôle Secrétariat"  # the title left empty names the role
    assert msgspec.convert(row["role_text"], RoleText) == RoleText(
        name="Secrétariat", purpose="Garder la mémoire du collectif.",
        domain="Les comptes rendus.", accountabilities=["Rédiger les comptes rendus",
                                                        "Tenir l'agenda"],
        seats=2, term_months=6,
    )  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM proposals WHERE kind = 'role'") == 1
    page = words((await scenario_client.get(location)).text)
    assert "Le nouveau rôle" in page and "Ce qui change" not in page
    assert "Raison d'être Garder la mémoire du collectif." in page
    assert "Durée du mandat 6 mois" in page and "Mandats consécutifs sans limite" in page
    assert "Qui peut l'exercer tout membre de l'espace" in page
    assert "Rédiger les comptes rendus Tenir l'agenda" in page


async def test_a_wrong_role_form_comes_back_with_each_error_next_to_its_field(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool
) -> None:
    act_as(scenario_client, world, "member")
    wrong = {**FORM, "driver": "", "name": "", "seats": "0", "term_months": "douze",
             "consecutive_terms": "99", "purpose": "x" * 2001}  # fmt: skip
    refused = await post_form(scenario_client, "/s/alpha/proposals", wrong)
    assert refused.status_code == 422
    page = refused.text
    assert field_error(page, "driver") == "Ce champ est obligatoire."
    assert field_error(page, "name") == "Ce champ est obligatoire."
    # The title is left empty and no name gives it one: required, like any proposal's.
    assert field_error(page, "title") == "Ce champ est obligatoire."
    assert field_error(page, "seats") == "Saisissez un nombre entre 1 et 50."
    assert field_error(page, "term_months") is not None
    assert field_error(page, "consecutive_terms") == "Saisissez un nombre entre 1 et 20."
    assert field_error(page, "purpose") == "2000 caractères au maximum."
    assert 'class="form-errors"' in page and 'name="kind" value="role"' in page
    assert value_of(page, "body") == FORM["body"]  # what was typed is kept
    # The fields pass, one line of the accountabilities does not (the roles' own rule).
    long_line = await post_form(scenario_client, "/s/alpha/proposals",
                                {**FORM, "accountabilities": "ok\n" + "y" * 301})  # fmt: skip
    assert long_line.status_code == 422
    assert field_error(long_line.text, "accountabilities") == "300 caractères au maximum par ligne."
    assert value_of(long_line.text, "title") == "Créer le rôle Secrétariat"
    for evil in ({"name": "Nom\nsur deux lignes"}, {"role_id": "abc"}, {"kind": "autre"}):
        bad = await post_form(scenario_client, "/s/alpha/proposals", {**FORM, **evil})
        assert bad.status_code == 422, evil
    for query in ("kind=autre", "role_id=abc", "role_id=0"):  # a forged address
        assert (await scenario_client.get(f"/s/alpha/proposals/new?{query}")).status_code == 400
    assert await pool.fetchval("SELECT count(*) FROM proposals WHERE kind = 'role'") == 0


async def test_a_change_starts_from_the_role_text_and_shows_what_differs(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    role_id = await recorded(pool, alpha.id, world)
    act_as(scenario_client, world, "member")
    role_page = await scenario_client.get(f"/s/alpha/roles/{role_id}")
    link = f"/s/alpha/proposals/new?role_id={role_id}"
    assert f'href="{link}"' in role_page.text
    form = await scenario_client.get(link)
    assert form.status_code == 200
    assert "Proposer une modification du rôle Secrétariat" in words(form.text)
    assert value_of(form.text, "title") == "Modifier le rôle Secrétariat"
    assert value_of(form.text, "name") == "Secrétariat"
    assert value_of(form.text, "accountabilities") == "Rédiger les comptes rendus\nTenir l'agenda"
    assert value_of(form.text, "seats") == "1" and value_of(form.text, "term_months") == "12"
    assert f'name="role_id" value="{role_id}"' in form.text

    changed = {**FORM, "role_id": str(role_id), "title": "Modifier le rôle Secrétariat",
               "purpose": SECRETARY.purpose, "domain": SECRETARY.domain,
               "accountabilities": "Rédiger les comptes rendus\nArchiver", "seats": "2",
               "term_months": "12"}  # fmt: skip
    made = await post_form(scenario_client, "/s/alpha/proposals", changed)
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    pid = int(location.rsplit("/", 1)[1])
    assert await pool.fetchval("SELECT role_id FROM proposals WHERE id = $1", pid) == role_id
    page = (await scenario_client.get(location)).text
    said = words(page)
    assert "Cette proposition modifie le rôle Secrétariat" in said
    assert "Ce qui change" in said
    assert re.search(r'data-field="seats">\s*<span class="visually-hidden">Avant : </span>'
                     r"<del>1</del>", page)  # fmt: skip
    assert "<ins>2</ins>" in page
    assert "<del>Tenir l&#39;agenda</del>" in page and "<ins>Archiver</ins>" in page
    assert 'data-field="purpose"' not in page and 'data-field="name"' not in page

    # The draft's edit page keeps the role's fields; saving changes the role's text too.
    edit = await scenario_client.get(f"{location}/edit")
    assert edit.status_code == 200 and value_of(edit.text, "seats") == "2"
    assert value_of(edit.text, "accountabilities") == "Rédiger les comptes rendus\nArchiver"
    revision = re.search(r'name="revision" value="(\d+)"', edit.text)
    assert revision is not None
    wrong = await post_form(scenario_client, f"{location}/edit",
                            {**changed, "revision": revision.group(1), "seats": "51"})  # fmt: skip
    assert wrong.status_code == 422
    assert field_error(wrong.text, "seats") == "Saisissez un nombre entre 1 et 50."
    saved = await post_form(scenario_client, f"{location}/edit",
                            {**changed, "revision": revision.group(1), "seats": "3",
                             "role_id": "999999"})  # which role stays as written  # fmt: skip
    assert saved.status_code == 303, saved.text
    row = await pool.fetchrow(
        "SELECT p.role_id, v.role_text FROM proposals p JOIN proposal_versions v"
        " ON v.proposal_id = p.id WHERE p.id = $1",
        pid,
    )
    assert row["role_id"] == role_id and row["role_text"]["seats"] == 3

    number = await adopt(pool, alpha, world, pid)
    async with pool.acquire() as conn:
        role = await mandates.role(conn, alpha.id, role_id)
    assert role.version == 2 and role.text.seats == 3
    assert role.text.accountabilities == ["Rédiger les comptes rendus", "Archiver"]
    adopted = (await scenario_client.get(location)).text
    assert number in adopted and "Cette proposition a modifié le rôle" in words(adopted)
    # Read against the text its decision replaced, not the role's text now (the same).
    assert "<del>1</del>" in adopted and "<ins>3</ins>" in adopted


async def test_only_members_who_signed_the_charter_propose_a_role(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    role_id = await recorded(pool, alpha.id, world)
    act_as(scenario_client, world, "unsigned")  # may read the space, not act in it
    assert "proposals/new" not in (await scenario_client.get("/s/alpha/roles")).text
    assert "proposals/new" not in (await scenario_client.get(f"/s/alpha/roles/{role_id}")).text
    for link in ("/s/alpha/proposals/new?kind=role", f"/s/alpha/proposals/new?role_id={role_id}"):
        assert (await scenario_client.get(link)).status_code == 403
    refused = await post_form(scenario_client, "/s/alpha/proposals", FORM)
    assert refused.status_code == 403
    act_as(scenario_client, world, "outsider")  # not a member: the space does not show
    assert (await scenario_client.get("/s/alpha/proposals/new?kind=role")).status_code == 404
    assert (await post_form(scenario_client, "/s/alpha/proposals", FORM)).status_code == 404
    # A member of alpha, about a role of another space: not found.
    beta = await pool.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    other = await recorded(pool, beta, world)
    act_as(scenario_client, world, "member")
    assert (await scenario_client.get(f"/s/alpha/proposals/new?role_id={other}")).status_code == 404
    elsewhere = await post_form(scenario_client, "/s/alpha/proposals",
                                {**FORM, "role_id": str(other)})  # fmt: skip
    assert elsewhere.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM proposals WHERE kind = 'role'") == 0
