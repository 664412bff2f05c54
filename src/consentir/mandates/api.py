"""Roles and mandates as the JSON API (Bearer tokens, problem+json errors), beside the pages
of mandates/routes.py: the same store, the same checks, the same forms' constraints.

- a space's roles, each with who holds each seat today; one role with its holders now, to
  come and before;
- an administrator records a role that existed before the instance;
- the caller's own mandates in every space, and every mandate of a space;
- the holder's resignation.

Under /api/v1/spaces/{slug}, `here` is the space as the token's owner sees it (404 for anyone
who may not see it). Writes accept an `Idempotency-Key` header: the same key again changes
nothing and answers as the first time (`Idempotent-Replayed: true`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, TypeVar, cast

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from consentir import db
from consentir.accounts.store import User
from consentir.errors import N_, DomainError
from consentir.mandates import rules, store
from consentir.mandates.routes import MAX_ACCOUNTABILITY, ResignForm, RoleForm, seats_today, today
from consentir.mandates.routes import when as when_on
from consentir.mandates.rules import EndReason
from consentir.mandates.store import Held, Role
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency

REQUIRED = N_("This field is required.")

When = Literal["current", "future", "past"]
T = TypeVar("T")


# --- what the API answers -------------------------------------------------------------------


class PersonOut(msgspec.Struct):
    id: int
    name: str


class MandateOut(msgspec.Struct):
    """A mandate: one seat of a role, given to its holder for a term by a decision."""

    id: int
    space: str  # the space's slug
    role_id: int
    role_name: str
    seat: int
    holder: PersonOut
    first: date  # the term's first day
    # The term's last day as it runs: the granted one, or the last day of an early end
    # (the day before `first` for a successor who withdrew before beginning).
    last: date
    ended_on: date | None  # the last day of a mandate ended early
    end_reason: EndReason | None
    decision: str  # the number of the decision that granted it
    when: When  # today: running, to come, or over


class SeatOut(msgspec.Struct):
    seat: int
    holder: PersonOut | None  # whoever holds it today; null: vacant
    mandate_id: int | None


class RoleOut(msgspec.Struct):
    """A role's current text, and who holds each of its seats today."""

    id: int
    version: int  # the number of its current text
    name: str
    purpose: str
    domain: str  # what the role decides alone
    accountabilities: list[str]
    seats: int
    term_months: int
    consecutive_terms: int | None  # null: no limit
    eligibility: str
    preexisting: bool  # recorded as it existed before the instance, not by a decision here
    retired_on: date | None
    seats_today: list[SeatOut]


class RoleDetailOut(RoleOut):
    """A role with its holders: now (by seat), to come (soonest first), before (latest
    first)."""

    current: list[MandateOut]
    future: list[MandateOut]
    past: list[MandateOut]


class RoleListOut(msgspec.Struct):
    roles: list[RoleOut]


class MandateListOut(msgspec.Struct):
    mandates: list[MandateOut]


def _mandate_out(held: Held, day: date) -> MandateOut:
    return MandateOut(
        id=held.id, space=held.space_slug, role_id=held.role_id, role_name=held.role_name,
        seat=held.seat, holder=PersonOut(held.holder_id, held.holder_name), first=held.first,
        last=held.term.last, ended_on=held.ended_on, end_reason=held.end_reason,
        decision=held.decision_number, when=cast(When, when_on(held, day)),
    )  # fmt: skip


def _role_out(role: Role, mandates: list[Held], day: date) -> RoleOut:
    text = role.text
    seats = [
        SeatOut(seat.number, PersonOut(seat.holder.holder_id, seat.holder.holder_name),
                seat.holder.id) if seat.holder else SeatOut(seat.number, None, None)
        for seat in seats_today(role, mandates, day)
    ]  # fmt: skip
    return RoleOut(
        id=role.id, version=role.version, name=text.name, purpose=text.purpose,
        domain=text.domain, accountabilities=list(text.accountabilities), seats=text.seats,
        term_months=text.term_months, consecutive_terms=text.consecutive_terms,
        eligibility=text.eligibility, preexisting=role.preexisting, retired_on=role.retired_on,
        seats_today=seats,
    )  # fmt: skip


