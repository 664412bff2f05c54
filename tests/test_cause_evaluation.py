"""Acting and evaluating a cause (issue 12 §5): the action list made from the chosen scenario
version, its statuses and evidence (owner and facilitators only), execution progress; the
owners reminded once per threshold; measurements append-only with corrections; the
evaluation page (chart and table of the same values, progress), its CSV (no formula); the
interpretation proposed and adopted; the gates and other spaces' ids. Through the stores and
HTTP, on a real PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import asyncpg
import pytest

from consentir import db
from consentir.causes import acting, measuring, objectives, scenarios
from consentir.causes import store as causes
from consentir.causes.acting import Threshold
from consentir.causes.objectives import CriterionText, ObjectiveText
from consentir.causes.progress import ALREADY_CORRECTED, Direction
from consentir.causes.rules import CauseRefused, Rule
from consentir.causes.scenarios import ActionIn, ScenarioText
from consentir.causes.store import CauseText
from consentir.errors import DomainError
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from consentir.web import i18n
from tests import causes_setup
from tests.process import person
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form

TREASURY = mandates.RoleText(
    name="Trésorerie", purpose="Tenir les comptes.", domain="Les dépenses.",
    accountabilities=["Tenir la caisse"], seats=1, term_months=12,
)  # fmt: skip
LADDER = ("La mairie nous ignore", "La mairie nous reçoit", "Les travaux sont votés")


def today() -> date:
    return datetime.now(i18n.display_zone).date()


def words(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


@pytest.fixture
def client(scenario_client: Client) -> Client:
    return scenario_client


@dataclass(frozen=True)
class Chosen:
    cause_id: int
    accidents: int  # a number that should fall: 120 → 60
    steps: int  # a ladder: step 0 → step 2
    lane_open: int  # yes or no
    role_id: int  # held by member
    decision_id: int  # the choice's
    items: list[int]  # the action list: target's, the role's, nobody's
    listed: int  # what create_list said


async def objectives_cause(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> tuple[int, dict[str, int]]:
    """A cause of alpha taken on, with two objectives and three complete criteria adopted by
    decision: the plan is open, no scenario is chosen."""
    cause_id = await causes_setup.taken_on_cause(pool, alpha, world)
    member = world.user_ids["member"]
    start, end = today() - timedelta(days=200), today() + timedelta(days=500)
    async with db.transaction(pool) as conn:
        safety = await objectives.add_objective(
            conn,
            alpha.id,
            cause_id,
            member,
            ObjectiveText(
                "short", "Moins d'accidents rue Paul-Bert", "Deux fois moins d'accidents."
            ),
        )
        lane = await objectives.add_objective(
            conn,
            alpha.id,
            cause_id,
            member,
            ObjectiveText("long", "Une piste cyclable protégée", "La piste est ouverte."),
        )
        ids = {
            "accidents": await objectives.add_criterion(
                conn, alpha.id, cause_id, safety, member, CriterionText(
                    name="Accidents par an", kind="number", unit="accidents",
                    direction=Direction.DOWN, baseline=Decimal(120), baseline_on=start,
                    target=Decimal(60), target_on=end, source="Préfecture")),
            "steps": await objectives.add_criterion(
                conn, alpha.id, cause_id, lane, member, CriterionText(
                    name="Écoute de la mairie", kind="ladder", steps=LADDER,
                    baseline=Decimal(0), baseline_on=start, target=Decimal(2), target_on=end)),
            "lane_open": await objectives.add_criterion(
                conn, alpha.id, cause_id, lane, member, CriterionText(
                    name="Piste ouverte", kind="yesno", baseline_on=start, target_on=end)),
        }  # fmt: skip
        proposal_id = await objectives.propose(conn, alpha, person(world, "member"), cause_id)
    await causes_setup.adopt(pool, alpha, world, proposal_id)
    return cause_id, ids


async def chosen_cause(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> Chosen:
    """A cause of alpha with a scenario chosen by decision and its action list: the
    evaluation step is open. Its actions: one of target's (due in 5 days), one of the
    role Trésorerie held by member (due 2 days ago), one of nobody's (due in 30 days)."""
    cause_id, ids = await objectives_cause(pool, alpha, world)
    member = world.user_ids["member"]
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id, TREASURY, actor_id=world.user_ids["admin"]
        )
        granting = await conn.fetchval(
            "SELECT max(id) FROM decisions WHERE space_id = $1", alpha.id
        )
        await mandates.grant(conn, alpha.id, role_id, 1, member,
                             Term(today() - timedelta(days=30), today() + timedelta(days=300)),
                             decision_id=granting)  # fmt: skip
        written = await scenarios.create(conn, alpha.id, cause_id, member, ScenarioText(
            title="Piste protégée", summary="Une piste séparée par des potelets.",
            actions=[
                ActionIn(what="Compter les vélos", who_user=world.target_id,
                         due_on=today() + timedelta(days=5)),
                ActionIn(what="Chiffrer les potelets", who_role=role_id,
                         due_on=today() - timedelta(days=2)),
                ActionIn(what="Rencontrer la mairie", due_on=today() + timedelta(days=30)),
            ],
        ))  # fmt: skip
    # Chosen by consent: the adoption creates the action list (causes/choosing.py).
    choice = await causes_setup.open_choice(pool, alpha, world, cause_id)
    await causes_setup.choose(pool, alpha, world, choice, written.scenario_id)
    async with db.transaction(pool) as conn:
        decision_id = await conn.fetchval("SELECT id FROM decisions WHERE proposal_id = $1", choice)
        listed = await conn.fetchval(
            "SELECT count(*) FROM action_items WHERE decision_id = $1", decision_id
        )
        rows = await conn.fetch(
            "SELECT id FROM action_items WHERE cause_id = $1 ORDER BY position", cause_id
        )
        items = [r["id"] for r in rows]
    return Chosen(cause_id, ids["accidents"], ids["steps"], ids["lane_open"], role_id,
                  decision_id, items, listed)  # fmt: skip


