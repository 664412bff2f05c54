"""Revoking a mandate and retiring a role are decisions (issue 11 §1–2).

A revocation is a proposal of kind "revocation" naming a mandate; adopted, it ends the
mandate (end_reason 'revoked', its decision linked) in the same transaction, and the seat is
free from the next day. A change of a role may retire it; adopted, the role is retired that
day, its mandates still running end on it, and it gets no new mandate nor election. Through
the stores end to end (consent.store.act), then through HTTP."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import asyncpg
import msgspec
import pytest

from consentir import db
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.elections.store import Described
from consentir.errors import DomainError
from consentir.mandates import register, revoking, store
from consentir.mandates import rules as mandate_rules
from consentir.mandates.revoke_routes import RevocationForm, propose
from consentir.mandates.rules import Mandate, Term
from consentir.mandates.store import RoleText
from consentir.spaces.store import Space
from consentir.web import i18n
from consentir.web.templates import environment
from tests.process import act, person
from tests.scenario import Scenario, adopt_proposal
from tests.web import Client, act_as, field_error, post_form

TREASURY = RoleText(
    name="Trésorerie", purpose="Tenir les comptes.", domain="Les dépenses sous 200 €.",
    accountabilities=["Tenir la caisse"], seats=2, term_months=12,
)  # fmt: skip
REASONS = "La caisse n'est plus tenue depuis trois mois."


def today() -> date:
    return datetime.now(i18n.display_zone).date()


async def setup(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> tuple[int, int]:
    """A role of alpha (two seats), and the decision that grants its mandates here."""
    number = await adopt_proposal(pool, world)
    async with db.transaction(pool) as conn:
        role_id = await store.record_preexisting_role(
            conn, alpha.id, TREASURY, actor_id=world.user_ids["admin"]
        )
    return role_id, await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)


async def grant(pool: asyncpg.Pool, alpha: Space, role_id: int, decision_id: int, seat: int,
                holder: int, term: Term) -> int:  # fmt: skip
    async with db.transaction(pool) as conn:
        return await store.grant(conn, alpha.id, role_id, seat, holder, term,
                                 decision_id=decision_id)  # fmt: skip


def running_year() -> Term:
    """A term begun a month ago, for a year."""
    return Term(today() - timedelta(days=30), today() + timedelta(days=335))


async def draft_revocation(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, mandate_id: int,
    last_day: date | None = None,
) -> int:  # fmt: skip
    """member proposes the revocation (a draft), through the store as the form does."""
    async with db.transaction(pool) as conn:
        form = RevocationForm(driver=REASONS, last_day=last_day)
        return await propose(conn, alpha, person(world, "member"), mandate_id, form)


async def to_object(pool: asyncpg.Pool, alpha: Space, world: Scenario, pid: int) -> None:
    """member submits; the facilitator moves it to its objection round; all consent."""
    facilitator = person(world, "facilitator")
    await act(pool, alpha, pid, person(world, "member"), rules.Submit(frozenset()))
    await act(pool, alpha, pid, facilitator, rules.Advance(frozenset()))
    await act(pool, alpha, pid, facilitator, rules.Advance(frozenset()))
    version = await pool.fetchval("SELECT version FROM proposals WHERE id = $1", pid)
    for role in ("facilitator", "admin", "target"):
        who = person(world, role)
        await act(pool, alpha, pid, who, rules.GivePosition(who.user_id, Stance.CONSENT, version))


async def close(pool: asyncpg.Pool, alpha: Space, world: Scenario, pid: int) -> rules.Step:
    return await act(pool, alpha, pid, person(world, "facilitator"),
                     rules.CloseRound(datetime.now(UTC)))  # fmt: skip


async def adopt(pool: asyncpg.Pool, alpha: Space, world: Scenario, pid: int) -> str:
    await to_object(pool, alpha, world, pid)
    step = await close(pool, alpha, world, pid)
    assert any(isinstance(e, rules.Adopted) for e in step.effects)
    return str(await pool.fetchval("SELECT number FROM decisions WHERE proposal_id = $1", pid))


async def mandate_row(pool: asyncpg.Pool, mandate_id: int) -> asyncpg.Record:
    row = await pool.fetchrow(
        """SELECT ended_on, end_reason, revoking_decision_id, lower(term) AS first,
                  upper(term) AS after_last, isempty(term) AS empty
           FROM mandates WHERE id = $1""",
        mandate_id,
    )
    assert row is not None
    return row


# --- revocation, end to end through the store -----------------------------------------------


async def test_an_adopted_revocation_ends_the_mandate_with_its_decision_and_frees_the_seat(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    target, admin = world.user_ids["target"], world.user_ids["admin"]
    term = running_year()
    mandate_id = await grant(pool, alpha, role_id, decision, 1, target, term)
    pid = await draft_revocation(pool, alpha, world, mandate_id)  # last day: on adoption
    row = await pool.fetchrow(
        "SELECT kind, revokes_mandate, revokes_last_day, role_id FROM proposals WHERE id = $1", pid
    )
    assert dict(row) == {"kind": "revocation", "revokes_mandate": mandate_id,
                         "revokes_last_day": None, "role_id": None}  # fmt: skip
    body = await pool.fetchval("SELECT body FROM proposal_versions WHERE proposal_id = $1", pid)
    assert "Target" in body and "Trésorerie" in body and "est révoqué" in body
    assert (await mandate_row(pool, mandate_id))["end_reason"] is None  # nothing before consent

    number = await adopt(pool, alpha, world, pid)
    decision_id = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    ended = await mandate_row(pool, mandate_id)
    assert (ended["ended_on"], ended["end_reason"], ended["revoking_decision_id"]) == (
        today(), "revoked", decision_id)  # fmt: skip
    assert (ended["first"], ended["after_last"]) == (term.first, today() + timedelta(days=1))
    event = await pool.fetchrow(
        "SELECT subject_id, data FROM journal WHERE action = 'mandate.revoked'"
    )
    assert event["subject_id"] == mandate_id
    assert event["data"] == {"last_day": today().isoformat(), "decision": number,
                             "proposal": pid}  # fmt: skip
    # The holder is told their last day; the term's reminders it makes redundant are sent.
    told = await pool.fetch(
        "SELECT user_id, link, data FROM notifications WHERE kind = 'term_ending'"
    )
    assert [(n["user_id"], n["link"], n["data"]["date"]) for n in told] == [
        (target, f"/mandates#mandate-{mandate_id}", today().isoformat())
    ]
    assert await pool.fetchval(
        "SELECT array_agg(days_before ORDER BY days_before) FROM mandate_reminders"
        " WHERE mandate_id = $1", mandate_id) == [7, 30, 60]  # fmt: skip
    async with pool.acquire() as conn:
        shown = await revoking.under_revocation(conn, alpha.id, pid)
        [held] = [h for h in await store.holders(conn, alpha.id, role_id) if h.id == mandate_id]
        choices = await register.role_choices(conn, alpha.id, role_id)
    assert shown is not None and shown.revoked and not shown.running
    assert held.revoked_by == number and held.end_reason == mandate_rules.EndReason.REVOKED
    # The role's decisions in the register include the revocation.
    assert decision_id in next(c for c in choices if c.id == role_id).decisions

    # The seat is held through today, free from tomorrow.
    with pytest.raises(DomainError) as taken:
        await grant(pool, alpha, role_id, decision_id, 1, admin, Term(today(), term.after_last))
    assert taken.value.code == "seat_taken"
    await grant(pool, alpha, role_id, decision_id, 1, admin,
                Term(today() + timedelta(days=1), term.after_last))  # fmt: skip


async def test_a_revocation_of_a_mandate_ended_meanwhile_is_refused_in_words(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    mandate_id = await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"],
                             running_year())  # fmt: skip
    in_ten_days = today() + timedelta(days=10)
    first = await draft_revocation(pool, alpha, world, mandate_id, in_ten_days)
    second = await draft_revocation(pool, alpha, world, mandate_id)
    await adopt(pool, alpha, world, first)
    ended = await mandate_row(pool, mandate_id)
    assert (ended["ended_on"], ended["end_reason"]) == (in_ten_days, "revoked")

    # The second one reaches its objection round, everyone consents; closing it is refused.
    await to_object(pool, alpha, world, second)
    events = await pool.fetchval("SELECT count(*) FROM journal")
    with pytest.raises(DomainError) as refused:
        await close(pool, alpha, world, second)
    assert (refused.value.code, refused.value.status) == ("mandate_ended", 409)
    assert i18n.domain_message(refused.value).startswith("Le mandat à révoquer a pris fin")
    # Nothing of the adoption was written.
    assert await pool.fetchval("SELECT stage FROM proposals WHERE id = $1", second) == "object"
    assert await pool.fetchval("SELECT count(*) FROM decisions WHERE proposal_id = $1", second) == 0
    assert await pool.fetchval("SELECT count(*) FROM journal") == events
    assert (await mandate_row(pool, mandate_id))["ended_on"] == in_ten_days

    # A new revocation of it cannot even be proposed: its end is recorded.
    with pytest.raises(DomainError) as recorded:
        await draft_revocation(pool, alpha, world, mandate_id)
    assert (recorded.value.code, recorded.value.status) == ("mandate_ending", 409)


async def test_the_last_day_falls_within_the_term_and_never_goes_back(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    term = running_year()
    mandate_id = await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"], term)
    for wrong in (today() - timedelta(days=1), term.after_last):
        with pytest.raises(DomainError) as outside:
            await draft_revocation(pool, alpha, world, mandate_id, wrong)
        assert (outside.value.code, outside.value.field) == ("last_day_outside_term", "last_day")
    past = Term(date(2020, 1, 1), date(2021, 1, 1))
    over = await grant(pool, alpha, role_id, decision, 2, world.user_ids["admin"], past)
    with pytest.raises(DomainError) as finished:
        await draft_revocation(pool, alpha, world, over)
    assert (finished.value.code, finished.value.status) == ("mandate_ended", 409)
    with pytest.raises(DomainError) as elsewhere:  # a mandate of no space of this one
        await draft_revocation(pool, alpha, world, 10**9)
    assert elsewhere.value.status == 404

    # The rule itself: a proposed day that has passed by the adoption is the adoption day; a
    # mandate not begun ends before its first day (its term becomes empty).
    day = date(2026, 6, 10)
    running = Mandate(1, 7, 1, Term(date(2026, 1, 1), date(2027, 1, 1)))
    assert mandate_rules.revoke(running, None, day) == day
    assert mandate_rules.revoke(running, date(2026, 6, 1), day) == day
    assert mandate_rules.revoke(running, date(2026, 7, 1), day) == date(2026, 7, 1)
    coming = Mandate(2, 7, 1, Term(date(2026, 9, 1), date(2027, 9, 1)))
    last = mandate_rules.revoke(coming, None, day)
    assert Mandate(2, 7, 1, coming.granted, last).term.empty


# --- retiring a role ------------------------------------------------------------------------


async def draft_change(pool: asyncpg.Pool, alpha: Space, world: Scenario, role_id: int,
                       *, retire: bool) -> int:  # fmt: skip
    text = msgspec.structs.replace(TREASURY, retire=retire)
    content = Content(title="Supprimer la trésorerie", driver="La caisse est fermée.",
                      body="Le rôle n'a plus lieu d'être.", role=text)  # fmt: skip
    async with db.transaction(pool) as conn:
        return await proposals.create(conn, alpha, person(world, "member"), content,
                                      role_id=role_id)  # fmt: skip


async def test_retiring_a_role_ends_its_mandates_and_blocks_elections_and_grants(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    target, member, admin = (world.user_ids[r] for r in ("target", "member", "admin"))
    current = await grant(pool, alpha, role_id, decision, 1, target, running_year())
    coming_term = Term(running_year().after_last, running_year().after_last + timedelta(365))
    coming = await grant(pool, alpha, role_id, decision, 1, member, coming_term)
    past = await grant(pool, alpha, role_id, decision, 2, admin,
                       Term(date(2020, 1, 1), date(2021, 1, 1)))  # fmt: skip
    other_change = await draft_change(pool, alpha, world, role_id, retire=False)
    pid = await draft_change(pool, alpha, world, role_id, retire=True)
    assert await pool.fetchval(
        "SELECT role_text->'retire' FROM proposal_versions WHERE proposal_id = $1", pid
    ) is True  # fmt: skip

    number = await adopt(pool, alpha, world, pid)
    decision_id = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    async with pool.acquire() as conn:
        role = await store.role(conn, alpha.id, role_id)
    assert (role.retired_on, role.retired_by, role.version) == (today(), number, 2)
    assert not role.text.retire  # the role's own version does not carry the proposal's wish
    now = await mandate_row(pool, current)
    assert (now["ended_on"], now["end_reason"]) == (today(), "role_retired")
    assert now["after_last"] == today() + timedelta(days=1)
    later = await mandate_row(pool, coming)
    assert (later["ended_on"], later["end_reason"], later["empty"]) == (
        today(), "role_retired", True)  # fmt: skip
    assert (await mandate_row(pool, past))["end_reason"] is None  # over already: untouched
    retired = await pool.fetchrow("SELECT data FROM journal WHERE action = 'role.retired'")
    assert retired["data"] == {"retired_on": today().isoformat(), "decision": number,
                               "mandates": [current, coming]}  # fmt: skip
    assert await pool.fetchval(
        "SELECT count(*) FROM journal WHERE action = 'mandate.role_retired'") == 2  # fmt: skip
    told = await pool.fetch("SELECT user_id FROM notifications WHERE kind = 'term_ending'")
    assert sorted(n["user_id"] for n in told) == sorted([target, member])

    # No new mandate, said in words; PostgreSQL refuses one too, whatever writes it.
    with pytest.raises(DomainError) as grant_refused:
        await grant(pool, alpha, role_id, decision_id, 2, admin,
                    Term(today() + timedelta(days=5), today() + timedelta(days=50)))  # fmt: skip
    assert (grant_refused.value.code, grant_refused.value.status) == ("role_retired", 409)
    with pytest.raises(asyncpg.CheckViolationError) as raw:
        await pool.execute(
            "INSERT INTO mandates (space_id, role_id, seat, holder_id, granted, term, decision_id)"
            " VALUES ($1, $2, 2, $3, daterange($4, $5), daterange($4, $5), $6)",
            alpha.id, role_id, admin, date(2090, 1, 1), date(2091, 1, 1), decision_id,
        )  # fmt: skip
    assert raw.value.constraint_name == "mandates_role_in_force"
    # No election.
    with pytest.raises(DomainError) as election:
        async with db.transaction(pool) as conn:
            content = Content(title="Élection", driver="d", body="b")
            about = Described(role_id, 2, Term(date(2090, 1, 1), date(2091, 1, 1)))
            await proposals.create(conn, alpha, person(world, "facilitator"), content,
                                   election=about)  # fmt: skip
    assert (election.value.code, election.value.status) == ("role_retired", 409)
    assert "supprimé le" in i18n.domain_message(election.value)
    # Its text no longer changes: a new change is refused, one drafted before cannot be
    # adopted (nothing written).
    with pytest.raises(DomainError) as change:
        await draft_change(pool, alpha, world, role_id, retire=False)
    assert (change.value.code, change.value.status) == ("role_retired", 409)
    await to_object(pool, alpha, world, other_change)
    with pytest.raises(DomainError) as meanwhile:
        await close(pool, alpha, world, other_change)
    assert (meanwhile.value.code, meanwhile.value.status) == ("role_retired", 409)
    assert await pool.fetchval("SELECT version FROM roles WHERE id = $1", role_id) == 2


async def test_only_an_existing_role_is_retired(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    content = Content(title="Créer et supprimer", driver="d", body="b",
                      role=msgspec.structs.replace(TREASURY, retire=True))  # fmt: skip
    with pytest.raises(DomainError) as refused:
        async with db.transaction(pool) as conn:
            await proposals.create(conn, alpha, person(world, "member"), content)
    assert (refused.value.code, refused.value.field) == ("retire_new_role", "retire")


async def test_postgresql_holds_the_revocation_and_retirement_rules(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    mandate_id = await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"],
                             running_year())  # fmt: skip
    member = world.user_ids["member"]
    insert = ("INSERT INTO proposals (space_id, proposer_id, title, kind, revokes_mandate,"
              " revokes_last_day) VALUES ($1, $2, 't', $3, $4, $5)")  # fmt: skip
    for kind, mandate, day in (
        ("revocation", None, None),  # a revocation names its mandate
        ("ordinary", mandate_id, None),  # only a revocation names one
        ("ordinary", None, today()),  # only a revocation proposes a last day
    ):
        with pytest.raises(asyncpg.CheckViolationError):
            await pool.execute(insert, alpha.id, member, kind, mandate, day)
    with pytest.raises(asyncpg.ForeignKeyViolationError):  # a mandate of its own space
        beta = await pool.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
        await pool.execute(insert, beta, world.user_ids["beta_owner"], "revocation",
                           mandate_id, None)  # fmt: skip
    end = "UPDATE mandates SET ended_on = $2, end_reason = $3, revoking_decision_id = $4,"
    end += " term = granted * daterange(NULL, $2::date + 1) WHERE id = $1"
    with pytest.raises(asyncpg.CheckViolationError):  # revoked names its decision
        await pool.execute(end, mandate_id, today(), "revoked", None)
    with pytest.raises(asyncpg.CheckViolationError):  # a resignation names none
        await pool.execute(end, mandate_id, today(), "resigned", decision)
    with pytest.raises(asyncpg.CheckViolationError):  # a role retired by a decision is retired
        await pool.execute("UPDATE roles SET retiring_decision_id = $2 WHERE id = $1",
                           role_id, decision)  # fmt: skip
    await pool.execute(end, mandate_id, today(), "revoked", decision)  # all said: accepted


# --- through HTTP ---------------------------------------------------------------------------


@pytest.fixture
def client(scenario_client: Client) -> Client:
    return scenario_client


def words(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


async def test_a_member_proposes_a_revocation_from_the_role_page(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    mandate_id = await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"],
                             running_year())  # fmt: skip
    form_url = f"/s/alpha/mandates/{mandate_id}/revoke"
    act_as(client, world, "member")
    role_page = await client.get(f"/s/alpha/roles/{role_id}")
    assert f'href="{form_url}"' in role_page.text
    assert f'href="{form_url}"' in (await client.get("/s/alpha/mandates")).text  # the register
    form = await client.get(form_url)
    assert form.status_code == 200
    said = words(form.text)
    assert "Proposer de révoquer le mandat de Target" in said and "Trésorerie" in said

    # Mistakes come back next to their fields.
    empty = await post_form(client, form_url, {"driver": "", "last_day": "2001-01-01"})
    assert empty.status_code == 422
    assert field_error(empty.text, "driver") == "Ce champ est obligatoire."
    outside = await post_form(client, form_url,
                              {"driver": REASONS, "last_day": "2020-01-01"})  # fmt: skip
    assert outside.status_code == 422
    assert field_error(outside.text, "last_day").startswith("Le dernier jour doit être")
    assert await pool.fetchval("SELECT count(*) FROM proposals WHERE kind = 'revocation'") == 0

    last = today() + timedelta(days=20)
    sent = {"driver": REASONS, "last_day": last.isoformat(), "title": "",
            "idempotency_key": "rev-1"}  # fmt: skip
    made = await post_form(client, form_url, sent)
    assert made.status_code == 303, made.text
    again = await post_form(client, form_url, sent)
    assert again.headers["location"] == made.headers["location"]  # a double click: one draft
    pid = int(made.headers["location"].rsplit("/", 1)[1])
    row = await pool.fetchrow(
        "SELECT kind, revokes_mandate, revokes_last_day, title FROM proposals WHERE id = $1", pid
    )
    assert (row["kind"], row["revokes_mandate"], row["revokes_last_day"]) == (
        "revocation", mandate_id, last)  # fmt: skip
    assert row["title"] == "Révocation du mandat de Target : Trésorerie"
    page = words((await client.get(made.headers["location"])).text)
    assert REASONS in page and "Le mandat de Target au rôle Trésorerie" in page
    assert "Son dernier jour : " + i18n.format_day(last) in page
    # The page itself shows the mandate it revokes.
    assert "Révocation d’un mandat" in page and "Titulaire Target" in page

    # The part of the page that shows the mandate (proposals/_revocation.html).
    async with pool.acquire() as conn:
        shown = await revoking.under_revocation(conn, alpha.id, pid)
        assert await revoking.under_revocation(conn, alpha.id, world.proposal_id) is None
    assert shown is not None and shown.running and not shown.revoked
    template = environment().get_template("proposals/_revocation.html")
    section = template.render(revocation=shown, here={"space": {"slug": alpha.slug}})
    said = words(section)
    assert "Révocation d’un mandat" in said and "Titulaire Target" in said
    assert "Trésorerie" in said and "Dernier jour proposé " + i18n.format_day(last) in said


async def test_the_revocation_form_is_for_those_who_take_part(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    mandate_id = await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"],
                             running_year())  # fmt: skip
    form_url = f"/s/alpha/mandates/{mandate_id}/revoke"
    data = {"driver": REASONS}
    act_as(client, world, "unsigned")  # sees the space, may not act in it
    assert "/revoke" not in (await client.get(f"/s/alpha/roles/{role_id}")).text
    assert (await client.get(form_url)).status_code == 403
    assert (await post_form(client, form_url, data)).status_code == 403
    act_as(client, world, "outsider")
    assert (await client.get(form_url)).status_code == 404
    assert (await post_form(client, form_url, data)).status_code == 404
    act_as(client, world, "member")
    assert (await client.get("/s/alpha/mandates/999999999/revoke")).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM proposals WHERE kind = 'revocation'") == 0

    # A mandate whose early end is recorded: said above the form, nothing written.
    await pool.execute(
        "UPDATE mandates SET ended_on = $2, end_reason = 'resigned',"
        " term = granted * daterange(NULL, $2::date + 1) WHERE id = $1",
        mandate_id, today() + timedelta(days=3),
    )  # fmt: skip
    shown = await client.get(form_url)
    assert shown.status_code == 200 and 'data-mark="refused"' in shown.text
    assert 'name="driver"' not in shown.text
    refused = await post_form(client, form_url, data)
    assert refused.status_code == 409
    assert "Une fin anticipée est déjà enregistrée" in words(refused.text)
    assert await pool.fetchval("SELECT count(*) FROM proposals WHERE kind = 'revocation'") == 0


async def test_the_api_proposes_a_revocation(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    mandate_id = await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"],
                             running_year())  # fmt: skip
    act_as(client, world, "anonymous")
    url = f"/api/v1/spaces/alpha/mandates/{mandate_id}/revocations"

    def bearer(role: str) -> dict[str, str]:
        return {"authorization": f"Bearer {world.api_tokens[role]}"}

    bad = await client.post(url, json={"driver": REASONS, "last_day": "2020-01-01"},
                            headers=bearer("member"))  # fmt: skip
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "last_day_outside_term"
    refused = await client.post(url, json={"driver": REASONS}, headers=bearer("unsigned"))
    assert refused.status_code == 403
    made = await client.post(url, json={"driver": REASONS}, headers=bearer("member"))
    assert made.status_code == 201, made.text
    pid = made.json()["proposal_id"]
    assert made.headers["location"] == f"/api/v1/spaces/alpha/proposals/{pid}"
    assert await pool.fetchval("SELECT revokes_mandate FROM proposals WHERE id = $1", pid) == (
        mandate_id
    )


async def test_a_member_proposes_to_retire_a_role_with_the_form(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    act_as(client, world, "member")
    change_form = await client.get(f"/s/alpha/proposals/new?role_id={role_id}")
    assert 'name="retire"' in change_form.text and "Supprimer ce rôle" in change_form.text
    new_form = await client.get("/s/alpha/proposals/new?kind=role")
    assert 'name="retire"' not in new_form.text  # only an existing role is retired
    fields = {"kind": "role", "title": "", "driver": "La caisse est fermée.",
              "body": "Plus de trésorerie.", "name": "Trésorerie",
              "purpose": TREASURY.purpose, "domain": TREASURY.domain,
              "accountabilities": "Tenir la caisse", "seats": "2", "term_months": "12"}  # fmt: skip
    forged = await post_form(client, "/s/alpha/proposals", {**fields, "retire": "on"})
    assert forged.status_code == 422
    assert "Seul un rôle existant peut être supprimé" in words(forged.text)
    made = await post_form(client, "/s/alpha/proposals",
                           {**fields, "role_id": str(role_id), "retire": "on"})  # fmt: skip
    assert made.status_code == 303, made.text
    pid = int(made.headers["location"].rsplit("/", 1)[1])
    assert await pool.fetchval("SELECT title FROM proposals WHERE id = $1", pid) == (
        "Supprimer le rôle Trésorerie"
    )
    page = words((await client.get(made.headers["location"])).text)
    assert "Cette proposition supprime le rôle Trésorerie" in page
    edit = await client.get(f"{made.headers['location']}/edit")
    assert re.search(r'name="retire" type="checkbox" value="on" checked', edit.text)

    mandate_id = await grant(pool, alpha, role_id, decision, 1, world.user_ids["target"],
                             running_year())  # fmt: skip
    number = await adopt(pool, alpha, world, pid)
    role_page = await client.get(f"/s/alpha/roles/{role_id}")
    said = words(role_page.text)
    assert "supprimé le " + i18n.format_day(today()) in said
    assert f"par la décision {number}" in said
    assert "elections/new" not in role_page.text and "proposals/new?role_id" not in role_page.text
    assert f"/mandates/{mandate_id}/revoke" not in role_page.text  # its end is recorded
    # No election, no change: refused in words.
    act_as(client, world, "facilitator")
    term = {"seat": "1", "first": "2090-01-01", "last": "2090-12-31"}
    election = await post_form(client, f"/s/alpha/roles/{role_id}/elections/new", term)
    assert election.status_code == 409 and "supprimé le" in words(election.text)
    act_as(client, world, "member")
    change = await client.get(f"/s/alpha/proposals/new?role_id={role_id}")
    assert change.status_code == 409 and "supprimé le" in words(change.text)
    api = await client.post(
        "/api/v1/spaces/alpha/proposals",
        json={"title": "t", "driver": "d", "body": "b", "role_id": role_id,
              "role": {"name": "T", "purpose": "p", "domain": "d", "accountabilities": []}},
        headers={"authorization": f"Bearer {world.api_tokens['member']}"},
    )  # fmt: skip
    assert api.status_code == 409 and api.json()["code"] == "role_retired"
