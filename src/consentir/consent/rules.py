"""The consent process as a pure state machine: no I/O, no clock, no database.

A proposal goes draft → clarify → react → object ⇄ integrate → adopted | withdrawn |
rejected (closed without consent). An election (a proposal of kind "election", with a
`ballot`: elections/rules.py) goes draft → nominate → reasons → change → object ⇄ integrate:
its versions each propose a holder, and its adoption grants the mandate.
`step(proposal, actor, action)` either refuses the action with a RuleViolation naming its
rule, or returns the proposal's next state and the effects the store must write (a round
opened, a position kept, an objection raised…).
The store loads the state, asks `step`, and persists the effects in one transaction; the
property tests drive `step` through thousands of random sequences.

Who is who: the proposer wrote the proposal; facilitators are the space's facilitators
and administrators; participants are the people on a round's list, frozen when the round
opens (the space's members who may act, the proposer excepted); everyone else who can
see the space is an observer.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from consentir.elections.rules import Ballot, Nomination
from consentir.errors import N_, DomainError


class Stage(StrEnum):
    DRAFT = "draft"
    CLARIFY = "clarify"
    REACT = "react"
    OBJECT = "object"
    INTEGRATE = "integrate"
    # An election's stages before its consent round (elections/rules.py).
    NOMINATE = "nominate"  # nominations, sealed
    REASONS = "reasons"  # revealed, each with its reason
    CHANGE = "change"  # anyone may move their nomination
    ADOPTED = "adopted"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"  # closed without consent

    @property
    def closed(self) -> bool:
        return self in CLOSED_STAGES


CLOSED_STAGES = frozenset({Stage.ADOPTED, Stage.WITHDRAWN, Stage.REJECTED})
# The stepper shows these, in order; the object ⇄ integrate loop counts as one step each.
STEPS = (Stage.DRAFT, Stage.CLARIFY, Stage.REACT, Stage.OBJECT, Stage.INTEGRATE)
ELECTION_STEPS = (
    Stage.DRAFT, Stage.NOMINATE, Stage.REASONS, Stage.CHANGE, Stage.OBJECT, Stage.INTEGRATE,
)  # fmt: skip
# A cause's scenario choice: clarifying questions first, then an election's stages, where
# each person states a preference for a scenario (causes/choosing.py).
CHOICE_STEPS = (
    Stage.DRAFT, Stage.CLARIFY, Stage.NOMINATE, Stage.REASONS, Stage.CHANGE, Stage.OBJECT,
    Stage.INTEGRATE,
)  # fmt: skip
# The election's stages where its nominations round is open.
NOMINATION_STAGES = frozenset({Stage.NOMINATE, Stage.REASONS, Stage.CHANGE})


class RoundKind(StrEnum):
    CLARIFY = "clarify"
    REACT = "react"
    OBJECT = "object"
    NOMINATE = "nominate"  # an election's nominations (open from nominate to change)


ROUND_OF_STAGE = {
    Stage.CLARIFY: RoundKind.CLARIFY,
    Stage.REACT: RoundKind.REACT,
    Stage.OBJECT: RoundKind.OBJECT,
    Stage.NOMINATE: RoundKind.NOMINATE,
}


class Stance(StrEnum):
    CONSENT = "consent"
    CONCERN = "concern"  # consent, with a concern kept on record
    OBJECTION = "objection"


class ObjectionStatus(StrEnum):
    RAISED = "raised"  # not judged yet
    VALID = "valid"
    NOT_VALID = "not_valid"
    WITHDRAWN = "withdrawn"
    INTEGRATED = "integrated"


OPEN_OBJECTION = frozenset({ObjectionStatus.RAISED, ObjectionStatus.VALID})


class Outcome(StrEnum):
    ADOPTED = "adopted"  # no open valid objection
    INTEGRATE = "integrate"  # valid objections to integrate in a new version
    ADVANCED = "advanced"  # a clarify or react round ended; the next stage began
    RESTARTED = "restarted"  # the text changed during an object round
    ENDED = "ended"  # the proposal was withdrawn or closed without consent
    DECLINED = "declined"  # an election's person proposed said no: propose someone else


# --- state --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acts: their account, and what the space lets them do."""

    user_id: int
    may_participate: bool  # a member who may act in the space (charter signed)
    may_facilitate: bool  # a facilitator or administrator who may act


SYSTEM = Actor(user_id=0, may_participate=False, may_facilitate=True)  # the deadline task


@dataclass(frozen=True)
class Question:
    id: int
    author: int
    answered: bool


@dataclass(frozen=True)
class Objection:
    id: int
    objector: int
    version: int  # the version objected to
    status: ObjectionStatus
    answered_in: int | None = None  # the version that says it answers this objection
    # Each confirmation is its author's own act: the proposer's, by publishing the version
    # that answers it; the objector's, by confirming (or consenting to) that version.
    proposer_confirmed: bool = False
    objector_confirmed: bool = False


@dataclass(frozen=True)
class Round:
    kind: RoundKind
    version: int
    eligible: frozenset[int]  # frozen when the round opened
    # user → their current answer in this round: a stance (object round) or "reacted".
    answers: tuple[tuple[int, str], ...] = ()
    deadline: datetime | None = None

    @property
    def answered(self) -> frozenset[int]:
        return frozenset(user for user, _ in self.answers)

    @property
    def missing(self) -> frozenset[int]:
        return self.eligible - self.answered

    def answer_of(self, user: int) -> str | None:
        return next((answer for who, answer in self.answers if who == user), None)


@dataclass(frozen=True)
class Proposal:
    stage: Stage
    proposer: int
    version: int  # the current version's number, from 1
    silence_is_consent: bool = False
    round: Round | None = None  # the open round, if any
    questions: tuple[Question, ...] = ()
    objections: tuple[Objection, ...] = ()
    decided: bool = False
    # Every successful step increments it: a step that moves the process names the revision
    # it was decided on, and a stale one is refused (a double click, two open pages).
    revision: int = 1
    # Who is recorded present (in the room or remotely) at a meeting of the space open now:
    # only for them may a facilitator record a position on their behalf.
    present: frozenset[int] = frozenset()
    # An election's own part (None for any other proposal).
    ballot: Ballot | None = None

    def objection(self, objection_id: int) -> Objection:
        for objection in self.objections:
            if objection.id == objection_id:
                return objection
        raise RuleViolation(Rule.OBJECTION_UNKNOWN, status=404)

    @property
    def open_valid_objections(self) -> tuple[Objection, ...]:
        return tuple(o for o in self.objections if o.status is ObjectionStatus.VALID)


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditDraft:
    pass


