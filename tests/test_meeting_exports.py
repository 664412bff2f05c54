"""A meeting's exports carry user text safely: the calendar file (RFC 5545) and the minutes in
Markdown. Titles, places, names, reasons and notes with line breaks or markup must never add
a calendar property or a line of structure to the official record."""

from __future__ import annotations

import re

import asyncpg
import pytest
from markdown_it import MarkdownIt

from consentir import db
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.spaces import store as spaces
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
OURS = re.compile(r"^(# Procès-verbal — |## \d+\. |## Notes$|- [\w ]+: |- Objection )")
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
    """The scenario's proposal taken to its objection round, where `target` objects."""
    async with db.transaction(pool) as conn:
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
    assert f"**Décision {number}**" in markdown
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
