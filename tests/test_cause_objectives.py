"""A cause's objectives and impact criteria through HTTP and the store (issue 12 §3):
objectives by horizon with criteria of each kind (a number, a ladder, yes or no), written by
those who may take part once the cause is taken on (refused before, naming the rule; the
others refused); mistakes next to their fields; proposed for consent in a draft whose text
lists them, locked while it is under way, kept once adopted (the plan then open, or waiting
for a criterion's target), editable again once the proposal is withdrawn; another space's
or cause's ids 404; the page read in a fixed number of statements."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from consentir import db
from consentir.causes import objectives, rules
from consentir.causes import store as causes
from consentir.causes.objectives import CriterionText, ObjectiveText
from consentir.causes.progress import Direction
from consentir.causes.rules import CauseRefused, Rule, Step
from consentir.causes.store import CauseText
from consentir.consent import rules as consent_rules
from consentir.spaces.store import Space
from tests.causes_setup import adopt, new_cause, taken_on_cause
from tests.process import act, person
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form

NOT_TAKEN_ON = (
    "La cause n'est pas encore prise en charge : une décision la prend en charge d'abord."
)
LADDER = ("la mairie ne répond pas", "la mairie nous reçoit", "la mairie vote le budget")


def base(cause_id: int) -> str:
    return f"/s/alpha/causes/{cause_id}/objectives"


def words(page: str) -> str:
    """The page's text, tags removed, entities read, runs of spaces made one."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


NUMBER = {
    "kind": "number", "name": "Accidents devant l'école", "unit": "accidents par an",
    "direction": "down", "baseline": "12,5", "baseline_on": "2025-03-01", "target": "3",
    "target_on": "2027-12-31", "source": "Main courante de la police municipale",
    "method": "Relevé annuel\navec la mairie",
}  # fmt: skip
LADDER_FORM = {
    "kind": "ladder", "name": "Écoute de la mairie", "steps": "\n".join(LADDER) + "\n\n",
    "baseline": "1", "baseline_on": "2025-03-01", "target": "3", "target_on": "2026-06-30",
}  # fmt: skip
YESNO = {
    "kind": "yesno", "name": "Piste cyclable ouverte", "baseline_on": "2025-03-01",
    "target_on": "2027-09-01", "source": "Constat sur place",
}  # fmt: skip