@dataclass(frozen=True)
class Submit:
    """Draft → clarify. `eligible`: who may take part now (the proposer is left out).
    An election: draft → nominate, with everyone on the list (the proposer too), and
    `nominable`, who may be nominated (eligibility and term limits checked now). A scenario
    choice: draft → clarify, its list frozen (the proposer too) with `nominable`, the
    scenarios that may be preferred."""

    eligible: frozenset[int]
    nominable: frozenset[int] = frozenset()


@dataclass(frozen=True)
class AskQuestion:
    pass


@dataclass(frozen=True)
class AnswerQuestion:
    question_id: int


@dataclass(frozen=True)
class Advance:
    """The facilitator ends the clarify round (→ react) or the react round (→ object)."""

    eligible: frozenset[int]
    seen: int | None = None  # the revision it was decided on (see `_fresh`)


@dataclass(frozen=True)
class React:
    passed: bool = False


@dataclass(frozen=True)
class PublishVersion:
    """A new version of the text. In the integrate stage it must name the valid
    objections it answers (the proposer thereby confirms it still serves the driver)."""

    answers: frozenset[int] = frozenset()
    seen: int | None = None


@dataclass(frozen=True)
class GivePosition:
    """`person` gives `stance` on version `version`; a facilitator may record it for
    someone present (then `person` differs from the actor)."""

    person: int
    stance: Stance
    version: int
    reason: str = ""


@dataclass(frozen=True)
class JudgeObjection:
    objection_id: int
    valid: bool
    reason: str
    seen: int | None = None


@dataclass(frozen=True)
class WithdrawObjection:
    objection_id: int


@dataclass(frozen=True)
class ConfirmIntegration:
    """The objector confirms the version that answers their objection removes it."""

    objection_id: int


@dataclass(frozen=True)
class OpenObjectRound:
    """Integrate → object: a new object round on the new version."""

    eligible: frozenset[int]
    seen: int | None = None


@dataclass(frozen=True)
class CloseRound:
    now: datetime
    seen: int | None = None


@dataclass(frozen=True)
class SetDeadline:
    deadline: datetime | None
    now: datetime


@dataclass(frozen=True)
class DeadlinePassed:
    """The scheduled task, at a round's deadline: close it as the rules say, if they can.
    `eligible` is the list for the next round, when a clarify or react round ends."""

    now: datetime
    eligible: frozenset[int]


@dataclass(frozen=True)
class Withdraw:
    seen: int | None = None


@dataclass(frozen=True)
class CloseWithoutConsent:
    reason: str
    seen: int | None = None


@dataclass(frozen=True)
class Nominate:
    """An election: a person on the list nominates `nominee` (None: passes), with a reason;
    in the change round, a moved nomination."""

    nominee: int | None
    reason: str


@dataclass(frozen=True)
class Reveal:
    """An election: the facilitator reveals the nominations, once everyone has answered or
    the round's deadline has passed (the deadline task reveals them then)."""

    now: datetime
    seen: int | None = None


@dataclass(frozen=True)
class OpenChangeRound:
    seen: int | None = None


@dataclass(frozen=True)
class ProposeHolder:
    """An election: the facilitator proposes a holder, with reasons; a new version names
    them (and the term) and the consent round opens on it. In the integrate stage, after a
    valid objection or the person's refusal, it proposes again (someone else, or the same
    person with the term adjusted)."""

    nominee: int
    reason: str
    seen: int | None = None


Action = (
    EditDraft
    | Submit
    | AskQuestion
    | AnswerQuestion
    | Advance
    | React
    | PublishVersion
    | GivePosition
    | JudgeObjection
    | WithdrawObjection
    | ConfirmIntegration
    | OpenObjectRound
    | CloseRound
    | SetDeadline
    | DeadlinePassed
    | Withdraw
    | CloseWithoutConsent
    | Nominate
    | Reveal
    | OpenChangeRound
    | ProposeHolder
)


# --- effects: what the store writes --------------------------------------------------------


@dataclass(frozen=True)
class RoundOpened:
    kind: RoundKind
    version: int
    eligible: frozenset[int]


@dataclass(frozen=True)
class RoundClosed:
    outcome: Outcome
    silent: frozenset[int] = frozenset()  # counted as consenting by silence


@dataclass(frozen=True)
class StageChanged:
    stage: Stage


@dataclass(frozen=True)
class VersionPublished:
    number: int
    answers: frozenset[int]


@dataclass(frozen=True)
class PositionKept:
    person: int
    stance: Stance
    version: int
    on_behalf: bool


@dataclass(frozen=True)
class ObjectionRaised:
    objector: int
    version: int


@dataclass(frozen=True)
class ObjectionChanged:
    objection_id: int
    status: ObjectionStatus
    answered_in: int | None = None
    proposer_confirms: bool = False  # the proposer, acting, confirms the answering version
    objector_confirms: bool = False  # the objector, acting, confirms it removes the objection


@dataclass(frozen=True)
class Adopted:
    version: int


@dataclass(frozen=True)
class NominationKept:
    voter: int
    nominee: int | None
    changed: bool  # moved in the change round


# The steps that move the process: each carries the revision it was decided on. The web
# layer requires it from every form and API call; only the deadline task (which decides on
# the state it has locked) and the rules' own probes leave it out.
MovingAction = (
    Advance
    | PublishVersion
    | JudgeObjection
    | OpenObjectRound
    | CloseRound
    | Withdraw
    | CloseWithoutConsent
    | Reveal
    | OpenChangeRound
    | ProposeHolder
)
MOVING_ACTIONS = (
    Advance,
    PublishVersion,
    JudgeObjection,
    OpenObjectRound,
    CloseRound,
    Withdraw,
    CloseWithoutConsent,
    Reveal,
    OpenChangeRound,
    ProposeHolder,
)


Effect = (
    RoundOpened
    | RoundClosed
    | StageChanged
    | VersionPublished
    | PositionKept
    | ObjectionRaised
    | ObjectionChanged
    | Adopted
    | NominationKept
)


@dataclass(frozen=True)
class Step:
    proposal: Proposal
    effects: tuple[Effect, ...] = field(default=())


# --- refusals -----------------------------------------------------------------------------


