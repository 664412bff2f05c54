"""Mandates: terms, who may end them, and how a refused overlap is told. Pure: no I/O.

A term is a range of days [first, after_last): `Term(date(2026, 4, 1), date(2027, 4, 1))`
runs from 1 April 2026 to 31 March 2027 included. PostgreSQL enforces the same invariants
(sql/migrations/0012_roles_mandates.sql); these rules decide before it and explain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from consentir.decisions.store import add_months
from consentir.errors import N_, DomainError


class EndReason(StrEnum):
    RESIGNED = "resigned"
    REVOKED = "revoked"
    ROLE_RETIRED = "role_retired"


@dataclass(frozen=True)
class Term:
    first: date
    after_last: date  # the day after the last day

    @property
    def last(self) -> date:
        return self.after_last - timedelta(days=1)

    def covers(self, day: date) -> bool:
        return self.first <= day < self.after_last

    def overlaps(self, other: Term) -> bool:
        return self.first < other.after_last and other.first < self.after_last

    @property
    def empty(self) -> bool:
        return self.after_last <= self.first


def term_of(first: date, months: int) -> Term:
    """A term of `months` from `first`: to the day before the same date `months` later."""
    return Term(first, add_months(first, months))


@dataclass(frozen=True)
class Mandate:
    id: int
    holder: int
    seat: int
    granted: Term
    ended_on: date | None = None  # the last day of a mandate ended early

    @property
    def term(self) -> Term:
        """The term as it runs: the granted one, cut short by an early end."""
        if self.ended_on is None:
            return self.granted
        end = min(self.granted.after_last, self.ended_on + timedelta(days=1))
        return Term(self.granted.first, max(end, self.granted.first))

    def grants_rights_on(self, day: date) -> bool:
        """Rights go with the term and end with it: no job needs to run."""
        return self.term.covers(day)


NOT_HOLDER = N_("Only the holder of a mandate can resign from it.")
ALREADY_ENDED = N_("This mandate has already ended.")
LAST_DAY_OUTSIDE = N_("The last day must fall within the term, from today on.")
SEAT_TAKEN = N_("This seat is held until %(last)s; a new term can start on %(next)s.")
HOLDER_TAKEN = N_(
    "%(name)s already holds a seat of this role until %(last)s; a term can start on %(next)s."
)
NO_SUCH_SEAT = N_("This role has %(seats)s seats: choose one of them.")
ENDING_RECORDED = N_(
    "An early end is already recorded for this mandate (its last day: %(day)s): it cannot be"
    " revoked."
)
REVOKE_DAY_OUTSIDE = N_("The last day must be between today and the end of the term (%(last)s).")
ROLE_RETIRED = N_("This role was retired on %(day)s: it gets no new mandate and no election.")


def resign(mandate: Mandate, actor: int, last_day: date, today: date) -> date:
    """The holder's own step: the mandate's last day, from today to the term's last day.
    A successor who has not begun may resign before the first day (the term becomes empty)."""
    if actor != mandate.holder:
        raise DomainError("not_holder", NOT_HOLDER, status=403)
    term = mandate.term
    if mandate.ended_on is not None or term.after_last <= today:
        raise DomainError("mandate_ended", ALREADY_ENDED, status=409)
    # Not before today (no going back); a successor not yet begun may end it before its
    # first day (the term becomes empty).
    earliest = today if term.first <= today else term.first - timedelta(days=1)
    if not earliest <= last_day <= term.last:
        raise DomainError("last_day_outside_term", LAST_DAY_OUTSIDE, field="last_day")
    return last_day


def _still_running(mandate: Mandate, today: date) -> None:
    """Refuse, in words, to end again a mandate that is over or whose early end is recorded."""
    if mandate.term.after_last <= today:
        raise DomainError("mandate_ended", ALREADY_ENDED, status=409)
    if mandate.ended_on is not None:
        raise DomainError("mandate_ending", ENDING_RECORDED, status=409,
                          params={"day": mandate.ended_on})  # fmt: skip


def revocation_day(mandate: Mandate, last_day: date | None, today: date) -> date | None:
    """When a revocation is proposed: the last day it proposes, from today to the term's last
    day (None: the day it is adopted). A mandate not begun yet may be revoked before its
    first day (its term becomes empty)."""
    _still_running(mandate, today)
    if last_day is not None and not today <= last_day <= mandate.term.last:
        raise DomainError("last_day_outside_term", REVOKE_DAY_OUTSIDE, field="last_day",
                          params={"last": mandate.term.last})  # fmt: skip
    return last_day


def revoke(mandate: Mandate, last_day: date | None, today: date) -> date:
    """When a revocation is adopted (`today`): the mandate's last day. The day proposed; the
    day of adoption if none was, or if the one proposed has passed meanwhile (a decision
    never takes back days already lived under a mandate); never past the term's own end.
    A mandate over, or whose early end was recorded meanwhile, is refused (409)."""
    _still_running(mandate, today)
    day = today if last_day is None else max(last_day, today)
    return min(day, mandate.term.last)


def retirement_day(mandate: Mandate, retired_on: date) -> date | None:
    """When a role is retired on `retired_on`: the last day of one of its mandates, if the
    retirement cuts it: every mandate still running after that day ends on it (one not begun
    yet ends before its first day: its term becomes empty). None: over by then."""
    if mandate.term.empty or mandate.term.last <= retired_on:
        return None
    return retired_on


def conflict(term: Term, others: list[Mandate]) -> Mandate | None:
    """The mandate whose running term overlaps `term`, if any (the earliest)."""
    found = [m for m in others if not m.term.empty and m.term.overlaps(term)]
    return min(found, key=lambda m: m.term.first) if found else None


def default_term(seat: list[Mandate], months: int, today: date) -> Term:
    """An election's proposed term by default: from the day after the last day of whoever
    holds the seat (now or next); for a seat left early, the rest of that term; for a seat
    never held, `months` from today."""
    running = [m for m in seat if not m.term.empty and m.term.after_last > today]
    if running:
        return term_of(max(m.term.after_last for m in running), months)
    left = [m for m in seat if m.ended_on is not None and m.granted.after_last > today]
    if left:
        return Term(today, max(m.granted.after_last for m in left))
    return term_of(today, months)
