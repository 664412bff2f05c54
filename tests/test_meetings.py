"""Meetings over HTTP: planning, running from the console, who may do what, the calendar
file and the minutes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from consentir.meetings.rules import Circle, MeetingRefused, Move, Timer, move, start_circle
from tests.scenario import MEETING_AT, Scenario
from tests.web import Client, act_as, page_revision, post_form, post_step


async def console(client: Client, world: Scenario, verb: str, **data: Any) -> Any:
    return await post_form(client, f"/s/alpha/meetings/{world.meeting_id}/{verb}", data)


async def test_a_meeting_from_plan_to_published_minutes(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    planned = await post_form(client, "/s/alpha/meetings", {
        "title": "Séance de janvier", "starts_at": "2027-01-09T10:00", "place": "Mairie",
        "proposals": [str(world.proposal_id)], "information": "Budget\nAgenda du mois",
    })  # fmt: skip
    assert planned.status_code == 303
    page = (await client.get(planned.headers["location"])).text
    assert "Séance de janvier" in page and "Budget" in page and "Jardin partagé" in page

    ics = await client.get(f"/s/alpha/meetings/{world.meeting_id}/meeting.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text and f"DTSTART:{MEETING_AT:%Y%m%dT%H%M%S}Z" in ics.text
    assert "LOCATION:Salle des fêtes" in ics.text

    ids = world.user_ids
    for role, presence in (("facilitator", "present"), ("member", "present"),
                           ("target", "remote"), ("admin", "excused")):  # fmt: skip
        assert (await console(client, world, "presence", person=ids[role],
                              presence=presence)).status_code == 303  # fmt: skip
    assert (await console(client, world, "open")).status_code == 303
    again = await console(client, world, "open")
    assert again.status_code == 409 and "déjà été ouverte" in again.text

    # Rounds opened while the meeting runs the proposal: only those present take part.
    for _ in range(2):
        step = await post_step(client, f"/s/alpha/proposals/{world.proposal_id}", "advance", {
            "back": f"/s/alpha/meetings/{world.meeting_id}/console"})  # fmt: skip
        assert step.headers["location"] == f"/s/alpha/meetings/{world.meeting_id}/console"
    screen = (await client.get(f"/s/alpha/meetings/{world.meeting_id}/console")).text
    assert "0 sur 2 a répondu" in screen  # facilitator and target; member proposes

    started = await console(client, world, "circle", person=ids["target"])
    assert started.status_code == 303
    await console(client, world, "move", move="next")
    await console(client, world, "timer", timer="speaker", do="start")
    too_long = await console(client, world, "timer", timer="speaker", do="reset", seconds=4000)
    assert too_long.status_code == 422 and "entre 5 et 3600" in too_long.text
    live = (await client.get(f"/s/alpha/meetings/{world.meeting_id}/live?view=screen")).text
    assert 'id="speaker"' in live and "data-running" in live and "<form" not in live
    # The agenda is part of what every screen fetches again: the item under way is marked.
    for view in ("participant",):
        live = (await client.get(f"/s/alpha/meetings/{world.meeting_id}/live?view={view}")).text
        agenda = re.search(r'<ol class="agenda">(.*?)</ol>', live, re.S)
        assert agenda, view
        assert re.search(r'<li aria-current="step" class="current">Jardin partagé</li>',
                         agenda.group(1)), view  # fmt: skip

    # A member may follow but not run the meeting.
    act_as(client, world, "target")
    refused = await console(client, world, "move", move="next")
    assert refused.status_code == 403
    assert (await client.get(f"/s/alpha/meetings/{world.meeting_id}/console")).status_code == 403
    assert (await client.get(f"/s/alpha/meetings/{world.meeting_id}/minutes")).status_code == 404

    act_as(client, world, "facilitator")
    assert (await console(client, world, "close", confirm="yes")).status_code == 303
    minutes = await client.get(f"/s/alpha/meetings/{world.meeting_id}/minutes")
    assert minutes.status_code == 200, minutes.text
    assert "Jardin partagé" in minutes.text
    assert "<dt>Excusés</dt><dd>Admin</dd>" in minutes.text
    assert "<dt>À distance</dt><dd>Target</dd>" in minutes.text
    markdown = await client.get(f"/s/alpha/meetings/{world.meeting_id}/minutes.md")
    assert markdown.text.startswith("# Procès-verbal — Assemblée de décembre")
    assert "- Excusés: Admin\n" in markdown.text

    # The secretary (admin) adds notes and publishes; then members read them.
    act_as(client, world, "admin")
    published = await console(client, world, "notes", notes="Merci à *tous*.", publish="on")
    assert published.status_code == 303
    act_as(client, world, "target")
    shown = (await client.get(f"/s/alpha/meetings/{world.meeting_id}/minutes")).text
    assert "<em>tous</em>" in shown and "Brouillon" not in shown
    act_as(client, world, "admin")
    locked = await console(client, world, "notes", notes="Changé")
    assert locked.status_code == 409


async def test_a_wrong_plan_gets_the_form_back(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    refused = await post_form(client, "/s/alpha/meetings", {"title": "", "starts_at": "demain"})
    assert refused.status_code == 422
    assert re.search(r'id="f-(title|starts_at)-error"', refused.text)


def test_the_speaking_circle() -> None:
    circle = start_circle([1, 2, 3, 4], 3)
    assert circle.speakers == (3, 4, 1, 2) and circle.current == 3 and circle.following == 4
    circle = move(circle, Move.PASS)
    assert circle.current == 4 and 3 in circle.passed
    circle = move(circle, Move.SKIP)  # 4 goes to the end: 1 speaks, 4 later
    assert circle.speakers == (3, 1, 2, 4) and circle.current == 1
    assert move(circle, Move.BACK).current == 3
    for _ in range(3):
        circle = move(circle, Move.NEXT)
    assert circle.current is None  # the circle is done
    with pytest.raises(MeetingRefused):
        move(circle, Move.NEXT)
    with pytest.raises(MeetingRefused):
        start_circle([1, 2], 5)
    with pytest.raises(MeetingRefused):
        move(Circle(), Move.NEXT)


def test_timers_count_down_pause_and_reset() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    timer = Timer(120).start(t0)
    assert timer.remaining(t0 + timedelta(seconds=30)) == 90
    paused = timer.pause(t0 + timedelta(seconds=30))
    assert not paused.running and paused.remaining(t0 + timedelta(hours=1)) == 90
    resumed = paused.start(t0 + timedelta(seconds=100))
    assert resumed.remaining(t0 + timedelta(seconds=110)) == 80
    assert resumed.remaining(t0 + timedelta(hours=1)) == 0
    assert resumed.reset(60) == Timer(60)


async def test_the_agenda_changes_until_its_items_are_taken_up(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    empty = await console(client, world, "add", title="  ")
    assert empty.status_code == 422
    assert re.search(r'<details[^>]*id="console-agenda-edit"[^>]*\bopen\b', empty.text)
    assert (
        'aria-describedby="add-error-title"' in empty.text and 'id="add-error-title"' in empty.text
    )
    added = await console(client, world, "add", title="Fête de quartier")
    assert added.status_code == 303
    refused = await console(client, world, "add", proposal=world.draft_id)  # a draft
    assert refused.status_code == 422
    assert (await console(client, world, "add")).status_code == 422  # neither
    assert (await console(client, world, "open")).status_code == 303  # item 1 starts
    started = await console(client, world, "remove", position=1)
    assert started.status_code == 409 and "reste au procès-verbal" in started.text
    assert (await console(client, world, "remove", position=2)).status_code == 303
    async with pool.acquire() as conn:
        items = await conn.fetch(
            "SELECT position, title FROM agenda_items WHERE meeting_id = $1 ORDER BY position",
            world.meeting_id,
        )
    assert [(r["position"], r["title"]) for r in items] == [
        (1, "Jardin partagé"), (2, "Fête de quartier")
    ]  # fmt: skip
    act_as(client, world, "target")
    assert (await console(client, world, "add", title="Intrus")).status_code == 403


async def test_a_meeting_without_agenda_opens_with_no_item_under_way(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    plan = {"title": "Point rapide", "starts_at": "2027-02-01T09:00"}
    planned = await post_form(client, "/s/alpha/meetings", plan)
    base = planned.headers["location"]
    assert (await post_form(client, f"{base}/open", {})).status_code == 303
    async with pool.acquire() as conn:
        current = await conn.fetchval(
            "SELECT current_item FROM meetings WHERE id = $1", int(base.rsplit("/", 1)[1])
        )
    assert current is None
    act_as(client, world, "target")  # a member's refused form: the participant's screen
    refused = await post_form(client, f"{base}/move", {"move": "nowhere"})
    assert refused.status_code == 422 and "Conduite de la séance" not in refused.text


async def meeting_state(pool: Any, world: Scenario) -> str:
    async with pool.acquire() as conn:
        state = await conn.fetchval("SELECT state FROM meetings WHERE id = $1", world.meeting_id)
    return str(state)


async def test_closing_a_meeting_asks_first(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    planned = await console(client, world, "close")  # not open yet: refused, not asked
    assert planned.status_code == 409 and 'class="confirm"' not in planned.text
    assert (await console(client, world, "open")).status_code == 303
    url = f"/s/alpha/meetings/{world.meeting_id}"
    page = (await client.get(f"{url}/console")).text
    # The console's button wears the danger style (on the button itself) and warns.
    button = re.search(rf'<form method="post" action="{url}/close".*?</form>', page, re.S)
    assert button and re.search(
        r'<button type="submit" id="meeting-close"\s+class="danger"\s*>Clore la séance</button>',
        button.group(0),
    )
    assert "hx-post" not in button.group(0)  # a plain post: the question shows on its page
    assert "Une confirmation vous sera demandée." in page
    revision = re.search(r'data-revision="(\d+)"', page)
    assert revision

    # The first press asks, and changes nothing.
    asked = await console(client, world, "close", revision=revision.group(1))
    assert asked.status_code == 200
    assert await meeting_state(pool, world) == "open"
    section = re.search(r'<section class="confirm" id="confirm".*?</section>', asked.text, re.S)
    assert section, asked.text
    question = section.group(0)
    assert "Êtes-vous sûr·e" in question and "ne pourra pas être rouverte" in question
    assert f'<a href="{url}/console">Non, revenir sans rien changer</a>' in question
    form = re.search(rf'<form method="post" action="{url}/close".*?</form>', question, re.S)
    assert form and '<button type="submit" class="danger" autofocus>Oui, clore la séance' in (
        form.group(0)
    )
    sent = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))
    assert sent["confirm"] == "yes" and sent["revision"] == revision.group(1)

    # Not asked when it would be refused: another person, or a page gone stale.
    act_as(client, world, "target")
    assert (await console(client, world, "close")).status_code == 403
    act_as(client, world, "facilitator")
    stale = await console(client, world, "close", revision=str(int(revision.group(1)) + 1))
    assert stale.status_code == 409 and 'class="confirm"' not in stale.text
    assert await meeting_state(pool, world) == "open"

    # The confirmation's own form closes the meeting.
    del sent["_csrf_token"]
    confirmed = await console(client, world, "close", **sent)
    assert confirmed.status_code == 303
    assert await meeting_state(pool, world) == "closed"
    again = await console(client, world, "close", revision=sent["revision"])
    assert again.status_code == 409 and 'class="confirm"' not in again.text


# --- the console: attendance at once, timers in minutes, next item, where it comes back ---


def _attendance(world: Scenario, **presences: str) -> dict[str, list[str]]:
    """The attendance form: every person named, each with a presence, in the same order."""
    return {
        "people": [str(world.user_ids[role]) for role in presences],
        "presences": list(presences.values()),
    }


async def _presences(pool: Any, world: Scenario) -> dict[int, str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT user_id, presence FROM attendance WHERE meeting_id = $1", world.meeting_id
        )
    return {r["user_id"]: r["presence"] for r in rows}


async def _events(pool: Any, world: Scenario, action: str) -> list[Any]:
    async with pool.acquire() as conn:
        return list(await conn.fetch(
            "SELECT data FROM journal WHERE subject_type = 'meeting' AND subject_id = $1"
            " AND action = $2 ORDER BY id", world.meeting_id, action,
        ))  # fmt: skip


async def test_attendance_is_recorded_at_once(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    ids = world.user_ids
    url = f"/s/alpha/meetings/{world.meeting_id}"
    act_as(client, world, "facilitator")
    page = (await client.get(f"{url}/console")).text
    # One form, one select per person (their current presence chosen), one button.
    form = re.search(rf'<form method="post" action="{url}/attendance".*?</form>', page, re.S)
    assert form, page
    assert form.group(0).count("<select") == 4 and form.group(0).count('type="submit"') == 1
    assert f'hx-post="{url}/attendance"' in form.group(0)
    revision = await page_revision(client, f"{url}/console")

    everyone = _attendance(world, facilitator="present", member="present", target="remote",
                           admin="excused")  # fmt: skip
    saved = await console(client, world, "attendance", revision=revision, **everyone)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{url}/console#console-attendance"
    presences = await _presences(pool, world)
    assert [presences[ids[r]] for r in ("facilitator", "member", "target", "admin")] == [
        "present", "present", "remote", "excused"
    ]  # fmt: skip
    # One journal event for the whole list, naming each change.
    events = await _events(pool, world, "meeting.attendance")
    assert len(events) == 1
    assert sorted((c["person"], c["presence"]) for c in events[0]["data"]["presences"]) \
        == sorted([(ids["facilitator"], "present"), (ids["member"], "present"),
                   (ids["target"], "remote"), (ids["admin"], "excused")])  # fmt: skip
    page = (await client.get(f"{url}/console")).text
    assert "présent·es\xa0: 2, à distance\xa0: 1, excusé·es\xa0: 1, absent·es\xa0: 0" in page

    # The same list again changes nothing: no event, the revision stays.
    revision = await page_revision(client, f"{url}/console")
    again = await console(client, world, "attendance", revision=revision, **everyone)
    assert again.status_code == 303
    assert len(await _events(pool, world, "meeting.attendance")) == 1
    assert await page_revision(client, f"{url}/console") == revision

    # Refused, and nothing saved: a stale screen, someone not invited, a list out of step,
    # an unknown presence, another person than a facilitator.
    changed = _attendance(world, facilitator="absent", member="absent")
    stale = await console(client, world, "attendance", revision=int(revision) + 1, **changed)
    assert stale.status_code == 409 and "a changé depuis" in stale.text
    stranger = {"people": [str(ids["member"]), str(ids["beta_owner"])],
                "presences": ["absent", "present"]}  # fmt: skip
    unknown = await console(client, world, "attendance", revision=revision, **stranger)
    assert unknown.status_code == 409 and "pas invitée" in unknown.text
    uneven = {"people": changed["people"], "presences": ["absent"]}
    short = await console(client, world, "attendance", revision=revision, **uneven)
    assert short.status_code == 422 and "une présence pour chaque personne" in short.text
    assert 'id="attendance-error"' in short.text
    # The fold holding the list opens on the mistake (seen without JavaScript too).
    assert re.search(r'<details[^>]*id="console-attendance"[^>]*\bopen\b', short.text)
    odd = {"people": changed["people"], "presences": ["absent", "asleep"]}
    assert (await console(client, world, "attendance", **odd)).status_code == 422
    act_as(client, world, "target")
    assert (await console(client, world, "attendance", **changed)).status_code == 403
    assert await _presences(pool, world) == presences
    assert len(await _events(pool, world, "meeting.attendance")) == 1

    # A closed meeting's attendance no longer changes.
    act_as(client, world, "facilitator")
    assert (await console(client, world, "open")).status_code == 303
    assert (await console(client, world, "close", confirm="yes")).status_code == 303
    closed = await console(client, world, "attendance", **changed)
    assert closed.status_code == 409 and "pas ouverte" in closed.text
    assert await _presences(pool, world) == presences


async def test_timers_are_set_in_minutes_and_seconds(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    url = f"/s/alpha/meetings/{world.meeting_id}"
    act_as(client, world, "facilitator")
    assert (await console(client, world, "open")).status_code == 303

    async def lengths() -> tuple[int, int]:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT speaker_seconds, round_seconds FROM meetings WHERE id = $1",
                world.meeting_id,
            )
        return row["speaker_seconds"], row["round_seconds"]

    page = (await client.get(f"{url}/console")).text
    for name in ("speaker", "round"):  # labelled minutes and seconds, and four presets
        assert f'<label for="minutes-{name}">minutes</label>' in page
        assert f'<label for="seconds-{name}">secondes</label>' in page
        for minutes in (1, 2, 3, 5):
            assert f'id="timer-{name}-preset-{minutes}"' in page
    set_to = await console(client, world, "timer", timer="speaker", do="reset", minutes=2,
                           seconds=30)  # fmt: skip
    assert set_to.status_code == 303
    assert set_to.headers["location"] == f"{url}/console#console-timers"
    assert (await lengths())[0] == 150
    # A preset posts its seconds (as an older form or the API may).
    assert (await console(client, world, "timer", timer="speaker", do="reset",
                          seconds=180)).status_code == 303  # fmt: skip
    assert (await console(client, world, "timer", timer="round", do="reset", minutes=90,
                          seconds="")).status_code == 303  # fmt: skip
    assert await lengths() == (180, 5400)

    # Out of bounds: refused next to the fields, with the length asked for kept.
    too_long = await console(client, world, "timer", timer="speaker", do="reset", minutes=61,
                             seconds=0)  # fmt: skip
    assert too_long.status_code == 422
    assert "Indiquez une durée entre 5\xa0secondes et 60\xa0minutes." in too_long.text
    assert re.search(r'<p class="error" id="timer-speaker-error">', too_long.text)
    assert re.search(r'id="minutes-speaker"[^>]*value="61"[^>]*\s+aria-invalid="true"\s+'
                     r'aria-describedby="timer-speaker-error"', too_long.text)  # fmt: skip
    assert 'id="timer-round-error"' not in too_long.text
    too_short = await console(client, world, "timer", timer="round", do="reset", minutes=0,
                              seconds=3)  # fmt: skip
    assert too_short.status_code == 422 and 'id="timer-round-error"' in too_short.text
    negative = await console(client, world, "timer", timer="round", do="reset", minutes=-1)
    assert negative.status_code == 422
    assert await lengths() == (180, 5400)


async def test_next_item_and_where_the_console_comes_back(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    url = f"/s/alpha/meetings/{world.meeting_id}"
    act_as(client, world, "facilitator")
    everyone = _attendance(world, facilitator="present", member="present", target="present")
    assert (await console(client, world, "attendance", **everyone)).status_code == 303
    assert (await console(client, world, "open")).status_code == 303
    page = (await client.get(f"{url}/console")).text
    # The frequent buttons carry their keys, shown beside them and in the legend.
    for key, label in (("n", "Personne suivante"), ("p", "Démarrer"), ("i", "Point suivant")):
        if key == "n":
            assert 'data-shortcut="n"' not in page  # no speaking round yet
            continue
        assert re.search(rf'data-shortcut="{key}" aria-keyshortcuts="{key}">{label}', page), key
        assert f'<kbd class="shortcut" aria-hidden="true">{key.upper()}</kbd>' in page
    assert '<p class="shortcuts" id="console-shortcuts">' in page
    started = await console(client, world, "circle", person=world.user_ids["target"])
    assert started.headers["location"] == f"{url}/console#console-speaking"
    page = (await client.get(f"{url}/console")).text
    assert re.search(r'data-shortcut="n" aria-keyshortcuts="n">Personne suivante', page)
    moved = await console(client, world, "move", move="next")
    assert moved.headers["location"] == f"{url}/console#console-speaking"

    # "Next item": the one after the item under way; the last item has none.
    revision = await page_revision(client, f"{url}/console")
    following = re.search(
        r'<input type="hidden" name="position" value="(\d+)">\s*<button type="submit" '
        r'id="next-item"', page)  # fmt: skip
    assert following and following.group(1) == "2"
    nexted = await console(client, world, "item", position=2, revision=revision)
    assert nexted.status_code == 303
    assert nexted.headers["location"] == f"{url}/console#console-agenda"
    async with pool.acquire() as conn:
        current = await conn.fetchval(
            "SELECT current_item FROM meetings WHERE id = $1", world.meeting_id
        )
    assert current == 2
    page = (await client.get(f"{url}/console")).text
    assert 'id="next-item"' not in page and "est le dernier point de l" in page
    # Pressed twice (a double key press): the second is refused as stale, nothing moves.
    twice = await console(client, world, "item", position=2, revision=revision)
    assert twice.status_code == 409
