"""A cause's field observation in PostgreSQL (sql/migrations/0018_causes.sql): what members
observe (facts, testimonies, figures, documents, each with its source and day), and the
actors around the cause, each assessed over time, with the links between them (issue 12 §2).

Observations are read by whoever may view the space; the actors only by its members (the
routes decide: observe_routes.py). Every write runs in the caller's transaction: the cause is
locked and must be taken on (`store.require(…, Step.OBSERVE)`, refused naming the rule), the
row is written, then the journal's event (store.event). Assessments are appended, never
changed: a new assessment is a new row, so the map shows who moved.

A private individual is never named with a stance: only their group label ("Riverains de la
rue") is kept, as their name too, so no page, map, table or journal event can show a name
(the name typed in the form, if any, is not kept).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

import msgspec

from consentir import keyset
from consentir.causes import rules, store
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.web import boundary
from consentir.web.i18n import display_zone

ObservationKind = Literal["fact", "testimony", "figure", "document"]
ActorKind = Literal["person", "organisation", "institution", "collective", "private"]
ActorRole = Literal["ally", "opponent", "target", "partner", "public"]

OBSERVATION_KINDS: tuple[ObservationKind, ...] = ("fact", "testimony", "figure", "document")
ACTOR_KINDS: tuple[ActorKind, ...] = (
    "person", "organisation", "institution", "collective", "private",
)  # fmt: skip
ACTOR_ROLES: tuple[ActorRole, ...] = ("ally", "opponent", "target", "partner", "public")

PAGE_SIZE = 50  # observations a page lists (keyset pagination beyond)
MAX_ACTORS = 200  # actors a cause may have: the map stays readable, the page bounded
MAX_LINKS = 1000  # links between them
HISTORY = 200  # assessments an actor's page lists, newest first

URL_PATTERN = r"^https?://[^\s\x00-\x1f\x7f]+(?![\s\S])"

NOT_YET = N_("An observation is of a day that has come: today at the latest.")
NOT_WEB = N_("Enter a web address starting with http:// or https://.")
NO_GROUP = N_(
    "A private individual is never named: give the group they belong to (for example"
    " “Residents of the street”)."
)
NO_PUBLIC_ROLE = N_(
    "A person is on the map for a public role: say which (or choose “private individual”)."
)
TOO_MANY_ACTORS = N_("This cause has %(count)s actors already, the most a map can show.")
TOO_MANY_LINKS = N_("This cause has %(count)s links already, the most it can keep.")
ACTOR_NOT_FOUND = N_("This actor does not exist, or you cannot see it.")
OTHER_NOT_FOUND = N_("Choose another actor of this cause.")
REQUIRED = N_("This field is required.")
SELF_LINK = N_("Choose another actor than this one.")
ALREADY_LINKED = N_("This link already exists: %(label)s.")


# --- what members write ----------------------------------------------------------------------


class ObservationText(msgspec.Struct, frozen=True, kw_only=True):
    """An observation: its kind, title, source and the day it was observed; a text (Markdown)
    and a web address, if any."""

    kind: ObservationKind
    title: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
    source: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=500)]
    observed_on: date
    body: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""
    url: Annotated[boundary.OneLine, msgspec.Meta(max_length=2000)] = ""


class AssessmentText(msgspec.Struct, frozen=True, kw_only=True):
    """Where an actor stands towards the cause: stance −2 (strongly against) … +2 (strongly
    for), influence 0 (none) … 3 (decisive), its interest, its role for the cause."""

    stance: Annotated[int, msgspec.Meta(ge=-2, le=2)]
    influence: Annotated[int, msgspec.Meta(ge=0, le=3)]
    role: ActorRole
    interest: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""


class ActorText(msgspec.Struct, frozen=True, kw_only=True):
    """Who the actor is: a person with a public role (`public_role` required), an
    organisation, an institution, a collective, or a private individual (`group_label`
    required; never named)."""

    kind: ActorKind
    name: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    public_role: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    group_label: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""


class LinkText(msgspec.Struct, frozen=True, kw_only=True):
    """A link from an actor to another (`other`), with its label ("finance", "élu de")."""

    other: boundary.Id
    label: Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]


# --- what pages read -------------------------------------------------------------------------


class Observation(msgspec.Struct, frozen=True):
    id: int
    kind: ObservationKind
    title: str
    body: str
    source: str
    observed_on: date
    url: str | None
    author_name: str
    created_at: datetime


class Assessment(msgspec.Struct, frozen=True):
    id: int
    stance: int
    influence: int
    interest: str
    role: ActorRole
    assessed_at: datetime
    assessor: str  # who assessed it (a member's name)

    @property
    def day(self) -> date:
        return self.assessed_at.astimezone(display_zone).date()


class Actor(msgspec.Struct, frozen=True):
    """An actor, with its assessments oldest first (on the map, the latest two; on its own
    page, its history) and how many it has in all."""

    id: int
    kind: ActorKind
    name: str  # a private individual's is their group label (their name is not kept)
    public_role: str
    group_label: str
    created_at: datetime
    assessments: list[Assessment]
    assessed: int  # how many assessments it has

    @property
    def private(self) -> bool:
        return self.kind == "private"

    @property
    def current(self) -> Assessment | None:
        return self.assessments[-1] if self.assessments else None

    @property
    def previous(self) -> Assessment | None:
        return self.assessments[-2] if len(self.assessments) > 1 else None


class Link(msgspec.Struct, frozen=True):
    from_actor: int
    to_actor: int
    label: str
    created_at: datetime


# --- observations ----------------------------------------------------------------------------


def observation_problems(observed_on: date | None, url: str, today: date) -> list[DomainError]:
    """What is wrong with an observation's day and address, each naming its field."""
    problems = []
    if observed_on is not None and observed_on > today:
        problems.append(DomainError("observed_later", NOT_YET, field="observed_on"))
    if url.strip() and not _is_web(url.strip()):
        problems.append(DomainError("not_a_web_address", NOT_WEB, field="url"))
    return problems


