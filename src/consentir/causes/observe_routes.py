"""A cause's field observation (issue 12 §2): the observations page (facts, testimonies,
figures, documents, the latest observed first, then the actors), and each actor's page (its
assessments over time, its links).

Who sees what: the observations, whoever may view the space; the actors (the map, its table,
the actors' pages), the space's members only: for anyone else the section is absent and an
actor's page is 404, as for an actor that does not exist. Who writes: a member who may take
part (403 for the other members, 404 for the actors' forms to those who are not members),
once the cause is taken on (refused otherwise, naming the rule, in words above the form).
Mistakes come back next to their fields (422). Each page reads what it shows in a fixed
number of statements.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template
from markupsafe import Markup

from consentir import db
from consentir.accounts.store import User
from consentir.causes import actor_map, observing, rules, store
from consentir.causes.observing import Actor, ActorText, AssessmentText, LinkText, ObservationText
from consentir.causes.pages import cause_page, is_member
from consentir.causes.rules import Step
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.markdown import render as render_markdown
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FieldErrors, FormInvalid, parse_form
from consentir.web.i18n import domain_message, gettext

FormData = URLEncodedBody[dict[str, Any]]

OBSERVATION_KINDS = {
    "fact": N_("Fact"),
    "testimony": N_("Testimony"),
    "figure": N_("Figure"),
    "document": N_("Document"),
}
ACTOR_KINDS = {
    "person": N_("Person with a public role"),
    "organisation": N_("Organisation"),
    "institution": N_("Institution"),
    "collective": N_("Collective"),
    "private": N_("Private individual"),
}
ACTOR_ROLES = {
    "ally": N_("ally"),
    "opponent": N_("opponent"),
    "target": N_("target"),
    "partner": N_("partner"),
    "public": N_("public concerned"),
}
STANCES = {
    -2: N_("strongly against"),
    -1: N_("rather against"),
    0: N_("neutral"),
    1: N_("rather for"),
    2: N_("strongly for"),
}
INFLUENCES = {
    0: N_("no influence"),
    1: N_("little influence"),
    2: N_("strong influence"),
    3: N_("decisive influence"),
}

_MAP_KINDS = {
    "person": actor_map.Kind.PUBLIC_PERSON,
    "organisation": actor_map.Kind.ORGANISATION,
    "institution": actor_map.Kind.INSTITUTION,
    "collective": actor_map.Kind.COLLECTIVE,
    "private": actor_map.Kind.PRIVATE,
}
_MAP_ROLES = {
    "ally": actor_map.Role.ALLY,
    "opponent": actor_map.Role.OPPONENT,
    "target": actor_map.Role.TARGET,
    "partner": actor_map.Role.PARTNER,
    "public": actor_map.Role.CONCERNED,
}


def signed(n: int) -> str:
    """A stance as it reads: −2, −1, 0, +1, +2 (a true minus sign)."""
    return "0" if n == 0 else (f"+{n}" if n > 0 else f"−{-n}")


def shown_names(actors: list[Actor]) -> dict[int, str]:
    """What pages call each actor: its name, or for a private individual its group label,
    numbered when the group has several ("Riverains de la rue (nᵒ 2)"), never a name."""
    groups: dict[str, list[int]] = {}
    for a in actors:
        if a.private:
            groups.setdefault(a.group_label, []).append(a.id)
    names = {}
    for a in actors:
        if not a.private:
            names[a.id] = a.name
        elif len(groups[a.group_label]) > 1:
            number = groups[a.group_label].index(a.id) + 1
            names[a.id] = gettext("%(group)s (no. %(number)s)") % {
                "group": a.group_label,
                "number": number,
            }
        else:
            names[a.id] = a.group_label
    return names


def map_svg(actors: list[Actor]) -> Markup:
    """The stance × influence map of the actors (actor_map.py), its words translated."""
    drawn = [
        actor_map.Actor(
            id=a.id,
            name="" if a.private else a.name,  # never a private individual's
            kind=_MAP_KINDS[a.kind],
            role=_MAP_ROLES[a.current.role],
            assessments=tuple(
                actor_map.Assessment(s.day, s.stance, s.influence) for s in a.assessments
            ),
            group=a.group_label if a.private else "",
        )
        for a in actors
        if a.current is not None
    ]
    labels = actor_map.MapLabels(
        title=gettext("Map of the actors"),
        desc=gettext(
            "Each actor placed by its stance towards the cause (from strongly against, left, to"
            " strongly for, right) and its influence (from none, bottom, to decisive, top);"
            " an arrow from where it stood at its previous assessment. The actors' table gives"
            " the same data."
        ),
        title_id="actor-map-title",
        desc_id="actor-map-desc",
        stance=gettext("Stance towards the cause"),
        influence=gettext("Influence"),
        private_group=gettext("Private individuals"),
        against=gettext("against the cause"),
        for_=gettext("for the cause"),
    )
    return actor_map.svg(drawn, labels=labels)


def _options(table: dict[Any, str]) -> list[tuple[str, str]]:
    return [(str(key), gettext(text)) for key, text in table.items()]


def _stance_options() -> list[tuple[str, str]]:
    return [(str(k), f"{signed(k)} — {gettext(v)}") for k, v in STANCES.items()]


def _influence_options() -> list[tuple[str, str]]:
    return [(str(k), f"{k} — {gettext(v)}") for k, v in INFLUENCES.items()]


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ("_csrf_token", "idempotency_key")}


def _base(here: SpaceView, cause_id: int) -> str:
    return f"/s/{here.space.slug}/causes/{cause_id}"


def _blocked(cause: store.Cause) -> tuple[str, str] | None:
    """Why nothing may be added yet: the rule's code and its message (untranslated)."""
    rule = rules.blocked(cause.facts, Step.OBSERVE)
    return (rule.value, rules.MESSAGES[rule]) if rule else None


