"""A cause's five steps as pure rules (causes/rules.py): each step opens only after those
before it; a step's gate names the first rule it waits for; giving a cause more of what it
needs never closes a step; every rule has a case that triggers it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentir.causes.rules import (
    MESSAGES,
    STEPS,
    Cause,
    CauseRefused,
    Criterion,
    ImpactCriterion,
    Objective,
    Rule,
    Step,
    blocked,
    may_choose,
    may_take_on,
    require,
    stepper,
)

COMPLETE = ImpactCriterion(has_baseline=True, has_target=True)
READY = Objective(adopted=True, criteria=(COMPLETE,))

criteria = st.builds(ImpactCriterion, st.booleans(), st.booleans())
objectives = st.builds(Objective, st.booleans(), st.lists(criteria, max_size=3).map(tuple))
causes = st.builds(
    Cause,
    answered=st.frozensets(st.sampled_from(Criterion)),
    taken_on=st.booleans(),
    objectives=st.lists(objectives, max_size=4).map(tuple),
    scenario_chosen=st.booleans(),
    evaluation_adopted=st.booleans(),
    plan_reopened=st.booleans(),
)


@given(causes)
def test_a_step_opens_only_after_those_before_it(cause: Cause) -> None:
    gates = stepper(cause)
    assert [g.step for g in gates] == list(STEPS)
    opened = [g.open for g in gates]
    assert opened == sorted(opened, reverse=True), "an open step after a closed one"
    for gate in gates:
        assert gate.open == (gate.waits_for is None) == (blocked(cause, gate.step) is None)
    assert sum(g.current for g in gates) == (1 if any(opened) else 0)


@given(causes)
def test_require_refuses_exactly_what_the_gate_says(cause: Cause) -> None:
    for step in STEPS:
        rule = blocked(cause, step)
        if rule is None:
            require(cause, step)
        else:
            with pytest.raises(CauseRefused) as refused:
                require(cause, step)
            assert refused.value.rule is rule and refused.value.status == 409
            assert refused.value.message == MESSAGES[rule]


def _improve(cause: Cause, how: int) -> Cause:
    """The same cause with one more thing it needs (never less)."""
    match how:
        case 0:
            return replace(cause, taken_on=True)
        case 1:
            return replace(cause, scenario_chosen=True)
        case 2:
            return replace(cause, evaluation_adopted=True)
        case 3:  # (an objective goes to consent complete: proposing refuses it otherwise)
            return replace(cause, objectives=tuple(
                replace(o, adopted=True) if o.criteria and all(c.complete for c in o.criteria)
                else o for o in cause.objectives))  # fmt: skip
        case _:
            return replace(cause, objectives=tuple(
                replace(o, criteria=tuple(COMPLETE for _ in o.criteria))
                for o in cause.objectives))  # fmt: skip


@given(causes, objectives.filter(lambda o: not o.adopted))
def test_a_draft_objective_written_later_closes_no_step(cause: Cause, draft: Objective) -> None:
    """The plan stands on the adopted objectives: a new draft waits for its own decision."""
    before = {g.step for g in stepper(cause) if g.open}
    grown = replace(cause, objectives=(*cause.objectives, draft))
    assert before == {g.step for g in stepper(grown) if g.open} or not cause.objectives


@given(causes, st.integers(0, 4))
def test_more_of_what_a_cause_needs_never_closes_a_step(cause: Cause, how: int) -> None:
    before = {g.step for g in stepper(cause) if g.open}
    after = {g.step for g in stepper(_improve(cause, how)) if g.open}
    assert before <= after


CASES = {
    Rule.NOT_TAKEN_ON: (Cause(), Step.OBSERVE),
    Rule.NO_OBJECTIVE: (Cause(taken_on=True), Step.PLAN),
    Rule.OBJECTIVE_NOT_ADOPTED: (
        Cause(taken_on=True, objectives=(Objective(False, (COMPLETE,)),)), Step.PLAN),
    Rule.OBJECTIVE_WITHOUT_CRITERION: (
        Cause(taken_on=True, objectives=(READY, Objective(True))), Step.PLAN),
    Rule.CRITERION_INCOMPLETE: (
        Cause(taken_on=True, objectives=(Objective(True, (ImpactCriterion(True, False),)),)),
        Step.PLAN),
    Rule.NO_SCENARIO_CHOSEN: (Cause(taken_on=True, objectives=(READY,)), Step.EVALUATE),
    Rule.NO_EVALUATION: (
        Cause(taken_on=True, objectives=(READY,), scenario_chosen=True), Step.CELEBRATE),
}  # fmt: skip


@pytest.mark.parametrize("rule", list(CASES), ids=[r.value for r in CASES])
def test_each_rule_refuses_its_case(rule: Rule) -> None:
    cause, step = CASES[rule]
    assert blocked(cause, step) is rule


def test_every_rule_has_its_case_and_its_message() -> None:
    assert set(CASES) | {Rule.CRITERIA_UNANSWERED, Rule.PLAN_CHOSEN} == set(Rule) == set(MESSAGES)


@given(causes)
def test_a_scenario_is_chosen_once_unless_an_evaluation_reopens_the_plan(cause: Cause) -> None:
    """A choice needs the plan open; once a scenario is chosen, a new choice needs the plan
    reopened by an evaluation."""
    expected = blocked(cause, Step.PLAN)
    if expected is None and cause.scenario_chosen and not cause.plan_reopened:
        expected = Rule.PLAN_CHOSEN
    if expected is None:
        may_choose(cause)
    else:
        with pytest.raises(CauseRefused) as refused:
            may_choose(cause)
        assert refused.value.rule is expected


def test_taking_a_cause_on_answers_all_three_criteria() -> None:
    with pytest.raises(CauseRefused) as refused:
        may_take_on(Cause(answered=frozenset({Criterion.VALUES, Criterion.MOBILISED})))
    assert refused.value.rule is Rule.CRITERIA_UNANSWERED
    may_take_on(Cause(answered=frozenset(Criterion)))


def test_a_whole_journey_opens_each_step_in_turn() -> None:
    cause = Cause(taken_on=True)
    assert [g.step for g in stepper(cause) if g.open] == [Step.OBSERVE, Step.OBJECTIVES]
    cause = replace(cause, objectives=(READY,))
    assert stepper(cause)[2].open and stepper(cause)[2].current
    cause = replace(cause, scenario_chosen=True)
    assert stepper(cause)[3].current
    cause = replace(cause, evaluation_adopted=True)
    assert all(g.open for g in stepper(cause)) and stepper(cause)[4].current
