"""Proposing to revoke a mandate (issue 11 §1): from the role's page or the mandate register,
any member who may take part writes the reasons and, if they wish, the mandate's last day;
the draft opens on the proposal page and goes through the consent process like any other
proposal; its adoption ends the mandate (mandates/revoking.py).

The same access as writing any proposal: those who may take part (403 for the others who see
the space, 404 for those who do not, and for a mandate of another space). A mandate over, or
whose early end is recorded, cannot be revoked: said above the form (409).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.consent import store as proposals
from consentir.consent.routes import Driver, actor_of, require_participant
from consentir.consent.rules import Actor
from consentir.consent.store import Content
from consentir.db import Connection
from consentir.elections.wording import SEAT
from consentir.errors import N_, DomainError
from consentir.mandates import revoking, rules, store
from consentir.mandates.store import Held
from consentir.spaces.routes import space_page
from consentir.spaces.store import Space, SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, format_day, gettext

FormData = URLEncodedBody[dict[str, Any]]

# What the draft says, in the language of the person who proposes it (like any text they
# write); its title may be rewritten.
REVOKE_TITLE = N_("Revocation of the mandate of %(holder)s: %(role)s")
REVOKE_BODY = N_(
    "The mandate of %(holder)s as %(role)s%(seat)s, from %(start)s to %(end)s (granted by"
    " decision %(decision)s), is revoked. Its last day: %(day)s; the seat is free from the"
    " next day."
)
ON_ADOPTION = N_("the day this proposal is adopted")


class RevocationForm(msgspec.Struct):
    driver: Driver  # why revoke it
    # The draft's title; left empty: "Revocation of the mandate of …".
    title: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    # The mandate's last day, from today to the term's last day; none: the day of adoption.
    last_day: date | None = None


def _content(held: Held, seats: int, form: RevocationForm) -> Content:
    """The draft's text: the mandate it revokes, and when it ends, in one sentence; the
    reasons are its driver."""
    names = {"holder": held.holder_name, "role": held.role_name}
    term = held.term
    body = gettext(REVOKE_BODY) % {
        **names, "seat": gettext(SEAT) % {"seat": held.seat} if seats > 1 else "",
        "start": format_day(term.first), "end": format_day(term.last),
        "decision": held.decision_number,
        "day": format_day(form.last_day) if form.last_day else gettext(ON_ADOPTION),
    }  # fmt: skip
    title = form.title.strip() or (gettext(REVOKE_TITLE) % names)[:200]
    return Content(title=title, driver=form.driver.strip(), body=body)


async def propose(
    conn: Connection, space: Space, actor: Actor, mandate_id: int, form: RevocationForm
) -> int:
    """The revocation's draft, in the caller's transaction: the mandate (of this space,
    locked) must still run with no early end recorded, the last day within its term."""
    held = await store.held_mandate(conn, space.id, mandate_id, lock=True)
    last_day = rules.revocation_day(held.mandate, form.last_day, store.today())
    role = await store.role(conn, space.id, held.role_id)
    proposal_id = await proposals.create(conn, space, actor, _content(held, role.text.seats, form))
    await revoking.open_revocation(conn, space.id, proposal_id, held, last_day, actor.user_id)
    return proposal_id


def _refusal(held: Held) -> str | None:
    """Why this mandate cannot be revoked now, if it cannot."""
    try:
        rules.revocation_day(held.mandate, None, store.today())
    except DomainError as refused:
        return domain_message(refused)
    return None


def _form_page(
    here: SpaceView,
    held: Held,
    values: dict[str, Any],
    form: FormInvalid | None,
    status: int = 200,
    refused: str | None = None,
) -> Template:
    return space_page(
        "mandates/revoke.html", here, status, held=held, values=values, form=form,
        refused=refused, new_key=idempotency.new_key, today=store.today(),
    )  # fmt: skip


@get("/s/{slug:str}/mandates/{mandate_id:int}/revoke", name="revoke_mandate")
async def revocation_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    mandate_id: FromPath[int],
) -> Template:
    """The revocation's form: the mandate, the reasons to write, the last day (optional);
    or why it cannot be revoked."""
    require_participant(here, me)
    async with pool.acquire() as conn:
        held = await store.held_mandate(conn, here.space.id, mandate_id)
    names = {"holder": held.holder_name, "role": held.role_name}
    values = {"title": (gettext(REVOKE_TITLE) % names)[:200]}
    return _form_page(here, held, values, None, refused=_refusal(held))


@post("/s/{slug:str}/mandates/{mandate_id:int}/revoke")
async def propose_revocation(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    mandate_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The revocation's draft, on the proposal page; mistakes next to their fields (422); a
    mandate that cannot be revoked now (over, its early end recorded) 409."""
    require_participant(here, me)
    values = {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}
    page = f"/s/{here.space.slug}/mandates/{mandate_id}/revoke"
    async with pool.acquire() as conn:
        held = await store.held_mandate(conn, here.space.id, mandate_id)
    try:
        form = parse_form(RevocationForm, values)
        async with db.transaction(pool) as conn:
            replay = await idempotency.claim_form(conn, me.id, data, page, form)
            if replay is not None:
                return replay.redirect(f"/s/{here.space.slug}/proposals")
            proposal_id = await propose(conn, here.space, actor_of(here, me), mandate_id, form)
            location = f"/s/{here.space.slug}/proposals/{proposal_id}"
            await idempotency.record_form(conn, me.id, data, location)
    except FormInvalid as invalid:
        return _form_page(here, held, values, invalid, 422)
    except DomainError as refused:
        if refused.status in (403, 404):
            raise
        if refused.field is None:  # the mandate's state: said above the form
            return _form_page(here, held, values, None, refused.status,
                              refused=domain_message(refused))  # fmt: skip
        problem = FormInvalid({refused.field: domain_message(refused)}, values)
        return _form_page(here, held, values, problem, 422)
    return Redirect(location, status_code=303)


# --- the JSON API ---------------------------------------------------------------------------


class RevocationIn(RevocationForm, boundary.Input, kw_only=True):
    """A revocation to propose: why (`driver`), optionally the draft's `title` and the
    mandate's `last_day` (none: the day the proposal is adopted)."""


class RevocationOut(msgspec.Struct):
    proposal_id: int
    href: str  # the proposal in the API: its steps run it (submit, …)


@post(
    "/api/v1/spaces/{slug:str}/mandates/{mandate_id:int}/revocations",
    tags=["mandates"],
    status_code=201,
    summary="Propose to revoke a mandate (a draft proposal)",
)
async def api_propose_revocation(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    mandate_id: FromPath[int],
    data: JSONBody[RevocationIn],
) -> Response[RevocationOut]:
    """A draft proposal of kind "revocation", as from the role's page; its proposal's steps
    run it, and its adoption ends the mandate. A mandate over or whose early end is recorded:
    409 `mandate_ended` / `mandate_ending`; a last day outside the term: 422 naming
    `last_day`. Accepts an `Idempotency-Key` header."""
    require_participant(here, me)  # (before the key: a refusal is not kept)

    async def make(conn: db.Connection) -> tuple[RevocationOut, str]:
        proposal_id = await propose(conn, here.space, actor_of(here, me), mandate_id, data)
        location = f"/api/v1/spaces/{here.space.slug}/proposals/{proposal_id}"
        return RevocationOut(proposal_id, location), location

    return await idempotency.created(pool, request, me.id, data, make)


routes = [revocation_form, propose_revocation, api_propose_revocation]