# --- roles ----------------------------------------------------------------------------------


@get("/api/v1/spaces/{slug:str}/roles", tags=["roles"], summary="A space's roles")
async def api_roles(
    here: NamedDependency[SpaceView], pool: NamedDependency[asyncpg.Pool]
) -> RoleListOut:
    """By name; each with its seats and who holds each today (`holder` null: vacant)."""
    async with pool.acquire() as conn:
        found = await store.roles(conn, here.space.id)
        mandates = await store.space_mandates(conn, here.space.id)
    day = today()
    return RoleListOut([_role_out(role, mandates, day) for role in found])


@get("/api/v1/spaces/{slug:str}/roles/{role_id:int}", tags=["roles"],
     summary="A role: its text and its holders, now, to come and before")  # fmt: skip
async def api_role(
    here: NamedDependency[SpaceView], pool: NamedDependency[asyncpg.Pool], role_id: FromPath[int]
) -> RoleDetailOut:
    """Each holder with the decision that granted the seat; a mandate ended early says when
    (`ended_on`) and why (`end_reason`)."""
    async with pool.acquire() as conn:
        role = await store.role(conn, here.space.id, role_id)
        mandates = await store.holders(conn, here.space.id, role_id)
    day = today()
    out = [_mandate_out(held, day) for held in mandates]  # latest first
    current = sorted((m for m in out if m.when == "current"), key=lambda m: m.seat)
    future = sorted((m for m in out if m.when == "future"), key=lambda m: (m.first, m.seat))
    return RoleDetailOut(
        **msgspec.structs.asdict(_role_out(role, mandates, day)),
        current=current, future=future, past=[m for m in out if m.when == "past"],
    )  # fmt: skip


Accountability = Annotated[boundary.OneLine, msgspec.Meta(max_length=MAX_ACCOUNTABILITY)]


class RoleIn(RoleForm, boundary.Input):
    """A role as the page's form records it (same fields and bounds, kept so by inheriting
    them), its accountabilities a list rather than lines, as in a proposal of kind role."""

    # msgspec lets a subclass redeclare a field; mypy holds to the base's type.
    accountabilities: Annotated[list[Accountability], boundary.Items] = msgspec.field(  # type: ignore[assignment]
        default_factory=list
    )


def _role_text(data: RoleIn) -> store.RoleText:
    """The text to record: spaces trimmed, blank accountabilities left out; a name or a
    purpose of spaces only is missing (422 naming the field)."""
    for name in ("name", "purpose"):
        if not getattr(data, name).strip():
            raise DomainError("field_required", REQUIRED, field=name)
    lines = [" ".join(line.split()) for line in data.accountabilities]
    return store.RoleText(
        name=data.name.strip(), purpose=data.purpose.strip(), domain=data.domain.strip(),
        accountabilities=[line for line in lines if line], seats=data.seats,
        term_months=data.term_months, consecutive_terms=data.consecutive_terms,
        eligibility=data.eligibility.strip(),
    )  # fmt: skip


@post("/api/v1/spaces/{slug:str}/roles", tags=["roles"], status_code=201,
      summary="Record a role that existed before Consentir (an administrator)")  # fmt: skip
async def api_record_role(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    data: JSONBody[RoleIn],
) -> Response[RoleOut]:
    """Marked pre-existing: no decision created it here (creating or changing a role
    otherwise takes a proposal of kind role). Answers the role, its address in `Location`.
    Accepts an `Idempotency-Key` header: the same key again records nothing and returns the
    first answer."""
    require(here.standing, Action.EDIT_SPACE)  # (before the key: a refusal is not kept)
    text = _role_text(data)

    async def make(conn: db.Connection) -> tuple[RoleOut, str]:
        role_id = await store.record_preexisting_role(conn, here.space.id, text, actor_id=me.id)
        out = _role_out(await store.role(conn, here.space.id, role_id), [], today())
        return out, f"/api/v1/spaces/{here.space.slug}/roles/{role_id}"

    return await idempotency.created(pool, request, me.id, data, make)


