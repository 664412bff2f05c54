"""The scenarios of a cause's action plan in PostgreSQL (issue 12 §4): A, B, C…, each a
series of immutable versions (summary, assumptions, risks, a note on what changed) with their
actions (what, who — a member or a role, or nobody yet —, when, means and cost, the impact
criteria they serve, the expected effect). The database keeps versions and actions as written
(triggers); a scenario is only ever set aside, when another is chosen, and stays readable.

Drafting opens with the plan (rules.Step.PLAN, checked with the cause locked, in the write's
transaction): every objective adopted, each with a complete impact criterion. Every write
checks who and which criteria an action names against the space and the cause, and ends with
its journal event. `for_compare` gives the pure comparison (compare.py) its input, as shown.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from babel.numbers import format_currency

from consentir.causes import compare, rules, store
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.spaces import store as spaces
from consentir.web import i18n

MAX_ACTIONS = 50  # actions in one version
MAX_COST = Decimal("9999999999.99")  # numeric(12, 2)

SCENARIO_NOT_FOUND = N_("This scenario does not exist in this cause.")
VERSION_NOT_FOUND = N_("This scenario version does not exist in this cause.")
SET_ASIDE = N_("This scenario is set aside: it is kept as it was, to be read.")
STALE = N_(
    "Another version of this scenario was written meanwhile (version %(number)s): read it,"
    " then write yours from it."
)
NO_LETTER = N_("This cause has no letter left for a new scenario.")
NOTE_REQUIRED = N_("Say what changed from the previous version.")
TOO_MANY_ACTIONS = N_("At most %(count)s actions per version.")
NOT_A_MEMBER = N_("Choose a member who may act in this space.")
NOT_A_ROLE = N_("Choose a role of this space.")
NOT_A_CRITERION = N_("Choose among the impact criteria of this cause.")
BAD_COST = N_("Enter an amount in euros of at most two decimals, like 150 or 12,50.")
NOBODY_YET = N_("nobody yet")
NO_DATE = N_("no date yet")


# --- what is written ----------------------------------------------------------------------


class ActionIn(msgspec.Struct, frozen=True, kw_only=True):
    """One action of a version, as written: who is a member (`who_user`), a role
    (`who_role`) or nobody yet (neither)."""

    what: str
    who_user: int | None = None
    who_role: int | None = None
    due_on: date | None = None
    means: str = ""
    cost: Decimal | None = None  # in euros
    criteria: list[int] = msgspec.field(default_factory=list)  # impact_criteria ids
    expected: str = ""


class ScenarioText(msgspec.Struct, frozen=True, kw_only=True):
    """A version's text. `title` names a new scenario (a version keeps its scenario's);
    `note` says what changed, required from version 2."""

    summary: str
    assumptions: str = ""
    risks: str = ""
    note: str = ""
    title: str = ""
    actions: list[ActionIn] = msgspec.field(default_factory=list)


class ActionProblem(msgspec.Struct, frozen=True):
    position: int  # in the list of actions given, from 0
    field: str  # who_user, who_role, criteria, cost, actions
    message: str  # an English message id


class ScenarioInvalid(DomainError):
    """What the actions name that the space or the cause does not have, each problem with
    its action and field (all of them at once, for the form)."""

    def __init__(self, problems: list[ActionProblem], params: dict[str, Any] | None = None):
        first = problems[0]
        super().__init__(
            "scenario_action_invalid", first.message, status=422,
            field=f"actions[{first.position}].{first.field}", params=params,
        )  # fmt: skip
        self.problems = problems


class Written(msgspec.Struct, frozen=True):
    scenario_id: int
    letter: str
    version_id: int
    number: int


# --- what is read -------------------------------------------------------------------------


class Action(msgspec.Struct, frozen=True):
    id: int
    position: int
    what: str
    who_user: int | None
    who_role: int | None
    who_name: str | None  # the member's or the role's name; None: nobody yet
    due_on: date | None
    means: str
    cost: Decimal | None
    expected: str
    criteria: list[tuple[int, str]]  # (id, name) of the impact criteria it serves, by name


class Version(msgspec.Struct, frozen=True):
    id: int
    scenario_id: int
    letter: str
    title: str
    set_aside: bool
    number: int
    latest: int  # the scenario's current version number
    summary: str
    assumptions: str
    risks: str
    note: str
    author_id: int
    author: str
    created_at: datetime
    actions: list[Action]

    @property
    def current(self) -> bool:
        return self.number == self.latest


class Listed(msgspec.Struct, frozen=True):
    """A scenario in the plan: its current version, and all its versions (id, number)."""

    id: int
    letter: str
    title: str
    created_by: str
    created_at: datetime
    set_aside_at: datetime | None
    version_id: int  # the current version
    number: int
    updated_at: datetime
    actions: int  # in the current version
    versions: list[tuple[int, int]]  # (id, number), oldest first


class Scenario(msgspec.Struct, frozen=True):
    id: int
    letter: str
    title: str
    created_by: str
    created_at: datetime
    set_aside_at: datetime | None
    versions: list[Version]  # oldest first, each with its actions

    @property
    def current(self) -> Version:
        return self.versions[-1]


class Criterion(msgspec.Struct, frozen=True):
    id: int
    name: str
    objective: str


_LIST = """
SELECT s.id, s.letter, s.title, u.name AS created_by, s.created_at, s.set_aside_at,
       v.id AS version_id, v.number, v.created_at AS updated_at,
       (SELECT count(*) FROM scenario_actions a WHERE a.version_id = v.id) AS actions,
       (SELECT json_agg(json_build_array(x.id, x.number) ORDER BY x.number)
          FROM scenario_versions x WHERE x.scenario_id = s.id) AS versions
