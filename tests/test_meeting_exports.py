"""A meeting's exports carry user text safely: the calendar file (RFC 5545) and the minutes in
Markdown. Titles, places, names, reasons and notes with line breaks or markup must never add
a calendar property or a line of structure to the official record."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import asyncpg
import msgspec
import pytest
from markdown_it import MarkdownIt

from consentir import db
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.store import Content
from consentir.meetings.minutes import Minutes
from consentir.meetings.store import Meeting
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from consentir.web import i18n
from tests import test_elections as elections_test
from tests.process import act, person, to_object_round
from tests.scenario import Scenario, adopt_proposal
from tests.web import Client, act_as, post_form

# A line break of every kind, the characters TEXT escapes, and multi-byte UTF-8 (2, 3, 4 octets).
TITLE = (
    "Séance\rBEGIN:VALARM\nACTION:DISPLAY\r\nEND:VALARM; a, b \\ c "
    + "é" * 30 + "漢字" * 5 + "🎉" * 10
)  # fmt: skip
# What a forged record looks like: a heading, a decision line, a list, a quote, a fence, a table.
FORGED = (
    "raison\n# Décision CA-2026-999 adoptée\nDécision CA-2026-999 adoptée\n- item\n> quote\n"
    "```\ncode\n```\n| a | b |\n|---|---|\n---\n1. un\n<div>html</div>\n    indented\n=== "
)
NAME = FORGED[:100]  # names hold 100 characters


def meeting_url(world: Scenario, suffix: str) -> str:
    return f"/s/alpha/meetings/{world.meeting_id}/{suffix}"


# --- the calendar file ----------------------------------------------------------------------


def physical_lines(body: bytes) -> list[bytes]:
    """The file's lines: each must end with CRLF and hold no other line break."""
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    for line in lines:
        assert b"\r" not in line and b"\n" not in line, line
        assert len(line) <= 75, (len(line), line)
        line.decode()  # a fold never splits a multi-byte character
    return lines


