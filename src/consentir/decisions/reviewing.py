"""Reviewing a decision (issue 11 §5): at review, a decision is confirmed, amended or
repealed, by consent.

A facilitator opens a review (decisions/review_routes.py): a proposal of kind "review" that
names the decision it reviews and the outcome it proposes: confirm (with the date of the next
review), amend (the proposal's text is the decision's new text) or repeal. It goes through
the consent process like any proposal; its page shows the decision and the concerns kept
when it was adopted. Its adoption applies the outcome in the same transaction (`adopted`,
called by consent/store.py next to the role and election adoptions):

- confirm: the decision's review date becomes the new one (announced again when it comes);
- amend: the review's own decision supersedes it;
- repeal: the review's own decision repeals it.

A decision's status is never stored: it is derived from the links (the `decision_states`
view, sql/migrations/0016_decision_reviews.sql).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import msgspec

from consentir import journal
from consentir.db import Connection
from consentir.decisions.store import NOT_FOUND
from consentir.errors import N_, DomainError

Outcome = Literal["confirm", "amend", "repeal"]
# What a review may propose: as an action (a link, a choice of the form) and as a name.
OUTCOMES: dict[str, str] = {
    "confirm": N_("confirm it"),
    "amend": N_("amend it"),
    "repeal": N_("repeal it"),
}
OUTCOME_NAMES: dict[str, str] = {
    "confirm": N_("confirmation"),
    "amend": N_("amendment"),
    "repeal": N_("repeal"),
}

NOT_IN_FORCE = N_("This decision is no longer in force: there is nothing to review.")
RECORD_OF_A_REVIEW = N_(
    "This decision records the review of another decision: review that one instead."
)
UNDER_WAY = N_("A review of this decision is already under way.")
ENDED_MEANWHILE = N_(
    "The decision under review is no longer in force (another decision ended it meanwhile):"
    " this review cannot be adopted; close it without consent."
)


class Reviewed(msgspec.Struct, frozen=True):
    """A decision as its review needs it."""

    id: int
    number: str
    title: str
    driver: str
    body: str
    review_on: date
    status: str  # in_force | superseded | repealed
    reviewable: bool
    under_way: int | None = None  # the review under way (its proposal), a draft included
    under_way_title: str | None = None


_REVIEWED = """
SELECT d.id, d.number, d.title, d.driver, d.body, d.review_on, st.status, st.reviewable,
       rp.id AS under_way, rp.title AS under_way_title
FROM decisions d
JOIN decision_states st ON st.decision_id = d.id
LEFT JOIN proposals rp ON rp.review_of = d.id AND rp.closed_at IS NULL
WHERE d.space_id = $1 AND d.number = $2
"""


async def reviewed(conn: Connection, space_id: int, number: str, *, lock: bool = False) -> Reviewed:
    """The decision `number` of the space (404 otherwise). With `lock`, its row stays locked
    until the transaction ends: two reviews of it are opened one after the other."""
    if lock:
        found = await conn.fetchval(
            "SELECT id FROM decisions WHERE space_id = $1 AND number = $2 FOR UPDATE",
            space_id,
            number,
        )
        if found is None:
            raise DomainError("decision_not_found", NOT_FOUND, status=404)
    row = await conn.fetchrow(_REVIEWED, space_id, number)
    if row is None:
        raise DomainError("decision_not_found", NOT_FOUND, status=404)
    return Reviewed(**dict(row))


def refusal(decision: Reviewed) -> DomainError | None:
    """Why a review of this decision cannot be opened now, if it cannot."""
    if decision.status != "in_force":
        return DomainError("decision_not_in_force", NOT_IN_FORCE, status=409)
    if not decision.reviewable:
        return DomainError("decision_records_a_review", RECORD_OF_A_REVIEW, status=409)
    if decision.under_way is not None:
        return DomainError("review_under_way", UNDER_WAY, status=409)
    return None


async def open_review(
    conn: Connection,
    space_id: int,
    proposal_id: int,
    decision: Reviewed,
    outcome: Outcome,
    next_review_on: date | None,
    actor_id: int,
) -> None:
    """Make the draft `proposal_id` (just created, in this transaction) the review of
    `decision` (locked by `reviewed(lock=True)` and accepted by `refusal`)."""
    await conn.execute(
        """UPDATE proposals SET kind = 'review', review_of = $3, review_outcome = $4,
                  review_next_on = $5
           WHERE id = $1 AND space_id = $2""",
        proposal_id,
        space_id,
        decision.id,
        outcome,
        next_review_on if outcome == "confirm" else None,
    )
    data: dict[str, Any] = {"number": decision.number, "outcome": outcome, "proposal": proposal_id}
    if outcome == "confirm" and next_review_on is not None:
        data["review_on"] = next_review_on.isoformat()
    await journal.append(
        conn, action="decision.review_opened", subject_type="decision", subject_id=decision.id,
        space_id=space_id, actor_id=actor_id, data=data,
    )  # fmt: skip


_ADOPTED = """
SELECT p.review_of, p.review_outcome, p.review_next_on, d.id AS decision_id, d.number,
       o.number AS reviewed_number
