"""Acting and evaluating (issue 12 §5): the cause's action list, its measurements against
the impact criteria, the evaluation page and its CSV, and the proposal of the interpretation.

- /actions: the tracked action list (acting.py): each action's owner, due date, status and
  evidence, with a form for those who may update it (its owner, a facilitator); execution
  progress apart from impact;
- /evaluation: for each criterion of the adopted objectives, its chart drawn on the server
  (chart.py) and beside it the table of the same measurements, with corrections; the
  progress in percent; the form proposing the interpretation (a consent decision, which may
  reopen the plan); /evaluation.csv: every measurement for a spreadsheet;
- /evaluation/{criterion}/measure: the form recording a measurement, or correcting one
  (`?corrects=`).

Every page of a cause of another space is 404 (store.cause). Before a scenario is chosen by
decision the pages say what they wait for, and every write is refused naming the rule.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.causes import (
    acting,
    chart,
    measuring,
    objectives,
    progress,
    proposing,
    rules,
    store,
)
from consentir.causes.acting import Item
from consentir.causes.measuring import Series
from consentir.causes.pages import cause_page, may_contribute
from consentir.causes.store import Cause
from consentir.consent.routes import actor_of, require_participant
from consentir.consent.rules import Actor
from consentir.consent.store import Content
from consentir.db import Connection
from consentir.decisions import exports
from consentir.errors import N_, DomainError
from consentir.mandates.routes import today
from consentir.spaces.store import Space, SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, format_day, gettext

FormData = URLEncodedBody[dict[str, Any]]

INTERPRETATION_TITLE = N_("Evaluation of the cause “%(title)s”")
INTERPRETATION_DRIVER = N_(
    "The cause “%(title)s” has acted on its plan and measured its impact criteria: here is"
    " what we conclude from the measurements against the targets, and what we change."
)
REOPENS_PLAN = N_(
    "This reopens the plan: once this proposal is adopted, a new scenario version will be"
    " chosen by consent."
)
KEEPS_PLAN = N_("The plan stays as it was chosen.")
TEXT_TOO_LONG = N_(
    "The proposal's text would be longer than %(count)s characters: shorten what you wrote."
)
MAX_BODY = 50000  # proposal_versions.body


def _base(here: SpaceView, cause_id: int) -> str:
    return f"/s/{here.space.slug}/causes/{cause_id}"


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}


# --- the action list ----------------------------------------------------------------------------


class ActionForm(msgspec.Struct):
    status: acting.Status
    evidence: Annotated[boundary.Text, msgspec.Meta(max_length=5000)] = ""


def _actions_page(
    here: SpaceView,
    me: User,
    cause: Cause,
    items: list[Item],
    status: int = 200,
    failed: tuple[int, FormInvalid] | None = None,
) -> Template:
    actor = actor_of(here, me)
    current = [i for i in items if i.current]
    earlier = [i for i in items if not i.current]
    blocked = rules.blocked(cause.facts, rules.Step.EVALUATE)
    updatable = frozenset(i.id for i in current if blocked is None and acting.may_update(i, actor))
    return cause_page(
        "causes/actions.html", here, cause, status, current=current, earlier=earlier,
        execution=acting.execution(current), statuses=acting.STATUSES, updatable=updatable,
        blocked=blocked, failed=failed,
    )  # fmt: skip


@get("/s/{slug:str}/causes/{cause_id:int}/actions", name="cause_actions")
async def actions_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The cause's action list (once a scenario is chosen by decision), with execution
    progress; what it waits for before."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        items = await acting.items(conn, cause.id, today())
    return _actions_page(here, me, cause, items)


@post("/s/{slug:str}/causes/{cause_id:int}/actions/{item_id:int}")
async def update_action(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    item_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """An action's status and evidence, by its owner or a facilitator (403 in words for the
    others); a mistake comes back next to its field (422)."""
    require_participant(here, me)
    values = _values(data)
    try:
        form = parse_form(ActionForm, values)
        async with db.transaction(pool) as conn:
            change = acting.Change(status=form.status, evidence=form.evidence)
            await acting.update(conn, here.space.id, cause_id, item_id, actor_of(here, me), change)
    except FormInvalid as invalid:
        async with pool.acquire() as conn:
            cause = await store.cause(conn, here.space.id, cause_id, me.id)
            items = await acting.items(conn, cause.id, today())
        if not any(i.id == item_id and i.current for i in items):
            raise DomainError("action_not_found", acting.ITEM_NOT_FOUND, status=404) from None
        return _actions_page(here, me, cause, items, 422, (item_id, invalid))
    return Redirect(f"{_base(here, cause_id)}/actions#action-{item_id}", status_code=303)


# --- the evaluation page --------------------------------------------------------------------------


def _day(value: date) -> str:
    return format_day(value, "medium")


def _chart(series: Series) -> Any:
    """The criterion's chart, its words in the reader's language (the same as the table's)."""
    found = series.criterion
    assert found.target_on is not None
    description = gettext("Baseline: %(baseline)s. Target: %(target)s. Latest: %(latest)s.") % {
        "baseline": objectives.end_text(found, "baseline"),
        "target": objectives.end_text(found, "target"),
        "latest": measuring.latest_text(series),
    }
    labels = chart.Labels(
        title=found.name, description=description, baseline=gettext("Baseline"),
        target=gettext("Target"),
        target_date=gettext("Target date: %(day)s") % {"day": _day(found.target_on)},
        no=gettext("no"), yes=gettext("yes"),
    )  # fmt: skip
    return chart.svg(
        series.measured, series.effective, labels=labels, format_date=_day,
        title_id=f"chart-{found.id}-title", desc_id=f"chart-{found.id}-desc",
        format_number=objectives.amount,
    )  # fmt: skip


class InterpretationForm(msgspec.Struct):
    conclusions: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=10000)]
    changes: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=10000)]
    reopens_plan: bool = False
    title: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""


