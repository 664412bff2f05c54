"""What an election's version says, written once into its text: who is proposed for which
seat and term, then the facilitator's reasons. Written in the language of the person who
proposes (the request's), like any text they write; the register searches and exports it.
"""

from __future__ import annotations

from consentir.errors import N_
from consentir.mandates.rules import Term
from consentir.web.i18n import format_day, gettext

PROPOSED = N_("%(name)s is proposed for the role %(role)s%(seat)s, from %(start)s to %(end)s.")
SEAT = N_(" (seat %(seat)s)")


def statement(name: str, role: str, seat: int, seats: int, term: Term, reasons: str) -> str:
    """The version's text: the proposal in one sentence, a blank line, the reasons."""
    where = gettext(SEAT) % {"seat": seat} if seats > 1 else ""
    said = gettext(PROPOSED) % {
        "name": name, "role": role, "seat": where,
        "start": format_day(term.first), "end": format_day(term.last),
    }  # fmt: skip
    return f"{said}\n\n{reasons.strip()}"
