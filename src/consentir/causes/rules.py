"""An accompanied cause's journey, as pure rules: which of its five steps are open, and what
each one waits for. No I/O: the store loads the facts, these rules decide, the pages show the
stepper with each gate's reason (issue 12).

The five steps: field observation, objectives (each with impact criteria), the action plan
(scenarios, one chosen by consent), evaluation and interpretation, celebration. A cause is
first taken on by a decision that answers the movement's three criteria (in line with its
values, several people mobilised, a useful local impact). Then:
- observing and writing objectives are open at once (they feed each other);
- the plan opens once objectives are adopted by decision, each adopted one with at least one
  impact criterion with a baseline and a target (an objective proposed incomplete is refused:
  what is adopted is kept as adopted); a later draft objective does not close it again;
- the action list exists only once a scenario is chosen by decision (acting, measuring);
- evaluating opens with the action list; its interpretation is a decision;
- the celebration opens once an evaluation decision is adopted.
Every refusal names its rule, like the consent rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from consentir.errors import N_, DomainError


class Step(StrEnum):
    OBSERVE = "observe"
    OBJECTIVES = "objectives"
    PLAN = "plan"
    EVALUATE = "evaluate"
    CELEBRATE = "celebrate"


STEPS = (Step.OBSERVE, Step.OBJECTIVES, Step.PLAN, Step.EVALUATE, Step.CELEBRATE)


class Criterion(StrEnum):
    """The three criteria for taking a cause on."""

    VALUES = "values"  # in line with the movement's values
    MOBILISED = "mobilised"  # several people mobilised
    LOCAL_IMPACT = "local_impact"  # a useful local impact


class Rule(StrEnum):
    NOT_TAKEN_ON = "cause_not_taken_on"
    CRITERIA_UNANSWERED = "cause_criteria_unanswered"
    NO_OBJECTIVE = "no_objective"
    OBJECTIVE_NOT_ADOPTED = "objective_not_adopted"
    OBJECTIVE_WITHOUT_CRITERION = "objective_without_criterion"
    CRITERION_INCOMPLETE = "criterion_without_baseline_or_target"
    NO_SCENARIO_CHOSEN = "no_scenario_chosen"
    NO_EVALUATION = "no_evaluation_decision"
    PLAN_CHOSEN = "plan_already_chosen"


MESSAGES = {
    Rule.NOT_TAKEN_ON: N_("The cause is not taken on yet: a decision takes it on first."),
    Rule.CRITERIA_UNANSWERED: N_(
        "Say how the cause meets each criterion: the movement's values, several people"
        " mobilised, a useful local impact."
    ),
    Rule.NO_OBJECTIVE: N_("Write at least one objective first."),
    Rule.OBJECTIVE_NOT_ADOPTED: N_("The objectives are adopted by a decision before the plan."),
    Rule.OBJECTIVE_WITHOUT_CRITERION: N_(
        "Every objective needs at least one impact criterion before the plan."
    ),
    Rule.CRITERION_INCOMPLETE: N_(
        "Every impact criterion needs a baseline and a target before the plan."
    ),
    Rule.NO_SCENARIO_CHOSEN: N_("The action list comes once a scenario is chosen by decision."),
    Rule.NO_EVALUATION: N_("The celebration comes once the evaluation is adopted by decision."),
    Rule.PLAN_CHOSEN: N_(
        "A scenario is already chosen: a new choice comes once an evaluation adopted by decision"
        " reopens the plan."
    ),
}


class CauseRefused(DomainError):
    def __init__(self, rule: Rule) -> None:
        super().__init__(rule.value, MESSAGES[rule], status=409)
        self.rule = rule


@dataclass(frozen=True)
class ImpactCriterion:
    has_baseline: bool
    has_target: bool

    @property
    def complete(self) -> bool:
        return self.has_baseline and self.has_target


@dataclass(frozen=True)
class Objective:
    adopted: bool  # by a consent decision
    criteria: tuple[ImpactCriterion, ...] = ()


@dataclass(frozen=True)
class Cause:
    """What the rules need to know of a cause (the store reads it in one statement)."""

    answered: frozenset[Criterion] = frozenset()  # criteria the taking-on proposal answers
    taken_on: bool = False  # the decision taking it on is adopted
    objectives: tuple[Objective, ...] = ()
    scenario_chosen: bool = False  # a decision chose a scenario's version
    evaluation_adopted: bool = False  # a decision adopted the evaluation's interpretation
    # The latest evaluation adopted reopens the plan, after the latest choice: a new version
    # of a scenario may be chosen again.
    plan_reopened: bool = False


def may_take_on(cause: Cause) -> None:
    """The proposal taking the cause on answers the three criteria, each of them."""
    if cause.answered != frozenset(Criterion):
        raise CauseRefused(Rule.CRITERIA_UNANSWERED)


def may_choose(cause: Cause) -> None:
    """A scenario choice opens with the plan open, once; again only when an evaluation
    adopted since the last choice reopens the plan."""
    require(cause, Step.PLAN)
    if cause.scenario_chosen and not cause.plan_reopened:
        raise CauseRefused(Rule.PLAN_CHOSEN)


def _plan_blocked(cause: Cause) -> Rule | None:
    """The plan stands on the objectives adopted: at least one, each with its criteria
    complete. An objective still a draft (written later, say) waits for its own decision
    without closing what the adopted ones opened."""
    if not cause.objectives:
        return Rule.NO_OBJECTIVE
    adopted = [o for o in cause.objectives if o.adopted]
    if not adopted:
        return Rule.OBJECTIVE_NOT_ADOPTED
    if not all(o.criteria for o in adopted):
        return Rule.OBJECTIVE_WITHOUT_CRITERION
    if not all(c.complete for o in adopted for c in o.criteria):
        return Rule.CRITERION_INCOMPLETE
    return None


def blocked(cause: Cause, step: Step) -> Rule | None:
    """Why `step` is not open yet (the first rule it waits for), or None: open. Each step
    also needs the ones before it."""
    if not cause.taken_on:
        return Rule.NOT_TAKEN_ON
    if step in (Step.OBSERVE, Step.OBJECTIVES):
        return None
    plan = _plan_blocked(cause)
    if plan is not None or step is Step.PLAN:
        return plan
    if not cause.scenario_chosen:
        return Rule.NO_SCENARIO_CHOSEN
    if step is Step.EVALUATE:
        return None
    return None if cause.evaluation_adopted else Rule.NO_EVALUATION


def require(cause: Cause, step: Step) -> None:
    """Refuse, naming the rule, what belongs to a step not open yet."""
    rule = blocked(cause, step)
    if rule is not None:
        raise CauseRefused(rule)


@dataclass(frozen=True)
class Gate:
    step: Step
    open: bool
    waits_for: Rule | None  # the rule it waits for, when not open
    current: bool = False  # the furthest open step: where the cause is


def stepper(cause: Cause) -> tuple[Gate, ...]:
    """The five steps for the cause page's stepper, each open or with what it waits for."""
    gates = [Gate(step, (rule := blocked(cause, step)) is None, rule) for step in STEPS]
    reached = [g for g in gates if g.open]
    if not reached:
        return tuple(gates)
    furthest = reached[-1].step
    return tuple(Gate(g.step, g.open, g.waits_for, g.step is furthest) for g in gates)
