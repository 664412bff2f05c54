"""The causes' JSON API: objectives, their impact criteria, and the measurements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from consentir import db
from consentir.accounts.store import User
from consentir.causes import (
    measuring,
    objectives,
    store,
)
from consentir.causes.api_common import (
    BASE,
    TAG,
    Amount,
    ProposalMadeOut,
    bounded,
    causes_href,
    describe,
    filled,
    proposal_made,
)
from consentir.causes.objective_routes import ObjectiveForm
from consentir.causes.objectives import Horizon, Kind, ObjectiveText
from consentir.causes.progress import Direction
from consentir.consent.routes import actor_of, require_participant
from consentir.mandates.routes import today
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency

# --- objectives and impact criteria ----------------------------------------------------------


class CriterionOut(msgspec.Struct):
    """An impact criterion: a number (`unit`, `direction`), a ladder (`steps`; its baseline
    and target are step indexes, 0 for the first) or yes or no (baseline 0, target 1);
    baseline and target each with its date (null while drafting). `state`: its
    objective's."""

    id: int
    objective_id: int
    name: str
    kind: Kind
    unit: str
    direction: Direction
    steps: list[str]
    baseline: Decimal | None
    baseline_on: date | None
    target: Decimal | None
    target_on: date | None
    source: str
    method: str
    complete: bool  # baseline and target both set
    state: objectives.State


class ObjectiveOut(msgspec.Struct):
    """An objective: draft (it may change), proposed (its proposal under way: locked) or
    adopted (by `decision`: kept as adopted)."""

    id: int
    horizon: Horizon
    title: str
    victory: str
    state: objectives.State
    proposal_id: int | None
    decision: str | None
    created_at: datetime
    criteria: list[CriterionOut]


class ObjectiveListOut(msgspec.Struct):
    objectives: list[ObjectiveOut]


def _criterion_out(c: objectives.Criterion, state: objectives.State) -> CriterionOut:
    return CriterionOut(
        id=c.id, objective_id=c.objective_id, name=c.name, kind=c.kind, unit=c.unit,
        direction=c.direction, steps=list(c.steps), baseline=c.baseline,
        baseline_on=c.baseline_on, target=c.target, target_on=c.target_on, source=c.source,
        method=c.method, complete=c.complete, state=state,
    )  # fmt: skip


def _objective_out(o: objectives.Objective) -> ObjectiveOut:
    return ObjectiveOut(
        id=o.id, horizon=o.horizon, title=o.title, victory=o.victory, state=o.state,
        proposal_id=o.proposal_id, decision=o.decision_number, created_at=o.created_at,
        criteria=[_criterion_out(c, o.state) for c in o.criteria],
    )  # fmt: skip


def _objective_href(here: SpaceView, cause_id: int, objective_id: int) -> str:
    return f"{causes_href(here)}/{cause_id}/objectives/{objective_id}"


@get(BASE + "/{cause_id:int}/objectives", tags=TAG,
     summary="A cause's objectives with their impact criteria")  # fmt: skip
