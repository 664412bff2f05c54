"""What every page of a cause shares: the cause read for the viewer, the stepper of its five
steps, the names shown for steps, gates and themes, and who may do what there. The routes of
each part (routes.py, observe_routes.py, …) render through `cause_page`."""

from __future__ import annotations

from typing import Any

from litestar.response import Template

from consentir.causes import rules
from consentir.causes.rules import Rule, Step
from consentir.causes.store import THEMES, Cause
from consentir.errors import N_
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, allowed
from consentir.spaces.store import SpaceView
from consentir.web.i18n import gettext

STEP_NAMES: dict[str, str] = {
    Step.OBSERVE: N_("Field observation"),
    Step.OBJECTIVES: N_("Objectives"),
    Step.PLAN: N_("Action plan"),
    Step.EVALUATE: N_("Evaluation"),
    Step.CELEBRATE: N_("Celebration"),
}
# What a closed step waits for, in a few words (the rules' MESSAGES say it whole).
GATE_MESSAGES: dict[str, str] = {
    Rule.NOT_TAKEN_ON: N_("waits for the decision taking the cause on"),
    Rule.CRITERIA_UNANSWERED: N_("waits for the three criteria to be answered"),
    Rule.NO_OBJECTIVE: N_("waits for a first objective"),
    Rule.OBJECTIVE_NOT_ADOPTED: N_("waits for the objectives to be adopted"),
    Rule.OBJECTIVE_WITHOUT_CRITERION: N_("waits for an impact criterion per objective"),
    Rule.CRITERION_INCOMPLETE: N_("waits for each criterion's baseline and target"),
    Rule.NO_SCENARIO_CHOSEN: N_("waits for a scenario chosen by decision"),
    Rule.NO_EVALUATION: N_("waits for the evaluation's decision"),
}


def theme_name(theme: str) -> str:
    """A theme in the reader's language: one of the five translated, a free one as written."""
    return gettext(THEMES[theme]) if theme in THEMES else theme


def is_member(here: SpaceView) -> bool:
    """A member of the space (whatever their charter's state): who may see the actor map."""
    return here.standing.member


def may_contribute(here: SpaceView) -> bool:
    """Who adds observations, actors, objectives, scenarios, measurements: a member who may
    act in the space."""
    return allowed(here.standing, Action.PARTICIPATE)


def cause_page(
    name: str, here: SpaceView, cause: Cause, status: int = 200, **context: Any
) -> Template:
    """A page of the cause (templates/causes/layout.html): the space's context, the cause,
    its stepper."""
    return space_page(
        name, here, status, cause=cause, gates=rules.stepper(cause.facts),
        step_names=STEP_NAMES, gate_messages=GATE_MESSAGES, theme_name=theme_name,
        rule_messages=rules.MESSAGES, contribute=may_contribute(here), **context,
    )  # fmt: skip
