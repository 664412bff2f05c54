"""A cause's objectives and impact criteria on the web (issue 12 §3): the objectives page
(grouped by horizon, each with its criteria and its state), the forms to add, edit and
delete them while they are drafts, and "propose these objectives for consent", which opens
a draft proposal of the cause on the proposal page (causes/objectives.py).

Anyone who sees the space sees the page; those who may take part write (403 for the others,
404 for those who do not see the space, and for a cause, objective or criterion of another
space or cause). Before the cause is taken on, and for an objective proposed or adopted, a
write is refused in words above the page (409); a mistake comes back next to its field (422).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.causes import objectives, rules, store
from consentir.causes.objectives import (
    HORIZON_NAMES,
    HORIZONS,
    KIND_NAMES,
    KINDS,
    Criterion,
    CriterionText,
    Horizon,
    Kind,
    Objective,
    ObjectiveText,
)
from consentir.causes.pages import cause_page
from consentir.causes.progress import Direction
from consentir.causes.rules import Step
from consentir.causes.store import Cause
from consentir.consent.routes import actor_of, require_participant
from consentir.errors import N_, DomainError
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, gettext

FormData = URLEncodedBody[dict[str, Any]]

BASE = "/s/{slug:str}/causes/{cause_id:int}/objectives"

NOT_A_NUMBER = N_("Enter a number, like 12 or 3.5.")
NOT_A_STEP = N_("Enter the number of one of the steps: 1 for the first.")
STEP_TOO_LONG = N_("Each step has at most %(count)s characters.")
MAX_STEP = 200


class ObjectiveForm(msgspec.Struct):
    horizon: Horizon
    title: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=300)]
    victory: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=5000)]


class CriterionForm(msgspec.Struct):
    """A criterion as typed: numbers as written ("3,5"), a ladder's steps one per line and its
    baseline and target by their number (1 for the first step)."""

    kind: Kind
    name: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
    unit: Annotated[boundary.OneLine, msgspec.Meta(max_length=40)] = ""
    direction: Direction = Direction.UP
    steps: Annotated[boundary.Text, msgspec.Meta(max_length=3000)] = ""
    baseline: Annotated[boundary.OneLine, msgspec.Meta(max_length=40)] = ""
    baseline_on: date | None = None
    target: Annotated[boundary.OneLine, msgspec.Meta(max_length=40)] = ""
    target_on: date | None = None
    source: Annotated[boundary.OneLine, msgspec.Meta(max_length=500)] = ""
    method: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def _number(text: str) -> Decimal:
    """A number as people write it: "3,5", "1 234.5", "−2"; ValueError for anything else."""
    plain = re.sub(r"[\s\u00a0\u202f']", "", text).replace(",", ".").replace("\u2212", "-")
    if not _NUMBER.fullmatch(plain):
        raise ValueError(text)
    try:
        return Decimal(plain)
    except InvalidOperation:  # pragma: no cover (the pattern lets only numbers through)
        raise ValueError(text) from None


def _ends(kind: str, values: dict[str, Any]) -> tuple[dict[str, Decimal | None], dict[str, str]]:
    """The baseline and target as written in the form (a ladder's: the step's index), and
    what is wrong with them: a number that is not one, a step that is not a step's number."""
    ends: dict[str, Decimal | None] = {"baseline": None, "target": None}
    errors: dict[str, str] = {}
    if kind not in ("number", "ladder"):
        return ends, errors
    for end in ends:
        written = values.get(end)
        written = (written[-1] if written else "") if isinstance(written, list) else written
        if not isinstance(written, str) or not written.strip():
            continue
        try:
            value = _number(written)
        except ValueError:
            message = NOT_A_STEP if kind == "ladder" else NOT_A_NUMBER
            errors[end] = gettext(message)
            continue
        if kind == "ladder":
            if value != value.to_integral_value() or not 1 <= value <= objectives.MAX_STEPS:
                errors[end] = gettext(NOT_A_STEP)
                continue
            value -= 1  # the step's index
        ends[end] = value
    return ends, errors


