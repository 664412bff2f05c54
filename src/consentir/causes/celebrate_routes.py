"""The celebration and the bilan (issue 12 §5).

- /celebration: the event that ends the journey (its day, its place, the actors and the
  members invited, the story of the cause), and the form preparing it for those who carry
  the cause and the facilitators (who may act in the space); the others read it. Before an
  evaluation decision, the page says what it waits for and what to do; a write is refused
  naming the rule (409), by another member in words (403); mistakes next to their fields
  (422).
- /bilan: the whole journey on one page meant for paper (the print stylesheet leaves out the
  navigation and the forms), readable at any step: what exists so far.

Both are read by whoever may view the space; the actors (the invited ones, the bilan's
table) by its members only, a private individual never named. A cause of another space is
404. Each page reads what it shows in a fixed number of statements (bilan.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from consentir import db
from consentir.accounts.store import User
from consentir.causes import bilan, celebrating, measuring, observing, rules, store
from consentir.causes.acting import STATUSES
from consentir.causes.celebrating import Celebration, CelebrationText
from consentir.causes.objectives import HORIZON_NAMES, end_text
from consentir.causes.observe_routes import (
    ACTOR_KINDS,
    ACTOR_ROLES,
    INFLUENCES,
    OBSERVATION_KINDS,
    STANCES,
    shown_names,
    signed,
)
from consentir.causes.pages import cause_page, is_member
from consentir.causes.rules import Rule, Step
from consentir.causes.scenarios import means_and_cost, when_shown, who_shown
from consentir.causes.store import Cause
from consentir.consent.routes import actor_of, require_participant
from consentir.errors import N_, DomainError
from consentir.mandates.routes import today
from consentir.markdown import render as render_markdown
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, gettext

FormData = URLEncodedBody[dict[str, Any]]

# What to do while the celebration waits, by the rule it waits for: the words, and the page
# of the cause where it is done.
TO_DO: dict[str, tuple[str, str]] = {
    Rule.NOT_TAKEN_ON: (N_("Propose to take the cause on"), "take-on"),
    Rule.CRITERIA_UNANSWERED: (N_("Propose to take the cause on"), "take-on"),
    Rule.NO_OBJECTIVE: (N_("Write objectives"), "objectives"),
    Rule.OBJECTIVE_NOT_ADOPTED: (
        N_("Complete the objectives with their impact criteria, and propose them for adoption"),
        "objectives",
    ),
    Rule.OBJECTIVE_WITHOUT_CRITERION: (N_("Give each objective an impact criterion"), "objectives"),
    Rule.CRITERION_INCOMPLETE: (
        N_("Give each impact criterion a baseline and a target"),
        "objectives",
    ),
    Rule.NO_SCENARIO_CHOSEN: (
        N_("Draft a scenario, or compare the scenarios and open the choice"),
        "scenarios",
    ),
    Rule.NO_EVALUATION: (
        N_("Enter measurements and propose the evaluation's interpretation"),
        "evaluation",
    ),
}
EVALUATION_UNDER_WAY = N_(
    "The evaluation's interpretation “%(title)s” is under way: take part on its page."
)
EVALUATION_DRAFT = N_(
    "The evaluation's interpretation “%(title)s” is a draft: its author submits it to the group."
)
# What each of the cause's decisions was for, in the bilan.
PURPOSE_NAMES: dict[str, str] = {
    "take_on": N_("taking the cause on"),
    "objectives": N_("objectives"),
    "choice": N_("scenario choice"),
    "evaluation": N_("evaluation"),
}
# An objective not adopted yet (an adopted one names its decision).
OBJECTIVE_STATES: dict[str, str] = {
    "draft": N_("draft: may be changed"),
    "proposed": N_("proposed for consent"),
}


def _base(here: SpaceView, cause_id: int) -> str:
    return f"/s/{here.space.slug}/causes/{cause_id}"


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}


@dataclass(frozen=True)
class ToDo:
    """What the celebration waits for: the rule, and what to do, in words (`href`: where;
    None: said only)."""

    rule: Rule
    text: str
    href: str | None


def to_do(here: SpaceView, cause: Cause) -> ToDo | None:
    """What the celebration waits for and what to do now, or None: it is open."""
    rule = rules.blocked(cause.facts, Step.CELEBRATE)
    if rule is None:
        return None
    if rule is Rule.NO_EVALUATION:
        proposal = cause.under_way("evaluation")
        if proposal is not None:
            words = {"title": proposal.title}
            if proposal.stage == "draft":  # (seen by its author and the facilitators only)
                return ToDo(rule, gettext(EVALUATION_DRAFT) % words, None)
            href = f"/s/{here.space.slug}/proposals/{proposal.proposal_id}"
            return ToDo(rule, gettext(EVALUATION_UNDER_WAY) % words, href)
    text, page = TO_DO[rule]
    return ToDo(rule, gettext(text), f"{_base(here, cause.id)}/{page}")


# --- the celebration -----------------------------------------------------------------------


Place = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=300)]


class CelebrationForm(msgspec.Struct):
    held_on: date
    place: Place
    story: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""
    # The actors invited: checkboxes sharing the name.
    invited: Annotated[list[boundary.Id], msgspec.Meta(max_length=observing.MAX_ACTORS)] = (
        msgspec.field(default_factory=list)
    )

    def text(self) -> CelebrationText:
        return CelebrationText(
            held_on=self.held_on, place=self.place, story=self.story, invited=self.invited
        )


def _form_values(found: Celebration | None) -> dict[str, Any]:
    if found is None:
        return {}
    return {
        "held_on": found.held_on.isoformat(), "place": found.place, "story": found.story,
        "invited": [str(i) for i in found.invited],
    }  # fmt: skip


def _checked(values: dict[str, Any]) -> frozenset[str]:
    """The actors ticked in the form's values (one checkbox sends a text, several a list)."""
    sent = values.get("invited", [])
    return frozenset(str(v) for v in (sent if isinstance(sent, list) else [sent]))


