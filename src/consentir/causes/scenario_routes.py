"""The action plan's scenarios (issue 12 §4): the plan (the list of scenarios), a scenario
with its versions and the word diff between them, the form of a new scenario or of a new
version, and the side-by-side comparison of 2 to 4 versions.

Any viewer of the space reads them; who may take part drafts, once the plan is open (the
rule is checked with the cause locked, in the write's transaction, and its refusal named in
words). The form holds as many actions as needed without JavaScript: the blocks shown plus
two empty ones, and a button that shows more (nothing typed is lost); blank blocks are
ignored. The choice of a scenario by consent is not here (choosing.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import asyncpg
import msgspec
from babel.numbers import format_decimal
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from markupsafe import Markup

from consentir import db, markdown
from consentir.accounts.store import User
from consentir.causes import compare, rules, scenarios, store
from consentir.causes.pages import cause_page
from consentir.causes.scenarios import ScenarioInvalid, ScenarioText, Version
from consentir.causes.store import Cause
from consentir.errors import N_, DomainError
from consentir.spaces import store as spaces
from consentir.spaces.rules import Action as SpaceAction
from consentir.spaces.rules import require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import current_locale, domain_message, gettext

FormData = URLEncodedBody[dict[str, Any]]

EXTRA_BLOCKS = 2  # empty action blocks under the written ones
MORE_BLOCKS = 3  # how many more the "more action rows" button adds
MAX_BLOCKS = scenarios.MAX_ACTIONS

CHOOSE_WHO = N_("Choose a member, a role, or nobody yet.")
COMPARE_COUNT = N_("Choose from 2 to 4 versions to compare (you chose %(count)s).")
TOO_FEW = N_("The comparison needs at least two scenarios.")

# The rows of the comparison, by field (compare.Field).
ROW_NAMES: dict[str, str] = {
    compare.Field.SUMMARY: N_("Summary"),
    compare.Field.CRITERIA: N_("Criteria served"),
    compare.Field.WHAT: N_("What"),
    compare.Field.WHO: N_("Who"),
    compare.Field.WHEN: N_("When"),
    compare.Field.COST: N_("Means and cost"),
    compare.Field.ASSUMPTIONS: N_("Assumptions"),
    compare.Field.RISKS: N_("Risks"),
}
# Rows whose text is Markdown (shown formatted).
PROSE_ROWS = frozenset({compare.Field.SUMMARY, compare.Field.ASSUMPTIONS, compare.Field.RISKS})


def _base(here: SpaceView, cause_id: int) -> str:
    return f"/s/{here.space.slug}/causes/{cause_id}/scenarios"


# --- the plan and a scenario ------------------------------------------------------------------


def _plan_refusal(cause: Cause) -> str | None:
    """Why no scenario may be written now (the rule, in words), if so."""
    rule = rules.blocked(cause.facts, rules.Step.PLAN)
    return gettext(rules.MESSAGES[rule]) if rule is not None else None


@get("/s/{slug:str}/causes/{cause_id:int}/scenarios", name="cause_scenarios")
async def plan_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The plan: the scenarios in play, then those set aside (still readable)."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        listed = await scenarios.scenarios(conn, cause_id)
    return cause_page(
        "causes/scenarios.html", here, cause,
        in_play=[s for s in listed if s.set_aside_at is None],
        set_aside=[s for s in listed if s.set_aside_at is not None],
        refused=_plan_refusal(cause), base=_base(here, cause_id),
    )  # fmt: skip


def version_diff(old: compare.ScenarioVersion, new: compare.ScenarioVersion) -> dict[str, Markup]:
    """The word diff of two versions, section by section (summary, actions, assumptions,
    risks): the new text as it reads, added words in <ins>, removed ones in <del>."""
    return {
        "summary": compare.word_diff(old.summary, new.summary),
        "actions": compare.word_diff(scenarios.actions_text(old), scenarios.actions_text(new)),
        "assumptions": compare.word_diff(old.assumptions, new.assumptions),
        "risks": compare.word_diff(old.risks, new.risks),
    }


@get("/s/{slug:str}/causes/{cause_id:int}/scenarios/{scenario_id:int}", name="cause_scenario")
async def scenario_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    scenario_id: FromPath[int],
) -> Template:
    """A scenario: its current version with its actions, then every version, each with
    what changed and the word diff from the one before."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        found = await scenarios.scenario(conn, cause_id, scenario_id)
    shown = [scenarios.as_compared(v) for v in found.versions]
    diffs = {
        v.number: version_diff(shown[i - 1], shown[i])
        for i, v in enumerate(found.versions) if i > 0
    }  # fmt: skip
    return cause_page(
        "causes/scenario.html", here, cause, scenario=found, diffs=diffs,
        refused=_plan_refusal(cause), base=_base(here, cause_id), markdown=markdown.render,
        format_cost=scenarios.format_cost, who_shown=scenarios.who_shown,
    )  # fmt: skip


