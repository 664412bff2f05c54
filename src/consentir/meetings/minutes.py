"""A meeting's minutes (procès-verbal), drawn from the journal and the proposals' records:
when and where it was planned, who was there, and for each agenda item how it ended, said in
words ("Adoptée : décision AL-2026-001", "Objection de X intégrée en version 2").

The minutes of a closed meeting say what stood when it closed: a proposal adopted a week
later is "under way" in them, so published minutes never change (the journal keeps every
stage and every objection's status with its time). Before the close, they say what stands now.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec
from babel.dates import format_time

from consentir.consent import labels
from consentir.db import Connection
from consentir.errors import N_
from consentir.meetings.store import Meeting, minutes_items
from consentir.web import i18n
from consentir.web.i18n import format_when, gettext

# What the minutes say of an item: one or two sentences, each a message and its values. The
# page links a decision's number; the .md file writes the same words.
ADOPTED = N_("Adopted: decision %(number)s")
ELECTED = N_("Elected: %(name)s")
CHOSEN = N_("Chosen: %(scenario)s")
SCENARIO = N_("Scenario %(letter)s: %(title)s")
WITHDRAWN = N_("Withdrawn by the person who proposed it")
REJECTED = N_("Closed without consent")
UNDER_WAY = N_("Under way, at the stage “%(stage)s”")
UNDER_WAY_AT_CLOSE = N_("Still under way when the meeting closed, at the stage “%(stage)s”")
INFORMATION = N_("Information item.")
# An objection, by its status when the meeting closed (consent/rules.py ObjectionStatus).
OBJECTIONS = {
    "raised": N_("Objection by %(name)s on version %(version)s, not judged yet"),
    "valid": N_("Objection by %(name)s judged valid, to be integrated"),
    "not_valid": N_("Objection by %(name)s judged not valid"),
    "withdrawn": N_("Objection by %(name)s withdrawn"),
    "integrated": N_("Objection by %(name)s integrated in version %(version)s"),
}
# When it sat: times alone when it sat on the day planned, whole dates otherwise.
SAT = N_("The meeting opened at %(opened)s and closed at %(closed)s.")
SAT_ON = N_("The meeting opened on %(opened)s and closed on %(closed)s.")
SITTING = N_("The meeting opened at %(opened)s and is still under way.")
SITTING_ON = N_("The meeting opened on %(opened)s and is still under way.")
NOT_OPENED = N_("The meeting has not opened yet.")


class Said(msgspec.Struct, frozen=True):
    """A sentence of the minutes: a message id (N_ above) and its values, translated when
    shown (the page may put a link in a value, the .md file escapes them)."""

    message: str
    values: dict[str, str] = {}

    def text(self) -> str:
        return gettext(self.message) % self.values


class ObjectionRecord(msgspec.Struct, frozen=True):
    said: Said
    status: str  # when the meeting closed
    reason: str
    judgement: str | None  # the facilitator's reasons, if judged valid or not valid then


class ItemOutcome(msgspec.Struct, frozen=True):
    position: int
    kind: str
    title: str
    proposal_id: int | None
    stage: str | None  # the proposal's stage when the meeting closed (now, before)
    decision: str | None  # its decision number, if adopted by then
    adopted_text: str | None
    outcome: list[Said]  # how it ended, in words
    closed_reason: str | None  # closed without consent: why
    objections: list[ObjectionRecord]
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

    @property
    def planned(self) -> str:
        """The date and time planned, to the minute, the day spelled out."""
        return format_when(self.meeting.starts_at, "full")

    @property
    def place(self) -> str:
        m = self.meeting
        return " · ".join(part for part in (m.place, m.video_url) if part)

    @property
    def sitting(self) -> Said:
        """When it opened and closed, in one sentence."""
        m = self.meeting
        if m.opened_at is None:
            return Said(NOT_OPENED)
        day = _day(m.starts_at)
        same_day = _day(m.opened_at) == day and (m.closed_at is None or _day(m.closed_at) == day)
        at = _clock if same_day else format_when
        if m.closed_at is None:
            return Said(SITTING if same_day else SITTING_ON, {"opened": at(m.opened_at)})
        times = {"opened": at(m.opened_at), "closed": at(m.closed_at)}
        return Said(SAT if same_day else SAT_ON, times)


def _day(moment: datetime) -> Any:
    return moment.astimezone(i18n.display_zone).date()


def _clock(moment: datetime) -> str:
    """A time of day, to the minute, as the reader's language writes it ("18:05")."""
    zone = i18n.display_zone
    return format_time(moment, "short", tzinfo=zone, locale=i18n.current_locale.get())


