"""The causes' JSON API: scenarios and their comparison, the action list, the evaluation's
interpretation (the choice itself: choice_routes.py and the proposal steps)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from consentir import db
from consentir.accounts.store import User
from consentir.causes import (
    acting,
    compare,
    rules,
    scenarios,
    store,
)
from consentir.causes.api_common import (
    BASE,
    TAG,
    Amount,
    PersonOut,
    ProposalMadeOut,
    bounded,
    causes_href,
    describe,
    filled,
    proposal_made,
)
from consentir.causes.evaluate_routes import InterpretationForm, propose_interpretation
from consentir.causes.scenario_routes import COMPARE_COUNT
from consentir.consent.routes import actor_of, require_participant
from consentir.errors import DomainError
from consentir.mandates.routes import today
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency

# --- scenarios -----------------------------------------------------------------------------


class CriterionRefOut(msgspec.Struct):
    id: int
    name: str


class ScenarioActionOut(msgspec.Struct):
    """An action: who is a member (`who_user`), a role (`who_role`) or nobody yet;
    `who_name` names them."""

    id: int
    position: int
    what: str
    who_user: int | None
    who_role: int | None
    who_name: str | None
    due_on: date | None
    means: str
    cost: Decimal | None  # in euros
    expected: str
    criteria: list[CriterionRefOut]


class VersionOut(msgspec.Struct):
    id: int
    number: int
    current: bool
    summary: str  # Markdown
    assumptions: str
    risks: str
    note: str  # what changed from the version before
    author: str
    created_at: datetime
    actions: list[ScenarioActionOut]


class ScenarioOut(msgspec.Struct):
    """A scenario with all its versions, oldest first (the last is current). Set aside (when
    another was chosen): kept as it was, to be read."""

    id: int
    letter: str
    title: str
    created_by: str
    created_at: datetime
    set_aside_at: datetime | None
    versions: list[VersionOut]


class VersionRefOut(msgspec.Struct):
    id: int
    number: int


class ScenarioListedOut(msgspec.Struct):
    id: int
    letter: str
    title: str
    created_by: str
    created_at: datetime
    set_aside_at: datetime | None
    current: VersionRefOut
    updated_at: datetime
    actions: int  # in the current version
    versions: list[VersionRefOut]
    href: str


class ScenarioListOut(msgspec.Struct):
    scenarios: list[ScenarioListedOut]


def _version_out(v: scenarios.Version) -> VersionOut:
    return VersionOut(
        id=v.id, number=v.number, current=v.current, summary=v.summary,
        assumptions=v.assumptions, risks=v.risks, note=v.note, author=v.author,
        created_at=v.created_at,
        actions=[
            ScenarioActionOut(
                id=a.id, position=a.position, what=a.what, who_user=a.who_user,
                who_role=a.who_role, who_name=a.who_name, due_on=a.due_on, means=a.means,
                cost=a.cost, expected=a.expected,
                criteria=[CriterionRefOut(i, name) for i, name in a.criteria],
            )
            for a in v.actions
        ],
    )  # fmt: skip


def _scenario_out(s: scenarios.Scenario) -> ScenarioOut:
    return ScenarioOut(s.id, s.letter, s.title, s.created_by, s.created_at, s.set_aside_at,
                       [_version_out(v) for v in s.versions])  # fmt: skip


def _scenario_href(here: SpaceView, cause_id: int, scenario_id: int) -> str:
    return f"{causes_href(here)}/{cause_id}/scenarios/{scenario_id}"


@get(BASE + "/{cause_id:int}/scenarios", tags=TAG, summary="A cause's scenarios")
async def api_scenarios(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> ScenarioListOut:
    """A first, each with its current version and all its versions; those set aside too."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        listed = await scenarios.scenarios(conn, cause.id)
    return ScenarioListOut([
        ScenarioListedOut(
            id=s.id, letter=s.letter, title=s.title, created_by=s.created_by,
            created_at=s.created_at, set_aside_at=s.set_aside_at,
            current=VersionRefOut(s.version_id, s.number), updated_at=s.updated_at,
            actions=s.actions, versions=[VersionRefOut(i, n) for i, n in s.versions],
            href=_scenario_href(here, cause_id, s.id),
        )
        for s in listed
    ])  # fmt: skip


class CompareCellOut(msgspec.Struct):
    text: str | None  # as shown; null: this version has no action at this position
    differs: bool  # from the first column's cell (never in the first column)


class CompareRowOut(msgspec.Struct):
    field: compare.Field
    action: int | None  # the action's position (from 0), for an action's rows
    cells: list[CompareCellOut]  # one per column