class Rule(StrEnum):
    """Every rule the process enforces. The value is the machine-readable code."""

    NOT_PARTICIPANT = "not_participant"
    PROPOSER_ONLY = "proposer_only"
    FACILITATOR_ONLY = "facilitator_only"
    CLOSED = "proposal_closed"
    NOT_DRAFT = "not_a_draft"
    WRONG_STAGE = "wrong_stage"
    NO_OPEN_ROUND = "no_open_round"
    NOT_ELIGIBLE = "not_eligible"
    PROPOSER_ASKS = "proposer_cannot_answer_round"
    QUESTION_UNKNOWN = "question_unknown"
    QUESTION_ANSWERED = "question_already_answered"
    QUESTIONS_UNANSWERED = "questions_unanswered"
    ALREADY_REACTED = "already_reacted"
    STALE_VERSION = "stale_version"
    REASON_REQUIRED = "reason_required"
    NOT_YOUR_POSITION = "not_your_position"
    OBJECTION_UNKNOWN = "objection_unknown"
    OBJECTION_JUDGED = "objection_already_judged"
    OBJECTION_NOT_OPEN = "objection_not_open"
    NOT_OBJECTOR = "not_the_objector"
    NOT_ANSWERED = "objection_not_answered"
    VERSION_ANSWERS_NOTHING = "version_answers_nothing"
    VERSION_ANSWERS_INVALID = "version_answers_invalid"
    UNANSWERED_OBJECTIONS = "objections_not_integrated"
    NO_NEW_VERSION = "no_new_version"
    POSITIONS_MISSING = "positions_missing"
    OBJECTIONS_UNJUDGED = "objections_unjudged"
    DEADLINE_PAST = "deadline_in_the_past"
    DEADLINE_NOT_REACHED = "deadline_not_reached"
    NOBODY_ELIGIBLE = "nobody_eligible"
    STALE_STATE = "stale_state"
    NOT_PRESENT = "on_behalf_not_present"
    ON_BEHALF_LIFTS = "on_behalf_cannot_lift_objection"
    NOT_AN_ELECTION = "not_an_election"
    ELECTION_STEP = "election_step"
    NOMINATIONS_SEALED = "nominations_missing"
    NOMINEE_NOT_ELIGIBLE = "nominee_not_eligible"
    SCENARIO_NOT_IN_CHOICE = "scenario_not_in_choice"  # a scenario choice's own words
    NOMINEE_DECLINED = "nominee_declined"
    NOMINEE_ANSWERS_LAST = "nominee_answers_last"


MESSAGES: dict[Rule, str] = {
    Rule.NOT_PARTICIPANT: N_("Only members who may act in this space can do this."),
    Rule.PROPOSER_ONLY: N_("Only the proposer can do this."),
    Rule.FACILITATOR_ONLY: N_("Only a facilitator of this space can do this."),
    Rule.CLOSED: N_("This proposal is closed: nothing more can change."),
    Rule.NOT_DRAFT: N_("Only a draft can be edited: publish a new version instead."),
    Rule.WRONG_STAGE: N_("This cannot be done at the proposal's current stage."),
    Rule.NO_OPEN_ROUND: N_("No round is open at the moment."),
    Rule.NOT_ELIGIBLE: N_("You are not on this round's list: it was fixed when the round opened."),
    Rule.PROPOSER_ASKS: N_("The proposer listens during the rounds and answers questions."),
    Rule.QUESTION_UNKNOWN: N_("This question does not exist."),
    Rule.QUESTION_ANSWERED: N_("This question already has its answer."),
    Rule.QUESTIONS_UNANSWERED: N_("Some questions are still waiting for the proposer's answer."),
    Rule.ALREADY_REACTED: N_("Each participant gives one reaction per round."),
    Rule.STALE_VERSION: N_(
        "The proposal has a new version since you opened the page: read it and answer again."
    ),
    Rule.REASON_REQUIRED: N_("Give the reason: it is kept on record."),
    Rule.NOT_YOUR_POSITION: N_(
        "Only a facilitator can record a position on behalf of someone present."
    ),
    Rule.OBJECTION_UNKNOWN: N_("This objection does not exist."),
    Rule.OBJECTION_JUDGED: N_("This objection has already been judged."),
    Rule.OBJECTION_NOT_OPEN: N_("This objection is no longer open."),
    Rule.NOT_OBJECTOR: N_("Only the person who raised this objection can do this."),
    Rule.NOT_ANSWERED: N_("No version answers this objection yet."),
    Rule.VERSION_ANSWERS_NOTHING: N_("Say which valid objections this new version answers."),
    Rule.VERSION_ANSWERS_INVALID: N_(
        "A new version can only answer objections that were judged valid and are open."
    ),
    Rule.UNANSWERED_OBJECTIONS: N_(
        "Every valid objection must be answered by a new version, or withdrawn, first."
    ),
    Rule.NO_NEW_VERSION: N_("Publish a new version that integrates the objections first."),
    Rule.POSITIONS_MISSING: N_(
        "Some participants have not given their position on the current version yet."
    ),
    Rule.OBJECTIONS_UNJUDGED: N_("Judge every objection raised before closing the round."),
    Rule.DEADLINE_PAST: N_("The deadline must be in the future."),
    Rule.DEADLINE_NOT_REACHED: N_("This round's deadline has not passed yet."),
    Rule.NOBODY_ELIGIBLE: N_("Nobody but the proposer could take part: invite members first."),
    Rule.STALE_STATE: N_(
        "This proposal changed since the page was opened (someone acted meanwhile): here is"
        " its current state. Check it, then act again if you still want to."
    ),
    Rule.NOT_PRESENT: N_(
        "A position is recorded on someone's behalf only during an open meeting of this"
        " space where they are recorded present."
    ),
    Rule.ON_BEHALF_LIFTS: N_(
        "Only the objector can lift their objection: they give their position themselves."
    ),
    Rule.NOT_AN_ELECTION: N_("This step belongs to elections only."),
    Rule.ELECTION_STEP: N_(
        "In an election, a facilitator proposes a holder: that publishes the new version and"
        " opens the consent round."
    ),
    Rule.NOMINATIONS_SEALED: N_(
        "Nominations stay sealed until everyone on the list has answered or the deadline has"
        " passed."
    ),
    Rule.NOMINEE_NOT_ELIGIBLE: N_(
        "This person cannot be chosen for this role: not a member who may act here, or past"
        " the role's limit of consecutive terms."
    ),
    Rule.SCENARIO_NOT_IN_CHOICE: N_("This scenario is not one of this choice's."),
    Rule.NOMINEE_DECLINED: N_("This person declined in an earlier round: propose someone else."),
    Rule.NOMINEE_ANSWERS_LAST: N_(
        "The person proposed answers last, once everyone else on the list has."
    ),
}

_STATUS: dict[Rule, int] = {
    Rule.NOT_PARTICIPANT: 403,
    Rule.PROPOSER_ONLY: 403,
    Rule.FACILITATOR_ONLY: 403,
    Rule.NOT_ELIGIBLE: 403,
    Rule.PROPOSER_ASKS: 403,
    Rule.NOT_YOUR_POSITION: 403,
    Rule.NOT_OBJECTOR: 403,
    Rule.ON_BEHALF_LIFTS: 403,
    Rule.QUESTION_UNKNOWN: 404,
    Rule.OBJECTION_UNKNOWN: 404,
    Rule.REASON_REQUIRED: 422,
    Rule.VERSION_ANSWERS_NOTHING: 422,
    Rule.VERSION_ANSWERS_INVALID: 422,
    Rule.DEADLINE_PAST: 422,
    Rule.NOMINEE_NOT_ELIGIBLE: 422,
    Rule.SCENARIO_NOT_IN_CHOICE: 422,
    Rule.NOMINEE_DECLINED: 422,
}