class MeasurementForm(msgspec.Struct):
    measured_on: date
    value: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=40)]
    source: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=500)]
    confidence: measuring.ConfidenceName = "medium"
    corrects: Annotated[int, msgspec.Meta(ge=1, le=boundary.INT64_MAX)] | None = None


def _step_options(found: objectives.Criterion) -> list[tuple[str, str]]:
    return [(str(i), step) for i, step in enumerate(found.steps)]


def _confidence_options() -> list[tuple[str, str]]:
    return [(key, gettext(name)) for key, name in measuring.CONFIDENCES.items()]


class Measuring(msgspec.Struct, frozen=True):
    """The measurement form open on the page: its criterion, the measurement it corrects
    (if any), what it shows, its mistakes and a refusal to say above it."""

    criterion_id: int
    corrected: measuring.Recorded | None
    values: dict[str, Any]
    form: FormInvalid | None = None
    refused: str | None = None


def _evaluation_page(
    here: SpaceView,
    cause: Cause,
    all_series: list[Series],
    status: int = 200,
    *,
    form: FormInvalid | None = None,
    values: dict[str, Any] | None = None,
    refused: str | None = None,
    measuring_form: Measuring | None = None,
) -> Template:
    return cause_page(
        "causes/evaluation.html", here, cause, status, all_series=all_series,
        charts={s.criterion.id: _chart(s) for s in all_series}, said=measuring.said,
        end_text=objectives.end_text, confidences=measuring.CONFIDENCES,
        blocked=rules.blocked(cause.facts, rules.Step.EVALUATE),
        under_way=cause.under_way("evaluation"), adopted=cause.adopted("evaluation"),
        form=form, values=values or {}, refused=refused, new_key=idempotency.new_key,
        today=today(), measuring_form=measuring_form, latest_text=measuring.latest_text,
        step_options=_step_options, confidence_options=_confidence_options,
    )  # fmt: skip


async def _evaluation(
    conn: Connection, here: SpaceView, me: User, cause_id: int
) -> tuple[Cause, list[Series]]:
    cause = await store.cause(conn, here.space.id, cause_id, me.id)
    return cause, await measuring.evaluation(conn, cause.id)


def _series_of(all_series: list[Series], criterion_id: int) -> Series:
    """The criterion of an adopted objective of the cause (404 in words for any other)."""
    for series in all_series:
        if series.criterion.id == criterion_id:
            return series
    raise DomainError("criterion_not_found", measuring.CRITERION_NOT_FOUND, status=404)


def _corrected(series: Series, corrects: int | None) -> measuring.Recorded | None:
    if corrects is None:
        return None
    return next((r for r in series.recorded if r.id == corrects), None)


