"""The mandate register: every seat of every role with its holder today or "vacant", a badge
coloured by the days left in the term, successors and past holders; filters by role, status
and holder's name (accents ignored), on the page and in its CSV and JSON exports; the
decision register's role filter; and who may see any of it."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from html import unescape

import asyncpg
import pytest

from consentir import db
from consentir.consent.store import Content
from consentir.mandates import register
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.spaces.store import Space
from tests.scenario import Scenario, adopt_proposal
from tests.test_mandates_web import text, today
from tests.test_role_proposals import PROPOSAL, adopt, draft
from tests.web import Client, act_as, field_error

TREASURY = mandates.RoleText("Trésorerie", "Tenir les comptes.", "", [], 2, 12)
PRESIDENCY = mandates.RoleText("Présidence", "Représenter le collectif.", "", [], 1, 12)
SECRETARY = mandates.RoleText("Secrétariat", "Tenir les registres.", "", [], 1, 12)
HEADERS_FR = ["Rôle", "Siège", "Titulaire", "Premier jour", "Dernier jour", "Fin anticipée le",
              "Motif de fin", "Décision", "Statut"]  # fmt: skip


class World:
    """What `build` made: the roles' ids, the decision's number and the days."""

    def __init__(self, day: date, number: str, roles: dict[str, int]) -> None:
        self.day, self.number, self.roles = day, number, roles

    def iso(self, days: int) -> str:
        return (self.day + timedelta(days=days)).isoformat()


async def build(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> World:
    """Three roles, by the scenario's adopted decision:
    - Présidence: Admin, last day in 45 days (orange); Target to follow;
    - Secrétariat: Émilie Dupré (the `unsigned` member), last day in 10 days (red); Facilitator
      was to follow and withdrew before beginning;
    - Trésorerie, two seats: Member, last day in 100 days (green), Facilitator to follow;
      seat 2 vacant (red), held by Target last year."""
    number = await adopt_proposal(pool, world)
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    day = today()
    people = world.user_ids
    await pool.execute("UPDATE users SET name = 'Émilie Dupré' WHERE id = $1", people["unsigned"])

    def term(first: int, last: int) -> Term:
        return Term(day + timedelta(days=first), day + timedelta(days=last + 1))

    roles: dict[str, int] = {}
    async with db.transaction(pool) as conn:
        for text_ in (TREASURY, PRESIDENCY, SECRETARY):
            roles[text_.name] = await mandates.record_preexisting_role(
                conn, alpha.id, text_, actor_id=people["admin"]
            )
        for role, seat, who, first, last in (
            ("Présidence", 1, "admin", -300, 45),
            ("Présidence", 1, "target", 46, 410),
            ("Secrétariat", 1, "unsigned", -200, 10),
            ("Secrétariat", 1, "facilitator", 11, 375),
            ("Trésorerie", 1, "member", -30, 100),
            ("Trésorerie", 1, "facilitator", 101, 465),
            ("Trésorerie", 2, "target", -400, -36),
        ):
            await mandates.grant(conn, alpha.id, roles[role], seat, people[who],
                                 term(first, last), decision_id=decision)  # fmt: skip
    withdrawn = await pool.fetchval(
        "SELECT id FROM mandates WHERE role_id = $1 AND holder_id = $2",
        roles["Secrétariat"], people["facilitator"],
    )  # fmt: skip
    async with db.transaction(pool) as conn:
        await mandates.resign(conn, alpha.id, withdrawn, people["facilitator"],
                              day + timedelta(days=10), day)  # fmt: skip
    return World(day, number, roles)


def row(html: str, role_id: int, seat: int) -> str | None:
    """The register's row of a seat, if shown."""
    found = re.search(rf'<tr id="seat-{role_id}-{seat}"[^>]*>(.*?)</tr>', html, re.S)
    return found.group(0) if found else None


def shown(html: str) -> list[str]:
    """The seats the page lists, as "role id-seat", in order."""
    return re.findall(r'<tr id="seat-(\d+-\d+)"', html)


