"""What a scenario choice's proposal page shows of it (causes/choosing.py runs it): the cause,
the scenarios it is about, the preferences as the rules let this viewer see them (sealed:
only their own, until revealed), and the scenario version the current version proposes."""

from __future__ import annotations

from typing import Any

import msgspec

from consentir.consent import rules
from consentir.db import Connection
from consentir.elections.rules import by_nominee, visible_nominations


class Scenario(msgspec.Struct, frozen=True):
    id: int
    letter: str
    title: str
    version_id: int  # its current version
    number: int
    set_aside: bool


class Preference(msgspec.Struct, frozen=True):
    voter_id: int
    voter: str
    scenario_id: int | None
    reason: str
    changed: bool
    current: bool


_CHOICE = """
SELECT c.cause_id, ca.title AS cause_title,
       (SELECT coalesce(json_agg(json_build_array(
                   s.id, s.letter, s.title, v.id, v.number, s.set_aside_at IS NOT NULL)
                 ORDER BY s.letter), '[]')
          FROM scenarios s
          JOIN LATERAL (SELECT id, number FROM scenario_versions
                        WHERE scenario_id = s.id ORDER BY number DESC LIMIT 1) v ON true
         WHERE s.cause_id = c.cause_id
           -- fixed when the choice opens; before, those it would be about
           AND (s.id = ANY (c.eligible) OR cardinality(c.eligible) = 0 AND s.set_aside_at IS NULL)
       ) AS scenarios,
       (SELECT coalesce(json_agg(json_build_array(
                   f.voter_id, u.name, f.scenario_id, f.reason, f.changed,
                   f.superseded_at IS NULL) ORDER BY f.id), '[]')
          FROM preferences f JOIN users u ON u.id = f.voter_id
         WHERE f.proposal_id = c.proposal_id) AS preferences,
       (SELECT json_build_array(sv.id, s.letter, sv.number, s.title, s.id)
          FROM proposals p
          JOIN proposal_versions pv ON pv.proposal_id = p.id AND pv.number = p.version
          JOIN scenario_versions sv ON sv.id = pv.scenario_version_id
          JOIN scenarios s ON s.id = sv.scenario_id
         WHERE p.id = c.proposal_id) AS proposed
FROM scenario_choices c JOIN causes ca ON ca.id = c.cause_id
WHERE c.proposal_id = $1
"""


async def choice_context(
    conn: Connection, state: rules.Proposal, proposal_id: int, viewer_id: int
) -> dict[str, Any] | None:
    """The choice's part of the proposal page (one statement); None for any other proposal."""
    if state.ballot is None or state.ballot.of_people:
        return None
    row = await conn.fetchrow(_CHOICE, proposal_id)
    if row is None:
        return None
    scenarios = [Scenario(*s) for s in row["scenarios"]]
    named = {s.id: s for s in scenarios}
    everything = [Preference(*p) for p in row["preferences"]]
    sealed = rules.nominations_sealed(state)
    current = visible_nominations(
        [p for p in everything if p.current], viewer_id, sealed=sealed, voter=lambda p: p.voter_id
    )
    proposed = row["proposed"]
    return {
        "cause_id": row["cause_id"],
        "cause_title": row["cause_title"],
        "scenarios": scenarios,
        "named": named,
        "sealed": sealed,
        "mine": next((p for p in everything if p.current and p.voter_id == viewer_id), None),
        "groups": by_nominee(current, lambda p: p.scenario_id),
        "earlier": [] if sealed else [p for p in everything if not p.current],
        "choices": [(s.id, f"{s.letter} — {s.title}") for s in scenarios if not s.set_aside],
        "proposed": dict(
            zip(("version_id", "letter", "number", "title", "scenario_id"), proposed, strict=True)
        )
        if proposed
        else None,
        "answered": len(state.round.answered) if state.round else 0,
        "listed": len(state.ballot.participants),
    }
