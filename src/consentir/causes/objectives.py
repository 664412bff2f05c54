"""A cause's objectives and their impact criteria (issue 12 §3), in PostgreSQL (tables
`objectives` and `impact_criteria`, sql/migrations/0018_causes.sql).

Members who may take part write them once the cause is taken on: each objective has a
horizon (long, intermediate or short term), a title and what counts as a victory; each of
its criteria is a number, an ordinal ladder or yes or no (causes/progress.py says what may
be recorded). They are adopted by an ordinary consent decision: `propose` writes the
objectives not adopted yet into a draft proposal of the cause (purpose "objectives") and
links them to it (`objectives.proposal_id`). An objective's state is derived, never
stored twice:

- draft: not proposed, or its proposal closed without a decision (withdrawn, rejected):
  it may be edited, given criteria, deleted;
- proposed: its proposal is under way: locked;
- adopted: a decision exists for its proposal: kept as adopted (a change is a new
  objective, by a new decision).

Every write runs in the caller's transaction: the cause locked first with the step's rule
(store.require), its journal event last (store.event).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

import msgspec
from babel.numbers import format_decimal

from consentir.causes import progress, proposing, rules, store
from consentir.causes.progress import Direction
from consentir.consent import rules as consent_rules
from consentir.consent.store import Content
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.spaces.store import Space
from consentir.web.i18n import current_locale, format_day, gettext

Horizon = Literal["long", "intermediate", "short"]
HORIZONS: tuple[Horizon, ...] = ("long", "intermediate", "short")
HORIZON_NAMES: dict[str, str] = {
    "long": N_("Long term"),
    "intermediate": N_("Intermediate"),
    "short": N_("Short term"),
}
Kind = Literal["number", "ladder", "yesno"]
KINDS: tuple[Kind, ...] = ("number", "ladder", "yesno")
KIND_NAMES: dict[str, str] = {
    "number": N_("A number"),
    "ladder": N_("A ladder of steps"),
    "yesno": N_("Yes or no"),
}
# Within a sentence: "(a ladder of steps)".
KIND_WORDS: dict[str, str] = {"ladder": N_("a ladder of steps"), "yesno": N_("yes or no")}
RISES = N_("should rise")
FALLS = N_("should fall")
BASELINE_ON = N_("%(value)s on %(day)s")
TARGET_BY = N_("%(value)s by %(day)s")
State = Literal["draft", "proposed", "adopted"]

# Bounds: a page shows every objective of a cause with its criteria, and the proposal's text
# lists them all.
MAX_OBJECTIVES = 20
MAX_CRITERIA = 10
MAX_STEPS = 12
MAX_TEXT = 50000  # a proposal's text (proposal_versions.body)

OBJECTIVE_NOT_FOUND = N_("This objective does not exist, or it belongs to another cause.")
CRITERION_NOT_FOUND = N_(
    "This impact criterion does not exist, or it belongs to another objective."
)
OBJECTIVE_PROPOSED = N_(
    "This objective is proposed for consent (“%(title)s”): it cannot change while the"
    " proposal is under way. Withdrawn or rejected, it can be changed again."
)
OBJECTIVE_ADOPTED = N_(
    "This objective was adopted by decision %(number)s: it is kept as adopted. A change is a"
    " new objective, adopted by a new decision."
)
TOO_MANY_OBJECTIVES = N_("A cause has at most %(count)s objectives.")
TOO_MANY_CRITERIA = N_("An objective has at most %(count)s impact criteria.")
TOO_MANY_STEPS = N_("A ladder has at most %(count)s steps.")
DATE_MISSING = N_("Give the date of this value.")
VALUE_MISSING = N_("Give the value at this date, or leave the date empty.")
STEP_MISSING = N_("Give the step at this date, or leave the date empty.")
NOTHING_TO_PROPOSE = N_(
    "There is nothing to propose: every objective is adopted or already proposed. Write an"
    " objective first."
)
TEXT_TOO_LONG = N_(
    "The proposal's text would be longer than %(count)s characters: shorten the victories,"
    " sources or methods first."
)

PROPOSAL_TITLE = N_("Objectives of the cause “%(title)s”")
PROPOSAL_DRIVER = N_(
    "The cause “%(title)s” is taken on: here are its objectives, each with what counts as a"
    " victory and the impact criteria that will tell us how far we have come. Once they are"
    " adopted (and every criterion has its baseline and its target), the action plan can be"
    " built on them."
)


# --- what is written -------------------------------------------------------------------------


class ObjectiveText(msgspec.Struct, frozen=True):
    horizon: Horizon
    title: str
    victory: str


class CriterionText(msgspec.Struct, frozen=True):
    """An impact criterion as written. Baseline and target may be left empty while drafting
    (the plan waits for them, causes/rules.py); each comes with its date. For a ladder they
    are step indexes (0 for the first step); for yes or no, only the dates are written: the
    baseline is no (0), the target yes (1)."""

    name: str
    kind: Kind
    unit: str = ""
    direction: Direction = Direction.UP
    steps: tuple[str, ...] = ()
    baseline: Decimal | None = None
    baseline_on: date | None = None
    target: Decimal | None = None
    target_on: date | None = None
    source: str = ""
    method: str = ""


def normal(text: CriterionText) -> CriterionText:
    """The criterion as stored: only what its kind has (a unit and a direction for a number,
    steps for a ladder), a yes or no's values from its dates."""
    steps = tuple(s.strip() for s in text.steps) if text.kind == "ladder" else ()
    number = text.kind == "number"
    baseline, target = text.baseline, text.target
    if text.kind == "yesno":
        baseline = Decimal(0) if text.baseline_on is not None else None
        target = Decimal(1) if text.target_on is not None else None
    return msgspec.structs.replace(
        text, name=text.name.strip(), unit=text.unit.strip() if number else "",
        direction=text.direction if number else Direction.UP, steps=steps,
        baseline=baseline, target=target, source=text.source.strip(), method=text.method.strip(),
    )  # fmt: skip


