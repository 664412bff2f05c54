"""Measurements of a cause's impact criteria (issue 12 §5), in PostgreSQL (table
`measurements`, sql/migrations/0018_causes.sql), and what the evaluation shows of them.

Measurements are append-only: a correction is a new row naming (`corrects`) the one it
corrects, which stays recorded; a row is corrected once (the database's unique index), so a
later correction corrects the latest one. What may be recorded and how far a criterion has
come are the pure rules of causes/progress.py (`check_value`, `check_correction`,
`effective`, `progress`); this module reads and writes the rows, and says the values in the
reader's words.

Measuring opens with the evaluation step (a scenario chosen by decision: rules.Step.EVALUATE,
checked with the cause locked in the write's transaction), for the criteria of adopted
objectives, by members who may act in the space.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

import asyncpg
import msgspec
from babel.numbers import get_decimal_symbol

from consentir.causes import following, objectives, progress, rules, store
from consentir.causes.objectives import Criterion, Objective
from consentir.causes.progress import Confidence, Measurement, Value
from consentir.consent.rules import Actor, Rule, RuleViolation
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.notifications.kinds import Kind
from consentir.web.i18n import current_locale, format_day, gettext

CONFIDENCES: dict[str, str] = {
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
}
ConfidenceName = Literal["low", "medium", "high"]

MAX_PER_CRITERION = 400  # measurements of one criterion (a chart, a table, a CSV stay readable)

CRITERION_NOT_FOUND = N_(
    "This impact criterion does not exist in this cause, or its objective is not adopted yet."
)
NOT_A_NUMBER = N_("Enter a number, like 12 or 12,5.")
IN_THE_FUTURE = N_("A measurement is dated today at the latest.")
TOO_MANY = N_(
    "This criterion has %(count)s measurements already, the most it keeps: correct one instead."
)


class Recorded(msgspec.Struct, frozen=True):
    """A measurement as recorded."""

    id: int
    criterion_id: int
    measured_on: date
    value: Decimal
    source: str
    confidence: ConfidenceName
    corrects: int | None
    author_name: str
    created_at: datetime


def value_of(criterion: Criterion, stored: Decimal) -> Value:
    """A stored value as causes/progress.py knows it: yes or no, a step's index, a number."""
    if criterion.kind == "yesno":
        return bool(stored)
    if criterion.kind == "ladder":
        return int(stored)
    return stored


def measurement(criterion: Criterion, recorded: Recorded) -> Measurement:
    return Measurement(
        id=recorded.id, on=recorded.measured_on, value=value_of(criterion, recorded.value),
        source=recorded.source, confidence=Confidence(recorded.confidence),
        corrects=recorded.corrects,
    )  # fmt: skip


def said(criterion: Criterion, value: Decimal) -> str:
    """A value in the reader's words, as the chart says it: "12,5 km", a ladder's step, yes
    or no."""
    if criterion.kind == "yesno":
        return gettext("yes") if value else gettext("no")
    if criterion.kind == "ladder":
        index = int(value)
        return criterion.steps[index] if 0 <= index < len(criterion.steps) else str(index)
    return f"{objectives.amount(value)} {criterion.unit}".strip()


def plain_number(value: Decimal) -> str:
    """A number for a spreadsheet in the reader's language: no grouping, the locale's
    decimal sign ("1234,5")."""
    exact = value.normalize()
    if exact == exact.to_integral_value():
        exact = exact.quantize(Decimal(1))
    return format(exact, "f").replace(".", get_decimal_symbol(current_locale.get()))


def read_value(criterion: Criterion, raw: str) -> Value:
    """A value as a form sends it (a number as written, "12,5" or "1 234"; a ladder's step
    index; "yes" or "no"), then checked against the criterion (DomainError naming `value`)."""
    text = raw.strip()
    value: Value
    if criterion.kind == "yesno":
        if text not in ("yes", "no"):
            raise DomainError("wrong_value", progress.WRONG_VALUE, field="value")
        value = text == "yes"
    elif criterion.kind == "ladder":
        if not text.isascii() or not text.isdigit():
            raise DomainError("no_such_step", progress.NO_SUCH_STEP, field="value")
        value = int(text)
    else:
        compact = "".join(text.split()).replace("\u202f", "").replace(",", ".")
        try:
            value = Decimal(compact)
        except InvalidOperation:
            raise DomainError("not_a_number", NOT_A_NUMBER, field="value") from None
    measured = criterion.measured()
    assert measured is not None, "a criterion measured is complete (the plan's rule)"
    progress.check_value(measured, value)
    return value