class CompareColumnOut(msgspec.Struct):
    version_id: int
    scenario_id: int
    letter: str
    title: str
    number: int
    differences: int  # how many of its cells differ from the first column's


class CompareOut(msgspec.Struct):
    """Versions side by side, row by row: the summary, the criteria served, each action's
    what, who, when, means and cost, the assumptions and the risks."""

    columns: list[CompareColumnOut]
    rows: list[CompareRowOut]


VersionIds = Annotated[
    list[int] | None,
    QueryParameter(description="A scenario version's id, 2 to 4 times; by default the current "
                   "version of each scenario in play (the first four)."),
]  # fmt: skip


@get(BASE + "/{cause_id:int}/scenarios/compare", tags=TAG,
     summary="Compare 2 to 4 scenario versions side by side")  # fmt: skip
async def api_compare(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    v: VersionIds = None,
) -> CompareOut:
    """The rows with their cells, each marked when it differs from the first column's. Asked
    for (`v`): 2 to 4 distinct versions of the cause's scenarios, else 422 `compare_count`;
    a version of another cause: 404. By default, with fewer than two scenarios in play: no
    column."""
    asked = list(dict.fromkeys(v)) if v else None
    if asked is not None:
        if not compare.MIN_COLUMNS <= len(asked) <= compare.MAX_COLUMNS:
            raise DomainError("compare_count", COMPARE_COUNT, field="v",
                              params={"count": len(asked)})  # fmt: skip
        if not all(1 <= i <= boundary.INT64_MAX for i in asked):
            raise DomainError("scenario_version_not_found", scenarios.VERSION_NOT_FOUND,
                              status=404)  # fmt: skip
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        if asked is None:
            listed = await scenarios.scenarios(conn, cause.id)
            asked = [s.version_id for s in listed if s.set_aside_at is None]
            asked = asked[: compare.MAX_COLUMNS] if len(asked) >= compare.MIN_COLUMNS else []
        columns = await scenarios.versions(conn, cause.id, asked) if asked else []
    if not columns:
        return CompareOut([], [])
    rows = compare.compare([scenarios.as_compared(c) for c in columns])
    return CompareOut(
        columns=[
            CompareColumnOut(c.id, c.scenario_id, c.letter, c.title, c.number,
                             sum(1 for r in rows if r.cells[i].differs))
            for i, c in enumerate(columns)
        ],
        rows=[CompareRowOut(r.field, r.action, [CompareCellOut(c.text, c.differs)
                                                for c in r.cells]) for r in rows],
    )  # fmt: skip


@get(BASE + "/{cause_id:int}/scenarios/{scenario_id:int}", tags=TAG,
     summary="A scenario with its versions and their actions")  # fmt: skip
async def api_scenario(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    scenario_id: FromPath[int],
) -> ScenarioOut:
    """Every version, oldest first, each with its actions and the note on what changed; a
    scenario of another cause: 404."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        return _scenario_out(await scenarios.scenario(conn, cause.id, scenario_id))


class ActionIn(msgspec.Struct, kw_only=True):
    """An action: what, who (a member who may act, `who_user`, or a role, `who_role`, or
    neither: nobody yet), when, means and cost in euros (at most two decimals), the impact
    criteria of the cause it serves (ids), the expected effect."""

    what: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=500)]
    who_user: boundary.Id | None = None
    who_role: boundary.Id | None = None
    due_on: date | None = None
    means: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""
    cost: Amount | None = None
    criteria: Annotated[list[boundary.Id], boundary.Items] = msgspec.field(default_factory=list)
    expected: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""


Actions = Annotated[list[ActionIn], msgspec.Meta(max_length=scenarios.MAX_ACTIONS)]


class _WithActions(boundary.Input, kw_only=True):
    """A body with actions: their days too within the boundary's window (checked here, where
    the error's path can name the action: `actions[1].due_on`)."""

    actions: Actions = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        for position, action in enumerate(self.actions):
            if action.due_on is not None and not boundary.in_window(action.due_on):
                raise ValueError(
                    f"Expected a date between {boundary.EARLIEST.isoformat()} and"
                    f" {boundary.LATEST.isoformat()} - at `$.actions[{position}].due_on`"
                )


Prose = Annotated[boundary.Text, msgspec.Meta(max_length=20000)]


class ScenarioIn(_WithActions, kw_only=True):
    """A new scenario (the next letter): its title, summary (Markdown), assumptions, risks
    and actions."""

    title: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
    summary: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=20000)]
    assumptions: Prose = ""
    risks: Prose = ""