# Each proposal on the agenda as it stood at the cutoff (the meeting's close; NULL: now), in
# one statement whatever the agenda's length: its stage (the journal records each change),
# its decision if adopted by then, whom an election elected or which scenario a choice chose,
# and its objections with their status then (the journal records each change of status; the
# version that integrated one is `answered_in`). A stage never changed by then is the one a
# proposal is created at (draft). An objection not judged yet at the cutoff stays out if an
# objection round was open then in a space that hides positions: the record is read by all,
# so it keeps the secret the round kept (stricter than the page, where facilitators see it).
_OUTCOMES = """
SELECT p.id, p.kind, p.closed_reason,
       CASE WHEN $3::timestamptz IS NULL THEN p.stage ELSE coalesce(
           (SELECT j.data ->> 'stage' FROM journal j
             WHERE j.subject_type = 'proposal' AND j.subject_id = p.id
               AND j.data ? 'stage' AND j.created_at <= $3
             ORDER BY j.id DESC LIMIT 1), 'draft') END AS stage,
       d.number AS decision, d.body AS adopted_text,
       (SELECT u.name FROM proposal_versions v JOIN users u ON u.id = v.nominee_id
         WHERE v.proposal_id = p.id AND v.number = d.version) AS elected,
       (SELECT json_build_object('letter', s.letter, 'title', s.title)
          FROM proposal_versions v JOIN scenario_versions sv ON sv.id = v.scenario_version_id
          JOIN scenarios s ON s.id = sv.scenario_id
         WHERE v.proposal_id = p.id AND v.number = d.version) AS scenario,
       coalesce((SELECT json_agg(json_build_object(
                    'objector', u.name, 'version', o.version, 'reason', o.reason,
                    'status', st.status, 'answered_in', o.answered_in,
                    'judgement', CASE WHEN st.status IN ('valid', 'not_valid')
                                      THEN o.judgement END) ORDER BY o.id)
                 FROM objections o JOIN users u ON u.id = o.objector_id
                 CROSS JOIN LATERAL (SELECT CASE WHEN $3::timestamptz IS NULL THEN o.status
                     ELSE coalesce((SELECT j.data -> 'objections' ->> o.id::text FROM journal j
                                     WHERE j.subject_type = 'proposal' AND j.subject_id = p.id
                                       AND j.created_at <= $3
                                       AND j.data -> 'objections' ? o.id::text
                                     ORDER BY j.id DESC LIMIT 1), 'raised') END AS status) st
                 WHERE o.proposal_id = p.id
                   AND ($3::timestamptz IS NULL OR o.created_at <= $3)
                   AND NOT (st.status = 'raised' AND sp.hide_positions AND EXISTS (
                       SELECT 1 FROM rounds r WHERE r.proposal_id = p.id AND r.kind = 'object'
                          AND r.opened_at <= coalesce($3, now())
                          AND (r.closed_at IS NULL OR r.closed_at > coalesce($3, now())))
                 )), '[]') AS objections
FROM proposals p
JOIN spaces sp ON sp.id = p.space_id
LEFT JOIN decisions d ON d.proposal_id = p.id
                     AND ($3::timestamptz IS NULL OR d.adopted_at <= $3)
WHERE p.space_id = $2
  AND p.id IN (SELECT proposal_id FROM agenda_items WHERE meeting_id = $1)
"""


