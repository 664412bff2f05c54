"""Causes through the JSON API (issue 12 §6): a whole journey with nothing but Bearer calls,
from the cause proposed to the interpretation proposed (the decisions taken through the
proposals' steps); the refusals, each problem+json naming its rule or its field; what another
space's ids, a non-participant and a non-member get; a write sent twice with one
`Idempotency-Key` happens once; and the OpenAPI document describes every route."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

from consentir import db
from consentir.causes import api
from consentir.causes import store as causes
from consentir.causes.store import CauseText
from consentir.mandates.routes import today
from consentir.spaces.store import Space
from tests.causes_setup import (
    MEETS,
    chosen_cause,
    draft_scenario,
    planned_cause,
    taken_on_cause,
)
from tests.scenario import Scenario
from tests.web import Client, act_as

API = "/api/v1/spaces/alpha"
CAUSES = f"{API}/causes"
# Those who signed alpha's charter: every preference and position of a choice is theirs.
SIGNED = ("member", "facilitator", "admin", "target")


def bearer(world: Scenario, role: str, key: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {world.api_tokens[role]}"}
    if key is not None:
        headers["idempotency-key"] = key
    return headers


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def journal(pool: asyncpg.Pool, action: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM journal WHERE action = $1", action))


class Steps:
    """A proposal's steps through the API, each with the revision the last answer gave."""

    def __init__(self, client: Client, world: Scenario, href: str) -> None:
        self.client, self.world, self.href = client, world, href
        self.revision = 0
        self.version = 1

    async def read(self) -> dict[str, Any]:
        out = ok(await self.client.get(self.href, headers=bearer(self.world, "member")))
        self.revision, self.version = out["revision"], out["version"]
        return dict(out)

    async def step(self, role: str, verb: str, **body: Any) -> dict[str, Any]:
        if "revision" in body and body["revision"] is None:
            body["revision"] = self.revision
        response = await self.client.post(
            f"{self.href}/steps/{verb}", json=body, headers=bearer(self.world, role)
        )
        out = ok(response)
        self.revision, self.version = out["revision"], out["version"]
        return dict(out)


async def adopt(client: Client, world: Scenario, href: str) -> str:
    """Take member's draft to adoption through the proposals' API (as causes_setup.adopt
    does through the store): submit, past the questions and reactions, everyone consents,
    the round closed. The decision's number."""
    steps = Steps(client, world, href)
    await steps.step("member", "submit")
    await steps.step("facilitator", "advance", revision=None)
    await steps.step("facilitator", "advance", revision=None)
    for role in ("admin", "facilitator", "target"):
        await steps.step(role, "position", stance="consent", version=steps.version)
    done = await steps.step("facilitator", "close-round", revision=None)
    assert done["stage"] == "adopted" and done["decision"], done
    return str(done["decision"])


CAUSE = {
    "title": "Une piste cyclable sûre rue Paul-Bert",
    "territory": "Lyon 3e",
    "theme": "mobility",
    "summary": "Sécuriser le trajet des écoliers.",
}
CRITERION = {
    "kind": "number",
    "name": "Enfants à vélo",
    "unit": "enfants",
    "direction": "up",
    "baseline": 4,
    "baseline_on": "2026-09-01",
    "target": "40",
    "target_on": "2027-06-01",
    "source": "Comptage devant l'école",
    "method": "Un matin par mois",
}


