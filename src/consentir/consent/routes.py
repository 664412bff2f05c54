"""Proposals: the list, drafts, the proposal page and every step of the process, as pages
(forms that work without JavaScript, enhanced by htmx) and as the JSON API.

Both surfaces share `perform()`: it turns a verb and its fields into a rules action,
runs it in one transaction with the idempotency key, and lets the rules refuse.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

import asyncpg
import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.causes import choice_view
from consentir.consent import labels, rules, store
from consentir.consent.diff import rendered_diff
from consentir.consent.rules import Actor, Rule, RuleViolation, Stance
from consentir.consent.store import Content
from consentir.db import Connection
from consentir.decisions import store as decisions
from consentir.elections import store as elections
from consentir.elections.rules import by_nominee, visible_nominations
from consentir.errors import N_, DomainError
from consentir.mandates import revoking
from consentir.mandates import store as mandates
from consentir.mandates.routes import RoleForm, accountabilities
from consentir.mandates.rules import Term
from consentir.mandates.store import RoleText
from consentir.markdown import render as render_markdown
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, allowed
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, field_error, parse_form
from consentir.web.fragments import Fragment, digest, entity_tag, etag_matches
from consentir.web.fragments import render as render_fragment
from consentir.web.i18n import aware, domain_message, gettext
from consentir.web.middleware import PAGE_CACHE_CONTROL, PAGE_VARY

FormData = URLEncodedBody[dict[str, Any]]

Title = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
Driver = Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=10000)]
Body = Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=50000)]
Note = Annotated[boundary.Text, msgspec.Meta(max_length=2000)]
Text = Annotated[boundary.Text, msgspec.Meta(max_length=5000)]
Key = Annotated[boundary.OneLine, msgspec.Meta(max_length=200)]


def actor_of(here: SpaceView, me: User) -> Actor:
    return Actor(
        me.id,
        may_participate=allowed(here.standing, Action.PARTICIPATE),
        may_facilitate=allowed(here.standing, Action.FACILITATE),
    )


# --- the verbs ----------------------------------------------------------------------------

Verb = Literal[
    "submit", "ask", "answer", "advance", "react", "publish", "position", "judge",
    "withdraw-objection", "confirm", "open-object-round", "close-round", "deadline",
    "withdraw", "close", "nominate", "reveal", "open-change-round", "propose-holder",
]  # fmt: skip
VERBS: tuple[str, ...] = Verb.__args__  # type: ignore[attr-defined]


class ActionIn(boundary.Input, kw_only=True):
    """The fields of any step; each verb reads those it needs (see `build`)."""

    text: Text = ""  # a question, an answer, a reaction
    passed: bool = False  # react: pass
    # publish: the new version's title (empty: the current one's)
    title: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    driver: Annotated[boundary.Text, msgspec.Meta(max_length=10000)] = ""  # publish
    body: Annotated[boundary.Text, msgspec.Meta(max_length=50000)] = ""  # publish
    note: Note = ""  # publish: what changed
    # publish in the integrate stage: the objections it answers
    answers: Annotated[list[boundary.Id], boundary.Items] = msgspec.field(default_factory=list)
    stance: Literal["consent", "concern", "objection"] | None = None  # position
    reason: Text = ""  # position (objection), judge, close
    version: boundary.Int32 | None = None  # position: the version the form showed
    person: boundary.Id | None = None  # position on someone's behalf (facilitator)
    question_id: boundary.Id | None = None  # answer
    objection_id: boundary.Id | None = None  # judge, withdraw-objection, confirm
    verdict: Literal["valid", "not_valid"] | None = None  # judge
    deadline: datetime | None = None  # deadline (none: remove it)
    # An election: whom a nomination names (`passed`: nobody), whom the facilitator proposes,
    # and the term they would serve (empty: the one proposed so far).
    # A scenario choice: the same `nominee` names a scenario; a question names the scenario
    # it is about (`scenario`, optional).
    nominee: boundary.Id | None = None
    scenario: boundary.Id | None = None
    first: date | None = None
    last: date | None = None
    # The proposal's revision the step was decided on: required by the steps that move the
    # process (rules.MOVING_ACTIONS); a stale one is refused with `stale_state`.
    revision: boundary.Int32 | None = None


REQUIRED = N_("This field is required.")


def _required(value: object, name: str) -> None:
    if value is None or value == "" or (isinstance(value, str) and not value.strip()):
        raise DomainError("field_required", REQUIRED, field=name)


def build(verb: str, form: ActionIn, me: User, now: datetime) -> tuple[rules.Action, Content]:
    """The rules action for `verb`, and the text it writes; DomainError for a missing field
    (a step that moves the process must say which revision it was decided on)."""
    action, content = _build(verb, form, me, now)
    if isinstance(action, rules.MOVING_ACTIONS):
        _required(action.seen, "revision")
    return action, content


def _build(verb: str, form: ActionIn, me: User, now: datetime) -> tuple[rules.Action, Content]:
    nobody: frozenset[int] = frozenset()  # the store fills in who may take part
    seen = form.revision
    match verb:
        case "submit":
            return rules.Submit(nobody), Content()
        case "ask":
            _required(form.text, "text")
            return rules.AskQuestion(), Content(text=form.text.strip(), scenario=form.scenario)
        case "answer":
            _required(form.question_id, "question_id")
            _required(form.text, "text")
            assert form.question_id is not None
            return rules.AnswerQuestion(form.question_id), Content(text=form.text.strip())
        case "advance":
            return rules.Advance(nobody, seen), Content()
        case "react":
            if not form.passed:
                _required(form.text, "text")
            return rules.React(passed=form.passed), Content(text=form.text.strip())
        case "publish":
            _required(form.driver, "driver")
            _required(form.body, "body")
            content = Content(title=form.title.strip(), driver=form.driver.strip(),
                              body=form.body.strip(), note=form.note)  # fmt: skip
            return rules.PublishVersion(frozenset(form.answers), seen), content
        case "position":
            _required(form.stance, "stance")
            _required(form.version, "version")
            assert form.stance is not None and form.version is not None
            person = form.person or me.id
            return rules.GivePosition(
                person, Stance(form.stance), form.version, form.reason.strip()
            ), Content()
        case "judge":
            _required(form.objection_id, "objection_id")
            _required(form.verdict, "verdict")
            assert form.objection_id is not None
            valid = form.verdict == "valid"
            judge = rules.JudgeObjection(form.objection_id, valid, form.reason.strip(), seen)
            return judge, Content()
        case "withdraw-objection" | "confirm":
            _required(form.objection_id, "objection_id")
            assert form.objection_id is not None
            if verb == "confirm":
                return rules.ConfirmIntegration(form.objection_id), Content()
            return rules.WithdrawObjection(form.objection_id), Content()
        case "open-object-round":
            return rules.OpenObjectRound(nobody, seen), Content()
        case "close-round":
            return rules.CloseRound(now, seen), Content()
        case "deadline":
            return rules.SetDeadline(
                aware(form.deadline) if form.deadline else None, now
            ), Content()
        case "withdraw":
            return rules.Withdraw(seen), Content()
        case "close":
            return rules.CloseWithoutConsent(form.reason.strip(), seen), Content()
        case "nominate":
            if not form.passed:
                _required(form.nominee, "nominee")
            _required(form.reason, "reason")
            nominee = None if form.passed else form.nominee
            return rules.Nominate(nominee, form.reason.strip()), Content()
        case "reveal":
            return rules.Reveal(now, seen), Content()
        case "open-change-round":
            return rules.OpenChangeRound(seen), Content()
        case "propose-holder":
            _required(form.nominee, "nominee")
            _required(form.reason, "reason")
            assert form.nominee is not None
            return rules.ProposeHolder(form.nominee, form.reason.strip(), seen), Content(
                term=_term(form.first, form.last)
            )
    raise DomainError("unknown_step", N_("This step does not exist."), status=404)


TERM_ORDER = N_("The last day comes after the first.")


def _term(first: date | None, last: date | None) -> Term | None:
    """The term a proposed holder would serve, when the facilitator adjusts it: both days,
    or neither (the term proposed so far)."""
    if first is None and last is None:
        return None
    _required(first, "first")
    _required(last, "last")
    assert first is not None and last is not None
    if last < first:
        raise DomainError("term_order", TERM_ORDER, field="last")
    return Term(first, last + timedelta(days=1))


@dataclass(frozen=True)
class Done:
    step: rules.Step | None
    replayed: idempotency.Replay | None


async def perform(
    pool: asyncpg.Pool,
    here: SpaceView,
    me: User,
    proposal_id: int,
    verb: str,
    form: ActionIn,
    *,
    key: str | None,
) -> Done:
    """Run one step in one transaction. With an idempotency key, a repeated submission
    (double click, retried request) does nothing and reports the first one."""
    action, content = build(verb, form, me, datetime.now(UTC))
    fingerprint = idempotency.fingerprint(
        "POST", f"{proposal_id}/{verb}", msgspec.json.encode(form)
    )
    async with db.transaction(pool) as conn:
        if key:
            # The answer is the proposal as it is then (200): the key's row says all there is.
            replay = await idempotency.claim(conn, me.id, key, fingerprint, status=200)
            if replay is not None:
                return Done(None, replay)
        result = await store.act(conn, here.space, proposal_id, actor_of(here, me), action, content)
    return Done(result, None)


# --- pages --------------------------------------------------------------------------------


def _page(name: str, here: SpaceView, status: int = 200, **context: Any) -> Template:
    return space_page(
        name, here, status, **{**labels.CONTEXT, "steps": rules.STEPS, "new_key": _new_key,
                               **context},
    )  # fmt: skip


@get("/s/{slug:str}/proposals", name="proposals")
async def proposals_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    group: FromQuery[store.ListGroup] = store.ListGroup.ACTIVE,
    after: FromQuery[str | None] = None,
) -> Template:
    drafts = allowed(here.standing, Action.FACILITATE)
    async with pool.acquire() as conn:
        counts = await store.group_counts(conn, here.space.id, me.id, may_see_drafts=drafts)
        page, following = await store.listing(
            conn, here.space.id, me.id, may_see_drafts=drafts, group=group, after=after
        )
    return _page(
        "proposals/list.html", here, proposals=page, next_cursor=following,
        group=group, counts=counts, group_names=labels.LIST_GROUPS,
    )  # fmt: skip


Supersedes = Annotated[boundary.OneLine, msgspec.Meta(max_length=500)]


class ProposalForm(msgspec.Struct):
    title: Title
    driver: Driver
    body: Body
    revision: boundary.Int32 = 0
    supersedes: Supersedes = ""  # decision numbers, separated by commas or spaces

    def content(self) -> Content:
        numbers = tuple(self.supersedes.replace(",", " ").split())
        return Content(title=self.title, driver=self.driver, body=self.body, supersedes=numbers)


class RoleTarget(msgspec.Struct):
    """The draft form's hidden fields: a proposal about a role, a new one or `role_id`."""

    kind: Literal["ordinary", "role"] = "ordinary"
    role_id: boundary.Id | None = None

    @property
    def about_role(self) -> bool:
        return self.kind == "role" or self.role_id is not None