async def api_objectives(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> ObjectiveListOut:
    """Oldest first, each with its state and its criteria."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        found = await objectives.objectives(conn, cause.id)
    return ObjectiveListOut([_objective_out(o) for o in found])


@get(BASE + "/{cause_id:int}/objectives/{objective_id:int}", tags=TAG,
     summary="An objective with its impact criteria")  # fmt: skip
async def api_objective(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
) -> ObjectiveOut:
    """Its state and its criteria; an objective of another cause: 404."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        return _objective_out(await objectives.objective(conn, cause.id, objective_id))


class ObjectiveIn(ObjectiveForm, boundary.Input, kw_only=True):
    """An objective: its horizon (long, intermediate, short term), title, and what counts
    as a victory."""


@post(BASE + "/{cause_id:int}/objectives", tags=TAG, status_code=201,
      summary="Add an objective to a cause")  # fmt: skip
async def api_add_objective(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[ObjectiveIn],
) -> Response[ObjectiveOut]:
    """A draft, once the cause is taken on. Accepts an `Idempotency-Key` header."""
    require_participant(here, me)
    filled(title=data.title, victory=data.victory)

    async def make(conn: db.Connection) -> tuple[ObjectiveOut, str]:
        text = ObjectiveText(data.horizon, data.title, data.victory)
        made = await objectives.add_objective(conn, here.space.id, cause_id, me.id, text)
        written = await objectives.objective(conn, cause_id, made)
        return _objective_out(written), _objective_href(here, cause_id, made)

    return await idempotency.created(pool, request, me.id, data, make)


Step = Annotated[boundary.OneLine, msgspec.Meta(max_length=200)]


class CriterionIn(boundary.Input, kw_only=True):
    """An impact criterion of a draft objective: a number (`unit`, `direction`), a ladder of
    2 to 12 `steps` (`baseline` and `target` are step indexes, 0 for the first) or yes or no
    (only the dates: the baseline is no, the target yes). Baseline and target may wait (the
    plan waits for them); each comes with its date."""

    kind: Kind
    name: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
    unit: Annotated[boundary.OneLine, msgspec.Meta(max_length=40)] = ""
    direction: Direction = Direction.UP
    steps: Annotated[list[Step], boundary.Items] = msgspec.field(default_factory=list)
    baseline: Amount | None = None
    baseline_on: date | None = None
    target: Amount | None = None
    target_on: date | None = None
    source: Annotated[boundary.OneLine, msgspec.Meta(max_length=500)] = ""
    method: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""


@post(BASE + "/{cause_id:int}/objectives/{objective_id:int}/criteria", tags=TAG,
      status_code=201, summary="Add an impact criterion to a draft objective")  # fmt: skip
async def api_add_criterion(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
    data: JSONBody[CriterionIn],
) -> Response[CriterionOut]:
    """An objective proposed or adopted: 409 (`objective_proposed`, `objective_adopted`); what
    cannot be measured against (a target on the wrong side, a date without its value…): 422
    naming the field. `Location`: the objective. Accepts an `Idempotency-Key` header."""
    require_participant(here, me)
    filled(name=data.name)
    bounded(data.baseline, "baseline")
    bounded(data.target, "target")
    text = objectives.CriterionText(
        name=data.name, kind=data.kind, unit=data.unit, direction=data.direction,
        steps=tuple(data.steps), baseline=data.baseline, baseline_on=data.baseline_on,
        target=data.target, target_on=data.target_on, source=data.source, method=data.method,
    )  # fmt: skip

    async def make(conn: db.Connection) -> tuple[CriterionOut, str]:
        made = await objectives.add_criterion(
            conn, here.space.id, cause_id, objective_id, me.id, text
        )
        objective = await objectives.objective(conn, cause_id, objective_id)
        written = objectives.criterion_of(objective, made)
        return _criterion_out(written, objective.state), _objective_href(here, cause_id,
                                                                          objective_id)  # fmt: skip

    return await idempotency.created(pool, request, me.id, data, make)


class NothingIn(boundary.Input, kw_only=True):
    """No field."""


@post(BASE + "/{cause_id:int}/objectives/propose", tags=TAG, status_code=201,
      summary="Propose the cause's draft objectives for consent")  # fmt: skip
async def api_propose_objectives(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[NothingIn | None] = None,
) -> Response[ProposalMadeOut]:
    """A draft proposal listing every objective not adopted nor proposed, with its criteria;
    they are locked while it is under way. Nothing to propose (`nothing_to_propose`), a
    proposal under way (`cause_proposal_under_way`), an objective without a complete
    criterion (`objective_without_criterion`, `criterion_without_baseline_or_target`): 409.
    Accepts an `Idempotency-Key` header."""
    require_participant(here, me)

    async def make(conn: db.Connection) -> tuple[ProposalMadeOut, str]:
        proposal_id = await objectives.propose(conn, here.space, actor_of(here, me), cause_id)
        return proposal_made(here, proposal_id)

    return await idempotency.created(pool, request, me.id, data or NothingIn(), make)


# --- measurements --------------------------------------------------------------------------


class MeasurementOut(msgspec.Struct):
    """A measurement as recorded: `value` a number, a ladder's step index (0 for the first)
    or 1/0 for yes/no; `said` the same in words. A corrected one stays recorded
    (`corrected_by`), out of effect."""

    id: int
    measured_on: date
    value: Decimal
    said: str
    source: str
    confidence: measuring.ConfidenceName
    corrects: int | None
    corrected_by: int | None
    in_effect: bool
    author: str
    created_at: datetime


class SeriesOut(msgspec.Struct):
    """A criterion of an adopted objective, with its measurements (by date, then id): the
    value in effect (`latest`, the last of the series as it stands) and the progress,
    (latest − baseline) / (target − baseline) bounded to 0…1 (null: nothing measured)."""

    criterion: CriterionOut
    measurements: list[MeasurementOut]
    latest: MeasurementOut | None
    progress: float | None
    percent: int | None


def _series_out(series: measuring.Series) -> SeriesOut:
    found = series.criterion
    in_effect = series.in_effect
    out = [
        MeasurementOut(
            id=r.id, measured_on=r.measured_on, value=r.value, said=measuring.said(found, r.value),
            source=r.source, confidence=r.confidence, corrects=r.corrects,
            corrected_by=series.corrected_by.get(r.id), in_effect=r.id in in_effect,
            author=r.author_name, created_at=r.created_at,
        )
        for r in series.recorded
    ]  # fmt: skip
    latest = series.latest
    return SeriesOut(
        criterion=_criterion_out(found, series.objective.state), measurements=out,
        latest=next((m for m in out if m.id == latest.id), None) if latest else None,
        progress=float(series.reached) if series.reached is not None else None,
        percent=series.percent,
    )  # fmt: skip


async def _series(conn: db.Connection, here: SpaceView, cause_id: int, criterion_id: int) -> (
    measuring.Series
):  # fmt: skip
    cause = await store.cause(conn, here.space.id, cause_id)
    objective, found = await measuring.criterion(conn, cause.id, criterion_id)
    recorded = await measuring.measurements(conn, cause.id, criterion_id)
    return measuring.series_of(objective, found, recorded)


def _measurements_href(here: SpaceView, cause_id: int, criterion_id: int) -> str:
    return f"{causes_href(here)}/{cause_id}/criteria/{criterion_id}/measurements"


@get(BASE + "/{cause_id:int}/criteria/{criterion_id:int}/measurements", tags=TAG,
     summary="A criterion's measurements, the value in effect and the progress")  # fmt: skip
async def api_measurements(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    criterion_id: FromPath[int],
) -> SeriesOut:
    """A criterion of an adopted objective (any other: 404)."""
    async with pool.acquire() as conn:
        return _series_out(await _series(conn, here, cause_id, criterion_id))


MeasuredValue = bool | int | float | Annotated[boundary.OneLine, msgspec.Meta(max_length=40)]


class MeasurementIn(boundary.Input, kw_only=True):
    """A measurement, or the correction of one (`corrects`): its day (today at the latest),
    its value (a number, as a JSON number or a string like "12.5"; a ladder step's index,
    0 for the first; true or false for yes or no), its source and confidence."""

    measured_on: date
    value: MeasuredValue
    source: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=500)]
    confidence: measuring.ConfidenceName = "medium"
    corrects: boundary.Id | None = None