def parse_criterion(values: dict[str, Any]) -> CriterionText:
    """The criterion the form describes, or FormInvalid with every mistake next to its field
    (those of the numbers too: "douze" is not a number, a step's number is one of them)."""
    ends, errors = _ends(str(values.get("kind", "")), values)
    try:
        form = parse_form(CriterionForm, values)
    except FormInvalid as invalid:
        raise FormInvalid({**errors, **invalid.errors}, values) from None
    steps = tuple(line.strip() for line in form.steps.splitlines() if line.strip())
    if form.kind == "ladder" and any(len(step) > MAX_STEP for step in steps):
        errors["steps"] = gettext(STEP_TOO_LONG) % {"count": MAX_STEP}
    if errors:
        raise FormInvalid(errors, values)
    return CriterionText(
        name=form.name, kind=form.kind, unit=form.unit, direction=form.direction, steps=steps,
        baseline=ends["baseline"], baseline_on=form.baseline_on, target=ends["target"],
        target_on=form.target_on, source=form.source, method=form.method,
    )  # fmt: skip


def criterion_values(criterion: Criterion) -> dict[str, str]:
    """A criterion as its form shows it, to edit it."""

    def written(value: Decimal | None) -> str:
        if value is None:
            return ""
        return str(int(value) + 1) if criterion.kind == "ladder" else objectives.amount(value)

    return {
        "kind": criterion.kind, "name": criterion.name, "unit": criterion.unit,
        "direction": criterion.direction.value, "steps": "\n".join(criterion.steps),
        "baseline": written(criterion.baseline), "target": written(criterion.target),
        "baseline_on": criterion.baseline_on.isoformat() if criterion.baseline_on else "",
        "target_on": criterion.target_on.isoformat() if criterion.target_on else "",
        "source": criterion.source, "method": criterion.method,
    }  # fmt: skip


# --- the pages -------------------------------------------------------------------------------


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}


def _page(
    here: SpaceView,
    cause: Cause,
    items: list[Objective],
    status: int = 200,
    *,
    form: FormInvalid | None = None,
    editing: int | None = None,
    refused: str | None = None,
) -> Template:
    """The objectives page: by horizon, each objective with its criteria and state; the form
    to add one (or, `editing`, the form of that one in its place); proposing them."""
    step_waits = rules.blocked(cause.facts, Step.OBJECTIVES)
    under_way = cause.under_way("objectives")
    drafts = [o for o in items if o.state == "draft"]
    propose_waits: str | None = None
    if step_waits is not None:
        propose_waits = gettext(rules.MESSAGES[step_waits])
    elif under_way is None and not drafts:
        propose_waits = gettext(objectives.NOTHING_TO_PROPOSE)
    elif under_way is None and (missing := objectives.incomplete(drafts)) is not None:
        propose_waits = gettext(rules.MESSAGES[missing])
    return cause_page(
        "causes/objectives.html", here, cause, status,
        groups=objectives.by_horizon(items), count=len(items), drafts=drafts,
        horizons=HORIZONS, horizon_names=HORIZON_NAMES, kind_names=KIND_NAMES, kinds=KINDS,
        step_open=step_waits is None, step_waits=step_waits, under_way=under_way,
        propose_waits=propose_waits,
        form=form, editing=editing, refused=refused, new_key=idempotency.new_key,
        end_text=objectives.end_text, amount=objectives.amount,
        max_objectives=objectives.MAX_OBJECTIVES,
    )  # fmt: skip


async def _read(
    pool: asyncpg.Pool, here: SpaceView, cause_id: int, viewer: User | None
) -> tuple[Cause, list[Objective]]:
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, viewer.id if viewer else None)
        return cause, await objectives.objectives(conn, cause_id)


