"""Impact criteria, their measurements and the progress they show. Pure: no I/O.

An objective's impact criterion is of one of three kinds:

- a number (`Number`): a unit, the direction it should move (up or down), a baseline value
  with its date and a target value with its date ("120 accidents a year in 2025, 60 by the
  end of 2027");
- an ordinal ladder (`Ladder`): ordered steps from the start towards the victory ("the town
  hall ignores us", "the town hall receives us", "the works are voted"…), a baseline step and
  a target step, each by its index in the ladder;
- yes or no (`YesNo`): the baseline is no, the target yes ("the cycle lane is open").

Measurements are append-only: a correction is a new measurement naming (`corrects`) the
one it corrects, which stays recorded. `effective` gives the series as it stands, and
`progress` how far the latest value of that series has come from the baseline towards the
target: (latest − baseline) / (target − baseline), bounded to [0, 1], as an exact Fraction.
`whole_percent` rounds it for display.

The `check_*` functions refuse, in words, what cannot be recorded (DomainError; `field`
names the form field concerned). `progress` and `effective` assume checked data, but never
fail on a value merely out of bounds: progress is bounded anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from math import floor

from consentir.errors import N_, DomainError


class Direction(StrEnum):
    UP = "up"  # the figure should rise: more is better
    DOWN = "down"  # the figure should fall: less is better


class Confidence(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class Number:
    """A figure to move from `baseline` (measured on `baseline_on`) to `target` by
    `target_on`."""

    unit: str
    direction: Direction
    baseline: Decimal
    baseline_on: date
    target: Decimal
    target_on: date


@dataclass(frozen=True)
class Ladder:
    """Ordered steps, the first the furthest from the victory; `baseline` and `target` are
    indices in `steps`."""

    steps: tuple[str, ...]
    baseline: int
    baseline_on: date
    target: int
    target_on: date


@dataclass(frozen=True)
class YesNo:
    """Something that is not so on `baseline_on` and should be so by `target_on`."""

    baseline_on: date
    target_on: date


Criterion = Number | Ladder | YesNo

# A measured value: a Decimal (or an int) for a number, a step's index (int) for a ladder,
# a bool for yes or no.
Value = Decimal | int | bool


@dataclass(frozen=True)
class Measurement:
    """One recorded measurement. Ids are unique and grow in the order of recording (the
    database's sequence): a correction always comes after what it corrects."""

    id: int
    on: date  # the day the measurement was taken
    value: Value
    source: str = ""
    confidence: Confidence = Confidence.MEDIUM
    corrects: int | None = None  # the id of the measurement this one corrects


# --- The series as it stands -------------------------------------------------------------


def effective(measurements: Iterable[Measurement]) -> list[Measurement]:
    """The series as it stands: each measurement that corrects nothing, replaced by its
    latest correction if it has any (following corrections of corrections), ordered by
    date, then id. So the series never holds a corrected measurement, and it holds as many
    measurements as there are measurements correcting nothing.

    "Latest" is the most recently recorded (the greatest id) among the corrections that are
    not corrected themselves: if two people corrected the same measurement, the later word
    stands. A correction pointing at no measurement in `measurements` (or in a loop of
    corrections) is left out; the database's foreign key makes both impossible.
    """
    by_id: dict[int, Measurement] = {}
    for measurement in measurements:
        if measurement.id in by_id:
            raise ValueError(f"measurement {measurement.id} given twice")
        by_id[measurement.id] = measurement
    corrections: dict[int, list[Measurement]] = {}
    for measurement in by_id.values():
        if measurement.corrects is not None:
            corrections.setdefault(measurement.corrects, []).append(measurement)
    series = [_latest(m, corrections) for m in by_id.values() if m.corrects is None]
    return sorted(series, key=lambda m: (m.on, m.id))


def _latest(first: Measurement, corrections: dict[int, list[Measurement]]) -> Measurement:
    """The latest uncorrected measurement among `first` and its corrections, however deep.
    Each measurement corrects at most one, and `first` corrects none: this is a tree."""
    leaves: list[Measurement] = []
    stack = [first]
    while stack:
        measurement = stack.pop()
        below = corrections.get(measurement.id, [])
        if below:
            stack.extend(below)
        else:
            leaves.append(measurement)
    return max(leaves, key=lambda m: m.id)


# --- Progress ------------------------------------------------------------------------------


def level(criterion: Criterion, value: Value) -> Fraction:
    """A value as a point on the criterion's scale: the number itself, the step's index, or
    0 for no and 1 for yes."""
    if isinstance(criterion, YesNo):
        return Fraction(1 if value else 0)
    if isinstance(criterion, Ladder):
        return Fraction(int(value))
    return Fraction(value)


def baseline_level(criterion: Criterion) -> Fraction:
    if isinstance(criterion, YesNo):
        return Fraction(0)
    return Fraction(criterion.baseline)


def target_level(criterion: Criterion) -> Fraction:
    if isinstance(criterion, YesNo):
        return Fraction(1)
    return Fraction(criterion.target)


def rising(criterion: Criterion) -> bool:
    """Whether progress is upwards on the criterion's scale (always, but for a number that
    should fall)."""
    return not (isinstance(criterion, Number) and criterion.direction is Direction.DOWN)


def progress_at(criterion: Criterion, value: Value) -> Fraction:
    """How far `value` has come from the baseline towards the target, in [0, 1]:
    (value − baseline) / (target − baseline), bounded. A fall towards a lower target is
    progress; going past the target counts as reaching it; going the wrong way as none.
    When the target is the baseline (keep a figure where it is): 1 while it holds (not
    below the target for a figure that should rise, not above for one that should fall),
    else 0."""
    now, baseline, target = (
        level(criterion, value),
        baseline_level(criterion),
        target_level(criterion),
    )
    if target == baseline:
        held = now >= target if rising(criterion) else now <= target
        return Fraction(1) if held else Fraction(0)
    return min(Fraction(1), max(Fraction(0), (now - baseline) / (target - baseline)))


def progress(criterion: Criterion, measurements: Iterable[Measurement]) -> Fraction | None:
    """The criterion's progress by its latest effective measurement (the last of
    `effective(measurements)`: latest date, then latest recorded), in [0, 1]; None when
    nothing has been measured yet."""
    series = effective(measurements)
    if not series:
        return None
    return progress_at(criterion, series[-1].value)


def whole_percent(ratio: Fraction) -> int:
    """A progress for display: in whole percent, half up (12.5 % shows as 13 %, 99.5 % as
    100 %, 2/3 as 67 %). Exact, unlike Babel's percent format (half even on a float); the
    page writes the number with the locale's percent sign."""
    return floor(ratio * 100 + Fraction(1, 2))


# --- What may be recorded ------------------------------------------------------------------

# A number (baseline, target, measurement) is below a thousand billion in absolute value,
# with at most six decimals: it fits numeric(18, 6).
NUMBER_LIMIT = 10**12
NUMBER_PLACES = 6

LADDER_TOO_SHORT = N_("A ladder needs at least two steps.")
STEP_NAMES = N_("Each step needs a name, and no two steps may have the same name.")
NO_SUCH_STEP = N_("Choose one of the ladder's steps.")
LADDER_BACKWARDS = N_(
    "The target step must be at or above the baseline step: the steps go from the start"
    " towards the victory."
)
TARGET_BELOW = N_("For a figure that should rise, the target cannot be below the baseline.")
TARGET_ABOVE = N_("For a figure that should fall, the target cannot be above the baseline.")
TARGET_DATE_EARLY = N_("The target date must come after the baseline date.")
NUMBER_OUT_OF_RANGE = N_(
    "Enter a number below a thousand billion (in absolute value), with at most six decimals."
)
WRONG_VALUE = N_("This value does not fit the criterion: a number, one of its steps, or yes or no.")
NOTHING_TO_CORRECT = N_("This criterion has no such measurement to correct.")
ALREADY_CORRECTED = N_(
    "This measurement has already been corrected: correct its latest correction instead."
)


def check_criterion(criterion: Criterion) -> None:
    """Refuse a criterion that cannot be measured against: a ladder of fewer than two
    steps, or with a nameless or repeated step; a baseline or target step not in the
    ladder, or a target step below the baseline step; a target on the wrong side of the
    baseline for the direction; a number out of range; a target date not after the baseline
    date."""
    if isinstance(criterion, Ladder):
        names = [name.strip() for name in criterion.steps]
        if len(names) < 2:
            raise DomainError("ladder_too_short", LADDER_TOO_SHORT, field="steps")
        if not all(names) or len(set(names)) != len(names):
            raise DomainError("step_names", STEP_NAMES, field="steps")
        for field in ("baseline", "target"):
            if not 0 <= getattr(criterion, field) < len(names):
                raise DomainError("no_such_step", NO_SUCH_STEP, field=field)
        if criterion.target < criterion.baseline:
            raise DomainError("ladder_backwards", LADDER_BACKWARDS, field="target")
    elif isinstance(criterion, Number):
        _check_number(criterion.baseline, "baseline")
        _check_number(criterion.target, "target")
        if criterion.direction is Direction.UP and criterion.target < criterion.baseline:
            raise DomainError("target_below_baseline", TARGET_BELOW, field="target")
        if criterion.direction is Direction.DOWN and criterion.target > criterion.baseline:
            raise DomainError("target_above_baseline", TARGET_ABOVE, field="target")
    if criterion.target_on <= criterion.baseline_on:
        raise DomainError("target_date_early", TARGET_DATE_EARLY, field="target_on")


def _check_number(value: Decimal | int, field: str) -> None:
    # The size first, from the exponent: exact arithmetic on "1E-100000000" would run for
    # minutes (a value beyond the limits below is refused either way).
    if (
        isinstance(value, Decimal)
        and (not value.is_finite() or not -NUMBER_PLACES - 20 <= value.adjusted() <= 20)
        and not (value.is_finite() and value.is_zero())
    ):
        raise DomainError("number_out_of_range", NUMBER_OUT_OF_RANGE, field=field)
    exact = Fraction(value)
    if abs(exact) >= NUMBER_LIMIT or (exact * 10**NUMBER_PLACES).denominator != 1:
        raise DomainError("number_out_of_range", NUMBER_OUT_OF_RANGE, field=field)


def check_value(criterion: Criterion, value: Value) -> None:
    """Refuse a measured value that does not fit the criterion: a bool for yes or no, one
    of the ladder's step indices, a number in range (a Decimal or an int)."""
    if isinstance(criterion, YesNo):
        fits = isinstance(value, bool)
    elif isinstance(criterion, Ladder):
        fits = isinstance(value, int) and not isinstance(value, bool)
        if fits and not 0 <= value < len(criterion.steps):
            raise DomainError("no_such_step", NO_SUCH_STEP, field="value")
    else:
        fits = isinstance(value, Decimal | int) and not isinstance(value, bool)
        if fits:
            _check_number(value, "value")
    if not fits:
        raise DomainError("wrong_value", WRONG_VALUE, field="value")


def check_correction(measurements: Iterable[Measurement], corrects: int) -> None:
    """Refuse to correct a measurement this criterion does not have (`measurements` are the
    criterion's), or one already corrected: a correction corrects the latest word, so
    that the corrections of a measurement form a chain."""
    known = list(measurements)
    if all(m.id != corrects for m in known):
        raise DomainError("nothing_to_correct", NOTHING_TO_CORRECT, field="corrects")
    if any(m.corrects == corrects for m in known):
        raise DomainError("already_corrected", ALREADY_CORRECTED, status=409, field="corrects")