def _value_text(series: Series, recorded: measuring.Recorded) -> str:
    """A recorded value as the form writes it (a number as the reader writes it, a step's
    index, yes or no)."""
    kind = series.criterion.kind
    if kind == "yesno":
        return "yes" if recorded.value else "no"
    if kind == "ladder":
        return str(int(recorded.value))
    return measuring.plain_number(recorded.value)


def _opened(series: Series, corrects: int | None) -> Measuring:
    """The measurement form as it opens: today's date, or the corrected measurement's
    values; a measurement corrected already is said above it."""
    corrected = _corrected(series, corrects)
    if corrects is not None and corrected is None:
        raise DomainError("nothing_to_correct", progress.NOTHING_TO_CORRECT, status=404)
    if corrected is None:
        values: dict[str, Any] = {"measured_on": today().isoformat(), "confidence": "medium"}
        return Measuring(series.criterion.id, None, values)
    values = {
        "measured_on": corrected.measured_on.isoformat(),
        "value": _value_text(series, corrected), "source": corrected.source,
        "confidence": corrected.confidence, "corrects": str(corrected.id),
    }  # fmt: skip
    refused = None
    if corrected.id in series.corrected_by:
        refused = gettext(progress.ALREADY_CORRECTED)
    return Measuring(series.criterion.id, corrected, values, refused=refused)


@get("/s/{slug:str}/causes/{cause_id:int}/evaluation", name="cause_evaluation")
async def evaluation_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    measure: FromQuery[boundary.IdQuery] = None,
    corrects: FromQuery[boundary.IdQuery] = None,
) -> Template:
    """Each criterion's chart and measurements, its progress; the interpretation's form.
    With `measure` (a criterion), the form recording a measurement of it, or correcting one
    (`corrects`, prefilled with it), for those who may take part."""
    async with pool.acquire() as conn:
        cause, all_series = await _evaluation(conn, here, me, cause_id)
    opened = None
    open_step = rules.blocked(cause.facts, rules.Step.EVALUATE) is None
    if measure is not None and may_contribute(here) and open_step:
        opened = _opened(_series_of(all_series, measure), corrects)
    return _evaluation_page(here, cause, all_series, measuring_form=opened)