FROM scenarios s
JOIN users u ON u.id = s.created_by
JOIN LATERAL (SELECT id, number, created_at FROM scenario_versions
              WHERE scenario_id = s.id ORDER BY number DESC LIMIT 1) v ON true
WHERE s.cause_id = $1
ORDER BY length(s.letter), s.letter
"""


async def scenarios(conn: Connection, cause_id: int) -> list[Listed]:
    """The cause's scenarios, A first, each with its current version (at most 702: the
    letters A to ZZ)."""
    rows = await conn.fetch(_LIST, cause_id)
    return [
        Listed(**{**dict(r), "versions": [(int(i), int(n)) for i, n in r["versions"]]})
        for r in rows
    ]


_VERSIONS = """
SELECT v.id, v.scenario_id, s.letter, s.title, s.set_aside_at IS NOT NULL AS set_aside,
       v.number, (SELECT max(number) FROM scenario_versions m
                  WHERE m.scenario_id = s.id) AS latest,
       v.summary, v.assumptions, v.risks, v.note, v.author_id, u.name AS author, v.created_at,
       (SELECT coalesce(json_agg(json_build_array(
                   a.id, a.position, a.what, a.who_user, a.who_role,
                   coalesce(wu.name, rv.name), a.due_on, a.means, a.cost::text, a.expected,
                   (SELECT coalesce(json_agg(json_build_array(ic.id, ic.name)
                                             ORDER BY lower(ic.name), ic.id), '[]')
                      FROM impact_criteria ic
                     WHERE ic.cause_id = s.cause_id AND ic.id = ANY (a.criteria)))
                 ORDER BY a.position), '[]')
          FROM scenario_actions a
          LEFT JOIN users wu ON wu.id = a.who_user
          LEFT JOIN roles r ON r.id = a.who_role
          LEFT JOIN role_versions rv ON rv.role_id = r.id AND rv.number = r.version
         WHERE a.version_id = v.id) AS actions
