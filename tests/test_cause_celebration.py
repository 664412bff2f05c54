"""The celebration and the bilan of a cause through HTTP (issue 12 §5): the celebration
waits for an evaluation decision (said in words, what to do too; a write refused naming the
rule), then those who carry the cause and the facilitators prepare it (another member is
refused in words), mistakes next to their fields; the actors invited shown to members only,
a private individual by their group; the bilan shows every part of the journey as far as it
has come, the actors to members only; another space's cause 404; each page read in a fixed
number of statements, whatever the number of observations, actors, measurements and
actions."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import msgspec

from consentir import db
from consentir.causes import acting, measuring, observing
from consentir.causes import store as causes
from consentir.causes.observing import ActorText, AssessmentText, ObservationText
from consentir.consent import rules as consent_rules
from consentir.consent import store as proposals
from consentir.spaces.store import Space
from tests.causes_setup import (
    adopt,
    choose,
    chosen_cause,
    draft_scenario,
    new_cause,
    open_choice,
    planned_cause,
    propose,
)
from tests.process import person
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form

WAITS = "La célébration vient une fois l'évaluation adoptée par décision."
NOT_CARRIER = (
    "Seules les personnes qui portent la cause et les facilitateur·rices préparent sa célébration."
)
PRIVATE_NAME = "Jeanne Martin"
GROUP = "Riverains de la rue"
PARTNER = "Association Vélo Lyon"


def base(cause_id: int) -> str:
    return f"/s/alpha/causes/{cause_id}"


def text(page: str) -> str:
    """A page's text, its entities read (French apostrophes, quotes)."""
    return html.unescape(page)


def party(**more: object) -> dict[str, object]:
    return {"held_on": "2027-09-12", "place": "Place du marché", "idempotency_key": "k", **more}


async def evaluated(pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int) -> str:
    """The cause's evaluation adopted by decision: its number."""
    proposal_id = await propose(pool, alpha, world, cause_id, "evaluation")
    return await adopt(pool, alpha, world, proposal_id)


async def with_actors(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int
) -> tuple[int, int]:
    """An organisation and a private individual among the cause's actors: their ids."""
    member = world.user_ids["member"]
    async with db.transaction(pool) as conn:
        partner = await observing.add_actor(
            conn, alpha.id, cause_id, member, ActorText(kind="organisation", name=PARTNER),
            AssessmentText(stance=2, influence=2, role="partner"),
        )  # fmt: skip
        private = await observing.add_actor(
            conn, alpha.id, cause_id, member,
            ActorText(kind="private", name=PRIVATE_NAME, group_label=GROUP),
            AssessmentText(stance=-1, influence=1, role="public"),
        )  # fmt: skip
    return partner, private


async def journal(pool: asyncpg.Pool, cause_id: int, action: str) -> list[dict[str, object]]:
    rows = await pool.fetch(
        "SELECT data FROM journal WHERE subject_type = 'cause' AND subject_id = $1"
        " AND action = $2 ORDER BY id",
        cause_id,
        action,
    )
    return [r["data"] for r in rows]