# --- the form ---------------------------------------------------------------------------------


class NewScenarioForm(msgspec.Struct, kw_only=True):
    title: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
    summary: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=20000)]
    assumptions: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""
    risks: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""


class VersionForm(msgspec.Struct, kw_only=True):
    summary: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=20000)]
    assumptions: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""
    risks: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""
    note: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""
    base: Annotated[int, msgspec.Meta(ge=1, le=boundary.INT32_MAX)] | None = None


class ActionForm(msgspec.Struct, kw_only=True):
    """One block of actions in the form (its fields named `action-<n>-<field>`)."""

    what: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=500)]
    who: Annotated[boundary.OneLine, msgspec.Meta(max_length=40)] = ""
    when: date | None = None
    means: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""
    cost: Annotated[boundary.OneLine, msgspec.Meta(max_length=40)] = ""
    criteria: Annotated[list[boundary.Id], boundary.Items] = msgspec.field(default_factory=list)
    expected: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""


ACTION_FIELDS = ("what", "who", "when", "means", "cost", "criteria", "expected")


class Block(msgspec.Struct, frozen=True):
    """One block of the form as shown: what it holds, as typed (criteria: the ids ticked)."""

    what: str = ""
    who: str = ""
    when: str = ""
    means: str = ""
    cost: str = ""
    criteria: frozenset[str] = frozenset()
    expected: str = ""


def _one(value: Any) -> str:
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value) if value is not None else ""