# --- reading -----------------------------------------------------------------------------------

_MEASUREMENTS = """
SELECT m.id, m.criterion_id, m.measured_on, m.value, m.source, m.confidence, m.corrects,
       u.name AS author_name, m.created_at
FROM measurements m JOIN users u ON u.id = m.author_id
WHERE m.cause_id = $1 AND ($2::bigint IS NULL OR m.criterion_id = $2)
ORDER BY m.criterion_id, m.measured_on, m.id
"""


async def measurements(
    conn: Connection, cause_id: int, criterion_id: int | None = None
) -> list[Recorded]:
    """The cause's measurements (or one criterion's), by criterion, date, then id."""
    rows = await conn.fetch(_MEASUREMENTS, cause_id, criterion_id)
    return [Recorded(**dict(r)) for r in rows]


class Series(msgspec.Struct, frozen=True):
    """One criterion of an adopted objective, with its measurements as the evaluation shows
    them: every row recorded, those in effect, which corrects which, and the progress."""

    objective: Objective
    criterion: Criterion
    recorded: list[Recorded]  # by date, then id
    effective: list[Measurement]  # the series as it stands (progress.effective)
    corrected_by: dict[int, int]  # a corrected measurement → the one correcting it
    reached: Fraction | None  # the progress (progress.progress); None: nothing measured yet

    @property
    def measured(self) -> progress.Criterion:
        found = self.criterion.measured()
        assert found is not None, "a criterion measured is complete (the plan's rule)"
        return found

    @property
    def in_effect(self) -> frozenset[int]:
        return frozenset(m.id for m in self.effective)

    @property
    def latest(self) -> Recorded | None:
        if not self.effective:
            return None
        last = self.effective[-1].id
        return next(r for r in self.recorded if r.id == last)

    @property
    def percent(self) -> int | None:
        return None if self.reached is None else progress.whole_percent(self.reached)


def series_of(objective: Objective, criterion: Criterion, recorded: list[Recorded]) -> Series:
    measured = criterion.measured()
    assert measured is not None
    points = [measurement(criterion, r) for r in recorded]
    return Series(
        objective=objective, criterion=criterion, recorded=recorded,
        effective=progress.effective(points),
        corrected_by={r.corrects: r.id for r in recorded if r.corrects is not None},
        reached=progress.progress(measured, points),
    )  # fmt: skip


async def evaluation(conn: Connection, cause_id: int) -> list[Series]:
    """Every criterion of the cause's adopted objectives (complete ones: the plan's rule),
    with its measurements: three statements, whatever their number."""
    adopted = [o for o in await objectives.objectives(conn, cause_id) if o.state == "adopted"]
    by_criterion: dict[int, list[Recorded]] = {}
    for recorded in await measurements(conn, cause_id):
        by_criterion.setdefault(recorded.criterion_id, []).append(recorded)
    return [
        series_of(o, c, by_criterion.get(c.id, []))
        for o in adopted
        for c in o.criteria
        if c.measured() is not None
    ]


async def criterion(
    conn: Connection, cause_id: int, criterion_id: int
) -> tuple[Objective, Criterion]:
    """A criterion of an adopted objective of the cause (404 in words for any other)."""
    for objective in await objectives.objectives(conn, cause_id):
        if objective.state != "adopted":
            continue
        for found in objective.criteria:
            if found.id == criterion_id and found.measured() is not None:
                return objective, found
    raise DomainError("criterion_not_found", CRITERION_NOT_FOUND, status=404)


# --- writing -----------------------------------------------------------------------------------


class NewMeasurement(msgspec.Struct, frozen=True, kw_only=True):
    criterion_id: int
    measured_on: date
    value: Decimal | int | bool  # as read_value gives it
    source: str
    confidence: ConfidenceName = "medium"
    corrects: int | None = None  # the measurement it corrects