# The form field a refusal concerns, so the page shows it next to that field.
_FIELD: dict[Rule, str] = {
    Rule.REASON_REQUIRED: "reason",
    Rule.VERSION_ANSWERS_NOTHING: "answers",
    Rule.VERSION_ANSWERS_INVALID: "answers",
    Rule.DEADLINE_PAST: "deadline",
    Rule.NOMINEE_NOT_ELIGIBLE: "nominee",
    Rule.SCENARIO_NOT_IN_CHOICE: "nominee",
    Rule.NOMINEE_DECLINED: "nominee",
}


class RuleViolation(DomainError):
    """A step the process forbids. 409 (conflict with the proposal's state) unless the rule
    is about who acts (403), what does not exist (404) or what was sent (422)."""

    def __init__(self, rule: Rule, *, status: int | None = None) -> None:
        super().__init__(
            rule.value,
            MESSAGES[rule],
            status=status or _STATUS.get(rule, 409),
            field=_FIELD.get(rule),
        )
        self.rule = rule


RULE_CODES = frozenset(rule.value for rule in Rule)


# --- who may see ---------------------------------------------------------------------------


def may_view(proposal: Proposal, actor: Actor | None, *, may_view_space: bool) -> bool:
    """A draft is seen by its proposer and the facilitators; the rest by the space."""
    if not may_view_space:
        return False
    if proposal.stage is Stage.DRAFT:
        return actor is not None and (actor.user_id == proposal.proposer or actor.may_facilitate)
    return True


# --- the machine --------------------------------------------------------------------------


def _require(condition: bool, rule: Rule) -> None:
    if not condition:
        raise RuleViolation(rule)


def _open(proposal: Proposal) -> None:
    _require(not proposal.stage.closed, Rule.CLOSED)


def _proposer(proposal: Proposal, actor: Actor) -> None:
    _require(actor.user_id == proposal.proposer, Rule.PROPOSER_ONLY)
    _require(actor.may_participate, Rule.NOT_PARTICIPANT)


def _facilitator(actor: Actor) -> None:
    _require(actor.may_facilitate, Rule.FACILITATOR_ONLY)


def _round(proposal: Proposal, kind: RoundKind) -> Round:
    _open(proposal)
    _require(proposal.stage is _STAGE_OF_ROUND[kind], Rule.WRONG_STAGE)
    _require(proposal.round is not None and proposal.round.kind is kind, Rule.NO_OPEN_ROUND)
    assert proposal.round is not None
    return proposal.round


_STAGE_OF_ROUND = {kind: stage for stage, kind in ROUND_OF_STAGE.items()}


def _participant(proposal: Proposal, actor: Actor, round_: Round) -> None:
    # The proposer listens; in an election, the facilitator who opened it is on the list.
    _require(actor.user_id != proposal.proposer or proposal.ballot is not None,
             Rule.PROPOSER_ASKS)  # fmt: skip
    _require(actor.may_participate, Rule.NOT_PARTICIPANT)
    _require(actor.user_id in round_.eligible, Rule.NOT_ELIGIBLE)


def _open_round(proposal: Proposal, kind: RoundKind, eligible: frozenset[int]) -> Step:
    if proposal.ballot is None:
        eligible = eligible - {proposal.proposer}
    _require(bool(eligible), Rule.NOBODY_ELIGIBLE)
    stage = _STAGE_OF_ROUND[kind]
    opened = Round(kind=kind, version=proposal.version, eligible=eligible)
    return Step(
        replace(proposal, stage=stage, round=opened),
        (StageChanged(stage), RoundOpened(kind, proposal.version, eligible)),
    )


def _with_objection(proposal: Proposal, changed: Objection) -> Proposal:
    objections = tuple(changed if o.id == changed.id else o for o in proposal.objections)
    return replace(proposal, objections=objections)


def _set_status(
    proposal: Proposal,
    objection: Objection,
    status: ObjectionStatus,
    answered_in: int | None = None,
    *,
    proposer_confirms: bool = False,
    objector_confirms: bool = False,
) -> tuple[Proposal, ObjectionChanged]:
    """The objection's new status (and answering version); a confirmation is recorded only
    when its author is the one acting (the callers know who acts)."""
    answered_in = answered_in or objection.answered_in
    changed = replace(
        objection,
        status=status,
        answered_in=answered_in,
        proposer_confirmed=objection.proposer_confirmed or proposer_confirms,
        objector_confirmed=objection.objector_confirmed or objector_confirms,
    )
    effect = ObjectionChanged(
        objection.id, status, answered_in, proposer_confirms, objector_confirms
    )
    return _with_objection(proposal, changed), effect


def step(proposal: Proposal, actor: Actor, action: Action) -> Step:
    """The next state after `actor` does `action`, or a RuleViolation naming the rule.
    Every step taken moves the proposal's revision on."""
    if isinstance(action, MOVING_ACTIONS):
        _fresh(proposal, actor, action)
    result = _step(proposal, actor, action)
    return Step(replace(result.proposal, revision=proposal.revision + 1), result.effects)


def _fresh(proposal: Proposal, actor: Actor, action: MovingAction) -> None:
    """A step that moves the process is decided on the state its sender saw: if anything
    changed since (another facilitator already moved on, a second click), it is refused,
    unless this person may not take it at all (or what it names does not exist): that
    refusal says more."""
    _open(proposal)
    if action.seen is None or action.seen == proposal.revision:
        return
    try:
        _step(proposal, actor, action)
    except RuleViolation as refused:
        if refused.status in (403, 404):
            raise
    raise RuleViolation(Rule.STALE_STATE)


