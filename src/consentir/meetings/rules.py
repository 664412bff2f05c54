"""A meeting's rules, without I/O: its states, who may run it, the speaking order, the timers.

A meeting is planned, then open (the facilitator runs its agenda), then closed (its minutes
are written; the secretary may add notes and publish them). The speaking order is the
circle of those present, starting from a chosen person; the timers run for the speaker and
for the round, and everyone sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from consentir.errors import N_, DomainError


class State(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class Presence(StrEnum):
    INVITED = "invited"  # not recorded yet
    PRESENT = "present"  # in the room
    REMOTE = "remote"  # on the call
    EXCUSED = "excused"
    ABSENT = "absent"

    @property
    def takes_part(self) -> bool:
        """Only those present, in the room or remotely, take part in live rounds."""
        return self in (Presence.PRESENT, Presence.REMOTE)


class Refusal(StrEnum):
    NOT_FACILITATOR = "meeting_not_facilitator"
    NOT_SECRETARY = "meeting_not_secretary"
    NOT_PLANNED = "meeting_not_planned"
    NOT_OPEN = "meeting_not_open"
    NOT_CLOSED = "meeting_not_closed"
    ALREADY_PUBLISHED = "minutes_already_published"
    NO_SUCH_ITEM = "agenda_no_such_item"
    ITEM_STARTED = "agenda_item_started"
    NOBODY_PRESENT = "speaking_nobody_present"
    NOT_PRESENT = "speaking_not_present"
    NO_CIRCLE = "speaking_no_circle"
    STALE = "stale_state"


MESSAGES = {
    Refusal.NOT_FACILITATOR: N_("Only the meeting's facilitator may run it."),
    Refusal.NOT_SECRETARY: N_("Only the meeting's secretary (or its facilitator) may do this."),
    Refusal.NOT_PLANNED: N_("This meeting has already been opened."),
    Refusal.NOT_OPEN: N_("This meeting is not open."),
    Refusal.NOT_CLOSED: N_("The minutes are written when the meeting is closed."),
    Refusal.ALREADY_PUBLISHED: N_("The minutes are published: they no longer change."),
    Refusal.NO_SUCH_ITEM: N_("The agenda has no such item."),
    Refusal.ITEM_STARTED: N_("This item has been taken up already: it stays in the minutes."),
    Refusal.NOBODY_PRESENT: N_("Record who is present before starting a speaking round."),
    Refusal.NOT_PRESENT: N_("The speaking round starts with someone present."),
    Refusal.NO_CIRCLE: N_("No speaking round is under way."),
    Refusal.STALE: N_(
        "The meeting changed since this screen was shown (a second click, or another"
        " screen): here it is now. Check it, then act again if you still want to."
    ),
}


class MeetingRefused(DomainError):
    def __init__(self, refusal: Refusal) -> None:
        forbidden = refusal in (Refusal.NOT_FACILITATOR, Refusal.NOT_SECRETARY)
        super().__init__(str(refusal), MESSAGES[refusal], status=403 if forbidden else 409)
        self.refusal = refusal


@dataclass(frozen=True)
class Roles:
    """Who the viewer is for this meeting."""

    user_id: int
    facilitator: bool  # the meeting's facilitator, or a facilitator of the space standing in
    secretary: bool


def require_fresh(revision: int, seen: int | None) -> None:
    """A console action is decided on the meeting as its screen showed it: if the meeting
    changed since (a double click on "next speaker", another console), it is refused."""
    if seen is not None and seen != revision:
        raise MeetingRefused(Refusal.STALE)


def require_facilitator(roles: Roles) -> None:
    if not roles.facilitator:
        raise MeetingRefused(Refusal.NOT_FACILITATOR)


def require_secretary(roles: Roles) -> None:
    if not (roles.secretary or roles.facilitator):
        raise MeetingRefused(Refusal.NOT_SECRETARY)


def require_state(state: State, wanted: State) -> None:
    if state != wanted:
        raise MeetingRefused(
            {
                State.PLANNED: Refusal.NOT_PLANNED,
                State.OPEN: Refusal.NOT_OPEN,
                State.CLOSED: Refusal.NOT_CLOSED,
            }[wanted]
        )


# --- the speaking order --------------------------------------------------------------------


@dataclass(frozen=True)
class Circle:
    """Who speaks in which order; `index` is whose turn it is (None: the circle is done)."""

    speakers: tuple[int, ...] = ()
    index: int | None = None
    passed: frozenset[int] = frozenset()

    @property
    def current(self) -> int | None:
        return None if self.index is None else self.speakers[self.index]

    @property
    def following(self) -> int | None:
        if self.index is None or self.index + 1 >= len(self.speakers):
            return None
        return self.speakers[self.index + 1]


class Move(StrEnum):
    NEXT = "next"  # the speaker has finished
    PASS = "pass"  # noqa: S105 (a turn, not a password) the speaker passes, kept as "passed"
    SKIP = "skip"  # not now: the speaker goes to the end of the circle
    BACK = "back"  # back to the previous speaker


def start_circle(present: list[int], first: int) -> Circle:
    """The circle of those present (in their seating order), starting from `first`."""
    if not present:
        raise MeetingRefused(Refusal.NOBODY_PRESENT)
    if first not in present:
        raise MeetingRefused(Refusal.NOT_PRESENT)
    at = present.index(first)
    return Circle(tuple(present[at:] + present[:at]), 0, frozenset())


def move(circle: Circle, how: Move) -> Circle:
    if circle.index is None or not circle.speakers:
        raise MeetingRefused(Refusal.NO_CIRCLE)
    last = len(circle.speakers) - 1
    match how:
        case Move.NEXT | Move.PASS:
            passed = circle.passed | {circle.speakers[circle.index]} if how is Move.PASS else (
                circle.passed - {circle.speakers[circle.index]}
            )  # fmt: skip
            index = circle.index + 1 if circle.index < last else None
            return Circle(circle.speakers, index, passed)
        case Move.SKIP:
            speaker = circle.speakers[circle.index]
            rest = circle.speakers[: circle.index] + circle.speakers[circle.index + 1 :]
            speakers = (*rest, speaker)
            # Alone at the end already: skipping changes nothing but the turn stays theirs.
            return Circle(speakers, min(circle.index, last), circle.passed)
        case Move.BACK:
            return replace(circle, index=max(circle.index - 1, 0))
    raise AssertionError(how)


# --- timers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timer:
    """A countdown: `seconds` long; running since `started`, or paused with `left` seconds."""

    seconds: int
    started: datetime | None = None
    left: int | None = None

    def remaining(self, now: datetime) -> int:
        if self.started is not None:
            elapsed = int((now - self.started).total_seconds())
            return max(0, self.seconds - elapsed)
        return self.seconds if self.left is None else self.left

    @property
    def running(self) -> bool:
        return self.started is not None

    def start(self, now: datetime) -> Timer:
        if self.running:
            return self

        done = self.seconds - self.remaining(now)
        return Timer(self.seconds, now - timedelta(seconds=done), None)

    def pause(self, now: datetime) -> Timer:
        if not self.running:
            return self
        return Timer(self.seconds, None, self.remaining(now))

    def reset(self, seconds: int | None = None) -> Timer:
        return Timer(self.seconds if seconds is None else seconds)
