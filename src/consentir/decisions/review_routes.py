"""Opening the review of a decision: a facilitator chooses the outcome to propose (confirm,
with the date of the next review; amend; repeal) and writes the proposal. The draft opens
on the proposal page and goes through the consent process like any other proposal; its
adoption applies the outcome (decisions/reviewing.py).

Facilitators only (403 for the others who see the space, 404 for those who do not).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.consent import store as proposals
from consentir.consent.routes import Body, Driver, Title, actor_of
from consentir.consent.store import Content
from consentir.decisions import reviewing
from consentir.decisions.reviewing import Reviewed
from consentir.decisions.store import add_months
from consentir.errors import N_, DomainError
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, format_day, gettext

FormData = URLEncodedBody[dict[str, Any]]

NEXT_REVIEW_REQUIRED = N_("Choose the date of the next review.")
NEXT_REVIEW_LATER = N_("The next review must come after today.")

# What the form proposes at first for each outcome (each may be rewritten).
CONFIRM_TITLE = N_("Confirmation of %(number)s: %(title)s")
REPEAL_TITLE = N_("Repeal of %(number)s: %(title)s")
REVIEW_DRIVER = N_("The decision %(number)s comes up for review on %(date)s.")
CONFIRM_BODY = N_("The decision %(number)s stays in force as it is, until its next review.")
REPEAL_BODY = N_("The decision %(number)s is repealed: it is no longer in force.")


class ReviewForm(msgspec.Struct):
    outcome: Literal["confirm", "amend", "repeal"]
    title: Title
    driver: Driver
    body: Body
    next_review_on: date | None = None  # confirm: the date of the next review


def _today() -> date:
    return datetime.now(UTC).date()


def _defaults(decision: Reviewed, outcome: str, delay_months: int) -> dict[str, str]:
    """The form as it opens: an amendment starts from the decision's text; a confirmation or
    a repeal says what it does."""
    names = {"number": decision.number, "title": decision.title}
    values = {
        "outcome": outcome,
        "next_review_on": add_months(_today(), delay_months).isoformat(),
        "driver": gettext(REVIEW_DRIVER)
        % {"number": decision.number, "date": format_day(decision.review_on)},
    }
    if outcome == "amend":
        values.update(title=decision.title, driver=decision.driver, body=decision.body)
    elif outcome == "repeal":
        values.update(title=gettext(REPEAL_TITLE) % names, body=gettext(REPEAL_BODY) % names)
    else:
        values.update(title=gettext(CONFIRM_TITLE) % names, body=gettext(CONFIRM_BODY) % names)
    values["title"] = values["title"][:200]
    return values


def _form_page(
    here: SpaceView,
    decision: Reviewed,
    values: dict[str, Any],
    form: FormInvalid | None,
    status: int = 200,
    refused: str | None = None,
) -> Template:
    return space_page(
        "decisions/review.html", here, status, decision=decision, values=values, form=form,
        refused=refused, new_key=idempotency.new_key, outcomes=reviewing.OUTCOMES,
        base=f"/s/{here.space.slug}/decisions",
    )  # fmt: skip


def _refused(decision: Reviewed) -> str | None:
    refusal = reviewing.refusal(decision)
    return domain_message(refusal) if refusal is not None else None


@get("/s/{slug:str}/decisions/{number:str}/reviews/new", name="new_review")
async def new_review(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    number: FromPath[str],
    outcome: FromQuery[str] = "confirm",
) -> Template:
    """The review's form, prefilled for the outcome asked for; or why none can be opened
    (a review under way: a link to it)."""
    require(here.standing, Action.FACILITATE)
    async with pool.acquire() as conn:
        decision = await reviewing.reviewed(conn, here.space.id, number)
    chosen = outcome if outcome in reviewing.OUTCOMES else "confirm"
    values = _defaults(decision, chosen, here.space.review_delay_months)
    return _form_page(here, decision, values, None, refused=_refused(decision))


@post("/s/{slug:str}/decisions/{number:str}/reviews/new")
async def open_review(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    number: FromPath[str],
    data: FormData,
) -> Response[Any]:
    """The review's draft, on the proposal page; mistakes next to their fields (422); a
    decision that cannot be reviewed now (no longer in force, a review under way) 409."""
    require(here.standing, Action.FACILITATE)
    values = {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}
    page = f"/s/{here.space.slug}/decisions/{number}/reviews/new"
    async with pool.acquire() as conn:
        decision = await reviewing.reviewed(conn, here.space.id, number)
    try:
        form = parse_form(ReviewForm, values)
        next_review_on = form.next_review_on if form.outcome == "confirm" else None
        if form.outcome == "confirm":
            if next_review_on is None:
                raise FormInvalid({"next_review_on": gettext(NEXT_REVIEW_REQUIRED)}, values)
            if next_review_on <= _today():
                raise FormInvalid({"next_review_on": gettext(NEXT_REVIEW_LATER)}, values)
        async with db.transaction(pool) as conn:
            replay = await idempotency.claim_form(conn, me.id, data, page, form)
            if replay is not None:
                return replay.redirect(f"/s/{here.space.slug}/proposals")
            decision = await reviewing.reviewed(conn, here.space.id, number, lock=True)
            refusal = reviewing.refusal(decision)
            if refusal is not None:
                raise refusal
            content = Content(title=form.title, driver=form.driver, body=form.body)
            proposal_id = await proposals.create(conn, here.space, actor_of(here, me), content)
            await reviewing.open_review(
                conn, here.space.id, proposal_id, decision, form.outcome, next_review_on, me.id
            )
            location = f"/s/{here.space.slug}/proposals/{proposal_id}"
            await idempotency.record_form(conn, me.id, data, location)
    except FormInvalid as invalid:
        return _form_page(here, decision, values, invalid, 422)
    except DomainError as refused:
        if refused.status in (403, 404):
            raise
        if refused.field is None:  # the decision's state: said above the form
            return _form_page(here, decision, values, None, refused.status,
                              refused=domain_message(refused))  # fmt: skip
        problem = FormInvalid({refused.field: domain_message(refused)}, values)
        return _form_page(here, decision, values, problem, 422)
    return Redirect(location, status_code=303)


routes = [new_review, open_review]