async def add(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int, criterion_id: int,
    on: date, value: Decimal | int | bool, source: str = "Comptage", corrects: int | None = None,
) -> int:  # fmt: skip
    async with db.transaction(pool) as conn:
        new = measuring.NewMeasurement(criterion_id=criterion_id, measured_on=on, value=value,
                                       source=source, corrects=corrects)  # fmt: skip
        return await measuring.add(conn, alpha.id, cause_id, person(world, "member"), new, today())


# --- the action list ---------------------------------------------------------------------------


async def test_the_chosen_versions_actions_become_the_action_list(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    chosen = await chosen_cause(pool, alpha, world)
    assert chosen.listed == 3
    async with pool.acquire() as conn:
        items = await acting.items(conn, chosen.cause_id, today())
        cause = await causes.cause(conn, alpha.id, chosen.cause_id)
    assert cause.facts.scenario_chosen
    assert [(i.position, i.what, i.status, i.current) for i in items] == [
        (0, "Compter les vélos", "planned", True),
        (1, "Chiffrer les potelets", "planned", True),
        (2, "Rencontrer la mairie", "planned", True),
    ]
    first, second, third = items
    assert (first.owner_user, first.owner_name, first.due_on) == (
        world.target_id,
        "Target",
        today() + timedelta(days=5),
    )
    assert (second.owner_role, second.role_name) == (chosen.role_id, "Trésorerie")
    assert [h.id for h in second.holders] == [world.user_ids["member"]]
    assert (third.owner_user, third.owner_role) == (None, None)
    assert {i.decision_id for i in items} == {chosen.decision_id}
    # A version of another cause's scenario is the caller's mistake.
    other = await causes_setup.new_cause(pool, alpha, world, "Une autre cause")
    version = await pool.fetchval(
        """SELECT a.version_id FROM action_items i JOIN scenario_actions a
           ON a.id = i.source_action WHERE i.id = $1""", first.id)  # fmt: skip
    async with db.transaction(pool) as conn:
        with pytest.raises(ValueError, match="not of cause"):
            await acting.create_list(conn, other, chosen.decision_id, version)


def test_execution_progress_counts_done_out_of_all_but_dropped() -> None:
    def item(status: acting.Status) -> acting.Item:
        return acting.Item(
            id=1, cause_id=1, decision_id=1, decision_number="AL-1", position=0, what="x",
            owner_user=None, owner_name=None, owner_role=None, role_name=None, holders=[],
            due_on=None, status=status, evidence="", updated_at=datetime.now(UTC), current=True,
        )  # fmt: skip

    listed = [item(s) for s in ("done", "done", "done", "doing", "planned", "dropped")]
    progress = acting.execution(listed)
    assert (progress.done, progress.counted, progress.dropped) == (3, 5, 1)
    assert progress.ratio == pytest.approx(0.6)
    assert acting.execution([item("dropped")]).ratio is None


async def test_owners_and_facilitators_update_actions_others_are_refused(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    chosen = await chosen_cause(pool, alpha, world)
    base = f"/s/alpha/causes/{chosen.cause_id}/actions"
    counted, by_role, nobodys = chosen.items
    # target owns the first action: the form shows for it alone.
    act_as(client, world, "target")
    page = (await client.get(base)).text
    assert f'action="{base}/{counted}"' in page
    assert f'action="{base}/{by_role}"' not in page
    update = {"status": "doing", "evidence": "Premier comptage le 3 mai."}
    sent = await post_form(client, f"{base}/{counted}", update)
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"{base}#action-{counted}"
    # member holds the role that owns the second one, not the first.
    act_as(client, world, "member")
    refused = await post_form(client, f"{base}/{counted}", {"status": "done"})
    assert refused.status_code == 403
    assert "Seules la personne responsable de l'action" in words(refused.text)
    assert (await post_form(client, f"{base}/{by_role}", {"status": "done"})).status_code == 303
    # A facilitator updates any of them; unsigned (who may not act) none.
    act_as(client, world, "unsigned")
    assert (await post_form(client, f"{base}/{nobodys}", {"status": "done"})).status_code == 403
    act_as(client, world, "facilitator")
    assert (await post_form(client, f"{base}/{nobodys}", {"status": "dropped"})).status_code == 303
    # A mistake comes back next to its field.
    too_long = await post_form(client, f"{base}/{nobodys}",
                               {"status": "dropped", "evidence": "x" * 5001})  # fmt: skip
    assert too_long.status_code == 422
    assert field_error(too_long.text, f"evidence-{nobodys}") is not None

    async with pool.acquire() as conn:
        items = {i.id: i for i in await acting.items(conn, chosen.cause_id, today())}
        events = await conn.fetch(
            """SELECT actor_id, data FROM journal WHERE action = 'cause.action_updated'
               AND subject_type = 'cause' AND subject_id = $1 ORDER BY id""",
            chosen.cause_id)  # fmt: skip
    assert (items[counted].status, items[counted].evidence) == (
        "doing",
        "Premier comptage le 3 mai.",
    )
    assert (items[by_role].status, items[nobodys].status) == ("done", "dropped")
    assert [(e["actor_id"], e["data"]["status"]) for e in events] == [
        (world.target_id, ["planned", "doing"]),
        (world.user_ids["member"], ["planned", "done"]),
        (world.user_ids["facilitator"], ["planned", "dropped"]),
    ]
    # Execution progress, apart from impact: 1 done out of the 2 not dropped.
    page = words((await client.get(base)).text)
    assert "Avancement des actions : 1 sur 2 faite" in page
    assert "1 abandonnée, non comptée" in page
    assert "Premier comptage le 3 mai." in page
    assert "Trésorerie (tenu par Member)" in page


# --- reminders ---------------------------------------------------------------------------------


def test_a_reminder_per_threshold() -> None:
    due = date(2027, 6, 10)
    assert acting.reminder(due, None, date(2027, 6, 2)) is None  # 8 days before
    assert acting.reminder(due, None, date(2027, 6, 3)) is Threshold.SOON  # 7 days before
    assert acting.reminder(due, date(2027, 6, 3), date(2027, 6, 10)) is None  # sent, due today
    assert acting.reminder(due, date(2027, 6, 3), date(2027, 6, 11)) is Threshold.PAST
    assert acting.reminder(due, date(2027, 6, 11), date(2027, 7, 30)) is None
    # A service down through both thresholds sends the latest one alone.
    assert acting.reminder(due, None, date(2027, 6, 20)) is Threshold.PAST


async def test_owners_are_reminded_once_per_threshold(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    chosen = await chosen_cause(pool, alpha, world)
    counted, by_role, nobodys = chosen.items
    day = today()
    async with db.transaction(pool) as conn:
        due = await acting.due_reminders(conn, day)
        assert [(d.item_id, d.threshold) for d in due] == [
            (by_role, Threshold.PAST), (counted, Threshold.SOON)]  # fmt: skip
        assert await acting.remind(conn, day) == 2
        assert await acting.remind(conn, day) == 0  # once per threshold
        assert await acting.due_reminders(conn, day + timedelta(days=5)) == []
    rows = await pool.fetch(
        """SELECT user_id, link, title, data FROM notifications WHERE kind = 'action_due'
           ORDER BY id""")  # fmt: skip
    link = f"/s/alpha/causes/{chosen.cause_id}/actions"
    assert [(r["user_id"], r["link"], r["title"], r["data"]["threshold"]) for r in rows] == [
        (world.user_ids["member"], f"{link}#action-{by_role}", "Chiffrer les potelets", "past"),
        (world.target_id, f"{link}#action-{counted}", "Compter les vélos", "soon"),
    ]
    # Each in their notifications, in words.
    act_as(client, world, "member")
    said = words((await client.get("/notifications")).text)
    assert "L'action « Chiffrer les potelets » était à mener pour le" in said
    act_as(client, world, "target")
    said = words((await client.get("/notifications")).text)
    assert "L'action « Compter les vélos » est à mener pour le" in said
    # Six days on, target's action has passed its date: reminded once more (the background
    # task); the one done is not; nobody's action, 24 days away, not yet.
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE action_items SET status = 'done' WHERE id = $1", by_role)
    later = datetime.combine(day + timedelta(days=6), time(12), i18n.display_zone)
    assert await acting.send_due(pool, later) == 1
    assert await acting.send_due(pool, later) == 0
    told = await pool.fetch(
        "SELECT user_id, data FROM notifications WHERE kind = 'action_due' ORDER BY id"
    )
    assert [(r["user_id"], r["data"]["threshold"]) for r in told][-1] == (world.target_id, "past")
    assert len(told) == 3
    # Nobody owns the third one: the space's facilitators hear of it.
    async with pool.acquire() as conn:
        facilitators = await spaces.acting_facilitator_ids(conn, alpha.id)
    at_due = datetime.combine(day + timedelta(days=25), time(12), i18n.display_zone)
    assert await acting.send_due(pool, at_due) == len(facilitators) == 2
    nobody = await pool.fetch(
        "SELECT user_id FROM notifications WHERE kind = 'action_due' AND link LIKE $1",
        f"%#action-{nobodys}")  # fmt: skip
    assert {r["user_id"] for r in nobody} == set(facilitators)


# --- measurements ----------------------------------------------------------------------------


async def test_a_correction_replaces_the_value_in_effect_and_keeps_the_old_one(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    chosen = await chosen_cause(pool, alpha, world)
    c = chosen.cause_id
    first = await add(
        pool, alpha, world, c, chosen.accidents, today() - timedelta(days=60), Decimal(100)
    )
    second = await add(
        pool, alpha, world, c, chosen.accidents, today() - timedelta(days=10), Decimal(90)
    )
    async with pool.acquire() as conn:
        series = next(s for s in await measuring.evaluation(conn, c)
                      if s.criterion.id == chosen.accidents)  # fmt: skip
    assert series.percent == 50  # (90 − 120) / (60 − 120)
    fixed = await add(pool, alpha, world, c, chosen.accidents, today() - timedelta(days=10),
                      Decimal(75), corrects=second)  # fmt: skip
    async with pool.acquire() as conn:
        series = next(s for s in await measuring.evaluation(conn, c)
                      if s.criterion.id == chosen.accidents)  # fmt: skip
    assert [r.id for r in series.recorded] == [first, second, fixed]  # the old one kept
    assert [m.id for m in series.effective] == [first, fixed]
    assert series.corrected_by == {second: fixed}
    assert series.percent == 75
    # The same row corrected twice: refused in words; its correction may be corrected.
    with pytest.raises(DomainError) as refused:
        await add(pool, alpha, world, c, chosen.accidents, today(), Decimal(70), corrects=second)
    assert (refused.value.message, refused.value.status) == (ALREADY_CORRECTED, 409)
    await add(pool, alpha, world, c, chosen.accidents, today(), Decimal(70), corrects=fixed)
    # Kept as written: the database refuses to change a row.
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.PostgresError, match="kept as written"):
            await conn.execute("UPDATE measurements SET value = 1 WHERE id = $1", first)


async def test_measuring_waits_for_a_scenario_chosen_by_decision(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, ids = await objectives_cause(pool, alpha, world)
    with pytest.raises(CauseRefused) as refused:
        await add(pool, alpha, world, cause_id, ids["accidents"], today(), Decimal(100))
    assert refused.value.rule is Rule.NO_SCENARIO_CHOSEN
    act_as(client, world, "member")
    base = f"/s/alpha/causes/{cause_id}"
    sent = await post_form(client, f"{base}/evaluation/{ids['accidents']}/measure",
                           {"measured_on": today().isoformat(), "value": "100",
                            "source": "Préfecture", "confidence": "high"})  # fmt: skip
    assert sent.status_code == 409
    said = "La liste d'actions vient une fois un scénario choisi par décision."
    assert said in words(sent.text)
    page = (await client.get(f"{base}/evaluation")).text
    assert said in words(page)
    assert 'data-mark="measure"' not in page  # neither measuring nor interpreting yet
    assert "/evaluation/interpretation" not in page
    assert said in words((await client.get(f"{base}/actions")).text)
    assert await pool.fetchval("SELECT count(*) FROM measurements") == 0


async def test_measurements_over_the_web_chart_table_and_progress(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    chosen = await chosen_cause(pool, alpha, world)
    base = f"/s/alpha/causes/{chosen.cause_id}/evaluation"
    act_as(client, world, "member")
    form = (await client.get(f"{base}?measure={chosen.accidents}")).text
    assert f'action="{base}/{chosen.accidents}/measure"' in form
    earlier = (today() - timedelta(days=40)).isoformat()
    for on, value in ((earlier, "100"), (today().isoformat(), "87,5")):
        sent = await post_form(client, f"{base}/{chosen.accidents}/measure",
                               {"measured_on": on, "value": value, "source": "Préfecture",
                                "confidence": "high", "idempotency_key": f"k-{on}"})  # fmt: skip
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"{base}#criterion-{chosen.accidents}"
    # A ladder's step and a yes or no.
    for criterion, value in ((chosen.steps, "1"), (chosen.lane_open, "no")):
        sent = await post_form(client, f"{base}/{criterion}/measure",
                               {"measured_on": earlier, "value": value, "source": "Réunion",
                                "confidence": "medium"})  # fmt: skip
        assert sent.status_code == 303, sent.text
    # Mistakes come back next to their fields.
    wrong = await post_form(client, f"{base}/{chosen.accidents}/measure",
                            {"measured_on": today().isoformat(), "value": "beaucoup",
                             "source": "", "confidence": "high"})  # fmt: skip
    assert wrong.status_code == 422
    assert field_error(wrong.text, "source") is not None
    future = await post_form(client, f"{base}/{chosen.steps}/measure",
                             {"measured_on": (today() + timedelta(days=3)).isoformat(),
                              "value": "7", "source": "x", "confidence": "low"})  # fmt: skip
    assert future.status_code == 422
    assert html.unescape(field_error(future.text, "value") or "") == (
        "Choisissez l'un des échelons de l'échelle."
    )

    # Correct the first measurement of accidents from its row's link.
    first = await pool.fetchval(
        "SELECT min(id) FROM measurements WHERE criterion_id = $1", chosen.accidents
    )
    page = (await client.get(base)).text
    link = f"{base}?measure={chosen.accidents}&amp;corrects={first}#measure-{chosen.accidents}"
    assert link in page
    prefilled = (await client.get(html.unescape(link).split("#")[0])).text
    assert f'name="corrects" value="{first}"' in prefilled
    assert re.search(r'id="f-value"[^>]*value="100"', prefilled)
    sent = await post_form(client, f"{base}/{chosen.accidents}/measure",
                           {"measured_on": earlier, "value": "110", "source": "Rectifié",
                            "confidence": "high", "corrects": str(first)})  # fmt: skip
    assert sent.status_code == 303, sent.text
    twice = await post_form(client, f"{base}/{chosen.accidents}/measure",
                            {"measured_on": earlier, "value": "105", "source": "Autre",
                             "confidence": "high", "corrects": str(first)})  # fmt: skip
    assert twice.status_code == 409
    assert "Cette mesure a déjà été corrigée" in words(twice.text)

    page = (await client.get(base)).text
    section = page[page.index(f'id="criterion-{chosen.accidents}"') :]
    section = section[: section.index("</section>")]
    # Progress: (87.5 − 120) / (60 − 120) = 54.2 %.
    assert re.search(rf'id="progress-{chosen.accidents}" data-percent="54"', section)
    assert "54 %" in words(section)
    # The chart's points and the table's rows in effect say the same dates and values.
    svg = section[section.index("<svg") : section.index("</svg>")]
    points = set(re.findall(r"<circle[^>]*><title>([^<]+)</title>", svg))
    rows = re.findall(
        r'<tr id="measurement-\d+" class="[^"]*" data-effective="(yes|no)">\s*'
        r"<th scope=\"row\"><time[^>]*>([^<]+)</time></th>\s*"
        r'<td class="measurement-value"[^>]*>(?:<del>)?([^<]+)', section)  # fmt: skip
    assert len(rows) == 3
    in_effect = {f"{day} — {value}" for effective, day, value in rows if effective == "yes"}
    assert points == {html.unescape(p) for p in in_effect}
    assert "87,5 accidents" in {html.unescape(value) for _, _, value in rows}
    corrected = [r for r in rows if r[0] == "no"]
    assert [html.unescape(r[2]) for r in corrected] == ["100 accidents"]
    fixed = await pool.fetchval("SELECT id FROM measurements WHERE corrects = $1", first)
    assert f"corrigée par la n° {fixed}" in words(section)
    assert f"corrige la n° {first}" in words(section)
    assert 'role="img"' in svg and f'aria-labelledby="chart-{chosen.accidents}-title' in svg
    assert "<caption>" in section
    # The ladder's step and the yes or no, in words.
    assert "La mairie nous reçoit" in words(page)


async def test_the_csv_export_keeps_formulas_as_text(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    chosen = await chosen_cause(pool, alpha, world)
    c = chosen.cause_id
    day = today() - timedelta(days=5)
    first = await add(pool, alpha, world, c, chosen.accidents, day, Decimal("101.5"),
                      source='=HYPERLINK("http://example.org","x")')  # fmt: skip
    fixed = await add(pool, alpha, world, c, chosen.accidents, day, Decimal(99), corrects=first)
    await add(pool, alpha, world, c, chosen.lane_open, day, True, source="+33 mairie")
    act_as(client, world, "target")
    response = await client.get(f"/s/alpha/causes/{c}/evaluation.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert re.fullmatch(rf'attachment; filename="evaluation-alpha-{c}-\d{{4}}-\d\d-\d\d\.csv"',
                        response.headers["content-disposition"])  # fmt: skip
    text = response.content.decode()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == ["Mesure", "Objectif", "Critère", "Date", "Valeur", "Unité", "Source",
                       "Confiance", "Corrige", "En vigueur"]  # fmt: skip
    assert rows[1:] == [
        [str(first), "Moins d'accidents rue Paul-Bert", "Accidents par an", day.isoformat(),
         "101,5", "accidents", "'=HYPERLINK(\"http://example.org\",\"x\")", "moyenne", "", "non"],
        [str(fixed), "Moins d'accidents rue Paul-Bert", "Accidents par an", day.isoformat(),
         "99", "accidents", "Comptage", "moyenne", str(first), "oui"],
        [rows[3][0], "Une piste cyclable protégée", "Piste ouverte", day.isoformat(), "oui", "",
         "'+33 mairie", "moyenne", "", "oui"],
    ]  # fmt: skip


# --- the interpretation ----------------------------------------------------------------------


async def test_the_interpretation_is_proposed_then_adopted(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    chosen = await chosen_cause(pool, alpha, world)
    c = chosen.cause_id
    await add(pool, alpha, world, c, chosen.accidents, today(), Decimal(90))
    act_as(client, world, "member")
    base = f"/s/alpha/causes/{c}/evaluation"
    empty = await post_form(client, f"{base}/interpretation", {"conclusions": "", "changes": "x"})
    assert empty.status_code == 422
    assert field_error(empty.text, "conclusions") is not None
    sent = await post_form(client, f"{base}/interpretation", {
        "conclusions": "Les comptages montrent | une baisse nette.",
        "changes": "Nous ajoutons des potelets.", "reopens_plan": "on",
        "idempotency_key": "interpretation-1",
    })  # fmt: skip
    assert sent.status_code == 303, sent.text
    match = re.fullmatch(r"/s/alpha/proposals/(\d+)", sent.headers["location"])
    assert match
    proposal_id = int(match.group(1))
    row = await pool.fetchrow(
        """SELECT p.title, v.driver, v.body, cp.purpose, cp.reopens_plan
           FROM proposals p JOIN proposal_versions v ON v.proposal_id = p.id
           JOIN cause_proposals cp ON cp.proposal_id = p.id
           WHERE p.id = $1""", proposal_id)  # fmt: skip
    assert (row["purpose"], row["reopens_plan"]) == ("evaluation", True)
    assert row["title"] == "Évaluation de la cause « Piste cyclable rue Paul-Bert »"
    body = row["body"]
    assert "# Ce que nous concluons\n\nLes comptages montrent | une baisse nette." in body
    assert "### " not in body  # headings from the top: each page sets their level
    assert "# Ce que nous changeons\n\nNous ajoutons des potelets." in body
    assert "rouvre le plan" in body
    table = body[body.index("| Objectif |") :]
    assert "| Moins d'accidents rue Paul-Bert | Accidents par an |" in table
    assert "| 50 % |" in table.replace("\u00a0", " ")
    assert "| Une piste cyclable protégée | Piste ouverte |" in table
    assert "pas encore mesuré" in table
    # One at a time: the page says which is under way.
    page = words((await client.get(base)).text)
    assert "Une interprétation est en cours :" in page
    again = await post_form(client, f"{base}/interpretation",
                            {"conclusions": "Encore.", "changes": "Rien."})  # fmt: skip
    assert again.status_code == 409
    # Adopted: the celebration opens.
    await causes_setup.adopt(pool, alpha, world, proposal_id)
    async with pool.acquire() as conn:
        cause = await causes.cause(conn, alpha.id, c)
    assert cause.facts.evaluation_adopted
    assert "Adoptée par la décision" in words((await client.get(base)).text)


# --- other spaces ------------------------------------------------------------------------------


async def test_another_spaces_or_causes_ids_are_not_found(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    chosen = await chosen_cause(pool, alpha, world)
    async with db.transaction(pool) as conn:
        beta = await spaces.space_view(conn, "beta", None, instance_admin=False)
        assert beta is not None
        theirs = await causes.create(conn, beta.space.id, world.user_ids["beta_owner"], CauseText(
            title="Ailleurs", territory="Beta", theme="mobility"))  # fmt: skip
    other = await causes_setup.new_cause(pool, alpha, world, "Une autre cause")
    act_as(client, world, "facilitator")
    for path in ("actions", "evaluation", "evaluation.csv"):
        assert (await client.get(f"/s/alpha/causes/{theirs}/{path}")).status_code == 404
    item = chosen.items[0]
    for cause_id in (theirs, other):
        sent = await post_form(client, f"/s/alpha/causes/{cause_id}/actions/{item}",
                               {"status": "done"})  # fmt: skip
        assert sent.status_code == 404
        sent = await post_form(client, f"/s/alpha/causes/{cause_id}/evaluation/"
                               f"{chosen.accidents}/measure",
                               {"measured_on": today().isoformat(), "value": "1",
                                "source": "x"})  # fmt: skip
        assert sent.status_code == 404
    missing = (
        f"/s/alpha/causes/{chosen.cause_id}/evaluation?measure={chosen.accidents}&corrects=999999"
    )
    assert (await client.get(missing)).status_code == 404
    # Not a viewer of beta: its space is not found.
    assert (await client.get(f"/s/beta/causes/{theirs}/evaluation")).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM measurements") == 0
    assert await pool.fetchval("SELECT count(*) FROM action_items WHERE status <> 'planned'") == 0