def check(text: CriterionText) -> None:
    """Refuse (DomainError naming the form field) what cannot be recorded: a value without
    its date or a date without its value; then the rules of causes/progress.py, on what is
    written (an end left empty is checked as the other end, so only what is written can be
    refused)."""
    if text.kind == "ladder" and len(text.steps) > MAX_STEPS:
        raise DomainError(
            "ladder_too_long", TOO_MANY_STEPS, field="steps", params={"count": MAX_STEPS}
        )
    if text.kind != "yesno":
        for end in ("baseline", "target"):
            value, on = getattr(text, end), getattr(text, f"{end}_on")
            if value is not None and on is None:
                raise DomainError("date_missing", DATE_MISSING, field=f"{end}_on")
            if value is None and on is not None:
                missing = STEP_MISSING if text.kind == "ladder" else VALUE_MISSING
                raise DomainError("value_missing", missing, field=end)
        if text.kind == "ladder":
            for end in ("baseline", "target"):
                value = getattr(text, end)
                if value is not None and value != value.to_integral_value():
                    raise DomainError("no_such_step", progress.NO_SUCH_STEP, field=end)
    probe, standing_in = _probe(text)
    try:
        progress.check_criterion(probe)
    except DomainError as refused:
        if refused.field in standing_in:  # an end left empty stood in as the other one
            end = "target" if refused.field.startswith("baseline") else "baseline"
            refused.field = end + refused.field.removeprefix("baseline").removeprefix("target")
        raise


def _probe(text: CriterionText) -> tuple[progress.Criterion, frozenset[str]]:
    """The criterion as causes/progress.py knows it, an end left empty standing in as the
    other end (a ladder's missing baseline as its first step), a day apart; and the fields
    that stand in."""
    day = timedelta(days=1)
    b, t = text.baseline, text.target
    b_on, t_on = text.baseline_on, text.target_on
    standing_in: frozenset[str] = frozenset()
    if b_on is None and t_on is None:
        b_on, t_on = date(2000, 1, 1), date(2000, 1, 2)
    elif b_on is None:
        assert t_on is not None
        b, b_on = (Decimal(0) if text.kind == "ladder" else t), t_on - day
        standing_in = frozenset({"baseline", "baseline_on"})
    elif t_on is None:
        t, t_on = b, b_on + day
        standing_in = frozenset({"target", "target_on"})
    assert b_on is not None and t_on is not None
    if text.kind == "yesno":
        return progress.YesNo(b_on, t_on), standing_in
    if text.kind == "ladder":
        return progress.Ladder(text.steps, int(b or 0), b_on, int(t or 0), t_on), standing_in
    return progress.Number(
        text.unit, text.direction, b or Decimal(0), b_on, t or Decimal(0), t_on
    ), standing_in