def _step(proposal: Proposal, actor: Actor, action: Action) -> Step:
    match action:
        case EditDraft():
            _open(proposal)
            _proposer(proposal, actor)
            _require(proposal.stage is Stage.DRAFT, Rule.NOT_DRAFT)
            return Step(proposal)
        case Submit(eligible=eligible):
            _open(proposal)
            _require(proposal.stage is Stage.DRAFT, Rule.WRONG_STAGE)
            if actor.user_id != proposal.proposer:
                _facilitator(actor)
            else:
                _proposer(proposal, actor)
            if proposal.ballot is not None:
                return _open_nominations(proposal, eligible, action.nominable)
            return _open_round(proposal, RoundKind.CLARIFY, eligible)
        case AskQuestion():
            round_ = _round(proposal, RoundKind.CLARIFY)
            _participant(proposal, actor, round_)
            next_id = max((q.id for q in proposal.questions), default=0) + 1
            asked = Question(next_id, actor.user_id, answered=False)
            return Step(replace(proposal, questions=(*proposal.questions, asked)))
        case AnswerQuestion(question_id=question_id):
            _open(proposal)
            _proposer(proposal, actor)
            question = next((q for q in proposal.questions if q.id == question_id), None)
            if question is None:
                raise RuleViolation(Rule.QUESTION_UNKNOWN)
            _require(not question.answered, Rule.QUESTION_ANSWERED)
            answered = replace(question, answered=True)
            questions = tuple(answered if q.id == question_id else q for q in proposal.questions)
            return Step(replace(proposal, questions=questions))
        case Advance(eligible=eligible):
            _open(proposal)
            _facilitator(actor)
            return _advance(proposal, eligible, RoundClosed(Outcome.ADVANCED))
        case React():
            round_ = _round(proposal, RoundKind.REACT)
            _participant(proposal, actor, round_)
            _require(actor.user_id not in round_.answered, Rule.ALREADY_REACTED)
            answers = (*round_.answers, (actor.user_id, "passed" if action.passed else "reacted"))
            return Step(replace(proposal, round=replace(round_, answers=answers)))
        case PublishVersion(answers=answers):
            return _publish(proposal, actor, answers)
        case GivePosition():
            return _position(proposal, actor, action)
        case JudgeObjection(objection_id=objection_id, valid=valid, reason=reason):
            _open(proposal)
            _facilitator(actor)
            _require(proposal.stage in (Stage.OBJECT, Stage.INTEGRATE), Rule.WRONG_STAGE)
            objection = proposal.objection(objection_id)
            _require(objection.status is ObjectionStatus.RAISED, Rule.OBJECTION_JUDGED)
            _require(bool(reason.strip()), Rule.REASON_REQUIRED)
            status = ObjectionStatus.VALID if valid else ObjectionStatus.NOT_VALID
            judged, effect = _set_status(proposal, objection, status)
            return Step(judged, (effect,))
        case WithdrawObjection(objection_id=objection_id):
            _open(proposal)
            objection = proposal.objection(objection_id)
            _require(actor.user_id == objection.objector, Rule.NOT_OBJECTOR)
            _require(objection.status in OPEN_OBJECTION, Rule.OBJECTION_NOT_OPEN)
            withdrawn, effect = _set_status(proposal, objection, ObjectionStatus.WITHDRAWN)
            return Step(withdrawn, (effect,))
        case ConfirmIntegration(objection_id=objection_id):
            _open(proposal)
            objection = proposal.objection(objection_id)
            _require(actor.user_id == objection.objector, Rule.NOT_OBJECTOR)
            _require(objection.status is ObjectionStatus.VALID, Rule.OBJECTION_NOT_OPEN)
            _require(objection.answered_in is not None, Rule.NOT_ANSWERED)
            integrated, effect = _set_status(
                proposal, objection, ObjectionStatus.INTEGRATED, objector_confirms=True
            )
            return Step(integrated, (effect,))
        case OpenObjectRound(eligible=eligible):
            _open(proposal)
            _facilitator(actor)
            _require(proposal.ballot is None, Rule.ELECTION_STEP)
            _require(proposal.stage is Stage.INTEGRATE, Rule.WRONG_STAGE)
            unanswered = [o for o in proposal.open_valid_objections if o.answered_in is None]
            _require(not unanswered, Rule.UNANSWERED_OBJECTIONS)
            objected = max((o.version for o in proposal.objections), default=0)
            # With no valid objection left (withdrawn, or confirmed integrated) there is
            # nothing to integrate, and no version could be published: no new one is needed.
            _require(
                proposal.version > objected or not proposal.open_valid_objections,
                Rule.NO_NEW_VERSION,
            )
            return _open_round(proposal, RoundKind.OBJECT, eligible)
        case CloseRound(now=now):
            _open(proposal)
            _facilitator(actor)
            _require(proposal.round is not None, Rule.NO_OPEN_ROUND)
            assert proposal.round is not None
            if proposal.round.kind is not RoundKind.OBJECT:
                raise RuleViolation(Rule.WRONG_STAGE)
            return _close_object_round(proposal, proposal.round, now)
        case SetDeadline(deadline=deadline, now=now):
            _open(proposal)
            _facilitator(actor)
            _require(proposal.round is not None, Rule.NO_OPEN_ROUND)
            assert proposal.round is not None
            _require(deadline is None or deadline > now, Rule.DEADLINE_PAST)
            return Step(replace(proposal, round=replace(proposal.round, deadline=deadline)))
        case DeadlinePassed(now=now, eligible=eligible):
            return _deadline(proposal, actor, now, eligible)
        case Withdraw():
            _open(proposal)
            _proposer(proposal, actor)
            return _end(proposal, Stage.WITHDRAWN)
        case CloseWithoutConsent(reason=reason):
            _open(proposal)
            _facilitator(actor)
            _require(proposal.stage is not Stage.DRAFT, Rule.WRONG_STAGE)
            _require(bool(reason.strip()), Rule.REASON_REQUIRED)
            return _end(proposal, Stage.REJECTED)
        case Nominate():
            return _nominate(proposal, actor, action)
        case Reveal(now=now):
            _ballot(proposal)
            _facilitator(actor)
            return _reveal(proposal, now)
        case OpenChangeRound():
            _ballot(proposal)
            _facilitator(actor)
            _require(proposal.stage is Stage.REASONS, Rule.WRONG_STAGE)
            return Step(replace(proposal, stage=Stage.CHANGE), (StageChanged(Stage.CHANGE),))
        case ProposeHolder():
            return _propose_holder(proposal, actor, action)
    raise AssertionError(f"unknown action {action!r}")  # pragma: no cover


# --- an election's own steps (elections/rules.py holds its part of the state) -------------


def nominations_sealed(proposal: Proposal) -> bool:
    """An election's nominations are sealed until they are revealed (elections/rules.py
    `visible_nominations` shows each person only their own until then)."""
    return proposal.ballot is not None and proposal.stage in (Stage.DRAFT, Stage.NOMINATE)


def _ballot(proposal: Proposal) -> Ballot:
    _open(proposal)
    _require(proposal.ballot is not None, Rule.NOT_AN_ELECTION)
    assert proposal.ballot is not None
    return proposal.ballot


def _open_nominations(
    proposal: Proposal, eligible: frozenset[int], nominable: frozenset[int]
) -> Step:
    """Draft → nominate: the list is frozen (who nominates, and answers the consent rounds),
    and so is who may be nominated. A scenario choice opens its clarify round first, on the
    same frozen list; its preferences open when the questions are answered (`_advance`)."""
    assert proposal.ballot is not None
    ballot = replace(proposal.ballot, participants=eligible, eligible=nominable)
    kind = RoundKind.NOMINATE if ballot.of_people else RoundKind.CLARIFY
    return _open_round(replace(proposal, ballot=ballot), kind, eligible)