FROM scenario_versions v
JOIN scenarios s ON s.id = v.scenario_id
JOIN users u ON u.id = v.author_id
WHERE s.cause_id = $1
"""


def _action(row: list[Any]) -> Action:
    return Action(
        id=row[0], position=row[1], what=row[2], who_user=row[3], who_role=row[4],
        who_name=row[5], due_on=date.fromisoformat(row[6]) if row[6] else None,
        means=row[7], cost=Decimal(row[8]) if row[8] is not None else None,
        expected=row[9], criteria=[(int(i), n) for i, n in row[10]],
    )  # fmt: skip


def _version(row: Any) -> Version:
    fields = dict(row)
    fields["actions"] = [_action(a) for a in row["actions"]]
    return Version(**fields)


async def _versions(conn: Connection, cause_id: int, where: str, *args: Any) -> list[Version]:
    rows = await conn.fetch(_VERSIONS + where, cause_id, *args)
    return [_version(r) for r in rows]


async def versions(conn: Connection, cause_id: int, version_ids: Sequence[int]) -> list[Version]:
    """These versions of the cause's scenarios, in the order given (each once), with their
    actions; a version of another cause, or none: 404 in words."""
    wanted = list(dict.fromkeys(version_ids))
    found = {
        v.id: v
        for v in await _versions(conn, cause_id, " AND v.id = ANY ($2::bigint[])", wanted)
    }  # fmt: skip
    if len(found) != len(wanted):
        raise DomainError("scenario_version_not_found", VERSION_NOT_FOUND, status=404)
    return [found[i] for i in wanted]


async def version(conn: Connection, cause_id: int, version_id: int) -> Version:
    """One version of the cause's scenarios, with its actions (404 for any other)."""
    return (await versions(conn, cause_id, [version_id]))[0]


async def scenario(conn: Connection, cause_id: int, scenario_id: int) -> Scenario:
    """The cause's scenario with all its versions, oldest first (404 for any other)."""
    row = await conn.fetchrow(
        """SELECT s.id, s.letter, s.title, u.name AS created_by, s.created_at, s.set_aside_at
           FROM scenarios s JOIN users u ON u.id = s.created_by
           WHERE s.id = $1 AND s.cause_id = $2""",
        scenario_id,
        cause_id,
    )
    if row is None:
        raise DomainError("scenario_not_found", SCENARIO_NOT_FOUND, status=404)
    found = await _versions(
        conn, cause_id, " AND v.scenario_id = $2 ORDER BY v.number", scenario_id
    )
    return Scenario(**dict(row), versions=found)


async def latest_version_id(conn: Connection, scenario_id: int) -> int | None:
    """The id of the scenario's current version (None: no such scenario)."""
    found = await conn.fetchval(
        "SELECT id FROM scenario_versions WHERE scenario_id = $1 ORDER BY number DESC LIMIT 1",
        scenario_id,
    )
    return int(found) if found is not None else None


async def criteria(conn: Connection, cause_id: int) -> list[Criterion]:
    """The cause's impact criteria, objective by objective: what an action may serve."""
    rows = await conn.fetch(
        """SELECT ic.id, ic.name, o.title AS objective
           FROM impact_criteria ic JOIN objectives o ON o.id = ic.objective_id
           WHERE ic.cause_id = $1 ORDER BY o.id, ic.id""",
        cause_id,
    )
    return [Criterion(**dict(r)) for r in rows]


async def assignable_roles(conn: Connection, space_id: int) -> list[tuple[int, str]]:
    """The roles of the space an action may be given to (not retired), by name."""
    rows = await conn.fetch(
        """SELECT r.id, v.name FROM roles r
           JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
           WHERE r.space_id = $1 AND r.retired_on IS NULL ORDER BY lower(v.name), r.id""",
        space_id,
    )
    return [(int(r["id"]), r["name"]) for r in rows]


# --- writing -------------------------------------------------------------------------------


def letters() -> Iterable[str]:
    """A, B, … Z, then AA, AB, … ZZ."""
    yield from string.ascii_uppercase
    for first in string.ascii_uppercase:
        for second in string.ascii_uppercase:
            yield first + second


def next_letter(taken: Iterable[str]) -> str | None:
    used = set(taken)
    return next((letter for letter in letters() if letter not in used), None)


