"""The decision register through HTTP: search (French, accents ignored), filters, keyset pages,
htmx fragments, CSV and JSON exports, a decision's page with its whole trail, the printable
page, review dates, the JSON API, and who may see any of it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
import pytest

from consentir import db
from consentir.consent import rules, store
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.decisions import exports
from consentir.decisions import store as decisions
from consentir.decisions.store import Filters
from consentir.decisions.trail import decision_trail
from consentir.errors import DomainError
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from tests.process import act, open_meeting, person, to_object_round
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form

TODAY = datetime.now(UTC).date()
YEAR = TODAY.year

MEETINGS = Content(
    title="Réunions mensuelles",
    driver="Nous nous voyons trop peu.",
    body="Une **réunion** chaque premier lundi du mois.",
)
BUDGET = Content(
    title="Budget participatif",
    driver="Chaque décision de dépense doit être partagée.",
    body="Le budget est voté en assemblée.",
)
GARDEN = Content(
    title="Jardin partagé",
    driver="Le terrain est libre.",
    body="Un potager ouvert à tous, le samedi.",
)


@pytest.fixture
def client(scenario_client: Client) -> Client:
    return scenario_client


# --- adopting proposals through the consent store ------------------------------------------


async def number_of(pool: asyncpg.Pool, proposal_id: int) -> str:
    async with pool.acquire() as conn:
        number = await conn.fetchval(
            "SELECT number FROM decisions WHERE proposal_id = $1", proposal_id
        )
    assert number is not None
    return str(number)


async def adopt_simply(pool: asyncpg.Pool, space: Space, world: Scenario, text: Content) -> str:
    """Straight to the object round, everyone consents, adopted."""
    proposal_id = await to_object_round(pool, space, world, text)
    for role in ("admin", "facilitator", "target"):
        who = person(world, role)
        await act(pool, space, proposal_id, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1))
    await act(
        pool, space, proposal_id, person(world, "facilitator"), rules.CloseRound(datetime.now(UTC))
    )
    return await number_of(pool, proposal_id)


async def adopt_with_a_trail(pool: asyncpg.Pool, space: Space, world: Scenario) -> str:
    """A question and its answer, reactions, an objection judged valid and integrated in a
    second version, a changed position and one recorded on someone's behalf."""
    proposer, facilitator = person(world, "member"), person(world, "facilitator")
    admin, target = person(world, "admin"), person(world, "target")
    async with db.transaction(pool) as conn:
        proposal_id = await store.create(conn, space, proposer, MEETINGS)
    await act(pool, space, proposal_id, proposer, rules.Submit(frozenset()))
    await act(pool, space, proposal_id, target, rules.AskQuestion(), Content(text="Quel lieu ?"))
    async with pool.acquire() as conn:
        question_id = await conn.fetchval(
            "SELECT id FROM questions WHERE proposal_id = $1", proposal_id
        )
    await act(
        pool,
        space,
        proposal_id,
        proposer,
        rules.AnswerQuestion(question_id),
        Content(text="La salle des fêtes."),
    )
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    await act(pool, space, proposal_id, target, rules.React(), Content(text="Bonne idée."))
    await act(pool, space, proposal_id, admin, rules.React(passed=True))
    await act(pool, space, proposal_id, facilitator, rules.Advance(frozenset()))
    await act(pool, space, proposal_id, admin, rules.GivePosition(admin.user_id, Stance.CONSENT, 1))
    await act(
        pool,
        space,
        proposal_id,
        facilitator,
        rules.GivePosition(facilitator.user_id, Stance.CONCERN, 1, "Le lundi est chargé."),
    )
    await act(
        pool,
        space,
        proposal_id,
        target,
        rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Je travaille le lundi."),
    )
    async with pool.acquire() as conn:
        objection_id = await conn.fetchval(
            "SELECT id FROM objections WHERE proposal_id = $1", proposal_id
        )
    await act(
        pool,
        space,
        proposal_id,
        facilitator,
        rules.JudgeObjection(objection_id, valid=True, reason="Elle exclut un membre."),
    )
    await act(pool, space, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    version_2 = Content(
        driver=MEETINGS.driver,
        body="Une **réunion** chaque premier mardi du mois.",
        note="Le mardi, pour que chacun puisse venir.",
    )
    await act(
        pool,
        space,
        proposal_id,
        proposer,
        rules.PublishVersion(frozenset({objection_id})),
        version_2,
    )
    await act(pool, space, proposal_id, facilitator, rules.OpenObjectRound(frozenset()))
    await act(pool, space, proposal_id, admin, rules.GivePosition(admin.user_id, Stance.CONCERN, 2))
    # The objector confirms, herself, that version 2 removes her objection, and consents.
    await act(pool, space, proposal_id, target, rules.ConfirmIntegration(objection_id))
    await act(
        pool, space, proposal_id, target, rules.GivePosition(target.user_id, Stance.CONSENT, 2)
    )
    await act(pool, space, proposal_id, facilitator,
              rules.GivePosition(facilitator.user_id, Stance.CONSENT, 2))  # fmt: skip
    # In a meeting, the admin (present) changes her mind aloud; the facilitator records it.
    await open_meeting(pool, space, world, ("admin", "target"))
    await act(pool, space, proposal_id, facilitator,
              rules.GivePosition(admin.user_id, Stance.CONSENT, 2))  # fmt: skip
    await act(pool, space, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    return await number_of(pool, proposal_id)


@pytest.fixture
async def three(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> list[str]:
    """Three decisions of alpha, in the order adopted: meetings, budget, garden."""
    return [
        await adopt_with_a_trail(pool, alpha, world),
        await adopt_simply(pool, alpha, world, BUDGET),
        await adopt_simply(pool, alpha, world, GARDEN),
    ]


async def archive(pool: asyncpg.Pool, space: Space, world: Scenario, count: int) -> None:
    """`count` old decisions of 2020 written straight into the tables (cheap volume)."""
    async with db.transaction(pool) as conn:
        await conn.execute(
            """INSERT INTO proposals (space_id, proposer_id, title, stage, closed_at)
               SELECT $1, $2, 'Décision archivée ' || g, 'adopted', now()
               FROM generate_series(1, $3) g""",
            space.id,
            world.user_ids["member"],
            count,
        )
        await conn.execute(
            """INSERT INTO proposal_versions (proposal_id, number, title, driver, body,
                                              author_id)
               SELECT id, 1, title, 'Archives', 'Texte archivé', proposer_id FROM proposals
               WHERE space_id = $1 AND title LIKE 'Décision archivée %'""",
            space.id,
        )
        await conn.execute(
            """INSERT INTO decisions (space_id, proposal_id, version, year, seq, number, title,
                                      driver, body, adopted_at, review_on, search_text)
               SELECT $1, id, 1, 2020, n, 'AL-2020-' || lpad(n::text, 4, '0'), title,
                      'Archives', 'Texte archivé',
                      '2020-01-01'::timestamptz + n * interval '1 minute', '2021-01-01',
                      'decision archivee texte archive'
               FROM (SELECT id, title, row_number() OVER (ORDER BY id) AS n FROM proposals
                     WHERE space_id = $1 AND title LIKE 'Décision archivée %') AS s""",
            space.id,
        )
        await conn.execute(
            "INSERT INTO decision_counters (space_id, year, last_seq) VALUES ($1, 2020, $2)",
            space.id,
            count,
        )


NUMBER = re.compile(r'<th scope="row"><a href="/s/alpha/decisions/([^"]+)">')


def listed(html: str) -> list[str]:
    return NUMBER.findall(html)


def bearer(world: Scenario, role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {world.api_tokens[role]}"}


# --- the register ----------------------------------------------------------------------------


async def test_the_register_lists_decisions_newest_first(
    client: Client, world: Scenario, three: list[str]
) -> None:
    meetings, budget, garden = three
    assert (meetings, budget, garden) == (f"AL-{YEAR}-001", f"AL-{YEAR}-002", f"AL-{YEAR}-003")
    act_as(client, world, "unsigned")  # reading needs no signature
    page = await client.get("/s/alpha/decisions")
    assert page.status_code == 200
    assert listed(page.text) == [garden, budget, meetings]
    assert "<caption>" in page.text and 'scope="col"' in page.text
    assert 'rel="next"' not in page.text
    assert 'hx-get="/s/alpha/decisions"' in page.text and 'hx-push-url="true"' in page.text
    for name in ("q", "status", "adopted_from", "adopted_to", "review_before"):
        assert f'<label for="f-{name}">' in page.text, name


async def test_search_is_french_and_ignores_accents(
    client: Client, world: Scenario, three: list[str]
) -> None:
    meetings, budget, _garden = three
    act_as(client, world, "member")
    for q, expected in (
        ("reunion", [meetings]),
        ("Réunions", [meetings]),
        ("decisions", [budget]),
        ("DÉCISION partagée", [budget]),
        ("potager lundi", []),
    ):
        page = await client.get("/s/alpha/decisions", params={"q": q})
        assert page.status_code == 200
        assert listed(page.text) == expected, q
        assert f'value="{q}"' in page.text  # the box keeps what was typed


async def test_filters_by_status_and_dates(
    client: Client, world: Scenario, three: list[str], pool: asyncpg.Pool, alpha: Space
) -> None:
    meetings, budget, garden = three
    async with db.transaction(pool) as conn:
        # Repealed: a link from another decision (the status is derived from the links).
        await conn.execute(
            """INSERT INTO decision_links (target_id, decision_id, space_id, kind)
               SELECT g.id, b.id, g.space_id, 'repeals' FROM decisions g, decisions b
               WHERE g.space_id = $1 AND g.number = $2 AND b.space_id = $1 AND b.number = $3""",
            alpha.id,
            garden,
            budget,
        )
        await decisions.set_review_date(
            conn, alpha.id, budget, TODAY + timedelta(days=10), world.user_ids["facilitator"]
        )
    act_as(client, world, "member")
    tomorrow, later = TODAY + timedelta(days=1), TODAY + timedelta(days=30)
    for params, expected in (
        ({"status": "repealed"}, [garden]),
        ({"status": "in_force"}, [budget, meetings]),
        ({"status": "all"}, [garden, budget, meetings]),
        ({"adopted_from": tomorrow.isoformat()}, []),
        ({"adopted_from": TODAY.isoformat(), "adopted_to": TODAY.isoformat()},
         [garden, budget, meetings]),
        ({"review_before": later.isoformat()}, [budget]),
        ({"review_before": later.isoformat(), "status": "repealed"}, []),
        ({"q": "budget", "status": "in_force"}, [budget]),
    ):  # fmt: skip
        page = await client.get("/s/alpha/decisions", params=params)
        assert page.status_code == 200, params
        assert listed(page.text) == expected, params
    page = await client.get("/s/alpha/decisions", params={"status": "repealed"})
    assert '<option value="repealed" selected>' in page.text


async def test_bad_filters_are_shown_next_to_their_field(
    client: Client, world: Scenario, three: list[str]
) -> None:
    act_as(client, world, "member")
    for params, field in (
        ({"adopted_from": "2026-13-45"}, "adopted_from"),
        ({"review_before": "demain"}, "review_before"),
        ({"status": "lost"}, "status"),
        ({"adopted_from": "2026-05-01", "adopted_to": "2026-04-01"}, "adopted_to"),
    ):
        page = await client.get("/s/alpha/decisions", params=params)
        assert page.status_code == 422, params
        assert field_error(page.text, field), params
        assert 'class="form-errors"' in page.text
        assert listed(page.text) == []
    # A page address that means nothing: a 400, the page still there.
    page = await client.get("/s/alpha/decisions", params={"after": "yesterday"})
    assert page.status_code == 400
    assert 'class="form-errors"' in page.text and 'id="f-q"' in page.text
    # The same mistakes on the export address: the register with the message, not a file.
    page = await client.get("/s/alpha/decisions/export", params={"adopted_to": "31/12/2026"})
    assert page.status_code == 422 and field_error(page.text, "adopted_to")


async def test_htmx_gets_the_results_region_only(
    client: Client, world: Scenario, three: list[str]
) -> None:
    meetings = three[0]
    act_as(client, world, "member")
    htmx = {"HX-Request": "true", "HX-Request-Type": "partial"}
    fragment = await client.get("/s/alpha/decisions", params={"q": "reunion"}, headers=htmx)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="decision-filters"' not in fragment.text
    assert listed(fragment.text) == [meetings]
    assert "HX-Request" in fragment.headers["vary"]
    # Going back in history asks for the whole page.
    restore = await client.get(
        "/s/alpha/decisions",
        params={"q": "reunion"},
        headers={**htmx, "HX-History-Restore-Request": "true"},
    )
    assert "<html" in restore.text and 'id="decision-filters"' in restore.text
    # A mistake: the whole register comes back, with the message next to the field.
    wrong = await client.get("/s/alpha/decisions", params={"adopted_from": "x"}, headers=htmx)
    assert wrong.status_code == 422
    assert wrong.headers["hx-retarget"] == "#decision-register"
    assert wrong.headers["hx-reselect"] == "#decision-register"
    assert wrong.headers["hx-push-url"] == "false"
    assert field_error(wrong.text, "adopted_from")
    assert 'hx-target="#decision-register" hx-select="#decision-register"' in wrong.text
    # That form asks for the whole page next time (htmx says "full"), messages gone.
    fixed = await client.get(
        "/s/alpha/decisions",
        params={"adopted_from": TODAY.isoformat()},
        headers={"HX-Request": "true", "HX-Request-Type": "full"},
    )
    assert fixed.status_code == 200 and 'id="decision-register"' in fixed.text
    assert 'class="form-errors"' not in fixed.text and len(listed(fixed.text)) == 3
    assert 'hx-target="#decision-results"' in fixed.text


async def test_the_store_pages_by_keyset(
    pool: asyncpg.Pool, alpha: Space, three: list[str]
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    async with pool.acquire() as conn:
        while True:
            page, cursor = await decisions.register(
                conn, alpha.id, Filters(), after=cursor, limit=2
            )
            seen += [row.number for row in page]
            if cursor is None:
                break
    assert seen == list(reversed(three))


async def test_pages_of_fifty_keep_the_filters_and_exports_hold_every_row(
    client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space, three: list[str]
) -> None:
    await archive(pool, alpha, world, 1050)
    act_as(client, world, "member")
    url: str | None = "/s/alpha/decisions?adopted_to=2020-12-31"
    seen: list[str] = []
    pages = 0
    while url and pages < 3:
        page = await client.get(url)
        assert page.status_code == 200
        numbers = listed(page.text)
        assert len(numbers) == 50
        seen += numbers
        following = re.search(r'<a href="([^"]+)" rel="next"', page.text)
        assert following, "a next page"
        url = following.group(1).replace("&amp;", "&")
        assert "adopted_to=2020-12-31" in url and "after=" in url
        pages += 1
    assert seen == [f"AL-2020-{n:04d}" for n in range(1050, 1050 - 150, -1)]

    exported = await client.get(
        "/s/alpha/decisions/export", params={"format": "csv", "adopted_to": "2020-12-31"}
    )
    assert exported.status_code == 200
    rows = spreadsheet(exported.content)
    assert rows[0] == ["Numéro", "Titre", "Adoptée le", "Révision le", "Statut", "Lien"]
    assert len(rows) == 1 + 1050
    numbers = [row[0] for row in rows[1:]]
    assert numbers == [f"AL-2020-{n:04d}" for n in range(1050, 0, -1)]  # no gap, no repeat

    as_json = await client.get("/s/alpha/decisions/export", params={"format": "json"})
    assert as_json.status_code == 200
    assert len(as_json.json()) == 1050 + 3


def spreadsheet(content: bytes) -> list[list[str]]:
    """The rows a French spreadsheet reads: UTF-8 with its byte order mark, `;` between cells."""
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


async def test_csv_and_json_exports(
    client: Client, world: Scenario, pool: asyncpg.Pool, three: list[str]
) -> None:
    meetings, budget, garden = three
    act_as(client, world, "member")
    exported = await client.get("/s/alpha/decisions/export", params={"format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = exported.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".csv" in disposition
    header, *rows = spreadsheet(exported.content)
    assert header == ["Numéro", "Titre", "Adoptée le", "Révision le", "Statut", "Lien"]
    assert [row[0] for row in rows] == [garden, budget, meetings]
    number, title, adopted_at, review_on, status, url = rows[-1]
    assert title == "Réunions mensuelles"
    assert status == "en vigueur"
    async with pool.acquire() as conn:
        adopted = await conn.fetchval("SELECT adopted_at FROM decisions WHERE number = $1", number)
    # the instance's time (TIME_ZONE, Europe/Paris in tests), to the minute, as a spreadsheet
    # reads a date and time
    assert adopted_at == adopted.astimezone(ZoneInfo("Europe/Paris")).strftime("%Y-%m-%d %H:%M")
    assert date.fromisoformat(review_on) > TODAY
    assert url.endswith(f"/s/alpha/decisions/{meetings}")

    searched = await client.get(
        "/s/alpha/decisions/export", params={"format": "csv", "q": "decisions"}
    )
    assert [row[0] for row in spreadsheet(searched.content)] == ["Numéro", budget]

    as_json = await client.get("/s/alpha/decisions/export", params={"format": "json"})
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert "attachment" in as_json.headers["content-disposition"]
    body = as_json.json()
    assert [item["number"] for item in body] == [garden, budget, meetings]
    assert set(body[0]) == {"number", "title", "adopted_at", "review_on", "status", "url"}
    # machine names and ISO 8601 times in UTC
    assert body[-1]["status"] == "in_force"
    assert body[-1]["adopted_at"] == adopted.astimezone(UTC).isoformat().replace("+00:00", "Z")

    empty = await client.get(
        "/s/alpha/decisions/export", params={"format": "json", "status": "repealed"}
    )
    assert empty.json() == []
    wrong = await client.get("/s/alpha/decisions/export", params={"format": "xlsx"})
    assert wrong.status_code == 400


async def test_an_english_reader_gets_english_headers_and_statuses(
    client: Client, world: Scenario, pool: asyncpg.Pool, three: list[str]
) -> None:
    async with pool.acquire() as conn:
        await conn.execute("UPDATE users SET locale = 'en' WHERE id = $1", world.user_ids["member"])
    act_as(client, world, "member")
    exported = await client.get("/s/alpha/decisions/export", params={"format": "csv"})
    header, *rows = spreadsheet(exported.content)
    assert header == ["Number", "Title", "Adopted on", "Review on", "Status", "Link"]
    assert {row[4] for row in rows} == {"in force"}


def test_csv_cells_are_quoted_by_the_csv_module_and_never_run_as_formulas() -> None:
    text = exports.csv_lines([["=HYPERLINK(1)", 'Dit "oui"; puis non', "-2", "a\nb", "ok"]])
    assert text == '\'=HYPERLINK(1);"Dit ""oui""; puis non";\'-2;"a\nb";ok\r\n'
    assert next(csv.reader(io.StringIO(text), delimiter=";")) == [
        "'=HYPERLINK(1)",
        'Dit "oui"; puis non',
        "'-2",
        "a\nb",
        "ok",
    ]


async def test_the_json_export_streams_one_chunk_per_page(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    await archive(pool, alpha, world, 1050)
    rows = exports.pages(pool, alpha.id, Filters())
    chunks = [chunk async for chunk in exports.json_chunks(rows, "https://x.example", "alpha")]
    # "[", three pages of at most 500 decisions, "]": not one chunk per decision
    assert len(chunks) == 5
    assert max(len(chunk) for chunk in chunks) < 500 * 300
    decoded = msgspec.json.decode(b"".join(chunks))
    assert len(decoded) == 1050
    assert decoded[0]["url"] == "https://x.example/s/alpha/decisions/AL-2020-1050"


# --- a decision ------------------------------------------------------------------------------


async def test_the_decision_page_shows_its_whole_trail(
    client: Client, world: Scenario, three: list[str]
) -> None:
    meetings = three[0]
    act_as(client, world, "member")
    page = await client.get(f"/s/alpha/decisions/{meetings}")
    assert page.status_code == 200
    html = page.text
    assert meetings in html and "Réunions mensuelles" in html
    assert "<strong>réunion</strong> chaque premier mardi" in html  # Markdown, version 2
    assert 'data-status="in_force"' in html
    # Both versions, the note of the second, and what changed.
    assert 'id="version-1"' in html and 'id="version-2"' in html
    assert "Le mardi, pour que chacun puisse venir." in html
    # as it reads: formatted, not raw Markdown
    assert "<strong>réunion</strong> chaque premier <del>lundi</del> <ins>mardi</ins>" in html
    # The question and its answer, the reactions.
    assert "Quel lieu ?" in html and "La salle des fêtes." in html
    assert "Bonne idée." in html
    # Positions per round: a concern with its reason, a changed one, one recorded on behalf.
    assert html.count('data-kind="object"') == 2
    assert 'data-stance="concern"' in html and "Le lundi est chargé." in html
    assert 'class="superseded"' in html
    assert 'data-mark="on-behalf"' in html
    # The objection and how it ended.
    assert 'data-status="integrated"' in html
    assert "Je travaille le lundi." in html and "Elle exclut un membre." in html
    # A plain member sees no review form.
    assert 'action="/s/alpha/decisions/' + meetings + '/review"' not in html


async def test_the_trail_is_scoped_to_its_space(
    pool: asyncpg.Pool, alpha: Space, three: list[str]
) -> None:
    async with pool.acquire() as conn:
        beta = await spaces.space_view(conn, "beta", None, instance_admin=False)
        assert beta is not None
        trail = await decision_trail(conn, alpha.id, three[0])
        assert [v.number for v in trail.versions] == [1, 2]
        assert [r.kind for r in trail.rounds] == ["clarify", "react", "object", "object"]
        [objection] = trail.objections
        assert (objection.status, objection.answered_in) == ("integrated", 2)
        with pytest.raises(DomainError) as missing:
            await decision_trail(conn, beta.space.id, three[0])
    assert missing.value.status == 404


async def test_the_printable_page(client: Client, world: Scenario, three: list[str]) -> None:
    meetings = three[0]
    act_as(client, world, "member")
    page = await client.get(f"/s/alpha/decisions/{meetings}/print")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'<link rel="stylesheet" href="/static/print\.css\?v=\w+">', html)
    assert "consentir.css" not in html and "htmx" not in html
    assert 'class="tabs"' not in html and "site-header" not in html and "<form" not in html
    assert "Réunions mensuelles" in html and "Elle exclut un membre." in html
    assert 'data-status="integrated"' in html
    assert (await client.get("/static/print.css")).status_code == 200


async def test_a_facilitator_changes_the_review_date(
    client: Client, world: Scenario, three: list[str], scenario_database: tuple[str, Scenario]
) -> None:
    budget = three[1]
    url = f"/s/alpha/decisions/{budget}"
    act_as(client, world, "facilitator")
    page = await client.get(url)
    assert f'action="{url}/review"' in page.text
    new_date = (TODAY + timedelta(days=90)).isoformat()
    changed = await post_form(client, f"{url}/review", {"review_on": new_date})
    assert changed.status_code == 303
    assert changed.headers["location"].startswith(url)
    page = await client.get(changed.headers["location"])
    assert f'<time datetime="{new_date}">' in page.text
    conn = await db.connect(scenario_database[0])
    try:
        event = await conn.fetchrow("SELECT action, data FROM journal ORDER BY id DESC LIMIT 1")
    finally:
        await conn.close()
    assert event["action"] == "decision.review_date_set"
    assert event["data"] == {"number": budget, "review_on": new_date}

    for value in ("", "bientôt", (TODAY - timedelta(days=400)).isoformat()):
        refused = await post_form(client, f"{url}/review", {"review_on": value})
        assert refused.status_code == 422, value
        assert field_error(refused.text, "review_on"), value

    act_as(client, world, "member")
    denied = await post_form(client, f"{url}/review", {"review_on": new_date})
    assert denied.status_code == 403
    act_as(client, world, "admin")
    assert (await post_form(client, f"{url}/review", {"review_on": new_date})).status_code == 303
    missing = await post_form(
        client, "/s/alpha/decisions/AL-1999-001/review", {"review_on": new_date}
    )
    assert missing.status_code == 404


async def test_nobody_outside_the_space_sees_a_decision(
    client: Client, world: Scenario, three: list[str]
) -> None:
    number = three[0]
    pages = [
        "/s/alpha/decisions",
        "/s/alpha/decisions?q=reunion",
        "/s/alpha/decisions/export?format=csv",
        "/s/alpha/decisions/export?format=json",
        f"/s/alpha/decisions/{number}",
        f"/s/alpha/decisions/{number}/print",
    ]
    act_as(client, world, "outsider")
    for path in pages:
        assert (await client.get(path)).status_code == 404, path
    refused = await post_form(
        client, f"/s/alpha/decisions/{number}/review", {"review_on": "2030-01-01"}
    )
    assert refused.status_code == 404
    client.cookies.delete("session")
    for path in ("/api/v1/spaces/alpha/decisions", f"/api/v1/spaces/alpha/decisions/{number}"):
        answer = await client.get(path, headers=bearer(world, "outsider"))
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert (await client.get(path)).status_code == 401
    act_as(client, world, "anonymous")
    for path in pages:
        answer = await client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    # Members of alpha do not see beta's register either; an unknown number is not found.
    act_as(client, world, "member")
    assert (await client.get("/s/beta/decisions")).status_code == 404
    assert (await client.get("/s/alpha/decisions/AL-1999-001")).status_code == 404
    assert (await client.get("/s/alpha/decisions/AL-1999-001/print")).status_code == 404


# --- the JSON API ------------------------------------------------------------------------------


async def test_the_api_lists_searches_and_pages(
    client: Client, world: Scenario, three: list[str], pool: asyncpg.Pool, alpha: Space
) -> None:
    meetings, budget, garden = three
    await archive(pool, alpha, world, 60)
    client.cookies.delete("session")
    headers = bearer(world, "member")
    answer = await client.get("/api/v1/spaces/alpha/decisions", params={"q": "reunion"},
                              headers=headers)  # fmt: skip
    assert answer.status_code == 200
    body = answer.json()
    assert [d["number"] for d in body["decisions"]] == [meetings]
    assert body["next"] is None
    item = body["decisions"][0]
    assert item["title"] == "Réunions mensuelles" and item["status"] == "in_force"
    assert item["url"].endswith(f"/s/alpha/decisions/{meetings}")

    seen: list[str] = []
    url: str | None = "/api/v1/spaces/alpha/decisions?status=in_force"
    while url:
        page = (await client.get(url, headers=headers)).json()
        seen += [d["number"] for d in page["decisions"]]
        url = page["next"]
        assert url is None or "status=in_force" in url
    assert len(seen) == len(set(seen)) == 63
    assert seen[:3] == [garden, budget, meetings]

    wrong = await client.get(
        "/api/v1/spaces/alpha/decisions", params={"adopted_from": "hier"}, headers=headers
    )
    assert wrong.status_code == 400
    assert wrong.headers["content-type"].startswith("application/problem+json")
    period = await client.get(
        "/api/v1/spaces/alpha/decisions",
        params={"adopted_from": "2026-05-01", "adopted_to": "2026-04-01"},
        headers=headers,
    )
    assert period.status_code == 422 and period.json()["errors"][0]["field"] == "adopted_to"
    cursor = await client.get(
        "/api/v1/spaces/alpha/decisions", params={"after": "nope"}, headers=headers
    )
    assert cursor.status_code == 400 and cursor.json()["code"] == "bad_cursor"


async def test_the_api_gives_a_decision_with_its_trail(
    client: Client, world: Scenario, three: list[str]
) -> None:
    meetings = three[0]
    client.cookies.delete("session")
    answer = await client.get(
        f"/api/v1/spaces/alpha/decisions/{meetings}", headers=bearer(world, "unsigned")
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["number"] == meetings and body["version"] == 2
    assert [v["note"] for v in body["versions"]] == ["", "Le mardi, pour que chacun puisse venir."]
    assert body["questions"][0]["answer"] == "La salle des fêtes."
    assert [r["kind"] for r in body["rounds"]] == ["clarify", "react", "object", "object"]
    last = body["rounds"][-1]
    assert last["outcome"] == "adopted" and last["participants"] == 3
    on_behalf = [p for p in last["positions"] if p["recorded_by"]]
    assert [(p["person"], p["recorded_by"]) for p in on_behalf] == [("Admin", "Facilitator")]
    assert [p["superseded"] for p in last["positions"] if p["person"] == "Admin"] == [True, False]
    [objection] = body["objections"]
    assert objection["status"] == "integrated" and objection["answered_in"] == 2
    assert objection["judgement"] == "Elle exclut un membre."
    assert objection["judged_by"] == "Facilitator"
    # Both confirmations, each its author's own act, on record.
    assert objection["proposer_confirmed_at"] and objection["objector_confirmed_at"]
    missing = await client.get(
        "/api/v1/spaces/alpha/decisions/AL-1999-001", headers=bearer(world, "member")
    )
    assert missing.status_code == 404
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/spaces/{slug}/decisions/{number}" in schema["paths"]