async def test_the_celebration_waits_for_the_evaluation_decision(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, _criterion = await chosen_cause(pool, alpha, world)
    act_as(client, world, "member")  # who carries the cause
    page = await client.get(f"{base(cause_id)}/celebration")
    assert page.status_code == 200
    assert 'data-rule="no_evaluation_decision"' in page.text
    assert WAITS in text(page.text)
    # What to do: the evaluation's interpretation, on the evaluation page.
    assert f'href="{base(cause_id)}/evaluation">Saisir les mesures' in text(page.text)
    assert 'action="/s/alpha/causes' not in page.text  # no form yet

    refused = await post_form(client, f"{base(cause_id)}/celebration", party())
    assert refused.status_code == 409
    assert WAITS in text(refused.text)
    assert await pool.fetchval("SELECT count(*) FROM celebrations") == 0
    assert await journal(pool, cause_id, "cause.celebration_planned") == []

    # An evaluation under way, submitted: the page leads to it.
    proposal_id = await propose(pool, alpha, world, cause_id, "evaluation")
    async with db.transaction(pool) as conn:
        await proposals.act(conn, alpha, proposal_id, person(world, "member"),
                            consent_rules.Submit(frozenset()))  # fmt: skip
    page = await client.get(f"{base(cause_id)}/celebration")
    assert f'href="/s/alpha/proposals/{proposal_id}"' in page.text
    assert "est en cours : participez sur sa page" in text(page.text)


async def test_the_celebration_prepared_once_the_evaluation_is_adopted(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, _criterion = await chosen_cause(pool, alpha, world)
    partner, private = await with_actors(pool, alpha, world, cause_id)
    await evaluated(pool, alpha, world, cause_id)
    async with db.transaction(pool) as conn:  # target follows the cause
        await causes.follow(conn, alpha.id, cause_id, world.user_ids["target"], on=True)
    act_as(client, world, "member")
    page = await client.get(f"{base(cause_id)}/celebration")
    assert page.status_code == 200
    assert "data-rule=" not in page.text
    assert "La célébration n'est pas encore préparée." in text(page.text)
    # The actors to invite: checkboxes, the private individual by their group only.
    assert f'name="invited" value="{partner}"' in page.text
    assert f'name="invited" value="{private}"' in page.text
    assert GROUP in text(page.text) and PRIVATE_NAME not in text(page.text)

    story = "Tout a commencé **devant l'école**.<script>alert(1)</script>"
    sent = await post_form(client, f"{base(cause_id)}/celebration",
                           party(story=story, invited=[str(partner), str(private)]))  # fmt: skip
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{base(cause_id)}/celebration#celebration"
    page = await client.get(f"{base(cause_id)}/celebration")
    shown = text(page.text)
    assert "12 septembre 2027" in shown and "Place du marché" in shown
    assert "<strong>devant l'école</strong>" in shown
    assert "<script>" not in page.text
    invited = re.search(r'<ul class="invited-actors" id="invited-actors">(.*?)</ul>', shown, re.S)
    assert invited is not None
    assert PARTNER in invited.group(1) and GROUP in invited.group(1)
    assert PRIVATE_NAME not in shown
    # The members invited: whoever follows or carries the cause (member carries it).
    people = re.search(r'<ul class="invited-people" id="invited-people">(.*?)</ul>', shown, re.S)
    assert people is not None and "Member" in people.group(1) and "Target" in people.group(1)
    assert "2 personnes" in shown
    # The followers are told the day: target, who follows it (not member, who planned it).
    told = await pool.fetch(
        "SELECT user_id, data FROM notifications WHERE kind = 'cause_celebration'"
    )
    assert [(r["user_id"], r["data"]["date"]) for r in told] == [
        (world.user_ids["target"], "2027-09-12")
    ]
    [planned] = await journal(pool, cause_id, "cause.celebration_planned")
    assert planned == {"held_on": "2027-09-12", "place": "Place du marché",
                       "invited": sorted([partner, private])}  # fmt: skip

    # Changed: the same row, journalled again with what it was.
    changed = await post_form(client, f"{base(cause_id)}/celebration",
                              party(held_on="2027-09-19", place="Parc Bazin", invited=[],
                                    idempotency_key="k2"))  # fmt: skip
    assert changed.status_code == 303
    row = await pool.fetchrow("SELECT held_on, place, invited FROM celebrations "
                              "WHERE cause_id = $1", cause_id)  # fmt: skip
    assert row is not None
    assert (row["held_on"], row["place"], row["invited"]) == (date(2027, 9, 19), "Parc Bazin", [])
    assert (await journal(pool, cause_id, "cause.celebration_planned"))[-1]["before"] == {
        "held_on": "2027-09-12",
        "place": "Place du marché",
        "invited": sorted([partner, private]),
    }
    assert "Aucun acteur invité." in text((await client.get(f"{base(cause_id)}/celebration")).text)


async def test_mistakes_are_told_next_to_their_fields(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, _criterion = await chosen_cause(pool, alpha, world)
    other_cause, _ = await planned_cause(pool, alpha, world)
    foreign, _private = await with_actors(pool, alpha, world, other_cause)
    await evaluated(pool, alpha, world, cause_id)
    act_as(client, world, "member")
    page = f"{base(cause_id)}/celebration"

    empty = await post_form(client, page, party(place="  "))
    assert empty.status_code == 422
    assert field_error(empty.text, "place") == "Ce champ est obligatoire."
    assert field_error(empty.text, "held_on") is None
    assert 'value="2027-09-12"' in empty.text  # what was sent stays in the form

    bad_day = await post_form(client, page, party(held_on="2027-02-30"))
    assert bad_day.status_code == 422
    assert field_error(bad_day.text, "held_on")
    assert field_error(bad_day.text, "place") is None

    not_ours = await post_form(client, page, party(invited=[str(foreign)]))
    assert not_ours.status_code == 422
    assert field_error(not_ours.text, "invited") == "Choisissez parmi les acteurs de cette cause."
    assert await pool.fetchval("SELECT count(*) FROM celebrations") == 0


async def test_who_carries_the_cause_or_facilitates_prepares_it_the_others_read_it(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, _criterion = await chosen_cause(pool, alpha, world)
    await evaluated(pool, alpha, world, cause_id)
    page = f"{base(cause_id)}/celebration"

    act_as(client, world, "target")  # a member who signed, not carrying the cause
    seen = await client.get(page)
    assert seen.status_code == 200
    assert f'action="{page}"' not in seen.text
    assert "Les personnes qui portent la cause et les facilitateur·rices la préparent." in text(
        seen.text
    )
    refused = await post_form(client, page, party())
    assert refused.status_code == 403
    assert NOT_CARRIER in text(refused.text)

    act_as(client, world, "unsigned")
    assert (await post_form(client, page, party())).status_code == 403
    act_as(client, world, "instance_admin")  # views the space, is not a member
    assert (await client.get(page)).status_code == 200
    assert (await post_form(client, page, party())).status_code == 403
    assert await pool.fetchval("SELECT count(*) FROM celebrations") == 0

    act_as(client, world, "facilitator")
    assert f'action="{page}"' in (await client.get(page)).text
    assert (await post_form(client, page, party())).status_code == 303
    # The followers are told the day: member, who carries it (not the facilitator).
    told = await pool.fetch(
        "SELECT user_id, data FROM notifications WHERE kind = 'cause_celebration'"
    )
    assert [(r["user_id"], r["data"]["date"]) for r in told] == [
        (world.user_ids["member"], "2027-09-12")
    ]
    [planned] = await journal(pool, cause_id, "cause.celebration_planned")
    assert planned["place"] == "Place du marché"


async def test_the_bilan_shows_the_whole_journey(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id, criterion_id = await chosen_cause(pool, alpha, world)
    partner, _private = await with_actors(pool, alpha, world, cause_id)
    member = world.user_ids["member"]
    async with db.transaction(pool) as conn:
        await observing.add_observation(conn, alpha.id, cause_id, member, ObservationText(
            kind="figure", title="Quatre enfants à vélo", source="Comptage",
            observed_on=date.today() - timedelta(days=30)))  # fmt: skip
        await measuring.add(conn, alpha.id, cause_id, person(world, "member"),
                            measuring.NewMeasurement(criterion_id=criterion_id,
                                                     measured_on=date.today(),
                                                     value=Decimal(22), source="Comptage"),
                            date.today())  # fmt: skip
        item_id = await conn.fetchval(
            "SELECT id FROM action_items WHERE cause_id = $1 ORDER BY position LIMIT 1", cause_id
        )
        await acting.update(conn, alpha.id, cause_id, item_id, person(world, "member"),
                            acting.Change(status="done", evidence="Compté le 3 mars."))  # fmt: skip
    evaluation = await evaluated(pool, alpha, world, cause_id)
    act_as(client, world, "member")
    told = party(invited=[str(partner)], story="Une **belle** histoire.")
    sent = await post_form(client, f"{base(cause_id)}/celebration", told)
    assert sent.status_code == 303
    numbers = await pool.fetch(
        """SELECT cp.purpose, d.number FROM cause_proposals cp
           JOIN decisions d ON d.proposal_id = cp.proposal_id
           WHERE cp.cause_id = $1 ORDER BY d.id""",
        cause_id,
    )
    assert [r["purpose"] for r in numbers] == ["take_on", "objectives", "choice", "evaluation"]

    page = await client.get(f"{base(cause_id)}/bilan")
    assert page.status_code == 200
    shown = text(page.text)
    # Each decision, linked, with its purpose.
    for row in numbers:
        assert f'href="/s/alpha/decisions/{row["number"]}"' in page.text
    decisions = re.search(r'<table class="bilan-decisions">(.*?)</table>', shown, re.S)
    assert decisions is not None and decisions.group(1).count("<tr data-purpose=") == 4
    # The cause, and how it met the three criteria.
    assert "Piste cyclable rue Paul-Bert" in shown and "Lyon 3e" in shown
    assert "Douze parents et l'association de quartier." in shown
    # The observation.
    assert "1 observation recueillie sur le terrain." in shown
    assert "Quatre enfants à vélo" in shown
    # The criterion's results: baseline → latest → target, progress (22 − 4) / (40 − 4).
    result = re.search(rf'<tr data-criterion="{criterion_id}">(.*?)</tr>', shown, re.S)
    assert result is not None
    assert "4 enfants" in result.group(1) and "22 enfants" in result.group(1)
    assert "40 enfants" in result.group(1) and 'data-percent="50"' in result.group(1)
    # The chosen scenario, why, and those set aside (none here).
    chosen = re.search(r'<p id="bilan-chosen">(.*?)</p>', shown, re.S)
    assert chosen is not None and "scénario A, version 1, « Piste »" in chosen.group(1)
    assert "Résumé : Piste." in shown and "Tout le monde le préfère." in shown
    # The action list, its statuses and execution.
    items = re.search(r'<table class="bilan-items" id="bilan-items">(.*?)</table>', shown, re.S)
    assert items is not None
    assert "Compter les vélos" in items.group(1) and "Écrire à la mairie" in items.group(1)
    assert 'data-status="done"' in items.group(1) and "Compté le 3 mars." in items.group(1)
    assert "1 sur 2" in re.sub(r"\s+", " ", shown)
    # The evaluation's interpretation, and the celebration.
    assert f'href="/s/alpha/decisions/{evaluation}"' in page.text
    assert "Texte de la proposition." in shown
    assert "Place du marché" in shown and "<strong>belle</strong>" in shown
    # The actors, for a member: the private individual by their group.
    assert 'id="bilan-actors"' in page.text
    assert PARTNER in shown and GROUP in shown and PRIVATE_NAME not in shown
    # The print stylesheets, and the hint instead of a script.
    assert "print.css" in page.text and "print-causes.css" in page.text
    assert "Utilisez la commande Imprimer de votre navigateur" in shown


async def test_the_bilan_at_any_step_and_the_actors_for_members_only(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    proposed = await new_cause(pool, alpha, world, "Une cause à peine proposée")
    act_as(client, world, "member")
    early = await client.get(f"{base(proposed)}/bilan")
    assert early.status_code == 200
    shown = text(early.text)
    assert "Pas encore prise en charge." in shown
    assert "Pas encore de liste d'actions" in shown
    assert "La célébration n'est pas encore préparée." in shown

    cause_id, _criterion = await chosen_cause(pool, alpha, world)
    partner, _private = await with_actors(pool, alpha, world, cause_id)
    await evaluated(pool, alpha, world, cause_id)
    assert (await post_form(client, f"{base(cause_id)}/celebration",
                            party(invited=[str(partner)]))).status_code == 303  # fmt: skip

    act_as(client, world, "instance_admin")  # may view alpha, is not a member
    page = await client.get(f"{base(cause_id)}/bilan")
    assert page.status_code == 200
    assert 'id="bilan-actors"' not in page.text
    assert PARTNER not in text(page.text) and GROUP not in text(page.text)
    assert 'id="bilan-decisions-title"' in page.text  # the rest is there
    celebration = text((await client.get(f"{base(cause_id)}/celebration")).text)
    assert "Place du marché" in celebration and PARTNER not in celebration
    assert (
        "1 acteur invité ; les acteurs ne sont montrés qu'aux membres de l'espace." in celebration
    )

    # Another space's address, or a viewer of another space: 404.
    assert (await client.get(f"/s/beta/causes/{cause_id}/bilan")).status_code == 404
    assert (await client.get(f"/s/beta/causes/{cause_id}/celebration")).status_code == 404
    act_as(client, world, "outsider")
    assert (await client.get(f"{base(cause_id)}/bilan")).status_code == 404
    assert (await client.get(f"{base(cause_id)}/celebration")).status_code == 404


async def test_the_pages_read_in_a_fixed_number_of_statements(
    client_world: tuple[Client, Scenario],
    pool: asyncpg.Pool,
    alpha: Space,
    query_log: list[str],
) -> None:
    client, world = client_world
    member = world.user_ids["member"]

    async def journey(actions: int) -> tuple[int, int]:
        """A cause evaluated, its scenario of `actions` actions chosen: (cause, criterion)."""
        cause_id, criterion_id = await planned_cause(pool, alpha, world)
        whats = tuple(f"Action {n}" for n in range(actions))
        scenario_id = await draft_scenario(pool, alpha, world, cause_id, criterion_id, "Plan",
                                           actions=whats)  # fmt: skip
        await choose(pool, alpha, world, await open_choice(pool, alpha, world, cause_id),
                     scenario_id)  # fmt: skip
        return cause_id, criterion_id

    async def grow(cause_id: int, criterion_id: int, n: int) -> None:
        """n more observations, actors (assessed twice) and measurements (one corrected)."""
        async with db.transaction(pool) as conn:
            for i in range(n):
                await observing.add_observation(conn, alpha.id, cause_id, member,
                    ObservationText(kind="fact", title=f"F{i}", source="S",
                                    observed_on=date.today()))  # fmt: skip
                kind = "private" if i % 2 else "collective"
                actor = await observing.add_actor(
                    conn, alpha.id, cause_id, member,
                    ActorText(kind=kind, name=f"A{i}", group_label="Parents"),
                    AssessmentText(stance=0, influence=1, role="public"),
                )  # fmt: skip
                moved = AssessmentText(stance=1, influence=2, role="ally")
                await observing.assess(conn, alpha.id, cause_id, actor, member, moved)
                new = measuring.NewMeasurement(
                    criterion_id=criterion_id, measured_on=date.today() - timedelta(days=i),
                    value=Decimal(5 + i), source="S",
                )  # fmt: skip
                first = await measuring.add(conn, alpha.id, cause_id, person(world, "member"),
                                            new, date.today())  # fmt: skip
                correction = msgspec.structs.replace(new, value=Decimal(6 + i), corrects=first)
                await measuring.add(conn, alpha.id, cause_id, person(world, "member"),
                                    correction, date.today())  # fmt: skip

    async def count(path: str) -> int:
        query_log.clear()
        assert (await client.get(path)).status_code == 200
        return len(query_log)

    small, small_criterion = await journey(1)
    large, large_criterion = await journey(12)
    for cause_id in (small, large):
        await evaluated(pool, alpha, world, cause_id)
    await grow(small, small_criterion, 1)
    await grow(large, large_criterion, 12)
    act_as(client, world, "member")
    for cause_id in (small, large):
        assert (
            await post_form(
                client, f"{base(cause_id)}/celebration", party(idempotency_key=f"k{cause_id}")
            )
        ).status_code == 303
    counts = {}
    for cause_id in (small, large):
        counts[cause_id] = [await count(f"{base(cause_id)}/bilan"),
                            await count(f"{base(cause_id)}/celebration")]  # fmt: skip
    assert counts[small] == counts[large]
    bilan_text = text((await client.get(f"{base(large)}/bilan")).text)
    assert bilan_text.count('<tr data-status="planned">') == 12  # every action is there
    assert "12 observations recueillies sur le terrain." in bilan_text