# --- what is read ----------------------------------------------------------------------------


class Criterion(msgspec.Struct, frozen=True):
    id: int
    objective_id: int
    name: str
    kind: Kind
    unit: str
    direction: Direction
    steps: tuple[str, ...]
    baseline: Decimal | None
    baseline_on: date | None
    target: Decimal | None
    target_on: date | None
    source: str
    method: str

    @property
    def complete(self) -> bool:
        return self.baseline is not None and self.target is not None

    def step(self, value: Decimal | None) -> str | None:
        """A ladder's step by its index (the baseline's, the target's)."""
        if value is None or not 0 <= int(value) < len(self.steps):
            return None
        return self.steps[int(value)]

    def measured(self) -> progress.Criterion | None:
        """The criterion as causes/progress.py measures it, once complete."""
        if self.baseline_on is None or self.target_on is None:
            return None
        if self.kind == "yesno":
            return progress.YesNo(self.baseline_on, self.target_on)
        assert self.baseline is not None and self.target is not None
        if self.kind == "ladder":
            return progress.Ladder(
                self.steps, int(self.baseline), self.baseline_on, int(self.target), self.target_on
            )
        return progress.Number(
            self.unit, self.direction, self.baseline, self.baseline_on, self.target,
            self.target_on,
        )  # fmt: skip

    def text(self) -> CriterionText:
        return CriterionText(
            name=self.name, kind=self.kind, unit=self.unit, direction=self.direction,
            steps=self.steps, baseline=self.baseline, baseline_on=self.baseline_on,
            target=self.target, target_on=self.target_on, source=self.source, method=self.method,
        )  # fmt: skip


class Objective(msgspec.Struct, frozen=True):
    id: int
    cause_id: int
    horizon: Horizon
    title: str
    victory: str
    created_by: int
    created_at: datetime
    proposal_id: int | None  # the proposal that carries (or carried) it
    proposal_title: str | None
    proposal_closed: bool
    decision_number: str | None  # the decision that adopted it
    criteria: tuple[Criterion, ...] = ()

    @property
    def state(self) -> State:
        if self.decision_number is not None:
            return "adopted"
        if self.proposal_id is not None and not self.proposal_closed:
            return "proposed"
        return "draft"

    @property
    def editable(self) -> bool:
        return self.state == "draft"

    def refuse_change(self) -> None:
        """Refuse, in words, to change an objective proposed or adopted (409)."""
        if self.state == "proposed":
            raise DomainError(
                "objective_proposed", OBJECTIVE_PROPOSED, status=409,
                params={"title": self.proposal_title},
            )  # fmt: skip
        if self.state == "adopted":
            raise DomainError(
                "objective_adopted", OBJECTIVE_ADOPTED, status=409,
                params={"number": self.decision_number},
            )  # fmt: skip


_OBJECTIVES = """
SELECT o.id, o.cause_id, o.horizon, o.title, o.victory, o.created_by, o.created_at,
       o.proposal_id, p.title AS proposal_title, p.closed_at IS NOT NULL AS proposal_closed,
       d.number AS decision_number
FROM objectives o
LEFT JOIN proposals p ON p.id = o.proposal_id
LEFT JOIN decisions d ON d.proposal_id = o.proposal_id
WHERE o.cause_id = $1 AND ($2::bigint IS NULL OR o.id = $2)
ORDER BY o.id
"""

_CRITERIA = """
SELECT id, objective_id, name, kind, unit, direction, ladder AS steps, baseline, baseline_on,
       target, target_on, source, method
FROM impact_criteria
WHERE cause_id = $1 AND ($2::bigint IS NULL OR objective_id = $2)
ORDER BY objective_id, id
"""


def _criterion(row: dict[str, object]) -> Criterion:
    return msgspec.convert({**row, "steps": list(row["steps"] or [])}, Criterion)  # type: ignore[call-overload]


