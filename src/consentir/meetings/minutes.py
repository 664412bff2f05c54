"""A meeting's minutes (procès-verbal), drawn from the journal and the proposals' records:
who was there, and for each agenda item what happened and how it ended."""

from __future__ import annotations

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


class Minutes(msgspec.Struct, frozen=True):
    meeting: Meeting
    present: list[str]
    remote: list[str]
    excused: list[str]
    absent: list[str]
    items: list[ItemOutcome]


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
            stage = (await proposals.load(conn, space_id, item.proposal_id)).head.stage
            text = detail.versions[-1]["body"] if decision and detail.versions else None
            objections = detail.objections
        outcomes.append(ItemOutcome(
            item.position, item.kind, item.title, item.proposal_id, stage, decision, text,
            objections, item.events,
        ))  # fmt: skip
    return Minutes(
        meeting,
        present=by_presence.get("present", []),
        remote=by_presence.get("remote", []),
        excused=by_presence.get("excused", []),
        absent=by_presence.get("absent", []) + by_presence.get("invited", []),
        items=outcomes,
    )


def markdown(minutes: Minutes, space_name: str) -> str:
    """The minutes as a Markdown document, in the reader's language."""
    m = minutes.meeting
    lines = [
        f"# {gettext('Minutes')} — {m.title}", "",
        f"- {gettext('Space')}: {space_name}",
        f"- {gettext('Date')}: {format_when(m.opened_at or m.starts_at)}",
        f"- {gettext('Place')}: {m.place or m.video_url or '—'}",
        f"- {gettext('Facilitator')}: {m.facilitator_name}",
        f"- {gettext('Secretary')}: {m.secretary_name or '—'}",
        f"- {gettext('Present')}: {', '.join(minutes.present) or '—'}",
        f"- {gettext('Remote')}: {', '.join(minutes.remote) or '—'}",
        f"- {gettext('Excused')}: {', '.join(minutes.excused) or '—'}",
        f"- {gettext('Absent')}: {', '.join(minutes.absent) or '—'}",
        "",
    ]  # fmt: skip
    for item in minutes.items:
        lines += [f"## {item.position}. {item.title}", ""]
        if item.decision:
            lines += [f"**{gettext('Decision %(number)s') % {'number': item.decision}}**", ""]
            lines += [item.adopted_text or "", ""]
        elif item.stage:
            lines += [f"{gettext('Stage')}: {gettext(labels.STAGES[item.stage])}", ""]
        for objection in item.objections:
            status = gettext(labels.OBJECTION_STATUSES[objection["status"]])
            lines.append(f"- {gettext('Objection')} ({objection['objector']}): "
                         f"{objection['reason']} — {status}")  # fmt: skip
        if item.objections:
            lines.append("")
    if m.minutes_notes:
        lines += [f"## {gettext('Notes')}", "", m.minutes_notes, ""]
    return "\n".join(lines)