def _is_web(url: str) -> bool:
    return re.match(URL_PATTERN, url, flags=re.IGNORECASE) is not None


def today() -> date:
    return datetime.now(display_zone).date()


async def add_observation(
    conn: Connection, space_id: int, cause_id: int, author_id: int, text: ObservationText
) -> int:
    """A new observation of the cause (taken on: refused otherwise, naming the rule)."""
    await store.require(conn, space_id, cause_id, rules.Step.OBSERVE)
    for problem in observation_problems(text.observed_on, text.url, today()):
        raise problem
    observation_id = await conn.fetchval(
        """INSERT INTO observations (cause_id, kind, title, body, source, observed_on, url,
                                     author_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
        cause_id, text.kind, text.title.strip(), text.body, text.source.strip(),
        text.observed_on, text.url.strip() or None, author_id,
    )  # fmt: skip
    await store.event(
        conn, space_id, cause_id, author_id, "cause.observation_added",
        {"observation": observation_id, "kind": text.kind, "title": text.title.strip()},
    )  # fmt: skip
    return int(observation_id)


_OBSERVATIONS = """
SELECT o.id, o.kind, o.title, o.body, o.source, o.observed_on, o.url, u.name AS author_name,
       o.created_at
FROM observations o JOIN users u ON u.id = o.author_id
WHERE o.cause_id = $1 AND ($2::date IS NULL OR (o.observed_on, o.id) < ($2::date, $3::bigint))
ORDER BY o.observed_on DESC, o.id DESC
LIMIT $4
"""


def cursor(observation: Observation) -> str:
    """Where the next page starts: after this observation."""
    return keyset.encode(datetime.combine(observation.observed_on, time(), UTC), observation.id)


async def observations(
    conn: Connection, cause_id: int, after: str | None = None, limit: int = PAGE_SIZE
) -> tuple[list[Observation], str | None]:
    """The cause's observations, the latest observed first, a page at a time: the page, and
    the cursor of the next one (None: the last page). A garbled cursor is a 400."""
    when, ident = keyset.decode(after)
    rows = await conn.fetch(
        _OBSERVATIONS, cause_id, when.date() if when else None, ident, limit + 1
    )
    page = [Observation(**dict(r)) for r in rows[:limit]]
    return page, (cursor(page[-1]) if len(rows) > limit else None)


# --- actors ----------------------------------------------------------------------------------


def actor_problems(kind: str, name: str, public_role: str, group_label: str) -> list[DomainError]:
    """What an actor lacks for its kind, each naming its field: a private individual their
    group, a person their public role, anyone else a name."""
    problems = []
    if kind == "private" and not group_label.strip():
        problems.append(DomainError("private_without_group", NO_GROUP, field="group_label"))
    if kind == "person" and not public_role.strip():
        problems.append(DomainError("person_without_role", NO_PUBLIC_ROLE, field="public_role"))
    if kind != "private" and not name.strip():
        problems.append(DomainError("actor_without_name", REQUIRED, field="name"))
    return problems


async def add_actor(
    conn: Connection,
    space_id: int,
    cause_id: int,
    user_id: int,
    text: ActorText,
    first: AssessmentText,
) -> int:
    """A new actor of the cause with its first assessment. A private individual is kept by
    their group label only (their name, if given, is not kept)."""
    await store.require(conn, space_id, cause_id, rules.Step.OBSERVE)
    for problem in actor_problems(text.kind, text.name, text.public_role, text.group_label):
        raise problem
    count = await conn.fetchval("SELECT count(*) FROM actors WHERE cause_id = $1", cause_id)
    if count >= MAX_ACTORS:
        raise DomainError(
            "too_many_actors", TOO_MANY_ACTORS, status=409, params={"count": MAX_ACTORS}
        )
    private = text.kind == "private"
    group = text.group_label.strip() if private else ""
    name = group if private else text.name.strip()
    public_role = text.public_role.strip() if text.kind == "person" else ""
    actor_id = await conn.fetchval(
        """INSERT INTO actors (cause_id, kind, name, public_role, group_label, created_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        cause_id,
        text.kind,
        name,
        public_role,
        group,
        user_id,
    )
    actor_id = int(actor_id)
    await _insert_assessment(conn, actor_id, user_id, first)
    who = {"group": group} if private else {"name": name}
    await store.event(
        conn, space_id, cause_id, user_id, "cause.actor_added",
        {"actor": actor_id, "kind": text.kind, **who, **_assessment_data(first)},
    )  # fmt: skip
    return actor_id


def _assessment_data(text: AssessmentText) -> dict[str, int | str]:
    return {"stance": text.stance, "influence": text.influence, "role": text.role}


async def _insert_assessment(
    conn: Connection, actor_id: int, user_id: int, text: AssessmentText
) -> int:
    assessment_id = await conn.fetchval(
        """INSERT INTO actor_assessments (actor_id, stance, influence, interest, role,
                                          assessed_by)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        actor_id,
        text.stance,
        text.influence,
        text.interest.strip(),
        text.role,
        user_id,
    )
    return int(assessment_id)


async def _actor_of(conn: Connection, cause_id: int, actor_id: int) -> None:
    found = await conn.fetchval(
        "SELECT 1 FROM actors WHERE id = $1 AND cause_id = $2", actor_id, cause_id
    )
    if found is None:
        raise DomainError("actor_not_found", ACTOR_NOT_FOUND, status=404)


async def assess(
    conn: Connection,
    space_id: int,
    cause_id: int,
    actor_id: int,
    user_id: int,
    text: AssessmentText,
) -> int:
    """A new assessment of the actor (its earlier ones are kept: the map shows the move)."""
    await store.require(conn, space_id, cause_id, rules.Step.OBSERVE)
    await _actor_of(conn, cause_id, actor_id)
    assessment_id = await _insert_assessment(conn, actor_id, user_id, text)
    await store.event(
        conn, space_id, cause_id, user_id, "cause.actor_assessed",
        {"actor": actor_id, "assessment": assessment_id, **_assessment_data(text)},
    )  # fmt: skip
    return assessment_id


async def link(
    conn: Connection, space_id: int, cause_id: int, actor_id: int, user_id: int, text: LinkText
) -> None:
    """A link from the actor to another of the same cause, with its label; one per pair
    and direction."""
    await store.require(conn, space_id, cause_id, rules.Step.OBSERVE)
    await _actor_of(conn, cause_id, actor_id)
    if text.other == actor_id:
        raise DomainError("self_link", SELF_LINK, field="other", status=422)
    other = await conn.fetchval(
        "SELECT 1 FROM actors WHERE id = $1 AND cause_id = $2", text.other, cause_id
    )
    if other is None:
        raise DomainError("other_actor_not_found", OTHER_NOT_FOUND, field="other", status=422)
    existing = await conn.fetchrow(
        """SELECT label, (SELECT count(*) FROM actor_links WHERE cause_id = $1) AS links
           FROM (SELECT NULL) one
           LEFT JOIN actor_links l ON l.cause_id = $1 AND l.from_actor = $2 AND l.to_actor = $3""",
        cause_id, actor_id, text.other,
    )  # fmt: skip
    assert existing is not None  # (one row, always)
    if existing["label"] is not None:
        raise DomainError(
            "already_linked", ALREADY_LINKED, field="other", status=422,
            params={"label": existing["label"]},
        )  # fmt: skip
    if existing["links"] >= MAX_LINKS:
        raise DomainError("too_many_links", TOO_MANY_LINKS, status=409, params={"count": MAX_LINKS})
    await conn.execute(
        """INSERT INTO actor_links (cause_id, from_actor, to_actor, label, created_by)
           VALUES ($1, $2, $3, $4, $5)""",
        cause_id, actor_id, text.other, text.label.strip(), user_id,
    )  # fmt: skip
    await store.event(
        conn, space_id, cause_id, user_id, "cause.actors_linked",
        {"from": actor_id, "to": text.other, "label": text.label.strip()},
    )  # fmt: skip


_ACTORS = """
SELECT a.id, a.kind, a.name, a.public_role, a.group_label, a.created_at,
       (SELECT coalesce(json_agg(json_build_array(x.id, x.stance, x.influence, x.interest,
                                                  x.role, x.assessed_at, x.assessor)
                                 ORDER BY x.assessed_at, x.id), '[]')
          FROM (SELECT s.id, s.stance, s.influence, s.interest, s.role, s.assessed_at,
                       u.name AS assessor
                  FROM actor_assessments s JOIN users u ON u.id = s.assessed_by
                 WHERE s.actor_id = a.id
                 ORDER BY s.assessed_at DESC, s.id DESC LIMIT $3) x) AS assessments,
       (SELECT count(*) FROM actor_assessments WHERE actor_id = a.id) AS assessed
FROM actors a
WHERE a.cause_id = $1 AND ($2::bigint IS NULL OR a.id = $2)
ORDER BY a.id
LIMIT $4
"""


def _actor(row: dict[str, object]) -> Actor:
    assessments = [
        Assessment(id=i, stance=s, influence=n, interest=t, role=r,
                   assessed_at=datetime.fromisoformat(at), assessor=who)
        for i, s, n, t, r, at, who in row["assessments"]  # type: ignore[attr-defined]
    ]  # fmt: skip
    return Actor(**{**row, "assessments": assessments})  # type: ignore[arg-type]


async def actors(conn: Connection, cause_id: int) -> list[Actor]:
    """The cause's actors in the order they were added, each with its latest two
    assessments (what the map shows: where it is, where it was)."""
    rows = await conn.fetch(_ACTORS, cause_id, None, 2, MAX_ACTORS)
    return [_actor(dict(r)) for r in rows]


async def actor(conn: Connection, cause_id: int, actor_id: int) -> Actor:
    """One actor of the cause with its history (the latest HISTORY assessments); 404 in words
    for an actor of another cause."""
    row = await conn.fetchrow(_ACTORS, cause_id, actor_id, HISTORY, 1)
    if row is None:
        raise DomainError("actor_not_found", ACTOR_NOT_FOUND, status=404)
    return _actor(dict(row))


async def links(conn: Connection, cause_id: int, actor_id: int | None = None) -> list[Link]:
    """The links between the cause's actors (or those from and to `actor_id`)."""
    rows = await conn.fetch(
        """SELECT from_actor, to_actor, label, created_at FROM actor_links
           WHERE cause_id = $1 AND ($2::bigint IS NULL OR $2 IN (from_actor, to_actor))
           ORDER BY created_at, from_actor, to_actor
           LIMIT $3""",
        cause_id,
        actor_id,
        MAX_LINKS,
    )
    return [Link(**dict(r)) for r in rows]
