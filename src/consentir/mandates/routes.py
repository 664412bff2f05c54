"""Roles and mandates' pages: a space's roles and each role's page (its text, its holders now
and before, with the decisions that granted them), the form where administrators record a
role that existed before the instance, and "Mes mandats" with the holder's resignation.

Under /s/{slug}, `here` is the space as the viewer sees it (404 for anyone who may not see
it); "today" is the day in the instance's time zone, as terms are days there.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.consent.labels import STAGES
from consentir.elections import store as election_store
from consentir.errors import N_, DomainError
from consentir.mandates import rules, store
from consentir.mandates.rules import EndReason
from consentir.mandates.store import Held, Role
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, allowed, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, i18n, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, gettext

FormData = URLEncodedBody[dict[str, Any]]

END_REASONS = {
    EndReason.RESIGNED: N_("resigned"),
    EndReason.REVOKED: N_("revoked by a decision"),
    EndReason.ROLE_RETIRED: N_("role retired"),
}
MAX_ACCOUNTABILITY = 300
TOO_MANY_LINES = N_("At most %(count)s lines.")
LINE_TOO_LONG = N_("At most %(count)s characters a line.")


def today() -> date:
    """The day in the instance's time zone: a term starts and ends on days there."""
    return datetime.now(i18n.display_zone).date()


def when(held: Held, day: date) -> str:
    """Where a mandate stands on `day`: "current", "future" or "past" (ended, or withdrawn
    before it began)."""
    term = held.term
    if term.empty or term.after_last <= day:
        return "past"
    return "current" if term.first <= day else "future"


# --- the space's roles ---------------------------------------------------------------------


class Seat(msgspec.Struct, frozen=True):
    number: int
    holder: Held | None  # whoever holds it today; None: vacant


def seats_today(role: Role, mandates: list[Held], day: date) -> list[Seat]:
    held = {m.seat: m for m in mandates if m.role_id == role.id and m.term.covers(day)}
    return [Seat(n, held.get(n)) for n in range(1, role.text.seats + 1)]


@get("/s/{slug:str}/roles", name="roles")
async def roles_page(
    here: NamedDependency[SpaceView], pool: NamedDependency[asyncpg.Pool]
) -> Template:
    """Each role with its seats and who holds each today, or "vacant"."""
    async with pool.acquire() as conn:
        found = await store.roles(conn, here.space.id)
        mandates = await store.space_mandates(conn, here.space.id)
    day = today()
    listed = [(role, seats_today(role, mandates, day)) for role in found]
    return space_page("mandates/roles.html", here, roles=listed, today=day)


@get("/s/{slug:str}/roles/{role_id:int}", name="role")
async def role_page(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    role_id: FromPath[int],
    recorded: FromQuery[str] = "",
) -> Template:
    """The role's current text, and its holders now, to come and before."""
    async with pool.acquire() as conn:
        role = await store.role(conn, here.space.id, role_id)
        mandates = await store.holders(conn, here.space.id, role_id)
        elections = await election_store.under_way(conn, here.space.id, role_id)
    day = today()
    facilitates = allowed(here.standing, Action.FACILITATE)
    groups: dict[str, list[Held]] = {"current": [], "future": [], "past": []}
    for held in mandates:
        groups[when(held, day)].append(held)
    groups["current"].sort(key=lambda m: m.seat)
    groups["future"].sort(key=lambda m: (m.first, m.seat))
    return space_page(
        "mandates/role.html", here, role=role, seats=seats_today(role, mandates, day),
        current=groups["current"], future=groups["future"], past=groups["past"],
        end_reasons=END_REASONS, today=day, recorded=bool(recorded),
        elections=[e for e in elections if e.stage != "draft" or facilitates],
        facilitates=facilitates, stage_names=STAGES,
    )  # fmt: skip


# --- recording a role that existed before the instance ---------------------------------------

RoleName = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=100)]
LongText = Annotated[boundary.Text, msgspec.Meta(max_length=2000)]
Lines = Annotated[boundary.Text, msgspec.Meta(max_length=10_000)]


class RoleForm(msgspec.Struct):
    name: RoleName
    purpose: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=2000)]
    seats: Annotated[int, msgspec.Meta(ge=1, le=50)]
    term_months: Annotated[int, msgspec.Meta(ge=1, le=120)]
    domain: LongText = ""
    accountabilities: Lines = ""  # one per line
    consecutive_terms: Annotated[int, msgspec.Meta(ge=1, le=20)] | None = None
    eligibility: LongText = ""