async def post_objective(client: Client, cause_id: int, horizon: str, title: str) -> int:
    data = {"horizon": horizon, "title": title, "victory": f"Victoire : {title}."}
    response = await post_form(client, base(cause_id), data)
    assert response.status_code == 303, response.text
    match = re.search(r"#objective-(\d+)$", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def post_criterion(client: Client, cause_id: int, objective_id: int, data: dict) -> int:
    response = await post_form(client, f"{base(cause_id)}/{objective_id}/criteria", data)
    assert response.status_code == 303, response.text
    match = re.search(r"#criterion-(\d+)$", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def journal(pool: asyncpg.Pool, cause_id: int) -> list[str]:
    rows = await pool.fetch(
        "SELECT action FROM journal WHERE subject_type = 'cause' AND subject_id = $1 ORDER BY id",
        cause_id,
    )
    return [r["action"] for r in rows]


def complete(name: str = "Enfants à vélo", **more: object) -> CriterionText:
    fields: dict[str, object] = {
        "name": name, "kind": "number", "unit": "enfants", "direction": Direction.UP,
        "baseline": Decimal(4), "baseline_on": date(2025, 9, 1), "target": Decimal(40),
        "target_on": date(2027, 6, 30), "source": "Comptage", "method": "Un matin par mois",
    }  # fmt: skip
    fields.update(more)
    return CriterionText(**fields)  # type: ignore[arg-type]


async def objective_with(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int, *criteria: CriterionText,
    horizon: str = "short", title: str = "Des trajets sûrs",
) -> int:  # fmt: skip
    """An objective of member's with these criteria, through the store."""
    member = world.user_ids["member"]
    async with db.transaction(pool) as conn:
        text = ObjectiveText(horizon, title, "Les enfants vont à l'école à vélo.")  # type: ignore[arg-type]
        objective_id = await objectives.add_objective(conn, alpha.id, cause_id, member, text)
        for criterion in criteria:
            await objectives.add_criterion(conn, alpha.id, cause_id, objective_id, member,
                                           criterion)  # fmt: skip
    return objective_id


async def facts(pool: asyncpg.Pool, alpha: Space, cause_id: int) -> rules.Cause:
    async with pool.acquire() as conn:
        return (await causes.cause(conn, alpha.id, cause_id)).facts


async def test_objectives_and_criteria_of_each_kind_by_horizon(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    short = await post_objective(client, cause_id, "short", "Être reçus par la mairie")
    long = await post_objective(client, cause_id, "long", "Des rues sûres pour les enfants")
    number = await post_criterion(client, cause_id, long, NUMBER)
    ladder = await post_criterion(client, cause_id, short, LADDER_FORM)
    yesno = await post_criterion(client, cause_id, long, YESNO)
    # A draft: no baseline, no target yet.
    draft = await post_criterion(client, cause_id, short, {"kind": "number", "name": "Pétition"})

    async with pool.acquire() as conn:
        stored = {c.id: c for o in await objectives.objectives(conn, cause_id) for c in o.criteria}
    assert stored[number].baseline == Decimal("12.5") and stored[number].target == 3
    assert stored[number].direction is Direction.DOWN
    assert stored[number].unit == "accidents par an"
    assert stored[number].baseline_on == date(2025, 3, 1)
    assert stored[ladder].steps == LADDER  # the blank lines dropped
    assert (stored[ladder].baseline, stored[ladder].target) == (0, 2)  # step indexes
    assert stored[ladder].unit == ""
    assert (stored[yesno].baseline, stored[yesno].target) == (0, 1)
    assert stored[yesno].target_on == date(2027, 9, 1)
    assert stored[draft].baseline is None and stored[draft].target is None
    assert not stored[draft].complete and stored[number].complete

    page = await client.get(base(cause_id))
    assert page.status_code == 200
    text = words(page.text)
    # Long term first, then short term; no intermediate section (nothing in it).
    assert text.index("Long terme") < text.index("Des rues sûres") < text.index("Court terme")
    assert text.index("Court terme") < text.index("Être reçus par la mairie")
    assert "Intermédiaire" not in text.split("Ajouter un objectif")[0]
    assert "Situation de départ 12,5 accidents par an le 1er mars 2025" in text
    assert "Cible 3 accidents par an d'ici le 31 décembre 2027" in text
    assert "doit baisser" in text
    assert "Situation de départ échelon 1, « la mairie ne répond pas » le 1er mars 2025" in text
    assert "Cible échelon 3, « la mairie vote le budget » d'ici le 30 juin 2026" in text
    assert "Situation de départ non le 1er mars 2025 Cible oui d'ici le 1er septembre 2027" in text
    assert "départ ou cible à préciser" in text  # the draft criterion
    assert "Main courante de la police municipale" in text
    assert text.count("brouillon : modifiable") == 2
    assert f'id="criterion-{ladder}"' in page.text
    assert f"{base(cause_id)}/{long}/criteria/{number}/edit" in page.text

    # Edit an objective and a criterion; delete a criterion.
    moved = {
        "horizon": "intermediate",
        "title": "Être reçus en mairie",
        "victory": "Un rendez-vous.",
    }
    response = await post_form(client, f"{base(cause_id)}/{short}/edit", moved)
    assert response.status_code == 303
    edited = {**NUMBER, "target": "2", "direction": "down"}
    response = await post_form(client, f"{base(cause_id)}/{long}/criteria/{number}/edit", edited)
    assert response.status_code == 303, response.text
    response = await post_form(client, f"{base(cause_id)}/{short}/criteria/{draft}/delete")
    assert response.status_code == 303
    async with pool.acquire() as conn:
        after = {o.id: o for o in await objectives.objectives(conn, cause_id)}
    assert after[short].horizon == "intermediate" and after[short].title == "Être reçus en mairie"
    assert [c.id for c in after[short].criteria] == [ladder]
    assert after[long].criteria[0].target == 2
    # The edit form shows the criterion as written, numbers in the reader's way.
    form = await client.get(f"{base(cause_id)}/{long}/criteria/{number}/edit")
    assert 'value="12,5"' in form.text and 'value="2025-03-01"' in form.text

    assert await journal(pool, cause_id) == [
        "cause.created", "cause.taken_on",
        "cause.objective_added", "cause.objective_added",
        "cause.criterion_added", "cause.criterion_added", "cause.criterion_added",
        "cause.criterion_added", "cause.objective_edited", "cause.criterion_edited",
        "cause.criterion_deleted",
    ]  # fmt: skip


async def test_mistakes_come_back_next_to_their_fields(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    objective_id = await post_objective(client, cause_id, "long", "Des rues sûres")
    url = f"{base(cause_id)}/{objective_id}/criteria"

    async def refused(data: dict, field: str) -> str:
        response = await post_form(client, url, data)
        assert response.status_code == 422, response.text
        error = field_error(response.text, field)
        assert error, (field, words(response.text)[:2000])
        return html.unescape(error)

    one_step = {**LADDER_FORM, "steps": "la mairie ne répond pas", "baseline": "", "target": "",
                "baseline_on": "", "target_on": ""}  # fmt: skip
    assert await refused(one_step, "steps") == "Une échelle a besoin d'au moins deux échelons."
    backwards = {**NUMBER, "target_on": "2025-01-01"}
    assert await refused(backwards, "target_on") == (
        "L'échéance doit venir après la date de la situation de départ."
    )
    # Every mistake of the form at once: not a number, and the name left empty.
    response = await post_form(client, url, {**NUMBER, "name": "", "baseline": "douze"})
    assert response.status_code == 422
    assert field_error(response.text, "baseline") == "Saisissez un nombre, comme 12 ou 3,5."
    assert field_error(response.text, "name")
    assert 'value="douze"' in response.text  # what was typed is kept
    assert await refused({**NUMBER, "baseline_on": ""}, "baseline_on") == (
        "Indiquez la date de cette valeur."
    )
    assert await refused({**NUMBER, "target": ""}, "target") == (
        "Indiquez la valeur à cette date, ou laissez la date vide."
    )
    assert await refused({**NUMBER, "direction": "up"}, "target") == (
        "Pour un chiffre qui doit monter, la cible ne peut pas être sous la situation de départ."
    )
    assert await refused({**NUMBER, "target": "0,0000001"}, "target") == (
        "Saisissez un nombre inférieur à mille milliards (en valeur absolue), avec au plus six"
        " décimales."
    )
    assert await refused({**LADDER_FORM, "target": "4"}, "target") == (
        "Choisissez l'un des échelons de l'échelle."
    )
    assert await refused({**LADDER_FORM, "baseline": "un"}, "baseline") == (
        "Saisissez le numéro de l'un des échelons : 1 pour le premier."
    )
    # Only the target written, out of the ladder: the target is named, not the baseline.
    only_target = {**LADDER_FORM, "baseline": "", "baseline_on": "", "target": "7"}
    assert await refused(only_target, "target") == "Choisissez l'un des échelons de l'échelle."
    only_target = {**NUMBER, "baseline": "", "baseline_on": "", "target": "0,0000001"}
    assert "six décimales" in await refused(only_target, "target")
    assert await refused({**YESNO, "target_on": "2024-01-01"}, "target_on")
    # An objective without its victory, an unknown horizon.
    response = await post_form(client, base(cause_id), {"horizon": "forever", "title": "X"})
    assert response.status_code == 422
    assert field_error(response.text, "victory") and field_error(response.text, "horizon")
    # An objective's edit, wrong: its form again in its place (not the form to add one).
    response = await post_form(client, f"{base(cause_id)}/{objective_id}/edit",
                               {"horizon": "long", "title": " ", "victory": "V"})  # fmt: skip
    assert response.status_code == 422
    assert field_error(response.text, "title") == "Ce champ est obligatoire."
    assert f'action="{base(cause_id)}/{objective_id}/edit"' in response.text
    assert 'id="new-objective"' not in response.text
    async with pool.acquire() as conn:
        (only,) = await objectives.objectives(conn, cause_id)
    assert only.criteria == ()  # nothing refused was written


async def test_refused_before_the_cause_is_taken_on(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await new_cause(pool, alpha, world)
    act_as(client, world, "member")
    page = await client.get(base(cause_id))
    assert page.status_code == 200
    assert NOT_TAKEN_ON in words(page.text)
    assert 'id="new-objective"' not in page.text  # no form to add one
    response = await post_form(client, base(cause_id),
                               {"horizon": "long", "title": "T", "victory": "V"})  # fmt: skip
    assert response.status_code == 409
    assert NOT_TAKEN_ON in words(response.text)
    response = await post_form(client, f"{base(cause_id)}/propose")
    assert response.status_code == 409
    assert await pool.fetchval("SELECT count(*) FROM objectives") == 0


async def test_proposing_lists_them_and_locks_them_until_adopted(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    long = await post_objective(client, cause_id, "long", "Des rues sûres")
    number = await post_criterion(client, cause_id, long, NUMBER)
    await post_criterion(client, cause_id, long, LADDER_FORM)
    await post_criterion(client, cause_id, long, YESNO)
    before = await client.get(base(cause_id))
    assert "Proposer ces objectifs au consentement" in words(before.text)

    response = await post_form(client, f"{base(cause_id)}/propose", {"idempotency_key": "p-1"})
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/s/alpha/proposals/(\d+)", response.headers["location"])
    assert match
    proposal_id = int(match.group(1))
    # Sent again (a double click): the same proposal.
    again = await post_form(client, f"{base(cause_id)}/propose", {"idempotency_key": "p-1"})
    assert again.headers["location"] == response.headers["location"]

    body = await pool.fetchval(
        "SELECT body FROM proposal_versions WHERE proposal_id = $1", proposal_id
    )
    assert "# Long terme" in body and "## Des rues sûres" in body
    assert "**Victoire :** Victoire : Des rues sûres." in body
    assert (
        "- **Accidents devant l'école** (un nombre qui doit baisser, en accidents par an) :"
        " situation de départ 12,5 accidents par an le 1er mars 2025 → cible 3 accidents par an"
        " d'ici le 31 décembre 2027"
    ) in body
    assert "  - Source : Main courante de la police municipale" in body
    assert "  - Méthode : Relevé annuel avec la mairie" in body
    assert (
        "situation de départ échelon 1, « la mairie ne répond pas » le 1er mars 2025 →"
        " cible échelon 3, « la mairie vote le budget » d'ici le 30 juin 2026"
    ) in body
    assert "Échelons : 1. la mairie ne répond pas → 2. la mairie nous reçoit → 3. la mairie" in body
    assert (
        "(oui ou non) : situation de départ non le 1er mars 2025 → cible oui d'ici le"
        " 1er septembre 2027" in body
    )
    assert (await journal(pool, cause_id))[-1] == "cause.objectives_proposed"
    proposal = await client.get(response.headers["location"])
    assert proposal.status_code == 200
    assert "Objectifs de la cause « Piste cyclable rue Paul-Bert »" in words(proposal.text)
    assert (
        await pool.fetchval(
            "SELECT purpose FROM cause_proposals WHERE proposal_id = $1", proposal_id
        )
        == "objectives"
    )
    assert await pool.fetchval("SELECT proposal_id FROM objectives WHERE id = $1", long) == (
        proposal_id
    )

    # Locked while it is under way: said in words, nothing changes.
    page = await client.get(base(cause_id))
    text = words(page.text)
    assert "proposé au consentement dans la proposition" in text
    assert f'href="/s/alpha/proposals/{proposal_id}"' in page.text
    assert "Une proposition d'objectifs est en cours" in text
    assert f"{base(cause_id)}/{long}/edit" not in page.text
    locked = "Cet objectif est proposé au consentement"
    for path, data in (
        (f"{base(cause_id)}/{long}/edit", {"horizon": "long", "title": "X", "victory": "Y"}),
        (f"{base(cause_id)}/{long}/delete", {}),
        (f"{base(cause_id)}/{long}/criteria", YESNO),
        (f"{base(cause_id)}/{long}/criteria/{number}/edit", NUMBER),
        (f"{base(cause_id)}/{long}/criteria/{number}/delete", {}),
    ):
        refused = await post_form(client, path, data)
        assert refused.status_code == 409, (path, refused.status_code)
        assert locked in words(refused.text), path
    form = await client.get(f"{base(cause_id)}/{long}/criteria/new?kind=yesno")
    assert locked in words(form.text) and 'name="kind"' not in form.text
    # A new objective may be written meanwhile; proposing it waits for the one under way.
    await post_objective(client, cause_id, "short", "Une rencontre en mairie")
    second = await post_form(client, f"{base(cause_id)}/propose")
    assert second.status_code == 409
    assert "Une proposition de ce type est déjà en cours pour cette cause" in words(second.text)
    async with pool.acquire() as conn:
        kept = await objectives.objective(conn, cause_id, long)
    assert kept.title == "Des rues sûres" and len(kept.criteria) == 3
    assert kept.state == "proposed"

    # Adopted: the register's decision, kept as adopted.
    number_adopted = await adopt(pool, alpha, world, proposal_id)
    page = await client.get(base(cause_id))
    assert f'href="/s/alpha/decisions/{number_adopted}"' in page.text
    assert f"adopté par la décision {number_adopted}" in words(page.text)
    refused = await post_form(client, f"{base(cause_id)}/{long}/delete")
    assert refused.status_code == 409
    assert f"Cet objectif a été adopté par la décision {number_adopted}" in words(refused.text)
    cause_facts = await facts(pool, alpha, cause_id)
    assert [o.adopted for o in cause_facts.objectives] == [True, False]
    # The plan stands on the adopted objective; the new draft waits for its own decision.
    assert rules.blocked(cause_facts, Step.PLAN) is None


async def test_adopted_complete_criteria_open_the_plan(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    cause_id = await taken_on_cause(pool, alpha, world)
    await objective_with(pool, alpha, world, cause_id, complete(), complete("Parents"))
    assert rules.blocked(await facts(pool, alpha, cause_id), Step.PLAN) is (
        Rule.OBJECTIVE_NOT_ADOPTED
    )
    async with db.transaction(pool) as conn:
        proposal_id = await objectives.propose(conn, alpha, person(world, "member"), cause_id)
    await adopt(pool, alpha, world, proposal_id)
    cause_facts = await facts(pool, alpha, cause_id)
    assert [o.adopted for o in cause_facts.objectives] == [True]
    assert rules.blocked(cause_facts, Step.PLAN) is None


async def test_an_objective_goes_to_consent_complete(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """What is adopted is kept as adopted: an objective whose criterion lacks its target (or
    with no criterion) is not proposed, or the plan would wait for good; the page says why
    instead of offering to propose, and a proposal sent anyway is refused by the rule."""
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    await objective_with(pool, alpha, world, cause_id, complete(),
                         complete("Parents", target=None, target_on=None))  # fmt: skip
    act_as(client, world, "member")
    page = await client.get(base(cause_id))
    assert (
        "Chaque critère d'impact a besoin d'une situation de départ et d'une cible avant le"
        " plan d'action."
    ) in words(page.text)
    assert f'action="{base(cause_id)}/propose"' not in page.text
    response = await post_form(client, f"{base(cause_id)}/propose")
    assert response.status_code == 409
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM cause_proposals WHERE cause_id = $1 AND purpose = 'objectives'",
            cause_id,
        )
        == 0
    )
    with pytest.raises(CauseRefused) as refused:
        async with db.transaction(pool) as conn:
            await objectives.propose(conn, alpha, person(world, "member"), cause_id)
    assert refused.value.rule is Rule.CRITERION_INCOMPLETE
    assert refused.value.code == "criterion_without_baseline_or_target"
    await objective_with(pool, alpha, world, cause_id)  # no criterion at all
    with pytest.raises(CauseRefused) as bare:
        async with db.transaction(pool) as conn:
            await objectives.propose(conn, alpha, person(world, "member"), cause_id)
    assert bare.value.rule is Rule.OBJECTIVE_WITHOUT_CRITERION


async def test_a_withdrawn_proposal_unlocks_its_objectives(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    objective_id = await objective_with(pool, alpha, world, cause_id, complete())
    act_as(client, world, "member")
    response = await post_form(client, f"{base(cause_id)}/propose")
    first = int(response.headers["location"].rsplit("/", 1)[1])
    edit = {"horizon": "long", "title": "Des trajets sûrs, partout", "victory": "Partout."}
    refused = await post_form(client, f"{base(cause_id)}/{objective_id}/edit", edit)
    assert refused.status_code == 409

    await act(pool, alpha, first, person(world, "member"), consent_rules.Withdraw())
    page = await client.get(base(cause_id))
    assert "brouillon : modifiable" in words(page.text)
    assert f"{base(cause_id)}/{objective_id}/edit" in page.text
    response = await post_form(client, f"{base(cause_id)}/{objective_id}/edit", edit)
    assert response.status_code == 303
    # Proposed again: a new proposal carries it.
    response = await post_form(client, f"{base(cause_id)}/propose")
    assert response.status_code == 303
    second = int(response.headers["location"].rsplit("/", 1)[1])
    assert second != first
    async with pool.acquire() as conn:
        found = await objectives.objective(conn, cause_id, objective_id)
    assert (found.proposal_id, found.state, found.title) == (
        second,
        "proposed",
        "Des trajets sûrs, partout",
    )


async def test_deleting_a_draft_objective_deletes_its_criteria(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    objective_id = await objective_with(pool, alpha, world, cause_id, complete(), complete("B"))
    act_as(client, world, "member")
    response = await post_form(client, f"{base(cause_id)}/{objective_id}/delete")
    assert response.status_code == 303
    assert await pool.fetchval("SELECT count(*) FROM objectives") == 0
    assert await pool.fetchval("SELECT count(*) FROM impact_criteria") == 0
    assert (await journal(pool, cause_id))[-1] == "cause.objective_deleted"
    nothing = await post_form(client, f"{base(cause_id)}/propose")
    assert nothing.status_code == 409
    assert "Il n'y a rien à proposer" in words(nothing.text)
    # Sent twice with its key (a double click): one objective.
    twice = {"horizon": "long", "title": "Doublon", "victory": "V", "idempotency_key": "o-1"}
    first = await post_form(client, base(cause_id), twice)
    again = await post_form(client, base(cause_id), twice)
    assert again.headers["location"] == first.headers["location"]
    assert await pool.fetchval("SELECT count(*) FROM objectives WHERE title = 'Doublon'") == 1


async def test_ids_of_another_space_or_cause_are_not_found(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    mine = await taken_on_cause(pool, alpha, world)
    other = await taken_on_cause(pool, alpha, world, "Une autre cause")
    objective_id = await objective_with(pool, alpha, world, mine, complete())
    foreign = await objective_with(pool, alpha, world, other, complete("Ailleurs"))
    async with pool.acquire() as conn:
        criterion_id = (await objectives.objective(conn, mine, objective_id)).criteria[0].id
        foreign_criterion = (await objectives.objective(conn, other, foreign)).criteria[0].id
        beta = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    async with db.transaction(pool) as conn:
        text = CauseText(title="Cause de Beta", territory="Ailleurs", theme="mobility")
        beta_cause = await causes.create(conn, beta, world.user_ids["admin"], text)
    act_as(client, world, "member")
    for path in (f"/s/alpha/causes/{beta_cause}/objectives", "/s/alpha/causes/999999/objectives",
                 f"/s/beta/causes/{mine}/objectives"):  # fmt: skip
        assert (await client.get(path)).status_code == 404, path
    gets = (
        f"{base(mine)}/{foreign}/edit",
        f"{base(mine)}/{foreign}/criteria/new",
        f"{base(mine)}/{objective_id}/criteria/{foreign_criterion}/edit",
        f"{base(other)}/{objective_id}/criteria/{criterion_id}/edit",
    )
    for path in gets:
        assert (await client.get(path)).status_code == 404, path
    edit = {"horizon": "long", "title": "X", "victory": "Y"}
    posts = (
        (f"{base(mine)}/{foreign}/edit", edit),
        (f"{base(mine)}/{foreign}/delete", {}),
        (f"{base(mine)}/{foreign}/criteria", YESNO),
        (f"{base(mine)}/{objective_id}/criteria/{foreign_criterion}/edit", NUMBER),
        (f"{base(mine)}/{objective_id}/criteria/{foreign_criterion}/delete", {}),
        (f"{base(beta_cause)}", edit),
        (f"{base(beta_cause)}/propose", {}),
    )
    for path, data in posts:
        assert (await post_form(client, path, data)).status_code == 404, path
    assert await pool.fetchval("SELECT count(*) FROM objectives") == 2
    assert await pool.fetchval("SELECT count(*) FROM impact_criteria") == 2


async def test_those_who_may_not_take_part_read_and_are_refused_writes(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    objective_id = await objective_with(pool, alpha, world, cause_id, complete())
    act_as(client, world, "unsigned")  # a member who has not signed the charter
    page = await client.get(base(cause_id))
    assert page.status_code == 200
    assert "Des trajets sûrs" in words(page.text)
    assert 'id="new-objective"' not in page.text
    assert f"{base(cause_id)}/{objective_id}/edit" not in page.text
    assert f'action="{base(cause_id)}/propose"' not in page.text
    edit = {"horizon": "long", "title": "X", "victory": "Y"}
    for path, data in (
        (base(cause_id), edit),
        (f"{base(cause_id)}/{objective_id}/edit", edit),
        (f"{base(cause_id)}/{objective_id}/delete", {}),
        (f"{base(cause_id)}/{objective_id}/criteria", YESNO),
        (f"{base(cause_id)}/propose", {}),
    ):
        assert (await post_form(client, path, data)).status_code == 403, path
    assert (await client.get(f"{base(cause_id)}/{objective_id}/edit")).status_code == 403
    act_as(client, world, "outsider")
    assert (await client.get(base(cause_id))).status_code == 404
    assert (await post_form(client, base(cause_id), edit)).status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM objectives") == 1
    assert await pool.fetchval("SELECT proposal_id FROM objectives") is None


async def test_the_page_reads_in_a_fixed_number_of_statements(
    client_world: tuple[Client, Scenario],
    pool: asyncpg.Pool,
    alpha: Space,
    query_log: list[str],
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")

    async def count() -> int:
        query_log.clear()
        assert (await client.get(base(cause_id))).status_code == 200
        return len(query_log)

    await objective_with(pool, alpha, world, cause_id, complete())
    before = await count()
    for n in range(6):
        horizon = ("long", "intermediate", "short")[n % 3]
        await objective_with(pool, alpha, world, cause_id, complete(), complete("B"),
                             horizon=horizon, title=f"O{n}")  # fmt: skip
    assert await count() == before
