"""What the pages call the process's states: one name each, translated when shown.

Shared by the proposal pages and the decision register, so a stance or an objection's
status reads the same everywhere.
"""

from __future__ import annotations

from consentir.errors import N_
from consentir.web.i18n import gettext

STAGES = {
    "draft": N_("Draft"),
    "clarify": N_("Clarifying questions"),
    "react": N_("Reactions"),
    "object": N_("Objections"),
    "integrate": N_("Integration"),
    "nominate": N_("Nominations"),
    "reasons": N_("Reasons round"),
    "change": N_("Change round"),
    "adopted": N_("Adopted"),
    "withdrawn": N_("Withdrawn"),
    "rejected": N_("Closed without consent"),
}
# The stepper's last step while the proposal is open: the outcome to come, named by what it
# yields (adopted, withdrawn or closed without consent, each shown by its name once reached).
OUTCOME_STEP = N_("Decision")
STANCES = {
    "consent": N_("consent"),
    "concern": N_("concern"),
    "objection": N_("objection"),
}
LIST_GROUPS = {
    "active": N_("In progress"),
    "drafts": N_("Drafts"),
    "adopted": N_("Adopted"),
    "closed": N_("Withdrawn or closed"),
}
ROUND_KINDS = {
    "clarify": N_("Clarifying round"),
    "react": N_("Reaction round"),
    "object": N_("Objection round"),
    "nominate": N_("Nominations round"),
}
OUTCOMES = {
    "adopted": N_("adopted"),
    "integrate": N_("valid objections to integrate"),
    "advanced": N_("moved on to the next stage"),
    "restarted": N_("restarted on a new version"),
    "ended": N_("ended"),
    "declined": N_("the person proposed declined"),
}
OBJECTION_STATUSES = {
    "raised": N_("raised, to be judged"),
    "valid": N_("valid, to be integrated"),
    "not_valid": N_("not valid"),
    "withdrawn": N_("withdrawn"),
    "integrated": N_("integrated"),
}
DECISION_STATUSES = {
    "in_force": N_("in force"),
    "superseded": N_("superseded"),
    "repealed": N_("repealed"),
}

# What the process waits for from this person, said first in the "what you can do now" box
# (the main step of `rules.available`).
NEXT_STEPS = {
    "submit": N_("Submit your draft to the group when it is ready."),
    "answer": N_("Answer the clarifying questions asked."),
    "ask": N_("Ask your clarifying questions, if you have any."),
    "advance": N_("Close this round when the group is ready, and go to the next stage."),
    "react": N_("Give your reaction, or pass."),
    "position": N_("Give your position on the current version."),
    "confirm": N_("Say whether the new version removes your objection."),
    "judge": N_("Judge the objection raised: is it valid?"),
    "close-round": N_("Close the objection round."),
    "publish": N_("Publish a new version that answers the valid objections."),
    "open-object-round": N_("Open the objection round on the new version."),
    "nominate": N_("Nominate the person you think fits the role, or pass, with your reason."),
    "reveal": N_("Everyone has nominated: reveal the nominations."),
    "propose-holder": N_("Propose a holder, with your reasons, and open the consent round."),
}

# A step of this person's that cannot be taken yet, named before what it waits for.
WAITING_STEPS = {
    "submit": N_("Submitting the draft"),
    "answer": N_("Answering the questions"),
    "advance": N_("Going to the next stage"),
    "publish": N_("Publishing a new version"),
    "confirm": N_("Confirming the new version"),
    "judge": N_("Judging the objection"),
    "close-round": N_("Closing the objection round"),
    "open-object-round": N_("Opening the objection round"),
    "reveal": N_("Revealing the nominations"),
    "propose-holder": N_("Proposing a holder"),
}

# What each kind of step waiting on the dashboard asks of the person (store.Awaiting.kind;
# "answer" reads "answer_react" in a reaction round).
WAITING_KINDS = {
    "ask": N_("questions welcome: ask yours"),
    "answer": N_("give your position"),
    "answer_react": N_("give your reaction"),
    "questions": N_("questions to answer"),
    "judge": N_("objections to judge"),
    "close": N_("everyone answered: close the round"),
    "overdue": N_("past its deadline: decide how to go on"),
    "publish": N_("publish a version that answers the valid objections"),
    "confirm": N_("say whether the new version removes your objection"),
    "open": N_("the objections are answered: open the objection round"),
    "sign": N_("sign the charter"),
    "run": N_("a meeting you run"),
    "meeting": N_("a meeting you are invited to"),
    "review": N_("decision to review"),
    "nominate": N_("an election: nominate someone, or pass"),
    "reveal": N_("everyone has nominated: reveal the nominations"),
    "propose": N_("an election: propose a holder"),
    "prefer": N_("a scenario choice: say which you prefer, and why"),
    "propose_scenario": N_("a scenario choice: propose a scenario for consent"),
}

# For templates: every label table under one name each.
CONTEXT = {
    "next_steps": NEXT_STEPS,
    "waiting_steps": WAITING_STEPS,
    "stage_names": STAGES,
    "stance_names": STANCES,
    "round_kinds": ROUND_KINDS,
    "outcomes": OUTCOMES,
    "objection_status_names": OBJECTION_STATUSES,
    "statuses": DECISION_STATUSES,
    "outcome_step": OUTCOME_STEP,
}


# A scenario choice runs an election's stages over scenarios (causes/choosing.py): its pages
# name them so, over the election's names.
CHOICE_CONTEXT = {
    "stage_names": {
        **STAGES,
        "nominate": N_("Preferences"),
        "reasons": N_("Reasons round"),
        "change": N_("Change round"),
    },
    "round_kinds": {**ROUND_KINDS, "nominate": N_("Preferences round")},
    "next_steps": {
        **NEXT_STEPS,
        "nominate": N_("Say which scenario you prefer, or none, with your reason."),
        "reveal": N_("Everyone has said their preference: reveal the preferences."),
        "propose-holder": N_("Propose a scenario, with your reasons, and open the consent round."),
    },
    "waiting_steps": {
        **WAITING_STEPS,
        "reveal": N_("Revealing the preferences"),
        "propose-holder": N_("Proposing a scenario"),
    },
}


def words() -> dict[str, str]:
    """Short labels the proposal's templates repeat inside per-person loops, translated once
    per page (a `_()` per line of a long round costs more than the rest of the line)."""
    return {
        "answered": gettext("answered"),
        "waiting": gettext("waiting"),
        "passed": gettext("passed"),
        "silent": gettext("(silence after the deadline)"),
        "answer": gettext("Answer:"),
        "status": gettext("Status:"),
        # "Name: text" in English, "Name : text" in French.
        "name_sep": gettext("%(name)s: %(text)s") % {"name": "", "text": ""},
    }


# Lists that hold both kinds (the proposals list) name a choice's stages its own way.
CONTEXT["choice_stage_names"] = CHOICE_CONTEXT["stage_names"]