class VersionIn(_WithActions, kw_only=True):
    """A scenario's next version, whole (its actions replace the previous version's), with
    what changed (`note`, required). `base`: the version number it was written from; another
    written since: 409 `scenario_version_stale`."""

    summary: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=20000)]
    assumptions: Prose = ""
    risks: Prose = ""
    note: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""
    base: Annotated[int, msgspec.Meta(ge=1, le=boundary.INT32_MAX)] | None = None


def _scenario_text(data: ScenarioIn | VersionIn) -> scenarios.ScenarioText:
    """The text to write; a required text of spaces only, or a cost out of bounds: 422
    naming the field (`actions[1].what`)."""
    filled(summary=data.summary)
    for position, action in enumerate(data.actions):
        filled(**{f"actions[{position}].what": action.what})
        bounded(action.cost, f"actions[{position}].cost")
    return scenarios.ScenarioText(
        title=data.title if isinstance(data, ScenarioIn) else "", summary=data.summary,
        assumptions=data.assumptions, risks=data.risks,
        note=data.note if isinstance(data, VersionIn) else "",
        actions=[
            scenarios.ActionIn(
                what=a.what, who_user=a.who_user, who_role=a.who_role, due_on=a.due_on,
                means=a.means, cost=a.cost, criteria=list(a.criteria), expected=a.expected,
            )
            for a in data.actions
        ],
    )  # fmt: skip


@post(BASE + "/{cause_id:int}/scenarios", tags=TAG, status_code=201,
      summary="Draft a scenario of the action plan")  # fmt: skip
async def api_create_scenario(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[ScenarioIn],
) -> Response[ScenarioOut]:
    """Once the plan is open (409 naming the rule it waits for, e.g. `objective_not_adopted`).
    An action naming someone who may not act here, a role or a criterion not of the space or
    cause: 422 naming it (`actions[0].who_user`). Accepts an `Idempotency-Key` header."""
    require(here.standing, Action.PARTICIPATE)
    filled(title=data.title)
    text = _scenario_text(data)

    async def make(conn: db.Connection) -> tuple[ScenarioOut, str]:
        written = await scenarios.create(conn, here.space.id, cause_id, me.id, text)
        found = await scenarios.scenario(conn, cause_id, written.scenario_id)
        return _scenario_out(found), _scenario_href(here, cause_id, written.scenario_id)

    return await idempotency.created(pool, request, me.id, data, make)


@post(BASE + "/{cause_id:int}/scenarios/{scenario_id:int}/versions", tags=TAG,
      status_code=201, summary="Write a scenario's next version")  # fmt: skip
async def api_add_version(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    scenario_id: FromPath[int],
    data: JSONBody[VersionIn],
) -> Response[ScenarioOut]:
    """Versions are immutable: this one comes after. A scenario set aside: 409
    `scenario_set_aside`; no note: 422 `scenario_note_required`. Answers the scenario.
    Accepts an `Idempotency-Key` header."""
    require(here.standing, Action.PARTICIPATE)
    text = _scenario_text(data)

    async def make(conn: db.Connection) -> tuple[ScenarioOut, str]:
        await scenarios.add_version(
            conn, here.space.id, cause_id, scenario_id, me.id, text, base=data.base
        )
        found = await scenarios.scenario(conn, cause_id, scenario_id)
        return _scenario_out(found), _scenario_href(here, cause_id, scenario_id)

    return await idempotency.created(pool, request, me.id, data, make)


# --- the action list -----------------------------------------------------------------------


class RoleRefOut(msgspec.Struct):
    id: int
    name: str


class ItemOut(msgspec.Struct):
    """An action of the list: its owner (a member, or a role with who holds it today), due
    date, status and evidence. `current`: of the cause's current list (an earlier list is
    kept as it was). `may_update`: the token's owner may change it."""

    id: int
    decision: str  # the choice's decision that made the list
    position: int
    what: str
    owner: PersonOut | None
    role: RoleRefOut | None
    holders: list[PersonOut]
    due_on: date | None
    status: acting.Status
    evidence: str
    updated_at: datetime
    current: bool
    may_update: bool


class ExecutionOut(msgspec.Struct):
    """How far the current list is carried out: `done` out of `counted` (all but the
    dropped), apart from the impact the measurements show."""

    done: int
    counted: int
    dropped: int
    ratio: float | None


class ActionListOut(msgspec.Struct):
    current: list[ItemOut]
    earlier: list[ItemOut]
    execution: ExecutionOut
    waits_for: str | None  # the rule the list waits for (a scenario chosen by decision)