def spreadsheet(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_the_badge_turns_orange_within_60_days_and_red_within_30_or_vacant() -> None:
    assert [register.colour(days) for days in (400, 61, 60, 31, 30, 1, 0, None)] == [
        "ok", "ok", "soon", "soon", "urgent", "urgent", "urgent", "urgent",
    ]  # fmt: skip


async def test_every_seat_with_its_holder_or_vacant_and_a_badge_by_days_left(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    made = await build(pool, alpha, world)
    roles = made.roles
    act_as(client, world, "unsigned")  # sees the space, may not act in it
    roles_page = await client.get("/s/alpha/roles")
    assert 'href="/s/alpha/mandates"' in roles_page.text
    page = await client.get("/s/alpha/mandates")
    assert page.status_code == 200
    html = page.text
    assert '<caption id="register-caption">Tous les sièges de tous les rôles</caption>' in html
    assert html.count('<th scope="col">') == 7
    # By role name, then seat.
    assert shown(html) == [f"{roles['Présidence']}-1", f"{roles['Secrétariat']}-1",
                           f"{roles['Trésorerie']}-1", f"{roles['Trésorerie']}-2"]  # fmt: skip

    presidency = row(html, roles["Présidence"], 1)
    assert presidency is not None and 'data-status="ending_soon"' in presidency
    assert '<span class="badge badge--soon">dernier jour dans 45 jours</span>' in presidency
    words = text(presidency)
    assert "Admin" in words and f"confié par la décision {made.number}" in words
    assert "À venir : Target" in words and "ancien titulaire" not in words

    secretary = row(html, roles["Secrétariat"], 1)
    assert secretary is not None
    assert '<span class="badge badge--urgent">dernier jour dans 10 jours</span>' in secretary
    assert "Émilie Dupré" in secretary
    assert "1 ancien titulaire" in text(secretary) and "retiré avant son début" in text(secretary)
    assert '<details class="past-holders">' in secretary  # folded

    treasury = row(html, roles["Trésorerie"], 1)
    assert treasury is not None and 'data-status="current"' in treasury
    assert '<span class="badge badge--ok">dernier jour dans 100 jours</span>' in treasury
    assert f'<a href="/s/alpha/decisions/{made.number}">{made.number}</a>' in treasury
    assert f'<time datetime="{made.iso(100)}">' in treasury and "Member" in treasury

    vacant = row(html, roles["Trésorerie"], 2)
    assert vacant is not None and 'data-status="vacant"' in vacant
    assert "<td>Vacant</td>" in vacant
    assert '<span class="badge badge--urgent">à pourvoir</span>' in vacant
    assert "1 ancien titulaire" in text(vacant) and "Target" in vacant
    assert "Mandat mené à son terme" in text(vacant)

    # Links to the exports, with the filters.
    assert 'href="/s/alpha/mandates.csv"' in html and 'href="/s/alpha/mandates.json"' in html
    filtered = await client.get("/s/alpha/mandates", params={"status": "vacant"})
    assert 'href="/s/alpha/mandates.csv?status=vacant"' in filtered.text


async def test_filters_by_role_status_and_holder(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    made = await build(pool, alpha, world)
    presidency, secretary, treasury = (made.roles[name] for name in
                                       ("Présidence", "Secrétariat", "Trésorerie"))  # fmt: skip
    act_as(client, world, "member")

    async def seats(**params: str) -> list[str]:
        page = await client.get("/s/alpha/mandates", params=params)
        assert page.status_code == 200, params
        return shown(page.text)

    assert await seats(role=str(treasury)) == [f"{treasury}-1", f"{treasury}-2"]
    assert await seats(status="vacant") == [f"{treasury}-2"]
    assert await seats(status="ending_soon") == [f"{presidency}-1", f"{secretary}-1"]
    # Current: every seat held today, those ending soon included.
    assert await seats(status="current") == [f"{presidency}-1", f"{secretary}-1", f"{treasury}-1"]
    assert await seats(status="past") == [f"{secretary}-1", f"{treasury}-2"]
    assert await seats(status="all") == await seats()
    assert await seats(role=str(treasury), status="current") == [f"{treasury}-1"]
    # A holder's name, in any case and without accents; past and future holders too.
    assert await seats(holder="emilie dupre") == [f"{secretary}-1"]
    assert await seats(holder="TARGET") == [f"{presidency}-1", f"{treasury}-2"]
    assert await seats(holder="target", status="past") == [f"{treasury}-2"]
    assert await seats(holder="nobody") == []
    # A past holder found by the filters: the history is unfolded.
    found = await client.get("/s/alpha/mandates", params={"holder": "target"})
    assert '<details class="past-holders" open>' in (row(found.text, treasury, 2) or "")
    none = await client.get("/s/alpha/mandates", params={"holder": "nobody"})
    assert "Aucun siège ne correspond à ces filtres." in none.text
    assert 'href="/s/alpha/mandates">Effacer les filtres</a>' in none.text
    # The form keeps what was chosen.
    chosen = {"role": str(secretary), "status": "past", "holder": "Émilie"}
    kept = await client.get("/s/alpha/mandates", params=chosen)
    assert f'<option value="{secretary}" selected>Secrétariat</option>' in kept.text
    assert '<option value="past" selected>passé</option>' in kept.text
    assert 'value="Émilie"' in kept.text

    # Wrong filters: the messages next to the fields, never a 500, on the page and exports.
    for path in ("/s/alpha/mandates", "/s/alpha/mandates.csv", "/s/alpha/mandates.json"):
        wrong = await client.get(path, params={"status": "soon", "role": "abc"})
        assert wrong.status_code == 422, path
        assert wrong.headers["content-type"].startswith("text/html")
        assert (
            unescape(field_error(wrong.text, "status") or "")
            == "Choisissez l'un des statuts de la liste."
        )
        assert (
            unescape(field_error(wrong.text, "role") or "")
            == "Choisissez l'un des rôles de la liste."
        )
    for role in ("999999", "99999999999999999999999", "-1", "²", "１"):
        wrong = await client.get("/s/alpha/mandates", params={"role": role})
        assert wrong.status_code == 422, role


async def test_csv_and_json_exports_hold_every_line_the_filters_match(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    made = await build(pool, alpha, world)
    n, at = made.number, made.iso
    act_as(client, world, "member")
    exported = await client.get("/s/alpha/mandates.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = exported.headers["content-disposition"]
    assert disposition == f'attachment; filename="mandates-alpha-{made.day.isoformat()}.csv"'
    assert exported.content.count(b"\r\n") == 1 + 8  # CRLF, as the decision register's
    assert spreadsheet(exported.content) == [
        HEADERS_FR,
        ["Présidence", "1", "Target", at(46), at(410), "", "", n, "à venir"],
        ["Présidence", "1", "Admin", at(-300), at(45), "", "", n, "se termine bientôt"],
        ["Secrétariat", "1", "Facilitator", at(11), at(375), at(10), "démission", n, "passé"],
        ["Secrétariat", "1", "Émilie Dupré", at(-200), at(10), "", "", n, "se termine bientôt"],
        ["Trésorerie", "1", "Facilitator", at(101), at(465), "", "", n, "à venir"],
        ["Trésorerie", "1", "Member", at(-30), at(100), "", "", n, "en cours"],
        ["Trésorerie", "2", "", "", "", "", "", "", "vacant"],
        ["Trésorerie", "2", "Target", at(-400), at(-36), "", "", n, "passé"],
    ]
    vacant = await client.get("/s/alpha/mandates.csv", params={"status": "vacant"})
    seat = ["Trésorerie", "2", "", "", "", "", "", "", "vacant"]
    assert spreadsheet(vacant.content) == [HEADERS_FR, seat]
    current = await client.get("/s/alpha/mandates.csv", params={
        "role": str(made.roles["Trésorerie"]), "status": "current"})  # fmt: skip
    assert [line[2] for line in spreadsheet(current.content)] == ["Titulaire", "Member"]

    as_json = await client.get("/s/alpha/mandates.json", params={"holder": "facilitator"})
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert "attachment" in as_json.headers["content-disposition"]
    assert as_json.json() == [
        {"role": "Secrétariat", "seat": 1, "holder": "Facilitator", "first_day": at(11),
         "last_day": at(375), "ended_on": at(10), "end_reason": "resigned", "decision": n,
         "status": "past"},
        {"role": "Trésorerie", "seat": 1, "holder": "Facilitator", "first_day": at(101),
         "last_day": at(465), "ended_on": None, "end_reason": None, "decision": n,
         "status": "future"},
    ]  # fmt: skip
    everything = (await client.get("/s/alpha/mandates.json")).json()
    assert [line["status"] for line in everything] == [
        "future",
        "ending_soon",
        "past",
        "ending_soon",
        "future",
        "current",
        "vacant",
        "past",
    ]
    assert everything[6] == {"role": "Trésorerie", "seat": 2, "holder": None, "first_day": None,
                             "last_day": None, "ended_on": None, "end_reason": None,
                             "decision": None, "status": "vacant"}  # fmt: skip

    # An English reader gets English headers and words.
    await pool.execute("UPDATE users SET locale = 'en' WHERE id = $1", world.user_ids["member"])
    english = spreadsheet((await client.get("/s/alpha/mandates.csv")).content)
    assert english[0] == ["Role", "Seat", "Holder", "First day", "Last day", "Ended early on",
                          "End reason", "Decision", "Status"]  # fmt: skip
    assert english[3][6:] == ["resigned", n, "past"] and english[2][-1] == "ending soon"


async def test_a_page_costs_the_same_queries_whatever_the_number_of_mandates(
    client_world: tuple[Client, Scenario],
    pool: asyncpg.Pool,
    alpha: Space,
    query_log: list[str],
) -> None:
    client, world = client_world
    made = await build(pool, alpha, world)
    act_as(client, world, "member")

    async def count(path: str) -> int:
        query_log.clear()
        assert (await client.get(path)).status_code == 200
        return len(query_log)

    before = {path: await count(path) for path in
              ("/s/alpha/mandates", "/s/alpha/mandates.csv", "/s/alpha/mandates.json")}  # fmt: skip
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", made.number)
    async with db.transaction(pool) as conn:
        for index in range(6):
            text_ = mandates.RoleText(f"Rôle {index}", "Un rôle.", "", [], 3, 12)
            role_id = await mandates.record_preexisting_role(
                conn, alpha.id, text_, actor_id=world.user_ids["admin"]
            )
            for seat in (1, 2, 3):
                for year in range(4):
                    first = made.day - timedelta(days=400 * year + 10)
                    await mandates.grant(
                        conn, alpha.id, role_id, seat, world.user_ids["member"]
                        if seat == 1 else world.user_ids["admin" if seat == 2 else "target"],
                        Term(first, first + timedelta(days=365)), decision_id=decision,
                    )  # fmt: skip
    after = {path: await count(path) for path in before}
    assert after == before
    assert len(shown((await client.get("/s/alpha/mandates")).text)) == 4 + 6 * 3


async def test_the_decision_register_filters_by_role(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """A role's decisions: those that granted one of its mandates, and those that adopted one
    of its versions."""
    client, world = client_world
    act_as(client, world, "member")
    assert 'id="f-role"' not in (await client.get("/s/alpha/decisions")).text  # no role yet
    granting = await adopt_proposal(pool, world)
    role_text = await adopt(pool, alpha, world, await draft(pool, alpha, world, PROPOSAL))
    other = await adopt(pool, alpha, world, await draft(pool, alpha, world, Content(
        title="Vélos", driver="Pas de garage.", body="Un abri à vélos.")))  # fmt: skip
    decision = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", granting)
    secretary = await pool.fetchval("SELECT id FROM roles WHERE space_id = $1", alpha.id)
    day = today()
    async with db.transaction(pool) as conn:
        treasury = await mandates.record_preexisting_role(
            conn, alpha.id, TREASURY, actor_id=world.user_ids["admin"]
        )
        for role_id in (treasury, secretary):
            await mandates.grant(
                conn, alpha.id, role_id, 1, world.user_ids["member"],
                Term(day, day + timedelta(days=30)), decision_id=decision,
            )  # fmt: skip

    def numbers(html: str) -> list[str]:
        return re.findall(r'<th scope="row"><a href="/s/alpha/decisions/([^"]+)">', html)

    everything = await client.get("/s/alpha/decisions")
    assert numbers(everything.text) == [other, role_text, granting]
    assert '<option value="" selected>tous les rôles</option>' in everything.text
    page = await client.get("/s/alpha/decisions", params={"role": str(secretary)})
    assert page.status_code == 200
    assert numbers(page.text) == [role_text, granting]
    assert f'<option value="{secretary}" selected>Secrétariat</option>' in page.text
    assert f"/s/alpha/decisions/export?role={secretary}&amp;format=csv" in page.text
    treasury_page = await client.get("/s/alpha/decisions", params={"role": str(treasury)})
    assert numbers(treasury_page.text) == [granting]

    exported = await client.get("/s/alpha/decisions/export",
                                params={"format": "csv", "role": str(treasury)})  # fmt: skip
    assert [line[0] for line in spreadsheet(exported.content)] == ["Numéro", granting]
    as_json = await client.get("/s/alpha/decisions/export",
                               params={"format": "json", "role": str(secretary)})  # fmt: skip
    assert [item["number"] for item in as_json.json()] == [role_text, granting]
    combined = await client.get("/s/alpha/decisions", params={"role": str(secretary),
                                                              "q": "secretariat"})  # fmt: skip
    assert numbers(combined.text) == [role_text]

    for path in ("/s/alpha/decisions", "/s/alpha/decisions/export"):
        for wrong in ("abc", "999999"):
            refused = await client.get(path, params={"role": wrong, "format": "csv"})
            assert refused.status_code == 422, (path, wrong)
            assert (
                unescape(field_error(refused.text, "role") or "")
                == "Choisissez l'un des rôles de la liste."
            )


@pytest.mark.parametrize("path", ["/s/alpha/mandates", "/s/alpha/mandates.csv",
                                  "/s/alpha/mandates.json"])  # fmt: skip
async def test_outsiders_get_nothing_and_anonymous_people_sign_in_first(
    path: str, client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    await build(pool, alpha, world)
    act_as(client, world, "outsider")
    refused = await client.get(path)
    assert refused.status_code == 404
    assert "Trésorerie" not in refused.text and "Member" not in refused.text
    act_as(client, world, "anonymous")
    answer = await client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    act_as(client, world, "member")  # another space's register: not theirs to see
    assert (await client.get(path.replace("alpha", "beta"))).status_code == 404