async def _check_actions(
    conn: Connection, space_id: int, cause_id: int, actions: Sequence[ActionIn]
) -> None:
    """Who and what each action names belong to the space and the cause; every problem at
    once (ScenarioInvalid)."""
    if len(actions) > MAX_ACTIONS:
        raise ScenarioInvalid(
            [ActionProblem(MAX_ACTIONS, "actions", TOO_MANY_ACTIONS)], {"count": MAX_ACTIONS}
        )
    problems: list[ActionProblem] = []
    members: frozenset[int] = frozenset()
    roles: set[int] = set()
    known: set[int] = set()
    if any(a.who_user is not None for a in actions):
        members = await spaces.acting_member_ids(conn, space_id)
    if any(a.who_role is not None for a in actions):
        roles = {i for i, _name in await assignable_roles(conn, space_id)}
    if any(a.criteria for a in actions):
        rows = await conn.fetch("SELECT id FROM impact_criteria WHERE cause_id = $1", cause_id)
        known = {int(r["id"]) for r in rows}
    for position, action in enumerate(actions):
        if action.who_user is not None and (
            action.who_role is not None or action.who_user not in members
        ):
            problems.append(ActionProblem(position, "who_user", NOT_A_MEMBER))
        elif action.who_role is not None and action.who_role not in roles:
            problems.append(ActionProblem(position, "who_role", NOT_A_ROLE))
        if action.criteria and not set(action.criteria) <= known:
            problems.append(ActionProblem(position, "criteria", NOT_A_CRITERION))
        if action.cost is not None and not valid_cost(action.cost):
            problems.append(ActionProblem(position, "cost", BAD_COST))
    if problems:
        raise ScenarioInvalid(problems)


def valid_cost(cost: Decimal) -> bool:
    return cost.is_finite() and 0 <= cost <= MAX_COST and cost == cost.quantize(Decimal("0.01"))


async def _write_version(
    conn: Connection, scenario_id: int, number: int, actor_id: int, text: ScenarioText
) -> int:
    version_id = await conn.fetchval(
        """INSERT INTO scenario_versions
               (scenario_id, number, summary, assumptions, risks, note, author_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        scenario_id, number, text.summary.strip(), text.assumptions.strip(), text.risks.strip(),
        text.note.strip(), actor_id,
    )  # fmt: skip
    if text.actions:
        await conn.executemany(
            """INSERT INTO scenario_actions (version_id, position, what, who_user, who_role,
                                             due_on, means, cost, expected, criteria)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
            [
                (version_id, position, a.what.strip(), a.who_user, a.who_role, a.due_on,
                 a.means.strip(), a.cost, a.expected.strip(), sorted(set(a.criteria)))
                for position, a in enumerate(text.actions)
            ],
        )  # fmt: skip
    return int(version_id)


async def create(
    conn: Connection, space_id: int, cause_id: int, actor_id: int, text: ScenarioText
) -> Written:
    """A new scenario, its version 1 and its actions (in the caller's transaction), under the
    next free letter; refused, naming the rule, before the plan is open."""
    await store.require(conn, space_id, cause_id, rules.Step.PLAN)
    await _check_actions(conn, space_id, cause_id, text.actions)
    taken = await conn.fetch("SELECT letter FROM scenarios WHERE cause_id = $1", cause_id)
    letter = next_letter(r["letter"] for r in taken)
    if letter is None:
        raise DomainError("no_scenario_letter", NO_LETTER, status=409)
    scenario_id = await conn.fetchval(
        """INSERT INTO scenarios (cause_id, letter, title, created_by)
           VALUES ($1, $2, $3, $4) RETURNING id""",
        cause_id, letter, text.title.strip(), actor_id,
    )  # fmt: skip
    version_id = await _write_version(conn, scenario_id, 1, actor_id, text)
    await store.event(
        conn, space_id, cause_id, actor_id, "cause.scenario_drafted",
        {"scenario": scenario_id, "letter": letter, "title": text.title.strip(),
         "version": 1, "version_id": version_id, "actions": len(text.actions)},
    )  # fmt: skip
    return Written(int(scenario_id), letter, version_id, 1)