@get("/s/{slug:str}/causes/{cause_id:int}/evaluation.csv", name="cause_evaluation_csv")
async def evaluation_csv(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Response[bytes]:
    """Every measurement recorded, corrections included, for a spreadsheet in the reader's
    language; no cell a spreadsheet would run as a formula."""
    async with pool.acquire() as conn:
        cause, all_series = await _evaluation(conn, here, me, cause_id)
    headers = [
        gettext("Measurement"), gettext("Objective"), gettext("Criterion"), gettext("Date"),
        gettext("Value"), gettext("Unit"), gettext("Source"), gettext("Confidence"),
        gettext("Corrects"), gettext("In effect"),
    ]  # fmt: skip
    content = exports.BOM + exports.csv_lines([headers, *measuring.csv_rows(all_series)])
    name = f"evaluation-{here.space.slug}-{cause.id}-{today().isoformat()}.csv"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(content.encode(), media_type="text/csv", headers=disposition)


@post("/s/{slug:str}/causes/{cause_id:int}/evaluation/{criterion_id:int}/measure")
async def measure(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    criterion_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """Record the measurement (or the correction); back to the evaluation page at the
    criterion. Mistakes next to their fields (422); a step not open, a measurement corrected
    already: said above the form (409)."""
    require_participant(here, me)
    values = _values(data)
    page = f"{_base(here, cause_id)}/evaluation/{criterion_id}/measure"
    location = f"{_base(here, cause_id)}/evaluation#criterion-{criterion_id}"
    async with pool.acquire() as conn:
        cause, all_series = await _evaluation(conn, here, me, cause_id)
    series = _series_of(all_series, criterion_id)
    try:
        form = parse_form(MeasurementForm, values)
        new = measuring.NewMeasurement(
            criterion_id=criterion_id, measured_on=form.measured_on,
            value=measuring.read_value(series.criterion, form.value), source=form.source,
            confidence=form.confidence, corrects=form.corrects,
        )  # fmt: skip

        async def write(conn: db.Connection) -> str:
            await measuring.add(conn, here.space.id, cause_id, actor_of(here, me), new, today())
            return location

        return await idempotency.form_posted(
            pool, me.id, data, page, form, write, replayed_to=location
        )
    except (FormInvalid, DomainError) as problem:
        if isinstance(problem, DomainError) and problem.status in (403, 404):
            raise
        corrected = _corrected(series, _int(values.get("corrects")))
        if isinstance(problem, FormInvalid):
            opened = Measuring(criterion_id, corrected, values, problem)
            status = 422
        elif problem.field in ("value", "measured_on"):
            invalid = FormInvalid({problem.field: domain_message(problem)}, values)
            opened, status = Measuring(criterion_id, corrected, values, invalid), 422
        else:
            opened = Measuring(criterion_id, corrected, values, refused=domain_message(problem))
            status = problem.status
        return _evaluation_page(here, cause, all_series, status, measuring_form=opened)


def _int(value: Any) -> int | None:
    text = value[-1] if isinstance(value, list) and value else value
    return int(text) if isinstance(text, str) and text.isascii() and text.isdigit() else None


# --- the interpretation -----------------------------------------------------------------------


def interpretation(cause: Cause, all_series: list[Series], form: InterpretationForm) -> Content:
    """The interpretation's draft, in the writer's language (Markdown): what we conclude,
    what we change, whether it reopens the plan, and each criterion's baseline → latest →
    target with its progress."""
    parts = [
        "# " + gettext("What we conclude"), form.conclusions.strip(),
        "# " + gettext("What we change"), form.changes.strip(),
        "**" + gettext(REOPENS_PLAN if form.reopens_plan else KEEPS_PLAN) + "**",
        "# " + gettext("Results by impact criterion"),
        measuring.summary_table(all_series) if all_series
        else "_" + gettext("No impact criterion to measure.") + "_",
    ]  # fmt: skip
    names = {"title": cause.title}
    return Content(
        title=form.title.strip() or (gettext(INTERPRETATION_TITLE) % names)[:200],
        driver=gettext(INTERPRETATION_DRIVER) % names,
        body="\n\n".join(parts),
    )


async def propose_interpretation(
    conn: Connection, space: Space, actor: Actor, cause_id: int, form: InterpretationForm
) -> int:
    """The interpretation's draft proposal (purpose "evaluation"), in the caller's
    transaction: the evaluation step open (the cause locked), one at a time."""
    cause = await store.require(conn, space.id, cause_id, rules.Step.EVALUATE)
    content = interpretation(cause, await measuring.evaluation(conn, cause.id), form)
    if len(content.body) > MAX_BODY:
        raise DomainError("text_too_long", TEXT_TOO_LONG, status=409, params={"count": MAX_BODY})
    return await proposing.propose(
        conn, space, actor, cause, "evaluation", content, reopens_plan=form.reopens_plan
    )


@post("/s/{slug:str}/causes/{cause_id:int}/evaluation/interpretation")
async def propose_interpretation_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The interpretation's draft, on the proposal page; mistakes next to their fields
    (422); a step not open, an evaluation under way: said above the form (409)."""
    require_participant(here, me)
    values = _values(data)
    page = f"{_base(here, cause_id)}/evaluation/interpretation"
    try:
        form = parse_form(InterpretationForm, values)

        async def write(conn: db.Connection) -> str:
            proposal_id = await propose_interpretation(
                conn, here.space, actor_of(here, me), cause_id, form
            )
            return f"/s/{here.space.slug}/proposals/{proposal_id}"

        return await idempotency.form_posted(
            pool, me.id, data, page, form, write, replayed_to=f"{_base(here, cause_id)}/evaluation"
        )
    except (FormInvalid, DomainError) as problem:
        if isinstance(problem, DomainError) and problem.status in (403, 404):
            raise
        async with pool.acquire() as conn:
            cause, all_series = await _evaluation(conn, here, me, cause_id)
        if isinstance(problem, FormInvalid):
            return _evaluation_page(here, cause, all_series, 422, form=problem, values=values)
        return _evaluation_page(here, cause, all_series, problem.status, values=values,
                                refused=domain_message(problem))  # fmt: skip


routes = [
    actions_page,
    update_action,
    evaluation_page,
    evaluation_csv,
    measure,
    propose_interpretation_form,
]
