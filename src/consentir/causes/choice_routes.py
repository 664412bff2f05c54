"""Opening a cause's scenario choice (its draft): a facilitator names it and why now; the
draft opens on the proposal page, where submitting it opens the clarifying questions. Every
later step is a step of its proposal (consent/routes.py: ask, nominate = prefer, reveal,
propose-holder = propose a scenario, …), in the browser and in the API."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Template

from consentir import db
from consentir.accounts.store import User
from consentir.causes import choosing, rules
from consentir.causes import store as causes
from consentir.causes.pages import cause_page
from consentir.causes.store import Cause
from consentir.consent.routes import actor_of
from consentir.consent.store import Content
from consentir.errors import DomainError
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, gettext

FormData = URLEncodedBody[dict[str, Any]]


class ChoiceForm(msgspec.Struct):
    title: Annotated[boundary.Text, msgspec.Meta(max_length=200)] = ""
    driver: Annotated[boundary.Text, msgspec.Meta(max_length=10000)] = ""


def _content(cause: Cause, form: ChoiceForm) -> Content:
    """The choice's draft, in the writer's language."""
    return Content(
        title=form.title.strip()
        or gettext("Choice of the action plan: %(cause)s") % {"cause": cause.title},
        driver=form.driver.strip()
        or gettext("Choose, by consent, the scenario the cause “%(cause)s” will carry out.")
        % {"cause": cause.title},
        body=gettext(
            "The scenarios of the cause are compared side by side; each person says which one"
            " they prefer and why; a scenario is then proposed for consent. Its adoption"
            " creates the cause's action list."
        ),
    )


def _form(
    here: SpaceView, cause: Cause, values: dict[str, Any], form: FormInvalid | None, status: int,
    refused: str | None = None,
) -> Template:  # fmt: skip
    return cause_page(
        "causes/choice_new.html", here, cause, status, values=values, form=form,
        new_key=idempotency.new_key, refused=refused, plan_waits=_waits(cause),
    )  # fmt: skip


def _waits(cause: Cause) -> rules.Rule | None:
    """What a new choice waits for (the plan open; chosen once, reopened by an evaluation)."""
    try:
        rules.may_choose(cause.facts)
    except rules.CauseRefused as refused:
        return refused.rule
    return None


@get("/s/{slug:str}/causes/{cause_id:int}/choice/new", name="new_choice")
async def new_choice(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    require(here.standing, Action.FACILITATE)
    async with pool.acquire() as conn:
        cause = await causes.cause(conn, here.space.id, cause_id, me.id)
    under_way = cause.under_way("choice")
    refused = gettext(causes.UNDER_WAY) % {"title": under_way.title} if under_way else None
    return _form(here, cause, {}, None, 200, refused)


@post("/s/{slug:str}/causes/{cause_id:int}/choice/new")
async def open_choice(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The draft choice; refused in words while the plan is not open or a choice is under
    way."""
    require(here.standing, Action.FACILITATE)
    values = {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}
    page = f"/s/{here.space.slug}/causes/{cause_id}/choice/new"
    async with pool.acquire() as conn:
        cause = await causes.cause(conn, here.space.id, cause_id, me.id)
    try:
        form = parse_form(ChoiceForm, values)

        async def write(conn: db.Connection) -> str:
            locked = await causes.lock(conn, here.space.id, cause_id)
            proposal_id = await choosing.open_choice(
                conn, here.space, actor_of(here, me), locked, _content(locked, form)
            )
            return f"/s/{here.space.slug}/proposals/{proposal_id}"

        return await idempotency.form_posted(
            pool,
            me.id,
            data,
            page,
            form,
            write,
            replayed_to=f"/s/{here.space.slug}/causes/{cause_id}",
        )
    except FormInvalid as invalid:
        return _form(here, cause, values, invalid, 422)
    except DomainError as refused:
        if refused.status == 404:
            raise
        return _form(here, cause, values, None, refused.status, domain_message(refused))


# --- the JSON API ---------------------------------------------------------------------------


class ChoiceIn(ChoiceForm, boundary.Input, kw_only=True):
    """A scenario choice to open: its title and why now (both optional)."""


class ChoiceOut(msgspec.Struct):
    proposal_id: int
    href: str  # the proposal in the API: its steps run the choice (submit, ask, nominate, …)


@post(
    "/api/v1/spaces/{slug:str}/causes/{cause_id:int}/choices",
    tags=["causes"],
    status_code=201,
    summary="Open a scenario choice for a cause (a facilitator)",
)
async def api_open_choice(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: JSONBody[ChoiceIn],
) -> Response[ChoiceOut]:
    """A draft choice, as from the cause's plan; then its proposal's steps run it: `submit`
    opens the clarifying questions, `advance` the preferences (`nominate` with a scenario
    id), `reveal`, `open-change-round`, `propose-holder` (a scenario id), then the consent
    round. The plan not open, or a choice under way: 409 naming the rule. Accepts an
    `Idempotency-Key` header."""
    require(here.standing, Action.FACILITATE)
    async with pool.acquire() as conn:
        await causes.cause(conn, here.space.id, cause_id, me.id)  # (404 before the key)

    async def make(conn: db.Connection) -> tuple[ChoiceOut, str]:
        locked = await causes.lock(conn, here.space.id, cause_id)
        proposal_id = await choosing.open_choice(
            conn, here.space, actor_of(here, me), locked, _content(locked, data)
        )
        location = f"/api/v1/spaces/{here.space.slug}/proposals/{proposal_id}"
        return ChoiceOut(proposal_id, location), location

    return await idempotency.created(pool, request, me.id, data, make)


routes = [new_choice, open_choice, api_open_choice]
