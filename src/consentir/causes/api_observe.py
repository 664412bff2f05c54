"""The causes' JSON API: field observation, and the actors (for the space's members only)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody

from consentir import db, keyset
from consentir.accounts.store import User
from consentir.causes import (
    observing,
    store,
)
from consentir.causes.api_common import (
    BASE,
    TAG,
    causes_href,
    describe,
    filled,
)
from consentir.causes.pages import is_member
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency

# --- observations -------------------------------------------------------------------------


class ObservationOut(msgspec.Struct):
    id: int
    kind: observing.ObservationKind
    title: str
    body: str  # Markdown
    source: str
    observed_on: date
    url: str | None
    author: str
    created_at: datetime


class ObservationListOut(msgspec.Struct):
    observations: list[ObservationOut]
    next: str | None  # the next page's address; null: the last page


def _observation_out(o: observing.Observation) -> ObservationOut:
    return ObservationOut(o.id, o.kind, o.title, o.body, o.source, o.observed_on, o.url,
                          o.author_name, o.created_at)  # fmt: skip


@get(BASE + "/{cause_id:int}/observations", tags=TAG, summary="A cause's observations")
async def api_observations(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    after: FromQuery[str | None] = None,
) -> ObservationListOut:
    """Facts, testimonies, figures and documents, the latest observed first, 50 at a time;
    follow `next` for more."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        found, following = await observing.observations(conn, cause.id, after)
    link = None
    if following:
        link = f"{causes_href(here)}/{cause_id}/observations?after={quote(following)}"
    return ObservationListOut([_observation_out(o) for o in found], link)


# (msgspec lets a frozen Struct extend Input, which only reads its fields; mypy does not.)
class ObservationIn(observing.ObservationText, boundary.Input, kw_only=True, frozen=True):  # type: ignore[misc]
    """An observation: its kind, title, source and day (today at the latest); a text
    (Markdown) and a web address, if any."""


@post(BASE + "/{cause_id:int}/observations", tags=TAG, status_code=201,
      summary="Add an observation to a cause")  # fmt: skip
async def api_add_observation(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[ObservationIn],
) -> Response[ObservationOut]:
    """Once the cause is taken on (409 `cause_not_taken_on` before). `Location`: the
    observations. Accepts an `Idempotency-Key` header."""
    require(here.standing, Action.PARTICIPATE)
    filled(title=data.title, source=data.source)

    async def make(conn: db.Connection) -> tuple[ObservationOut, str]:
        made = await observing.add_observation(conn, here.space.id, cause_id, me.id, data)
        # The page of one, from just after it: the observation as the list reads it.
        after = keyset.encode(datetime.combine(data.observed_on, time(), UTC), made + 1)
        [written], _ = await observing.observations(conn, cause_id, after, limit=1)
        return _observation_out(written), f"{causes_href(here)}/{cause_id}/observations"

    return await idempotency.created(pool, request, me.id, data, make)


# --- actors (members only) ------------------------------------------------------------------


class AssessmentOut(msgspec.Struct):
    id: int
    stance: int  # −2 (strongly against) … +2 (strongly for)
    influence: int  # 0 (none) … 3 (decisive)
    interest: str
    role: observing.ActorRole
    assessed_at: datetime
    assessor: str  # the member who assessed it


class ActorOut(msgspec.Struct):
    """An actor and where it stands now (`latest`) and stood before (`previous`). A private
    individual is never named: `name` is their group's label."""

    id: int
    kind: observing.ActorKind
    private: bool
    name: str
    public_role: str
    group_label: str
    created_at: datetime
    assessed: int  # how many assessments it has
    latest: AssessmentOut | None
    previous: AssessmentOut | None


class LinkOut(msgspec.Struct):
    from_actor: int
    to_actor: int
    label: str
    created_at: datetime


class ActorListOut(msgspec.Struct):
    actors: list[ActorOut]
    links: list[LinkOut]


class ActorDetailOut(ActorOut):
    """An actor with its assessments over time (oldest first) and its links."""

    assessments: list[AssessmentOut]
    links: list[LinkOut]


def _assessment_out(a: observing.Assessment | None) -> AssessmentOut | None:
    if a is None:
        return None
    return AssessmentOut(a.id, a.stance, a.influence, a.interest, a.role, a.assessed_at,
                         a.assessor)  # fmt: skip


def _actor_out(a: observing.Actor) -> ActorOut:
    return ActorOut(
        id=a.id, kind=a.kind, private=a.private, name=a.name, public_role=a.public_role,
        group_label=a.group_label, created_at=a.created_at, assessed=a.assessed,
        latest=_assessment_out(a.current), previous=_assessment_out(a.previous),
    )  # fmt: skip


def _link_out(link: observing.Link) -> LinkOut:
    return LinkOut(link.from_actor, link.to_actor, link.label, link.created_at)


