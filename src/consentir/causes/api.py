"""Causes as the JSON API (issue 12 §6), beside their pages: the same stores, the same rules,
the same bounds as the forms. Everything lives under /api/v1/spaces/{slug}/causes:

- the causes (newest first, a page at a time), one cause with its five steps (each open, or
  the rule it waits for), its proposals and decisions; a new cause; the proposal taking it
  on (the three criteria answered); following it, or joining those who carry it;
- its field observation: the observations (latest observed first, a page at a time) and,
  for the space's members only, the actors with their assessments over time and their links;
- its objectives with their impact criteria (each draft, proposed or adopted), and the
  proposal adopting them; a criterion's measurements (append-only: a correction names the
  one it corrects) with the value in effect and the progress;
- the plan's scenarios, their versions and actions, the side-by-side comparison as data;
  the scenario choice is opened in choice_routes.py and run by the proposal's steps;
- the tracked action list (status and evidence, by an action's owner or a facilitator);
  the proposal of the evaluation's interpretation.

Access, as on the pages: `here` is the space as the token's owner sees it (404 for anyone who
may not see it, and for a cause, actor, objective, criterion, scenario or action of another
space or cause); writing is for those who may take part (403 otherwise); the actors are the
members' business (404 for anyone else, the instance's administrators included). A write
refused by the journey (a step not open yet, a proposal under way) is 409 naming the rule
(`code`); a mistake is 422 naming its field. Every write is one transaction; those that create
something answer 201 with its address in `Location`, and accept an `Idempotency-Key` header
(the same key again writes nothing and answers as the first time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import asyncpg
import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from consentir import db
from consentir.accounts.store import User
from consentir.causes import (
    api_objectives,
    api_observe,
    api_plan,
    proposing,
    rules,
    store,
)
from consentir.causes.api_common import (
    BASE,
    TAG,
    PersonOut,
    ProposalMadeOut,
    causes_href,
    describe,
    filled,
    proposal_href,
    proposal_made,
)
from consentir.causes.routes import (
    CRITERIA,
    OTHER_THEME,
    TAKE_ON_DRIVER,
    TAKE_ON_TITLE,
    THEME_MISSING,
    UNANSWERED,
    CauseForm,
    TakeOnForm,
    _refusal,
    theme_label,
)
from consentir.causes.store import Cause, CauseText, Purpose
from consentir.consent.routes import actor_of
from consentir.consent.store import Content
from consentir.errors import DomainError
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.i18n import gettext

# --- what the API answers: causes ---------------------------------------------------------


class StepOut(msgspec.Struct):
    """One of the five steps: open, or the rule it waits for (`waits_for`, a rule code, and
    its `message`). `current`: the furthest open step, where the cause is."""

    step: rules.Step
    open: bool
    current: bool
    waits_for: str | None
    message: str | None


class CauseProposalOut(msgspec.Struct):
    """One of the cause's proposals (a draft is read only by its author and the
    facilitators: `href` answers 404 to anyone else)."""

    proposal_id: int
    purpose: Purpose
    title: str
    stage: str
    closed: bool
    decision: str | None  # the number of the decision that adopted it
    adopted_at: datetime | None
    href: str


class DecisionOut(msgspec.Struct):
    number: str
    purpose: Purpose
    proposal_id: int
    adopted_at: datetime | None
    href: str  # the decision in the register's API


class CauseOut(msgspec.Struct):
    """A cause: what it is, who carries and follows it, its five steps, its proposals
    (oldest first) and the decisions they made (latest first)."""

    id: int
    title: str
    territory: str
    theme: str  # one of the five codes, or a free theme as written
    theme_label: str  # in the reader's language
    summary: str  # Markdown
    created_by: int
    created_at: datetime
    carriers: list[PersonOut]
    followers: int
    following: bool  # the token's owner follows it
    steps: list[StepOut]
    proposals: list[CauseProposalOut]
    decisions: list[DecisionOut]


class CauseListedOut(msgspec.Struct):
    id: int
    title: str
    territory: str
    theme: str
    created_at: datetime
    followers: int
    step: str  # where it is: proposed, observe, evaluate or celebrate
    href: str


class CauseListOut(msgspec.Struct):
    causes: list[CauseListedOut]
    next: str | None  # the next page's address; null: the last page


def _cause_out(here: SpaceView, cause: Cause) -> CauseOut:
    slug = here.space.slug
    steps = [
        StepOut(g.step, g.open, g.current, g.waits_for.value if g.waits_for else None,
                gettext(rules.MESSAGES[g.waits_for]) if g.waits_for else None)
        for g in rules.stepper(cause.facts)
    ]  # fmt: skip
    return CauseOut(
        id=cause.id, title=cause.title, territory=cause.territory, theme=cause.theme,
        theme_label=theme_label(cause.theme), summary=cause.summary,
        created_by=cause.created_by, created_at=cause.created_at,
        carriers=[PersonOut(p.id, p.name) for p in cause.carriers],
        followers=cause.followers, following=cause.following, steps=steps,
        proposals=[
            CauseProposalOut(p.proposal_id, p.purpose, p.title, p.stage, p.closed,
                             p.decision_number, p.adopted_at,
                             proposal_href(here, p.proposal_id))
            for p in cause.proposals
        ],
        decisions=[
            DecisionOut(p.decision_number, p.purpose, p.proposal_id, p.adopted_at,
                        f"/api/v1/spaces/{slug}/decisions/{quote(p.decision_number)}")
            for p in reversed(cause.proposals) if p.decision_number
        ],
    )  # fmt: skip


# --- causes ---------------------------------------------------------------------------------


@get(BASE, tags=TAG, summary="A space's causes")
async def api_causes(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    before: boundary.IdQuery = None,
) -> CauseListOut:
    """Newest first, 30 at a time; follow `next` for more (`before`: the last id read)."""
    async with pool.acquire() as conn:
        listed, following = await store.listing(conn, here.space.id, before)
    base = causes_href(here)
    return CauseListOut(
        [CauseListedOut(c.id, c.title, c.territory, c.theme, c.created_at, c.followers, c.step,
                        f"{base}/{c.id}") for c in listed],
        f"{base}?before={following}" if following else None,
    )  # fmt: skip


class CauseIn(CauseForm, boundary.Input, kw_only=True):
    """A cause to propose: its title, territory, theme (one of the five codes, or `other`
    with the free theme in `theme_other`) and summary (Markdown)."""


@post(BASE, tags=TAG, status_code=201, summary="Propose a cause (its author carries it)")
async def api_create_cause(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    data: JSONBody[CauseIn],
) -> Response[CauseOut]:
    """The cause is proposed, not taken on: a decision takes it on (`take-on`). Answers the
    cause, its address in `Location`. Accepts an `Idempotency-Key` header."""
    require(here.standing, Action.PARTICIPATE)
    filled(title=data.title, territory=data.territory)
    if data.theme == OTHER_THEME and not data.theme_other.strip():
        raise DomainError("theme_missing", THEME_MISSING, field="theme_other")
    theme = data.theme_other.strip() if data.theme == OTHER_THEME else data.theme
    text = CauseText(data.title, data.territory, theme, data.summary)

    async def make(conn: db.Connection) -> tuple[CauseOut, str]:
        cause_id = await store.create(conn, here.space.id, me.id, text)
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        return _cause_out(here, cause), f"{causes_href(here)}/{cause_id}"

    return await idempotency.created(pool, request, me.id, data, make)


@get(BASE + "/{cause_id:int}", tags=TAG,
     summary="A cause: its steps, its proposals and decisions")  # fmt: skip
async def api_cause(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> CauseOut:
    """Each of the five steps (observe, objectives, plan, evaluate, celebrate) open, or with
    the rule it waits for (`waits_for`), as the cause page's stepper."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
    return _cause_out(here, cause)


