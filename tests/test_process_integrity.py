"""The consent process cannot be bent, through any surface (issue 9, items 1 to 3):

- a position on someone's behalf needs an open meeting where they are present, and never
  lifts their objection; each confirmation is its author's own act, and is on record;
- a step that moves the process carries the revision it was decided on: a second click, a
  second open page or a concurrent request is refused with `stale_state`;
- meeting roles follow the space's standing (a named facilitator or secretary who has not
  signed the current charter cannot run the meeting); a deadline reached during a meeting
  keeps to those present; planning checks people and proposals beyond any first page.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from consentir import db
from consentir.consent import rules
from consentir.consent.deadlines import run_due
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.meetings import store as meetings
from consentir.meetings.rules import Presence, State
from consentir.spaces.store import Space
from tests.process import act, open_meeting, person, to_object_round
from tests.scenario import Scenario
from tests.web import Client, act_as, post_form, post_step

TEXT = Content(title="Horaires", driver="Trop tôt.", body="Ouvrir à 10 h.")


def bearer(world: Scenario, role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {world.api_tokens[role]}"}


def api(proposal_id: int) -> str:
    return f"/api/v1/spaces/alpha/proposals/{proposal_id}"


async def objection_row(pool: asyncpg.Pool, proposal_id: int) -> asyncpg.Record:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT id, status, proposer_confirmed_at, objector_confirmed_at FROM objections"
            " WHERE proposal_id = $1 ORDER BY id DESC LIMIT 1",
            proposal_id,
        )
    assert row is not None
    return row


# --- positions on someone's behalf ---------------------------------------------------------


async def test_a_facilitator_cannot_make_an_objection_disappear(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """The reproduction of the issue: `position` with `person` = the objector and `stance`
    consent. Without a meeting it is refused; in a meeting where she is present, it is
    refused too (it would lift her objection); her own consent does lift it."""
    client, world = client_world
    pid = await to_object_round(pool, alpha, world, TEXT)
    target = person(world, "target")
    await act(pool, alpha, pid, target,
              rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Trop tard."))  # fmt: skip
    on_behalf = {"person": target.user_id, "stance": "consent", "version": 1}

    refused = await client.post(f"{api(pid)}/steps/position", json=on_behalf,
                                headers=bearer(world, "facilitator"))  # fmt: skip
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "on_behalf_not_present"

    await open_meeting(pool, alpha, world, ("target", "admin"))
    for stance in ("consent", "concern"):
        refused = await client.post(f"{api(pid)}/steps/position",
                                    json={**on_behalf, "stance": stance, "reason": "ok"},
                                    headers=bearer(world, "facilitator"))  # fmt: skip
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "on_behalf_cannot_lift_objection"
    assert (await objection_row(pool, pid))["status"] == "raised"

    # For someone present with no objection, the facilitator records it, marked as such.
    admin = world.user_ids["admin"]
    recorded = await client.post(f"{api(pid)}/steps/position",
                                 json={"person": admin, "stance": "consent", "version": 1},
                                 headers=bearer(world, "facilitator"))  # fmt: skip
    assert recorded.status_code == 200, recorded.text
    # (Positions are hidden while the round is open: the admin sees her own.)
    seen = (await client.get(api(pid), headers=bearer(world, "admin"))).json()
    [mine] = [p for p in seen["round"]["positions"] if p["user_id"] == admin]
    assert mine["on_behalf"] is True and mine["recorded_by"] == "Facilitator"
    act_as(client, world, "admin")  # her page says who recorded her position
    page = (await client.get(f"/s/alpha/proposals/{pid}")).text
    assert '<span data-mark="on-behalf">enregistrée par Facilitator en son nom</span>' in page

    # Only her own step lifts it.
    act_as(client, world, "target")
    own = await post_step(client, f"/s/alpha/proposals/{pid}", "position",
                          {"stance": "consent", "version": "1"})  # fmt: skip
    assert own.status_code == 303, own.text
    assert (await objection_row(pool, pid))["status"] == "withdrawn"


async def test_confirmations_are_their_authors_own_acts(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """A version published during the object round restarts it; the objector's consent to
    it integrates her objection: her confirmation is on record, the proposer's is not (she
    did not act). Through the integrate stage, both confirm, each by their own step."""
    client, world = client_world
    pid = await to_object_round(pool, alpha, world, TEXT)
    target, proposer = person(world, "target"), person(world, "member")
    await act(pool, alpha, pid, target,
              rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Trop tard."))  # fmt: skip
    await act(pool, alpha, pid, proposer, rules.PublishVersion(),
              Content(driver="Trop tôt.", body="Ouvrir à 9 h 30."))  # fmt: skip
    await act(pool, alpha, pid, target, rules.GivePosition(target.user_id, Stance.CONSENT, 2))
    row = await objection_row(pool, pid)
    assert row["status"] == "integrated"
    assert row["objector_confirmed_at"] is not None and row["proposer_confirmed_at"] is None

    second = await to_object_round(pool, alpha, world, TEXT)
    facilitator = person(world, "facilitator")
    await act(pool, alpha, second, target,
              rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Trop tard."))  # fmt: skip
    objection = (await objection_row(pool, second))["id"]
    await act(pool, alpha, second, facilitator, rules.JudgeObjection(objection, True, "Oui."))
    for role in ("admin", "facilitator"):
        who = person(world, role)
        await act(pool, alpha, second, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1))
    await act(pool, alpha, second, facilitator, rules.CloseRound(datetime.now(UTC)))
    await act(pool, alpha, second, proposer, rules.PublishVersion(frozenset({objection})),
              Content(driver="Trop tôt.", body="Ouvrir à 9 h 30."))  # fmt: skip
    row = await objection_row(pool, second)
    assert row["proposer_confirmed_at"] is not None and row["objector_confirmed_at"] is None
    shown = (await client.get(api(second), headers=bearer(world, "admin"))).json()
    [objection_out] = shown["objections"]
    assert objection_out["proposer_confirmed_at"] and objection_out["objector_confirmed_at"] is None
    await act(pool, alpha, second, target, rules.ConfirmIntegration(objection))
    row = await objection_row(pool, second)
    assert row["status"] == "integrated" and row["objector_confirmed_at"] is not None


# --- the state a step was decided on ----------------------------------------------------------


async def test_a_double_advance_moves_one_stage(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """Two `advance` sent on the same state, at once through the API: one moves the clarify
    round on, the other is refused as stale; the react round stays open."""
    client, world = client_world
    async with db.transaction(pool) as conn:
        from consentir.consent import store

        pid = await store.create(conn, alpha, person(world, "member"), TEXT)
    # A step without fields may come with no body at all.
    submitted = await client.post(f"{api(pid)}/steps/submit", headers=bearer(world, "member"))
    assert submitted.status_code == 200, submitted.text
    shown = await client.get(api(pid), headers=bearer(world, "facilitator"))
    revision = shown.json()["revision"]

    async def advance(role: str) -> Any:
        return await client.post(f"{api(pid)}/steps/advance", json={"revision": revision},
                                 headers=bearer(world, role))  # fmt: skip

    answers = await asyncio.gather(advance("facilitator"), advance("admin"))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    [stale] = [a for a in answers if a.status_code == 409]
    assert stale.json()["code"] == "stale_state"
    now = (await client.get(api(pid), headers=bearer(world, "admin"))).json()
    assert now["stage"] == "react"

    # Without the revision, a step that moves the process is refused, naming the field.
    for body in ({"json": {}}, {}):
        missing = await client.post(f"{api(pid)}/steps/advance", **body,
                                    headers=bearer(world, "facilitator"))  # fmt: skip
        assert missing.status_code == 422
        assert "revision" in str(missing.json()["errors"])


async def test_a_second_page_sees_what_changed(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """Two facilitators' pages opened on the clarify round; the first advances; the second's
    click comes back with the page as it is now (the react round) and a notice."""
    client, world = client_world
    async with db.transaction(pool) as conn:
        from consentir.consent import store

        pid = await store.create(conn, alpha, person(world, "member"), TEXT)
    await act(pool, alpha, pid, person(world, "member"), rules.Submit(frozenset()))
    url = f"/s/alpha/proposals/{pid}"
    act_as(client, world, "facilitator")
    page = (await client.get(url)).text
    revision = page.split('data-revision="', 1)[1].split('"', 1)[0]
    act_as(client, world, "admin")
    assert (await post_form(client, f"{url}/advance", {"revision": revision})).status_code == 303
    act_as(client, world, "facilitator")
    again = await post_form(client, f"{url}/advance", {"revision": revision})
    assert again.status_code == 409
    assert 'class="banner"' in again.text and "a changé depuis l" in again.text
    assert 'aria-current="step">Réactions' in again.text or "Réactions" in again.text
    async with pool.acquire() as conn:
        stage = await conn.fetchval("SELECT stage FROM proposals WHERE id = $1", pid)
    assert stage == "react"


# --- meetings --------------------------------------------------------------------------------


async def test_meeting_roles_follow_the_charter(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """`unsigned` (a member who has not signed the current charter) named facilitator and
    secretary of a meeting can neither open it nor write its minutes; once she signs, she
    can."""
    client, world = client_world
    act_as(client, world, "facilitator")
    unsigned = world.user_ids["unsigned"]
    planned = await post_form(client, "/s/alpha/meetings", {
        "title": "Séance", "starts_at": "2027-01-09T10:00", "facilitator": str(unsigned),
        "secretary": str(unsigned)})  # fmt: skip
    # Planning refuses her: she may not act in the space.
    assert planned.status_code == 422, planned.text
    async with db.transaction(pool) as conn:
        plan = meetings.Plan("Séance", datetime.now(UTC), 60, "", "", unsigned, unsigned,
                             [meetings.NewItem("information", "Nouvelles")])  # fmt: skip
        meeting_id = await meetings.create(conn, alpha.id, world.user_ids["admin"], plan)
    act_as(client, world, "unsigned")
    opened = await post_form(client, f"/s/alpha/meetings/{meeting_id}/open")
    assert opened.status_code == 403, opened.text
    assert (await client.get(f"/s/alpha/meetings/{meeting_id}/console")).status_code == 403
    act_as(client, world, "facilitator")
    assert (await post_form(client, f"/s/alpha/meetings/{meeting_id}/open")).status_code == 303
    closed = await post_form(client, f"/s/alpha/meetings/{meeting_id}/close", {"confirm": "yes"})
    assert closed.status_code == 303
    act_as(client, world, "unsigned")
    notes = await post_form(client, f"/s/alpha/meetings/{meeting_id}/notes", {"notes": "x"})
    assert notes.status_code == 403, notes.text
    # Unpublished minutes are not hers to read: as if they did not exist.
    assert (await client.get(f"/s/alpha/meetings/{meeting_id}/minutes")).status_code == 404


async def test_a_deadline_during_a_meeting_keeps_to_those_present(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    """The clarify round of the proposal under way reaches its deadline during the meeting:
    the react round the deadline task opens lists only those recorded present."""
    async with db.transaction(pool) as conn:
        from consentir.consent import store

        pid = await store.create(conn, alpha, person(world, "member"), TEXT)
    await act(pool, alpha, pid, person(world, "member"), rules.Submit(frozenset()))
    facilitator = world.user_ids["facilitator"]
    async with db.transaction(pool) as conn:
        plan = meetings.Plan("Séance", datetime.now(UTC), 60, "", "", facilitator, None,
                             [meetings.NewItem("proposal", "Horaires", pid)])  # fmt: skip
        meeting_id = await meetings.create(conn, alpha.id, facilitator, plan)
        meeting = await meetings.load(conn, alpha.id, meeting_id)
        await meetings.set_state(conn, meeting, State.OPEN, datetime.now(UTC))
        for role in ("facilitator", "target"):
            await meetings.set_presence(conn, meeting, world.user_ids[role], Presence.PRESENT)
    now = datetime.now(UTC)
    await act(pool, alpha, pid, person(world, "facilitator"),
              rules.SetDeadline(now + timedelta(minutes=5), now))  # fmt: skip
    assert await run_due(pool, now + timedelta(minutes=10)) == 1
    async with pool.acquire() as conn:
        listed = await conn.fetchval(
            "SELECT array_agg(rp.user_id ORDER BY rp.user_id) FROM rounds r"
            " JOIN round_participants rp ON rp.round_id = r.id"
            " WHERE r.proposal_id = $1 AND r.closed_at IS NULL AND r.kind = 'react'",
            pid,
        )
    assert listed == sorted([facilitator, world.user_ids["target"]])


async def test_planning_checks_people_and_proposals_beyond_the_first_page(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """With 120 members and 60 proposals under way, the 110th member (by name) may be the
    secretary and the 55th proposal may go on the agenda; a member of the parent space,
    included in a child space, may facilitate the child's meeting."""
    client, world = client_world
    async with db.transaction(pool) as conn:
        users = await conn.fetch(
            "INSERT INTO users (email, name, password_hash)"
            " SELECT 'm' || n || '@example.org', 'Zz ' || lpad(n::text, 3, '0'), 'x'"
            " FROM generate_series(1, 120) AS n RETURNING id",
        )
        await conn.executemany(
            "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, 'member')",
            [(alpha.id, u["id"]) for u in users],
        )
        charter = await conn.fetchval(
            "SELECT id FROM charters WHERE space_id = $1 ORDER BY version DESC LIMIT 1", alpha.id
        )
        if charter is not None:
            await conn.executemany(
                "INSERT INTO charter_signatures (charter_id, user_id, signed_name, place,"
                " signed_on) VALUES ($1, $2, 'Zz', 'Lyon', current_date)",
                [(charter, u["id"]) for u in users],
            )
    proposals = []
    for n in range(60):
        pid = await to_object_round(pool, alpha, world, Content(
            title=f"Proposition {n:02}", driver="Pourquoi", body="Quoi"))  # fmt: skip
        proposals.append(pid)
    act_as(client, world, "facilitator")
    late_member = users[109]["id"]
    planned = await post_form(client, "/s/alpha/meetings", {
        "title": "Grande séance", "starts_at": "2027-01-09T10:00",
        "secretary": str(late_member), "proposals": [str(proposals[0])]})  # fmt: skip
    assert planned.status_code == 303, planned.text[:3000]
    # A child space that includes alpha's members: its meeting may be run by one of them.
    async with db.transaction(pool) as conn:
        from consentir.spaces import store as spaces

        await spaces.create_space(
            conn, actor_id=world.user_ids["facilitator"], name="Quartier", slug="quartier",
            kind="collective", description="", decision_prefix="QU", parent_id=alpha.id,
            parent_members_included=True,
        )  # fmt: skip
    planned = await post_form(client, "/s/quartier/meetings", {
        "title": "Séance du quartier", "starts_at": "2027-01-09T10:00",
        "facilitator": str(late_member)})  # fmt: skip
    assert planned.status_code == 303, planned.text[:3000]