async def objectives(
    conn: Connection, cause_id: int, objective_id: int | None = None
) -> list[Objective]:
    """The cause's objectives (or the one asked), oldest first, each with its criteria and
    its state: two statements, whatever their number (at most MAX_OBJECTIVES)."""
    rows = await conn.fetch(_OBJECTIVES, cause_id, objective_id)
    criteria: dict[int, list[Criterion]] = {}
    for row in await conn.fetch(_CRITERIA, cause_id, objective_id):
        criteria.setdefault(row["objective_id"], []).append(_criterion(dict(row)))
    return [Objective(**dict(row), criteria=tuple(criteria.get(row["id"], []))) for row in rows]


async def objective(conn: Connection, cause_id: int, objective_id: int) -> Objective:
    """One objective of the cause (404 in words for any other)."""
    found = await objectives(conn, cause_id, objective_id)
    if not found:
        raise DomainError("objective_not_found", OBJECTIVE_NOT_FOUND, status=404)
    return found[0]


def criterion_of(objective: Objective, criterion_id: int) -> Criterion:
    """One criterion of the objective (404 in words for any other)."""
    for criterion in objective.criteria:
        if criterion.id == criterion_id:
            return criterion
    raise DomainError("criterion_not_found", CRITERION_NOT_FOUND, status=404)


def by_horizon(items: list[Objective]) -> list[tuple[Horizon, list[Objective]]]:
    """The objectives grouped by horizon, long term first (every horizon, even empty)."""
    return [(h, [o for o in items if o.horizon == h]) for h in HORIZONS]


# --- writing ---------------------------------------------------------------------------------


async def _draft(conn: Connection, space_id: int, cause_id: int, objective_id: int) -> Objective:
    """The objective, the cause locked (taken on): refused in words unless it is a draft."""
    await store.require(conn, space_id, cause_id, rules.Step.OBJECTIVES)
    found = await objective(conn, cause_id, objective_id)
    found.refuse_change()
    return found


