"""Impact criteria, their append-only measurements and progress (causes/progress.py):

- progress is always within 0–100 %, rises as the latest value moves towards the target,
  is 100 % at (or past) the target and 0 % at the baseline;
- the effective series never holds a corrected measurement, holds one measurement per
  measurement that corrects nothing, and does not depend on the order it is given in;
- examples for each kind of criterion, the rounding for display, and each refusal.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentir.causes.progress import (
    Confidence,
    Criterion,
    Direction,
    Ladder,
    Measurement,
    Number,
    Value,
    YesNo,
    check_correction,
    check_criterion,
    check_value,
    effective,
    progress,
    progress_at,
    rising,
    whole_percent,
)
from consentir.errors import DomainError

D0 = date(2025, 3, 1)
DAY = timedelta(days=1)

days = st.dates(date(2020, 1, 1), date(2030, 12, 31))
numbers = st.decimals(-(10**9), 10**9, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def criteria(draw: st.DrawFn) -> Criterion:
    baseline_on = draw(days)
    target_on = baseline_on + timedelta(days=draw(st.integers(1, 2000)))
    kind = draw(st.sampled_from(("number", "ladder", "yesno")))
    if kind == "number":
        baseline, target = draw(numbers), draw(numbers)
        if baseline == target:
            direction = draw(st.sampled_from(Direction))
        else:
            direction = Direction.UP if target > baseline else Direction.DOWN
        return Number("km", direction, baseline, baseline_on, target, target_on)
    if kind == "ladder":
        size = draw(st.integers(2, 6))
        first = draw(st.integers(0, size - 1))
        target = draw(st.integers(first, size - 1))
        steps = tuple(f"Étape {i + 1}" for i in range(size))
        return Ladder(steps, first, baseline_on, target, target_on)
    return YesNo(baseline_on, target_on)


def values_of(criterion: Criterion) -> st.SearchStrategy[Value]:
    if isinstance(criterion, YesNo):
        return st.booleans()
    if isinstance(criterion, Ladder):
        return st.integers(0, len(criterion.steps) - 1)
    return numbers


@st.composite
def histories(draw: st.DrawFn, criterion: Criterion, most: int = 12) -> list[Measurement]:
    """Measurements as recorded: ids growing with recording (with gaps), each correction
    naming one recorded before it (corrections of corrections, and now and then two
    corrections of the same measurement)."""
    count = draw(st.integers(0, most))
    ids = sorted(draw(st.sets(st.integers(1, 10_000), min_size=count, max_size=count)))
    recorded: list[Measurement] = []
    for id_ in ids:
        corrects = None
        if recorded and draw(st.booleans()):
            corrects = draw(st.sampled_from([m.id for m in recorded]))
        recorded.append(
            Measurement(id_, draw(days), draw(values_of(criterion)),
                        source=draw(st.sampled_from(("", "comptage", "mairie"))),
                        confidence=draw(st.sampled_from(Confidence)), corrects=corrects)
        )  # fmt: skip
    return recorded


@st.composite
def criterion_and_history(draw: st.DrawFn) -> tuple[Criterion, list[Measurement]]:
    criterion = draw(criteria())
    return criterion, draw(histories(criterion))


def after(history: list[Measurement], value: Value) -> list[Measurement]:
    """The history with a new measurement that becomes the latest."""
    last_day = max((m.on for m in history), default=D0)
    next_id = max((m.id for m in history), default=0) + 1
    return [*history, Measurement(next_id, last_day + DAY, value)]


def baseline_value(criterion: Criterion) -> Value:
    return False if isinstance(criterion, YesNo) else criterion.baseline


def target_value(criterion: Criterion) -> Value:
    return True if isinstance(criterion, YesNo) else criterion.target


# --- Properties -----------------------------------------------------------------------------


@given(criterion_and_history())
def test_progress_is_within_0_and_100_percent(case: tuple[Criterion, list[Measurement]]) -> None:
    criterion, history = case
    check_criterion(criterion)  # the strategy draws only criteria that may be recorded
    found = progress(criterion, history)
    if not history:
        assert found is None
    else:
        assert found is not None
        assert 0 <= found <= 1
        assert 0 <= whole_percent(found) <= 100


@given(st.data(), criterion_and_history())
def test_progress_rises_as_the_latest_value_moves_towards_the_target(
    data: st.DataObject, case: tuple[Criterion, list[Measurement]]
) -> None:
    criterion, history = case
    one, other = data.draw(values_of(criterion)), data.draw(values_of(criterion))
    # `nearer` is the one at least as far in the direction of the target.
    farther, nearer = sorted((one, other), key=lambda v: v if rising(criterion) else -v)
    low, high = (
        progress(criterion, after(history, farther)),
        progress(criterion, after(history, nearer)),
    )
    assert low is not None and high is not None
    assert low <= high


@given(st.data(), criterion_and_history())
def test_the_target_gives_100_percent_and_the_baseline_0(
    data: st.DataObject, case: tuple[Criterion, list[Measurement]]
) -> None:
    criterion, history = case
    assert progress(criterion, after(history, target_value(criterion))) == 1
    at_baseline = progress(criterion, after(history, baseline_value(criterion)))
    if isinstance(criterion, YesNo) or criterion.target != criterion.baseline:
        assert at_baseline == 0
    else:  # a figure to keep where it is: held
        assert at_baseline == 1
    if isinstance(criterion, Number):
        beyond = data.draw(st.decimals(0, 1000, places=2))
        past = criterion.target + (beyond if rising(criterion) else -beyond)
        assert progress(criterion, after(history, past)) == 1


@given(criterion_and_history())
def test_the_effective_series_holds_no_corrected_measurement(
    case: tuple[Criterion, list[Measurement]],
) -> None:
    _, history = case
    series = effective(history)
    corrected = {m.corrects for m in history if m.corrects is not None}
    assert not [m for m in series if m.id in corrected]
    assert len(series) == len([m for m in history if m.corrects is None])
    assert series == sorted(series, key=lambda m: (m.on, m.id))
    # Each measurement that corrects nothing is there once: itself, or one of its corrections.
    by_id = {m.id: m for m in history}

    def first_of(m: Measurement) -> int:
        while m.corrects is not None:
            m = by_id[m.corrects]
        return m.id

    assert sorted(first_of(m) for m in series) == sorted(
        m.id for m in history if m.corrects is None
    )


@given(st.data(), criterion_and_history())
def test_the_order_measurements_are_given_in_does_not_matter(
    data: st.DataObject, case: tuple[Criterion, list[Measurement]]
) -> None:
    criterion, history = case
    shuffled = data.draw(st.permutations(history))
    assert effective(shuffled) == effective(history)
    assert progress(criterion, shuffled) == progress(criterion, history)


@given(st.data(), st.integers(1, 6))
def test_a_chain_of_corrections_ends_at_its_last_word(data: st.DataObject, length: int) -> None:
    criterion = Number("km", Direction.UP, Decimal(0), D0, Decimal(10), D0 + 300 * DAY)
    chain = [Measurement(1, D0 + DAY, Decimal(1))]
    for id_ in range(2, length + 1):
        chain.append(Measurement(id_, data.draw(days), data.draw(numbers), corrects=id_ - 1))
    assert effective(chain) == [chain[-1]]
    assert progress(criterion, chain) == progress_at(criterion, chain[-1].value)


# --- Examples -------------------------------------------------------------------------------

ACCIDENTS = Number("accidents", Direction.DOWN, Decimal(120), D0, Decimal(60), D0 + 600 * DAY)
LADDER = Ladder(("La mairie nous ignore", "La mairie nous reçoit", "Le projet est étudié",
                 "Les travaux sont votés"), 0, D0, 3, D0 + 400 * DAY)  # fmt: skip
LANE = YesNo(D0, D0 + 365 * DAY)


def measured(*values: Value) -> list[Measurement]:
    return [Measurement(i + 1, D0 + (i + 1) * DAY, v) for i, v in enumerate(values)]


def test_nothing_measured_gives_no_progress() -> None:
    assert progress(ACCIDENTS, []) is None
    assert progress(LADDER, []) is None


@pytest.mark.parametrize(
    ("latest", "expected"),
    [(Decimal(90), Fraction(1, 2)), (Decimal(60), Fraction(1)), (Decimal(30), Fraction(1)),
     (Decimal(120), Fraction(0)), (Decimal(150), Fraction(0)),
     (Decimal("100.5"), Fraction(13, 40))],
)  # fmt: skip
def test_a_fall_towards_a_lower_target_is_progress(latest: Decimal, expected: Fraction) -> None:
    assert progress(ACCIDENTS, measured(Decimal(110), latest)) == expected


def test_a_ladder_counts_its_steps() -> None:
    assert progress(LADDER, measured(1)) == Fraction(1, 3)
    assert progress(LADDER, measured(1, 2)) == Fraction(2, 3)
    assert whole_percent(Fraction(2, 3)) == 67
    assert progress(LADDER, measured(3, 1)) == Fraction(1, 3)  # the latest counts, not the best


def test_yes_or_no_is_0_or_100_percent() -> None:
    assert progress(LANE, measured(False)) == 0
    assert progress(LANE, measured(False, True)) == 1


def test_a_target_equal_to_the_baseline_is_reached_or_not() -> None:
    keep_up = Number("arbres", Direction.UP, Decimal(40), D0, Decimal(40), D0 + 100 * DAY)
    keep_down = Number("µg/m³", Direction.DOWN, Decimal(25), D0, Decimal(25), D0 + 100 * DAY)
    assert progress(keep_up, measured(Decimal(41))) == 1
    assert progress(keep_up, measured(Decimal(40))) == 1
    assert progress(keep_up, measured(Decimal("39.9"))) == 0
    assert progress(keep_down, measured(Decimal(24))) == 1
    assert progress(keep_down, measured(Decimal("25.1"))) == 0
    assert progress(Ladder(("a", "b"), 1, D0, 1, D0 + DAY), measured(0)) == 0


def test_a_correction_replaces_what_it_corrects_with_its_own_date() -> None:
    first = Measurement(1, D0 + 10 * DAY, Decimal(100), source="comptage")
    second = Measurement(2, D0 + 20 * DAY, Decimal(90))
    wrong_day = Measurement(3, D0 + 30 * DAY, Decimal(70), corrects=1)  # measured later after all
    again = Measurement(4, D0 + 30 * DAY, Decimal(80), corrects=3, confidence=Confidence.HIGH)
    assert effective([first, second]) == [first, second]
    assert progress(ACCIDENTS, [first, second]) == Fraction(1, 2)
    assert effective([first, second, wrong_day]) == [second, wrong_day]
    assert effective([again, first, wrong_day, second]) == [second, again]
    assert progress(ACCIDENTS, [first, second, wrong_day, again]) == Fraction(2, 3)


def test_two_corrections_of_one_measurement_the_later_stands() -> None:
    first = Measurement(1, D0, Decimal(100))
    one = Measurement(2, D0, Decimal(95), corrects=1)
    other = Measurement(3, D0, Decimal(97), corrects=1)
    assert effective([other, one, first]) == [other]


def test_the_latest_is_by_date_then_by_recording() -> None:
    same_day = [Measurement(7, D0, Decimal(80)), Measurement(5, D0, Decimal(100))]
    assert [m.id for m in effective(same_day)] == [5, 7]
    assert progress(ACCIDENTS, same_day) == Fraction(2, 3)
    earlier_but_later_recorded = [
        Measurement(1, D0 + DAY, Decimal(90)),
        Measurement(2, D0, Decimal(60)),
    ]
    assert progress(ACCIDENTS, earlier_but_later_recorded) == Fraction(1, 2)


def test_a_correction_of_nothing_known_is_left_out() -> None:
    assert effective(
        [Measurement(1, D0, Decimal(1)), Measurement(2, D0, Decimal(2), corrects=9)]
    ) == [Measurement(1, D0, Decimal(1))]
    loop = [Measurement(1, D0, Decimal(1), corrects=2), Measurement(2, D0, Decimal(2), corrects=1)]
    assert effective(loop) == []
    assert progress(ACCIDENTS, loop) is None


def test_an_id_given_twice_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="given twice"):
        effective([Measurement(1, D0, Decimal(1)), Measurement(1, D0, Decimal(2))])


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [(Fraction(0), 0), (Fraction(1), 100), (Fraction(1, 8), 13), (Fraction(1, 200), 1),
     (Fraction(199, 200), 100), (Fraction(1, 3), 33), (Fraction(2, 3), 67),
     (Fraction(4999, 1_000_000), 0), (Fraction(3, 8), 38)],
)  # fmt: skip
def test_whole_percent_rounds_half_up(ratio: Fraction, shown: int) -> None:
    assert whole_percent(ratio) == shown


# --- Refusals -------------------------------------------------------------------------------


def refused(call: object, *args: object) -> DomainError:
    assert callable(call)
    with pytest.raises(DomainError) as caught:
        call(*args)
    return caught.value


def figure(
    baseline: str | int,
    target: str | int,
    direction: Direction = Direction.UP,
    target_on: date = D0 + DAY,
) -> Number:
    return Number("km", direction, Decimal(baseline), D0, Decimal(target), target_on)


@pytest.mark.parametrize(
    ("criterion", "code", "field"),
    [
        (Ladder(("Seule",), 0, D0, 0, D0 + DAY), "ladder_too_short", "steps"),
        (Ladder(("a", " "), 0, D0, 1, D0 + DAY), "step_names", "steps"),
        (Ladder(("a", "b", "a"), 0, D0, 1, D0 + DAY), "step_names", "steps"),
        (Ladder(("a", "b"), -1, D0, 1, D0 + DAY), "no_such_step", "baseline"),
        (Ladder(("a", "b"), 0, D0, 2, D0 + DAY), "no_such_step", "target"),
        (Ladder(("a", "b"), 1, D0, 0, D0 + DAY), "ladder_backwards", "target"),
        (figure(5, 4), "target_below_baseline", "target"),
        (figure(4, 5, Direction.DOWN), "target_above_baseline", "target"),
        (figure("NaN", 5), "number_out_of_range", "baseline"),
        (figure(0, 10**12), "number_out_of_range", "target"),
        (figure("0.0000001", 1), "number_out_of_range", "baseline"),
        (YesNo(D0, D0), "target_date_early", "target_on"),
        (figure(1, 2, target_on=D0 - DAY), "target_date_early", "target_on"),
    ],
)  # fmt: skip
def test_a_criterion_that_cannot_be_measured_against_is_refused(
    criterion: Criterion, code: str, field: str
) -> None:
    error = refused(check_criterion, criterion)
    assert (error.code, error.field, error.status) == (code, field, 422)


def test_criteria_that_can_be_measured_against_pass() -> None:
    for criterion in (ACCIDENTS, LADDER, LANE,
                      Number("€", Direction.UP, Decimal("-999999999999.999999"), D0,
                             Decimal("999999999999.999999"), D0 + DAY)):  # fmt: skip
        check_criterion(criterion)


@pytest.mark.parametrize(
    ("criterion", "value", "code"),
    [
        (LANE, 1, "wrong_value"),
        (LANE, Decimal(1), "wrong_value"),
        (LADDER, True, "wrong_value"),
        (LADDER, Decimal(1), "wrong_value"),
        (LADDER, 4, "no_such_step"),
        (LADDER, -1, "no_such_step"),
        (ACCIDENTS, True, "wrong_value"),
        (ACCIDENTS, Decimal("Infinity"), "number_out_of_range"),
        (ACCIDENTS, Decimal("1.2345678"), "number_out_of_range"),
        (ACCIDENTS, -(10**12), "number_out_of_range"),
    ],
)
def test_a_value_that_does_not_fit_is_refused(
    criterion: Criterion, value: Value, code: str
) -> None:
    error = refused(check_value, criterion, value)
    assert (error.code, error.field) == (code, "value")


def test_values_that_fit_pass() -> None:
    for criterion, value in ((LANE, True), (LANE, False), (LADDER, 0), (LADDER, 3),
                             (ACCIDENTS, Decimal("12.000000")), (ACCIDENTS, -4),
                             (ACCIDENTS, Decimal("1.500000000"))):  # fmt: skip
        check_value(criterion, value)


def test_a_correction_corrects_the_latest_word_of_a_known_measurement() -> None:
    recorded = [Measurement(1, D0, Decimal(100)), Measurement(2, D0, Decimal(95), corrects=1)]
    check_correction(recorded, 2)
    error = refused(check_correction, recorded, 3)
    assert (error.code, error.field, error.status) == ("nothing_to_correct", "corrects", 422)
    error = refused(check_correction, recorded, 1)
    assert (error.code, error.field, error.status) == ("already_corrected", "corrects", 409)