FROM proposals p
JOIN decisions d ON d.proposal_id = p.id
JOIN decisions o ON o.id = p.review_of AND o.space_id = p.space_id
WHERE p.id = $1 AND p.space_id = $2 AND p.kind = 'review'
"""


async def adopted(
    conn: Connection, space_id: int, proposal_id: int, actor_id: int | None
) -> str | None:
    """After a decision is adopted, in its transaction: a review applies its outcome to the
    decision it reviews. The outcome, or None for any other proposal. A decision another one
    ended meanwhile is refused in words, and the whole step with it."""
    row = await conn.fetchrow(_ADOPTED, proposal_id, space_id)
    if row is None:
        return None
    outcome, target = row["review_outcome"], row["review_of"]
    data: dict[str, Any] = {"number": row["reviewed_number"], "outcome": outcome,
                            "by": row["number"]}  # fmt: skip
    if outcome == "confirm":
        in_force = await conn.fetchval(
            "SELECT in_force FROM decision_states WHERE decision_id = $1", target
        )
        if not in_force:
            raise DomainError("reviewed_decision_ended", ENDED_MEANWHILE, status=409)
        # Announced again when the new date comes; the review's own decision, which records
        # the confirmation, carries the same date (it is not reviewed on its own).
        await conn.execute(
            """UPDATE decisions SET review_on = $3,
                      review_announced_on = CASE WHEN id = $1 THEN NULL
                                                 ELSE review_announced_on END
               WHERE id IN ($1, $2)""",
            target,
            row["decision_id"],
            row["review_next_on"],
        )
        data["review_on"] = row["review_next_on"].isoformat()
    else:
        await conn.execute(
            """INSERT INTO decision_links (target_id, decision_id, space_id, kind)
               VALUES ($1, $2, $3, $4) ON CONFLICT (target_id) DO NOTHING""",
            target,
            row["decision_id"],
            space_id,
            "repeals" if outcome == "repeal" else "supersedes",
        )
        ended_by = await conn.fetchval(
            "SELECT decision_id FROM decision_links WHERE target_id = $1", target
        )
        if ended_by != row["decision_id"]:  # (its own "supersedes" list may have ended it)
            raise DomainError("reviewed_decision_ended", ENDED_MEANWHILE, status=409)
    await journal.append(
        conn, action="decision.reviewed", subject_type="decision", subject_id=target,
        space_id=space_id, actor_id=actor_id, data=data,
    )  # fmt: skip
    return str(outcome)


# --- the review's part of the proposal page ------------------------------------------------


class Concern(msgspec.Struct, frozen=True):
    person: str
    reason: str


class UnderReview(msgspec.Struct, frozen=True):
    """What a review's page shows of the decision it reviews (consent/store.py `detail` reads
    it in its own statement): the decision, its status now, the outcome proposed, and the
    concerns kept when it was adopted (positions "concern" of the round that adopted it)."""

    number: str
    title: str
    review_on: date
    status: str
    outcome: Outcome
    concerns: list[Concern]
    next_review_on: date | None = None


def under_review(raw: Any) -> UnderReview | None:
    """The `review` column of the proposal's detail (JSON), if the proposal is a review."""
    return None if raw is None else msgspec.convert(raw, UnderReview)