class Drafted(msgspec.Struct, frozen=True):
    """What a draft's form says (and its idempotency key's fingerprint): the proposal, and
    for a proposal about a role, the role's text."""

    proposal: ProposalForm
    role: RoleText | None = None

    def content(self) -> Content:
        text = self.proposal.content()
        return Content(title=text.title, driver=text.driver, body=text.body,
                       supersedes=text.supersedes, role=self.role)  # fmt: skip


@dataclass(frozen=True)
class RoleChange:
    """A proposal about a role: the role (None: a new one, not adopted yet), its text before
    (the current one; once adopted, the one the decision replaced; None: a new role) and,
    on the proposal page, the text proposed."""

    role_id: int | None
    before: RoleText | None
    text: RoleText | None = None

    @property
    def changed(self) -> list[str]:
        """The fields whose proposed value differs from the text before, in the form's order
        (retiring the role is said apart: `retires`)."""
        if self.before is None or self.text is None:
            return []
        return [name for name in RoleText.__struct_fields__
                if name != "retire"
                and getattr(self.before, name) != getattr(self.text, name)]  # fmt: skip

    @property
    def retires(self) -> bool:
        """The proposal retires the role (a change of an existing role)."""
        return self.before is not None and self.text is not None and self.text.retire

    @property
    def added(self) -> list[str]:
        """Accountabilities the proposal adds (or rewords)."""
        return _missing(self.text, self.before)

    @property
    def removed(self) -> list[str]:
        """Accountabilities the proposal removes (or rewords)."""
        return _missing(self.before, self.text)


def _missing(text: RoleText | None, other: RoleText | None) -> list[str]:
    """The accountabilities of `text` that `other` does not have."""
    lines = set(other.accountabilities if other else ())
    return [line for line in (text.accountabilities if text else ()) if line not in lines]


async def _role_change(
    conn: Connection, space_id: int, proposal_id: int, proposed: Any = None
) -> RoleChange | None:
    """The role a proposal is about and its text before, with the `proposed` text (a
    version's `role`); None for a proposal that is not about a role."""
    found = await mandates.text_before(conn, space_id, proposal_id)
    if found is None:
        return None
    role_id, before = found
    text = msgspec.convert(proposed, RoleText) if proposed is not None else None
    return RoleChange(role_id, before, text)


CREATE_ROLE = N_("Create the role %(name)s")
CHANGE_ROLE = N_("Change the role %(name)s")
RETIRE_ROLE = N_("Retire the role %(name)s")


