"""A meeting's minutes (procès-verbal), drawn from the journal and the proposals' records:
who was there, and for each agenda item what happened and how it ended."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from consentir.consent import labels
from consentir.consent import store as proposals
from consentir.db import Connection
from consentir.meetings.store import Meeting, minutes_items
from consentir.web.i18n import format_when, gettext


class ItemOutcome(msgspec.Struct, frozen=True):
    position: int
    kind: str
    title: str
    proposal_id: int | None
    stage: str | None  # the proposal's stage now
    decision: str | None  # its decision number, if adopted
    adopted_text: str | None
    objections: list[dict[str, Any]]
    events: list[dict[str, Any]]  # the journal's record of the item, during the meeting
    # Positions the facilitator recorded for someone present: (person, stance, recorded by).
    on_behalf: list[tuple[str, str, str]] = []


def _on_behalf(meeting: Meeting, events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The positions recorded on someone's behalf during the item, from the journal."""
    return [
        (
            meeting.name_of(e["data"]["on_behalf_of"]),
            e["data"]["stance"],
            e["actor"] or gettext("someone"),
        )
        for e in events
        if e["action"] == "proposal.position_given" and e["data"].get("on_behalf_of")
    ]


class Minutes(msgspec.Struct, frozen=True):
    meeting: Meeting
    present: list[str]
    remote: list[str]
    excused: list[str]
    absent: list[str]
    items: list[ItemOutcome]
    # Invited, attendance not taken: neither there nor absent as far as the record goes.
    not_recorded: list[str] = []


async def build(conn: Connection, space_id: int, meeting: Meeting) -> Minutes:
    """Two statements, plus one per proposal on the agenda (an agenda has a few items)."""
    by_presence: dict[str, list[str]] = {}
    for person in meeting.attendance:
        by_presence.setdefault(str(person.presence), []).append(person.name)
    outcomes = []
    for item in await minutes_items(conn, meeting):
        stage = decision = text = None
        objections: list[dict[str, Any]] = []
        if item.proposal_id is not None:
            detail = await proposals.detail(conn, space_id, item.proposal_id)
            decision = detail.decision
            stage = detail.stage
            text = detail.versions[-1]["body"] if decision and detail.versions else None
            objections = detail.objections
        outcomes.append(ItemOutcome(
            item.position, item.kind, item.title, item.proposal_id, stage, decision, text,
            objections, item.events, _on_behalf(meeting, item.events),
        ))  # fmt: skip
    return Minutes(
        meeting,
        present=by_presence.get("present", []),
        remote=by_presence.get("remote", []),
        excused=by_presence.get("excused", []),
        absent=by_presence.get("absent", []),
        items=outcomes,
        not_recorded=by_presence.get("invited", []),
    )


# --- Markdown ------------------------------------------------------------------------------
# The .md file is an official record, so nothing a person typed may give it structure: a title
# with a line break once forged a "# Décision … adoptée" heading. Two rules, for all user text
# (titles, names, places, reasons, decision texts, notes):
# - a one-line field (title, name, place) has its line breaks of every kind collapsed to a space
#   and always follows the writer's own prefix ("## 1. ", "- Place: ", …), so it starts no line;
# - a multi-line field (a reason, a decision's text, the notes) keeps its lines, each prefixed
#   with "> ": the text is a block quote, stripped of its indentation and with the character that
#   could open a block inside the quote (-, +, =, "1.") escaped.
# In both, inline metacharacters are backslash-escaped (CommonMark §2.4), so no emphasis, link,
# code span, HTML, fence or table cell comes from user text. The text reads as typed, markup
# characters shown literally (the HTML minutes render notes and decision texts as Markdown).

_INLINE = re.compile(r"([\\`*_\[\]<>#!|~&])")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # C0 controls but tab; breaks are split first
_BLOCK_START = re.compile(r"^(?:[-+=]|(\d{1,9})([.)]))")


def _inline(text: str) -> str:
    return _INLINE.sub(r"\\\1", _CONTROL.sub("", text))


def _one_line(text: str) -> str:
    """A one-line field, whatever it holds (str.splitlines knows every kind of line break)."""
    return _inline(" ".join(part.strip() for part in text.splitlines() if part.strip()))


def _quoted(text: str, indent: str = "") -> list[str]:
    """A multi-line field as a block quote: every line prefixed, none able to open a block."""
    lines = []
    for line in text.strip().splitlines():
        escaped = _inline(line.strip())
        escaped = _BLOCK_START.sub(
            lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[0]}", escaped, count=1
        )
        lines.append(f"{indent}> {escaped}".rstrip())
    return lines


def markdown(minutes: Minutes, space_name: str) -> str:
    """The minutes as a Markdown document, in the reader's language (labels are gettext calls of
    their own: Babel does not extract them from inside f-strings)."""
    m = minutes.meeting
    nobody = "—"
    facts = [
        (gettext("Space"), _one_line(space_name)),
        (gettext("Date"), format_when(m.opened_at or m.starts_at)),
        (gettext("Place"), _one_line(m.place or m.video_url) or nobody),
        (gettext("Facilitator"), _one_line(m.facilitator_name)),
        (gettext("Secretary"), _one_line(m.secretary_name or "") or nobody),
        (gettext("Present"), _names(minutes.present) or nobody),
        (gettext("Remote"), _names(minutes.remote) or nobody),
        (gettext("Excused"), _names(minutes.excused) or nobody),
        (gettext("Absent"), _names(minutes.absent) or nobody),
    ]
    if minutes.not_recorded:
        facts.append((gettext("Attendance not recorded"), _names(minutes.not_recorded)))
    title = gettext("Minutes")
    lines = [f"# {title} — {_one_line(m.title)}", ""]
    lines += [f"- {label}: {value}" for label, value in facts] + [""]
    for item in minutes.items:
        lines += [f"## {item.position}. {_one_line(item.title)}", ""]
        if item.decision:
            decision = gettext("Decision %(number)s") % {"number": _one_line(item.decision)}
            lines += [f"**{decision}**", "", *_quoted(item.adopted_text or ""), ""]
        elif item.stage:
            stage = gettext("Stage")
            lines += [f"{stage}: {gettext(labels.STAGES[item.stage])}", ""]
        objection_label = gettext("Objection")
        for objection in item.objections:
            status = gettext(labels.OBJECTION_STATUSES[objection["status"]])
            who = _one_line(objection["objector"])
            lines.append(f"- {objection_label} ({who}) — {status}")
            lines += _quoted(objection["reason"] or "", indent="  ")
        if item.objections:
            lines.append("")
        for who, stance, recorder in item.on_behalf:
            recorded = gettext("%(name)s: %(stance)s, recorded by %(recorder)s on their behalf")
            lines.append("- " + recorded % {
                "name": _one_line(who), "stance": gettext(labels.STANCES[stance]),
                "recorder": _one_line(recorder)})  # fmt: skip
        if item.on_behalf:
            lines.append("")
    if m.minutes_notes.strip():
        notes = gettext("Notes")
        lines += [f"## {notes}", "", *_quoted(m.minutes_notes), ""]
    return "\n".join(lines)


def _names(names: list[str]) -> str:
    return ", ".join(_one_line(name) for name in names)