def unfolded(body: bytes) -> list[str]:
    """Content lines, folds undone (RFC 5545 §3.1: CRLF followed by one space or tab)."""
    logical: list[bytes] = []
    for line in physical_lines(body):
        if line[:1] in (b" ", b"\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [line.decode() for line in logical]


def ics_escaped(value: str) -> str:
    """The TEXT escaping of RFC 5545 §3.3.11, written independently of the code under test."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return re.sub(r"\r\n|\r|\n", r"\\n", value)


def properties(body: bytes) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unfolded(body):
        name, _, value = line.partition(":")
        found.setdefault(name, []).append(value)
    return found


async def test_ics_escapes_and_folds_every_text(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    async with pool.acquire() as conn:  # as an older form let it be stored
        await conn.execute("UPDATE meetings SET title = $1, place = $1, video_url = $2 "
                           "WHERE id = $3", TITLE, "https://visio.example/a b\r\nBEGIN:VALARM",
                           world.meeting_id)  # fmt: skip
        await conn.execute("UPDATE agenda_items SET title = $1 WHERE meeting_id = $2 "
                           "AND position = 2", TITLE, world.meeting_id)  # fmt: skip
    act_as(client, world, "member")
    response = await client.get(meeting_url(world, "meeting.ics"))
    assert response.status_code == 200
    found = properties(response.content)
    assert found["BEGIN"] == ["VCALENDAR", "VEVENT"] and found["END"] == ["VEVENT", "VCALENDAR"]
    assert set(found) <= {
        "BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "UID", "DTSTAMP", "DTSTART",
        "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION", "URL", "STATUS",
    }  # fmt: skip
    assert all(len(values) == 1 for name, values in found.items() if name not in ("BEGIN", "END"))
    assert found["SUMMARY"] == [ics_escaped(f"Alpha — {TITLE}")]
    assert found["LOCATION"] == [ics_escaped(TITLE)]
    assert found["DESCRIPTION"] == [ics_escaped(f"1. Jardin partagé\n2. {TITLE}")]
    assert found["URL"] == ["https://visio.example/a%20b%0D%0ABEGIN:VALARM"]
    # The long lines really were folded, and between characters.
    assert any(line.startswith(b" ") for line in physical_lines(response.content))


async def test_ics_status_follows_the_meeting(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    planned = properties((await client.get(meeting_url(world, "meeting.ics"))).content)
    assert planned["STATUS"] == ["CONFIRMED"]
    assert (await post_form(client, meeting_url(world, "open"))).status_code == 303
    opened = properties((await client.get(meeting_url(world, "meeting.ics"))).content)
    assert opened["STATUS"] == ["CONFIRMED"]
    confirmed = await post_form(client, meeting_url(world, "close"), {"confirm": "yes"})
    assert confirmed.status_code == 303
    closed = properties((await client.get(meeting_url(world, "meeting.ics"))).content)
    assert "CONFIRMED" not in closed.get("STATUS", [])
    # VEVENT knows only TENTATIVE, CONFIRMED and CANCELLED: a meeting that took place is none
    # of the last two, and it is no longer tentative.
    assert closed.get("STATUS", []) == []


async def test_exports_say_their_content_type_once(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    ics = await client.get(meeting_url(world, "meeting.ics"))
    assert ics.headers.get_list("content-type") == ["text/calendar; charset=utf-8"]
    markdown = await client.get(meeting_url(world, "minutes.md"))
    assert markdown.status_code == 200
    assert markdown.headers.get_list("content-type") == ["text/markdown; charset=utf-8"]


@pytest.mark.parametrize(
    ("stored", "start", "end"),
    [
        ("9999-12-31 23:00:00+00", "99991231T230000Z", "99991231T235959Z"),
        ("infinity", "99991231T215959Z", "99991231T235959Z"),
        ("-infinity", "00010101T000000Z", "00010101T020000Z"),
        ("0001-01-01 00:00:00+00", "00010101T000000Z", "00010101T020000Z"),
    ],
)
async def test_ics_survives_any_stored_date(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, stored: str, start: str, end: str
) -> None:
    client, world = client_world
    async with pool.acquire() as conn:  # rows stored before dates were bounded on input
        await conn.execute("UPDATE meetings SET starts_at = $1::text::timestamptz WHERE id = $2",
                           stored, world.meeting_id)  # fmt: skip
    act_as(client, world, "member")
    response = await client.get(meeting_url(world, "meeting.ics"))
    assert response.status_code == 200, response.text
    found = properties(response.content)
    assert found["DTSTART"] == [start] and found["DTEND"] == [end]


# --- the minutes in Markdown ----------------------------------------------------------------

STRUCTURE = re.compile(r"^\s*([#>*+=|`~<_-]|\d+[.)])")
OURS = re.compile(
    r"^(# Procès-verbal — |## \d+\. |## Notes du secrétariat$|- [\w ]+: |- Objection )"
)
FORGED_PARTS = ("Décision CA-2026-999", "item", "quote", "code", "| a", "1. un", "div", "===")


def check_no_forged_structure(markdown: str, *, items: int, objections: int, notes: bool) -> None:
    """Parsed as CommonMark (with tables), the document's structure is the writer's own: its
    headings and list items only, no table, fence, HTML or rule. Read line by line, a line that
    holds user text is one of the writer's, or quoted text that opens nothing."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    kinds = {t.type for t in tokens}
    assert not kinds & {"fence", "code_block", "html_block", "table_open", "hr"}, kinds
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert len(headings) == 1 + items + notes, headings
    assert not any(h.startswith("Décision") for h in headings), headings
    facts = 9 + ("\n- Présence non relevée: " in markdown)  # invitees not yet recorded
    assert sum(t.type == "list_item_open" for t in tokens) == facts + objections
    assert "html_inline" not in {c.type for t in tokens for c in t.children or []}
    for line in markdown.splitlines():
        if not any(part in line for part in FORGED_PARTS) or OURS.match(line):
            continue
        body = re.sub(r"^ {0,3}> ?", "", line)  # the writer's quote, around multi-line text
        assert body != line, f"user text starts a line of its own: {line!r}"
        assert not STRUCTURE.match(body), line


async def raise_objection(pool: asyncpg.Pool, world: Scenario, reason: str) -> None:
    """The scenario's proposal taken to its objection round, where `target` objects; the space
    shows positions during the round, so the minutes name the objection not judged yet."""
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE spaces SET hide_positions = false WHERE slug = 'alpha'")
        view = await spaces.space_view(conn, "alpha", None, instance_admin=False)
        assert view is not None
        facilitator = rules.Actor(world.user_ids["facilitator"], True, True)
        for _ in range(2):
            await proposals.act(conn, view.space, world.proposal_id, facilitator,
                                rules.Advance(frozenset()))  # fmt: skip
        target = rules.Actor(world.user_ids["target"], True, False)
        objection = rules.GivePosition(world.target_id, rules.Stance.OBJECTION, 1, reason)
        await proposals.act(conn, view.space, world.proposal_id, target, objection)


async def test_minutes_markdown_escapes_user_text(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    await raise_objection(pool, world, FORGED)
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE meetings SET title = $1, place = $1, minutes_notes = $1 WHERE id = $2",
            FORGED, world.meeting_id,
        )  # fmt: skip
        await conn.execute("UPDATE agenda_items SET title = $1 WHERE meeting_id = $2",
                           FORGED, world.meeting_id)  # fmt: skip
        await conn.execute("UPDATE users SET name = $1 WHERE id = $2", NAME, world.target_id)
        await conn.execute("UPDATE spaces SET name = $1 WHERE slug = 'alpha'", NAME)
        await conn.execute("INSERT INTO attendance (meeting_id, user_id, presence) "
                           "VALUES ($1, $2, 'present') ON CONFLICT (meeting_id, user_id) "
                           "DO UPDATE SET presence = 'present'",
                           world.meeting_id, world.target_id)  # fmt: skip
    act_as(client, world, "facilitator")
    response = await client.get(meeting_url(world, "minutes.md"))
    assert response.status_code == 200, response.text
    markdown = response.text
    assert markdown.count("Décision CA-2026-999 adoptée") >= 10  # the text is all there
    check_no_forged_structure(markdown, items=2, objections=1, notes=True)
    # One-line fields stay on their line: the heading holds the whole title.
    first = markdown.splitlines()[0]
    assert first.startswith("# Procès-verbal — raison") and "item" in first and "html" in first


async def test_minutes_markdown_escapes_an_adopted_text(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    async with pool.acquire() as conn:  # a published text never changes: past the trigger
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE proposal_versions SET body = $1 WHERE proposal_id = $2",
                           FORGED, world.proposal_id)  # fmt: skip
        await conn.execute("RESET session_replication_role")
    number = await adopt_proposal(pool, world)
    act_as(client, world, "facilitator")
    markdown = (await client.get(meeting_url(world, "minutes.md"))).text
    assert f"**Adoptée : décision {number}**" in markdown
    assert "html" in markdown and "indented" in markdown
    check_no_forged_structure(markdown, items=2, objections=0, notes=False)


@pytest.mark.parametrize(
    ("lang", "labels", "foreign"),
    [
        ("fr", ["- Espace: Alpha", "- Lieu: Salle des fêtes", "- Excusés: —", "Objection"],
         ["Space:", "Place:", "Remote:"]),
        ("en", ["- Space: Alpha", "- Place: Salle des fêtes", "- Excused: —", "Objection"],
         ["Espace", "Lieu", "Excusés"]),
    ],
)  # fmt: skip
async def test_minutes_markdown_labels_are_translated(
    client_world: tuple[Client, Scenario],
    pool: asyncpg.Pool,
    lang: str,
    labels: list[str],
    foreign: list[str],
) -> None:
    client, world = client_world
    await raise_objection(pool, world, "Trop cher.")
    async with pool.acquire() as conn:  # a signed-in reader gets their own language
        await conn.execute("UPDATE users SET locale = $1 WHERE id = $2",
                           lang, world.user_ids["facilitator"])  # fmt: skip
    act_as(client, world, "facilitator")
    markdown = (await client.get(meeting_url(world, "minutes.md"))).text
    for label in labels:
        assert label in markdown, (label, markdown)
    for word in foreign:
        assert word not in markdown, (word, markdown)


# --- the minutes as a procès-verbal ---------------------------------------------------------

HOURS = Content(title="Horaires", driver="Trop tôt.", body="Ouvrir à 10 h.")
PLANNED = "2027-01-09 17:00:00+00"  # 18:00 in Paris, the instance's zone


def page_text(html: str) -> str:
    """What the page says, tags dropped and spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def integrated_then_adopted(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> str:
    """A proposal of member's: target objects to version 1 (judged valid), version 2 answers
    the objection, target confirms it is integrated, everyone consents to version 2: adopted.
    Its decision's number."""
    pid = await to_object_round(pool, alpha, world, HOURS)
    target, facilitator = person(world, "target"), person(world, "facilitator")
    objects = rules.GivePosition(target.user_id, rules.Stance.OBJECTION, 1, "Trop tard.")
    await act(pool, alpha, pid, target, objects)
    objection = await pool.fetchval("SELECT id FROM objections WHERE proposal_id = $1", pid)
    await act(pool, alpha, pid, facilitator, rules.JudgeObjection(objection, True, "Fondée."))
    for role in ("admin", "facilitator"):
        who = person(world, role)
        await act(pool, alpha, pid, who, rules.GivePosition(who.user_id, rules.Stance.CONSENT, 1))
    await act(pool, alpha, pid, facilitator, rules.CloseRound(datetime.now(UTC)))
    await act(pool, alpha, pid, person(world, "member"),
              rules.PublishVersion(frozenset({objection})),
              Content(driver="Trop tôt.", body="Ouvrir à 9 h 30."))  # fmt: skip
    await act(pool, alpha, pid, target, rules.ConfirmIntegration(objection))
    await act(pool, alpha, pid, facilitator, rules.OpenObjectRound(frozenset()))
    round_id = await pool.fetchval(
        "SELECT id FROM rounds WHERE proposal_id = $1 AND closed_at IS NULL", pid)  # fmt: skip
    for user_id in await pool.fetch(
        "SELECT user_id FROM round_participants WHERE round_id = $1", round_id
    ):
        role = next(r for r, i in world.user_ids.items() if i == user_id["user_id"])
        who = person(world, role)
        await act(pool, alpha, pid, who, rules.GivePosition(who.user_id, rules.Stance.CONSENT, 2))
    await act(pool, alpha, pid, facilitator, rules.CloseRound(datetime.now(UTC)))
    return str(await pool.fetchval("SELECT number FROM decisions WHERE proposal_id = $1", pid))


async def target_elected(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> str:
    """An election of the secretary, target proposed and consented to: adopted. Its number."""
    role_id = await elections_test.new_role(pool, alpha, world)
    pid = await elections_test.nominations_revealed(pool, alpha, world, role_id)
    await elections_test.propose(pool, alpha, world, pid, "target")
    await elections_test.everyone_but(pool, alpha, world, pid, "target")
    target = world.user_ids["target"]
    await act(pool, alpha, pid, person(world, "target"),
              rules.GivePosition(target, rules.Stance.CONSENT, 2))  # fmt: skip
    seen = (await elections_test.load(pool, alpha, pid)).revision
    await act(pool, alpha, pid, person(world, "facilitator"),
              rules.CloseRound(datetime.now(UTC), seen))  # fmt: skip
    return str(await pool.fetchval("SELECT number FROM decisions WHERE proposal_id = $1", pid))


async def held_meeting(
    client: Client, pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> tuple[str, str]:
    """The scenario's meeting, planned for 9 January 2027 at 18:00, with two more items on its
    agenda (a proposal adopted after integrating an objection, an election), attendance taken,
    opened and closed. The two decisions' numbers."""
    adopted = await integrated_then_adopted(pool, alpha, world)
    elected = await target_elected(pool, alpha, world)
    async with pool.acquire() as conn:
        await conn.execute("UPDATE meetings SET starts_at = $1::text::timestamptz WHERE id = $2",
                           PLANNED, world.meeting_id)  # fmt: skip
        await conn.execute(
            """INSERT INTO agenda_items (meeting_id, position, kind, title, proposal_id)
               SELECT $1, 2 + row_number() OVER (ORDER BY d.id), 'proposal', d.title,
                      d.proposal_id
               FROM decisions d WHERE d.number = ANY($2::text[])""",
            world.meeting_id, [adopted, elected],
        )  # fmt: skip
    act_as(client, world, "facilitator")
    for role, presence in (("facilitator", "present"), ("member", "absent"),
                           ("target", "remote"), ("admin", "excused")):  # fmt: skip
        sent = {"person": world.user_ids[role], "presence": presence}
        assert (await post_form(client, meeting_url(world, "presence"), sent)).status_code == 303
    assert (await post_form(client, meeting_url(world, "open"))).status_code == 303
    closed = await post_form(client, meeting_url(world, "close"), {"confirm": "yes"})
    assert closed.status_code == 303
    return adopted, elected


WORDS: dict[str, dict[str, Any]] = {
    "fr": {
        "date": "samedi 9 janvier 2027, 18:00",
        "sat": "Séance ouverte le {opened}, close le {closed}.",
        "under_way": "Toujours en cours à la clôture de la séance, "
        "à l'étape « Questions de clarification »",
        "information": "Point d'information.",
        "adopted": "Adoptée : décision {number}",
        "integrated": "Objection de Target intégrée en version 2",
        "elected": "Élu·e : Target",
        "attendance": ["Présents Facilitator", "À distance Target", "Excusés Admin",
                       "Absents Member"],
        "facts": ["- Date: samedi 9 janvier 2027, 18:00", "- Lieu: Salle des fêtes",
                  "- Animation: Facilitator", "- Secrétariat: Admin", "- Présents: Facilitator",
                  "- À distance: Target", "- Excusés: Admin", "- Absents: Member"],
        "signatures": ["Animation Facilitator Signature", "Secrétariat Admin Signature"],
    },
    "en": {
        "date": "Saturday, January 9, 2027, 6:00\u202fPM",
        "sat": "The meeting opened on {opened} and closed on {closed}.",
        "under_way": "Still under way when the meeting closed, "
        "at the stage “Clarifying questions”",
        "information": "Information item.",
        "adopted": "Adopted: decision {number}",
        "integrated": "Objection by Target integrated in version 2",
        "elected": "Elected: Target",
        "attendance": ["Present Facilitator", "Remote Target", "Excused Admin",
                       "Absent Member"],
        "facts": ["- Date: Saturday, January 9, 2027, 6:00\u202fPM", "- Place: Salle des fêtes",
                  "- Facilitator: Facilitator", "- Secretary: Admin", "- Present: Facilitator",
                  "- Remote: Target", "- Excused: Admin", "- Absent: Member"],
        "signatures": ["Facilitator Facilitator Signature", "Secretary Admin Signature"],
    },
}  # fmt: skip


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_the_minutes_read_as_a_proces_verbal(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space, lang: str
) -> None:
    """Planned date to the minute, when it sat, attendance, each item's outcome in words (the
    decision's number linked, the objection integrated in its version, the person elected),
    the signatures on paper; the Markdown file in the same words."""
    client, world = client_world
    adopted, elected = await held_meeting(client, pool, alpha, world)
    assert re.fullmatch(r"AL-\d{4}-00[12]", adopted) and re.fullmatch(r"AL-\d{4}-00[12]", elected)
    async with pool.acquire() as conn:  # a signed-in reader gets their own language
        await conn.execute("UPDATE users SET locale = $1 WHERE id = $2",
                           lang, world.user_ids["facilitator"])  # fmt: skip
        sat = await conn.fetchrow("SELECT opened_at, closed_at FROM meetings WHERE id = $1",
                                  world.meeting_id)  # fmt: skip
    assert sat is not None
    words = WORDS[lang]
    token = i18n.current_locale.set(lang)
    try:  # opened today, not on the day planned: the whole dates, to the minute
        said = words["sat"].format(opened=i18n.format_when(sat["opened_at"]),
                                   closed=i18n.format_when(sat["closed_at"]))  # fmt: skip
    finally:
        i18n.current_locale.reset(token)
    assert not re.search(r"\d:\d\d:\d\d", said)

    html = (await client.get(meeting_url(world, "minutes"))).text
    shown = page_text(html)
    assert f'<time datetime="2027-01-09T17:00:00+00:00">{words["date"]}</time>' in html
    assert not re.search(r"\d:\d\d:\d\d", shown)  # no time to the second anywhere
    assert f'<p class="sitting" data-mark="sitting">{said}</p>' in html.replace("&#39;", "'")
    for group in words["attendance"]:
        assert group in shown, group
    items = re.findall(r'<section class="minutes-item".*?</section>', html, re.S)
    assert len(items) == 4
    first, information, integrated, election = (page_text(item) for item in items)
    assert words["under_way"] in first
    assert words["information"] in information
    assert words["adopted"].format(number=adopted) in integrated
    assert words["integrated"] in integrated and "Trop tard." in integrated
    assert words["elected"] in election
    assert words["adopted"].format(number=elected) in election
    for number in (adopted, elected):  # the number, linked to its decision
        assert f'<a href="/s/alpha/decisions/{number}">{number}</a>' in html
    signatures = re.search(r'<section class="signatures print-only".*?</section>', html, re.S)
    assert signatures is not None  # on paper only (print.css shows it)
    for box in words["signatures"]:
        assert box in page_text(signatures.group(0)), box

    markdown = (await client.get(meeting_url(world, "minutes.md"))).text
    for fact in words["facts"]:
        assert f"\n{fact}\n" in markdown, (fact, markdown)
    assert f"\n{said}\n" in markdown.replace("\\", "")
    for sentence in (words["under_way"], words["information"],
                     words["adopted"].format(number=adopted), words["elected"],
                     words["adopted"].format(number=elected)):  # fmt: skip
        assert f"\n**{sentence}**\n" in markdown, (sentence, markdown)
    assert f"\n- {words['integrated']}\n  > Trop tard.\n" in markdown
    if lang == "fr":  # (its forged parts include the English "item")
        check_no_forged_structure(markdown, items=4, objections=1, notes=False)


async def test_published_minutes_keep_what_stood_at_the_close(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """A proposal adopted after the meeting closed is still under way in its minutes: the
    minutes say what stood when it closed, so published minutes never change."""
    client, world = client_world
    act_as(client, world, "facilitator")
    assert (await post_form(client, meeting_url(world, "open"))).status_code == 303
    assert (
        await post_form(client, meeting_url(world, "close"), {"confirm": "yes"})
    ).status_code == 303
    before = (await client.get(meeting_url(world, "minutes.md"))).text
    later = await adopt_proposal(pool, world)
    after = (await client.get(meeting_url(world, "minutes.md"))).text
    assert after == before and later not in after
    assert (
        "**Toujours en cours à la clôture de la séance, à l'étape « Questions de clarification »**"
        in after
    )
    page = (await client.get(meeting_url(world, "minutes"))).text
    assert later not in page


async def test_a_draft_on_the_agenda_stays_a_draft_in_the_minutes_after_the_close(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """A proposal whose stage never changed before the close stood at its first stage: its
    submission afterwards changes nothing in the minutes (no journal entry names a stage
    before the close; the stage now must not be read instead)."""
    client, world = client_world
    async with db.transaction(pool) as conn:
        await conn.execute(
            "INSERT INTO agenda_items (meeting_id, position, kind, title, proposal_id)"
            " SELECT $1, coalesce(max(position), 0) + 1, 'proposal', 'Le brouillon', $2"
            " FROM agenda_items WHERE meeting_id = $1",
            world.meeting_id, world.draft_id,
        )  # fmt: skip
    act_as(client, world, "facilitator")
    assert (await post_form(client, meeting_url(world, "open"))).status_code == 303
    assert (
        await post_form(client, meeting_url(world, "close"), {"confirm": "yes"})
    ).status_code == 303
    before = (await client.get(meeting_url(world, "minutes.md"))).text
    assert "à l'étape « Brouillon »" in before
    await act(pool, alpha, world.draft_id, person(world, "member"), rules.Submit(frozenset()))
    assert (await client.get(meeting_url(world, "minutes.md"))).text == before


async def test_an_objection_not_judged_stays_out_while_positions_are_hidden(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    """As on the proposal's page: while the objection round is open in a space that hides
    positions, the minutes do not name an objection not judged yet."""
    client, world = client_world
    await raise_objection(pool, world, "Trop cher.")
    act_as(client, world, "facilitator")
    shown = (await client.get(meeting_url(world, "minutes.md"))).text
    assert "- Objection de Target sur la version 1, pas encore jugée\n  > Trop cher.\n" in shown
    async with pool.acquire() as conn:
        await conn.execute("UPDATE spaces SET hide_positions = true WHERE slug = 'alpha'")
    hidden = (await client.get(meeting_url(world, "minutes.md"))).text
    assert "- Objection" not in hidden and "Trop cher." not in hidden


def test_the_sitting_said_in_times_on_the_day_planned() -> None:
    """Opened and closed on the day planned: times alone, to the minute."""
    from consentir.meetings.minutes import SAT, SAT_ON, Said

    planned = datetime(2027, 1, 9, 17, 0, tzinfo=UTC)
    meeting = msgspec.convert({
        "id": 1, "space_id": 1, "title": "Séance", "starts_at": planned, "duration_min": 60,
        "place": "", "video_url": "", "facilitator_id": 1, "facilitator_name": "F",
        "secretary_id": None, "secretary_name": None, "state": "closed", "current_item": None,
        "opened_at": planned.replace(minute=5, second=42),
        "closed_at": planned.replace(hour=18, minute=40, second=9),
        "speakers": [], "speaker_index": None, "passed": [], "speaker_seconds": 0,
        "speaker_started": None, "speaker_left": None, "round_seconds": 0,
        "round_started": None, "round_left": None, "minutes_notes": "",
        "minutes_published_at": None, "revision": 1, "items": [], "attendance": [],
        "last_event": 0}, Meeting)  # fmt: skip
    minutes = Minutes(meeting, [], [], [], [], [])
    assert minutes.sitting == Said(SAT, {"opened": "18:05", "closed": "19:40"})
    token = i18n.current_locale.set("fr")
    try:
        assert minutes.sitting.text() == "Séance ouverte à 18:05, close à 19:40."
        later = msgspec.structs.replace(meeting, closed_at=planned.replace(day=10))
        assert Minutes(later, [], [], [], [], []).sitting.message == SAT_ON
    finally:
        i18n.current_locale.reset(token)


async def test_the_minutes_cost_the_same_statements_whatever_the_agenda(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space, query_log: list[str]
) -> None:
    """No statement per item: the page and the file read as many statements for two items as
    for six (four more proposals, each with an objection)."""
    client, world = client_world
    act_as(client, world, "facilitator")
    await pool.execute("UPDATE spaces SET hide_positions = false WHERE slug = 'alpha'")
    for suffix in ("minutes", "minutes.md"):  # the app's first request reads more, once
        assert (await client.get(meeting_url(world, suffix))).status_code == 200
    counts = []
    for more in (0, 4):
        for n in range(more):
            pid = await to_object_round(pool, alpha, world, HOURS)
            target = person(world, "target")
            await act(pool, alpha, pid, target, rules.GivePosition(
                target.user_id, rules.Stance.OBJECTION, 1, f"Raison {n}."))  # fmt: skip
            await pool.execute(
                "INSERT INTO agenda_items (meeting_id, position, kind, title, proposal_id)"
                " VALUES ($1, $2, 'proposal', 'Horaires', $3)",
                world.meeting_id, 3 + n, pid,
            )  # fmt: skip
        for suffix in ("minutes", "minutes.md"):
            query_log.clear()
            response = await client.get(meeting_url(world, suffix))
            assert response.status_code == 200
            counts.append(len(query_log))
    assert response.text.count("- Objection de Target sur la version 1") == 4
    assert counts[:2] == counts[2:], counts
