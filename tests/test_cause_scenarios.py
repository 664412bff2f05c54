"""The action plan's scenarios (issue 12 §4), through the store and through HTTP: drafting
waits for the plan (its rule named in words); scenarios get the letters A, B…; a new version
starts from the current one and says what changed; versions and actions are kept as written
by PostgreSQL; the comparison puts 2 to 4 versions side by side, marks each cell that differs
from the first column (in words, not by colour alone) and shows the word diff of any two;
wrong counts and versions of another cause are refused; a set-aside scenario stays readable
and takes no new version."""

from __future__ import annotations

import html
import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from consentir import db
from consentir.causes import objectives, rules, scenarios
from consentir.causes.objectives import CriterionText, ObjectiveText
from consentir.causes.scenarios import ActionIn, ScenarioInvalid, ScenarioText
from consentir.errors import DomainError
from consentir.mandates import store as mandates
from consentir.mandates.store import RoleText
from consentir.spaces.store import Space
from tests.browser.accessibility import NARROW, WIDE, shoot
from tests.browser.test_joining import signed_in
from tests.causes_setup import adopt, planned_cause, taken_on_cause
from tests.process import person
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form


@pytest.fixture
def client(scenario_client: Client) -> Client:
    return scenario_client


def words(page: str) -> str:
    """The page's words, tags and runs of spaces removed, entities read."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def form(title: str, summary: str, actions: list[dict[str, Any]], **extra: str) -> dict[str, Any]:
    """A scenario's form as a browser sends it: the blocks typed, then two blank ones."""
    data: dict[str, Any] = {"title": title, "summary": summary, "assumptions": "", "risks": "",
                            "blocks": str(len(actions) + 2), **extra}  # fmt: skip
    for i, action in enumerate(actions):
        for key, value in action.items():
            data[f"action-{i}-{key}"] = value
    return data


async def draft(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int, text: ScenarioText
) -> scenarios.Written:
    async with db.transaction(pool) as conn:
        return await scenarios.create(conn, alpha.id, cause_id, world.user_ids["member"], text)


async def revise(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int, scenario_id: int,
    text: ScenarioText,
) -> scenarios.Written:  # fmt: skip
    async with db.transaction(pool) as conn:
        return await scenarios.add_version(
            conn, alpha.id, cause_id, scenario_id, world.user_ids["admin"], text
        )