S = TypeVar("S", bound=msgspec.Struct)


def _read(
    struct: type[S], values: dict[str, Any], problems: Callable[[dict[str, Any]], FieldErrors]
) -> S:
    """The form as `struct`; or every mistake at once, next to its field: what the Struct
    refuses, and what the store would refuse (`problems`, read from the values as sent)."""
    more = problems(values)
    try:
        form = parse_form(struct, values)
    except FormInvalid as invalid:
        raise FormInvalid({**more, **invalid.errors}, values) from None
    if more:
        raise FormInvalid(more, values)
    return form


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name, "")
    return value if isinstance(value, str) else ""


def _observation_problems(values: dict[str, Any]) -> FieldErrors:
    try:
        observed_on: date | None = date.fromisoformat(_text(values, "observed_on").strip())
    except ValueError:
        observed_on = None
    found = observing.observation_problems(observed_on, _text(values, "url"), observing.today())
    return {p.field or "__all__": domain_message(p) for p in found}


def _actor_problems(values: dict[str, Any]) -> FieldErrors:
    found = observing.actor_problems(*(_text(values, name) for name in (
        "actor_kind", "name", "public_role", "group_label")))  # fmt: skip
    return {p.field or "__all__": domain_message(p) for p in found}


_NEW_OBSERVATION = {"kind": "fact"}
_NEW_ACTOR = {"actor_kind": "organisation", "stance": "0", "influence": "1", "role": "public"}


async def _observation_page(
    conn: Connection,
    here: SpaceView,
    me: User,
    cause_id: int,
    *,
    after: str = "",
    status: int = 200,
    observation_form: FormInvalid | None = None,
    actor_form: FormInvalid | None = None,
    refused: tuple[str, str] | None = None,
) -> Template:
    """The observations (a page of them), the form to add one; for members, the actors: the
    map, its table, their links, the form to add one."""
    cause = await store.cause(conn, here.space.id, cause_id, me.id)
    found, next_cursor = await observing.observations(conn, cause.id, after or None)
    member = is_member(here)
    actors = await observing.actors(conn, cause.id) if member else []
    links = await observing.links(conn, cause.id) if member else []
    base = _base(here, cause.id)
    return cause_page(
        "causes/observation.html", here, cause, status,
        observations=found, after=after,
        next_url=f"{base}/observation?after={quote(next_cursor)}#observations"
        if next_cursor else None,
        first_url=f"{base}/observation#observations",
        member=member, actors=actors, names=shown_names(actors), links=links,
        actor_map=map_svg(actors) if any(a.current for a in actors) else None,
        observation_form=observation_form,
        observation_values=observation_form.values if observation_form else {
            **_NEW_OBSERVATION, "observed_on": observing.today().isoformat()},
        actor_form=actor_form,
        actor_values=actor_form.values if actor_form else _NEW_ACTOR,
        refused=refused, blocked=_blocked(cause), today=observing.today(),
        **_labels(),
    )  # fmt: skip