def _one(value: Any) -> str:
    """One form value as text (a repeated name keeps its last value)."""
    if isinstance(value, list):
        return str(value[-1]) if value else ""
    return str(value)


def _role_values(text: RoleText) -> dict[str, str]:
    """A role's text as the draft form's fields show it."""
    return {
        "name": text.name, "purpose": text.purpose, "domain": text.domain,
        "accountabilities": "\n".join(text.accountabilities), "seats": str(text.seats),
        "term_months": str(text.term_months),
        "consecutive_terms": str(text.consecutive_terms or ""), "eligibility": text.eligibility,
        **({"retire": "on"} if text.retire else {}),
    }  # fmt: skip


class RetireField(msgspec.Struct):
    """The role fields' checkbox "Retire this role" (a change of an existing role)."""

    retire: bool = False


def _read_draft(data: dict[str, Any], *, about_role: bool, changing: bool) -> Drafted:
    """The draft form; for a proposal about a role, the role's fields too, read by the roles'
    own form (mandates: RoleForm, accountabilities()). Every mistake at once, each next to
    its field (FormInvalid). A role proposal's title left empty names the role."""
    values = {key: _one(value) for key, value in data.items() if key != "_csrf_token"}
    name = " ".join(values.get("name", "").split())
    retire = about_role and parse_form(RetireField, {"retire": values.get("retire", "")}).retire
    if about_role and not values.get("title", "").strip() and 0 < len(name) <= 100:
        named = RETIRE_ROLE if retire and changing else CHANGE_ROLE if changing else CREATE_ROLE
        values["title"] = gettext(named) % {"name": name}
    errors: dict[str, str] = {}
    proposal = role = lines = None
    try:
        proposal = parse_form(ProposalForm, values)
    except FormInvalid as invalid:
        errors.update(invalid.errors)
    if about_role:
        try:
            role = parse_form(RoleForm, values)
        except FormInvalid as invalid:
            errors.update(invalid.errors)
        if retire and not changing:
            errors["retire"] = gettext(mandates.RETIRE_NEW_ROLE)
        try:
            lines = accountabilities(values.get("accountabilities", ""), values)
        except FormInvalid as invalid:
            for field, message in invalid.errors.items():
                errors.setdefault(field, message)
    if errors:
        raise FormInvalid(errors, values)
    assert proposal is not None
    if role is None or lines is None:
        return Drafted(proposal)
    text = RoleText(
        name=role.name, purpose=role.purpose, domain=role.domain, accountabilities=lines,
        seats=role.seats, term_months=role.term_months,
        consecutive_terms=role.consecutive_terms, eligibility=role.eligibility, retire=retire,
    )  # fmt: skip
    return Drafted(proposal, text)


def _draft_page(
    here: SpaceView,
    status: int = 200,
    *,
    form: FormInvalid | None,
    proposal: store.Head | None,
    values: dict[str, Any],
    role: RoleChange | None = None,
) -> Template:
    """The draft form; `role`: a proposal about a role (its role's fields, and which role a
    change is about)."""
    return _page("proposals/edit.html", here, status, form=form, proposal=proposal,
                 values=values, about_role=role is not None, changing=role)  # fmt: skip


def _target(data: dict[str, Any]) -> RoleTarget:
    """The form's hidden fields; a forged one is refused (422)."""
    hidden = {key: data[key] for key in RoleTarget.__struct_fields__ if key in data}
    try:
        return parse_form(RoleTarget, hidden)
    except FormInvalid:
        raise DomainError("invalid_field", N_("This value is not valid."), status=422) from None


async def _changing(pool: asyncpg.Pool, here: SpaceView, target: RoleTarget) -> RoleChange | None:
    """The role a new draft is about (a role of this space, or 404; not retired, or 409)
    with its current text."""
    if not target.about_role:
        return None
    if target.role_id is None:
        return RoleChange(None, None)
    async with pool.acquire() as conn:
        role = await mandates.check_role_proposal(conn, here.space.id, target.role_id, None)
    assert role is not None
    return RoleChange(role.id, role.text)


@get("/s/{slug:str}/proposals/new")
async def new_proposal(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    kind: FromQuery[Literal["ordinary", "role"]] = "ordinary",
    role_id: boundary.IdQuery = None,
) -> Template:
    """The draft form. `kind=role`: a proposal to create a role, with the role's fields;
    `role_id`: to change that role, its fields filled with its current text."""
    require_participant(here, me)
    role = await _changing(pool, here, RoleTarget(kind, role_id))
    values: dict[str, str] = {}
    if role is not None:
        values = {"seats": "1", "term_months": "12"}
        if role.before is not None:
            title = gettext(CHANGE_ROLE) % {"name": role.before.name}
            values = {**_role_values(role.before), "title": title}
    return _draft_page(here, form=None, proposal=None, values=values, role=role)


def require_participant(here: SpaceView, me: User) -> None:
    if not actor_of(here, me).may_participate:
        raise RuleViolation(Rule.NOT_PARTICIPANT)


@post("/s/{slug:str}/proposals")
async def create_proposal(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    data: FormData,
) -> Response[Any]:
    """The form carries an idempotency key: sent twice (double click), one draft, and the
    second answer leads to it as the first did. With `kind=role` (and `role_id` for a
    change), the role's fields too: the draft is a proposal about a role, as through the API."""
    require_participant(here, me)
    page = f"/s/{here.space.slug}/proposals"
    target = _target(data)
    role = await _changing(pool, here, target)
    try:
        drafted = _read_draft(data, about_role=role is not None,
                              changing=target.role_id is not None)  # fmt: skip
        async with db.transaction(pool) as conn:
            replay = await idempotency.claim_form(conn, me.id, data, page, drafted)
            if replay is not None:
                return replay.redirect(page)
            proposal_id = await store.create(
                conn, here.space, actor_of(here, me), drafted.content(), role_id=target.role_id
            )
            location = f"{page}/{proposal_id}"
            await idempotency.record_form(conn, me.id, data, location)
    except FormInvalid as invalid:
        return _draft_page(here, 422, form=invalid, proposal=None, values=invalid.values,
                           role=role)  # fmt: skip
    except DomainError as error:
        if error.field is None:
            raise
        return _draft_page(here, 422, form=field_error(error), proposal=None, values=data,
                           role=role)  # fmt: skip
    return Redirect(location, status_code=303)


async def _visible(
    conn: db.Connection, here: SpaceView, me: User, proposal_id: int
) -> store.Loaded:
    """The proposal, if this person may see it (a draft: its proposer and the facilitators)."""
    loaded = await store.load(conn, here.space.id, proposal_id)
    if not rules.may_view(loaded.state, actor_of(here, me), may_view_space=True):
        raise DomainError("proposal_not_found", store.NOT_FOUND, status=404)
    return loaded


