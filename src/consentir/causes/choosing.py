"""Choosing a cause's scenario by consent (issue 12 §4): a proposal of kind "choice" on the
consent engine, whose stages are an election's run over scenarios (consent/rules.py, with a
Ballot `of_people=False`):

1. clarify: questions, each about a scenario (or the choice as a whole), answered by who
   opened the choice;
2. preferences (the "nominate" stage): each person on the list, frozen when the choice opens,
   says which scenario they prefer (or none) with a reason, sealed until everyone has said
   or the deadline has passed;
3. the reasons round (revealed, grouped by scenario), then the change round (anyone may move
   their preference, with a reason);
4. the facilitator proposes one scenario: the proposal's new version names that scenario's
   current version (a merge is first written as a new version of a scenario); the consent
   round opens on it; an objection judged valid is integrated by a new scenario version,
   proposed again (a new version of the proposal);
5. the adoption names the chosen version; in its transaction the other scenarios are set aside
   (still readable) and the chosen version's actions become the cause's action list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from consentir.causes import acting, scenarios
from consentir.causes.store import Cause
from consentir.consent import rules as consent_rules
from consentir.db import Connection
from consentir.elections import store as elections
from consentir.errors import N_, DomainError
from consentir.spaces.store import Space
from consentir.web.i18n import format_day, gettext

if TYPE_CHECKING:  # (the consent store imports this module)
    from consentir.consent.store import Content

NO_SCENARIO = N_("Draft at least one scenario before the choice opens.")
NOT_A_SCENARIO = N_("This scenario is not one of this choice's.")


async def open_choice(
    conn: Connection, space: Space, actor: consent_rules.Actor, cause: Cause, content: Content
) -> int:
    """The draft choice of the cause (its cause locked by the caller): refused while the plan
    is not open, or while another choice is under way."""
    from consentir.causes import proposing  # (proposing imports the consent store)

    proposal_id = await proposing.propose(conn, space, actor, cause, "choice", content)
    await conn.execute(
        "INSERT INTO scenario_choices (proposal_id, cause_id) VALUES ($1, $2)",
        proposal_id,
        cause.id,
    )
    return proposal_id


async def open_preferences(
    conn: Connection, proposal_id: int, participants: frozenset[int]
) -> frozenset[int]:
    """As the choice opens: the scenarios it is about (those of the cause not set aside, with
    a version) and who takes part, both fixed now; the scenario ids, for the rules."""
    rows = await conn.fetch(
        """SELECT s.id FROM scenario_choices c JOIN scenarios s ON s.cause_id = c.cause_id
           WHERE c.proposal_id = $1 AND s.set_aside_at IS NULL
             AND EXISTS (SELECT 1 FROM scenario_versions v WHERE v.scenario_id = s.id)""",
        proposal_id,
    )
    eligible = frozenset(int(r["id"]) for r in rows)
    if not eligible:
        raise DomainError("no_scenario", NO_SCENARIO, status=409)
    await conn.execute(
        "UPDATE scenario_choices SET eligible = $2, participants = $3 WHERE proposal_id = $1",
        proposal_id,
        sorted(eligible),
        sorted(participants),
    )
    return eligible


async def keep_preference(
    conn: Connection,
    proposal_id: int,
    round_id: int | None,
    voter: int,
    scenario_id: int | None,
    reason: str,
    *,
    changed: bool,
) -> int:
    """A preference (or none); the voter's previous one stays on record, superseded."""
    return await elections.keep_ballot_entry(
        conn, "preferences", proposal_id, round_id, voter, scenario_id, reason, changed=changed
    )


async def proposal_text(
    conn: Connection, proposal_id: int, scenario_id: int, reasons: str
) -> tuple[str, int]:
    """The text of the version that proposes `scenario_id` (its current version, in the
    writer's language), and that scenario version's id, which the proposal's version names."""
    row = await conn.fetchrow(
        """SELECT s.id, s.letter, s.title FROM scenario_choices c
           JOIN scenarios s ON s.cause_id = c.cause_id AND s.id = $2
           WHERE c.proposal_id = $1""",
        proposal_id,
        scenario_id,
    )
    if row is None:
        raise DomainError("scenario_not_in_choice", NOT_A_SCENARIO, status=404, field="nominee")
    version_id = await scenarios.latest_version_id(conn, scenario_id)
    if version_id is None:  # (a scenario is drafted with its first version)
        raise DomainError("scenario_not_in_choice", NOT_A_SCENARIO, status=404, field="nominee")
    version = await conn.fetchrow(
        "SELECT number, summary FROM scenario_versions WHERE id = $1", version_id
    )
    assert version is not None
    actions = await conn.fetch(
        """SELECT a.what, a.due_on, coalesce(u.name, r.name) AS who
           FROM scenario_actions a
           LEFT JOIN users u ON u.id = a.who_user
           LEFT JOIN roles ro ON ro.id = a.who_role
           LEFT JOIN role_versions r ON r.role_id = ro.id AND r.number = ro.version
           WHERE a.version_id = $1 ORDER BY a.position""",
        version_id,
    )
    lines = [
        "- " + a["what"]
        + (f" ({a['who']})" if a["who"] else "")
        + (f", {format_day(a['due_on'])}" if a["due_on"] else "")
        for a in actions
    ]  # fmt: skip
    parts = [
        gettext("Scenario %(letter)s, version %(number)s: “%(title)s”.")
        % {"letter": row["letter"], "number": version["number"], "title": row["title"]},
        version["summary"],
    ]
    if lines:
        parts += ["# " + gettext("Its actions"), "\n".join(lines)]
    parts += ["# " + gettext("Why this scenario"), reasons.strip()]
    return "\n\n".join(parts), int(version_id)


async def adopted(
    conn: Connection, space_id: int, cause_id: int, proposal_id: int, decision_id: int
) -> None:
    """The choice's adoption, in its transaction: the chosen version's actions become the
    action list, the other scenarios are set aside."""
    row = await conn.fetchrow(
        """SELECT v.scenario_version_id, sv.scenario_id
           FROM decisions d
           JOIN proposal_versions v ON v.proposal_id = d.proposal_id AND v.number = d.version
           JOIN scenario_versions sv ON sv.id = v.scenario_version_id
           WHERE d.id = $1""",
        decision_id,
    )
    assert row is not None, "a choice is adopted on a version that names a scenario"
    await acting.create_list(conn, cause_id, decision_id, row["scenario_version_id"])
    await scenarios.set_aside_others(conn, cause_id, row["scenario_id"])