async def add(
    conn: Connection,
    space_id: int,
    cause_id: int,
    actor: Actor,
    new: NewMeasurement,
    today: date,
) -> int:
    """Record a measurement (or a correction) in the caller's transaction: a member who may
    act, the evaluation step open (the cause locked), a criterion of an adopted objective, a
    value that fits it, dated `today` at the latest; a correction of one of the criterion's
    measurements not corrected yet. Journalled last."""
    if not actor.may_participate:
        raise RuleViolation(Rule.NOT_PARTICIPANT)
    await store.require(conn, space_id, cause_id, rules.Step.EVALUATE)
    _, found = await criterion(conn, cause_id, new.criterion_id)
    measured = found.measured()
    assert measured is not None
    progress.check_value(measured, new.value)
    if new.measured_on > today:
        raise DomainError("measured_in_future", IN_THE_FUTURE, field="measured_on")
    known = await measurements(conn, cause_id, found.id)
    if new.corrects is not None:
        progress.check_correction([measurement(found, r) for r in known], new.corrects)
    elif len(known) >= MAX_PER_CRITERION:
        raise DomainError(
            "too_many_measurements", TOO_MANY, status=409, params={"count": MAX_PER_CRITERION}
        )
    stored = Decimal(int(new.value)) if isinstance(new.value, bool | int) else new.value
    try:
        async with conn.transaction():  # a savepoint: the refusal leaves the caller's intact
            measurement_id = await conn.fetchval(
                """INSERT INTO measurements (criterion_id, cause_id, measured_on, value, source,
                                             confidence, corrects, author_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id""",
                found.id, cause_id, new.measured_on, stored, new.source.strip(),
                new.confidence, new.corrects, actor.user_id,
            )  # fmt: skip
    except asyncpg.UniqueViolationError:  # corrected meanwhile (the unique index)
        raise DomainError(
            "already_corrected", progress.ALREADY_CORRECTED, status=409, field="corrects"
        ) from None
    # The cause's followers hear of it ("a new measurement of <criterion>").
    await following.notify(conn, space_id, cause_id, Kind.CAUSE_MEASUREMENT, actor.user_id,
                           {"name": found.name}, page="/evaluation",
                           anchor=f"criterion-{found.id}")  # fmt: skip
    await store.event(
        conn, space_id, cause_id, actor.user_id,
        "cause.measurement_corrected" if new.corrects else "cause.measured",
        {"measurement": measurement_id, "criterion": found.id, "name": found.name,
         "on": new.measured_on.isoformat(), "value": str(stored), "corrects": new.corrects},
    )  # fmt: skip
    return int(measurement_id)


# --- the interpretation's summary ------------------------------------------------------------


def _cell(text: str) -> str:
    """Text in a cell of a Markdown table: on one line, its pipes kept as text."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def latest_text(series: Series) -> str:
    latest = series.latest
    if latest is None:
        return gettext("not measured yet")
    return gettext("%(value)s on %(day)s") % {
        "value": said(series.criterion, latest.value),
        "day": format_day(latest.measured_on),
    }


def summary_table(all_series: list[Series]) -> str:
    """Each criterion's baseline → latest → target and progress, as a Markdown table in the
    writer's language (the interpretation proposal's text)."""
    head = [
        gettext("Objective"), gettext("Criterion"), gettext("Baseline"),
        gettext("Latest measurement"), gettext("Target"), gettext("Progress"),
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for series in all_series:
        percent = series.percent
        cells = [
            series.objective.title, series.criterion.name,
            objectives.end_text(series.criterion, "baseline"), latest_text(series),
            objectives.end_text(series.criterion, "target"),
            "—" if percent is None else gettext("%(percent)s %%") % {"percent": percent},
        ]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def csv_rows(all_series: list[Series]) -> list[list[str]]:
    """One row per measurement recorded, in the reader's words (the CSV export): id,
    objective, criterion, date, value, unit, source, confidence, what it corrects, whether it
    is in effect."""
    rows: list[list[str]] = []
    for series in all_series:
        found = series.criterion
        in_effect = series.in_effect
        for r in series.recorded:
            value = plain_number(r.value) if found.kind == "number" else said(found, r.value)
            rows.append([
                str(r.id), series.objective.title, found.name, r.measured_on.isoformat(), value,
                found.unit, r.source, gettext(CONFIDENCES[r.confidence]),
                str(r.corrects) if r.corrects is not None else "",
                gettext("yes") if r.id in in_effect else gettext("no"),
            ])  # fmt: skip
    return rows