@get("/s/{slug:str}/proposals/{proposal_id:int}/edit")
async def edit_proposal(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    proposal_id: FromPath[int],
) -> Template:
    async with pool.acquire() as conn:
        loaded = await _visible(conn, here, me, proposal_id)
        rules.step(loaded.state, actor_of(here, me), rules.EditDraft())
        found = await store.detail(conn, here.space.id, proposal_id)
        replaced = await decisions.superseded_by_proposal(conn, proposal_id)
        first = found.versions[0]
        role = await _role_change(conn, here.space.id, proposal_id, first["role"])
    values = {"title": loaded.head.title, "driver": first["driver"], "body": first["body"],
              "supersedes": ", ".join(replaced)}  # fmt: skip
    if role is not None and role.text is not None:
        values.update(_role_values(role.text))
    return _draft_page(here, form=None, proposal=loaded.head, values=values, role=role)


@post("/s/{slug:str}/proposals/{proposal_id:int}/edit")
async def save_draft(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    proposal_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """The draft saved; a proposal about a role saves the role's text with it (which role
    it is about stays as it was written)."""
    async with pool.acquire() as conn:
        loaded = await _visible(conn, here, me, proposal_id)
        role = await _role_change(conn, here.space.id, proposal_id)
    try:
        drafted = _read_draft(data, about_role=role is not None,
                              changing=role is not None and role.role_id is not None)  # fmt: skip
        async with db.transaction(pool) as conn:
            await store.edit_draft(
                conn, here.space, proposal_id, actor_of(here, me), drafted.content(),
                revision=drafted.proposal.revision,
            )  # fmt: skip
    except FormInvalid as invalid:
        return _draft_page(here, 422, form=invalid, proposal=loaded.head, values=invalid.values,
                           role=role)  # fmt: skip
    except DomainError as error:
        if error.code != "stale_proposal" and error.field is None:
            raise
        return _draft_page(here, error.status, form=field_error(error), proposal=loaded.head,
                           values=data, role=role)  # fmt: skip
    return Redirect(f"/s/{here.space.slug}/proposals/{proposal_id}", status_code=303)


@post("/s/{slug:str}/preview")
async def preview(here: NamedDependency[SpaceView], data: FormData) -> Template:
    """The Markdown as it will read (htmx swaps it in beside the editor)."""
    text = str(data.get("body") or data.get("driver") or "")[:50000]
    return Template("proposals/_preview.html", context={"html": render_markdown(text)})


async def _proposal_page(
    pool: asyncpg.Pool,
    here: SpaceView,
    me: User,
    proposal_id: int,
    *,
    status: int = 200,
    error: DomainError | None = None,
    failed_verb: str | None = None,
    values: dict[str, Any] | None = None,
    **extra: Any,
) -> Template:
    async with pool.acquire() as conn:
        context = await proposal_context(
            conn, here, me, proposal_id, error=error, failed_verb=failed_verb, values=values
        )
    return _page("proposals/page.html", here, status, **context, **extra)


async def proposal_context(
    conn: Connection,
    here: SpaceView,
    me: User,
    proposal_id: int,
    *,
    error: DomainError | None = None,
    failed_verb: str | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the proposal's templates need (the page, and a meeting's screens that show its
    forms): the state, the detail, what the viewer may do now; two statements."""
    loaded = await _visible(conn, here, me, proposal_id)
    found = await store.detail(conn, here.space.id, proposal_id)
    actor = actor_of(here, me)
    state = loaded.state
    now = datetime.now(UTC)
    current = found.versions[-1] if loaded.head.stage != "draft" else found.versions[0]
    open_round = found.open_round
    hidden = found.positions_hidden(here.space.hide_positions)
    mine = None
    if state.round is not None:
        mine = state.round.answer_of(me.id)
    # A position of mine that a facilitator recorded for me, in a meeting: by whom.
    mine_recorded_by = next(
        (p["recorded_by"] for p in (open_round or {}).get("positions", [])
         if p["user_id"] == me.id and p["on_behalf"]),
        None,
    )  # fmt: skip
    # One source of truth: what the rules say this person can do now, and what waits.
    mine_now = rules.available(state, actor, now)
    can = dict.fromkeys((*VERBS, "edit"), False)
    can.update({entry.verb: True for entry in mine_now if entry.ready})
    can["record"] = actor.may_facilitate and rules.allowed(state, actor, _record_probe(state))
    names = {pid: name for r in found.rounds for pid, name in r["participants"]}
    names[loaded.head.proposer_id] = loaded.head.proposer_name
    waiting = [_waiting(entry, names) for entry in mine_now if not entry.ready]
    main_step = mine_now[0] if mine_now and mine_now[0].main else None
    message = None
    if error is not None:
        message = domain_message(error)
    election = await _election(conn, state, proposal_id, me)
    choice = await choice_view.choice_context(conn, state, proposal_id, me.id)
    steps = rules.ELECTION_STEPS if election else rules.CHOICE_STEPS if choice else rules.STEPS
    base = f"/s/{here.space.slug}/proposals/{proposal_id}"
    objections = found.visible_objections(here.space.hide_positions, actor)
    words = labels.words()
    fragments = _fragments(loaded.head, state, found, base, hidden=hidden, can=can,
                           objections=objections, viewer=me.id, choice=choice,
                           words=words)  # fmt: skip
    return dict(
        **{**labels.CONTEXT, **(labels.CHOICE_CONTEXT if choice else {})}, new_key=_new_key,
        election=election, choice=choice, steps=steps,
        base=base, fragments=fragments,
        proposal=loaded.head, state=state, detail=found, current=current,
        current_html=render_markdown(current["body"]),
        driver_html=render_markdown(current["driver"]),
        open_round=open_round, hidden=hidden, mine=mine, mine_recorded_by=mine_recorded_by,
        can=can, actor=actor, available=mine_now, main_step=main_step, waiting=waiting,
        error=error, error_message=message, failed_verb=failed_verb, values=values or {},
        objections=objections,
        words=words,
        role_change=current["role"] and await _role_change(conn, here.space.id, proposal_id,
                                                           current["role"]),
        revocation=await revoking.under_revocation(conn, here.space.id, proposal_id)
        if loaded.head.kind == "revocation" else None,
    )  # fmt: skip


def _fragments(
    head: store.Head,
    state: rules.Proposal,
    found: store.Detail,
    base: str,
    *,
    hidden: bool,
    can: dict[str, bool],
    objections: list[dict[str, Any]],
    viewer: int,
    choice: dict[str, Any] | None,
    words: dict[str, str],
) -> dict[str, Fragment]:
    """The proposal page's shared parts (web/fragments.py): the open round, the questions,
    the objections, the versions and past rounds. Each is keyed on the revision read now,
    the viewer's visibility class and a digest of the data it shows (names included: a
    renamed person changes no revision); the language is added by `shared`. A part holding
    a form of this viewer's (an answer, a judgement, their own objection) has no key: it is
    rendered with the page, every time. The viewer's identity is in no context below."""
    # A scenario choice names its stages and rounds in its own words (as the page does).
    names = {**labels.CONTEXT, **(labels.CHOICE_CONTEXT if choice else {})}
    common = {**names, "words": words, "base": base}
    at = (head.id, head.revision, base)
    answered = sorted(state.round.answered) if state.round is not None else []
    round_ = _round_part(head.id, head.revision, base, found.open_round, answered,
                         hidden=hidden, choice=choice is not None, words=words)  # fmt: skip
    letters = {s.id: s.letter for s in choice["named"].values()} if choice else None
    own_form = can["answer"] and any(not q["answer"] for q in found.questions)
    questions = Fragment(
        "proposals/_questions.html",
        None if own_form else (*at, digest(found.questions, letters)),
        {**common, "detail": {"questions": found.questions}, "can": {"answer": False},
         "values": {}, "choice": {"named": choice["named"]} if choice else None},
    )  # fmt: skip
    open_ = head.stage not in ("adopted", "withdrawn", "rejected")
    own_form = len(objections) != len(found.objections) or any(
        (o["status"] == "raised" and can["judge"])
        or (o["objector_id"] == viewer and o["status"] in ("raised", "valid") and open_)
        for o in objections
    )
    objections_ = Fragment(
        "proposals/_objections.html",
        None if own_form else (*at, head.stage, digest(objections)),
        {**common, "objections": objections, "can": {"judge": False}, "values": {},
         "actor": {"user_id": 0}, "proposal": {"stage": head.stage}},
    )  # fmt: skip
    # What the list of versions shows of each (not its text: hashing every version's body on
    # every view would cost more than it saves).
    shown = [(v["number"], v["title"], v["author"], v["created_at"], v["note"])
             for v in found.versions]  # fmt: skip
    history = Fragment(
        "proposals/_history.html",
        (*at, digest(shown, found.rounds)),
        {**common, "detail": {"versions": found.versions, "rounds": found.rounds}},
    )  # fmt: skip
    return {"round": round_, "questions": questions, "objections": objections_,
            "history": history}  # fmt: skip


