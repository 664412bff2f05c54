"""Reviews of decisions (issue 11 §5): a review is a proposal of kind "review" on the consent
engine; adopted, it confirms the decision it reviews (a new review date), amends it (its own
decision supersedes it) or repeals it. A decision's status is derived from the links between
decisions, both ways, and never stored: it cannot disagree with them."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from consentir import db, migrations
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.decisions import reviewing, reviews
from consentir.decisions import store as decisions
from consentir.decisions.store import Filters
from consentir.decisions.trail import decision_trail
from consentir.errors import DomainError
from consentir.spaces.store import Space
from tests.process import act, person, to_object_round
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form

TODAY = datetime.now(UTC).date()

GARDEN = Content(title="Jardin partagé", driver="La friche est vide.",
                 body="Un potager ouvert à tous, le samedi.")  # fmt: skip
BIKES = Content(title="Atelier vélo", driver="Les vélos rouillent.",
                body="Un atelier de réparation chaque mois.")  # fmt: skip
MARKET = Content(title="Marché du dimanche", driver="Le quartier veut un marché.",
                 body="Un marché de producteurs le dimanche matin.")  # fmt: skip


@pytest.fixture
def client(scenario_client: Client) -> Client:
    return scenario_client


async def consent_all(pool: asyncpg.Pool, space: Space, world: Scenario, proposal_id: int) -> None:
    """Everyone on the open object round's list consents (unless they answered already)."""
    async with pool.acquire() as conn:
        listed = await conn.fetch(
            """SELECT rp.user_id, r.version FROM rounds r
               JOIN round_participants rp ON rp.round_id = r.id
               WHERE r.proposal_id = $1 AND r.closed_at IS NULL
                 AND NOT EXISTS (SELECT 1 FROM positions x WHERE x.round_id = r.id
                                 AND x.user_id = rp.user_id AND x.superseded_at IS NULL)""",
            proposal_id,
        )
    roles = {uid: role for role, uid in world.user_ids.items()}
    for row in listed:
        who = person(world, roles[row["user_id"]])
        await act(pool, space, proposal_id, who,
                  rules.GivePosition(who.user_id, Stance.CONSENT, row["version"]))  # fmt: skip


async def number_of(pool: asyncpg.Pool, proposal_id: int) -> str:
    number = await pool.fetchval("SELECT number FROM decisions WHERE proposal_id = $1", proposal_id)
    assert number is not None, "not adopted"
    return str(number)