def _value_text(criterion: objectives.Criterion, value: bool | int | float | str) -> str:
    """The value as the form writes it, for measuring.read_value: yes or no, a step's index,
    a number as written (bounded first: see `_bounded`)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = repr(value) if isinstance(value, float) else str(value)
    if criterion.kind == "number":
        try:
            number = Decimal("".join(text.split()).replace(",", "."))
        except InvalidOperation:
            return text  # (read_value says what is wrong)
        bounded(number, "value")
    return text


@post(BASE + "/{cause_id:int}/criteria/{criterion_id:int}/measurements", tags=TAG,
      status_code=201, summary="Record a measurement of a criterion, or correct one")  # fmt: skip
async def api_measure(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    criterion_id: FromPath[int],
    data: JSONBody[MeasurementIn],
) -> Response[MeasurementOut]:
    """Once a scenario is chosen by decision (409 `no_scenario_chosen` before). A correction
    is a new measurement; the one it corrects stays recorded; a measurement corrected already:
    409 `already_corrected` (correct its latest correction). Answers the measurement; its
    criterion's measurements in `Location`. Accepts an `Idempotency-Key` header."""
    require_participant(here, me)
    filled(source=data.source)

    async def make(conn: db.Connection) -> tuple[MeasurementOut, str]:
        cause = await store.cause(conn, here.space.id, cause_id)
        _, found = await measuring.criterion(conn, cause.id, criterion_id)
        new = measuring.NewMeasurement(
            criterion_id=criterion_id, measured_on=data.measured_on,
            value=measuring.read_value(found, _value_text(found, data.value)),
            source=data.source, confidence=data.confidence, corrects=data.corrects,
        )  # fmt: skip
        made = await measuring.add(conn, here.space.id, cause_id, actor_of(here, me), new, today())
        series = _series_out(await _series(conn, here, cause_id, criterion_id))
        written = next(m for m in series.measurements if m.id == made)
        return written, _measurements_href(here, cause_id, criterion_id)

    return await idempotency.created(pool, request, me.id, data, make)


routes = [
    api_objectives,
    api_objective,
    api_add_objective,
    api_add_criterion,
    api_propose_objectives,
    api_measurements,
    api_measure,
]
describe(routes)
