"""The dashboard's "waiting for you": every step that waits for a person across their spaces,
each for the right person only, with the address where it is taken, in a fixed number of
statements whatever the number of proposals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg

from consentir import db
from consentir.consent import rules, store
from consentir.consent.rules import Stance
from consentir.consent.store import Awaiting, Content
from consentir.meetings import store as meetings
from consentir.spaces.store import Space
from tests.process import act, new_proposal, person, to_object_round
from tests.scenario import Scenario, adopt_proposal
from tests.web import Client, act_as

TEXT = Content(title="Vélos partagés", driver="Peu de vélos.", body="Acheter dix vélos.")
PEOPLE = ("outsider", "unsigned", "member", "facilitator", "admin", "target")


async def waiting(pool: asyncpg.Pool, world: Scenario, role: str) -> list[Awaiting]:
    async with pool.acquire() as conn:
        return await store.awaiting(conn, world.user_ids[role])


async def who_sees(
    pool: asyncpg.Pool, world: Scenario, kind: str, title: str = TEXT.title
) -> set[str]:
    """The people for whom a step of this kind about `title` waits."""
    seen = set()
    for role in PEOPLE:
        if any(i.kind == kind and i.title == title for i in await waiting(pool, world, role)):
            seen.add(role)
    return seen


async def only(pool: asyncpg.Pool, world: Scenario, role: str, kind: str) -> Awaiting:
    found = [i for i in await waiting(pool, world, role) if i.kind == kind]
    assert len(found) == 1, found
    return found[0]


async def objection_raised(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> int:
    """A proposal of member's in its object round where target objected; its id."""
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    target = person(world, "target")
    objecting = rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Pas de local.")
    await act(pool, alpha, proposal_id, target, objecting)
    return proposal_id


async def consent(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, proposal_id: int, role: str
) -> None:
    who = person(world, role)
    await act(pool, alpha, proposal_id, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1))


async def objection_id(pool: asyncpg.Pool, alpha: Space, proposal_id: int) -> int:
    async with pool.acquire() as conn:
        return (await store.load(conn, alpha.id, proposal_id)).state.objections[0].id