def _nominate(proposal: Proposal, actor: Actor, action: Nominate) -> Step:
    ballot = _ballot(proposal)
    _require(proposal.stage in (Stage.NOMINATE, Stage.CHANGE), Rule.WRONG_STAGE)
    round_ = proposal.round
    _require(round_ is not None and round_.kind is RoundKind.NOMINATE, Rule.NO_OPEN_ROUND)
    assert round_ is not None
    _participant(proposal, actor, round_)
    _require(bool(action.reason.strip()), Rule.REASON_REQUIRED)
    _require(action.nominee is None or action.nominee in ballot.eligible, _not_eligible(ballot))
    who, changed = actor.user_id, proposal.stage is Stage.CHANGE
    kept = Nomination(who, action.nominee, action.reason, changed)
    nominations = (*(n for n in ballot.nominations if n.voter != who), kept)
    answer = "passed" if action.nominee is None else "nominated"
    answers = (*((u, a) for u, a in round_.answers if u != who), (who, answer))
    return Step(
        replace(proposal, ballot=replace(ballot, nominations=nominations),
                round=replace(round_, answers=answers)),
        (NominationKept(who, action.nominee, changed),),
    )  # fmt: skip


def _not_eligible(ballot: Ballot) -> Rule:
    """What refuses a name outside the ballot: a person, or a scenario of a choice."""
    return Rule.NOMINEE_NOT_ELIGIBLE if ballot.of_people else Rule.SCENARIO_NOT_IN_CHOICE


def _reveal(proposal: Proposal, now: datetime) -> Step:
    """Nominate → reasons: once everyone has answered, or the deadline has passed."""
    _require(proposal.stage is Stage.NOMINATE, Rule.WRONG_STAGE)
    round_ = proposal.round
    _require(round_ is not None, Rule.NO_OPEN_ROUND)
    assert round_ is not None
    deadline_passed = round_.deadline is not None and now >= round_.deadline
    _require(not round_.missing or deadline_passed, Rule.NOMINATIONS_SEALED)
    return Step(replace(proposal, stage=Stage.REASONS), (StageChanged(Stage.REASONS),))


def _propose_holder(proposal: Proposal, actor: Actor, action: ProposeHolder) -> Step:
    """A new version proposes `nominee`, answering every objection still open (the person
    who declined, or a valid objection to the last proposal), and the consent round opens
    on it with the frozen list and the person proposed."""
    ballot = _ballot(proposal)
    _facilitator(actor)
    _require(proposal.stage in (Stage.REASONS, Stage.CHANGE, Stage.INTEGRATE), Rule.WRONG_STAGE)
    _require(bool(action.reason.strip()), Rule.REASON_REQUIRED)
    _require(action.nominee in ballot.eligible, _not_eligible(ballot))
    _require(action.nominee not in ballot.declined, Rule.NOMINEE_DECLINED)
    effects: list[Effect] = []
    if proposal.round is not None:  # the nominations round ends
        effects.append(RoundClosed(Outcome.ADVANCED))
    number = proposal.version + 1
    still_open = [o for o in proposal.objections if o.status in OPEN_OBJECTION]
    effects.append(VersionPublished(number, frozenset(o.id for o in still_open)))
    changed = replace(proposal, version=number)
    for objection in still_open:
        changed, effect = _set_status(
            changed, objection, objection.status, number, proposer_confirms=True
        )
        effects.append(effect)
    # The person proposed answers too (a scenario proposed does not).
    eligible = ballot.participants | ({action.nominee} if ballot.of_people else frozenset())
    changed = replace(
        changed, stage=Stage.OBJECT, round=Round(RoundKind.OBJECT, number, eligible),
        ballot=replace(ballot, nominee=action.nominee),
    )  # fmt: skip
    effects += [StageChanged(Stage.OBJECT), RoundOpened(RoundKind.OBJECT, number, eligible)]
    return Step(changed, tuple(effects))


def _declined(proposal: Proposal, position: PositionKept) -> Step:
    """The person proposed objects: they decline. The round ends; the facilitator proposes
    someone else (never them again in this election)."""
    assert proposal.ballot is not None
    ballot = replace(proposal.ballot, nominee=None,
                     declined=proposal.ballot.declined | {position.person})  # fmt: skip
    return Step(
        replace(proposal, stage=Stage.INTEGRATE, round=None, ballot=ballot),
        (position, RoundClosed(Outcome.DECLINED), StageChanged(Stage.INTEGRATE)),
    )


def _advance(proposal: Proposal, eligible: frozenset[int], closed: RoundClosed) -> Step:
    """Clarify → react, react → object (each opening its round on the current version)."""
    if proposal.stage is Stage.CLARIFY:
        _require(all(q.answered for q in proposal.questions), Rule.QUESTIONS_UNANSWERED)
        following = RoundKind.REACT
        if proposal.ballot is not None:  # a scenario choice: the preferences, same list
            opened = _open_round(proposal, RoundKind.NOMINATE, proposal.ballot.participants)
            return Step(opened.proposal, (closed, *opened.effects))
    elif proposal.stage is Stage.REACT:
        following = RoundKind.OBJECT
    else:
        raise RuleViolation(Rule.WRONG_STAGE)
    opened = _open_round(proposal, following, eligible)
    return Step(opened.proposal, (closed, *opened.effects))


def _publish(proposal: Proposal, actor: Actor, answers: frozenset[int]) -> Step:
    _open(proposal)
    _require(proposal.ballot is None, Rule.ELECTION_STEP)
    _proposer(proposal, actor)
    _require(proposal.stage is not Stage.DRAFT, Rule.WRONG_STAGE)  # a draft is edited
    number = proposal.version + 1
    published = VersionPublished(number, answers)
    if proposal.stage is Stage.INTEGRATE:
        _require(bool(answers), Rule.VERSION_ANSWERS_NOTHING)
        valid = {o.id for o in proposal.open_valid_objections}
        _require(answers <= valid, Rule.VERSION_ANSWERS_INVALID)
        changed = replace(proposal, version=number)
        effects: list[Effect] = [published]
        for objection in proposal.objections:
            if objection.id in answers:  # the proposer, publishing, confirms it answers
                changed, effect = _set_status(
                    changed, objection, objection.status, number, proposer_confirms=True
                )
                effects.append(effect)
        return Step(changed, tuple(effects))
    _require(not answers, Rule.VERSION_ANSWERS_INVALID)
    changed = replace(proposal, version=number)
    round_ = proposal.round
    if proposal.stage is Stage.OBJECT and round_ is not None:
        # Any change of the text during an object round restarts it on the new version,
        # with the same list of participants. Objections to the old text stay open: their
        # authors confirm the new text removes them by consenting to it.
        restarted = Round(RoundKind.OBJECT, number, round_.eligible, deadline=round_.deadline)
        changed = replace(changed, round=restarted)
        effects = [published, RoundClosed(Outcome.RESTARTED)]
        effects.append(RoundOpened(RoundKind.OBJECT, number, round_.eligible))
        return Step(changed, tuple(effects))
    if round_ is not None:
        changed = replace(changed, round=replace(round_, version=number))
    return Step(changed, (published,))