async def _celebration_page(
    pool: asyncpg.Pool,
    here: SpaceView,
    me: User,
    cause_id: int,
    status: int = 200,
    *,
    values: dict[str, Any] | None = None,
    form: FormInvalid | None = None,
    refused: str | None = None,
) -> Template:
    member = is_member(here)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        found = await celebrating.celebration(conn, cause.id)
        people = await celebrating.invited_people(conn, cause.id)
        actors = await observing.actors(conn, cause.id) if member else []
    may_prepare = celebrating.may_prepare(cause, actor_of(here, me))
    shown = values if values is not None else _form_values(found)
    return cause_page(
        "causes/celebration.html", here, cause, status,
        celebration=found, people=people, member=member, actors=actors,
        names=shown_names(actors), to_do=to_do(here, cause), may_prepare=may_prepare,
        values=shown, checked=_checked(shown), form=form, refused=refused,
        story_html=render_markdown(found.story, top_heading=5) if found and found.story else "",
        new_key=idempotency.new_key, actor_kinds=ACTOR_KINDS,
    )  # fmt: skip


@get("/s/{slug:str}/causes/{cause_id:int}/celebration", name="cause_celebration")
async def celebration_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The celebration (once an evaluation decision is adopted; before, what it waits for),
    and its form for those who may prepare it."""
    return await _celebration_page(pool, here, me, cause_id)


@post("/s/{slug:str}/causes/{cause_id:int}/celebration")
async def plan_celebration(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """Prepare the celebration, or change it: by one who carries the cause or a facilitator
    (403 in words for the others); its step not open: said above the form (409); mistakes
    next to their fields (422)."""
    require_participant(here, me)
    values = _values(data)
    base = _base(here, cause_id)
    page, location = f"{base}/celebration", f"{base}/celebration#celebration"
    actor = actor_of(here, me)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
    if not celebrating.may_prepare(cause, actor):
        raise DomainError("celebration_refused", celebrating.NOT_CARRIER, status=403)
    try:
        form = parse_form(CelebrationForm, values)

        async def write(conn: db.Connection) -> str:
            await celebrating.plan(conn, here.space.id, cause_id, actor, form.text())
            return location

        return await idempotency.form_posted(
            pool, me.id, data, page, form, write, replayed_to=location
        )
    except FormInvalid as invalid:
        return await _celebration_page(pool, here, me, cause_id, 422, values=values, form=invalid)
    except DomainError as refused:
        if refused.status in (403, 404):
            raise
        if refused.field is not None:
            problem = FormInvalid({refused.field: domain_message(refused)}, values)
            return await _celebration_page(
                pool, here, me, cause_id, 422, values=values, form=problem
            )
        return await _celebration_page(pool, here, me, cause_id, refused.status, values=values,
                                       refused=domain_message(refused))  # fmt: skip


# --- the bilan ---------------------------------------------------------------------------


@get("/s/{slug:str}/causes/{cause_id:int}/bilan", name="cause_bilan")
async def bilan_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The whole journey of the cause so far, for paper (the browser's Print command)."""
    member = is_member(here)
    day = today()
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        journey = await bilan.journey(conn, cause, with_actors=member, today=day)
    return cause_page(
        "causes/bilan.html", here, cause,
        bilan=journey, member=member, today=day, markdown=render_markdown,
        names=shown_names(journey.actors or []),
        purpose_names=PURPOSE_NAMES, objective_states=OBJECTIVE_STATES,
        observation_kinds=OBSERVATION_KINDS, actor_kinds=ACTOR_KINDS, actor_roles=ACTOR_ROLES,
        stances=STANCES, influences=INFLUENCES, signed=signed,
        end_text=end_text, latest_text=measuring.latest_text,
        horizon_names=HORIZON_NAMES, statuses=STATUSES, who_shown=who_shown,
        when_shown=when_shown, means_and_cost=means_and_cost,
    )  # fmt: skip


routes = [celebration_page, plan_celebration, bilan_page]
