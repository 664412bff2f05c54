"""The bilan of a cause (issue 12 §5): its whole journey on one printable page, read in a
fixed number of statements whatever its size (a dozen at most: the cause is read by the
caller with store.cause).

What it reads, as far as the cause has come: every decision of the cause (taking it on with
its three criteria answered, objectives, the scenario choice, the evaluation), the field
observation (how many observations, the latest few; the actors for the space's members only,
never a private individual's name), the objectives and their criteria with their results
(baseline → latest effective measurement → target, progress: causes/progress.py through
measuring.py), the scenarios (the chosen version with its actions, those set aside), the
current action list with its execution progress, the celebration.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from consentir.causes import acting, celebrating, measuring, objectives, observing, scenarios
from consentir.causes.acting import Execution, Item
from consentir.causes.celebrating import Celebration
from consentir.causes.measuring import Series
from consentir.causes.objectives import Objective
from consentir.causes.observing import Actor
from consentir.causes.scenarios import Listed, Version
from consentir.causes.store import Cause, Purpose
from consentir.db import Connection

LATEST_OBSERVATIONS = 5  # the observations the bilan lists (the count says how many in all)
MAX_DECISIONS = 200  # decisions of one cause the bilan lists


class Decided(msgspec.Struct, frozen=True):
    """A decision of the cause: its proposal's purpose, the text adopted, and what the
    purpose adds (the three criteria answered; the scenario version chosen)."""

    proposal_id: int
    purpose: Purpose
    number: str
    title: str
    adopted_at: datetime
    body: str  # the text adopted (Markdown)
    meets_values: str | None
    meets_mobilised: str | None
    meets_impact: str | None
    reopens_plan: bool
    scenario_version_id: int | None  # a choice: the scenario version it chose


class Noted(msgspec.Struct, frozen=True):
    """An observation, as the bilan lists it."""

    id: int
    kind: observing.ObservationKind
    title: str
    source: str
    observed_on: date


class Bilan(msgspec.Struct, frozen=True):
    decisions: list[Decided]  # oldest first
    observed: int  # observations in all
    observations: list[Noted]  # the latest observed first, at most LATEST_OBSERVATIONS
    actors: list[Actor] | None  # None: not shown to this reader (not a member)
    objectives: list[Objective]  # oldest first, with their criteria
    series: dict[int, Series]  # by criterion: those of adopted objectives, complete
    scenarios: list[Listed]  # A first
    chosen: Version | None  # the version the latest choice decision chose, with its actions
    items: list[Item]  # the current action list, by position
    earlier_items: int  # actions of earlier lists (an evaluation reopened the plan)
    execution: Execution  # of the current list
    celebration: Celebration | None

    def latest(self, purpose: Purpose) -> Decided | None:
        """The latest decision of this purpose (a reopened plan is chosen again)."""
        return next((d for d in reversed(self.decisions) if d.purpose == purpose), None)

    @property
    def taken_on(self) -> Decided | None:
        return self.latest("take_on")

    @property
    def choice(self) -> Decided | None:
        return self.latest("choice")

    @property
    def evaluation(self) -> Decided | None:
        return self.latest("evaluation")

    @property
    def set_aside(self) -> list[Listed]:
        return [s for s in self.scenarios if s.set_aside_at is not None]


_DECISIONS = """
SELECT cp.proposal_id, cp.purpose, d.number, d.title, d.adopted_at, d.body, cp.meets_values,
       cp.meets_mobilised, cp.meets_impact, cp.reopens_plan, pv.scenario_version_id
FROM cause_proposals cp
JOIN decisions d ON d.proposal_id = cp.proposal_id
JOIN proposal_versions pv ON pv.proposal_id = d.proposal_id AND pv.number = d.version
WHERE cp.cause_id = $1 AND cp.space_id = $2
ORDER BY d.adopted_at, d.id
LIMIT $3
"""

_OBSERVATIONS = """
SELECT o.id, o.kind, o.title, o.source, o.observed_on, count(*) OVER () AS observed
FROM observations o
WHERE o.cause_id = $1
ORDER BY o.observed_on DESC, o.id DESC
LIMIT $2
"""


async def journey(conn: Connection, cause: Cause, *, with_actors: bool, today: date) -> Bilan:
    """What the bilan shows of `cause` (read with store.cause): at most ten statements,
    whatever the number of its observations, actors, measurements or actions. The actors
    only `with_actors` (the space's members)."""
    rows = await conn.fetch(_DECISIONS, cause.id, cause.space_id, MAX_DECISIONS)
    decisions = [Decided(**dict(r)) for r in rows]
    noted = await conn.fetch(_OBSERVATIONS, cause.id, LATEST_OBSERVATIONS)
    actors = await observing.actors(conn, cause.id) if with_actors else None
    found = await objectives.objectives(conn, cause.id)
    by_criterion: dict[int, list[measuring.Recorded]] = {}
    for recorded in await measuring.measurements(conn, cause.id):
        by_criterion.setdefault(recorded.criterion_id, []).append(recorded)
    series = {
        c.id: measuring.series_of(o, c, by_criterion.get(c.id, []))
        for o in found
        if o.state == "adopted"
        for c in o.criteria
        if c.measured() is not None
    }
    plan = await scenarios.scenarios(conn, cause.id)
    choice = next((d for d in reversed(decisions) if d.purpose == "choice"), None)
    chosen = None
    if choice is not None and choice.scenario_version_id is not None:
        chosen = (await scenarios.versions(conn, cause.id, [choice.scenario_version_id]))[0]
    every = await acting.items(conn, cause.id, today)
    current = [i for i in every if i.current]
    return Bilan(
        decisions=decisions,
        observed=noted[0]["observed"] if noted else 0,
        observations=[Noted(**{k: r[k] for k in Noted.__struct_fields__}) for r in noted],
        actors=actors,
        objectives=found,
        series=series,
        scenarios=plan,
        chosen=chosen,
        items=current,
        earlier_items=len(every) - len(current),
        execution=acting.execution(current),
        celebration=await celebrating.celebration(conn, cause.id),
    )