async def test_a_new_proposal_welcomes_questions_from_those_on_its_list(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    title = "Jardin partagé"  # the scenario's proposal of member's, at the clarify stage
    assert await who_sees(pool, world, "ask", title) == {"facilitator", "admin", "target"}
    item = await only(pool, world, "target", "ask")
    assert item.href == f"/s/alpha/proposals/{world.proposal_id}#now-title"
    assert item.space_name == "Alpha"
    target = person(world, "target")
    await act(pool, alpha, world.proposal_id, target, rules.AskQuestion(), Content(text="Où ?"))
    assert await who_sees(pool, world, "ask", title) == {"facilitator", "admin"}
    # The question now waits for the proposer, on the questions' section.
    assert await who_sees(pool, world, "questions", title) == {"member"}
    item = await only(pool, world, "member", "questions")
    assert item.href == f"/s/alpha/proposals/{world.proposal_id}#questions"


async def test_a_round_waits_for_the_answers_missing_with_its_deadline(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    assert await who_sees(pool, world, "answer") == {"facilitator", "admin", "target"}
    deadline = datetime.now(UTC) + timedelta(days=3)
    facilitator = person(world, "facilitator")
    await act(pool, alpha, proposal_id, facilitator, rules.SetDeadline(deadline, datetime.now(UTC)))
    item = await only(pool, world, "target", "answer")
    assert item.stage == "object" and item.deadline == deadline
    await consent(pool, alpha, world, proposal_id, "target")
    assert await who_sees(pool, world, "answer") == {"facilitator", "admin"}


async def test_an_objection_waits_for_the_facilitators_who_may_judge_it(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await objection_raised(pool, alpha, world)
    assert await who_sees(pool, world, "judge") == {"facilitator", "admin"}
    item = await only(pool, world, "facilitator", "judge")
    assert item.href == f"/s/alpha/proposals/{proposal_id}#objections"
    # A facilitator who has not signed the current charter may not judge: not shown.
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE memberships SET role = 'facilitator' WHERE user_id = $1",
            world.user_ids["unsigned"],
        )
    assert "unsigned" not in await who_sees(pool, world, "judge")


async def test_a_round_everyone_answered_waits_to_be_closed(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    for role in ("admin", "facilitator"):
        await consent(pool, alpha, world, proposal_id, role)
    assert await who_sees(pool, world, "close") == set()  # target has not answered
    await consent(pool, alpha, world, proposal_id, "target")
    assert await who_sees(pool, world, "close") == {"facilitator", "admin"}


async def test_a_round_past_its_deadline_waits_for_the_facilitators(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await to_object_round(pool, alpha, world, TEXT)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE rounds SET deadline = now() - interval '1 day', overdue_at = now()"
            " WHERE proposal_id = $1 AND closed_at IS NULL",
            proposal_id,
        )
    assert await who_sees(pool, world, "overdue") == {"facilitator", "admin"}
    # Past its deadline, it comes first, after the facilitator's own missing position.
    kinds = [i.kind for i in await waiting(pool, world, "facilitator")]
    assert kinds[:2] == ["answer", "overdue"] and "ask" in kinds[2:]


async def test_valid_objections_wait_for_a_version_then_for_the_objector(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    proposal_id = await objection_raised(pool, alpha, world)
    objection = await objection_id(pool, alpha, proposal_id)
    facilitator = person(world, "facilitator")
    judged = rules.JudgeObjection(objection, valid=True, reason="Fondée.")
    await act(pool, alpha, proposal_id, facilitator, judged)
    for role in ("admin", "facilitator"):
        await consent(pool, alpha, world, proposal_id, role)
    await act(pool, alpha, proposal_id, facilitator, rules.CloseRound(datetime.now(UTC)))
    assert await who_sees(pool, world, "publish") == {"member"}
    assert await who_sees(pool, world, "confirm") == set()
    version_2 = Content(title=TEXT.title, driver=TEXT.driver, body="Louer un local.")
    member = person(world, "member")
    await act(pool, alpha, proposal_id, member, rules.PublishVersion(frozenset({objection})),
              version_2)  # fmt: skip
    assert await who_sees(pool, world, "publish") == set()
    assert await who_sees(pool, world, "confirm") == {"target"}
    target = person(world, "target")
    await act(pool, alpha, proposal_id, target, rules.ConfirmIntegration(objection))
    assert await who_sees(pool, world, "confirm") == set()


async def test_a_charter_waits_for_the_members_who_have_not_signed_it(
    pool: asyncpg.Pool, world: Scenario
) -> None:
    assert await who_sees(pool, world, "sign", "Alpha") == {"unsigned"}
    assert (await only(pool, world, "unsigned", "sign")).href == "/s/alpha/charter#sign"


async def test_meetings_show_for_those_invited_and_who_runs_them_soonest_first(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    # The scenario's meeting: facilitator runs it, every acting member is invited.
    title = "Assemblée de décembre"
    assert await who_sees(pool, world, "run", title) == {"facilitator"}
    assert await who_sees(pool, world, "meeting", title) == {"member", "admin", "target"}
    sooner = datetime.now(UTC) + timedelta(days=1)
    async with db.transaction(pool) as conn:
        await meetings.create(conn, alpha.id, world.user_ids["admin"], meetings.Plan(
            "Point rapide", sooner, 30, "", "", world.user_ids["admin"], None,
            [meetings.NewItem("information", "Nouvelles")]))  # fmt: skip
    dated = [i for i in await waiting(pool, world, "target") if i.kind == "meeting"]
    assert [i.title for i in dated] == ["Point rapide", title]
    assert dated[1].href == f"/s/alpha/meetings/{world.meeting_id}"
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE meetings SET state = 'closed', opened_at = now(), closed_at = now()"
            " WHERE id = $1",
            world.meeting_id,
        )
    assert await who_sees(pool, world, "run", title) == set()


async def test_decisions_due_for_review_wait_for_the_facilitators(
    pool: asyncpg.Pool, world: Scenario
) -> None:
    number = await adopt_proposal(pool, world)
    title = "Jardin partagé"
    assert await who_sees(pool, world, "review", title) == set()  # months away
    async with pool.acquire() as conn:
        soon = date.today() + timedelta(days=10)
        await conn.execute("UPDATE decisions SET review_on = $1 WHERE number = $2", soon, number)
    assert await who_sees(pool, world, "review", title) == {"facilitator", "admin"}
    item = await only(pool, world, "admin", "review")
    assert item.href == f"/s/alpha/decisions/{number}" and item.due_on == soon


async def test_the_dashboard_shows_each_step_in_words_or_that_nothing_waits(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "outsider")
    page = await client.get("/spaces")
    assert page.status_code == 200
    assert "Rien n'est en attente de votre part dans vos espaces." in page.text
    act_as(client, world, "unsigned")
    page = (await client.get("/spaces")).text
    assert 'href="/s/alpha/charter#sign"' in page and "signez la charte" in page
    assert "Rien n'est en attente" not in page
    act_as(client, world, "target")
    page = (await client.get("/spaces")).text
    assert f'href="/s/alpha/proposals/{world.proposal_id}#now-title"' in page
    assert "questions bienvenues" in page and "une séance où vous êtes invité·e" in page


async def test_the_dashboard_needs_the_same_statements_however_many_proposals(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space, query_log: list[str]
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")

    async def count() -> tuple[int, str]:
        query_log.clear()
        response = await client.get("/spaces")
        assert response.status_code == 200
        return len(query_log), response.text

    await objection_raised(pool, alpha, world)
    few, _ = await count()
    for n in range(19):
        await objection_raised(pool, alpha, world)
        if n % 2:
            await new_proposal(pool, alpha, world, TEXT)
    many, page = await count()
    assert page.count('data-kind="judge"') == 20
    shown = "\n".join(" ".join(q.split())[:70] for q in query_log)
    assert many == few, shown