def _round_part(
    proposal_id: int,
    revision: int,
    base: str,
    open_round: dict[str, Any] | None,
    answered: list[int],
    *,
    hidden: bool,
    choice: bool,
    words: dict[str, str],
) -> Fragment:
    """The open round (who has answered, and the answers unless hidden), as the proposal
    page shows it and as its live re-fetch (`round_fragment`) serves it: the same key for
    both, so one rendering serves the page and every re-fetch. It depends on the revision,
    the visibility class (`hidden`: positions hidden while the objection round is open, for
    every viewer, facilitators too) and what it shows (`answered`: sorted ids); nothing of
    the viewer's."""
    names = {**labels.CONTEXT, **(labels.CHOICE_CONTEXT if choice else {})}
    return Fragment(
        "proposals/_round.html",
        (proposal_id, revision, base, hidden, digest(open_round, answered)),
        {**names, "words": words, "base": base, "open_round": open_round, "hidden": hidden,
         "state": {"round": {"answered": answered} if open_round is not None else None}},
    )  # fmt: skip


async def _election(
    conn: Connection, state: rules.Proposal, proposal_id: int, me: User
) -> dict[str, Any] | None:
    """An election's part of the page: what it is about, and the nominations as the rules
    let this viewer see them (sealed: only their own, until revealed)."""
    if state.ballot is None or not state.ballot.of_people:
        return None
    found = await elections.election(conn, proposal_id)
    assert found is not None
    sealed = rules.nominations_sealed(state)
    current = visible_nominations([c for c in found.nominations if c.current], me.id,
                                  sealed=sealed, voter=lambda c: c.voter_id)  # fmt: skip
    names = dict(found.eligible)
    return {
        "about": found,
        "sealed": sealed,
        "mine": next((c for c in found.nominations if c.current and c.voter_id == me.id), None),
        "groups": by_nominee(current, lambda c: c.nominee_id),
        "earlier": [] if sealed else [c for c in found.nominations if not c.current],
        "choices": [
            (pid, name) for pid, name in found.eligible if pid not in state.ballot.declined
        ],
        "declined": [names.get(pid, "?") for pid in sorted(state.ballot.declined)],
        "is_nominee": state.ballot.nominee == me.id,
    }


def _new_key() -> str:
    """An idempotency key for one form."""
    return secrets.token_urlsafe(16)


def _record_probe(state: rules.Proposal) -> rules.Action:
    """Recording a position for someone else: for someone on the round's list recorded
    present at an open meeting (the rules check the person)."""
    person = min(state.round.eligible & state.present, default=0) if state.round else 0
    return rules.GivePosition(person, Stance.OBJECTION, state.version, "-")


@dataclass(frozen=True)
class Waiting:
    """A step of this person's that waits: which, why (the rule's message), for whom."""

    verb: str
    code: str
    message: str
    people: list[str]
    facilitator: bool


def _waiting(entry: rules.Available, names: dict[int, str]) -> Waiting:
    assert entry.blocked is not None
    people = sorted(names.get(pid, "?") for pid in entry.waits_for)
    message = gettext(rules.MESSAGES[entry.blocked])
    return Waiting(entry.verb, entry.blocked.value, message, people, entry.waits_for_facilitator)


@get("/s/{slug:str}/proposals/{proposal_id:int}", name="proposal")
async def proposal_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    proposal_id: FromPath[int],
    done: FromQuery[str | None] = None,
) -> Template:
    """The proposal; after a step (`?done=<verb>`, from take_step's redirect) a notice says
    what it did and what comes next: only a known verb picks the notice, nothing from the
    address is shown."""
    return await _proposal_page(pool, here, me, proposal_id, done=done if done in VERBS else None)


# Steps that cannot be undone: the page asks first, and takes them only with `confirm=yes`,
# which only the confirmation's own form sends.
IRREVERSIBLE = frozenset({"close", "withdraw"})
# An empty reaction on the page: the way out is beside the field.
REACT_OR_PASS = N_("Write your reaction, or tick “I pass”.")


async def _confirmation(
    pool: asyncpg.Pool, here: SpaceView, me: User, proposal_id: int, verb: str, form: ActionIn
) -> dict[str, Any] | None:
    """The page's context for "are you sure?" if the rules would take this irreversible step
    now; None if they would refuse it: `perform` then refuses it, with the rule's message
    (asking first would only hide the refusal behind a confirmation)."""
    action, _content = build(verb, form, me, datetime.now(UTC))
    async with pool.acquire() as conn:
        loaded = await _visible(conn, here, me, proposal_id)
        if not rules.allowed(loaded.state, actor_of(here, me), action):
            return None
        return await proposal_context(conn, here, me, proposal_id)