def _labels() -> dict[str, Any]:
    return {
        "observation_kinds": OBSERVATION_KINDS,
        "actor_kinds": ACTOR_KINDS,
        "actor_roles": ACTOR_ROLES,
        "role_classes": {key: role.css_class for key, role in _MAP_ROLES.items()},
        "stances": STANCES,
        "influences": INFLUENCES,
        "signed": signed,
        "markdown": render_markdown,
        "new_key": idempotency.new_key,
        "observation_kind_options": _options(OBSERVATION_KINDS),
        "actor_kind_options": _options(ACTOR_KINDS),
        "role_options": _options(ACTOR_ROLES),
        "stance_options": _stance_options(),
        "influence_options": _influence_options(),
    }


@get("/s/{slug:str}/causes/{cause_id:int}/observation", name="cause_observation")
async def observation(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    after: FromQuery[str] = "",
) -> Template:
    """The field observation: the observations, the latest observed first (50 a page), and
    for members the actors' map."""
    async with pool.acquire() as conn:
        return await _observation_page(conn, here, me, cause_id, after=after)


def _refusal(refused: DomainError) -> tuple[str, str]:
    return (refused.code, domain_message(refused))


async def _again(
    pool: asyncpg.Pool,
    here: SpaceView,
    me: User,
    cause_id: int,
    which: str,
    values: dict[str, Any],
    problem: Exception,
) -> Template:
    """The observation page again, with what was wrong in the form that was sent."""
    if isinstance(problem, DomainError):
        if problem.status in (403, 404) or (problem.field is None and problem.status < 409):
            raise problem
        if problem.field is None:  # a rule of the journey, or a limit: above the forms
            async with pool.acquire() as conn:
                return await _observation_page(
                    conn, here, me, cause_id, status=problem.status, refused=_refusal(problem)
                )
        problem = FormInvalid({problem.field: domain_message(problem)}, values)
    assert isinstance(problem, FormInvalid)
    async with pool.acquire() as conn:
        return await _observation_page(
            conn, here, me, cause_id, status=422,
            observation_form=problem if which == "observation" else None,
            actor_form=problem if which == "actor" else None,
        )  # fmt: skip