async def test_the_minutes_mark_positions_recorded_on_behalf(
    client_world: tuple[Client, Scenario],
) -> None:
    """The meeting runs the proposal; the facilitator records the admin's consent (she is
    present); the minutes, page and Markdown, say so and who recorded it."""
    client, world = client_world
    meeting = f"/s/alpha/meetings/{world.meeting_id}"
    proposal = f"/s/alpha/proposals/{world.proposal_id}"
    act_as(client, world, "facilitator")
    for role in ("facilitator", "admin", "target"):
        presence = {"person": world.user_ids[role], "presence": "present"}
        recorded = await post_form(client, f"{meeting}/presence", presence)
        assert recorded.status_code == 303
    assert (await post_form(client, f"{meeting}/open")).status_code == 303
    for _ in range(2):
        assert (await post_step(client, proposal, "advance")).status_code == 303
    on_behalf = await post_step(client, proposal, "position", {
        "person": world.user_ids["admin"], "stance": "consent", "version": "1"})  # fmt: skip
    assert on_behalf.status_code == 303, on_behalf.text[:2000]
    assert (await post_form(client, f"{meeting}/close", {"confirm": "yes"})).status_code == 303
    page = (await client.get(f"{meeting}/minutes")).text
    assert 'data-mark="on-behalf"' in page
    assert "Admin : consentement, enregistré par Facilitator en son nom" in page
    markdown = (await client.get(f"{meeting}/minutes.md")).text
    assert "- Admin : consentement, enregistré par Facilitator en son nom" in markdown