@post("/s/{slug:str}/proposals/{proposal_id:int}/{verb:str}")
async def take_step(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    proposal_id: FromPath[int],
    verb: FromPath[str],
    data: FormData,
) -> Response[Any]:
    """Every step of the process from the proposal page. Refused: the page again, with the
    rule's message next to the form that was sent."""
    if verb not in VERBS:
        raise DomainError("unknown_step", N_("This step does not exist."), status=404)
    back = meeting_return(here, data.get("back"))
    try:
        form = parse_form(ActionIn, data)
        if verb in IRREVERSIBLE and data.get("confirm") != "yes":
            asking = await _confirmation(pool, here, me, proposal_id, verb, form)
            if asking is not None:  # nothing changed: the page asks, with the real form
                asking.update(confirming=verb, values=data, back=back)
                return _page("proposals/page.html", here, **asking)
        await perform(pool, here, me, proposal_id, verb, form, key=data.get("idempotency_key"))
    except FormInvalid as invalid:
        first = next(iter(invalid.errors.items()))
        error = DomainError("invalid_field", first[1], field=first[0])
        return await _proposal_page(pool, here, me, proposal_id, status=422, error=error,
                                    failed_verb=verb, values=data)  # fmt: skip
    except DomainError as error:
        if error.status == 404:
            raise
        if verb == "react" and error.code == "field_required" and error.field == "text":
            error = DomainError(error.code, REACT_OR_PASS, field="text")
        return await _proposal_page(pool, here, me, proposal_id, status=error.status,
                                    error=error, failed_verb=verb, values=data)  # fmt: skip
    # The notice at the top of the page says what the step did (see proposal_page).
    done = f"/s/{here.space.slug}/proposals/{proposal_id}?done={verb}#done"
    return Redirect(back or done, status_code=303)


@get("/s/{slug:str}/proposals/{proposal_id:int}/{verb:str}", name="step_address")
async def step_address(
    here: NamedDependency[SpaceView], proposal_id: FromPath[int], verb: FromPath[str]
) -> Redirect:
    """A step's address opened by GET (a reload of a refused step's page, a bookmark): the
    proposal's page, never "405". Static segments (edit, diff, round) match first."""
    if verb not in VERBS:
        raise DomainError("unknown_step", N_("This step does not exist."), status=404)
    return Redirect(f"/s/{here.space.slug}/proposals/{proposal_id}", status_code=303)


def meeting_return(here: SpaceView, back: Any) -> str | None:
    """Where a form sent from a meeting's screen goes back to: only a meeting page of this
    space (never an address from elsewhere)."""
    if isinstance(back, str) and re.fullmatch(
        rf"/s/{re.escape(here.space.slug)}/meetings/\d{{1,18}}(/console)?", back
    ):
        return back
    return None


@get("/s/{slug:str}/proposals/{proposal_id:int}/round")
async def round_fragment(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    proposal_id: FromPath[int],
) -> Response[str]:
    """The open round of the proposal page, as it is now: every open page fetches it when
    the space's stream announces a change of this proposal (static/live.js spreads and
    retries those fetches). It reads only the open round (one statement) and checks the
    access rule of every proposal page (`_visible`); its HTML is one shared fragment, from
    the cache (nothing of the viewer's in it), with a weak ETag (`_live_round`): a re-fetch
    whose If-None-Match still matches is answered 304, without rendering. The middleware
    adds `Cache-Control: private, no-cache` and `Vary` to the 200; the 304 carries the same
    (RFC 9110 15.4.5), so the browser revalidates its copy every time."""
    async with pool.acquire() as conn:
        found = await store.open_round(conn, here.space.id, proposal_id)
    # rules.may_view reads the stage and the proposer (a draft: theirs and the facilitators').
    if found is None or not rules.may_view(
        rules.Proposal(found.stage, found.proposer_id, found.version),
        actor_of(here, me),
        may_view_space=True,
    ):
        raise DomainError("proposal_not_found", store.NOT_FOUND, status=404)
    live = _live_round(here, proposal_id, found)
    etag = entity_tag(live)
    headers = {"etag": etag} if etag is not None else {}
    if etag is not None and etag_matches(request.headers.get("if-none-match"), etag):
        return Response("", status_code=304, headers={**headers, **NOT_MODIFIED_HEADERS})
    engine = request.app.template_engine
    assert isinstance(engine, JinjaTemplateEngine)
    return Response(render_fragment(engine.engine, live), media_type=MediaType.HTML,
                    headers=headers)  # fmt: skip


# What the middleware adds to an HTML page, said again on a 304, which has no content type
# for it to recognise.
NOT_MODIFIED_HEADERS = {"cache-control": PAGE_CACHE_CONTROL, "vary": PAGE_VARY}


def _live_round(here: SpaceView, proposal_id: int, found: store.OpenRound) -> Fragment:
    """The live round's response as a fragment of its own: `_round_live.html` around the
    page's round fragment (`_round_part`, the same key), with the notice that the proposal
    has changed; keyed on the round's key (the wrapper adds nothing else that varies)."""
    base = f"/s/{here.space.slug}/proposals/{proposal_id}"
    open_round = found.open_round
    hidden = here.space.hide_positions and open_round is not None and (
        open_round["kind"] == "object")  # as Detail.positions_hidden  # fmt: skip
    part = _round_part(proposal_id, found.revision, base, open_round, found.answered,
                       hidden=hidden, choice=found.choice, words=labels.words())  # fmt: skip
    return Fragment(
        "proposals/_round_live.html",
        None if part.key is None else ("live", part.key),
        {**part.context, "proposal": {"id": proposal_id}, "fragments": {"round": part},
         "live_update": True},
    )  # fmt: skip


@get("/s/{slug:str}/proposals/{proposal_id:int}/diff")
async def diff_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    proposal_id: FromPath[int],
    from_version: boundary.Int32Query = None,
    to_version: boundary.Int32Query = None,
) -> Template:
    """Word-level differences between any two versions (default: the last two), as the
    texts read: formatted, not raw Markdown."""
    async with pool.acquire() as conn:
        loaded = await _visible(conn, here, me, proposal_id)
        found = await store.detail(conn, here.space.id, proposal_id)
    last = len(found.versions)
    to_number = max(1, min(to_version or last, last))
    from_number = max(1, min(from_version or max(to_number - 1, 1), last))
    old, new = found.versions[from_number - 1], found.versions[to_number - 1]
    return _page(
        "proposals/diff.html", here, proposal=loaded.head, versions=found.versions,
        old=old, new=new,
        driver_diff=rendered_diff(old["driver"], new["driver"], top_heading=4),
        body_diff=rendered_diff(old["body"], new["body"], top_heading=4),
    )  # fmt: skip


# --- JSON API -----------------------------------------------------------------------------