def _item_out(item: acting.Item, may: bool) -> ItemOut:
    owner = PersonOut(item.owner_user, item.owner_name or "") if item.owner_user else None
    role = RoleRefOut(item.owner_role, item.role_name or "") if item.owner_role else None
    return ItemOut(
        id=item.id, decision=item.decision_number, position=item.position, what=item.what,
        owner=owner, role=role, holders=[PersonOut(h.id, h.name) for h in item.holders],
        due_on=item.due_on, status=item.status, evidence=item.evidence,
        updated_at=item.updated_at, current=item.current, may_update=may,
    )  # fmt: skip


@get(BASE + "/{cause_id:int}/actions", tags=TAG,
     summary="A cause's action list, with its execution")  # fmt: skip
async def api_actions(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> ActionListOut:
    """The current list (by position), then the earlier ones; empty until a scenario is
    chosen by decision (`waits_for`)."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        found = await acting.items(conn, cause.id, today())
    actor = actor_of(here, me)
    blocked = rules.blocked(cause.facts, rules.Step.EVALUATE)
    current = [i for i in found if i.current]
    done = acting.execution(current)
    return ActionListOut(
        current=[_item_out(i, blocked is None and acting.may_update(i, actor)) for i in current],
        earlier=[_item_out(i, False) for i in found if not i.current],
        execution=ExecutionOut(done.done, done.counted, done.dropped,
                               float(done.ratio) if done.ratio is not None else None),
        waits_for=blocked.value if blocked else None,
    )  # fmt: skip


class ItemIn(boundary.Input, kw_only=True):
    """The action's status (planned, doing, done, dropped) and its evidence (replaced: empty
    for none)."""

    status: acting.Status
    evidence: Annotated[boundary.Text, msgspec.Meta(max_length=5000)] = ""


async def _once(
    pool: asyncpg.Pool,
    request: Request[Any, Any, Any],
    user_id: int,
    data: msgspec.Struct,
    act: Callable[[db.Connection], Awaitable[msgspec.Struct]],
) -> Response[Any]:
    """A write answered 200, once per `Idempotency-Key` (the same key again changes nothing
    and answers as the first time)."""
    key = request.headers.get("idempotency-key")
    sent = idempotency.fingerprint("POST", request.url.path, msgspec.json.encode(data))
    async with db.transaction(pool) as conn:
        if key:
            replay = await idempotency.claim(conn, user_id, key, sent)
            if replay is not None:
                return replay.response()
        out = await act(conn)
        if key:
            await idempotency.record(conn, user_id, key, status=200, body=msgspec.json.encode(out))
    return Response(out, status_code=200)


@post(BASE + "/{cause_id:int}/actions/{item_id:int}", tags=TAG, status_code=200,
      summary="Update an action's status and evidence (its owner, a facilitator)")  # fmt: skip
async def api_update_action(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[ItemIn],
) -> Response[ItemOut]:
    """Anyone but its owner (the member named, or a holder of the role named today) and the
    facilitators: 403 `not_action_owner`; an action of an earlier list: 409
    `earlier_action_list`. Answers the action. Accepts an `Idempotency-Key` header."""
    actor = actor_of(here, me)

    async def act(conn: db.Connection) -> ItemOut:
        change = acting.Change(status=data.status, evidence=data.evidence)
        item = await acting.update(conn, here.space.id, cause_id, item_id, actor, change)
        return _item_out(item, acting.may_update(item, actor))

    return await _once(pool, request, me.id, data, act)


# --- the evaluation's interpretation --------------------------------------------------------


class InterpretationIn(InterpretationForm, boundary.Input, kw_only=True):
    """What we conclude from the measurements, what we change (both required), whether it
    reopens the plan (a new scenario version, chosen again), and a title (optional)."""


@post(BASE + "/{cause_id:int}/evaluation/interpretation", tags=TAG, status_code=201,
      summary="Propose the evaluation's interpretation for consent")  # fmt: skip
async def api_propose_interpretation(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[InterpretationIn],
) -> Response[ProposalMadeOut]:
    """A draft proposal whose text adds each criterion's baseline → latest → target and
    progress. Before a scenario is chosen: 409 `no_scenario_chosen`; one under way: 409
    `cause_proposal_under_way`. Accepts an `Idempotency-Key` header."""
    require_participant(here, me)
    filled(conclusions=data.conclusions, changes=data.changes)

    async def make(conn: db.Connection) -> tuple[ProposalMadeOut, str]:
        proposal_id = await propose_interpretation(
            conn, here.space, actor_of(here, me), cause_id, data
        )
        return proposal_made(here, proposal_id)

    return await idempotency.created(pool, request, me.id, data, make)


routes = [
    api_scenarios,
    api_compare,
    api_scenario,
    api_create_scenario,
    api_add_version,
    api_actions,
    api_update_action,
    api_propose_interpretation,
]
describe(routes)
