"""Meetings' storage: one transaction per action, each with its journal event (which tells
every live screen of the space)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from consentir import journal
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.meetings.rules import Circle, Presence, State, Timer
from consentir.notifications import store as notifications
from consentir.notifications.kinds import Kind, Notice
from consentir.spaces import store as spaces

NOT_FOUND = N_("There is no such meeting in this space.")
STALE = N_("The meeting changed meanwhile: here it is as it is now.")


class Item(msgspec.Struct, frozen=True):
    position: int
    kind: str  # "proposal" or "information"
    title: str
    proposal_id: int | None
    notes: str
    started_at: datetime | None
    ended_at: datetime | None


class Attendee(msgspec.Struct, frozen=True):
    user_id: int
    name: str
    presence: Presence


class Meeting(msgspec.Struct, frozen=True):
    id: int
    space_id: int
    title: str
    starts_at: datetime
    duration_min: int
    place: str
    video_url: str
    facilitator_id: int
    facilitator_name: str
    secretary_id: int | None
    secretary_name: str | None
    state: State
    current_item: int | None
    opened_at: datetime | None
    closed_at: datetime | None
    speakers: list[int]
    speaker_index: int | None
    passed: list[int]
    speaker_seconds: int
    speaker_started: datetime | None
    speaker_left: int | None
    round_seconds: int
    round_started: datetime | None
    round_left: int | None
    minutes_notes: str
    minutes_published_at: datetime | None
    revision: int
    items: list[Item]
    attendance: list[Attendee]
    last_event: int  # the space's latest journal id when this was read

    @property
    def circle(self) -> Circle:
        return Circle(tuple(self.speakers), self.speaker_index, frozenset(self.passed))

    @property
    def speaker_timer(self) -> Timer:
        return Timer(self.speaker_seconds, self.speaker_started, self.speaker_left)

    @property
    def round_timer(self) -> Timer:
        return Timer(self.round_seconds, self.round_started, self.round_left)

    @property
    def item(self) -> Item | None:
        return next((i for i in self.items if i.position == self.current_item), None)

    @property
    def next_item(self) -> Item | None:
        """The item after the one under way (the console's "next item")."""
        if self.current_item is None:
            return None
        return next((i for i in self.items if i.position > self.current_item), None)

    @property
    def present(self) -> list[int]:
        """Those who take part, in the attendance list's order (the circle's seating)."""
        return [a.user_id for a in self.attendance if a.presence.takes_part]

    def name_of(self, user_id: int | None) -> str:
        return next((a.name for a in self.attendance if a.user_id == user_id), "?")


_LOAD = """
SELECT m.id, m.space_id, m.title, m.starts_at, m.duration_min, m.place, m.video_url,
       m.facilitator_id, f.name AS facilitator_name, m.secretary_id, s.name AS secretary_name,
       m.state, m.current_item, m.opened_at, m.closed_at, m.speakers, m.speaker_index, m.passed,
       m.speaker_seconds, m.speaker_started, m.speaker_left,
       m.round_seconds, m.round_started, m.round_left,
       m.minutes_notes, m.minutes_published_at, m.revision,
       coalesce((SELECT json_agg(json_build_object(
                   'position', i.position, 'kind', i.kind, 'title', i.title,
                   'proposal_id', i.proposal_id, 'notes', i.notes,
                   'started_at', i.started_at, 'ended_at', i.ended_at) ORDER BY i.position)
                 FROM agenda_items i WHERE i.meeting_id = m.id), '[]') AS items,
       coalesce((SELECT json_agg(json_build_object(
                   'user_id', a.user_id, 'name', u.name, 'presence', a.presence)
                   ORDER BY u.name, u.id)
                 FROM attendance a JOIN users u ON u.id = a.user_id
                 WHERE a.meeting_id = m.id), '[]') AS attendance,
       -- Where its screens' live stream starts: the space's latest event, as read here.
       (SELECT coalesce(max(j.id), 0) FROM journal j WHERE j.space_id = m.space_id) AS last_event
FROM meetings m
JOIN users f ON f.id = m.facilitator_id
LEFT JOIN users s ON s.id = m.secretary_id
WHERE m.space_id = $1 AND m.id = $2
"""


async def load(conn: Connection, space_id: int, meeting_id: int, *, lock: bool = False) -> Meeting:
    """One meeting with its agenda and attendance, in one statement; locked for an action."""
    if lock:
        await conn.execute(
            "SELECT 1 FROM meetings WHERE space_id = $1 AND id = $2 FOR UPDATE",
            space_id,
            meeting_id,
        )
    row = await conn.fetchrow(_LOAD, space_id, meeting_id)
    if row is None:
        raise DomainError("meeting_not_found", NOT_FOUND, status=404)
    return msgspec.convert(dict(row), Meeting, strict=False)  # json columns arrive decoded


class Listed(msgspec.Struct, frozen=True):
    id: int
    title: str
    starts_at: datetime
    place: str
    state: State
    facilitator_name: str
    items: int


async def listing(conn: Connection, space_id: int, *, limit: int = 100) -> list[Listed]:
    """The space's meetings, the latest first (planned ones are in the future)."""
    rows = await conn.fetch(
        """
        SELECT m.id, m.title, m.starts_at, m.place, m.state, u.name AS facilitator_name,
               (SELECT count(*) FROM agenda_items i WHERE i.meeting_id = m.id) AS items
        FROM meetings m JOIN users u ON u.id = m.facilitator_id
        WHERE m.space_id = $1
        ORDER BY m.starts_at DESC, m.id DESC
        LIMIT $2
        """,
        space_id,
        limit,
    )
    return [msgspec.convert(dict(r), Listed) for r in rows]


class NewItem(msgspec.Struct, frozen=True):
    kind: str
    title: str
    proposal_id: int | None = None


class Plan(msgspec.Struct, frozen=True):
    title: str
    starts_at: datetime
    duration_min: int
    place: str
    video_url: str
    facilitator_id: int
    secretary_id: int | None
    items: list[NewItem]


async def create(conn: Connection, space_id: int, actor_id: int, plan: Plan) -> int:
    """Plan a meeting; every member who may act in the space is invited."""
    meeting_id: int = await conn.fetchval(
        """
        INSERT INTO meetings (space_id, title, starts_at, duration_min, place, video_url,
                              facilitator_id, secretary_id, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
        """,
        space_id, plan.title, plan.starts_at, plan.duration_min, plan.place, plan.video_url,
        plan.facilitator_id, plan.secretary_id, actor_id,
    )  # fmt: skip
    await conn.executemany(
        "INSERT INTO agenda_items (meeting_id, position, kind, title, proposal_id)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(meeting_id, n, i.kind, i.title, i.proposal_id) for n, i in enumerate(plan.items, 1)],
    )
    invited = await spaces.acting_member_ids(conn, space_id)
    invited |= {plan.facilitator_id} | ({plan.secretary_id} if plan.secretary_id else set())
    await conn.execute(
        "INSERT INTO attendance (meeting_id, user_id) SELECT $1, unnest($2::bigint[])",
        meeting_id,
        sorted(invited),
    )
    await _announce(conn, space_id, meeting_id, plan.title, actor_id, Kind.MEETING_PLANNED)
    await _event(conn, space_id, meeting_id, actor_id, "meeting.planned", {"title": plan.title})
    return meeting_id


async def _announce(
    conn: Connection, space_id: int, meeting_id: int, title: str, actor_id: int, kind: Kind
) -> None:
    """Tell the meeting's invitees (its .ics goes with the email)."""
    slug = await conn.fetchval("SELECT slug FROM spaces WHERE id = $1", space_id)
    invited = await conn.fetch("SELECT user_id FROM attendance WHERE meeting_id = $1", meeting_id)
    about = notifications.About(
        space_id=space_id,
        link=f"/s/{slug}/meetings/{meeting_id}",
        title=title,
        actor_id=actor_id,
        meeting_id=meeting_id,
    )
    people = frozenset(int(r["user_id"]) for r in invited)
    await notifications.record(conn, about, [Notice(kind, people)])


async def _event(
    conn: Connection,
    space_id: int,
    meeting_id: int,
    actor_id: int | None,
    action: str,
    data: dict[str, Any] | None = None,
) -> None:
    await journal.append(
        conn, action=action, subject_type="meeting", subject_id=meeting_id,
        space_id=space_id, actor_id=actor_id, data=data or {},
    )  # fmt: skip


async def _bump(conn: Connection, meeting: Meeting) -> None:
    """The meeting's revision moves on with every action (forms and screens compare it)."""
    done = await conn.fetchval(
        "UPDATE meetings SET revision = revision + 1 WHERE id = $1 AND revision = $2"
        " RETURNING revision",
        meeting.id,
        meeting.revision,
    )
    if done is None:
        raise DomainError("stale_meeting", STALE, status=409)


async def record(
    conn: Connection, meeting: Meeting, actor_id: int, action: str, data: dict[str, Any]
) -> None:
    """Bump the revision and journal the action: the end of every meeting action. A change
    of the agenda before the meeting opens is announced to its invitees."""
    await _bump(conn, meeting)
    if action in ("add", "remove") and meeting.state is State.PLANNED:
        await _announce(
            conn, meeting.space_id, meeting.id, meeting.title, actor_id, Kind.MEETING_CHANGED
        )
    await _event(conn, meeting.space_id, meeting.id, actor_id, f"meeting.{action}", data)


async def set_state(conn: Connection, meeting: Meeting, state: State, now: datetime) -> None:
    if state is State.OPEN:
        await conn.execute(
            "UPDATE meetings SET state = 'open', opened_at = $2, current_item ="
            " (SELECT min(position) FROM agenda_items WHERE meeting_id = $1) WHERE id = $1",
            meeting.id,
            now,
        )
        await conn.execute(
            "UPDATE agenda_items SET started_at = $2 WHERE meeting_id = $1 AND position = 1",
            meeting.id,
            now,
        )
    else:
        await conn.execute(
            "UPDATE meetings SET state = 'closed', closed_at = $2, current_item = NULL,"
            " speaker_index = NULL, speaker_started = NULL, round_started = NULL WHERE id = $1",
            meeting.id,
            now,
        )
        await conn.execute(
            "UPDATE agenda_items SET ended_at = $2"
            " WHERE meeting_id = $1 AND started_at IS NOT NULL AND ended_at IS NULL",
            meeting.id,
            now,
        )


async def go_to_item(conn: Connection, meeting: Meeting, position: int, now: datetime) -> None:
    """End the current item, start `position`; a new item starts with a fresh circle."""
    await conn.execute(
        "UPDATE agenda_items SET ended_at = $3"
        " WHERE meeting_id = $1 AND position = $2 AND ended_at IS NULL",
        meeting.id,
        meeting.current_item,
        now,
    )
    await conn.execute(
        "UPDATE agenda_items SET started_at = coalesce(started_at, $3), ended_at = NULL"
        " WHERE meeting_id = $1 AND position = $2",
        meeting.id,
        position,
        now,
    )
    await conn.execute(
        "UPDATE meetings SET current_item = $2, speakers = '{}', speaker_index = NULL,"
        " passed = '{}', speaker_started = NULL, speaker_left = NULL,"
        " round_started = NULL, round_left = NULL WHERE id = $1",
        meeting.id,
        position,
    )


async def add_item(conn: Connection, meeting: Meeting, item: NewItem) -> int:
    """A new item at the end of the agenda; its position."""
    position = max((i.position for i in meeting.items), default=0) + 1
    await conn.execute(
        "INSERT INTO agenda_items (meeting_id, position, kind, title, proposal_id)"
        " VALUES ($1, $2, $3, $4, $5)",
        meeting.id, position, item.kind, item.title, item.proposal_id,
    )  # fmt: skip
    return position


_AWAY = 1_000_000  # far beyond any agenda's length


async def remove_item(conn: Connection, meeting: Meeting, position: int) -> None:
    """Take an item that has not started off the agenda; the ones after it move up."""
    await conn.execute(
        "DELETE FROM agenda_items WHERE meeting_id = $1 AND position = $2", meeting.id, position
    )
    # Two steps, so that no position is ever held twice (the key is checked row by row):
    # out of the way first, then back one place up.
    await conn.execute(
        "UPDATE agenda_items SET position = position + $3 WHERE meeting_id = $1 AND position > $2",
        meeting.id,
        position,
        _AWAY,
    )
    await conn.execute(
        "UPDATE agenda_items SET position = position - $2 - 1"
        " WHERE meeting_id = $1 AND position > $2",
        meeting.id,
        _AWAY,
    )
    if meeting.current_item is not None and meeting.current_item > position:
        await conn.execute(
            "UPDATE meetings SET current_item = current_item - 1 WHERE id = $1", meeting.id
        )


async def set_presence(
    conn: Connection, meeting: Meeting, user_id: int, presence: Presence
) -> None:
    done = await conn.fetchval(
        "UPDATE attendance SET presence = $3 WHERE meeting_id = $1 AND user_id = $2"
        " RETURNING user_id",
        meeting.id,
        user_id,
        str(presence),
    )
    if done is None:
        raise DomainError("not_invited", N_("This person is not invited to the meeting."))


async def set_attendance(
    conn: Connection, meeting: Meeting, presences: dict[int, Presence]
) -> dict[int, Presence]:
    """The attendance list saved at once: every presence that changed, in one statement;
    those changes. Someone not invited refuses the whole list (nothing is saved)."""
    recorded = {a.user_id: a.presence for a in meeting.attendance}
    if any(person not in recorded for person in presences):
        raise DomainError("not_invited", N_("This person is not invited to the meeting."))
    changed = {p: v for p, v in presences.items() if recorded[p] != v}
    if changed:
        await conn.execute(
            "UPDATE attendance a SET presence = c.presence"
            " FROM unnest($2::bigint[], $3::text[]) AS c(user_id, presence)"
            " WHERE a.meeting_id = $1 AND a.user_id = c.user_id",
            meeting.id,
            list(changed),
            [str(v) for v in changed.values()],
        )
    return changed


async def set_circle(conn: Connection, meeting: Meeting, circle: Circle, now: datetime) -> None:
    """The new speaking order; a change of speaker restarts the speaker's timer."""
    restart = circle.current != meeting.circle.current
    await conn.execute(
        """
        UPDATE meetings SET speakers = $2::bigint[], speaker_index = $3::integer,
            passed = $4::bigint[],
            speaker_started = CASE WHEN NOT $5::boolean THEN speaker_started
                                   WHEN $3::integer IS NULL THEN NULL
                                   ELSE $6::timestamptz END,
            speaker_left = CASE WHEN $5::boolean THEN NULL ELSE speaker_left END
        WHERE id = $1
        """,
        meeting.id,
        list(circle.speakers),
        circle.index,
        sorted(circle.passed),
        restart,
        now,
    )


async def set_timers(conn: Connection, meeting: Meeting, speaker: Timer, whole: Timer) -> None:
    await conn.execute(
        """
        UPDATE meetings SET speaker_seconds = $2, speaker_started = $3, speaker_left = $4,
                            round_seconds = $5, round_started = $6, round_left = $7
        WHERE id = $1
        """,
        meeting.id,
        speaker.seconds, speaker.started, speaker.left,
        whole.seconds, whole.started, whole.left,
    )  # fmt: skip


async def save_notes(
    conn: Connection, meeting: Meeting, notes: str, *, publish: bool, now: datetime
) -> None:
    await conn.execute(
        "UPDATE meetings SET minutes_notes = $2,"
        " minutes_published_at = CASE WHEN $3::boolean THEN $4::timestamptz END WHERE id = $1",
        meeting.id,
        notes,
        publish,
        now,
    )


async def live_participants(conn: Connection, proposal_id: int) -> frozenset[int] | None:
    """If the proposal is the item under way of an open meeting, those present at it (only
    they take part in the rounds opened there); otherwise None (the space's members)."""
    row = await conn.fetchrow(
        """
        SELECT coalesce(array_agg(a.user_id) FILTER (
                   WHERE a.presence IN ('present', 'remote')), '{}') AS present
        FROM agenda_items i
        JOIN meetings m ON m.id = i.meeting_id AND m.state = 'open'
                        AND m.current_item = i.position
        LEFT JOIN attendance a ON a.meeting_id = m.id
        WHERE i.proposal_id = $1
        GROUP BY m.id
        LIMIT 1
        """,
        proposal_id,
    )
    return None if row is None else frozenset(row["present"])


class MinutesItem(msgspec.Struct, frozen=True):
    position: int
    kind: str
    title: str
    proposal_id: int | None
    started_at: datetime | None
    ended_at: datetime | None
    events: list[dict[str, Any]]  # what the journal recorded about it during the meeting


async def minutes_items(conn: Connection, meeting: Meeting) -> list[MinutesItem]:
    """Each agenda item with the journal's events about its proposal while it was under way
    (one statement)."""
    rows = await conn.fetch(
        """
        SELECT i.position, i.kind, i.title, i.proposal_id, i.started_at, i.ended_at,
               coalesce((SELECT json_agg(json_build_object(
                            'action', j.action, 'at', j.created_at, 'data', j.data,
                            'actor', u.name) ORDER BY j.id)
                         FROM journal j LEFT JOIN users u ON u.id = j.actor_id
                         WHERE j.space_id = $2 AND j.subject_type = 'proposal'
                           AND j.subject_id = i.proposal_id
                           AND j.created_at >= i.started_at
                           AND j.created_at <= coalesce(i.ended_at, $3)), '[]') AS events
        FROM agenda_items i WHERE i.meeting_id = $1 ORDER BY i.position
        """,
        meeting.id,
        meeting.space_id,
        meeting.closed_at or datetime.max.replace(tzinfo=meeting.starts_at.tzinfo),
    )
    return [msgspec.convert(dict(r), MinutesItem, strict=False) for r in rows]
