"""The cause's own pages (issue 12 §1): the space's causes, proposing a cause and editing it,
its overview (where the journey is, what comes next for the viewer, its proposals and
decisions), following it or joining those who carry it, and the proposal taking it on.

Access: the space's members read everything here (404 for anyone else, and for a cause of
another space); writing is for those who may take part (members who signed the charter);
editing a cause, for those who carry it and the facilitators. Every write is one
transaction, the cause locked first when a rule of the journey decides (store.lock), its
journal event written by the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.causes import pages, proposing, rules, store
from consentir.causes.rules import Rule, Step
from consentir.causes.store import THEMES, Cause, CauseProposal, CauseText, Purpose
from consentir.consent import labels
from consentir.consent.routes import actor_of
from consentir.consent.store import Content
from consentir.errors import N_, DomainError
from consentir.markdown import render as render_markdown
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, allowed, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import domain_message, gettext

FormData = URLEncodedBody[dict[str, Any]]

OTHER_THEME = "other"  # the select's choice for a free theme, written in `theme_other`
THEME_MISSING = N_("Name the theme, or choose one of the five.")
NOT_CARRIER = N_("Only those who carry the cause and the facilitators can edit it.")
TAKEN_ON = N_("This cause is already taken on, by decision %(number)s.")
# The three criteria for taking a cause on, each answered in words: what an empty answer
# is told, next to its field (the rule `cause_criteria_unanswered`).
CRITERIA = ("meets_values", "meets_mobilised", "meets_impact")
UNANSWERED = {
    "meets_values": N_("Say how the cause is in line with the movement's values."),
    "meets_mobilised": N_("Say who is mobilised: several people, not one alone."),
    "meets_impact": N_("Say what useful local impact the cause would have."),
}
TAKE_ON_TITLE = N_("Take on the cause: %(title)s")
TAKE_ON_DRIVER = N_("Those who carry the cause ask the collective to take it on.")

# What each of the cause's proposals is for, in words.
PURPOSE_NAMES: dict[str, str] = {
    "take_on": N_("taking the cause on"),
    "objectives": N_("objectives"),
    "choice": N_("scenario choice"),
    "evaluation": N_("evaluation"),
}
# Where a cause is, in the list (store.listing's `step`).
WHERE: dict[str, str] = {
    "proposed": N_("proposed, not taken on yet"),
    "observe": N_("taken on"),
    "objectives": N_("taken on"),
    "plan": N_("action plan"),
    "evaluate": N_("being evaluated"),
    "celebrate": N_("to celebrate"),
}
# Each step's page, under the cause's address.
STEP_PAGES: dict[str, str] = {
    Step.OBSERVE: "observation",
    Step.OBJECTIVES: "objectives",
    Step.PLAN: "scenarios",
    Step.EVALUATE: "evaluation",
    Step.CELEBRATE: "celebration",
}
# What the viewer may do next, by what the plan waits for.
OBJECTIVES_NEXT: dict[str, str] = {
    Rule.NO_OBJECTIVE: N_("Write objectives"),
    Rule.OBJECTIVE_NOT_ADOPTED: N_(
        "Complete the objectives with their impact criteria, and propose them for adoption"
    ),
    Rule.OBJECTIVE_WITHOUT_CRITERION: N_("Give each objective an impact criterion"),
    Rule.CRITERION_INCOMPLETE: N_("Give each impact criterion a baseline and a target"),
}
PROPOSE_TAKE_ON = N_("Propose to take the cause on")
OBSERVE_NEXT = N_("Add observations and actors")
PLAN_NEXT = N_("Draft a scenario, or compare the scenarios and open the choice")
ACT_NEXT = N_("Keep the action list up to date")
EVALUATE_NEXT = N_("Enter measurements and propose the evaluation's interpretation")
CELEBRATE_NEXT = N_("Prepare the celebration")
UNDER_WAY_NEXT = N_("The proposal “%(title)s” (%(purpose)s) is under way: take part on its page.")
YOUR_DRAFT = N_(
    "Your proposal “%(title)s” (%(purpose)s) is a draft: submit it to the group on its page."
)
A_DRAFT = N_("“%(title)s” (%(purpose)s) is a draft: its author submits it to the group.")
SIGN_TO_ACT = N_("Sign the charter of this space to take part in the cause.")
MEMBERS_ACT = N_("Only the members who take part in this space act on the cause.")


# --- forms ---------------------------------------------------------------------------------

Line = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
ThemeCode = Literal[
    "social_justice", "mobility", "living_together", "local_life", "land_planning", "other"
]


class CauseForm(msgspec.Struct):
    title: Line
    territory: Line
    theme: ThemeCode
    # The free theme, when `theme` is "other", stored as written.
    theme_other: Annotated[boundary.OneLine, msgspec.Meta(max_length=80)] = ""
    summary: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""

    def text(self, values: dict[str, Any]) -> CauseText:
        theme = self.theme_other.strip() if self.theme == OTHER_THEME else self.theme
        if not theme:
            raise FormInvalid({"theme_other": gettext(THEME_MISSING)}, values)
        return CauseText(self.title, self.territory, theme, self.summary)


Answer = Annotated[boundary.Text, msgspec.Meta(max_length=5000)]


class TakeOnForm(msgspec.Struct):
    """The three criteria, each answered in words (an empty one is told next to its field),
    and why now (optional)."""

    meets_values: Answer = ""
    meets_mobilised: Answer = ""
    meets_impact: Answer = ""
    driver: Annotated[boundary.Text, msgspec.Meta(max_length=10000)] = ""

    def meets(self) -> tuple[str, str, str]:
        return (self.meets_values.strip(), self.meets_mobilised.strip(), self.meets_impact.strip())


class FollowForm(msgspec.Struct):
    on: bool = False
    carries: bool = False


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}


def theme_label(theme: str) -> str:
    """The theme in the reader's language: one of the five translated, a free one as
    written."""
    return gettext(THEMES[theme]) if theme in THEMES else theme


def _theme_options() -> list[tuple[str, str]]:
    return [(code, gettext(name)) for code, name in THEMES.items()] + [
        (OTHER_THEME, gettext("another theme"))
    ]


def _cause_values(cause: Cause) -> dict[str, str]:
    free = cause.theme not in THEMES
    return {
        "title": cause.title, "territory": cause.territory, "summary": cause.summary,
        "theme": OTHER_THEME if free else cause.theme, "theme_other": cause.theme if free else "",
    }  # fmt: skip


# --- what comes next -----------------------------------------------------------------------


@dataclass(frozen=True)
class Next:
    """One thing the journey waits for, in words: for the viewer (`mine`), or for others."""

    code: str  # what it is (data-next, for tests and styles)
    text: str  # translated
    href: str | None  # where it is done (None: said only)
    mine: bool


@dataclass(frozen=True)
class Shown:
    """One of the cause's proposals as the viewer may see it: a draft is seen by its author
    and the facilitators only (a link for the others would lead to "not found")."""

    proposal: CauseProposal
    purpose: str  # translated
    href: str | None
    draft_of_mine: bool


def _shown(here: SpaceView, me: User, cause: Cause, proposers: dict[int, int]) -> dict[int, Shown]:
    facilitate = allowed(here.standing, Action.FACILITATE)
    shown = {}
    for p in cause.proposals:
        href = f"/s/{here.space.slug}/proposals/{p.proposal_id}"
        mine = p.stage == "draft" and proposers.get(p.proposal_id) == me.id
        visible = p.stage != "draft" or mine or facilitate
        shown[p.proposal_id] = Shown(p, gettext(PURPOSE_NAMES[p.purpose]),
                                     href if visible else None, mine)  # fmt: skip
    return shown


def what_next(here: SpaceView, cause: Cause, shown: dict[int, Shown]) -> list[Next]:
    """What the journey waits for now, for the viewer first: a proposal of the cause under
    way (take part, or submit one's draft), else the step to work on. Never empty for those
    who take part; the others are told why they cannot act."""
    contribute = pages.may_contribute(here)
    base = f"/s/{here.space.slug}/causes/{cause.id}"
    facts = cause.facts
    items: list[Next] = []

    def offer(code: str, text: str, page: str) -> None:
        if contribute:
            items.append(Next(code, gettext(text), f"{base}/{page}", True))

    def under_way(purpose: Purpose) -> bool:
        proposal = cause.under_way(purpose)
        if proposal is None:
            return False
        seen = shown[proposal.proposal_id]
        words = {"title": proposal.title, "purpose": seen.purpose}
        if seen.draft_of_mine:
            items.append(Next("submit", gettext(YOUR_DRAFT) % words, seen.href, True))
        elif proposal.stage == "draft":
            items.append(Next("draft", gettext(A_DRAFT) % words, seen.href, False))
        else:
            text = gettext(UNDER_WAY_NEXT) % words
            items.append(Next(purpose, text, seen.href, contribute))
        return True

    gates = {g.step: g for g in rules.stepper(facts)}
    if not facts.taken_on:
        if not under_way("take_on"):
            offer("take_on", PROPOSE_TAKE_ON, "take-on")
    else:
        plan = gates[Step.PLAN]
        if not plan.open:
            if not under_way("objectives") and plan.waits_for in OBJECTIVES_NEXT:
                offer("objectives", OBJECTIVES_NEXT[plan.waits_for], "objectives")
        elif not facts.scenario_chosen:
            if not under_way("choice"):
                offer("plan", PLAN_NEXT, "scenarios")
        elif not facts.evaluation_adopted:
            offer("act", ACT_NEXT, "actions")
            if not under_way("evaluation"):
                offer("evaluate", EVALUATE_NEXT, "evaluation")
        else:
            offer("celebrate", CELEBRATE_NEXT, "celebration")
        offer("observe", OBSERVE_NEXT, "observation")
    if not contribute:
        if here.standing.member:
            items.append(Next("sign", gettext(SIGN_TO_ACT), f"/s/{here.space.slug}/charter#sign",
                              True))  # fmt: skip
        else:
            items.append(Next("members", gettext(MEMBERS_ACT), None, False))
    return items


def _proposers(cause: Cause) -> dict[int, int]:
    """Who wrote each draft under way (at most one per purpose), by proposal id."""
    return {
        p.proposal_id: p.proposer_id
        for p in cause.proposals
        if p.stage == "draft" and not p.closed and p.proposer_id is not None
    }


def _may_edit(here: SpaceView, me: User, cause: Cause) -> bool:
    return pages.may_contribute(here) and (
        me.id in cause.carried_by or allowed(here.standing, Action.FACILITATE)
    )


# --- the list -----------------------------------------------------------------------------


@get("/s/{slug:str}/causes", name="causes")
async def causes_page(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    before: boundary.IdQuery = None,
) -> Template:
    """The space's causes, newest first, a page at a time."""
    async with pool.acquire() as conn:
        listed, following = await store.listing(conn, here.space.id, before)
    return space_page(
        "causes/list.html", here, causes=listed, before=before, next_before=following,
        where=WHERE, theme_label=theme_label, contribute=pages.may_contribute(here),
    )  # fmt: skip


# --- proposing and editing a cause --------------------------------------------------------


def _form_page(
    here: SpaceView,
    values: dict[str, Any],
    form: FormInvalid | None,
    status: int = 200,
    cause: Cause | None = None,
) -> Template:
    return space_page(
        "causes/new.html", here, status, values=values, form=form, cause=cause,
        new_key=idempotency.new_key, theme_options=_theme_options(),
    )  # fmt: skip


@get("/s/{slug:str}/causes/new", name="new_cause")
async def new_cause(here: NamedDependency[SpaceView]) -> Template:
    require(here.standing, Action.PARTICIPATE)
    return _form_page(here, {"theme": "social_justice"}, None)


@post("/s/{slug:str}/causes/new")
async def create_cause(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    data: FormData,
) -> Response[Any]:
    """A new cause, carried by who proposes it; mistakes next to their fields (422)."""
    require(here.standing, Action.PARTICIPATE)
    values = _values(data)
    page = f"/s/{here.space.slug}/causes/new"
    try:
        form = parse_form(CauseForm, values)
        text = form.text(values)

        async def write(conn: db.Connection) -> str:
            cause_id = await store.create(conn, here.space.id, me.id, text)
            return f"/s/{here.space.slug}/causes/{cause_id}"

        return await idempotency.form_posted(
            pool, me.id, data, page, form, write, replayed_to=f"/s/{here.space.slug}/causes"
        )
    except FormInvalid as invalid:
        return _form_page(here, values, invalid, 422)


async def _editable(pool: asyncpg.Pool, here: SpaceView, me: User, cause_id: int) -> Cause:
    """The cause (of this space: 404 otherwise), if the viewer may edit it (403 otherwise)."""
    require(here.standing, Action.PARTICIPATE)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
    if not _may_edit(here, me, cause):
        raise DomainError("cause_edit_refused", NOT_CARRIER, status=403)
    return cause


@get("/s/{slug:str}/causes/{cause_id:int}/edit", name="edit_cause")
async def edit_cause_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    cause = await _editable(pool, here, me, cause_id)
    return _form_page(here, _cause_values(cause), None, cause=cause)


@post("/s/{slug:str}/causes/{cause_id:int}/edit")
async def edit_cause(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The cause's title, territory, theme and summary, as its carriers or a facilitator
    rewrite them."""
    cause = await _editable(pool, here, me, cause_id)
    values = _values(data)
    location = f"/s/{here.space.slug}/causes/{cause_id}"
    try:
        form = parse_form(CauseForm, values)
        text = form.text(values)

        async def write(conn: db.Connection) -> str:
            await store.edit(conn, here.space.id, cause_id, me.id, text)
            return location

        return await idempotency.form_posted(
            pool, me.id, data, f"{location}/edit", form, write, replayed_to=location
        )
    except FormInvalid as invalid:
        return _form_page(here, values, invalid, 422, cause=cause)


# --- the overview -------------------------------------------------------------------------


@get("/s/{slug:str}/causes/{cause_id:int}", name="cause")
async def cause_overview(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The cause: its summary, who carries and follows it, each step of its journey (open,
    or what it waits for), what comes next for the viewer, its proposals and decisions."""
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
        proposers = _proposers(cause)
    shown = _shown(here, me, cause, proposers)
    return pages.cause_page(
        "causes/page.html", here, cause,
        summary_html=render_markdown(cause.summary, top_heading=4) if cause.summary else "",
        next_steps=what_next(here, cause, shown),
        under_way=[shown[p.proposal_id] for p in cause.proposals if not p.closed],
        decided=[shown[p.proposal_id] for p in reversed(cause.proposals) if p.decision_number],
        carries=me.id in cause.carried_by, may_edit=_may_edit(here, me, cause),
        step_pages=STEP_PAGES, stage_names=labels.STAGES,
        choice_stage_names=labels.CHOICE_CONTEXT["stage_names"],
    )  # fmt: skip


@post("/s/{slug:str}/causes/{cause_id:int}/follow")
async def follow_cause(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """Follow the cause (`on=1`), stop following it (`on=0`), or join those who carry it
    (`on=1&carries=1`)."""
    require(here.standing, Action.PARTICIPATE)
    try:
        form = parse_form(FollowForm, _values(data))
    except FormInvalid as invalid:
        raise DomainError("follow_invalid", next(iter(invalid.errors.values()))) from None
    async with db.transaction(pool) as conn:
        await store.follow(conn, here.space.id, cause_id, me.id, on=form.on,
                           carries=form.on and form.carries)  # fmt: skip
    return Redirect(f"/s/{here.space.slug}/causes/{cause_id}", status_code=303)


# --- taking the cause on ------------------------------------------------------------------


def _take_on_page(
    here: SpaceView,
    cause: Cause,
    values: dict[str, Any],
    form: FormInvalid | None,
    status: int = 200,
    refused: str | None = None,
    rule: str | None = None,
) -> Template:
    under_way = cause.under_way("take_on")
    return pages.cause_page(
        "causes/take_on.html", here, cause, status, values=values, form=form, refused=refused,
        rule=rule, new_key=idempotency.new_key, taking_on=under_way,
    )  # fmt: skip


def _refusal(cause: Cause) -> DomainError | None:
    """Why the cause cannot be proposed for taking on now, if it cannot: taken on already,
    or a proposal taking it on under way."""
    adopted = cause.adopted("take_on")
    if cause.facts.taken_on and adopted:
        return DomainError("cause_taken_on", TAKEN_ON, status=409,
                           params={"number": adopted[-1].decision_number})  # fmt: skip
    under_way = cause.under_way("take_on")
    if under_way is not None:
        return DomainError("cause_proposal_under_way", store.UNDER_WAY, status=409,
                           params={"title": under_way.title})  # fmt: skip
    return None


@get("/s/{slug:str}/causes/{cause_id:int}/take-on", name="take_on_cause")
async def take_on_form(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
) -> Template:
    """The proposal taking the cause on: the three criteria to answer; or why it cannot be
    proposed now."""
    require(here.standing, Action.PARTICIPATE)
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
    refusal = _refusal(cause)
    refused = domain_message(refusal) if refusal else None
    return _take_on_page(here, cause, {}, None, refused=refused,
                         rule=refusal.code if refusal else None)  # fmt: skip


@post("/s/{slug:str}/causes/{cause_id:int}/take-on")
async def take_on(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The draft proposal taking the cause on, on its page; an unanswered criterion next to
    its field (422); a proposal taking it on already under way, or the cause already taken
    on, said above the form (409)."""
    require(here.standing, Action.PARTICIPATE)
    values = _values(data)
    page = f"/s/{here.space.slug}/causes/{cause_id}/take-on"
    async with pool.acquire() as conn:
        cause = await store.cause(conn, here.space.id, cause_id, me.id)
    try:
        form = parse_form(TakeOnForm, values)
        meets = form.meets()
        unanswered = {f: gettext(UNANSWERED[f]) for f, a in zip(CRITERIA, meets, strict=True)
                      if not a}  # fmt: skip
        if unanswered:
            raise FormInvalid(unanswered, values)

        async def write(conn: db.Connection) -> str:
            locked = await store.lock(conn, here.space.id, cause_id)
            refusal = _refusal(locked)
            if refusal is not None:
                raise refusal
            title = gettext(TAKE_ON_TITLE) % {"title": locked.title}
            content = Content(
                title=title[:200], driver=form.driver.strip() or gettext(TAKE_ON_DRIVER),
                body=proposing.take_on_text(locked, meets),
            )  # fmt: skip
            proposal_id = await proposing.propose(
                conn, here.space, actor_of(here, me), locked, "take_on", content, meets=meets
            )
            return f"/s/{here.space.slug}/proposals/{proposal_id}"

        return await idempotency.form_posted(
            pool, me.id, data, page, form, write, replayed_to=f"/s/{here.space.slug}/proposals"
        )
    except FormInvalid as invalid:
        rule = Rule.CRITERIA_UNANSWERED.value if set(invalid.errors) & set(CRITERIA) else None
        return _take_on_page(here, cause, values, invalid, 422, rule=rule)
    except DomainError as refused:
        if refused.status in (403, 404):
            raise
        if refused.field is not None:
            problem = FormInvalid({refused.field: domain_message(refused)}, values)
            return _take_on_page(here, cause, values, problem, 422, rule=refused.code)
        async with pool.acquire() as conn:  # as it is now (what refused it)
            cause = await store.cause(conn, here.space.id, cause_id, me.id)
        return _take_on_page(here, cause, values, None, refused.status,
                             refused=domain_message(refused), rule=refused.code)  # fmt: skip


routes = [
    causes_page,
    new_cause,
    create_cause,
    edit_cause_form,
    edit_cause,
    cause_overview,
    follow_cause,
    take_on_form,
    take_on,
]
