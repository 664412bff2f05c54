"""What a notification can say, and who is told after a step of the process. Pure: no I/O.

`after_step` reads a step of the consent process (the state before, the step the rules
returned, who acted) and names who must hear of it: each `Notice` is a kind and an audience,
either people named by id or a group of the space (its facilitators, its members) that the
store resolves. The actor is never told of their own step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from consentir.consent import rules
from consentir.consent.rules import RoundKind, Stage
from consentir.errors import N_
from consentir.web.i18n import format_day


class Kind(StrEnum):
    PROPOSAL_SUBMITTED = "proposal_submitted"
    ROUND_OPENED = "round_opened"
    QUESTION_ASKED = "question_asked"
    QUESTION_ANSWERED = "question_answered"
    OBJECTION_RAISED = "objection_raised"
    OBJECTION_TO_JUDGE = "objection_to_judge"
    OBJECTION_JUDGED = "objection_judged"
    VERSION_NEEDED = "version_needed"
    VERSION_ANSWERS = "version_answers"
    ROUND_READY = "round_ready"
    OBJECT_ROUND_DUE = "object_round_due"
    ROUND_OVERDUE = "round_overdue"
    ADOPTED = "adopted"
    ENDED = "ended"
    MEETING_PLANNED = "meeting_planned"
    MEETING_CHANGED = "meeting_changed"
    CHARTER_TO_SIGN = "charter_to_sign"
    REVIEW_DUE = "review_due"
    TERM_ENDING = "term_ending"  # to the holder: your mandate ends on …
    ROLE_TERM_ENDING = "role_term_ending"  # to the space's facilitators: someone's mandate ends
    # Elections (a proposal with a ballot): the nominations open; they are revealed; the
    # change round opens; a holder is to be proposed (the reasons heard, or a refusal).
    NOMINATIONS_OPEN = "nominations_open"
    NOMINATIONS_REVEALED = "nominations_revealed"
    CHANGE_ROUND_OPEN = "change_round_open"
    HOLDER_TO_PROPOSE = "holder_to_propose"
    # A cause's scenario choice runs the same stages over scenarios (causes/choosing.py).
    PREFERENCES_OPEN = "preferences_open"
    PREFERENCES_REVEALED = "preferences_revealed"
    PREFERENCE_CHANGE_OPEN = "preference_change_open"
    SCENARIO_TO_PROPOSE = "scenario_to_propose"
    # To a cause's followers (causes/following.py): a decision, a measurement, a step.
    CAUSE_DECISION = "cause_decision"
    CAUSE_MEASUREMENT = "cause_measurement"
    CAUSE_STEP = "cause_step"
    CAUSE_CELEBRATION = "cause_celebration"
    # To an action's owner (causes/acting.py): its due date comes near, or has passed.
    ACTION_DUE = "action_due"


# What waits for the person told (their email goes out at once by default); the other kinds
# are news (a daily digest by default). A term ending waits for its holder (stand again, hand
# over); for the facilitators it is news ahead of an election, which no step awaits yet.
FOR_ME = frozenset(Kind) - {
    Kind.QUESTION_ANSWERED, Kind.ADOPTED, Kind.ENDED, Kind.ROLE_TERM_ENDING,
    Kind.CAUSE_DECISION, Kind.CAUSE_MEASUREMENT, Kind.CAUSE_STEP, Kind.CAUSE_CELEBRATION,
}  # fmt: skip

# One sentence each, in the list and in emails; %(title)s is what it is about, %(actor)s who
# acted (may be empty: the deadline), %(space)s where; %(name)s and %(date)s come from the
# notice's data (`sentence_values`).
SENTENCES: dict[Kind, str] = {
    Kind.PROPOSAL_SUBMITTED: N_(
        "New proposal “%(title)s” in %(space)s: ask your questions of clarification."
    ),
    Kind.ROUND_OPENED: N_("“%(title)s”: a round is open and waits for your answer."),
    Kind.QUESTION_ASKED: N_("%(actor)s asked a question about your proposal “%(title)s”."),
    Kind.QUESTION_ANSWERED: N_("Your question about “%(title)s” has an answer."),
    Kind.OBJECTION_RAISED: N_("%(actor)s raised an objection to your proposal “%(title)s”."),
    Kind.OBJECTION_TO_JUDGE: N_("“%(title)s”: an objection waits for your judgement."),
    Kind.OBJECTION_JUDGED: N_(
        "Your objection to “%(title)s” was judged valid: a new version will answer it."
    ),
    Kind.VERSION_NEEDED: N_(
        "“%(title)s”: valid objections wait for a new version that answers them."
    ),
    Kind.VERSION_ANSWERS: N_(
        "“%(title)s”: a new version answers your objection; confirm whether it lifts it."
    ),
    Kind.ROUND_READY: N_("“%(title)s”: everyone has answered; this stage can close."),
    Kind.OBJECT_ROUND_DUE: N_(
        "“%(title)s”: the objections are answered; the objection round can open."
    ),
    Kind.ROUND_OVERDUE: N_("“%(title)s”: the round is past its deadline and waits for you."),
    Kind.ADOPTED: N_("Decision %(number)s adopted in %(space)s: “%(title)s”."),
    Kind.ENDED: N_("“%(title)s” ended without a decision."),
    Kind.MEETING_PLANNED: N_("Meeting planned in %(space)s: %(title)s."),
    Kind.MEETING_CHANGED: N_("The agenda of the meeting “%(title)s” changed."),
    Kind.CHARTER_TO_SIGN: N_("%(space)s: a new version of the charter waits for your signature."),
    Kind.REVIEW_DUE: N_("The decision “%(title)s” is due for review."),
    # %(title)s is the role's name.
    Kind.TERM_ENDING: N_("Your mandate as %(title)s ends on %(date)s."),
    Kind.ROLE_TERM_ENDING: N_("%(name)s's mandate as %(title)s ends on %(date)s."),
    Kind.NOMINATIONS_OPEN: N_("“%(title)s”: nominate the person you think fits, or pass."),
    Kind.NOMINATIONS_REVEALED: N_("“%(title)s”: the nominations are revealed; read the reasons."),
    Kind.CHANGE_ROUND_OPEN: N_("“%(title)s”: you may change your nomination, with a reason."),
    Kind.HOLDER_TO_PROPOSE: N_("“%(title)s”: a holder waits to be proposed."),
    Kind.PREFERENCES_OPEN: N_(
        "“%(title)s”: say which scenario you prefer, and why (sealed until everyone has said)."
    ),
    Kind.PREFERENCES_REVEALED: N_("“%(title)s”: the preferences are revealed; read the reasons."),
    Kind.PREFERENCE_CHANGE_OPEN: N_("“%(title)s”: you may change your preference, with a reason."),
    Kind.SCENARIO_TO_PROPOSE: N_("“%(title)s”: a scenario waits to be proposed for consent."),
    # %(title)s is the cause's; %(number)s a decision's.
    Kind.CAUSE_DECISION: N_("Cause “%(title)s”: decision %(number)s adopted."),
    Kind.CAUSE_MEASUREMENT: N_("Cause “%(title)s”: a new measurement of %(name)s."),
    Kind.CAUSE_STEP: N_("Cause “%(title)s”: a new step opens."),
    # %(date)s: the celebration's day (the notice's data "date", YYYY-MM-DD).
    Kind.CAUSE_CELEBRATION: N_("Cause “%(title)s”: the celebration will be held on %(date)s."),
    # %(title)s is the action's, %(date)s its due date.
    Kind.ACTION_DUE: N_("The action “%(title)s” is due on %(date)s."),
}


NOT_VALID = N_("Your objection to “%(title)s” was judged not valid.")
ACTION_OVERDUE = N_("The action “%(title)s” was due on %(date)s: where is it?")


def sentence(kind: Kind, data: dict[str, object]) -> str:
    """The sentence's message id for this notification (translated by the caller)."""
    if kind is Kind.OBJECTION_JUDGED and data.get("status") != "valid":
        return NOT_VALID
    if kind is Kind.ACTION_DUE and data.get("threshold") == "past":
        return ACTION_OVERDUE
    return SENTENCES[kind]