def _members_only(here: SpaceView) -> None:
    """The actors are the members' business: for anyone else they do not exist."""
    if not is_member(here):
        raise NotFoundException()


async def _actor_detail(conn: db.Connection, cause_id: int, actor_id: int) -> ActorDetailOut:
    found = await observing.actor(conn, cause_id, actor_id)
    links = await observing.links(conn, cause_id, actor_id)
    return ActorDetailOut(
        **msgspec.structs.asdict(_actor_out(found)),
        assessments=[a for a in map(_assessment_out, found.assessments) if a is not None],
        links=[_link_out(link) for link in links],
    )


@get(BASE + "/{cause_id:int}/actors", tags=TAG,
     summary="A cause's actors and their links (the space's members)")  # fmt: skip
async def api_actors(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> ActorListOut:
    """In the order they were added, each with its latest two assessments (the map's data).
    Anyone but a member of the space: 404."""
    _members_only(here)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        found = await observing.actors(conn, cause.id)
        links = await observing.links(conn, cause.id)
    return ActorListOut([_actor_out(a) for a in found], [_link_out(link) for link in links])


@get(BASE + "/{cause_id:int}/actors/{actor_id:int}", tags=TAG,
     summary="An actor: its assessments over time, its links (the space's members)")  # fmt: skip
async def api_actor(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    actor_id: FromPath[int],
) -> ActorDetailOut:
    """Anyone but a member of the space: 404."""
    _members_only(here)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id)
        return await _actor_detail(conn, cause.id, actor_id)


class ActorIn(observing.ActorText, kw_only=True, frozen=True):
    """Who the actor is (a person with a public role: `public_role` required; a private
    individual: `group_label` required, never named, a name sent is not kept) and its first
    assessment."""

    assessment: observing.AssessmentText


def _actor_href(here: SpaceView, cause_id: int, actor_id: int) -> str:
    return f"{causes_href(here)}/{cause_id}/actors/{actor_id}"


@post(BASE + "/{cause_id:int}/actors", tags=TAG, status_code=201,
      summary="Add an actor with its first assessment (the space's members)")  # fmt: skip
async def api_add_actor(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[ActorIn],
) -> Response[ActorDetailOut]:
    """Once the cause is taken on. Accepts an `Idempotency-Key` header."""
    _members_only(here)
    require(here.standing, Action.PARTICIPATE)
    who = observing.ActorText(kind=data.kind, name=data.name, public_role=data.public_role,
                              group_label=data.group_label)  # fmt: skip

    async def make(conn: db.Connection) -> tuple[ActorDetailOut, str]:
        made = await observing.add_actor(conn, here.space.id, cause_id, me.id, who, data.assessment)
        return await _actor_detail(conn, cause_id, made), _actor_href(here, cause_id, made)

    return await idempotency.created(pool, request, me.id, data, make)


@post(BASE + "/{cause_id:int}/actors/{actor_id:int}/assessments", tags=TAG, status_code=201,
      summary="Assess an actor again (the space's members)")  # fmt: skip
async def api_assess_actor(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    actor_id: FromPath[int],
    data: JSONBody[observing.AssessmentText],
) -> Response[ActorDetailOut]:
    """Its earlier assessments are kept (the map shows who moved). Answers the actor.
    Accepts an `Idempotency-Key` header."""
    _members_only(here)
    require(here.standing, Action.PARTICIPATE)

    async def make(conn: db.Connection) -> tuple[ActorDetailOut, str]:
        await observing.assess(conn, here.space.id, cause_id, actor_id, me.id, data)
        return await _actor_detail(conn, cause_id, actor_id), _actor_href(here, cause_id,
                                                                           actor_id)  # fmt: skip

    return await idempotency.created(pool, request, me.id, data, make)


@post(BASE + "/{cause_id:int}/actors/{actor_id:int}/links", tags=TAG, status_code=201,
      summary="Link an actor to another (the space's members)")  # fmt: skip
async def api_link_actor(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    actor_id: FromPath[int],
    data: JSONBody[observing.LinkText],
) -> Response[LinkOut]:
    """One link per pair and direction (another: 422 `already_linked`). Accepts an
    `Idempotency-Key` header."""
    _members_only(here)
    require(here.standing, Action.PARTICIPATE)
    filled(label=data.label)

    async def make(conn: db.Connection) -> tuple[LinkOut, str]:
        await observing.link(conn, here.space.id, cause_id, actor_id, me.id, data)
        made = next(
            link for link in await observing.links(conn, cause_id, actor_id)
            if link.from_actor == actor_id and link.to_actor == data.other
        )  # fmt: skip
        return _link_out(made), _actor_href(here, cause_id, actor_id)

    return await idempotency.created(pool, request, me.id, data, make)


routes = [
    api_observations,
    api_add_observation,
    api_actors,
    api_actor,
    api_add_actor,
    api_assess_actor,
    api_link_actor,
]
describe(routes)