def outcome(
    kind: str,
    stage: str,
    decision: str | None,
    *,
    elected: str | None = None,
    scenario: dict[str, str] | None = None,
    closed: bool = False,
) -> list[Said]:
    """How a proposal's item ended, in words (`closed`: the meeting has closed)."""
    if decision is not None:
        said = [Said(ADOPTED, {"number": decision})]
        if kind == "election" and elected:
            said.insert(0, Said(ELECTED, {"name": elected}))
        if kind == "choice" and scenario:
            chosen = gettext(SCENARIO) % scenario
            said.insert(0, Said(CHOSEN, {"scenario": chosen}))
        return said
    if stage == "withdrawn":
        return [Said(WITHDRAWN)]
    if stage == "rejected":
        return [Said(REJECTED)]
    names = labels.CHOICE_CONTEXT["stage_names"] if kind == "choice" else labels.STAGES
    name = gettext(names.get(stage, labels.STAGES.get(stage, stage)))
    return [Said(UNDER_WAY_AT_CLOSE if closed else UNDER_WAY, {"stage": name})]


def objection_said(objection: dict[str, Any]) -> Said:
    status = objection["status"]
    version = objection["answered_in"] if status == "integrated" else objection["version"]
    return Said(OBJECTIONS[status], {"name": objection["objector"], "version": str(version)})


async def build(conn: Connection, space_id: int, meeting: Meeting) -> Minutes:
    """Two statements, whatever the agenda's length."""
    by_presence: dict[str, list[str]] = {}
    for person in meeting.attendance:
        by_presence.setdefault(str(person.presence), []).append(person.name)
    rows = await conn.fetch(_OUTCOMES, meeting.id, space_id, meeting.closed_at)
    proposals = {row["id"]: row for row in rows}
    closed = meeting.closed_at is not None
    outcomes = []
    for item in await minutes_items(conn, meeting):
        if item.proposal_id is None:  # an information item
            outcomes.append(ItemOutcome(
                item.position, item.kind, item.title, item.proposal_id, None, None, None,
                [Said(INFORMATION)], None, [], item.events, _on_behalf(meeting, item.events),
            ))  # fmt: skip
            continue
        row = proposals[item.proposal_id]  # the agenda holds the space's proposals only
        objections = [
            ObjectionRecord(objection_said(o), o["status"], o["reason"], o["judgement"])
            for o in row["objections"]
        ]
        said = outcome(row["kind"], row["stage"], row["decision"], elected=row["elected"],
                       scenario=row["scenario"], closed=closed)  # fmt: skip
        outcomes.append(ItemOutcome(
            item.position, item.kind, item.title, item.proposal_id, row["stage"],
            row["decision"], row["adopted_text"], said,
            row["closed_reason"] if row["stage"] == "rejected" else None,
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
    """The minutes as a Markdown document, in the reader's language, in the page's words
    (labels are gettext calls of their own: Babel does not extract them from f-strings)."""
    m = minutes.meeting
    nobody = "—"
    facts = [
        (gettext("Space"), _one_line(space_name)),
        (gettext("Date"), minutes.planned),
        (gettext("Place"), _one_line(minutes.place) or nobody),
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
    lines += [_said(minutes.sitting), ""]
    for item in minutes.items:
        lines += [f"## {item.position}. {_one_line(item.title)}", ""]
        for said in item.outcome:
            lines += [f"**{_said(said)}**", ""]
        if item.decision:
            lines += [*_quoted(item.adopted_text or ""), ""]
        if item.closed_reason:
            lines += [*_quoted(item.closed_reason), ""]
        for objection in item.objections:
            lines.append(f"- {_said(objection.said)}")
            lines += _quoted(objection.reason, indent="  ")
            if objection.judgement:
                judged = gettext("Judgement: %(text)s") % {"text": objection.judgement}
                lines += _quoted(judged, indent="  ")
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
        notes = gettext("The secretary's notes")
        lines += [f"## {notes}", "", *_quoted(m.minutes_notes), ""]
    return "\n".join(lines)


def _said(said: Said) -> str:
    """A sentence of the minutes on one line, its values escaped (they may be user text)."""
    return gettext(said.message) % {key: _one_line(v) for key, v in said.values.items()}


def _names(names: list[str]) -> str:
    return ", ".join(_one_line(name) for name in names)