async def test_a_double_click_on_next_speaker_moves_one_turn(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    """The console's forms carry the meeting's revision: "next speaker" sent twice from the
    same screen moves the circle one turn, and the second click gets the console back with
    a notice."""
    client, world = client_world
    meeting = f"/s/alpha/meetings/{world.meeting_id}"
    act_as(client, world, "facilitator")
    for role in ("facilitator", "admin", "target"):
        presence = {"person": world.user_ids[role], "presence": "present"}
        assert (await post_form(client, f"{meeting}/presence", presence)).status_code == 303
    assert (await post_form(client, f"{meeting}/open")).status_code == 303
    started = await post_form(client, f"{meeting}/circle", {"person": world.user_ids["admin"]})
    assert started.status_code == 303
    console = (await client.get(f"{meeting}/console")).text
    form = re.search(rf'action="{meeting}/move".*?name="revision" value="(\d+)"', console, re.S)
    assert form is not None
    revision = form.group(1)
    first = await post_form(client, f"{meeting}/move", {"move": "next", "revision": revision})
    assert first.status_code == 303
    second = await post_form(client, f"{meeting}/move", {"move": "next", "revision": revision})
    assert second.status_code == 409
    assert "La séance a changé depuis l" in second.text
    async with pool.acquire() as conn:
        index = await conn.fetchval(
            "SELECT speaker_index FROM meetings WHERE id = $1", world.meeting_id
        )
    assert index == 1


async def test_the_console_adds_a_proposal_once(
    client_world: tuple[Client, Scenario],
) -> None:
    """The scenario's proposal is on the meeting's agenda already: adding it again from the
    console is refused; the form's list leaves it out."""
    client, world = client_world
    meeting = f"/s/alpha/meetings/{world.meeting_id}"
    act_as(client, world, "facilitator")
    again = await post_form(client, f"{meeting}/add", {"proposal": str(world.proposal_id)})
    assert again.status_code == 422, again.text[:1000]
    assert "déjà à l&#39;ordre du jour" in again.text or "déjà à l'ordre du jour" in again.text
    console = (await client.get(f"{meeting}/console")).text
    assert f'<option value="{world.proposal_id}"' not in console


def test_the_api_asks_a_revision_exactly_for_the_steps_that_move_the_process() -> None:
    """The API bodies that require `revision` are those whose rules action is a moving one
    (one list, `rules.MOVING_ACTIONS`, decides; the API document follows it)."""
    from consentir.accounts.store import User
    from consentir.consent.routes import MOVING_VERBS, VERBS, ActionIn, build

    me = User(1, "a@example.org", "A", "fr", is_instance_admin=False, email_confirmed=True)
    form = ActionIn(text="t", driver="d", body="b", stance="consent", version=1, reason="r",
                    question_id=1, objection_id=1, verdict="valid", revision=1,
                    nominee=1)  # fmt: skip
    moving = {v for v in VERBS if isinstance(build(v, form, me, datetime.now(UTC))[0],
                                             rules.MOVING_ACTIONS)}  # fmt: skip
    assert moving == MOVING_VERBS == {"advance", "close-round", "open-object-round", "close",
                                      "withdraw", "judge", "publish", "reveal",
                                      "open-change-round", "propose-holder"}  # fmt: skip