def _replayed(replay: idempotency.Replay, kind: type[T]) -> Response[T]:
    """The first answer again, as it was."""
    headers = {"idempotent-replayed": "true"}
    if replay.location:
        headers["location"] = replay.location
    first = msgspec.json.decode(replay.body, type=kind)
    return Response(first, status_code=replay.status, headers=headers)


# --- mandates -------------------------------------------------------------------------------


@get("/api/v1/mandates", tags=["mandates"], summary="My mandates, in every space")
async def api_my_mandates(
    me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool]
) -> MandateListOut:
    """The token owner's mandates, latest first: running, to come and over (`when`)."""
    async with pool.acquire() as conn:
        mine = await store.my_mandates(conn, me.id)
    day = today()
    return MandateListOut([_mandate_out(held, day) for held in mine])


@get("/api/v1/spaces/{slug:str}/mandates", tags=["mandates"],
     summary="Every mandate of a space")  # fmt: skip
async def api_space_mandates(
    here: NamedDependency[SpaceView], pool: NamedDependency[asyncpg.Pool]
) -> MandateListOut:
    """By role, then seat, then latest first: running, to come and over (`when`)."""
    async with pool.acquire() as conn:
        everyone = await store.space_mandates(conn, here.space.id)
    day = today()
    return MandateListOut([_mandate_out(held, day) for held in everyone])


class ResignIn(ResignForm, boundary.Input):
    """`last_day`: the mandate's last day, from today (or, for a term not yet begun, the day
    before its first) to the term's last day."""


@post("/api/v1/spaces/{slug:str}/mandates/{mandate_id:int}/resign", tags=["mandates"],
      status_code=200, summary="Resign from one's own mandate (its holder)")  # fmt: skip
async def api_resign(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    mandate_id: FromPath[int],
    data: JSONBody[ResignIn],
) -> Response[MandateOut]:
    """The mandate ends on `last_day`; the seat is free from the next day. Answers the mandate
    as it is then. Anyone but the holder: 403 `not_holder`; a mandate over: 409
    `mandate_ended`; a day outside the term: 422 `last_day_outside_term`. Accepts an
    `Idempotency-Key` header: the same key again changes nothing and returns the first
    answer."""
    async with pool.acquire() as conn:
        everyone = await store.space_mandates(conn, here.space.id)
    held = next((m for m in everyone if m.id == mandate_id), None)
    if held is None:
        raise DomainError("mandate_not_found", store.MANDATE_NOT_FOUND, status=404)
    if held.holder_id != me.id:  # (before the key: a refusal is not kept)
        raise DomainError("not_holder", rules.NOT_HOLDER, status=403)
    key = request.headers.get("idempotency-key")
    fingerprint = idempotency.fingerprint("POST", request.url.path, msgspec.json.encode(data))
    day = today()
    async with db.transaction(pool) as conn:
        if key:
            replay = await idempotency.claim(conn, me.id, key, fingerprint)
            if replay is not None:
                return _replayed(replay, MandateOut)
        await store.resign(conn, here.space.id, mandate_id, me.id, data.last_day, day)
        ended = next(m for m in await store.my_mandates(conn, me.id) if m.id == mandate_id)
        out = _mandate_out(ended, day)
        if key:
            await idempotency.record(conn, me.id, key, status=200, body=msgspec.json.encode(out))
    return Response(out, status_code=200)


routes = [api_roles, api_role, api_record_role, api_my_mandates, api_space_mandates, api_resign]