async def test_a_whole_cause_through_the_api(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")  # the API reads the token, never the cookie
    member, facilitator = bearer(world, "member"), bearer(world, "facilitator")

    # --- the cause, proposed: every step waits for the decision taking it on.
    made = await client.post(CAUSES, json=CAUSE, headers=bearer(world, "member", "c-1"))
    cause = ok(made, 201)
    base = f"{CAUSES}/{cause['id']}"
    assert made.headers["location"] == base
    assert cause["carriers"] == [{"id": world.user_ids["member"], "name": "Member"}]
    assert cause["following"] and cause["followers"] == 1
    assert cause["theme_label"] == "mobilité"
    assert [(s["step"], s["open"], s["waits_for"]) for s in cause["steps"]] == [
        (step, False, "cause_not_taken_on")
        for step in ("observe", "objectives", "plan", "evaluate", "celebrate")
    ]
    listed = ok(await client.get(CAUSES, headers=bearer(world, "unsigned")))
    assert listed["causes"][0] | {"created_at": None} == {
        "id": cause["id"],
        "title": CAUSE["title"],
        "territory": "Lyon 3e",
        "theme": "mobility",
        "created_at": None,
        "followers": 1,
        "step": "proposed",
        "href": base,
    }

    # --- taken on by decision, through the proposal's steps.
    answers = dict(zip(("meets_values", "meets_mobilised", "meets_impact"), MEETS, strict=True))
    taking = ok(await client.post(f"{base}/take-on", json=answers, headers=member), 201)
    number = await adopt(client, world, taking["href"])
    cause = ok(await client.get(base, headers=member))
    assert [(s["step"], s["open"], s["current"]) for s in cause["steps"][:3]] == [
        ("observe", True, False),
        ("objectives", True, True),
        ("plan", False, False),
    ]
    assert cause["steps"][2]["waits_for"] == "no_objective"
    assert [(p["purpose"], p["decision"]) for p in cause["proposals"]] == [("take_on", number)]
    assert cause["decisions"][0]["number"] == number
    assert cause["decisions"][0]["href"] == f"{API}/decisions/{number}"
    assert ok(await client.get(cause["decisions"][0]["href"], headers=member))["number"] == number
    followed = ok(await client.post(f"{base}/follow", json={"carries": True}, headers=facilitator))
    assert followed == {"following": True, "carries": True, "followers": 2}

    # --- the field observation: an observation, two actors, a new assessment, a link.
    seen = ok(
        await client.post(
            f"{base}/observations",
            headers=member,
            json={
                "kind": "figure",
                "title": "12 accidents en 2025",
                "source": "Préfecture",
                "observed_on": (today() - timedelta(days=3)).isoformat(),
                "url": "https://example.org",
            },
        ),
        201,
    )
    assert seen["title"] == "12 accidents en 2025" and seen["author"] == "Member"
    page = ok(await client.get(f"{base}/observations", headers=bearer(world, "instance_admin")))
    assert [o["id"] for o in page["observations"]] == [seen["id"]] and page["next"] is None
    town = ok(
        await client.post(
            f"{base}/actors",
            headers=member,
            json={
                "kind": "institution",
                "name": "Mairie du 3e",
                "assessment": {"stance": -1, "influence": 3, "role": "target"},
            },
        ),
        201,
    )
    residents = ok(
        await client.post(
            f"{base}/actors",
            headers=member,
            json={
                "kind": "private",
                "name": "Jeanne Dupont",
                "group_label": "Riverains",
                "assessment": {
                    "stance": 1,
                    "influence": 1,
                    "role": "public",
                    "interest": "Le calme",
                },
            },
        ),
        201,
    )
    assert residents["name"] == "Riverains" and residents["private"]
    moved = ok(
        await client.post(
            f"{base}/actors/{town['id']}/assessments",
            headers=member,
            json={"stance": 1, "influence": 3, "role": "ally"},
        ),
        201,
    )
    assert (moved["previous"]["stance"], moved["latest"]["stance"], moved["assessed"]) == (-1, 1, 2)
    link = ok(
        await client.post(
            f"{base}/actors/{residents['id']}/links",
            headers=member,
            json={"other": town["id"], "label": "interpellent"},
        ),
        201,
    )
    assert (link["from_actor"], link["to_actor"]) == (residents["id"], town["id"])
    actors = ok(await client.get(f"{base}/actors", headers=bearer(world, "unsigned")))
    assert [a["name"] for a in actors["actors"]] == ["Mairie du 3e", "Riverains"]
    assert [a["latest"]["role"] for a in actors["actors"]] == ["ally", "public"]
    assert "Jeanne" not in str(actors)  # a private individual is never named
    assert [x["label"] for x in actors["links"]] == ["interpellent"]

    # --- objectives and criteria; the plan waits for their decision.
    objective = ok(
        await client.post(
            f"{base}/objectives",
            headers=member,
            json={
                "horizon": "short",
                "title": "Des trajets sûrs",
                "victory": "Les enfants vont à vélo.",
            },
        ),
        201,
    )
    target = f"{base}/objectives/{objective['id']}"
    criterion = ok(await client.post(f"{target}/criteria", json=CRITERION, headers=member), 201)
    assert (criterion["baseline"], criterion["target"], criterion["state"]) == ("4", "40", "draft")
    early = await client.post(
        f"{base}/scenarios", headers=member, json={"title": "Trop tôt", "summary": "Rien."}
    )
    problem(early, 409, "objective_not_adopted")
    proposed = ok(await client.post(f"{base}/objectives/propose", headers=member), 201)
    listed = ok(await client.get(f"{base}/objectives", headers=member))["objectives"]
    assert [(o["state"], o["proposal_id"]) for o in listed] == [
        ("proposed", proposed["proposal_id"])
    ]
    objectives_number = await adopt(client, world, proposed["href"])
    adopted = ok(await client.get(target, headers=member))
    assert adopted["state"] == "adopted" and adopted["decision"] == objectives_number
    assert [c["state"] for c in adopted["criteria"]] == ["adopted"]

    # --- scenarios A and B, B in version 2; compared side by side.
    def action(what: str, **more: Any) -> dict[str, Any]:
        return {
            "what": what,
            "who_user": world.user_ids["member"],
            "due_on": "2027-01-15",
            "cost": "120.50",
            "criteria": [criterion["id"]],
            **more,
        }

    a = ok(
        await client.post(
            f"{base}/scenarios",
            headers=member,
            json={
                "title": "Piste peinte",
                "summary": "Peindre une bande.",
                "actions": [action("Peindre la bande")],
            },
        ),
        201,
    )
    b = ok(
        await client.post(
            f"{base}/scenarios",
            headers=facilitator,
            json={
                "title": "Piste séparée",
                "summary": "Des plots.",
                "risks": "Le budget.",
                "actions": [action("Poser les plots")],
            },
        ),
        201,
    )
    assert (a["letter"], b["letter"]) == ("A", "B")
    b_url = f"{base}/scenarios/{b['id']}"
    b2 = ok(
        await client.post(
            f"{b_url}/versions",
            headers=member,
            json={
                "summary": "Des plots et une traversée.",
                "risks": "Le budget.",
                "base": 1,
                "note": "Ajoute la traversée piétonne.",
                "actions": [action("Poser les plots"), action("Peindre la traversée", cost=None)],
            },
        ),
        201,
    )
    assert [(v["number"], v["current"]) for v in b2["versions"]] == [(1, False), (2, True)]
    stale = await client.post(
        f"{b_url}/versions", headers=member, json={"summary": "Autre.", "note": "Autre.", "base": 1}
    )
    problem(stale, 409, "scenario_version_stale")
    listed_scenarios = ok(await client.get(f"{base}/scenarios", headers=member))["scenarios"]
    assert [(s["letter"], s["current"]["number"]) for s in listed_scenarios] == [("A", 1), ("B", 2)]
    a1, b2_id = a["versions"][0]["id"], b2["versions"][1]["id"]
    compared = ok(await client.get(f"{base}/scenarios/compare?v={a1}&v={b2_id}", headers=member))
    assert [(c["letter"], c["number"]) for c in compared["columns"]] == [("A", 1), ("B", 2)]
    rows = {(r["field"], r["action"]): r["cells"] for r in compared["rows"]}
    assert rows[("summary", None)] == [
        {"text": "Peindre une bande.", "differs": False},
        {"text": "Des plots et une traversée.", "differs": True},
    ]
    assert rows[("who", 0)] == [{"text": "Member", "differs": False}] * 2  # the same person
    assert rows[("what", 1)] == [
        {"text": None, "differs": False},
        {"text": "Peindre la traversée", "differs": True},
    ]
    assert compared["columns"][1]["differences"] == sum(r[1]["differs"] for r in rows.values())
    by_default = ok(await client.get(f"{base}/scenarios/compare", headers=member))
    assert [c["version_id"] for c in by_default["columns"]] == [a1, b2_id]

    # --- the choice, on the consent engine: questions, sealed preferences, consent.
    opened = ok(await client.post(f"{base}/choices", json={}, headers=facilitator), 201)
    choice = Steps(client, world, opened["href"])
    await choice.step("facilitator", "submit")
    asked = await choice.step("member", "ask", text="Combien coûtent les plots ?", scenario=b["id"])
    [question] = asked["questions"]
    assert question["scenario_id"] == b["id"]
    await choice.step("facilitator", "answer", question_id=question["id"], text="3 000 €.")
    await choice.step("facilitator", "advance", revision=None)
    for role in SIGNED:
        await choice.step(role, "nominate", nominee=b["id"], reason="La plus sûre.")
    await choice.step("facilitator", "reveal", revision=None)
    await choice.step(
        "facilitator",
        "propose-holder",
        nominee=b["id"],
        reason="Tout le monde préfère B.",
        revision=None,
    )
    for role in SIGNED:
        await choice.step(role, "position", stance="consent", version=choice.version)
    chosen = await choice.step("facilitator", "close-round", revision=None)
    assert chosen["stage"] == "adopted" and chosen["decision"]
    cause = ok(await client.get(base, headers=member))
    assert {s["step"]: s["open"] for s in cause["steps"]} == {
        "observe": True,
        "objectives": True,
        "plan": True,
        "evaluate": True,
        "celebrate": False,
    }
    assert cause["steps"][4]["waits_for"] == "no_evaluation_decision"
    aside = ok(await client.get(f"{base}/scenarios/{a['id']}", headers=member))
    assert aside["set_aside_at"] is not None

    # --- the action list: B version 2's actions; its owner updates one.
    actions = ok(await client.get(f"{base}/actions", headers=member))
    assert [
        (i["what"], i["owner"]["name"], i["decision"], i["may_update"]) for i in actions["current"]
    ] == [
        ("Poser les plots", "Member", chosen["decision"], True),
        ("Peindre la traversée", "Member", chosen["decision"], True),
    ]
    assert actions["execution"] == {"done": 0, "counted": 2, "dropped": 0, "ratio": 0.0}
    first = actions["current"][0]
    refused = await client.post(
        f"{base}/actions/{first['id']}", headers=bearer(world, "target"), json={"status": "done"}
    )
    problem(refused, 403, "not_action_owner")
    done = ok(
        await client.post(
            f"{base}/actions/{first['id']}",
            headers=member,
            json={"status": "done", "evidence": "Photos."},
        )
    )
    assert (done["status"], done["evidence"]) == ("done", "Photos.")
    actions = ok(await client.get(f"{base}/actions", headers=bearer(world, "target")))
    assert actions["execution"]["done"] == 1
    assert [i["may_update"] for i in actions["current"]] == [False, False]

    # --- measurements: one, then its correction; the value in effect and the progress.
    measures = f"{base}/criteria/{criterion['id']}/measurements"
    day = today().isoformat()
    first_measure = ok(
        await client.post(
            measures,
            headers=member,
            json={
                "measured_on": day,
                "value": 10,
                "source": "Comptage",
            },
        ),
        201,
    )
    correction = ok(
        await client.post(
            measures,
            headers=member,
            json={
                "measured_on": day,
                "value": "13.0",
                "source": "Recompté",
                "confidence": "high",
                "corrects": first_measure["id"],
            },
        ),
        201,
    )
    assert correction["corrects"] == first_measure["id"]
    series = ok(await client.get(measures, headers=bearer(world, "unsigned")))
    assert [(m["id"], m["in_effect"], m["corrected_by"]) for m in series["measurements"]] == [
        (first_measure["id"], False, correction["id"]),
        (correction["id"], True, None),
    ]
    assert series["latest"]["id"] == correction["id"] and series["latest"]["value"] == "13.0"
    assert series["percent"] == 25 and series["progress"] == 0.25  # (13 − 4) / (40 − 4)
    again = await client.post(
        measures,
        headers=member,
        json={
            "measured_on": day,
            "value": 14,
            "source": "Encore",
            "corrects": first_measure["id"],
        },
    )
    problem(again, 409, "already_corrected")

    # --- the interpretation, proposed for consent.
    interpretation = ok(
        await client.post(
            f"{base}/evaluation/interpretation",
            headers=member,
            json={"conclusions": "Plus d'enfants à vélo.", "changes": "Continuer."},
        ),
        201,
    )
    proposal = ok(await client.get(interpretation["href"], headers=member))
    assert "Enfants à vélo" in proposal["body"] and proposal["stage"] == "draft"
    cause = ok(await client.get(base, headers=member))
    assert [p["purpose"] for p in cause["proposals"]] == [
        "take_on",
        "objectives",
        "choice",
        "evaluation",
    ]
    assert len(cause["decisions"]) == 3
    unfollowed = ok(await client.delete(f"{base}/follow", headers=facilitator))
    assert unfollowed == {"following": False, "carries": False, "followers": 1}


async def test_mistakes_name_their_field(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    member = bearer(world, "member")
    for wrong, code, field in (
        ({"title": "   "}, "field_required", "title"),
        ({"title": "x" * 201}, "validation_failed", "title"),
        ({"title": "Deux\nlignes"}, "validation_failed", "title"),
        ({"territory": "\t"}, "field_required", "territory"),
        ({"theme": "other"}, "theme_missing", "theme_other"),
        ({"theme": "sport"}, "validation_failed", "theme"),
        ({"summary": 12}, "validation_failed", "summary"),
    ):
        body = problem(
            await client.post(CAUSES, json={**CAUSE, **wrong}, headers=member), 422, code
        )
        assert fields(body) == {field}, (wrong, body)
    free = ok(
        await client.post(
            CAUSES, headers=member, json={**CAUSE, "theme": "other", "theme_other": "Sport"}
        ),
        201,
    )
    assert (free["theme"], free["theme_label"]) == ("Sport", "Sport")

    cause_id = await taken_on_cause(pool, alpha, world)
    base = f"{CAUSES}/{cause_id}"
    unanswered = await client.post(
        f"{base}/take-on", headers=member, json={"meets_values": "Oui", "meets_mobilised": "Nous"}
    )
    assert fields(problem(unanswered, 422, "cause_criteria_unanswered")) == {"meets_impact"}
    answers = dict(zip(("meets_values", "meets_mobilised", "meets_impact"), MEETS, strict=True))
    problem(
        await client.post(f"{base}/take-on", json=answers, headers=member), 409, "cause_taken_on"
    )
    observation = {"kind": "fact", "title": "Un fait", "source": "Moi", "observed_on": "2026-01-01"}
    for wrong, code, field in (
        ({"observed_on": "1990-01-01"}, "validation_failed", "observed_on"),
        (
            {"observed_on": (today() + timedelta(days=2)).isoformat()},
            "observed_later",
            "observed_on",
        ),
        ({"url": "ftp://example.org"}, "not_a_web_address", "url"),
        ({"source": " "}, "field_required", "source"),
        ({"kind": "rumour"}, "validation_failed", "kind"),
    ):
        body = problem(
            await client.post(
                f"{base}/observations", headers=member, json={**observation, **wrong}
            ),
            422,
            code,
        )
        assert fields(body) == {field}, (wrong, body)
    actor = {
        "kind": "person",
        "name": "M. le maire",
        "assessment": {"stance": 0, "influence": 2, "role": "target"},
    }
    problem(
        await client.post(f"{base}/actors", json=actor, headers=member), 422, "person_without_role"
    )
    bad_stance = await client.post(
        f"{base}/actors", headers=member, json={**actor, "assessment": {"stance": 3}}
    )
    assert bad_stance.status_code == 422 and fields(bad_stance.json()) == {"assessment.stance"}
    objective = ok(
        await client.post(
            f"{base}/objectives",
            headers=member,
            json={
                "horizon": "long",
                "title": "Une ville apaisée",
                "victory": "Moins de voitures.",
            },
        ),
        201,
    )
    criteria = f"{base}/objectives/{objective['id']}/criteria"
    for wrong, code, field in (
        ({"baseline_on": None}, "date_missing", "baseline_on"),
        ({"target": 1}, "target_below_baseline", "target"),
        ({"target": "sNaN"}, "number_out_of_range", "target"),
        ({"baseline": "1E-100000000"}, "number_out_of_range", "baseline"),
        ({"kind": "ladder", "steps": ["Seule"]}, "ladder_too_short", "steps"),
        ({"name": "  "}, "field_required", "name"),
    ):
        body = problem(
            await client.post(criteria, json={**CRITERION, **wrong}, headers=member), 422, code
        )
        assert fields(body) == {field}, (wrong, body)

    # The plan open, an action naming a role or a member the space does not have.
    planned, criterion = await planned_cause(pool, alpha, world)
    scenarios = f"{CAUSES}/{planned}/scenarios"
    scenario = {"title": "Plan", "summary": "Agir.", "actions": [{"what": "Agir"}]}
    for action, code, field in (
        (
            {"what": "Agir", "who_user": world.user_ids["outsider"]},
            "scenario_action_invalid",
            "actions[0].who_user",
        ),
        (
            {"what": "Agir", "criteria": [criterion + 1000]},
            "scenario_action_invalid",
            "actions[0].criteria",
        ),
        ({"what": "Agir", "cost": "12.345"}, "scenario_action_invalid", "actions[0].cost"),
        ({"what": " "}, "field_required", "actions[0].what"),
        ({"what": "Agir", "due_on": "3000-01-01"}, "validation_failed", "actions[0].due_on"),
    ):
        body = problem(
            await client.post(scenarios, headers=member, json={**scenario, "actions": [action]}),
            422,
            code,
        )
        assert fields(body) == {field}, (action, body)
    made = ok(await client.post(scenarios, json=scenario, headers=member), 201)
    problem(
        await client.post(
            f"{scenarios}/{made['id']}/versions", headers=member, json={"summary": "Autre."}
        ),
        422,
        "scenario_note_required",
    )
    compare = f"{scenarios}/compare"
    problem(
        await client.get(f"{compare}?v={made['versions'][0]['id']}", headers=member),
        422,
        "compare_count",
    )
    assert ok(await client.get(compare, headers=member)) == {"columns": [], "rows": []}  # only A

    # Values a criterion cannot take; nothing recorded.
    chosen, measured = await chosen_cause(pool, alpha, world)
    measures = f"{CAUSES}/{chosen}/criteria/{measured}/measurements"
    for value, code in (
        ("douze", "not_a_number"),
        (True, "not_a_number"),
        ("1E-100000000", "number_out_of_range"),
        (10**13, "number_out_of_range"),
    ):
        body = problem(
            await client.post(
                measures,
                headers=member,
                json={"measured_on": today().isoformat(), "value": value, "source": "Moi"},
            ),
            422,
            code,
        )
        assert fields(body) == {"value"}, (value, body)
    later = await client.post(
        measures,
        headers=member,
        json={
            "measured_on": (today() + timedelta(days=1)).isoformat(),
            "value": 5,
            "source": "Moi",
        },
    )
    assert fields(problem(later, 422, "measured_in_future")) == {"measured_on"}
    assert await journal(pool, "cause.measured") == 0


async def test_steps_not_open_are_refused_naming_the_rule(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    member = bearer(world, "member")
    proposed = ok(await client.post(CAUSES, json=CAUSE, headers=member), 201)
    base = f"{CAUSES}/{proposed['id']}"
    observation = {"kind": "fact", "title": "Un fait", "source": "Moi", "observed_on": "2026-01-01"}
    problem(
        await client.post(f"{base}/observations", json=observation, headers=member),
        409,
        "cause_not_taken_on",
    )
    problem(
        await client.post(
            f"{base}/objectives",
            headers=member,
            json={"horizon": "short", "title": "T", "victory": "V"},
        ),
        409,
        "cause_not_taken_on",
    )

    taken = f"{CAUSES}/{await taken_on_cause(pool, alpha, world)}"
    problem(
        await client.post(f"{taken}/objectives/propose", headers=member), 409, "nothing_to_propose"
    )
    objective = ok(
        await client.post(
            f"{taken}/objectives",
            headers=member,
            json={"horizon": "short", "title": "T", "victory": "V"},
        ),
        201,
    )
    problem(
        await client.post(f"{taken}/objectives/propose", headers=member),
        409,
        "objective_without_criterion",
    )
    problem(
        await client.post(
            f"{taken}/scenarios", headers=member, json={"title": "A", "summary": "S"}
        ),
        409,
        "objective_not_adopted",
    )
    await client.post(
        f"{taken}/objectives/{objective['id']}/criteria",
        headers=member,
        json={**CRITERION, "target": None, "target_on": None},
    )
    problem(
        await client.post(f"{taken}/objectives/propose", headers=member),
        409,
        "criterion_without_baseline_or_target",
    )

    planned, criterion = await planned_cause(pool, alpha, world)
    plan = f"{CAUSES}/{planned}"
    problem(
        await client.post(
            f"{plan}/criteria/{criterion}/measurements",
            headers=member,
            json={"measured_on": today().isoformat(), "value": 5, "source": "Moi"},
        ),
        409,
        "no_scenario_chosen",
    )
    problem(
        await client.post(
            f"{plan}/evaluation/interpretation",
            headers=member,
            json={"conclusions": "C", "changes": "C"},
        ),
        409,
        "no_scenario_chosen",
    )
    problem(
        await client.post(
            f"{plan}/objectives/{objective['id']}/criteria", headers=member, json=CRITERION
        ),
        404,
        "objective_not_found",
    )  # another cause's
    adopted_objective = ok(await client.get(f"{plan}/objectives", headers=member))["objectives"]
    problem(
        await client.post(
            f"{plan}/objectives/{adopted_objective[0]['id']}/criteria",
            headers=member,
            json=CRITERION,
        ),
        409,
        "objective_adopted",
    )
    assert ok(await client.get(f"{plan}/actions", headers=member)) == {
        "current": [],
        "earlier": [],
        "waits_for": "no_scenario_chosen",
        "execution": {"done": 0, "counted": 0, "dropped": 0, "ratio": None},
    }
    assert await journal(pool, "cause.observation_added") == 0


async def test_who_may_and_what_another_space_has(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    chosen, criterion = await chosen_cause(pool, alpha, world)
    base = f"{CAUSES}/{chosen}"
    async with pool.acquire() as conn:
        beta_id = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    async with db.transaction(pool) as conn:
        elsewhere = await causes.create(
            conn, beta_id, world.user_ids["beta_owner"], CauseText("Ailleurs", "Paris", "mobility")
        )
    other_cause, other_criterion = await planned_cause(pool, alpha, world)
    other_scenario = await draft_scenario(pool, alpha, world, other_cause, other_criterion, "X")
    member = bearer(world, "member")

    # Another space's cause through alpha, and beta itself: 404.
    for url in (
        f"{CAUSES}/{elsewhere}",
        f"{CAUSES}/{elsewhere}/observations",
        f"{CAUSES}/{elsewhere}/scenarios",
        f"/api/v1/spaces/beta/causes/{elsewhere}",
    ):
        assert (await client.get(url, headers=member)).status_code == 404, url
    problem(
        await client.post(f"{CAUSES}/{elsewhere}/follow", headers=member), 404, "cause_not_found"
    )
    # Another cause's scenario, criterion or actor through this cause: 404.
    problem(
        await client.get(f"{base}/scenarios/{other_scenario}", headers=member),
        404,
        "scenario_not_found",
    )
    problem(
        await client.get(f"{base}/criteria/{other_criterion}/measurements", headers=member),
        404,
        "criterion_not_found",
    )
    other_actor = ok(
        await client.post(
            f"{CAUSES}/{other_cause}/actors",
            headers=member,
            json={
                "kind": "collective",
                "name": "Parents d'élèves",
                "assessment": {"stance": 2, "influence": 1, "role": "ally"},
            },
        ),
        201,
    )
    problem(
        await client.post(
            f"{base}/actors/{other_actor['id']}/assessments",
            headers=member,
            json={"stance": 0, "influence": 0, "role": "public"},
        ),
        404,
        "actor_not_found",
    )
    version = (await client.get(f"{CAUSES}/{other_cause}/scenarios", headers=member)).json()
    other_version = version["scenarios"][0]["current"]["id"]
    mine = ok(await client.get(f"{base}/scenarios", headers=member))["scenarios"][0]
    problem(
        await client.get(
            f"{base}/scenarios/compare?v={mine['current']['id']}&v={other_version}", headers=member
        ),
        404,
        "scenario_version_not_found",
    )
    # Ids out of range, wrong types: 4xx, never a 500.
    assert (await client.get(f"{CAUSES}/{2**63}", headers=member)).status_code == 404
    assert (await client.get(f"{CAUSES}?before=0", headers=member)).status_code == 400
    assert (await client.get(f"{CAUSES}?before=x", headers=member)).status_code == 400
    assert (
        await client.get(f"{base}/observations?after=garbled", headers=member)
    ).status_code == 400
    assert (
        await client.get(f"{base}/scenarios/compare?v=0&v={2**64}", headers=member)
    ).status_code == 404
    problem(
        await client.post(f"{base}/actions/{2**62}", json={"status": "done"}, headers=member),
        404,
        "action_not_found",
    )
    problem(
        await client.post(f"{base}/actions/1", json={"status": "finie"}, headers=member),
        422,
        "validation_failed",
    )

    # Those who may not take part: 403; the actors for anyone not a member: 404.
    for role in ("unsigned", "instance_admin"):
        who = bearer(world, role)
        assert (await client.get(base, headers=who)).status_code == 200
        assert (await client.post(CAUSES, json=CAUSE, headers=who)).status_code == 403
        refused = await client.post(
            f"{base}/criteria/{criterion}/measurements",
            headers=who,
            json={"measured_on": today().isoformat(), "value": 1, "source": "Moi"},
        )
        assert refused.status_code == 403, refused.text
    assert (
        await client.get(f"{base}/actors", headers=bearer(world, "unsigned"))
    ).status_code == 200
    admin = bearer(world, "instance_admin")
    for method, url, body in (
        ("GET", f"{base}/actors", None),
        ("GET", f"{CAUSES}/{other_cause}/actors/{other_actor['id']}", None),
        (
            "POST",
            f"{base}/actors",
            {
                "kind": "collective",
                "name": "X",
                "assessment": {"stance": 0, "influence": 0, "role": "public"},
            },
        ),
        (
            "POST",
            f"{CAUSES}/{other_cause}/actors/{other_actor['id']}/assessments",
            {"stance": 0, "influence": 0, "role": "public"},
        ),
        (
            "POST",
            f"{CAUSES}/{other_cause}/actors/{other_actor['id']}/links",
            {"other": other_actor["id"], "label": "x"},
        ),
    ):
        response = await client.request(method, url, json=body, headers=admin)
        problem(response, 404, "not_found")
    assert (
        await client.get(f"{base}/actors", headers=bearer(world, "outsider"))
    ).status_code == 404
    assert (await client.get(f"{base}/actors")).status_code == 401


async def test_a_write_sent_twice_with_one_key_happens_once(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    created = await journal(pool, "cause.created")
    first = await client.post(CAUSES, json=CAUSE, headers=bearer(world, "member", "k-cause"))
    again = await client.post(CAUSES, json=CAUSE, headers=bearer(world, "member", "k-cause"))
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert await journal(pool, "cause.created") == created + 1
    other = await client.post(
        CAUSES, json={**CAUSE, "title": "Autre"}, headers=bearer(world, "member", "k-cause")
    )
    problem(other, 422, "idempotency_key_reused")

    chosen, criterion = await chosen_cause(pool, alpha, world)
    measures = f"{CAUSES}/{chosen}/criteria/{criterion}/measurements"
    body = {"measured_on": today().isoformat(), "value": 8, "source": "Comptage"}
    once = await client.post(measures, json=body, headers=bearer(world, "member", "k-m"))
    twice = await client.post(measures, json=body, headers=bearer(world, "member", "k-m"))
    assert (once.status_code, twice.status_code) == (201, 201)
    assert twice.json()["id"] == once.json()["id"]
    series = ok(await client.get(measures, headers=bearer(world, "member")))
    assert len(series["measurements"]) == 1

    items = ok(await client.get(f"{CAUSES}/{chosen}/actions", headers=bearer(world, "member")))
    url = f"{CAUSES}/{chosen}/actions/{items['current'][0]['id']}"
    change = {"status": "doing", "evidence": "Commencé."}
    done = await client.post(url, json=change, headers=bearer(world, "member", "k-a"))
    replayed = await client.post(url, json=change, headers=bearer(world, "member", "k-a"))
    assert (done.status_code, replayed.status_code) == (200, 200)
    assert replayed.headers["idempotent-replayed"] == "true" and replayed.json() == done.json()
    assert await journal(pool, "cause.action_updated") == 1


async def test_the_api_document_describes_every_cause_route(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    paths = document["paths"]
    for handler in api.routes:
        path = next(iter(handler.paths)).replace(":int", "").replace(":str", "")
        for method in handler.http_methods:
            operation = paths[path][method.lower()]
            assert operation["tags"] == ["causes"], path
            assert operation["summary"] and operation.get("description"), (path, method)
            assert operation["security"] == [{"bearer": []}], path
            assert {"404", "409", "422"} <= set(operation["responses"]), path
    assert len(api.routes) == 28
    take_on = paths["/api/v1/spaces/{slug}/causes/{cause_id}/take-on"]["post"]
    assert "201" in take_on["responses"] and "200" not in take_on["responses"]
    assert not any(path.startswith("/s/") for path in paths)
