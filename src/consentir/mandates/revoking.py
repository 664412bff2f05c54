"""Revoking a mandate (issue 11 §1): a mandate ends before its term only by its holder's
resignation or by a decision that revokes it.

Any member who may take part proposes it, from the role's page or the mandate register
(mandates/revoke_routes.py): a proposal of kind "revocation" naming the mandate and,
optionally, its last day (none: the day the proposal is adopted). It goes through the consent
process like any proposal; its page shows the mandate it revokes (`under_revocation`). Its
adoption ends the mandate in the same transaction (`adopted`, called by consent/store.py next
to the role, election and review adoptions):

- the mandate's last day is the day proposed; the day of adoption if none was, or if the one
  proposed has passed meanwhile (a decision never takes back days already lived under a
  mandate: rules.revoke); its seat is free from the next day;
- end_reason 'revoked', revoking_decision_id the revocation's own decision, the running term
  cut as a resignation cuts it (`granted * daterange(NULL, last + 1)`), journaled
  ("mandate.revoked");
- the holder is told their last day (the "your mandate ends on" notice);
- a mandate over, or whose early end was recorded meanwhile (a resignation, another
  revocation, the role retired), is refused in words (409), and nothing of the adoption is
  written: a facilitator then closes the proposal without consent.
"""

from __future__ import annotations

from datetime import date

import msgspec

from consentir import journal
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.mandates import rules, store
from consentir.mandates.rules import EndReason
from consentir.mandates.store import Held

ENDED_MEANWHILE = N_(
    "The mandate to revoke has ended meanwhile, or its early end is already recorded (its last"
    " day: %(day)s): this revocation cannot be adopted; close it without consent."
)


async def open_revocation(
    conn: Connection,
    space_id: int,
    proposal_id: int,
    held: Held,
    last_day: date | None,
    actor_id: int,
) -> None:
    """Make the draft `proposal_id` (just created, in this transaction) the revocation of
    `held` (read with `store.held_mandate(lock=True)`, accepted by `rules.revocation_day`)."""
    await conn.execute(
        """UPDATE proposals SET kind = 'revocation', revokes_mandate = $3, revokes_last_day = $4
           WHERE id = $1 AND space_id = $2""",
        proposal_id,
        space_id,
        held.id,
        last_day,
    )
    await journal.append(
        conn, action="mandate.revocation_proposed", subject_type="mandate", subject_id=held.id,
        space_id=space_id, actor_id=actor_id,
        data={"proposal": proposal_id,
              "last_day": last_day.isoformat() if last_day else None},
    )  # fmt: skip


_ADOPTED = """
SELECT p.revokes_mandate, p.revokes_last_day, d.id AS decision_id, d.number
FROM proposals p
JOIN decisions d ON d.proposal_id = p.id
WHERE p.id = $1 AND p.space_id = $2 AND p.kind = 'revocation'
"""


async def adopted(
    conn: Connection, space_id: int, proposal_id: int, actor_id: int | None
) -> int | None:
    """After a decision is adopted, in its transaction: a revocation ends the mandate it
    names. The mandate's id, or None for any other proposal. A mandate over, or whose early
    end was recorded meanwhile, is refused in words (409), and the whole step with it."""
    row = await conn.fetchrow(_ADOPTED, proposal_id, space_id)
    if row is None:
        return None
    held = await store.held_mandate(conn, space_id, row["revokes_mandate"], lock=True)
    day = store.today()
    try:
        last = rules.revoke(held.mandate, row["revokes_last_day"], day)
    except DomainError:
        raise DomainError("mandate_ended", ENDED_MEANWHILE, status=409,
                          params={"day": held.term.last}) from None  # fmt: skip
    await store.end_mandate(conn, held, last, EndReason.REVOKED, row["decision_id"])
    await journal.append(
        conn, action="mandate.revoked", subject_type="mandate", subject_id=held.id,
        space_id=space_id, actor_id=actor_id,
        data={"last_day": last.isoformat(), "decision": row["number"], "proposal": proposal_id},
    )  # fmt: skip
    await store.tell_holders(conn, [(held, last)], day)
    return held.id


# --- the revocation's part of the proposal page ---------------------------------------------


class Revocation(msgspec.Struct, frozen=True):
    """What a revocation's page shows of the mandate it revokes: the mandate as it is now
    (role, seat, holder, term, how it ended), the last day proposed, and whether this
    proposal's decision revoked it."""

    mandate: Held
    last_day: date | None  # the last day proposed; None: the day the proposal is adopted
    decision: str | None  # this proposal's decision, once adopted
    running: bool  # the mandate runs after today with no early end recorded

    @property
    def revoked(self) -> bool:
        """Revoked by this proposal's decision."""
        return self.decision is not None and self.mandate.revoked_by == self.decision


async def under_revocation(conn: Connection, space_id: int, proposal_id: int) -> Revocation | None:
    """The mandate the proposal `proposal_id` revokes, if it is a revocation (two statements
    for a revocation, one otherwise)."""
    row = await conn.fetchrow(
        """SELECT p.revokes_mandate, p.revokes_last_day,
                  (SELECT d.number FROM decisions d WHERE d.proposal_id = p.id) AS decision
           FROM proposals p
           WHERE p.id = $1 AND p.space_id = $2 AND p.kind = 'revocation'""",
        proposal_id,
        space_id,
    )
    if row is None:
        return None
    held = await store.held_mandate(conn, space_id, row["revokes_mandate"])
    running = held.ended_on is None and held.term.after_last > store.today()
    return Revocation(held, row["revokes_last_day"], row["decision"], running)