RoleLine = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
RoleParagraph = Annotated[boundary.Text, msgspec.Meta(max_length=5000)]


class RoleIn(boundary.Input):
    """The text of a role, as a proposal of kind "role" carries it."""

    name: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=100)]
    purpose: RoleParagraph
    domain: RoleParagraph
    accountabilities: Annotated[list[RoleLine], boundary.Items]
    seats: Annotated[int, msgspec.Meta(ge=1, le=50)] = 1
    term_months: Annotated[int, msgspec.Meta(ge=1, le=120)] = 12
    consecutive_terms: Annotated[int, msgspec.Meta(ge=1, le=20)] | None = None
    eligibility: RoleParagraph = ""
    # A change of an existing role (`role_id`) may retire it: once adopted, the role is
    # retired that day and its mandates still running end on it.
    retire: bool = False


class ProposalIn(boundary.Input):
    title: Title
    driver: Driver
    body: Body
    # the decision numbers it replaces
    supersedes: Annotated[
        list[Annotated[boundary.OneLine, msgspec.Meta(max_length=40)]], boundary.Items
    ] = msgspec.field(default_factory=list)
    # A proposal to create a role (with `role`), or to change one (`role` and `role_id`):
    # its adoption writes the role's text, linked to the decision.
    role: RoleIn | None = None
    role_id: boundary.Id | None = None


class ProposalOut(msgspec.Struct):
    id: int
    title: str
    stage: str
    version: int
    proposer: str
    driver: str
    body: str
    revision: int
    decision: str | None
    round: dict[str, Any] | None
    questions: list[dict[str, Any]]
    objections: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    # What the token's owner can do now, and their steps that wait (the main one first).
    available: list[AvailableOut] = []


class AvailableOut(msgspec.Struct):
    """A step the token's owner can take now (`ready`), or one of theirs that waits: the rule
    it waits on (`blocked`), for whom (`waits_for`: user ids; or a facilitator). `main`: the
    step the process waits for from them."""

    verb: str
    ready: bool
    main: bool
    blocked: str | None = None
    waits_for: list[int] = []
    waits_for_facilitator: bool = False
    objection_id: int | None = None  # judge, confirm, withdraw-objection
    question_id: int | None = None  # answer


def _available_out(entry: rules.Available) -> AvailableOut:
    return AvailableOut(
        entry.verb, entry.ready, entry.main,
        entry.blocked.value if entry.blocked else None, sorted(entry.waits_for),
        entry.waits_for_facilitator, getattr(entry.action, "objection_id", None),
        getattr(entry.action, "question_id", None),
    )  # fmt: skip


class ProposalListOut(msgspec.Struct):
    proposals: list[dict[str, Any]]
    next: str | None


def _out(loaded: store.Loaded, found: store.Detail, hide: bool, viewer: Actor) -> ProposalOut:
    current = found.versions[-1]
    open_round = found.open_round
    hidden = found.positions_hidden(hide)
    if open_round is not None and hidden:
        open_round = {
            **open_round,
            "positions": [p for p in open_round["positions"] if p["user_id"] == viewer.user_id],
            "answered": sorted(loaded.state.round.answered) if loaded.state.round else [],
        }
    return ProposalOut(
        id=loaded.head.id, title=loaded.head.title, stage=loaded.head.stage.value,
        version=loaded.head.version, proposer=loaded.head.proposer_name,
        driver=current["driver"], body=current["body"], revision=loaded.head.revision,
        decision=found.decision, round=open_round, questions=found.questions,
        objections=found.visible_objections(hide, viewer),
        versions=[{k: v for k, v in ver.items() if k not in ("driver", "body")}
                  for ver in found.versions],
        available=[_available_out(entry)
                   for entry in rules.available(loaded.state, viewer, datetime.now(UTC))],
    )  # fmt: skip


@get("/api/v1/spaces/{slug:str}/proposals", tags=["proposals"], summary="A space's proposals")
async def api_proposals(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    group: FromQuery[store.ListGroup | None] = None,
    after: FromQuery[str | None] = None,
) -> ProposalListOut:
    """Last changed first, 50 at a time; follow `next` for more. `group` keeps one part of
    the process: `active` (clarify, react, object, integrate), `drafts`, `adopted`, `closed`
    (withdrawn or closed without consent). `awaits_me` marks the proposals whose open round
    waits for your answer."""
    async with pool.acquire() as conn:
        page, following = await store.listing(
            conn, here.space.id, me.id,
            may_see_drafts=allowed(here.standing, Action.FACILITATE), group=group, after=after,
        )  # fmt: skip
    link = None
    if following:
        link = f"/api/v1/spaces/{here.space.slug}/proposals?after={quote(following)}"
        if group:
            link += f"&group={group}"
    return ProposalListOut([msgspec.to_builtins(p) for p in page], link)


@post("/api/v1/spaces/{slug:str}/proposals", tags=["proposals"], summary="Write a draft")
async def api_create_proposal(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    data: JSONBody[ProposalIn],
) -> Response[Any]:
    """Accepts an `Idempotency-Key` header: the same key again returns the first answer."""
    require_participant(here, me)  # (before the key: a refusal is not kept)
    key = request.headers.get("idempotency-key")
    fingerprint = idempotency.fingerprint("POST", request.url.path, msgspec.json.encode(data))
    async with db.transaction(pool) as conn:
        if key:
            replay = await idempotency.claim(conn, me.id, key, fingerprint)
            if replay is not None:
                return replay.response()
        role = msgspec.convert(msgspec.to_builtins(data.role), RoleText) if data.role else None
        content = Content(title=data.title, driver=data.driver, body=data.body,
                          supersedes=tuple(data.supersedes), role=role)  # fmt: skip
        proposal_id = await store.create(
            conn, here.space, actor_of(here, me), content, role_id=data.role_id
        )
        body = msgspec.json.encode({"id": proposal_id, "stage": "draft", "version": 1})
        location = f"/api/v1/spaces/{here.space.slug}/proposals/{proposal_id}"
        if key:
            await idempotency.record(conn, me.id, key, status=201, body=body, location=location)
    return Response(body, status_code=201, media_type="application/json",
                    headers={"location": location})  # fmt: skip


@get("/api/v1/spaces/{slug:str}/proposals/{proposal_id:int}", tags=["proposals"],
     summary="A proposal: its stage, current text, open round, questions, objections")  # fmt: skip
async def api_proposal(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    proposal_id: FromPath[int],
) -> ProposalOut:
    async with pool.acquire() as conn:
        loaded = await _visible(conn, here, me, proposal_id)
        found = await store.detail(conn, here.space.id, proposal_id)
    return _out(loaded, found, here.space.hide_positions, actor_of(here, me))


# One documented operation per verb, each with its own body, all running `perform()`.