async def adopt_with_concerns(
    pool: asyncpg.Pool, space: Space, world: Scenario, text: Content
) -> str:
    """Adopted with two concerns kept (one changed from an earlier concern), the others
    consenting."""
    proposal_id = await to_object_round(pool, space, world, text)
    facilitator, target = person(world, "facilitator"), person(world, "target")
    for who, reason in (
        (target, "Un vieux souci."),
        (target, "Pensons aux enfants."),  # changed: the first one is not kept
        (facilitator, "Le samedi est chargé."),
    ):
        concern = rules.GivePosition(who.user_id, Stance.CONCERN, 1, reason)
        await act(pool, space, proposal_id, who, concern)
    await consent_all(pool, space, world, proposal_id)
    await act(pool, space, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    return await number_of(pool, proposal_id)


async def adopt_simply(pool: asyncpg.Pool, space: Space, world: Scenario, text: Content) -> str:
    proposal_id = await to_object_round(pool, space, world, text)
    await consent_all(pool, space, world, proposal_id)
    await act(pool, space, proposal_id, person(world, "facilitator"),
              rules.CloseRound(datetime.now(UTC)))  # fmt: skip
    return await number_of(pool, proposal_id)


async def open_review(
    pool: asyncpg.Pool,
    space: Space,
    world: Scenario,
    number: str,
    outcome: reviewing.Outcome,
    text: Content,
    next_review_on: date | None = None,
) -> int:
    """The facilitator opens the review of `number` (a draft), through the stores."""
    facilitator = person(world, "facilitator")
    async with db.transaction(pool) as conn:
        decision = await reviewing.reviewed(conn, space.id, number, lock=True)
        assert reviewing.refusal(decision) is None
        proposal_id = await proposals.create(conn, space, facilitator, text)
        await reviewing.open_review(
            conn, space.id, proposal_id, decision, outcome, next_review_on, facilitator.user_id
        )
    return proposal_id


async def to_object(pool: asyncpg.Pool, space: Space, world: Scenario, proposal_id: int) -> None:
    """The review's proposer (the facilitator) submits it; clarify, react, then object."""
    facilitator = person(world, "facilitator")
    await act(pool, space, proposal_id, facilitator, rules.Submit(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))


async def adopt_review(pool: asyncpg.Pool, space: Space, world: Scenario, proposal_id: int) -> str:
    """The review through the consent process to adoption; its own decision's number."""
    await to_object(pool, space, world, proposal_id)
    await consent_all(pool, space, world, proposal_id)
    step = await act(pool, space, proposal_id, person(world, "facilitator"),
                     rules.CloseRound(datetime.now(UTC)))  # fmt: skip
    assert any(isinstance(e, rules.Adopted) for e in step.effects)
    return await number_of(pool, proposal_id)


async def status_of(pool: asyncpg.Pool, number: str) -> str:
    return str(await pool.fetchval(
        "SELECT st.status FROM decisions d JOIN decision_states st ON st.decision_id = d.id"
        " WHERE d.number = $1", number))  # fmt: skip


async def listed(pool: asyncpg.Pool, space: Space, status: str) -> list[str]:
    async with pool.acquire() as conn:
        rows, _ = await decisions.register(conn, space.id, Filters(status=status), links=True)
    return [r.number for r in rows]


NUMBER = re.compile(r'<th scope="row"><a href="/s/alpha/decisions/([^"]+)">')


# --- each outcome, end to end through the store ----------------------------------------------


async def test_confirming_moves_the_review_date(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    number = await adopt_with_concerns(pool, alpha, world, GARDEN)
    await pool.execute(
        "UPDATE decisions SET review_on = $2, review_announced_on = $2 WHERE number = $1",
        number, TODAY,
    )  # fmt: skip
    next_on = TODAY + timedelta(days=365)
    text = Content(title=f"Reconduction de {number}", driver="Sa date est venue.",
                   body="Le jardin continue.")  # fmt: skip
    review_id = await open_review(pool, alpha, world, number, "confirm", text, next_on)
    record = await adopt_review(pool, alpha, world, review_id)

    row = await pool.fetchrow(
        "SELECT review_on, review_announced_on FROM decisions WHERE number = $1", number
    )
    assert (row["review_on"], row["review_announced_on"]) == (next_on, None)
    assert await status_of(pool, number) == "in_force"
    async with pool.acquire() as conn:
        original = await decision_trail(conn, alpha.id, number)
        confirmation = await decision_trail(conn, alpha.id, record)
    assert original.reviewable and original.superseded_by is None and original.repealed_by is None
    [review] = original.reviews
    assert (review.outcome, review.stage, review.decision) == ("confirm", "adopted", record)
    # The review's own decision records it: same date, in force, never reviewed on its own.
    assert (confirmation.review_of, confirmation.review_outcome) == (number, "confirm")
    assert confirmation.review_on == next_on and not confirmation.reviewable
    assert confirmation.status == "in_force"
    event = await pool.fetchrow(
        "SELECT data FROM journal WHERE action = 'decision.reviewed' ORDER BY id DESC LIMIT 1"
    )
    assert event["data"] == {"number": number, "outcome": "confirm", "by": record,
                             "review_on": next_on.isoformat()}  # fmt: skip


async def test_repealing_makes_the_original_repealed_and_says_so_both_ways(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, client: Client
) -> None:
    number = await adopt_simply(pool, alpha, world, GARDEN)
    text = Content(title=f"Abrogation de {number}", driver="Le terrain est vendu.",
                   body=f"La décision {number} est abrogée.")  # fmt: skip
    review_id = await open_review(pool, alpha, world, number, "repeal", text)
    assert await status_of(pool, number) == "in_force"  # until the review is adopted
    repeal = await adopt_review(pool, alpha, world, review_id)

    assert await status_of(pool, number) == "repealed"
    async with pool.acquire() as conn:
        original = await decision_trail(conn, alpha.id, number)
        repealing = await decision_trail(conn, alpha.id, repeal)
    assert (original.status, original.repealed_by, original.superseded_by) == (
        "repealed", repeal, None)  # fmt: skip
    assert not original.reviewable
    assert repealing.repeals == [number] and repealing.status == "in_force"
    assert not repealing.reviewable  # the record of a repeal is not reviewed on its own

    act_as(client, world, "member")
    page = (await client.get(f"/s/alpha/decisions/{number}")).text
    assert 'data-status="repealed"' in page
    assert ('<span class="decision-link" data-link="repealed-by">abrogée par '
            f'<a href="/s/alpha/decisions/{repeal}">{repeal}</a></span>') in page  # fmt: skip
    page = (await client.get(f"/s/alpha/decisions/{repeal}")).text
    assert ('<span class="decision-link" data-link="repeals">abroge '
            f'<a href="/s/alpha/decisions/{number}">{number}</a></span>') in page  # fmt: skip
    assert 'data-mark="review-of"' in page and "abrogation" in page
    register = (await client.get("/s/alpha/decisions")).text
    assert f'abrogée par <a href="/s/alpha/decisions/{repeal}">' in register
    assert f'abroge <a href="/s/alpha/decisions/{number}">' in register


async def test_amending_supersedes_the_original_with_the_reviews_text(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, client: Client
) -> None:
    number = await adopt_simply(pool, alpha, world, GARDEN)
    text = Content(title="Jardin partagé", driver=GARDEN.driver,
                   body="Un potager ouvert à tous, le samedi **et le mercredi**.")  # fmt: skip
    review_id = await open_review(pool, alpha, world, number, "amend", text)
    amended = await adopt_review(pool, alpha, world, review_id)

    assert await status_of(pool, number) == "superseded"
    async with pool.acquire() as conn:
        original = await decision_trail(conn, alpha.id, number)
        new = await decision_trail(conn, alpha.id, amended)
    assert original.superseded_by == amended and original.repealed_by is None
    assert new.supersedes == [number] and new.status == "in_force" and new.reviewable
    assert new.body == text.body and (new.review_of, new.review_outcome) == (number, "amend")

    act_as(client, world, "member")
    page = (await client.get(f"/s/alpha/decisions/{number}")).text
    assert 'data-status="superseded"' in page
    assert f'remplacée par <a href="/s/alpha/decisions/{amended}">{amended}</a>' in page
    page = (await client.get(f"/s/alpha/decisions/{amended}")).text
    assert f'remplace <a href="/s/alpha/decisions/{number}">{number}</a>' in page
    assert "<strong>et le mercredi</strong>" in page


async def test_an_ordinary_proposal_still_supersedes_through_the_links(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    old = await adopt_simply(pool, alpha, world, GARDEN)
    replacing = Content(title="Jardin", driver="Mieux.", body="Deux jours.", supersedes=(old,))
    new = await adopt_simply(pool, alpha, world, replacing)
    assert await status_of(pool, old) == "superseded"
    async with pool.acquire() as conn:
        assert (await decision_trail(conn, alpha.id, old)).superseded_by == new
        # A decision no longer in force cannot be named again.
        with pytest.raises(DomainError) as refused:
            await decisions.set_superseded_by_proposal(conn, alpha.id, 1, (old,))
    assert refused.value.field == "supersedes"


async def test_a_review_of_a_decision_ended_meanwhile_is_not_adopted(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    number = await adopt_simply(pool, alpha, world, GARDEN)
    text = Content(title="Abrogation", driver="Plus utile.", body="Abrogée.")
    review_id = await open_review(pool, alpha, world, number, "repeal", text)
    await to_object(pool, alpha, world, review_id)
    await consent_all(pool, alpha, world, review_id)
    # Meanwhile another proposal replaces it.
    replacing = Content(title="Autre", driver="D", body="B", supersedes=(number,))
    await adopt_simply(pool, alpha, world, replacing)
    with pytest.raises(DomainError) as refused:
        await act(pool, alpha, review_id, person(world, "facilitator"),
                  rules.CloseRound(datetime.now(UTC)))  # fmt: skip
    assert (refused.value.code, refused.value.status) == ("reviewed_decision_ended", 409)
    stage = await pool.fetchval("SELECT stage FROM proposals WHERE id = $1", review_id)
    assert stage == "object"  # nothing written
    assert await status_of(pool, number) == "superseded"


# --- the register's status filter ------------------------------------------------------------


async def test_the_register_filters_each_status(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, client: Client
) -> None:
    garden = await adopt_simply(pool, alpha, world, GARDEN)
    bikes = await adopt_simply(pool, alpha, world, BIKES)
    market = await adopt_simply(pool, alpha, world, MARKET)
    repealing = await open_review(pool, alpha, world, garden, "repeal",
                                  Content(title="Abrogation", driver="D", body="B"))  # fmt: skip
    repeal = await adopt_review(pool, alpha, world, repealing)
    amending = await open_review(pool, alpha, world, bikes, "amend",
                                 Content(title="Atelier", driver="D", body="Deux."))  # fmt: skip
    amended = await adopt_review(pool, alpha, world, amending)
    expected = {
        "in_force": [amended, repeal, market],
        "superseded": [bikes],
        "repealed": [garden],
        "": [amended, repeal, market, bikes, garden],
    }
    for status, numbers in expected.items():
        assert await listed(pool, alpha, status) == numbers, status
    act_as(client, world, "member")
    for status, numbers in expected.items():
        page = await client.get("/s/alpha/decisions", params={"status": status or "all"})
        assert page.status_code == 200
        assert NUMBER.findall(page.text) == numbers, status
    # The exports say the derived status, in words (CSV) and by name (JSON).
    exported = await client.get("/s/alpha/decisions/export",
                                params={"format": "json", "status": "superseded"})  # fmt: skip
    assert [(d["number"], d["status"]) for d in exported.json()] == [(bikes, "superseded")]
    exported = await client.get("/s/alpha/decisions/export", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))[1:]
    assert {r[0]: r[4] for r in rows} == {
        amended: "en vigueur", repeal: "en vigueur", market: "en vigueur",
        bikes: "remplacée", garden: "abrogée",
    }  # fmt: skip
    api = await client.get(
        "/api/v1/spaces/alpha/decisions",
        params={"status": "repealed"},
        headers={"authorization": f"Bearer {world.api_tokens['member']}"},
    )
    assert [d["number"] for d in api.json()["decisions"]] == [garden]


# --- the review's page: the concerns kept at adoption ----------------------------------------


async def test_the_reviews_page_shows_the_decision_and_the_concerns_kept_at_its_adoption(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, client: Client
) -> None:
    number = await adopt_with_concerns(pool, alpha, world, GARDEN)
    next_on = TODAY + timedelta(days=200)
    text = Content(title="Reconduction", driver="Sa date est venue.", body="On continue.")
    review_id = await open_review(pool, alpha, world, number, "confirm", text, next_on)
    await to_object(pool, alpha, world, review_id)
    act_as(client, world, "member")
    page = await client.get(f"/s/alpha/proposals/{review_id}")
    assert page.status_code == 200
    html = page.text
    assert 'id="review" data-outcome="confirm"' in html
    assert f'<a href="/s/alpha/decisions/{number}">{number}</a> Jardin partagé' in html
    assert "Préoccupations consignées à son adoption" in html
    concerns = re.findall(r'<li data-stance="concern">([^<]*)</li>', html)
    assert concerns == ["Facilitator : Le samedi est chargé.", "Target : Pensons aux enfants."]
    assert "Un vieux souci." not in html  # changed before the round closed
    # An ordinary proposal has no such part.
    ordinary = await client.get(f"/s/alpha/proposals/{world.proposal_id}")
    assert 'id="review"' not in ordinary.text

    # A decision adopted without concerns says so.
    plain = await adopt_simply(pool, alpha, world, BIKES)
    other = await open_review(pool, alpha, world, plain, "repeal",
                              Content(title="Abrogation", driver="D", body="B"))  # fmt: skip
    await to_object(pool, alpha, world, other)
    html = (await client.get(f"/s/alpha/proposals/{other}")).text
    assert 'data-mark="no-concern"' in html and 'data-outcome="repeal"' in html


# --- opening a review from the web: facilitators only ----------------------------------------


async def test_only_facilitators_open_a_review(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, client: Client
) -> None:
    number = await adopt_simply(pool, alpha, world, GARDEN)
    await pool.execute("UPDATE decisions SET review_on = $2 WHERE number = $1",
                       number, TODAY + timedelta(days=5))  # fmt: skip
    page_url = f"/s/alpha/decisions/{number}"
    url = f"{page_url}/reviews/new"
    form = {
        "outcome": "confirm",
        "next_review_on": (TODAY + timedelta(days=300)).isoformat(),
        "title": "Reconduction",
        "driver": "Sa date est venue.",
        "body": "On continue.",
    }

    act_as(client, world, "member")
    assert 'data-mark="open-review"' not in (await client.get(page_url)).text
    assert (await client.get(url)).status_code == 403
    assert (await post_form(client, url, form)).status_code == 403
    act_as(client, world, "outsider")
    assert (await client.get(url)).status_code == 404
    assert (await post_form(client, url, form)).status_code == 404

    act_as(client, world, "facilitator")
    page = (await client.get(page_url)).text
    assert 'data-mark="review-due"' in page  # within the notice days
    assert f'href="{url}?outcome=repeal"' in page
    amend = (await client.get(url, params={"outcome": "amend"})).text
    assert re.search(r'value="amend"[^>]* checked', amend) and GARDEN.body in amend
    assert not re.search(r'value="confirm"[^>]* checked', amend)
    assert (await client.get("/s/alpha/decisions/AL-1999-001/reviews/new")).status_code == 404

    for changes, field in (
        ({"next_review_on": ""}, "next_review_on"),
        ({"next_review_on": (TODAY - timedelta(days=1)).isoformat()}, "next_review_on"),
        ({"next_review_on": "bientôt"}, "next_review_on"),
        ({"outcome": "forget"}, "outcome"),
        ({"title": ""}, "title"),
        ({"body": "   "}, "body"),
    ):
        refused = await post_form(client, url, {**form, **changes})
        assert refused.status_code == 422, changes
        assert field_error(refused.text, field), changes
    assert await pool.fetchval("SELECT count(*) FROM proposals WHERE kind = 'review'") == 0

    keyed = {**form, "idempotency_key": "review-once"}
    created = await post_form(client, url, keyed)
    assert created.status_code == 303
    location = created.headers["location"]
    assert re.fullmatch(r"/s/alpha/proposals/\d+", location)
    again = await post_form(client, url, keyed)  # a double click
    assert (again.status_code, again.headers["location"]) == (303, location)
    row = await pool.fetchrow(
        "SELECT p.kind, p.stage, p.review_outcome, p.review_next_on, d.number"
        " FROM proposals p JOIN decisions d ON d.id = p.review_of WHERE p.kind = 'review'"
    )
    assert (row["kind"], row["stage"], row["review_outcome"], row["number"]) == (
        "review", "draft", "confirm", number)  # fmt: skip
    assert row["review_next_on"].isoformat() == form["next_review_on"]
    # One review at a time: the form says where the one under way is.
    twice = await post_form(client, url, form)
    assert twice.status_code == 409
    assert 'data-mark="refused"' in twice.text and f'href="{location}"' in twice.text
    assert 'data-mark="refused"' in (await client.get(url)).text
    # The draft is its proposer's and the facilitators'; a member does not see it.
    act_as(client, world, "member")
    assert (await client.get(location)).status_code == 404
    act_as(client, world, "admin")
    assert 'data-outcome="confirm"' in (await client.get(location)).text


# --- the dashboard and the review task follow the derived status ------------------------------


async def test_due_reviews_wait_for_facilitators_until_a_review_is_under_way(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    number = await adopt_simply(pool, alpha, world, GARDEN)
    await pool.execute("UPDATE decisions SET review_on = $2 WHERE number = $1", number, TODAY)

    async def due(role: str) -> list[str]:
        async with pool.acquire() as conn:
            found = await proposals.awaiting(conn, world.user_ids[role])
        return [i.href.rsplit("/", 1)[-1] for i in found if i.kind == "review"]

    assert await due("facilitator") == [number] and await due("member") == []
    review_id = await open_review(pool, alpha, world, number, "confirm",
                                  Content(title="Reconduction", driver="D", body="B"),
                                  TODAY + timedelta(days=30))  # fmt: skip
    assert await due("facilitator") == [number]  # a draft: still to be done
    await to_object(pool, alpha, world, review_id)
    assert await due("facilitator") == []  # under way: its own steps show
    await consent_all(pool, alpha, world, review_id)
    await act(pool, alpha, review_id, person(world, "facilitator"),
              rules.CloseRound(datetime.now(UTC)))  # fmt: skip
    record = await number_of(pool, review_id)
    # Both dates come: the original is due again; the record of its confirmation never is.
    await pool.execute("UPDATE decisions SET review_on = $1 WHERE space_id = $2", TODAY, alpha.id)
    assert await due("facilitator") == [number]
    assert await reviews.announce_due(pool) == 1
    announced = await pool.fetch(
        "SELECT number FROM decisions WHERE review_announced_on IS NOT NULL AND space_id = $1",
        alpha.id,
    )
    assert [r["number"] for r in announced] == [number] != [record]


# --- the database: no stored status left to disagree with the links --------------------------


async def test_the_status_cannot_disagree_with_the_links(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    first = await adopt_simply(pool, alpha, world, GARDEN)
    second = await adopt_simply(pool, alpha, world, BIKES)
    columns = await pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'decisions'"
    )
    assert {"status", "superseded_by"}.isdisjoint({c["column_name"] for c in columns})
    ids = {r["number"]: r["id"] for r in await pool.fetch("SELECT id, number FROM decisions")}

    async def link(target: int, by: int | None, kind: str, space_id: int = alpha.id) -> None:
        await pool.execute(
            "INSERT INTO decision_links (target_id, decision_id, space_id, kind)"
            " VALUES ($1, $2, $3, $4)", target, by, space_id, kind)  # fmt: skip

    # A link is all it takes: the status follows, whoever wrote it.
    await link(ids[first], ids[second], "repeals")
    assert await status_of(pool, first) == "repealed"
    assert await listed(pool, alpha, "repealed") == [first]
    # A decision leaves force once; links stay; they stay within a space; each names its
    # decision; a decision does not end itself.
    with pytest.raises(asyncpg.UniqueViolationError):
        await link(ids[first], ids[second], "supersedes")
    for statement in ("UPDATE decision_links SET kind = 'supersedes'", "DELETE FROM decision_links",
                      "TRUNCATE decision_links"):  # fmt: skip
        with pytest.raises(asyncpg.RestrictViolationError):
            await pool.execute(statement)
    beta = await pool.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await link(ids[second], ids[first], "repeals", beta)
    with pytest.raises(asyncpg.CheckViolationError):
        await link(ids[second], None, "repeals")
    with pytest.raises(asyncpg.CheckViolationError):
        await link(ids[second], ids[second], "repeals")
    assert await status_of(pool, first) == "repealed"
    assert await status_of(pool, second) == "in_force"
    # A review names the decision it reviews, of its own space, and a date to confirm.
    proposal_id = await pool.fetchval(
        "SELECT proposal_id FROM decisions WHERE id = $1", ids[second]
    )
    for change, error in (
        ("kind = 'review'", asyncpg.CheckViolationError),
        ("review_of = {second}, review_outcome = 'repeal'", asyncpg.CheckViolationError),
        ("kind = 'review', review_of = {second}, review_outcome = 'confirm'",
         asyncpg.CheckViolationError),
    ):  # fmt: skip
        with pytest.raises(error):
            await pool.execute(
                f"UPDATE proposals SET {change.format(second=ids[second])} WHERE id = $1",  # noqa: S608
                proposal_id,
            )


async def test_the_migration_turns_the_stored_statuses_into_links(
    empty_database: str, tmp_path: Path
) -> None:
    """Decisions marked superseded or repealed before 0016 keep their status, now derived
    from one link each (the stored status decided which of two links counted)."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in migrations.default_directory().glob("*.sql"):
        if path.name < "0016":
            (folder / path.name).write_text(path.read_text())
    conn = await db.connect(empty_database)
    try:
        await migrations.migrate(conn, folder)
        user = await conn.fetchval(
            "INSERT INTO users (email, name, password_hash) VALUES ('a@example.org', 'A', 'x')"
            " RETURNING id"
        )
        space = await conn.fetchval(
            "INSERT INTO spaces (name, slug, kind, description, decision_prefix)"
            " VALUES ('Alpha', 'alpha', 'collective', '', 'AL') RETURNING id"
        )
        ids = {}
        for seq, letter in enumerate("ABCDE", start=1):
            proposal = await conn.fetchval(
                "INSERT INTO proposals (space_id, proposer_id, title, stage, closed_at)"
                " VALUES ($1, $2, $3, 'adopted', now()) RETURNING id",
                space, user, letter,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO proposal_versions (proposal_id, number, title, driver, body,"
                " author_id) VALUES ($1, 1, $2, 'd', 'b', $3)",
                proposal, letter, user,
            )  # fmt: skip
            ids[letter] = await conn.fetchval(
                """INSERT INTO decisions (space_id, proposal_id, version, year, seq, number,
                       title, driver, body, adopted_at, review_on, search_text)
                   VALUES ($1, $2, 1, 2025, $3::int, $4, $4, 'd', 'b',
                           '2025-01-01'::timestamptz + $3 * interval '1 day', '2026-01-01', '')
                   RETURNING id""",
                space, proposal, seq, letter,
            )  # fmt: skip
        # A replaced by B; C marked superseded, two links (by B, then by D); D in force
        # despite a stray link; E repealed by nothing on record.
        for decision_id, superseded_id in (("B", "A"), ("D", "C"), ("B", "C"), ("A", "D")):
            await conn.execute(
                "INSERT INTO decision_supersedes (decision_id, superseded_id) VALUES ($1, $2)",
                ids[decision_id], ids[superseded_id],
            )  # fmt: skip
        await conn.execute(
            "UPDATE decisions SET status = 'superseded', superseded_by = $2 WHERE id = $1",
            ids["A"], ids["B"],
        )  # fmt: skip
        await conn.execute("UPDATE decisions SET status = 'superseded' WHERE id = $1", ids["C"])
        await conn.execute("UPDATE decisions SET status = 'repealed' WHERE id = $1", ids["E"])

        (folder / "0016_decision_reviews.sql").write_text(
            (migrations.default_directory() / "0016_decision_reviews.sql").read_text()
        )
        assert [m.version for m in await migrations.migrate(conn, folder)] == [16]
        rows = await conn.fetch(
            """SELECT d.title, st.status, b.title AS by_
               FROM decisions d JOIN decision_states st ON st.decision_id = d.id
               LEFT JOIN decisions b ON b.id = coalesce(st.superseded_by, st.repealed_by)
               ORDER BY d.title"""
        )
        assert [tuple(r) for r in rows] == [
            ("A", "superseded", "B"),
            ("B", "in_force", None),
            ("C", "superseded", "B"),  # the earlier of its two links
            ("D", "in_force", None),
            ("E", "repealed", None),
        ]
        assert await conn.fetchval("SELECT to_regclass('decision_supersedes')") is None
    finally:
        await conn.close()
