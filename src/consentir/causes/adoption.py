"""What the adoption of a cause's proposal does, in the adoption's transaction (called by
consent/store.py next to the role, election, review and revocation adoptions):

- take_on, objectives, evaluation: nothing more is written (what the cause has reached is
  derived from these decisions: store.py);
- choice: the chosen version's actions become the cause's tracked action list, and the other
  scenarios are set aside (choosing.py);
- always: the journal records the step, and the cause's followers are told of the decision,
  and of the step it opens (taking on opens the observation, adopted objectives with complete
  criteria the plan, a choice the evaluation, an evaluation the celebration).
"""

from __future__ import annotations

from consentir.causes import choosing, following, rules, store
from consentir.db import Connection
from consentir.notifications.kinds import Kind

# The journal's name for each purpose's adoption.
_EVENT = {
    "take_on": "cause.taken_on",
    "objectives": "cause.objectives_adopted",
    "choice": "cause.scenario_chosen",
    "evaluation": "cause.evaluation_adopted",
}
# The step each purpose's adoption opens (objectives: the plan, once nothing else waits).
_OPENS = {
    "take_on": rules.Step.OBSERVE,
    "objectives": rules.Step.PLAN,
    "choice": rules.Step.EVALUATE,
    "evaluation": rules.Step.CELEBRATE,
}


async def adopted(conn: Connection, space_id: int, proposal_id: int, actor_id: int | None) -> None:
    """The cause's part of the adoption of `proposal_id` (nothing for any other proposal)."""
    row = await conn.fetchrow(
        """SELECT cp.cause_id, cp.purpose, d.id AS decision_id, d.number
           FROM cause_proposals cp JOIN decisions d ON d.proposal_id = cp.proposal_id
           WHERE cp.proposal_id = $1 AND cp.space_id = $2""",
        proposal_id,
        space_id,
    )
    if row is None:
        return
    cause_id, purpose, number = row["cause_id"], row["purpose"], row["number"]
    if purpose == "choice":
        await choosing.adopted(conn, space_id, cause_id, proposal_id, row["decision_id"])
    await following.notify(
        conn, space_id, cause_id, Kind.CAUSE_DECISION, actor_id, {"number": number}
    )
    cause = await store.cause(conn, space_id, cause_id)
    if rules.blocked(cause.facts, _OPENS[purpose]) is None:
        await following.notify(conn, space_id, cause_id, Kind.CAUSE_STEP, actor_id)
    await store.event(
        conn, space_id, cause_id, actor_id, _EVENT[purpose],
        {"decision": number, "proposal": proposal_id},
    )  # fmt: skip