async def plan_a_and_b(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> tuple[int, int, dict[str, int]]:
    """A cause whose plan is open, with scenario A (v1) and B (v1, v2): (cause, criterion,
    version ids "a1", "b1", "b2")."""
    cause_id, criterion = await planned_cause(pool, alpha, world)
    member = world.user_ids["member"]
    count = ActionIn(what="Compter les vélos", who_user=member, due_on=date(2027, 1, 15),
                     cost=Decimal("0"), criteria=[criterion])  # fmt: skip
    a = await draft(pool, alpha, world, cause_id, ScenarioText(
        title="Piste peinte", summary="Peindre une piste rue Paul-Bert.",
        assumptions="La mairie veut des résultats avant les élections.",
        risks="Les commerçants s'y opposent.",
        actions=[count, ActionIn(what="Pétition", who_user=member, means="Un stand au marché",
                                 cost=Decimal("50"))],
    ))  # fmt: skip
    b_text = ScenarioText(
        title="Piste séparée", summary="Une piste séparée par des plots.",
        assumptions="La mairie attend une mobilisation visible.",
        risks="Les commerçants s'y opposent.",
        actions=[count, ActionIn(what="Vélorution", cost=Decimal("200"), criteria=[criterion])],
    )  # fmt: skip
    b = await draft(pool, alpha, world, cause_id, b_text)
    b2 = await revise(pool, alpha, world, cause_id, b.scenario_id, ScenarioText(
        summary=b_text.summary, assumptions=b_text.assumptions, risks=b_text.risks,
        note="La vélorution passe en juin.",
        actions=[count, ActionIn(what="Vélorution", cost=Decimal("200"), criteria=[criterion],
                                 due_on=date(2027, 6, 5))],
    ))  # fmt: skip
    assert (a.letter, b.letter, b2.number) == ("A", "B", 2)
    return cause_id, criterion, {"a1": a.version_id, "b1": b.version_id, "b2": b2.version_id}


# --- the plan gate --------------------------------------------------------------------------


async def test_drafting_waits_for_the_plan_and_names_its_rule(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id = await taken_on_cause(pool, alpha, world)
    text = ScenarioText(title="Trop tôt", summary="Avant les objectifs.")
    with pytest.raises(rules.CauseRefused) as refused:
        await draft(pool, alpha, world, cause_id, text)
    assert refused.value.rule is rules.Rule.NO_OBJECTIVE

    member = world.user_ids["member"]
    async with db.transaction(pool) as conn:  # an objective with its criterion, not adopted
        objective_id = await objectives.add_objective(
            conn, alpha.id, cause_id, member,
            ObjectiveText("short", "Des trajets sûrs", "Les enfants vont à l'école à vélo."),
        )  # fmt: skip
        await objectives.add_criterion(
            conn, alpha.id, cause_id, objective_id, member,
            CriterionText(name="Enfants à vélo", kind="number", unit="enfants",
                          baseline=Decimal(4), baseline_on=date(2026, 9, 1),
                          target=Decimal(40), target_on=date(2027, 6, 1)),
        )  # fmt: skip
    with pytest.raises(rules.CauseRefused) as refused:
        await draft(pool, alpha, world, cause_id, text)
    assert refused.value.rule is rules.Rule.OBJECTIVE_NOT_ADOPTED

    # Through the pages: the plan says what it waits for; the form is refused in words.
    act_as(client, world, "member")
    base = f"/s/alpha/causes/{cause_id}/scenarios"
    plan = await client.get(base)
    assert plan.status_code == 200
    assert "Les objectifs sont adoptés par une décision avant le plan d'action." in words(plan.text)
    assert f'href="{base}/new"' not in plan.text
    shown = await client.get(f"{base}/new")
    assert shown.status_code == 200 and 'data-mark="refused"' in shown.text
    assert 'name="summary"' not in shown.text
    sent = await post_form(client, base, form("Trop tôt", "Avant les objectifs.", []))
    assert sent.status_code == 409
    assert "Les objectifs sont adoptés par une décision avant le plan d'action." in words(sent.text)
    assert 'name="summary"' in sent.text and "Avant les objectifs." in sent.text  # kept
    assert await pool.fetchval("SELECT count(*) FROM scenarios") == 0

    async with db.transaction(pool) as conn:
        proposal_id = await objectives.propose(conn, alpha, person(world, "member"), cause_id)
    await adopt(pool, alpha, world, proposal_id)
    written = await draft(pool, alpha, world, cause_id, text)  # the plan is open
    assert written.letter == "A" and written.number == 1


# --- drafting and versions ------------------------------------------------------------------


async def test_members_draft_a_and_b_then_a_version_2_of_b_through_the_form(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, criterion = await planned_cause(pool, alpha, world)
    async with db.transaction(pool) as conn:
        role_id = await mandates.record_preexisting_role(
            conn, alpha.id,
            RoleText(name="Trésorerie", purpose="Tenir les comptes.", domain="Les dépenses.",
                     accountabilities=[], seats=1, term_months=12),
            actor_id=world.user_ids["admin"],
        )  # fmt: skip
    act_as(client, world, "member")
    base = f"/s/alpha/causes/{cause_id}/scenarios"
    new = await client.get(f"{base}/new")
    assert new.status_code == 200
    assert f'name="action-0-criteria" value="{criterion}"' in new.text
    assert f'value="role:{role_id}"' in new.text
    assert f'value="user:{world.user_ids["target"]}"' in new.text
    assert 'name="action-1-what"' in new.text and 'name="action-2-what"' not in new.text

    member = world.user_ids["member"]
    made = await post_form(client, base, form(
        "Piste peinte", "Peindre une piste.",
        [{"what": "Compter les vélos", "who": f"user:{member}", "when": "2027-01-15",
          "means": "Deux bénévoles", "cost": "1 250,50", "criteria": [str(criterion)],
          "expected": "Un chiffre pour la mairie."}],
        assumptions="La mairie écoute.", idempotency_key="cle-a",
    ))  # fmt: skip
    assert made.status_code == 303, made.text
    a_id = int(made.headers["location"].split("/")[-1].split("#")[0])
    again = await post_form(client, base, form(
        "Piste peinte", "Peindre une piste.",
        [{"what": "Compter les vélos", "who": f"user:{member}", "when": "2027-01-15",
          "means": "Deux bénévoles", "cost": "1 250,50", "criteria": [str(criterion)],
          "expected": "Un chiffre pour la mairie."}],
        assumptions="La mairie écoute.", idempotency_key="cle-a",
    ))  # fmt: skip
    assert again.status_code == 303 and again.headers["location"] == made.headers["location"]
    b = await post_form(client, base, form(
        "Piste séparée", "Des plots.",
        [{"what": "Écrire à la mairie", "who": f"role:{role_id}"},
         {"what": "Vélorution", "criteria": [str(criterion)], "cost": "200"}],
    ))  # fmt: skip
    assert b.status_code == 303, b.text
    b_id = int(b.headers["location"].split("/")[-1].split("#")[0])

    async with pool.acquire() as conn:
        listed = await scenarios.scenarios(conn, cause_id)
        a = await scenarios.scenario(conn, cause_id, a_id)
    assert [(s.letter, s.title, s.number, s.actions) for s in listed] == [
        ("A", "Piste peinte", 1, 1), ("B", "Piste séparée", 1, 2)]  # fmt: skip
    action = a.current.actions[0]
    assert (action.who_user, action.who_name, action.due_on, action.cost, action.criteria) == (
        member,
        "Member",
        date(2027, 1, 15),
        Decimal("1250.50"),
        [(criterion, "Enfants à vélo")],
    )
    page = words((await client.get(f"{base}/{a_id}")).text)
    assert "Compter les vélos" in page and "1 250,50 €" in page and "15 janvier 2027" in page

    # A new version starts from the current one; the note on what changed is required.
    shown = await client.get(f"{base}/{b_id}/versions/new")
    assert shown.status_code == 200
    assert 'value="Écrire à la mairie"' in shown.text and 'value="Vélorution"' in shown.text
    assert re.search(rf'<option value="role:{role_id}" selected>', shown.text)
    assert 'name="action-3-what"' in shown.text  # the two actions, then two blank blocks
    v2 = {"summary": "Des plots, et une vélorution.", "assumptions": "", "risks": "",
          "base": "1", "blocks": "3", "action-0-what": "Écrire à la mairie",
          "action-0-who": f"role:{role_id}", "action-1-what": "Vélorution",
          "action-1-criteria": [str(criterion)], "action-1-cost": "200",
          "action-1-when": "2027-06-05"}  # fmt: skip
    no_note = await post_form(client, f"{base}/{b_id}/versions", v2)
    assert no_note.status_code == 422
    assert (
        field_error(no_note.text, "note") == "Dites ce qui a changé depuis la version précédente."
    )
    assert "Des plots, et une vélorution." in no_note.text  # nothing lost
    saved = await post_form(client, f"{base}/{b_id}/versions",
                            {**v2, "note": "La vélorution a une date."})  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"].endswith(f"/{b_id}#v2")
    stale = await post_form(client, f"{base}/{b_id}/versions", {**v2, "note": "Encore."})
    assert stale.status_code == 409  # written from version 1, version 2 exists now
    assert "a été écrite entre-temps (version 2)" in words(stale.text)

    page = await client.get(f"{base}/{b_id}")
    text = words(page.text)
    assert "Version n° 2 (actuelle)" in text and "La vélorution a une date." in text
    assert "Trésorerie" in text  # the role, by name
    assert "<del>plots.</del> <ins>plots, et une vélorution.</ins>" in page.text
    async with pool.acquire() as conn:
        events = await conn.fetch(
            "SELECT action, data FROM journal WHERE subject_type = 'cause' AND subject_id = $1"
            " AND action LIKE 'cause.scenario%' ORDER BY id", cause_id)  # fmt: skip
    assert [(e["action"], e["data"]["letter"], e["data"]["version"]) for e in events] == [
        ("cause.scenario_drafted", "A", 1), ("cause.scenario_drafted", "B", 1),
        ("cause.scenario_version_added", "B", 2)]  # fmt: skip


async def test_versions_and_actions_are_kept_as_written(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    _cause_id, _criterion, v = await plan_a_and_b(pool, alpha, world)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("UPDATE scenario_versions SET summary = 'x' WHERE id = $1", v["a1"])
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("DELETE FROM scenario_versions WHERE id = $1", v["b1"])
        with pytest.raises(asyncpg.RestrictViolationError):
            await conn.execute("UPDATE scenario_actions SET what = 'x' WHERE version_id = $1",
                               v["a1"])  # fmt: skip
        with pytest.raises(asyncpg.CheckViolationError):  # from version 2, a note
            await conn.execute(
                """INSERT INTO scenario_versions (scenario_id, number, summary, author_id)
                   SELECT scenario_id, 3, 'x', author_id FROM scenario_versions WHERE id = $1""",
                v["b2"],
            )
        summary = await conn.fetchval("SELECT summary FROM scenario_versions WHERE id = $1",
                                      v["a1"])  # fmt: skip
    assert summary == "Peindre une piste rue Paul-Bert."


async def test_a_version_needs_its_note_and_the_actions_name_the_space(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, _criterion, _v = await plan_a_and_b(pool, alpha, world)
    other_cause, other_criterion = await planned_cause(pool, alpha, world)
    async with pool.acquire() as conn:
        b = next(s for s in await scenarios.scenarios(conn, cause_id) if s.letter == "B")
    with pytest.raises(DomainError) as refused:
        await revise(pool, alpha, world, cause_id, b.id, ScenarioText(summary="Sans note"))
    assert refused.value.code == "scenario_note_required" and refused.value.field == "note"
    outsider = world.user_ids["outsider"]
    with pytest.raises(ScenarioInvalid) as invalid:
        await draft(pool, alpha, world, cause_id, ScenarioText(title="C", summary="C", actions=[
            ActionIn(what="Bien"), ActionIn(what="Un inconnu", who_user=outsider),
            ActionIn(what="Critère d'ailleurs", criteria=[other_criterion]),
        ]))  # fmt: skip
    assert [(p.position, p.field) for p in invalid.value.problems] == [
        (1, "who_user"), (2, "criteria")]  # fmt: skip
    with pytest.raises(DomainError) as refused:  # a scenario of another cause
        await revise(pool, alpha, world, other_cause, b.id,
                     ScenarioText(summary="x", note="y"))  # fmt: skip
    assert refused.value.status == 404
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM scenarios WHERE cause_id = $1",
                                   cause_id) == 2  # fmt: skip


# --- the form -------------------------------------------------------------------------------


async def test_form_mistakes_are_shown_next_to_their_fields(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, criterion = await planned_cause(pool, alpha, world)
    _other, other_criterion = await planned_cause(pool, alpha, world)
    act_as(client, world, "member")
    base = f"/s/alpha/causes/{cause_id}/scenarios"
    sent = await post_form(client, base, form("", "Un résumé.", [
        {"what": "Bien", "who": f"user:{world.user_ids['outsider']}"},
        {"what": "", "means": "Des moyens sans action"},
        {"what": "Critère d'ailleurs", "criteria": [str(other_criterion)]},
        {"what": "Trop cher", "cost": "douze"},
        {"what": "Qui ?", "who": "personne"},
    ]))  # fmt: skip
    assert sent.status_code == 422
    assert field_error(sent.text, "title") == "Ce champ est obligatoire."
    assert field_error(sent.text, "action-1-what") == "Ce champ est obligatoire."
    assert field_error(sent.text, "action-3-cost") == (
        "Indiquez un montant en euros avec au plus deux décimales, par exemple 150 ou 12,50."
    )
    assert html.unescape(field_error(sent.text, "action-4-who") or "") == (
        "Choisissez un·e membre, un rôle, ou personne pour l'instant."
    )
    assert "Des moyens sans action" in sent.text  # what was typed stays
    assert await pool.fetchval("SELECT count(*) FROM scenarios") == 0

    # The same, once the form's own mistakes are fixed: the store's, next to their fields.
    sent = await post_form(client, base, form("Titre", "Un résumé.", [
        {"what": "Bien", "who": f"user:{world.user_ids['outsider']}"},
        {"what": "Critère d'ailleurs", "criteria": [str(other_criterion), str(criterion)]},
    ]))  # fmt: skip
    assert sent.status_code == 422
    assert field_error(sent.text, "action-0-who") == (
        "Choisissez un·e membre qui peut agir dans cet espace."
    )
    assert html.unescape(field_error(sent.text, "action-1-criteria") or "") == (
        "Choisissez parmi les critères d'impact de cette cause."
    )
    assert 'href="#f-action-1-criteria">Action 2 : critères servis</a>' in sent.text
    assert await pool.fetchval("SELECT count(*) FROM scenarios") == 0


async def test_more_action_rows_keep_what_was_typed(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, criterion = await planned_cause(pool, alpha, world)
    act_as(client, world, "member")
    base = f"/s/alpha/causes/{cause_id}/scenarios"
    data = form("Piste", "Un résumé.", [{"what": "Compter", "criteria": [str(criterion)]}])
    more = await post_form(client, base, {**data, "more": "3"})
    assert more.status_code == 200
    assert 'name="action-5-what"' in more.text and 'name="action-6-what"' not in more.text
    assert 'value="Compter"' in more.text and 'value="Piste"' in more.text
    assert re.search(rf'name="action-0-criteria" value="{criterion}" checked', more.text)
    assert await pool.fetchval("SELECT count(*) FROM scenarios") == 0
    made = await post_form(client, base, {**data, "blocks": "6"})  # blank blocks ignored
    assert made.status_code == 303
    assert await pool.fetchval("SELECT count(*) FROM scenario_actions") == 1


# --- side by side ---------------------------------------------------------------------------


def wide_table(page: str) -> str:
    start = page.index('<table class="compare')
    return page[start : page.index("</table>", start)]


def marks(table: str, field: str) -> list[list[str]]:
    """For each row of `field` (in order), whether each column's cell is marked."""
    rows = re.findall(rf'<tr data-field="{field}".*?</tr>', table, re.S)
    return [re.findall(r'<td[^>]*data-differs="(yes|no)"', row) for row in rows]


async def test_compare_marks_the_cells_that_differ_from_the_first_column(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, _criterion, v = await plan_a_and_b(pool, alpha, world)
    act_as(client, world, "member")
    url = f"/s/alpha/causes/{cause_id}/scenarios/compare"
    page = await client.get(f"{url}?v={v['a1']}&v={v['b1']}&v={v['b2']}")
    assert page.status_code == 200
    table = wide_table(page.text)
    assert len(re.findall(r'<th scope="col"', table)) == 3
    assert marks(table, "summary") == [["no", "yes", "yes"]]
    assert marks(table, "risks") == [["no", "no", "no"]]
    assert marks(table, "what") == [["no", "no", "no"], ["no", "yes", "yes"]]
    assert marks(table, "when") == [["no", "no", "no"], ["no", "no", "yes"]]  # B v2: 5 juin
    assert marks(table, "cost")[1] == ["no", "yes", "yes"]  # 50 € then 200 €
    differing = re.findall(r'<td class="differs"[^>]*>(.*?)</td>', table, re.S)
    assert differing and all("≠" in c and "Diffère de la première colonne" in c for c in differing)
    text = words(table)
    assert "Un stand au marché · 50,00 €" in text and "5 juin 2027" in text
    assert "personne pour l'instant" in text and "pas encore de date" in text
    # On a phone: the same columns one after the other, each difference marked.
    stacked = page.text[page.text.index('<div class="compare-stacked">') :]
    assert len(re.findall(r'<section class="compare-column"', stacked)) == 3
    cells = [re.findall(r'data-differs="(yes|no)"', row)
             for row in re.findall(r"<tr data-field=.*?</tr>", table, re.S)]  # fmt: skip
    counts = re.findall(r"(\d+) différences? avec la première colonne", words(stacked))
    assert counts == [str(sum(row[1] == "yes" for row in cells)),
                      str(sum(row[2] == "yes" for row in cells))]  # fmt: skip
    assert counts[0] != "0"
    assert 'media="print"' in page.text and "print-causes.css" in page.text

    # By default: the current version of each scenario in play (A v1, B v2).
    default = await client.get(url)
    heads = re.findall(r'<th scope="col" data-version="(\d+)"', default.text)
    assert heads == [str(v["a1"]), str(v["b2"])]


async def test_the_word_diff_between_any_two(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, _criterion, v = await plan_a_and_b(pool, alpha, world)
    act_as(client, world, "member")
    url = f"/s/alpha/causes/{cause_id}/scenarios/compare"
    page = await client.get(f"{url}?v={v['a1']}&v={v['b2']}&a={v['a1']}&b={v['b1']}")
    assert page.status_code == 200
    assumptions = re.search(r'data-diff="assumptions">(.*?)</div>', page.text, re.S)
    assert assumptions is not None
    assert "<del>veut des résultats avant les élections.</del>" in assumptions.group(1)
    assert "<ins>attend une mobilisation visible.</ins>" in assumptions.group(1)
    risks = re.search(r'data-diff="risks">(.*?)</div>', page.text, re.S)
    assert risks is not None and "<ins>" not in risks.group(1) and "<del>" not in risks.group(1)
    # The form to choose two keeps the versions compared.
    picker = page.text[page.text.index('class="compare-diff-form"') :]
    picker = picker[: picker.index("</form>")]
    assert f'name="v" value="{v["a1"]}"' in picker and f'name="v" value="{v["b2"]}"' in picker
    assert re.search(rf'<option value="{v["b1"]}" selected>', picker)
    between = await client.get(f"{url}?v={v['b1']}&v={v['b2']}")
    actions = re.search(r'data-diff="actions">(.*?)</div>', between.text, re.S)
    assert actions is not None and "<ins>5 juin 2027</ins>" in actions.group(1)


async def test_compare_refuses_wrong_counts_and_other_causes_versions(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario, query_log: list[str]
) -> None:
    cause_id, criterion, v = await plan_a_and_b(pool, alpha, world)
    c = await draft(pool, alpha, world, cause_id, ScenarioText(title="C", summary="Troisième."))
    d = await draft(pool, alpha, world, cause_id, ScenarioText(title="D", summary="Quatrième."))
    act_as(client, world, "member")
    url = f"/s/alpha/causes/{cause_id}/scenarios/compare"
    one = await client.get(f"{url}?v={v['a1']}")
    assert one.status_code == 422
    assert "Choisissez de 2 à 4 versions à comparer (vous en avez choisi 1)." in words(one.text)
    assert '<table class="compare' not in one.text
    assert re.search(rf'name="v" value="{v["a1"]}" id="pick-{v["a1"]}" checked', one.text)
    five = [v["a1"], v["b1"], v["b2"], c.version_id, d.version_id]
    many = await client.get(url + "?" + "&".join(f"v={i}" for i in five))
    assert many.status_code == 422
    assert "(vous en avez choisi 5)" in words(many.text)
    query_log.clear()
    two = await client.get(url + "?" + "&".join(f"v={i}" for i in five[:2]))
    two_queries = len(query_log)
    query_log.clear()
    four = await client.get(url + "?" + "&".join(f"v={i}" for i in five[:4]))
    assert four.status_code == 200 and len(re.findall(r'<th scope="col"', four.text)) == 4
    assert two.status_code == 200 and len(query_log) == two_queries  # not one per column

    other_cause, other_criterion = await planned_cause(pool, alpha, world)
    elsewhere = await draft(pool, alpha, world, other_cause,
                            ScenarioText(title="Ailleurs", summary="Une autre cause."))  # fmt: skip
    assert (await client.get(f"{url}?v={v['a1']}&v={elsewhere.version_id}")).status_code == 404
    assert (await client.get(f"{url}?v={v['a1']}&v={v['b1']}&a={elsewhere.version_id}")
            ).status_code == 404  # fmt: skip
    assert (await client.get(f"{url}?v={v['a1']}&v=deux")).status_code == 404
    assert (await client.get(f"{url}?v={v['a1']}&v=999999999")).status_code == 404
    other_url = f"/s/alpha/causes/{other_cause}/scenarios"
    assert (await client.get(f"{other_url}/{c.scenario_id}")).status_code == 404
    assert criterion != other_criterion


# --- set aside ------------------------------------------------------------------------------


async def test_a_set_aside_scenario_is_read_only_and_shown_apart(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, _criterion, v = await plan_a_and_b(pool, alpha, world)
    async with db.transaction(pool) as conn:
        listed = await scenarios.scenarios(conn, cause_id)
        a, b = (s.id for s in listed)
        assert await scenarios.set_aside_others(conn, cause_id, a) == [b]
        assert await scenarios.set_aside_others(conn, cause_id, a) == []  # once
        assert await scenarios.latest_version_id(conn, b) == v["b2"]
    with pytest.raises(DomainError) as refused:
        await revise(pool, alpha, world, cause_id, b, ScenarioText(summary="x", note="y"))
    assert refused.value.code == "scenario_set_aside" and refused.value.status == 409

    act_as(client, world, "member")
    base = f"/s/alpha/causes/{cause_id}/scenarios"
    plan = await client.get(base)
    set_aside = plan.text[plan.text.index('class="scenarios-set-aside"') :]
    assert "Mis de côté" in words(set_aside) and "Piste séparée" in words(set_aside)
    in_play = plan.text[
        plan.text.index('id="in-play-title"') : plan.text.index("scenarios-set-aside")
    ]
    assert "Piste peinte" in in_play and "Piste séparée" not in in_play
    page = await client.get(f"{base}/{b}")
    assert page.status_code == 200 and 'data-mark="set-aside"' in page.text
    assert "Une piste séparée par des plots." in page.text  # still readable
    assert f"{base}/{b}/versions/new" not in page.text
    assert f"{base}/{a}/versions/new" in (await client.get(f"{base}/{a}")).text
    shown = await client.get(f"{base}/{b}/versions/new")
    assert "Ce scénario est mis de côté" in words(shown.text) and 'name="summary"' not in shown.text
    sent = await post_form(client, f"{base}/{b}/versions", {
        "summary": "Encore", "note": "Essai", "base": "2", "blocks": "0"})  # fmt: skip
    assert sent.status_code == 409 and "Ce scénario est mis de côté" in words(sent.text)
    assert await pool.fetchval(
        "SELECT count(*) FROM scenario_versions WHERE scenario_id = $1", b) == 2  # fmt: skip
    # Compared by default: only the scenarios in play (here, one: too few, said so).
    default = await client.get(f"{base}/compare")
    assert default.status_code == 200
    assert "La comparaison demande au moins deux scénarios." in words(default.text)
    chosen = await client.get(f"{base}/compare?v={v['a1']}&v={v['b2']}")  # still comparable
    assert chosen.status_code == 200 and "mis de côté" in words(wide_table(chosen.text))


# --- who may --------------------------------------------------------------------------------


async def test_only_those_who_take_part_draft(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id, _criterion, v = await plan_a_and_b(pool, alpha, world)
    base = f"/s/alpha/causes/{cause_id}/scenarios"
    async with pool.acquire() as conn:
        b = (await scenarios.scenarios(conn, cause_id))[1].id
    data = form("Titre", "Résumé.", [])
    act_as(client, world, "unsigned")  # sees the space, may not act in it
    assert (await client.get(base)).status_code == 200
    assert f'href="{base}/new"' not in (await client.get(base)).text
    assert (await client.get(f"{base}/compare")).status_code == 200
    assert (await client.get(f"{base}/new")).status_code == 403
    assert (await post_form(client, base, data)).status_code == 403
    assert (await client.get(f"{base}/{b}/versions/new")).status_code == 403
    act_as(client, world, "outsider")
    for path in (base, f"{base}/{b}", f"{base}/compare", f"{base}/new"):
        assert (await client.get(path)).status_code == 404
    assert (await post_form(client, base, data)).status_code == 404
    act_as(client, world, "member")
    assert (await client.get(f"{base}/999999999")).status_code == 404
    assert (await client.get("/s/alpha/causes/999999999/scenarios")).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM scenarios") == 2
    assert v["a1"] > 0


# --- in Chromium ----------------------------------------------------------------------------


@pytest.mark.browser
async def test_the_plan_pages_read_on_a_phone_and_pass_axe(
    chromium: Browser,
    scenario_server: str,
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    tmp_path: Path,
) -> None:
    """The plan, a scenario, its form and the comparison at 1280 and 390 px: axe-core clean,
    no sideways scrolling; on a phone the comparison is one version after the other, and
    printed it is the table with all its columns, without the navigation."""
    shots = Path(os.environ.get("SHOTS_DIR", tmp_path))
    cause_id, _criterion, v = await plan_a_and_b(pool, alpha, world)
    async with pool.acquire() as conn:
        b = (await scenarios.scenarios(conn, cause_id))[1].id
    page = await signed_in(chromium, scenario_server, world.email("member"))
    base = f"{scenario_server}/s/alpha/causes/{cause_id}/scenarios"
    await page.goto(base)
    await shoot(page, shots, "scenarios")
    await page.goto(f"{base}/{b}")
    await shoot(page, shots, "scenario")
    await page.goto(f"{base}/{b}/versions/new")
    await page.get_by_role("button", name="Ajouter des blocs d'action").click()
    await expect(page.locator("#f-action-6-what")).to_be_visible()
    await expect(page.locator("#f-action-0-what")).to_have_value("Compter les vélos")
    await page.get_by_role("button", name="Enregistrer la nouvelle version").click()
    await expect(page.locator("#f-note-error")).to_be_visible()
    await shoot(page, shots, "scenario-form")

    await page.goto(f"{base}/compare?v={v['a1']}&v={v['b1']}&v={v['b2']}")
    await shoot(page, shots, "compare")
    await page.set_viewport_size(NARROW)
    await expect(page.locator("table.compare")).to_be_hidden()
    await expect(page.locator("#column-3")).to_be_visible()
    await page.set_viewport_size(WIDE)
    await page.emulate_media(media="print")
    await expect(page.locator("table.compare")).to_be_visible()
    await expect(page.locator(".compare-stacked")).to_be_hidden()
    await expect(page.locator("#cause-steps")).to_be_hidden()
    await expect(page.locator(".compare-picker")).to_be_hidden()
    await page.pdf(path=str(shots / "compare.pdf"))
