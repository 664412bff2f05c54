"""The election without candidates (élection sans candidat): what an election adds to a
proposal. Pure: no I/O.

An election is a proposal of kind "election" on the consent engine (consent/rules.py runs
its steps). Before the usual consent round come three stages: nominations (each person on
the frozen list nominates someone or passes, with a reason; sealed until revealed), the
reasons round (revealed, grouped by person), and the change round (anyone may move their
nomination, with a reason). Then a facilitator proposes a holder, which publishes a version
naming that person and opens the consent round, where the person proposed answers last
and their own objection means they decline. This module holds the election's part of the
state and what each person may see of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Nomination:
    voter: int
    nominee: int | None  # None: passes
    reason: str = ""
    changed: bool = False  # moved in the change round


@dataclass(frozen=True)
class Ballot:
    """The election's part of a proposal's state."""

    # Who may be nominated and proposed: the space's members who may act when the
    # nominations opened, less those the role's term limit excludes (checked at entry).
    eligible: frozenset[int] = frozenset()
    # The frozen list: who nominates, and who answers the consent rounds (with the person
    # proposed). Fixed when the nominations open.
    participants: frozenset[int] = frozenset()
    nominations: tuple[Nomination, ...] = ()
    nominee: int | None = None  # whom the current version proposes
    declined: frozenset[int] = field(default_factory=frozenset)  # said no in a round
    nominee_last: bool = True  # the person proposed answers once everyone else has
    # An election names people; a cause's scenario choice (causes/choosing.py) runs the same
    # stages over scenarios: a preference names a scenario, the facilitator proposes one, and
    # nobody in the consent round is the one proposed.
    of_people: bool = True

    @property
    def person_proposed(self) -> int | None:
        """Who the current version proposes, in an election (None in a scenario choice)."""
        return self.nominee if self.of_people else None


def visible_nominations(
    nominations: Iterable[T], viewer: int | None, *, sealed: bool, voter: Callable[[T], int]
) -> list[T]:
    """Sealed until revealed: before, each person sees only their own nomination (and
    nobody else sees any: not the facilitator, not the projector). `voter`: who cast one."""
    return [n for n in nominations if not sealed or voter(n) == viewer]


def by_nominee(
    nominations: Iterable[T], key: Callable[[T], int | None]
) -> list[tuple[int | None, list[T]]]:
    """Nominations grouped by the person named (`key`; those who passed last), the most
    named first; no count is shown unless the facilitator chooses to."""
    groups: dict[int | None, list[T]] = {}
    for nomination in nominations:
        groups.setdefault(key(nomination), []).append(nomination)
    return sorted(groups.items(), key=lambda item: (item[0] is None, -len(item[1]), item[0] or 0))


def consecutive_terms(terms: list[tuple[int, int]], start: int) -> int:
    """How many terms in a row end right where the next begins, ending the day before
    `start` (days as ordinals; each term is [first, after_last)): the terms a person would
    be continuing by a new term from `start`."""
    count, edge = 0, start
    for first, after_last in sorted(terms, key=lambda t: t[1], reverse=True):
        if after_last == edge and first < after_last:
            count, edge = count + 1, first
        elif after_last < edge:
            break
    return count


def term_limited(terms: list[tuple[int, int]], start: int, limit: int | None) -> bool:
    """A new term from `start` would go past the role's limit of consecutive terms."""
    return limit is not None and consecutive_terms(terms, start) >= limit