def _position(proposal: Proposal, actor: Actor, action: GivePosition) -> Step:
    round_ = _round(proposal, RoundKind.OBJECT)
    on_behalf = action.person != actor.user_id
    if on_behalf:
        # A facilitator records what someone present says, during a meeting; never what
        # would lift that person's objection: only they can, acting themselves.
        _require(actor.may_facilitate, Rule.NOT_YOUR_POSITION)
        _require(action.person in proposal.present, Rule.NOT_PRESENT)
    else:
        _participant(proposal, actor, round_)
    _require(action.person in round_.eligible, Rule.NOT_ELIGIBLE)
    _require(action.version == proposal.version, Rule.STALE_VERSION)
    ballot = proposal.ballot
    nominee = ballot is not None and action.person == ballot.person_proposed
    if nominee and ballot is not None and ballot.nominee_last:
        _require(not round_.missing - {action.person}, Rule.NOMINEE_ANSWERS_LAST)
    _require(
        action.stance is not Stance.OBJECTION or bool(action.reason.strip()), Rule.REASON_REQUIRED
    )
    if on_behalf and action.stance is not Stance.OBJECTION:
        lifted = [
            o
            for o in proposal.objections
            if o.objector == action.person and o.status in OPEN_OBJECTION
        ]
        _require(not lifted, Rule.ON_BEHALF_LIFTS)
    answers = tuple((u, a) for u, a in round_.answers if u != action.person)
    changed = replace(
        proposal, round=replace(round_, answers=(*answers, (action.person, action.stance.value)))
    )
    kept = PositionKept(action.person, action.stance, action.version, on_behalf)
    if nominee and action.stance is Stance.OBJECTION:
        return _declined(proposal, kept)
    effects: list[Effect] = [kept]
    mine = [
        o for o in changed.objections if o.objector == action.person and o.status in OPEN_OBJECTION
    ]
    if action.stance is Stance.OBJECTION:
        if not any(o.version == action.version for o in mine):
            next_id = max((o.id for o in proposal.objections), default=0) + 1
            raised = Objection(next_id, action.person, action.version, ObjectionStatus.RAISED)
            changed = replace(changed, objections=(*changed.objections, raised))
            effects.append(ObjectionRaised(action.person, action.version))
        return Step(changed, tuple(effects))
    # The objector's own consent to this version withdraws their open objection to it; to a
    # later version than the one objected to, it confirms the new text removes the objection.
    # (On someone's behalf, `mine` is empty: refused above.)
    for objection in mine:
        if objection.version == action.version:
            changed, effect = _set_status(changed, objection, ObjectionStatus.WITHDRAWN)
        else:
            answered_in = objection.answered_in or action.version
            changed, effect = _set_status(
                changed, objection, ObjectionStatus.INTEGRATED, answered_in, objector_confirms=True
            )
        effects.append(effect)
    return Step(changed, tuple(effects))


def _close_object_round(
    proposal: Proposal, round_: Round, now: datetime, *, silent: frozenset[int] = frozenset()
) -> Step:
    if proposal.ballot is not None:  # nobody takes a mandate by silence
        proposed = proposal.ballot.person_proposed
        _require(proposed is None or proposed not in round_.missing, Rule.POSITIONS_MISSING)
    if round_.missing - silent:
        deadline_passed = round_.deadline is not None and now >= round_.deadline
        _require(deadline_passed and proposal.silence_is_consent, Rule.POSITIONS_MISSING)
        silent = round_.missing
    unjudged = [o for o in proposal.objections if o.status is ObjectionStatus.RAISED]
    _require(not unjudged, Rule.OBJECTIONS_UNJUDGED)
    if proposal.open_valid_objections:
        stage = Stage.INTEGRATE
        return Step(
            replace(proposal, stage=stage, round=None),
            (RoundClosed(Outcome.INTEGRATE, silent), StageChanged(stage)),
        )
    adopted = replace(proposal, stage=Stage.ADOPTED, round=None, decided=True)
    return Step(
        adopted,
        (
            RoundClosed(Outcome.ADOPTED, silent),
            StageChanged(Stage.ADOPTED),
            Adopted(proposal.version),
        ),
    )


def _deadline(proposal: Proposal, actor: Actor, now: datetime, eligible: frozenset[int]) -> Step:
    """At a round's deadline: a clarify or react round ends and the next stage begins (with
    the list given); an object round closes if silence counts as consent and every
    objection has been judged. Otherwise the round stays open for the facilitator."""
    _open(proposal)
    _require(actor.may_facilitate, Rule.FACILITATOR_ONLY)  # the deadline task acts as one
    round_ = proposal.round
    _require(round_ is not None, Rule.NO_OPEN_ROUND)
    assert round_ is not None
    _require(round_.deadline is not None and now >= round_.deadline, Rule.DEADLINE_NOT_REACHED)
    if round_.kind is RoundKind.OBJECT:
        return _close_object_round(proposal, round_, now)
    if round_.kind is RoundKind.NOMINATE:  # the nominations are revealed
        return _reveal(proposal, now)
    return _advance(proposal, eligible, RoundClosed(Outcome.ADVANCED))


def _end(proposal: Proposal, stage: Stage) -> Step:
    effects: list[Effect] = []
    if proposal.round is not None:
        effects.append(RoundClosed(Outcome.ENDED))
    effects.append(StageChanged(stage))
    return Step(replace(proposal, stage=stage, round=None), tuple(effects))


# --- what a person may do now (for the page's "what can I do" panel) ----------------------


def allowed(proposal: Proposal, actor: Actor, action: Action) -> bool:
    try:
        step(proposal, actor, action)
    except RuleViolation:
        return False
    return True


# --- what each person can do now, and what the process waits for ---------------------------