class TakeOnIn(TakeOnForm, boundary.Input, kw_only=True):
    """How the cause meets each of the movement's three criteria (each required), and why
    now (`driver`, optional)."""


@post(BASE + "/{cause_id:int}/take-on", tags=TAG, status_code=201,
      summary="Propose to take a cause on (the three criteria answered)")  # fmt: skip
async def api_take_on(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[TakeOnIn],
) -> Response[ProposalMadeOut]:
    """A draft proposal of the cause; its steps take it to a decision, which takes the cause
    on. An unanswered criterion: 422 `cause_criteria_unanswered` naming it; the cause taken
    on already (`cause_taken_on`) or a proposal taking it on under way
    (`cause_proposal_under_way`): 409. Accepts an `Idempotency-Key` header."""
    require(here.standing, Action.PARTICIPATE)
    meets = data.meets()
    for name, answer in zip(CRITERIA, meets, strict=True):
        if not answer:
            raise DomainError(rules.Rule.CRITERIA_UNANSWERED.value, UNANSWERED[name], field=name)

    async def make(conn: db.Connection) -> tuple[ProposalMadeOut, str]:
        locked = await store.lock(conn, here.space.id, cause_id)
        refusal = _refusal(locked)
        if refusal is not None:
            raise refusal
        content = Content(
            title=(gettext(TAKE_ON_TITLE) % {"title": locked.title})[:200],
            driver=data.driver.strip() or gettext(TAKE_ON_DRIVER),
            body=proposing.take_on_text(locked, meets),
        )
        proposal_id = await proposing.propose(
            conn, here.space, actor_of(here, me), locked, "take_on", content, meets=meets
        )
        return proposal_made(here, proposal_id)

    return await idempotency.created(pool, request, me.id, data, make)


class FollowIn(boundary.Input, kw_only=True):
    carries: bool = False  # also join those who carry the cause


class FollowOut(msgspec.Struct):
    following: bool
    carries: bool
    followers: int


async def _follow(
    pool: asyncpg.Pool, here: SpaceView, me: User, cause_id: int, on: bool, carries: bool
) -> FollowOut:
    require(here.standing, Action.PARTICIPATE)
    async with db.transaction(pool) as conn:
        await store.follow(conn, here.space.id, cause_id, me.id, on=on, carries=on and carries)
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
    return FollowOut(cause.following, me.id in cause.carried_by, cause.followers)


@post(BASE + "/{cause_id:int}/follow", tags=TAG, status_code=200,
      summary="Follow a cause, or join those who carry it")  # fmt: skip
async def api_follow(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[FollowIn | None] = None,
) -> FollowOut:
    """Followers are told of its decisions, measurements and steps. `carries`: carry it too
    (one who carries it keeps carrying it). Doing it twice changes nothing."""
    return await _follow(pool, here, me, cause_id, True, bool(data and data.carries))


@delete(BASE + "/{cause_id:int}/follow", tags=TAG, status_code=200,
        summary="Stop following a cause (and carrying it)")  # fmt: skip
async def api_unfollow(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> FollowOut:
    """Doing it twice changes nothing."""
    return await _follow(pool, here, me, cause_id, False, False)


OWN = [api_causes, api_create_cause, api_cause, api_take_on, api_follow, api_unfollow]
describe(OWN)

routes = [*OWN, *api_observe.routes, *api_objectives.routes, *api_plan.routes]
"""Every route of the causes' JSON API, for the app to register."""