@post("/s/{slug:str}/causes/{cause_id:int}/observations")
async def add_observation(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """A new observation, shown in the list; mistakes next to their fields (422); before
    the cause is taken on, refused naming the rule (409)."""
    require(here.standing, Action.PARTICIPATE)
    values = _values(data)
    base = _base(here, cause_id)
    try:
        form = _read(ObservationText, values, _observation_problems)

        async def write(conn: db.Connection) -> str:
            made = await observing.add_observation(conn, here.space.id, cause_id, me.id, form)
            return f"{base}/observation#observation-{made}"

        return await idempotency.form_posted(
            pool,
            me.id,
            data,
            f"{base}/observations",
            form,
            write,
            replayed_to=f"{base}/observation",
        )
    except (FormInvalid, DomainError) as problem:
        return await _again(pool, here, me, cause_id, "observation", values, problem)


class _ActorForm(msgspec.Struct, frozen=True, kw_only=True):
    """The form adding an actor: who it is (`actor_kind`, not to be confused with an
    observation's kind on the same page) and its first assessment."""

    actor_kind: observing.ActorKind
    stance: Annotated[int, msgspec.Meta(ge=-2, le=2)]
    influence: Annotated[int, msgspec.Meta(ge=0, le=3)]
    role: observing.ActorRole
    interest: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""
    name: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    public_role: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    group_label: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""


def _members_only(here: SpaceView) -> None:
    """The actors are the members' business: for anyone else they do not exist."""
    if not is_member(here):
        raise NotFoundException()


@post("/s/{slug:str}/causes/{cause_id:int}/actors")
async def add_actor(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """A new actor with its first assessment, on the map."""
    _members_only(here)
    require(here.standing, Action.PARTICIPATE)
    values = _values(data)
    base = _base(here, cause_id)
    try:
        form = _read(_ActorForm, values, _actor_problems)
        who = ActorText(kind=form.actor_kind, name=form.name, public_role=form.public_role,
                        group_label=form.group_label)  # fmt: skip
        first = AssessmentText(stance=form.stance, influence=form.influence, role=form.role,
                               interest=form.interest)  # fmt: skip

        async def write(conn: db.Connection) -> str:
            made = await observing.add_actor(conn, here.space.id, cause_id, me.id, who, first)
            return f"{base}/observation#actor-{made}"

        return await idempotency.form_posted(
            pool,
            me.id,
            data,
            f"{base}/actors",
            form,
            write,
            replayed_to=f"{base}/observation#actors",
        )
    except (FormInvalid, DomainError) as problem:
        return await _again(pool, here, me, cause_id, "actor", values, problem)


# --- an actor's page -------------------------------------------------------------------------


async def _actor_page(
    conn: Connection,
    here: SpaceView,
    me: User,
    cause_id: int,
    actor_id: int,
    *,
    status: int = 200,
    assessment_form: FormInvalid | None = None,
    link_form: FormInvalid | None = None,
    refused: tuple[str, str] | None = None,
) -> Template:
    cause = await store.cause(conn, here.space.id, cause_id, me.id)
    shown = await observing.actor(conn, cause.id, actor_id)
    everyone = await observing.actors(conn, cause.id)
    links = await observing.links(conn, cause.id, actor_id)
    names = shown_names(everyone)
    current = shown.current
    return cause_page(
        "causes/actor.html", here, cause, status,
        actor=shown, names=names, links=links,
        others=[(str(a.id), names[a.id]) for a in everyone if a.id != actor_id],
        assessment_form=assessment_form,
        assessment_values=assessment_form.values if assessment_form else ({
            "stance": str(current.stance), "influence": str(current.influence),
            "role": current.role, "interest": current.interest} if current else _NEW_ACTOR),
        link_form=link_form, link_values=link_form.values if link_form else {},
        refused=refused, blocked=_blocked(cause), **_labels(),
    )  # fmt: skip


@get("/s/{slug:str}/causes/{cause_id:int}/actors/{actor_id:int}", name="cause_actor")
async def actor_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    actor_id: FromPath[int],
) -> Template:
    """One actor: who it is, its assessments over time, its links; the forms to assess it
    again and to link it to another actor."""
    _members_only(here)
    async with pool.acquire() as conn:
        return await _actor_page(conn, here, me, cause_id, actor_id)


async def _actor_again(
    pool: asyncpg.Pool,
    here: SpaceView,
    me: User,
    cause_id: int,
    actor_id: int,
    which: str,
    values: dict[str, Any],
    problem: Exception,
) -> Template:
    if isinstance(problem, DomainError):
        if problem.status in (403, 404) or (problem.field is None and problem.status < 409):
            raise problem
        if problem.field is None:
            async with pool.acquire() as conn:
                return await _actor_page(
                    conn, here, me, cause_id, actor_id, status=problem.status,
                    refused=_refusal(problem),
                )  # fmt: skip
        problem = FormInvalid({problem.field: domain_message(problem)}, values)
    assert isinstance(problem, FormInvalid)
    async with pool.acquire() as conn:
        return await _actor_page(
            conn, here, me, cause_id, actor_id, status=422,
            assessment_form=problem if which == "assessment" else None,
            link_form=problem if which == "link" else None,
        )  # fmt: skip


@post("/s/{slug:str}/causes/{cause_id:int}/actors/{actor_id:int}/assessments")
async def assess_actor(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    actor_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """A new assessment of the actor (the earlier ones are kept: the map shows the move)."""
    _members_only(here)
    require(here.standing, Action.PARTICIPATE)
    values = _values(data)
    page = f"{_base(here, cause_id)}/actors/{actor_id}"
    try:
        form = parse_form(AssessmentText, values)

        async def write(conn: db.Connection) -> str:
            await observing.assess(conn, here.space.id, cause_id, actor_id, me.id, form)
            return f"{page}#history"

        return await idempotency.form_posted(
            pool, me.id, data, f"{page}/assessments", form, write, replayed_to=page
        )
    except (FormInvalid, DomainError) as problem:
        return await _actor_again(pool, here, me, cause_id, actor_id, "assessment", values, problem)


@post("/s/{slug:str}/causes/{cause_id:int}/actors/{actor_id:int}/links")
async def link_actor(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    cause_id: FromPath[int],
    actor_id: FromPath[int],
    data: FormData,
) -> Response[Any]:
    """A link from the actor to another of the cause, with its label."""
    _members_only(here)
    require(here.standing, Action.PARTICIPATE)
    values = _values(data)
    page = f"{_base(here, cause_id)}/actors/{actor_id}"
    try:
        form = parse_form(LinkText, values)

        async def write(conn: db.Connection) -> str:
            await observing.link(conn, here.space.id, cause_id, actor_id, me.id, form)
            return f"{page}#links"

        return await idempotency.form_posted(
            pool, me.id, data, f"{page}/links", form, write, replayed_to=page
        )
    except (FormInvalid, DomainError) as problem:
        return await _actor_again(pool, here, me, cause_id, actor_id, "link", values, problem)


routes = [observation, add_observation, add_actor, actor_page, assess_actor, link_actor]