@get(BASE, name="cause_objectives")
async def objectives_page(
    here: NamedDependency[SpaceView],
    viewer: NamedDependency[User | None],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The cause's objectives by horizon, each with its criteria (baseline → target) and its
    state: draft, proposed (its proposal), adopted (its decision)."""
    cause, items = await _read(pool, here, cause_id, viewer)
    return _page(here, cause, items)


@get(BASE + "/{objective_id:int}/edit")
async def edit_objective_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
) -> Template:
    """The objectives page with this objective's form in its place (or why it cannot change)."""
    require_participant(here, me)
    cause, items = await _read(pool, here, cause_id, me)
    found = next((o for o in items if o.id == objective_id), None)
    if found is None:
        raise DomainError("objective_not_found", objectives.OBJECTIVE_NOT_FOUND, status=404)
    try:
        found.refuse_change()
    except DomainError as refused:
        return _page(here, cause, items, refused=domain_message(refused))
    values = {"horizon": found.horizon, "title": found.title, "victory": found.victory}
    return _page(here, cause, items, form=FormInvalid({}, values), editing=objective_id)


async def _refused_page(
    pool: asyncpg.Pool,
    here: SpaceView,
    me: User,
    cause_id: int,
    refused: DomainError,
    values: dict[str, Any],
    editing: int | None = None,
) -> Template:
    """The objectives page again: a mistake next to its field (422), any other refusal in words
    above it (its status); 403 and 404 are raised as they are."""
    if refused.status in (403, 404):
        raise refused
    cause, items = await _read(pool, here, cause_id, me)
    if refused.field is None:
        return _page(here, cause, items, refused.status, refused=domain_message(refused))
    problem = FormInvalid({refused.field: domain_message(refused)}, values)
    return _page(here, cause, items, 422, form=problem, editing=editing)


@post(BASE)
async def add_objective(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    require_participant(here, me)
    values = _values(data)
    page = f"/s/{here.space.slug}/causes/{cause_id}/objectives"
    try:
        form = parse_form(ObjectiveForm, values)

        async def write(conn: db.Connection) -> str:
            text = ObjectiveText(form.horizon, form.title, form.victory)
            objective_id = await objectives.add_objective(conn, here.space.id, cause_id, me.id,
                                                          text)  # fmt: skip
            return f"{page}#objective-{objective_id}"

        return await idempotency.form_posted(pool, me.id, data, page, form, write, replayed_to=page)
    except FormInvalid as invalid:
        cause, items = await _read(pool, here, cause_id, me)
        return _page(here, cause, items, 422, form=invalid)
    except DomainError as refused:
        return await _refused_page(pool, here, me, cause_id, refused, values)


@post(BASE + "/{objective_id:int}/edit")
async def edit_objective(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    require_participant(here, me)
    values = _values(data)
    page = f"/s/{here.space.slug}/causes/{cause_id}/objectives"
    try:
        form = parse_form(ObjectiveForm, values)
        async with db.transaction(pool) as conn:
            text = ObjectiveText(form.horizon, form.title, form.victory)
            await objectives.edit_objective(conn, here.space.id, cause_id, objective_id, me.id,
                                            text)  # fmt: skip
    except FormInvalid as invalid:
        cause, items = await _read(pool, here, cause_id, me)
        if not any(o.id == objective_id for o in items):
            raise DomainError(
                "objective_not_found", objectives.OBJECTIVE_NOT_FOUND, status=404
            ) from None
        return _page(here, cause, items, 422, form=invalid, editing=objective_id)
    except DomainError as refused:
        return await _refused_page(pool, here, me, cause_id, refused, values, objective_id)
    return Redirect(f"{page}#objective-{objective_id}", status_code=303)


@post(BASE + "/{objective_id:int}/delete")
async def delete_objective(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
) -> Response[Any]:
    require_participant(here, me)
    try:
        async with db.transaction(pool) as conn:
            await objectives.delete_objective(conn, here.space.id, cause_id, objective_id, me.id)
    except DomainError as refused:
        return await _refused_page(pool, here, me, cause_id, refused, {})
    return Redirect(f"/s/{here.space.slug}/causes/{cause_id}/objectives", status_code=303)


@post(BASE + "/propose")
async def propose_objectives(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """A draft proposal listing the objectives not adopted yet, on the proposal page; nothing
    to propose, or an objectives proposal under way: said above the objectives (409)."""
    require_participant(here, me)
    page = f"/s/{here.space.slug}/causes/{cause_id}/objectives/propose"
    try:

        async def write(conn: db.Connection) -> str:
            proposal_id = await objectives.propose(conn, here.space, actor_of(here, me), cause_id)
            return f"/s/{here.space.slug}/proposals/{proposal_id}"

        return await idempotency.form_posted(
            pool, me.id, data, page, _Propose(cause_id), write,
            replayed_to=f"/s/{here.space.slug}/proposals",
        )  # fmt: skip
    except FormInvalid as invalid:  # a key sent before with another request
        cause, items = await _read(pool, here, cause_id, me)
        return _page(here, cause, items, 422, refused=next(iter(invalid.errors.values())))
    except DomainError as refused:
        return await _refused_page(pool, here, me, cause_id, refused, {})


class _Propose(msgspec.Struct):
    """What "propose these objectives" sends (for its idempotency key): the cause."""

    cause_id: int


# --- criteria --------------------------------------------------------------------------------


def _criterion_page(
    here: SpaceView,
    cause: Cause,
    objective: Objective,
    kind: Kind,
    *,
    criterion: Criterion | None = None,
    form: FormInvalid | None = None,
    status: int = 200,
    refused: str | None = None,
) -> Template:
    return cause_page(
        "causes/criterion_form.html", here, cause, status, objective=objective,
        criterion=criterion, kind=kind, kinds=KINDS, kind_names=KIND_NAMES,
        horizon_names=HORIZON_NAMES, form=form, refused=refused, new_key=idempotency.new_key,
        max_steps=objectives.MAX_STEPS,
    )  # fmt: skip


async def _read_objective(
    pool: asyncpg.Pool, here: SpaceView, cause_id: int, objective_id: int, viewer: User
) -> tuple[Cause, Objective]:
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, viewer.id)
        return cause, await objectives.objective(conn, cause_id, objective_id)


def _refusal(cause: Cause, objective: Objective) -> str | None:
    """Why the objective's criteria cannot change now, if they cannot."""
    rule = rules.blocked(cause.facts, Step.OBJECTIVES)
    if rule is not None:
        return gettext(rules.MESSAGES[rule])
    try:
        objective.refuse_change()
    except DomainError as refused:
        return domain_message(refused)
    return None


def _kind(asked: str | None) -> Kind:
    return next((k for k in KINDS if k == asked), "number")


@get(BASE + "/{objective_id:int}/criteria/new")
async def new_criterion_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
    kind: FromQuery[Kind] = "number",
) -> Template:
    """The form of a new criterion of the kind chosen (`?kind=number|ladder|yesno`)."""
    require_participant(here, me)
    cause, objective = await _read_objective(pool, here, cause_id, objective_id, me)
    values = {"kind": kind, "direction": "up"}
    return _criterion_page(here, cause, objective, kind, form=FormInvalid({}, values),
                           refused=_refusal(cause, objective))  # fmt: skip


@post(BASE + "/{objective_id:int}/criteria")
async def add_criterion(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    require_participant(here, me)
    values = _values(data)
    page = f"/s/{here.space.slug}/causes/{cause_id}/objectives"
    try:
        text = parse_criterion(values)

        async def write(conn: db.Connection) -> str:
            criterion_id = await objectives.add_criterion(
                conn, here.space.id, cause_id, objective_id, me.id, text
            )
            return f"{page}#criterion-{criterion_id}"

        target = f"{page}/{objective_id}/criteria"
        return await idempotency.form_posted(
            pool, me.id, data, target, text, write, replayed_to=page
        )
    except (FormInvalid, DomainError) as problem:
        return await _criterion_again(pool, here, me, cause_id, objective_id, values, problem)


async def _criterion_again(
    pool: asyncpg.Pool,
    here: SpaceView,
    me: User,
    cause_id: int,
    objective_id: int,
    values: dict[str, Any],
    problem: FormInvalid | DomainError,
    criterion_id: int | None = None,
) -> Template:
    """The criterion's form again: mistakes next to their fields (422), a refusal in words
    above it (its status); 403 and 404 raised as they are."""
    if isinstance(problem, DomainError) and problem.status in (403, 404):
        raise problem
    cause, objective = await _read_objective(pool, here, cause_id, objective_id, me)
    criterion = objectives.criterion_of(objective, criterion_id) if criterion_id else None
    kind = criterion.kind if criterion else _kind(values.get("kind"))
    if isinstance(problem, FormInvalid):
        form, status, refused = problem, 422, None
    elif problem.field is None:
        form, status, refused = FormInvalid({}, values), problem.status, domain_message(problem)
    else:
        form = FormInvalid({problem.field: domain_message(problem)}, values)
        status, refused = 422, None
    return _criterion_page(here, cause, objective, kind, criterion=criterion, form=form,
                           status=status, refused=refused)  # fmt: skip


@get(BASE + "/{objective_id:int}/criteria/{criterion_id:int}/edit")
async def edit_criterion_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
    criterion_id: FromPath[int],
) -> Template:
    require_participant(here, me)
    cause, objective = await _read_objective(pool, here, cause_id, objective_id, me)
    criterion = objectives.criterion_of(objective, criterion_id)
    form = FormInvalid({}, criterion_values(criterion))
    return _criterion_page(here, cause, objective, criterion.kind, criterion=criterion,
                           form=form, refused=_refusal(cause, objective))  # fmt: skip


@post(BASE + "/{objective_id:int}/criteria/{criterion_id:int}/edit")
async def edit_criterion(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
    criterion_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """A criterion's kind stays as it was written (delete it and add another to change it)."""
    require_participant(here, me)
    values = _values(data)
    page = f"/s/{here.space.slug}/causes/{cause_id}/objectives"
    try:
        async with pool.acquire() as conn:
            cause = await store.cause(conn, here.space.id, cause_id)
            written = objectives.criterion_of(
                await objectives.objective(conn, cause.id, objective_id), criterion_id
            )
        values["kind"] = written.kind
        text = parse_criterion(values)
        async with db.transaction(pool) as conn:
            await objectives.edit_criterion(
                conn, here.space.id, cause_id, objective_id, criterion_id, me.id, text
            )
    except (FormInvalid, DomainError) as problem:
        return await _criterion_again(pool, here, me, cause_id, objective_id, values, problem,
                                      criterion_id)  # fmt: skip
    return Redirect(f"{page}#criterion-{criterion_id}", status_code=303)


@post(BASE + "/{objective_id:int}/criteria/{criterion_id:int}/delete")
async def delete_criterion(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    objective_id: FromPath[int],
    criterion_id: FromPath[int],
) -> Response[Any]:
    require_participant(here, me)
    try:
        async with db.transaction(pool) as conn:
            await objectives.delete_criterion(
                conn, here.space.id, cause_id, objective_id, criterion_id, me.id
            )
    except DomainError as refused:
        return await _refused_page(pool, here, me, cause_id, refused, {})
    page = f"/s/{here.space.slug}/causes/{cause_id}/objectives"
    return Redirect(f"{page}#objective-{objective_id}", status_code=303)


routes = [
    objectives_page,
    edit_objective_form,
    add_objective,
    edit_objective,
    delete_objective,
    propose_objectives,
    new_criterion_form,
    add_criterion,
    edit_criterion_form,
    edit_criterion,
    delete_criterion,
]