async def add_objective(
    conn: Connection, space_id: int, cause_id: int, actor_id: int, text: ObjectiveText
) -> int:
    await store.require(conn, space_id, cause_id, rules.Step.OBJECTIVES)
    count = await conn.fetchval("SELECT count(*) FROM objectives WHERE cause_id = $1", cause_id)
    if count >= MAX_OBJECTIVES:
        raise DomainError(
            "too_many_objectives", TOO_MANY_OBJECTIVES, status=409,
            params={"count": MAX_OBJECTIVES},
        )  # fmt: skip
    objective_id = await conn.fetchval(
        """INSERT INTO objectives (cause_id, horizon, title, victory, created_by)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        cause_id, text.horizon, text.title.strip(), text.victory.strip(), actor_id,
    )  # fmt: skip
    await store.event(conn, space_id, cause_id, actor_id, "cause.objective_added",
                      {"objective": objective_id, "title": text.title.strip()})  # fmt: skip
    return int(objective_id)


async def edit_objective(
    conn: Connection,
    space_id: int,
    cause_id: int,
    objective_id: int,
    actor_id: int,
    text: ObjectiveText,
) -> None:
    await _draft(conn, space_id, cause_id, objective_id)
    await conn.execute(
        "UPDATE objectives SET horizon = $2, title = $3, victory = $4 WHERE id = $1",
        objective_id, text.horizon, text.title.strip(), text.victory.strip(),
    )  # fmt: skip
    await store.event(conn, space_id, cause_id, actor_id, "cause.objective_edited",
                      {"objective": objective_id, "title": text.title.strip()})  # fmt: skip


async def delete_objective(
    conn: Connection, space_id: int, cause_id: int, objective_id: int, actor_id: int
) -> None:
    """Delete a draft objective (never adopted) and its criteria."""
    found = await _draft(conn, space_id, cause_id, objective_id)
    await conn.execute("DELETE FROM impact_criteria WHERE objective_id = $1", objective_id)
    await conn.execute("DELETE FROM objectives WHERE id = $1", objective_id)
    await store.event(conn, space_id, cause_id, actor_id, "cause.objective_deleted",
                      {"objective": objective_id, "title": found.title,
                       "criteria": [c.id for c in found.criteria]})  # fmt: skip


def _values(text: CriterionText) -> tuple[object, ...]:
    return (
        text.name, text.kind, text.unit, text.direction.value, list(text.steps), text.baseline,
        text.baseline_on, text.target, text.target_on, text.source, text.method,
    )  # fmt: skip


async def add_criterion(
    conn: Connection,
    space_id: int,
    cause_id: int,
    objective_id: int,
    actor_id: int,
    text: CriterionText,
) -> int:
    found = await _draft(conn, space_id, cause_id, objective_id)
    if len(found.criteria) >= MAX_CRITERIA:
        raise DomainError(
            "too_many_criteria", TOO_MANY_CRITERIA, status=409, params={"count": MAX_CRITERIA}
        )
    text = normal(text)
    check(text)
    criterion_id = await conn.fetchval(
        """INSERT INTO impact_criteria (name, kind, unit, direction, ladder, baseline,
                                        baseline_on, target, target_on, source, method,
                                        objective_id, cause_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           RETURNING id""",
        *_values(text), objective_id, cause_id, actor_id,
    )  # fmt: skip
    await store.event(conn, space_id, cause_id, actor_id, "cause.criterion_added",
                      {"objective": objective_id, "criterion": criterion_id,
                       "name": text.name})  # fmt: skip
    return int(criterion_id)


async def edit_criterion(
    conn: Connection,
    space_id: int,
    cause_id: int,
    objective_id: int,
    criterion_id: int,
    actor_id: int,
    text: CriterionText,
) -> None:
    criterion_of(await _draft(conn, space_id, cause_id, objective_id), criterion_id)
    text = normal(text)
    check(text)
    await conn.execute(
        """UPDATE impact_criteria SET name = $1, kind = $2, unit = $3, direction = $4,
                  ladder = $5, baseline = $6, baseline_on = $7, target = $8, target_on = $9,
                  source = $10, method = $11
           WHERE id = $12""",
        *_values(text), criterion_id,
    )  # fmt: skip
    await store.event(conn, space_id, cause_id, actor_id, "cause.criterion_edited",
                      {"objective": objective_id, "criterion": criterion_id,
                       "name": text.name})  # fmt: skip


async def delete_criterion(
    conn: Connection,
    space_id: int,
    cause_id: int,
    objective_id: int,
    criterion_id: int,
    actor_id: int,
) -> None:
    found = criterion_of(await _draft(conn, space_id, cause_id, objective_id), criterion_id)
    await conn.execute("DELETE FROM impact_criteria WHERE id = $1", criterion_id)
    await store.event(conn, space_id, cause_id, actor_id, "cause.criterion_deleted",
                      {"objective": objective_id, "criterion": criterion_id,
                       "name": found.name})  # fmt: skip


# --- proposing them for consent --------------------------------------------------------------


def incomplete(drafts: list[Objective]) -> rules.Rule | None:
    """What objectives about to be proposed still lack, by the plan's rule (None: nothing).
    What is adopted is kept as adopted: an objective goes to consent complete, or the plan
    would wait for good for what nobody could add any more."""
    if not all(o.criteria for o in drafts):
        return rules.Rule.OBJECTIVE_WITHOUT_CRITERION
    if not all(c.complete for o in drafts for c in o.criteria):
        return rules.Rule.CRITERION_INCOMPLETE
    return None


async def propose(conn: Connection, space: Space, actor: consent_rules.Actor, cause_id: int) -> int:
    """A draft proposal of the cause (purpose "objectives") whose text lists every objective
    not adopted nor proposed, with its criteria; those objectives are linked to it. Refused in
    words when there is nothing to propose, or while an objectives proposal is under way."""
    cause = await store.require(conn, space.id, cause_id, rules.Step.OBJECTIVES)
    drafts = [o for o in await objectives(conn, cause_id) if o.state == "draft"]
    under_way = cause.under_way("objectives")
    if not drafts and under_way is None:
        raise DomainError("nothing_to_propose", NOTHING_TO_PROPOSE, status=409)
    if under_way is not None:
        raise DomainError("cause_proposal_under_way", store.UNDER_WAY, status=409,
                          params={"title": under_way.title})  # fmt: skip
    missing = incomplete(drafts)
    if missing is not None:
        raise rules.CauseRefused(missing)
    body = proposal_text(cause, drafts)
    if len(body) > MAX_TEXT:
        raise DomainError(
            "objectives_text_too_long", TEXT_TOO_LONG, status=409, params={"count": MAX_TEXT}
        )
    content = Content(
        title=(gettext(PROPOSAL_TITLE) % {"title": cause.title})[:200],
        driver=gettext(PROPOSAL_DRIVER) % {"title": cause.title},
        body=body,
    )
    # (an objectives proposal under way: link_proposal refuses, naming it)
    proposal_id = await proposing.propose(conn, space, actor, cause, "objectives", content)
    ids = [o.id for o in drafts]
    await conn.execute(
        "UPDATE objectives SET proposal_id = $1 WHERE id = ANY($2::bigint[])", proposal_id, ids
    )
    await store.event(conn, space.id, cause_id, actor.user_id, "cause.objectives_proposed",
                      {"proposal": proposal_id, "objectives": ids})  # fmt: skip
    return proposal_id


def amount(value: Decimal) -> str:
    """A number as the reader writes it (every decimal kept: "1 234,5")."""
    exact = value.normalize()
    if exact == exact.to_integral_value():
        exact = exact.quantize(Decimal(1))
    return format_decimal(exact, locale=current_locale.get(), decimal_quantization=False)


def _line(text: str) -> str:
    """A text on one line (inside a list item of the proposal's text)."""
    return re.sub(r"\s+", " ", text).strip()


def end_text(criterion: Criterion | CriterionText, end: Literal["baseline", "target"]) -> str:
    """A criterion's baseline or target in words, with its date: "12 accidents on 1 March
    2025", "step 2, “the town hall receives us” by …", "no on …"; "to be set" while left
    empty."""
    value: Decimal | None = getattr(criterion, end)
    on: date | None = getattr(criterion, f"{end}_on")
    if value is None or on is None:
        return gettext("to be set")
    if criterion.kind == "yesno":
        said = gettext("yes") if value else gettext("no")
    elif criterion.kind == "ladder":
        index = int(value)
        name = criterion.steps[index] if 0 <= index < len(criterion.steps) else str(index + 1)
        said = gettext("step %(number)s, “%(step)s”") % {"number": index + 1, "step": name}
    else:
        said = f"{amount(value)} {criterion.unit}".strip()
    dated = BASELINE_ON if end == "baseline" else TARGET_BY
    return gettext(dated) % {"value": said, "day": format_day(on)}


def _criterion_lines(criterion: Criterion) -> list[str]:
    if criterion.kind == "number":
        moves = gettext(RISES if criterion.direction is Direction.UP else FALLS)
        kind = gettext("a number that %(moves)s") % {"moves": moves}
        if criterion.unit:
            kind = gettext("%(kind)s, in %(unit)s") % {"kind": kind, "unit": _line(criterion.unit)}
    else:
        kind = gettext(KIND_WORDS[criterion.kind])
    first = gettext("**%(name)s** (%(kind)s): baseline %(baseline)s → target %(target)s") % {
        "name": _line(criterion.name), "kind": kind,
        "baseline": end_text(criterion, "baseline"), "target": end_text(criterion, "target"),
    }  # fmt: skip
    lines = ["- " + first]
    if criterion.kind == "ladder":
        steps = " → ".join(f"{n}. {_line(step)}" for n, step in enumerate(criterion.steps, 1))
        lines.append("  - " + gettext("Steps: %(steps)s") % {"steps": steps})
    if criterion.source:
        lines.append("  - " + gettext("Source: %(source)s") % {"source": _line(criterion.source)})
    if criterion.method:
        lines.append("  - " + gettext("Method: %(method)s") % {"method": _line(criterion.method)})
    return lines


def proposal_text(cause: store.Cause, items: list[Objective]) -> str:
    """The proposal's text, in the writer's language (Markdown): the objectives by horizon,
    each with its victory and its criteria (kind, unit, baseline → target with their dates,
    a ladder's steps, source, method)."""
    intro = N_("The objectives of the cause “%(title)s” (%(territory)s) and their impact criteria.")
    parts = [gettext(intro) % {"title": cause.title, "territory": cause.territory}]
    for horizon, group in by_horizon(items):
        if not group:
            continue
        parts.append("# " + gettext(HORIZON_NAMES[horizon]))
        for item in group:
            parts.append("## " + _line(item.title))
            parts.append("**" + gettext("Victory:") + "** " + item.victory.strip())
            if not item.criteria:
                parts.append("_" + gettext("No impact criterion yet.") + "_")
                continue
            lines = [gettext("Impact criteria:")]
            for criterion in item.criteria:
                lines.extend(_criterion_lines(criterion))
            parts.append("\n".join(lines))
    return "\n\n".join(parts)