def accountabilities(text: str, values: dict[str, Any]) -> list[str]:
    """One accountability per non-empty line; FormInvalid when too many or one too long."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > boundary.MAX_ITEMS:
        message = gettext(TOO_MANY_LINES) % {"count": boundary.MAX_ITEMS}
        raise FormInvalid({"accountabilities": message}, values)
    if any(len(line) > MAX_ACCOUNTABILITY for line in lines):
        message = gettext(LINE_TOO_LONG) % {"count": MAX_ACCOUNTABILITY}
        raise FormInvalid({"accountabilities": message}, values)
    return lines


def _role_form(here: SpaceView, form: FormInvalid | None, status: int = 200) -> Template:
    return space_page(
        "mandates/new_role.html", here, status, form=form, new_key=idempotency.new_key
    )


@get("/s/{slug:str}/roles/new", name="new_role")
async def new_role_form(here: NamedDependency[SpaceView]) -> Template:
    """Administrators record a role the collective had before using Consentir (creating or
    changing a role otherwise takes a decision)."""
    require(here.standing, Action.EDIT_SPACE)
    return _role_form(here, None)


@post("/s/{slug:str}/roles/new")
async def record_role(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    data: FormData,
) -> Response[Any]:
    require(here.standing, Action.EDIT_SPACE)
    values = {key: value for key, value in data.items() if key != "_csrf_token"}
    page = f"/s/{here.space.slug}/roles/new"
    async with db.transaction(pool) as conn:
        try:
            form = parse_form(RoleForm, values)
            lines = accountabilities(form.accountabilities, values)
            # Sent twice (double click): one role; the second answer leads to it too.
            replay = await idempotency.claim_form(conn, me.id, data, page, form)
            if replay is not None:
                return replay.redirect(f"/s/{here.space.slug}/roles")
        except FormInvalid as invalid:
            return _role_form(here, invalid, 422)
        text = store.RoleText(
            name=form.name, purpose=form.purpose, domain=form.domain, accountabilities=lines,
            seats=form.seats, term_months=form.term_months,
            consecutive_terms=form.consecutive_terms, eligibility=form.eligibility,
        )  # fmt: skip
        role_id = await store.record_preexisting_role(conn, here.space.id, text, actor_id=me.id)
        location = f"/s/{here.space.slug}/roles/{role_id}?recorded=1"
        await idempotency.record_form(conn, me.id, data, location)
    return Redirect(location, status_code=303)


# --- my mandates ----------------------------------------------------------------------------


def _mine_page(
    mine: list[Held],
    *,
    status: int = 200,
    failed: dict[int, FormInvalid] | None = None,
    resigned: int | None = None,
) -> Template:
    day = today()
    groups: dict[str, list[Held]] = {"current": [], "future": [], "past": []}
    for held in mine:
        groups[when(held, day)].append(held)
    return Template(
        "mandates/mine.html",
        context={
            "current": groups["current"], "future": groups["future"], "past": groups["past"],
            "end_reasons": END_REASONS, "today": day, "failed": failed or {},
            "review_by": day + timedelta(days=30),
            "resigned": next((m for m in mine if m.id == resigned and m.ended_on), None),
        },
        status_code=status,
    )  # fmt: skip


@get("/mandates", name="my_mandates")
async def my_mandates(
    me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool], resigned: FromQuery[str] = ""
) -> Template:
    """The person's mandates in every space: current, to come, and past."""
    async with pool.acquire() as conn:
        mine = await store.my_mandates(conn, me.id)
    shown = int(resigned) if resigned.isdigit() and len(resigned) < 19 else None
    return _mine_page(mine, resigned=shown)


class ResignForm(msgspec.Struct):
    last_day: date


@post("/s/{slug:str}/mandates/{mandate_id:int}/resign")
async def resign(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    mandate_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The holder's own step: their mandate ends on the day they give (from today to the
    term's last day); the seat is free from the next. Anyone else: refused (403)."""
    async with pool.acquire() as conn:
        everyone = await store.space_mandates(conn, here.space.id)
    held = next((m for m in everyone if m.id == mandate_id), None)
    if held is None:
        raise DomainError("mandate_not_found", store.MANDATE_NOT_FOUND, status=404)
    if held.holder_id != me.id:
        raise DomainError("not_holder", rules.NOT_HOLDER, status=403)
    values = {"last_day": str(data.get("last_day", ""))}
    try:
        form = parse_form(ResignForm, values)
        async with db.transaction(pool) as conn:
            await store.resign(conn, here.space.id, mandate_id, me.id, form.last_day, today())
    except (FormInvalid, DomainError) as refused:
        if isinstance(refused, DomainError):
            if refused.field is None and refused.code != "mandate_ended":
                raise
            problem = FormInvalid({"last_day": domain_message(refused)}, values)
            status = refused.status if refused.status >= 409 else 422
        else:
            problem, status = refused, 422
        async with pool.acquire() as conn:
            mine = await store.my_mandates(conn, me.id)
        return _mine_page(mine, status=status, failed={mandate_id: problem})
    return Redirect(f"/mandates?resigned={mandate_id}#mandate-{mandate_id}", status_code=303)


routes = [roles_page, new_role_form, record_role, role_page, my_mandates, resign]