def sentence_values(data: Mapping[str, object]) -> dict[str, str]:
    """What a sentence takes from its notice's data, for the list and the emails: a person's
    name as it was written, and a day (stored as YYYY-MM-DD) written out in the reader's
    language ("1er juin 2027"). Empty when the data has none."""
    day = data.get("date")
    try:
        written = format_day(date.fromisoformat(day)) if isinstance(day, str) else ""
    except ValueError:
        written = ""
    return {"name": str(data.get("name", "")), "date": written}


class Group(StrEnum):
    FACILITATORS = "facilitators"  # who may facilitate in the space now
    MEMBERS = "members"  # who may act in the space now


@dataclass(frozen=True)
class Notice:
    kind: Kind
    people: frozenset[int] = frozenset()
    group: Group | None = None
    # Where on the proposal's page it leads (an anchor), and what the sentence may add.
    anchor: str = ""
    data: dict[str, str] = field(default_factory=dict)


# A facilitator who is not on the round's list: whether the step is theirs to take now.
_FACILITATOR = rules.Actor(user_id=-1, may_participate=True, may_facilitate=True)


def _facilitator_turn(proposal: rules.Proposal, now: datetime) -> Kind | None:
    """The step the process waits for from a facilitator, if any: closing a round everyone
    has answered, or opening the objection round once the objections are answered."""
    round_ = proposal.round
    seen = proposal.revision
    if proposal.stage in (Stage.REACT, Stage.NOMINATE) and round_ is not None:
        return Kind.ROUND_READY if not round_.missing else None
    questions = proposal.questions
    if proposal.stage is Stage.CLARIFY and questions and all(q.answered for q in questions):
        return Kind.ROUND_READY
    closing = rules.CloseRound(now, seen)
    if proposal.stage is Stage.OBJECT and rules.allowed(proposal, _FACILITATOR, closing):
        return Kind.ROUND_READY
    if proposal.stage is Stage.INTEGRATE:
        opening = rules.OpenObjectRound(frozenset({0}), seen)
        if rules.allowed(proposal, _FACILITATOR, opening):
            return Kind.OBJECT_ROUND_DUE
    return None


