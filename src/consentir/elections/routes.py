"""Describing an election (its draft): a facilitator chooses the role's seat and the term
(by default from the day after the current holder's last day: "renouveler"), and the draft
opens on the proposal page, where the nominations are opened. Every later step of the
election is a step of its proposal (consent/routes.py: nominate, reveal, …).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.consent import store as proposals
from consentir.consent.routes import actor_of
from consentir.consent.store import Content
from consentir.elections import wording
from consentir.elections.store import Described
from consentir.errors import N_, DomainError
from consentir.mandates import rules as mandate_rules
from consentir.mandates import store as mandates
from consentir.mandates.routes import today
from consentir.mandates.rules import Term
from consentir.mandates.store import Role
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, format_day, gettext

FormData = URLEncodedBody[dict[str, Any]]
LAST_BEFORE_FIRST = N_("The last day comes after the first.")


class ElectionForm(msgspec.Struct):
    seat: Annotated[int, msgspec.Meta(ge=1, le=50)]
    first: date
    last: date
    driver: Annotated[boundary.Text, msgspec.Meta(max_length=10000)] = ""


def _draft(role: Role, form: ElectionForm, values: dict[str, Any]) -> tuple[Content, Described]:
    """The election's draft: what it is about, and its text in the writer's language (the
    title names the role, the text the seat and the term)."""
    if form.last < form.first:
        raise FormInvalid({"last": gettext(LAST_BEFORE_FIRST)}, values)
    term = Term(form.first, form.last + timedelta(days=1))
    name = role.text.name
    seat = gettext(wording.SEAT) % {"seat": form.seat} if role.text.seats > 1 else ""
    dates = {"start": format_day(term.first), "end": format_day(term.last)}
    content = Content(
        title=gettext("Election: %(role)s") % {"role": name} + seat,
        driver=form.driver.strip() or gettext("Choose who holds the role %(role)s.")
        % {"role": name},
        body=gettext("The role %(role)s%(seat)s, from %(start)s to %(end)s.")
        % {"role": name, "seat": seat, **dates},
    )  # fmt: skip
    return content, Described(role.id, form.seat, term)


async def _defaults(conn: db.Connection, space_id: int, role: Role, seat: int) -> Term:
    held = [h.mandate for h in await mandates.holders(conn, space_id, role.id) if h.seat == seat]
    return mandate_rules.default_term(held, role.text.term_months, today())


def _form_page(
    here: SpaceView, role: Role, values: dict[str, Any], form: FormInvalid | None, status: int
) -> Template:
    return space_page(
        "elections/new.html", here, status, role=role, values=values, form=form,
        new_key=idempotency.new_key,
        seat_options=[(str(n), str(n)) for n in range(1, role.text.seats + 1)],
    )  # fmt: skip


@get("/s/{slug:str}/roles/{role_id:int}/elections/new", name="new_election")
async def new_election(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    role_id: FromPath[int],
    seat: FromQuery[int] = 1,
) -> Template:
    """The election's description, prefilled: the seat asked for, the term that follows
    its holder's (a renewal), or the rest of the term of a seat left early."""
    require(here.standing, Action.FACILITATE)
    async with pool.acquire() as conn:
        role = await mandates.role(conn, here.space.id, role_id)
        seat = seat if 1 <= seat <= role.text.seats else 1
        term = await _defaults(conn, here.space.id, role, seat)
    values = {"seat": seat, "first": term.first.isoformat(), "last": term.last.isoformat()}
    return _form_page(here, role, values, None, 200)


@post("/s/{slug:str}/roles/{role_id:int}/elections/new")
async def describe_election(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    role_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The draft election; a seat held for those dates is refused in words, next to the
    first day."""
    require(here.standing, Action.FACILITATE)
    values = {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}
    page = f"/s/{here.space.slug}/roles/{role_id}/elections/new"
    async with pool.acquire() as conn:
        role = await mandates.role(conn, here.space.id, role_id)
    try:
        form = parse_form(ElectionForm, values)
        content, about = _draft(role, form, values)
        async with db.transaction(pool) as conn:
            replay = await idempotency.claim_form(conn, me.id, data, page, form)
            if replay is not None:
                return replay.redirect(f"/s/{here.space.slug}/proposals")
            proposal_id = await proposals.create(
                conn, here.space, actor_of(here, me), content, election=about
            )
            location = f"/s/{here.space.slug}/proposals/{proposal_id}"
            await idempotency.record_form(conn, me.id, data, location)
    except FormInvalid as invalid:
        return _form_page(here, role, values, invalid, 422)
    except DomainError as refused:
        if refused.field is None:
            raise
        problem = FormInvalid({refused.field: domain_message(refused)}, values)
        return _form_page(here, role, values, problem, refused.status)
    return Redirect(location, status_code=303)


# --- the JSON API ---------------------------------------------------------------------------


class ElectionIn(ElectionForm, boundary.Input, kw_only=True):
    """An election to describe: the seat, the term's first and last days, why now."""


class ElectionOut(msgspec.Struct):
    proposal_id: int
    href: str  # the proposal in the API: its steps are the election's (nominate, reveal, …)


@post(
    "/api/v1/spaces/{slug:str}/roles/{role_id:int}/elections",
    tags=["roles"],
    status_code=201,
    summary="Describe an election for a seat of a role (a facilitator)",
)
async def api_describe_election(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    role_id: FromPath[int],
    data: JSONBody[ElectionIn],
) -> Response[ElectionOut]:
    """A draft election, as from the role page; then its proposal's steps run it (`submit`
    opens the nominations). A seat held for those dates: 409 naming `first`. Accepts an
    `Idempotency-Key` header."""  # fmt: skip
    require(here.standing, Action.FACILITATE)  # (before the key: a refusal is not kept)
    async with pool.acquire() as conn:
        role = await mandates.role(conn, here.space.id, role_id)
    try:
        content, about = _draft(role, data, {})
    except FormInvalid:  # (the only one: the last day before the first)
        raise DomainError("term_order", LAST_BEFORE_FIRST, field="last") from None

    async def make(conn: db.Connection) -> tuple[ElectionOut, str]:
        proposal_id = await proposals.create(
            conn, here.space, actor_of(here, me), content, election=about
        )
        location = f"/api/v1/spaces/{here.space.slug}/proposals/{proposal_id}"
        return ElectionOut(proposal_id, location), location

    return await idempotency.created(pool, request, me.id, data, make)


routes = [new_election, describe_election, api_describe_election]