async def add_version(
    conn: Connection,
    space_id: int,
    cause_id: int,
    scenario_id: int,
    actor_id: int,
    text: ScenarioText,
    *,
    base: int | None = None,
) -> Written:
    """The scenario's next version (in the caller's transaction), with the note on what
    changed. `base`: the version number it was written from; another written since is
    refused (409), as is a scenario set aside."""
    await store.require(conn, space_id, cause_id, rules.Step.PLAN)
    row = await conn.fetchrow(
        """SELECT s.letter, s.set_aside_at,
                  (SELECT max(number) FROM scenario_versions WHERE scenario_id = s.id) AS latest
           FROM scenarios s WHERE s.id = $1 AND s.cause_id = $2""",
        scenario_id,
        cause_id,
    )
    if row is None:
        raise DomainError("scenario_not_found", SCENARIO_NOT_FOUND, status=404)
    if row["set_aside_at"] is not None:
        raise DomainError("scenario_set_aside", SET_ASIDE, status=409)
    latest = int(row["latest"])
    if base is not None and base != latest:
        raise DomainError("scenario_version_stale", STALE, status=409, params={"number": latest})
    if not text.note.strip():
        raise DomainError("scenario_note_required", NOTE_REQUIRED, field="note")
    await _check_actions(conn, space_id, cause_id, text.actions)
    number = latest + 1
    version_id = await _write_version(conn, scenario_id, number, actor_id, text)
    await store.event(
        conn, space_id, cause_id, actor_id, "cause.scenario_version_added",
        {"scenario": scenario_id, "letter": row["letter"], "version": number,
         "version_id": version_id, "note": text.note.strip(), "actions": len(text.actions)},
    )  # fmt: skip
    return Written(scenario_id, row["letter"], version_id, number)


async def set_aside_others(conn: Connection, cause_id: int, chosen_scenario_id: int) -> list[int]:
    """Set aside every other scenario of the cause not set aside yet (the choice's adoption,
    in its transaction); the ids set aside. They stay readable, and take no new version."""
    rows = await conn.fetch(
        """UPDATE scenarios SET set_aside_at = now()
           WHERE cause_id = $1 AND id <> $2 AND set_aside_at IS NULL RETURNING id""",
        cause_id,
        chosen_scenario_id,
    )
    return sorted(int(r["id"]) for r in rows)


# --- as shown and compared -----------------------------------------------------------------


def format_cost(cost: Decimal) -> str:
    """An amount in euros as the reader's language writes it ("1 250,00 €")."""
    return format_currency(cost, "EUR", locale=i18n.current_locale.get())


def who_shown(action: Action) -> str:
    return action.who_name if action.who_name is not None else i18n.gettext(NOBODY_YET)


def when_shown(action: Action) -> str:
    return i18n.format_day(action.due_on) if action.due_on else i18n.gettext(NO_DATE)


def means_and_cost(action: Action) -> str:
    """The means, then the cost, as one text ("Affiches · 150,00 €")."""
    cost = format_cost(action.cost) if action.cost is not None else ""
    return " · ".join(p for p in (" ".join(action.means.split()), cost) if p)


def as_compared(version: Version) -> compare.ScenarioVersion:
    """A version as the comparison reads it: who by name, when as a day, the means and the
    cost as one text, the criteria by name."""
    return compare.ScenarioVersion(
        summary=version.summary,
        assumptions=version.assumptions,
        risks=version.risks,
        actions=tuple(
            compare.Action(
                what=a.what, who=who_shown(a), when=when_shown(a), cost=means_and_cost(a),
                criteria=tuple(name for _id, name in a.criteria),
            )
            for a in version.actions
        ),
    )  # fmt: skip


async def for_compare(
    conn: Connection, cause_id: int, version_ids: Sequence[int]
) -> list[compare.ScenarioVersion]:
    """The pure comparison's input for these versions of the cause, in the order given
    (404 for a version of another cause)."""
    return [as_compared(v) for v in await versions(conn, cause_id, version_ids)]


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def _plain(text: str) -> str:
    """Text shown as written inside generated Markdown (no emphasis, list or link)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def actions_text(version: compare.ScenarioVersion) -> str:
    """The actions as one Markdown list, for the word diff of two versions: one item per
    action, its what, who, when, means and cost, and the criteria it serves."""
    lines = []
    for number, a in enumerate(version.actions, start=1):
        parts = [a.who, a.when, a.cost, ", ".join(a.criteria)]
        details = " · ".join(_plain(p) for p in parts if p)
        lines.append(f"{number}. **{_plain(a.what)}** — {details}")
    return "\n".join(lines)