# Refusals that say this person has nothing to do with the step (not their role, not this
# stage): such a step is not listed. Every other refusal says what the step waits for.
_NOT_MINE = frozenset(
    {
        Rule.NOT_PARTICIPANT,
        Rule.PROPOSER_ONLY,
        Rule.FACILITATOR_ONLY,
        Rule.CLOSED,
        Rule.NOT_DRAFT,
        Rule.WRONG_STAGE,
        Rule.NO_OPEN_ROUND,
        Rule.NOT_ELIGIBLE,
        Rule.PROPOSER_ASKS,
        Rule.NOT_YOUR_POSITION,
        Rule.NOT_OBJECTOR,
        Rule.OBJECTION_UNKNOWN,
        Rule.QUESTION_UNKNOWN,
        Rule.OBJECTION_JUDGED,
        Rule.OBJECTION_NOT_OPEN,
        Rule.QUESTION_ANSWERED,
        Rule.ALREADY_REACTED,
        Rule.NOT_PRESENT,
        Rule.ON_BEHALF_LIFTS,
        Rule.DEADLINE_NOT_REACHED,
        # Publishing in the integrate stage with no valid objection left: nothing to answer
        # (the next object round opens without a new version).
        Rule.VERSION_ANSWERS_NOTHING,
        Rule.VERSION_ANSWERS_INVALID,
        Rule.NOT_AN_ELECTION,
        Rule.ELECTION_STEP,
    }
)


@dataclass(frozen=True)
class Available:
    """One step this person may take now (`ready`), or one that is theirs but waits
    (`blocked` names the rule, `waits_for` the people, `waits_for_facilitator` a facilitator).
    `verb` is the step's name in forms and the API; `action` is what `step` is asked."""

    verb: str
    action: Action
    ready: bool
    blocked: Rule | None = None
    waits_for: frozenset[int] = frozenset()
    waits_for_facilitator: bool = False
    main: bool = False  # the step the process waits for from this person


def _candidates(proposal: Proposal, actor: Actor, now: datetime) -> list[tuple[str, Action]]:
    """Every step a person might take on this proposal, with the arguments that matter to
    the rules (ids of questions and objections; texts and reasons are the person's to write,
    so a stand-in is used where the rules only check that one is given)."""
    everyone = frozenset({0})  # the store fills in who takes part
    seen = proposal.revision
    valid = frozenset(o.id for o in proposal.open_valid_objections)
    answers = valid if proposal.stage is Stage.INTEGRATE else frozenset()
    found: list[tuple[str, Action]] = [
        ("edit", EditDraft()),
        ("submit", Submit(everyone)),
        ("ask", AskQuestion()),
        *(("answer", AnswerQuestion(q.id)) for q in proposal.questions if not q.answered),
        ("advance", Advance(everyone, seen)),
        ("react", React()),
        ("position", GivePosition(actor.user_id, Stance.CONSENT, proposal.version)),
    ]
    for objection in proposal.objections:
        if objection.status is ObjectionStatus.RAISED:
            found.append(("judge", JudgeObjection(objection.id, True, "-", seen)))
        if objection.objector == actor.user_id and objection.status in OPEN_OBJECTION:
            if objection.status is ObjectionStatus.VALID:
                found.append(("confirm", ConfirmIntegration(objection.id)))
            found.append(("withdraw-objection", WithdrawObjection(objection.id)))
    found += [
        ("publish", PublishVersion(answers, seen)),
        ("open-object-round", OpenObjectRound(everyone, seen)),
        ("close-round", CloseRound(now, seen)),
        ("deadline", SetDeadline(None, now)),
        ("withdraw", Withdraw(seen)),
        ("close", CloseWithoutConsent("-", seen)),
    ]
    if proposal.ballot is not None:
        ballot = proposal.ballot
        anyone = min(ballot.eligible - ballot.declined, default=0)
        found += [
            ("nominate", Nominate(None, "-")),
            ("reveal", Reveal(now, seen)),
            ("open-change-round", OpenChangeRound(seen)),
            ("propose-holder", ProposeHolder(anyone, "-", seen)),
        ]
    return found


def _waits(proposal: Proposal, rule: Rule) -> tuple[frozenset[int], bool]:
    """Whom a blocked step waits for: people by id, or a facilitator."""
    round_ = proposal.round
    if rule in (Rule.POSITIONS_MISSING, Rule.NOMINATIONS_SEALED) and round_ is not None:
        return round_.missing, False
    if rule is Rule.NOMINEE_ANSWERS_LAST and round_ is not None and proposal.ballot:
        return round_.missing - {proposal.ballot.person_proposed or 0}, False
    if rule in (
        Rule.QUESTIONS_UNANSWERED,
        Rule.UNANSWERED_OBJECTIONS,
        Rule.NO_NEW_VERSION,
        Rule.NOT_ANSWERED,
    ):
        return frozenset({proposal.proposer}), False
    if rule is Rule.OBJECTIONS_UNJUDGED:
        return frozenset(), True
    return frozenset(), False


# The steps each stage waits for, in order: the first one this person may take is their
# main step (shown first, as a primary button).
_MAIN = {
    Stage.DRAFT: ("submit",),
    Stage.CLARIFY: ("answer", "ask", "advance"),
    Stage.REACT: ("react", "advance"),
    Stage.OBJECT: ("confirm", "position", "judge", "close-round"),
    Stage.INTEGRATE: ("propose-holder", "publish", "confirm", "judge", "open-object-round"),
    Stage.NOMINATE: ("nominate", "reveal"),
    Stage.REASONS: ("propose-holder", "open-change-round"),
    Stage.CHANGE: ("propose-holder", "nominate"),
}


def available(proposal: Proposal, actor: Actor, now: datetime) -> list[Available]:
    """What `actor` can do now on `proposal`, and their steps that wait for someone else, in
    the order the process needs them (the main step first). Each entry is exactly what
    `step` says of its action: ready if accepted, else blocked by the rule it names."""
    listed: list[Available] = []
    for verb, action in _candidates(proposal, actor, now):
        try:
            step(proposal, actor, action)
        except RuleViolation as refused:
            if refused.rule in _NOT_MINE:
                continue
            people, facilitator = _waits(proposal, refused.rule)
            listed.append(Available(verb, action, False, refused.rule, people, facilitator))
        else:
            listed.append(Available(verb, action, True))
    # A nomination (or preference) already given may still be moved, but the process no
    # longer waits for it: it is not this person's main step any more.
    answered = proposal.round is not None and actor.user_id in proposal.round.answered
    order = [v for v in _MAIN.get(proposal.stage, ()) if not (v == "nominate" and answered)]
    rank = {verb: n for n, verb in enumerate(order)}
    ours = [a for a in listed if a.verb in rank]  # the stage's own steps
    ours.sort(key=lambda a: (not a.ready, rank[a.verb]))
    if ours:  # what the process waits for from this person: ready, or waiting on others
        ours[0] = replace(ours[0], main=True)
    others = [a for a in listed if a.verb not in rank]
    # The main step first; then what is ready (the stage's steps first); then what waits.
    return sorted([*ours, *others], key=lambda a: (not a.main, not a.ready, rank.get(a.verb, 99)))