Revision = Annotated[boundary.Int32, msgspec.Meta(description=(
    "The proposal's `revision` as you read it. If it changed since, the step is refused "
    "(409, code `stale_state`): read the proposal again, then decide."))]  # fmt: skip
Said = Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=5000)]


class SubmitIn(boundary.Input, kw_only=True):
    """No field: the proposer submits the draft to the group."""


class AskIn(boundary.Input, kw_only=True):
    text: Said  # the clarifying question
    scenario: boundary.Id | None = None  # a scenario choice: the scenario it is about


class AnswerIn(boundary.Input, kw_only=True):
    question_id: boundary.Id
    text: Said


class ReactIn(boundary.Input, kw_only=True):
    text: Text = ""  # the reaction (required unless `passed`)
    passed: bool = False


class PublishIn(boundary.Input, kw_only=True):
    driver: Driver
    body: Body
    revision: Revision
    # the new version's title; left out or empty: the current version's title
    title: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    note: Note = ""  # what changed
    # in the integrate stage: the ids of the valid objections this version answers
    answers: Annotated[list[boundary.Id], boundary.Items] = msgspec.field(default_factory=list)


class PositionIn(boundary.Input, kw_only=True):
    stance: Literal["consent", "concern", "objection"]
    version: boundary.Int32  # the version the position is about (the current one)
    reason: Text = ""  # required for an objection
    person: boundary.Id | None = None  # a facilitator recording someone present in a meeting


class JudgeIn(boundary.Input, kw_only=True):
    objection_id: boundary.Id
    verdict: Literal["valid", "not_valid"]
    revision: Revision
    reason: Text = ""


class ObjectionIn(boundary.Input, kw_only=True):
    objection_id: boundary.Id


class RevisionIn(boundary.Input, kw_only=True):
    revision: Revision


class DeadlineIn(boundary.Input, kw_only=True):
    deadline: datetime | None = None  # null: no deadline; within years 2000 to 2100


class CloseIn(boundary.Input, kw_only=True):
    revision: Revision
    reason: Text = ""


class NominateIn(boundary.Input, kw_only=True):
    """An election: name a person (`nominee`), or pass (`passed`), with a reason. A scenario
    choice: the scenario preferred (`nominee`, a scenario id), or none (`passed`)."""

    reason: Said
    nominee: boundary.Id | None = None
    passed: bool = False


class ProposeHolderIn(boundary.Input, kw_only=True):
    """An election: the person proposed, the reasons, and optionally the term adjusted
    (`first` and `last` days, both or neither). A scenario choice: the scenario proposed
    (`nominee`, a scenario id: its current version), the reasons."""

    nominee: boundary.Id
    reason: Said
    revision: Revision
    first: date | None = None
    last: date | None = None


STEPS_API: dict[str, tuple[type[boundary.Input], str]] = {
    "submit": (SubmitIn, "Submit a draft to the group (its proposer)"),
    "ask": (AskIn, "Ask a clarifying question"),
    "answer": (AnswerIn, "Answer a clarifying question (the proposer)"),
    "advance": (RevisionIn, "Move on to the next stage (a facilitator)"),
    "react": (ReactIn, "React, or pass, in the reaction round"),
    "publish": (PublishIn, "Publish a new version (the proposer)"),
    "position": (PositionIn, "Give a position in the objection round"),
    "judge": (JudgeIn, "Judge whether an objection is valid (a facilitator)"),
    "withdraw-objection": (ObjectionIn, "Withdraw one's own objection"),
    "confirm": (ObjectionIn, "Confirm a new version answers one's objection (the objector)"),
    "open-object-round": (RevisionIn, "Open an objection round on the current version"),
    "close-round": (RevisionIn, "Close the open round (a facilitator)"),
    "deadline": (DeadlineIn, "Set or remove the open round's deadline (a facilitator)"),
    "withdraw": (RevisionIn, "Withdraw the proposal (its proposer)"),
    "close": (CloseIn, "Close without consent (a facilitator)"),
    "nominate": (
        NominateIn,
        "An election: nominate someone, or pass; a scenario choice: prefer a scenario, or"
        " none (sealed until revealed)",
    ),
    "reveal": (RevisionIn, "An election or a choice: reveal the nominations or preferences"),
    "open-change-round": (RevisionIn, "An election or a choice: open the change round"),
    "propose-holder": (
        ProposeHolderIn,
        "An election: propose a holder; a scenario choice: propose a scenario (a facilitator)",
    ),
}


def _api_step_route(verb: str, body: type[boundary.Input], summary: str) -> HTTPRouteHandler:
    async def step(
        request: Request[Any, Any, Any],
        here: NamedDependency[SpaceView],
        me: NamedDependency[User],
        pool: NamedDependency[asyncpg.Pool],
        proposal_id: FromPath[int],
        data: Any = None,
    ) -> Response[ProposalOut]:
        # No body at all reads as `{}` (a step without fields, e.g. submit); a step that
        # needs one says which field is missing.
        form = ActionIn() if data is None else ActionIn(**msgspec.structs.asdict(data))
        done = await perform(
            pool, here, me, proposal_id, verb, form, key=request.headers.get("idempotency-key")
        )
        async with pool.acquire() as conn:
            loaded = await store.load(conn, here.space.id, proposal_id)
            found = await store.detail(conn, here.space.id, proposal_id)
        out = _out(loaded, found, here.space.hide_positions, actor_of(here, me))
        headers = {"idempotent-replayed": "true"} if done.replayed else {}
        return Response(out, status_code=200, headers=headers)

    # The body's type is this verb's Struct: Litestar reads it from the annotation.
    step.__annotations__ = {**step.__annotations__, "data": JSONBody[body | None]}  # type: ignore[misc,valid-type]
    step.__name__ = step.__qualname__ = f"api_step_{verb.replace('-', '_')}"
    step.__doc__ = (
        "Answers the proposal as it is after the step. A refused step answers problem+json "
        "whose `code` names the rule (e.g. 403 `facilitator_only`, 409 `stale_state`). "
        "Accepts an `Idempotency-Key` header: the same key again changes nothing."
    )
    return post(
        f"/api/v1/spaces/{{slug:str}}/proposals/{{proposal_id:int}}/steps/{verb}",
        tags=["proposals"], summary=summary, status_code=200, name=step.__name__,
    )(step)  # fmt: skip


api_steps = [_api_step_route(verb, *STEPS_API[verb]) for verb in VERBS]
# The steps that move the process: their API body requires `revision`.
MOVING_VERBS = frozenset(
    verb for verb, (body, _) in STEPS_API.items() if "revision" in body.__struct_fields__
)


html_routes = [
    proposals_page, new_proposal, create_proposal, edit_proposal, save_draft, preview,
    proposal_page, take_step, step_address, diff_page, round_fragment,
]  # fmt: skip
api_routes = [api_proposals, api_create_proposal, api_proposal, *api_steps]
routes = [*html_routes, *api_routes]