def after_step(
    before: rules.Proposal,
    step: rules.Step,
    actor: rules.Actor,
    action: rules.Action,
    now: datetime,
) -> list[Notice]:
    """Who hears of `step`, taken by `actor` on a proposal that was `before`."""
    after = step.proposal
    notices: list[Notice] = []
    for effect in step.effects:
        match effect:
            case rules.RoundOpened(kind=RoundKind.CLARIFY, eligible=eligible):
                notices.append(Notice(Kind.PROPOSAL_SUBMITTED, eligible, anchor="now"))
            case rules.RoundOpened(kind=RoundKind.NOMINATE, eligible=eligible):
                notices.append(Notice(_of(after, Kind.NOMINATIONS_OPEN), eligible, anchor="now"))
            case rules.StageChanged(stage=Stage.REASONS) if after.ballot is not None:
                listed = after.ballot.participants
                revealed = _of(after, Kind.NOMINATIONS_REVEALED)
                notices.append(Notice(revealed, listed, anchor="election"))
                notices.append(Notice(_of(after, Kind.HOLDER_TO_PROPOSE),
                                      group=Group.FACILITATORS, anchor="now"))  # fmt: skip
            case rules.StageChanged(stage=Stage.CHANGE) if after.ballot is not None:
                listed = after.ballot.participants
                notices.append(Notice(_of(after, Kind.CHANGE_ROUND_OPEN), listed, anchor="now"))
            case rules.StageChanged(stage=Stage.INTEGRATE) if after.ballot is not None:
                notices.append(Notice(_of(after, Kind.HOLDER_TO_PROPOSE),
                                      group=Group.FACILITATORS, anchor="now"))  # fmt: skip
            case rules.RoundOpened(kind=kind, eligible=eligible):
                notices.append(
                    Notice(Kind.ROUND_OPENED, eligible, anchor="now", data={"round": kind.value})
                )
            case rules.ObjectionRaised():
                notices.append(Notice(Kind.OBJECTION_RAISED, frozenset({after.proposer}),
                                      anchor="objections"))  # fmt: skip
                notices.append(
                    Notice(Kind.OBJECTION_TO_JUDGE, group=Group.FACILITATORS, anchor="now")
                )
            case rules.ObjectionChanged(objection_id=oid, status=status) if isinstance(
                action, rules.JudgeObjection
            ):
                objector = frozenset({before.objection(oid).objector})
                verdict = {"status": status.value}
                notices.append(
                    Notice(Kind.OBJECTION_JUDGED, objector, anchor="objections", data=verdict)
                )
            case rules.StageChanged(stage=Stage.INTEGRATE):
                notices.append(Notice(Kind.VERSION_NEEDED, frozenset({after.proposer}),
                                      anchor="now"))  # fmt: skip
            case rules.StageChanged(stage=Stage.WITHDRAWN | Stage.REJECTED):
                involved = {after.proposer, *(o.objector for o in before.objections)}
                if before.round is not None:
                    involved |= before.round.eligible
                notices.append(Notice(Kind.ENDED, frozenset(involved)))
            case rules.VersionPublished(answers=answers) if answers:
                objectors = {o.objector for o in before.objections if o.id in answers}
                notices.append(Notice(Kind.VERSION_ANSWERS, frozenset(objectors), anchor="now"))
            case rules.Adopted():
                notices.append(Notice(Kind.ADOPTED, group=Group.MEMBERS))
    match action:
        case rules.AskQuestion():
            notices.append(Notice(Kind.QUESTION_ASKED, frozenset({after.proposer}),
                                  anchor="questions"))  # fmt: skip
        case rules.AnswerQuestion(question_id=qid):
            asker = next((q.author for q in before.questions if q.id == qid), None)
            if asker is not None:
                notices.append(Notice(Kind.QUESTION_ANSWERED, frozenset({asker}),
                                      anchor="questions"))  # fmt: skip
    turn = _facilitator_turn(after, now)
    if turn is not None and turn is not _facilitator_turn(before, now):
        notices.append(Notice(turn, group=Group.FACILITATORS, anchor="now"))
    return [_without(n, actor.user_id) for n in notices]


# An election's notices, as a scenario choice says them.
_OF_SCENARIOS = {
    Kind.NOMINATIONS_OPEN: Kind.PREFERENCES_OPEN,
    Kind.NOMINATIONS_REVEALED: Kind.PREFERENCES_REVEALED,
    Kind.CHANGE_ROUND_OPEN: Kind.PREFERENCE_CHANGE_OPEN,
    Kind.HOLDER_TO_PROPOSE: Kind.SCENARIO_TO_PROPOSE,
}


def _of(proposal: rules.Proposal, kind: Kind) -> Kind:
    if proposal.ballot is not None and not proposal.ballot.of_people:
        return _OF_SCENARIOS[kind]
    return kind


def _without(notice: Notice, user_id: int) -> Notice:
    """Nobody is told of their own step (a group leaves them out in the store)."""
    if user_id in notice.people:
        return Notice(notice.kind, notice.people - {user_id}, notice.group, notice.anchor,
                      notice.data)  # fmt: skip
    return notice