def _many(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [str(v) for v in items]


def _count(data: Mapping[str, Any]) -> int:
    """How many action blocks the form sent (its hidden `blocks`), within bounds."""
    try:
        sent = int(_one(data.get("blocks")) or 0)
    except ValueError:
        sent = 0
    return max(0, min(sent, MAX_BLOCKS))


def blocks_sent(data: Mapping[str, Any]) -> list[Block]:
    return [
        Block(
            **{f: _one(data.get(f"action-{i}-{f}")) for f in ACTION_FIELDS if f != "criteria"},
            criteria=frozenset(_many(data.get(f"action-{i}-criteria"))),
        )
        for i in range(_count(data))
    ]


def _blank(block: Block) -> bool:
    texts = (block.what, block.who, block.when, block.means, block.cost, block.expected)
    return not any(t.strip() for t in texts) and not block.criteria


def with_room(blocks: list[Block], more: int = EXTRA_BLOCKS) -> list[Block]:
    """The blocks written, then `more` empty ones (within the limit)."""
    written = list(blocks)
    while written and _blank(written[-1]):
        written.pop()
    room = max(0, min(more, MAX_BLOCKS - len(written)))
    return written + [Block()] * room


def blocks_of(version: Version) -> list[Block]:
    """A version's actions as the form's blocks (a new version starts from them)."""
    return [
        Block(
            what=a.what,
            who=f"user:{a.who_user}" if a.who_user else f"role:{a.who_role}" if a.who_role else "",
            when=a.due_on.isoformat() if a.due_on else "",
            means=a.means,
            cost=typed_cost(a.cost) if a.cost is not None else "",
            criteria=frozenset(str(i) for i, _name in a.criteria),
            expected=a.expected,
        )
        for a in version.actions
    ]


def typed_cost(cost: Decimal) -> str:
    """An amount as the reader would type it in the form ("200", "12,50" in French)."""
    pattern = "0" if cost == cost.to_integral_value() else "0.00"
    return format_decimal(cost, format=pattern, locale=current_locale.get())


def parse_cost(text: str) -> Decimal | None:
    """An amount typed in euros ("1 250,50", "150 €", "12.5"); None: none given."""
    cleaned = "".join(text.replace("€", "").split()).replace("\u202f", "").replace(",", ".")
    if not cleaned:
        return None
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(cleaned) from None
    if not scenarios.valid_cost(amount):
        raise ValueError(cleaned)
    return amount


def _who(text: str) -> tuple[int | None, int | None]:
    """(member, role) from the `who` choice: "user:<id>", "role:<id>" or "" (nobody yet)."""
    kind, _, ident = text.partition(":")
    if not text:
        return None, None
    if kind in ("user", "role") and ident.isdigit() and 0 < int(ident) <= boundary.INT64_MAX:
        return (int(ident), None) if kind == "user" else (None, int(ident))
    raise ValueError(text)


def parse_actions(
    data: Mapping[str, Any], errors: dict[str, str]
) -> tuple[list[scenarios.ActionIn], list[int]]:
    """The actions the blocks hold (blank blocks ignored), and the block of each; every
    mistake goes into `errors` under its field's name."""
    actions: list[scenarios.ActionIn] = []
    indices: list[int] = []
    for i, block in enumerate(blocks_sent(data)):
        if _blank(block):
            continue
        prefix = f"action-{i}-"
        sub = {f: data[prefix + f] for f in ACTION_FIELDS if prefix + f in data}
        try:
            form = parse_form(ActionForm, sub)
        except FormInvalid as invalid:
            errors.update({prefix + f: message for f, message in invalid.errors.items()})
            continue
        problems = {}
        try:
            who_user, who_role = _who(form.who)
        except ValueError:
            problems["who"] = gettext(CHOOSE_WHO)
        try:
            cost = parse_cost(form.cost)
        except ValueError:
            problems["cost"] = gettext(scenarios.BAD_COST)
        if problems:
            errors.update({prefix + f: message for f, message in problems.items()})
            continue
        actions.append(scenarios.ActionIn(
            what=form.what, who_user=who_user, who_role=who_role, due_on=form.when,
            means=form.means, cost=cost, criteria=list(form.criteria), expected=form.expected,
        ))  # fmt: skip
        indices.append(i)
    return actions, indices


_STORE_FIELDS = {"who_user": "who", "who_role": "who", "criteria": "criteria", "cost": "cost"}


def _store_problems(invalid: ScenarioInvalid, indices: Sequence[int]) -> dict[str, str]:
    """The store's problems with the actions, under the form's field names."""
    errors: dict[str, str] = {}
    for problem in invalid.problems:
        message = (
            gettext(problem.message) % invalid.params
            if invalid.params
            else gettext(problem.message)
        )
        if problem.field in _STORE_FIELDS and problem.position < len(indices):
            errors[f"action-{indices[problem.position]}-{_STORE_FIELDS[problem.field]}"] = message
        else:
            errors["__all__"] = message
    return errors


def _values(data: Mapping[str, Any]) -> dict[str, str]:
    return {k: _one(v) for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}


class Options(msgspec.Struct, frozen=True):
    """What an action may name: the members who may act, the roles, the cause's criteria."""

    members: list[spaces.Person]
    roles: list[tuple[int, str]]
    criteria: list[scenarios.Criterion]


async def _options(conn: db.Connection, space_id: int, cause_id: int) -> Options:
    return Options(
        members=await spaces.acting_people(conn, space_id),
        roles=await scenarios.assignable_roles(conn, space_id),
        criteria=await scenarios.criteria(conn, cause_id),
    )


def _form_page(
    here: SpaceView,
    cause: Cause,
    options: Options,
    *,
    values: Mapping[str, str],
    blocks: list[Block],
    form: FormInvalid | None = None,
    status: int = 200,
    refused: str | None = None,
    show_form: bool = True,
    scenario: scenarios.Scenario | None = None,
    key: str | None = None,
) -> Template:
    """The form of a new scenario, or of a new version of `scenario`."""
    base = _base(here, cause.id)
    action = f"{base}/{scenario.id}/versions" if scenario else base
    return cause_page(
        "causes/scenario_form.html", here, cause, status, options=options, values=values,
        blocks=blocks, form=form, refused=refused, show_form=show_form, scenario=scenario,
        base=base, action=action, key=key or idempotency.new_key(), more=MORE_BLOCKS,
        max_blocks=MAX_BLOCKS,
    )  # fmt: skip


@get("/s/{slug:str}/causes/{cause_id:int}/scenarios/new", name="new_cause_scenario")
async def new_scenario_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The form of a new scenario; before the plan is open, the rule it waits for."""
    require(here.standing, SpaceAction.PARTICIPATE)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        options = await _options(conn, here.space.id, cause_id)
    refused = _plan_refusal(cause)
    return _form_page(here, cause, options, values={}, blocks=with_room([]), refused=refused,
                      show_form=refused is None)  # fmt: skip


@get(
    "/s/{slug:str}/causes/{cause_id:int}/scenarios/{scenario_id:int}/versions/new",
    name="new_scenario_version",
)
async def new_version_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    scenario_id: FromPath[int],
) -> Template:
    """A new version's form, holding the current one's text and actions to change."""
    require(here.standing, SpaceAction.PARTICIPATE)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        found = await scenarios.scenario(conn, cause_id, scenario_id)
        options = await _options(conn, here.space.id, cause_id)
    current = found.current
    values = {"summary": current.summary, "assumptions": current.assumptions,
              "risks": current.risks, "note": "", "base": str(current.number)}  # fmt: skip
    refused = gettext(scenarios.SET_ASIDE) if found.set_aside_at else _plan_refusal(cause)
    return _form_page(here, cause, options, values=values, blocks=with_room(blocks_of(current)),
                      refused=refused, show_form=refused is None, scenario=found)  # fmt: skip


async def _write(
    data: Mapping[str, Any],
    here: SpaceView,
    me: User,
    pool: asyncpg.Pool,
    cause_id: int,
    scenario_id: int | None,
) -> Response[Any]:
    """Write a new scenario (scenario_id None) or a new version, or show the form again:
    with more blocks (the "more" button), with each mistake next to its field (422), or with
    the refusal above it (409), nothing typed lost."""
    require(here.standing, SpaceAction.PARTICIPATE)
    values = _values(data)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        found = await scenarios.scenario(conn, cause_id, scenario_id) if scenario_id else None
        options = await _options(conn, here.space.id, cause_id)
    sent = blocks_sent(data)
    key = idempotency.form_key(data)

    def again(status: int, form: FormInvalid | None = None, refused: str | None = None) -> Template:
        return _form_page(here, cause, options, values=values, blocks=with_room(sent), form=form,
                          status=status, refused=refused, scenario=found, key=key)  # fmt: skip

    if "more" in data:  # more action blocks, nothing written
        more = with_room(sent, EXTRA_BLOCKS + MORE_BLOCKS)
        return _form_page(here, cause, options, values=values, blocks=more, scenario=found,
                          key=key)  # fmt: skip
    errors: dict[str, str] = {}
    head: NewScenarioForm | VersionForm | None = None
    try:
        head = parse_form(VersionForm, data) if found else parse_form(NewScenarioForm, data)
    except FormInvalid as invalid:
        errors.update(invalid.errors)
    actions, indices = parse_actions(data, errors)
    if isinstance(head, VersionForm) and not head.note.strip() and "note" not in errors:
        errors["note"] = gettext(scenarios.NOTE_REQUIRED)
    if errors or head is None:
        return again(422, FormInvalid(errors, values))
    text = ScenarioText(
        title=head.title if isinstance(head, NewScenarioForm) else "",
        summary=head.summary, assumptions=head.assumptions, risks=head.risks,
        note=head.note if isinstance(head, VersionForm) else "", actions=actions,
    )  # fmt: skip
    base = _base(here, cause_id)
    page = f"{base}/{scenario_id}/versions" if scenario_id else base
    try:
        version_base = head.base if isinstance(head, VersionForm) else None

        async def write(tx: db.Connection) -> str:
            if scenario_id is None:
                written = await scenarios.create(tx, here.space.id, cause_id, me.id, text)
            else:
                written = await scenarios.add_version(
                    tx, here.space.id, cause_id, scenario_id, me.id, text, base=version_base
                )
            return f"{base}/{written.scenario_id}#v{written.number}"

        return await idempotency.form_posted(pool, me.id, data, page, text, write, replayed_to=base)
    except FormInvalid as invalid:
        return again(422, FormInvalid(invalid.errors, values))
    except ScenarioInvalid as invalid:
        return again(422, FormInvalid(_store_problems(invalid, indices), values))
    except DomainError as refused:
        if refused.status in (403, 404):
            raise
        if refused.field is not None:
            return again(422, FormInvalid({refused.field: domain_message(refused)}, values))
        if refused.code == "scenario_version_stale":  # the form again, from the latest
            values["base"] = str(refused.params["number"])
        return again(refused.status, refused=domain_message(refused))


@post("/s/{slug:str}/causes/{cause_id:int}/scenarios")
async def create_scenario(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """A new scenario (the next letter), on its page."""
    return await _write(data, here, me, pool, cause_id, None)


@post("/s/{slug:str}/causes/{cause_id:int}/scenarios/{scenario_id:int}/versions")
async def add_scenario_version(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    scenario_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The scenario's next version, with the note on what changed, on its page."""
    return await _write(data, here, me, pool, cause_id, scenario_id)


# --- side by side -----------------------------------------------------------------------------


class Group(msgspec.Struct, frozen=True):
    """The comparison's rows shown together: the whole version's, or one action's."""

    action: int | None  # the action's position (from 0), None for the version's rows
    rows: tuple[compare.Row, ...]


def grouped(rows: Sequence[compare.Row]) -> list[Group]:
    """The rows in groups: summary and criteria, each action, assumptions and risks."""
    groups: list[Group] = []
    for row in rows:
        if groups and groups[-1].action == row.action:
            groups[-1] = Group(row.action, (*groups[-1].rows, row))
        else:
            groups.append(Group(row.action, (row,)))
    return groups


def _version_ids(request: Request[Any, Any, Any]) -> list[int] | None:
    """The versions asked for (`v`, repeated), each once in the order given; None: none
    asked. What is not a row id cannot be a version of the cause: 404."""
    raw = request.query_params.getall("v", [])
    if not raw:
        return None
    if len(raw) > boundary.MAX_ITEMS:
        raise NotFoundException()
    ids: list[int] = []
    for text in raw:
        if not text.isdigit() or not 0 < int(text) <= boundary.INT64_MAX:
            raise NotFoundException()
        ids.append(int(text))
    return list(dict.fromkeys(ids))


@get("/s/{slug:str}/causes/{cause_id:int}/scenarios/compare", name="compare_scenarios")
async def compare_page(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    a: boundary.IdQuery = None,
    b: boundary.IdQuery = None,
) -> Template:
    """2 to 4 versions of the cause's scenarios side by side (`v`, repeated; by default the
    current version of each scenario in play, the first four), the cells that differ from
    the first column marked, and the word diff of two of them (`a`, `b`; by default the
    first two columns). Another count than 2 to 4: the page says so (422); a version of
    another cause: 404."""
    asked = _version_ids(request)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        listed = await scenarios.scenarios(conn, cause_id)
        chosen = asked if asked is not None else [
            s.version_id for s in listed if s.set_aside_at is None
        ][: compare.MAX_COLUMNS]  # fmt: skip
        wanted = [*chosen, *(i for i in (a, b) if i is not None)]
        loaded = {v.id: v for v in await scenarios.versions(conn, cause_id, wanted)}
    status, problem = 200, None
    columns = [loaded[i] for i in chosen]
    if not compare.MIN_COLUMNS <= len(columns) <= compare.MAX_COLUMNS:
        if asked is not None:
            status, problem = 422, gettext(COMPARE_COUNT) % {"count": len(columns)}
        else:
            problem = gettext(TOO_FEW)
        columns = []
    shown = [scenarios.as_compared(v) for v in columns]
    rows = compare.compare(shown) if columns else ()
    diff = old = new = None
    choices: list[Version] = []
    if columns:
        old = loaded[a] if a is not None else columns[0]
        new = loaded[b] if b is not None else columns[1]
        diff = version_diff(scenarios.as_compared(old), scenarios.as_compared(new))
        choices = [*columns, *(v for v in (old, new) if v not in columns)]
    differences = [sum(1 for r in rows if r.cells[i].differs) for i in range(len(columns))]
    return cause_page(
        "causes/compare.html", here, cause, status, columns=columns, groups=grouped(rows),
        row_names=ROW_NAMES, prose_rows=PROSE_ROWS, listed=listed, checked=set(chosen),
        problem=problem, problem_is_error=status == 422, diff=diff, old=old, new=new,
        diff_choices=list({v.id: v for v in choices}.values()), differences=differences,
        base=_base(here, cause_id), markdown=markdown.render,
    )  # fmt: skip


routes = [
    plan_page,
    compare_page,
    new_scenario_form,
    create_scenario,
    scenario_page,
    new_version_form,
    add_scenario_version,
]
