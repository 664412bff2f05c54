"""The election without candidates (élection sans candidat), as a pure state machine.

Stages: nominations (each person on the frozen list nominates someone or passes, with a
reason; sealed until revealed), reasons (revealed, each explained), change (anyone may move
their nomination, with a reason), proposal (the facilitator proposes a holder), consent (a
round on that person: the nominee answers last unless the space says otherwise; their own
objection means they decline), then elected: the one effect that makes the decision and
the mandate (storage is the store's: this module does no I/O). Every refusal names its rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from consentir.errors import N_, DomainError


class Stage(StrEnum):
    NOMINATE = "nominate"
    REASONS = "reasons"
    CHANGE = "change"
    PROPOSE = "propose"
    CONSENT = "consent"
    ELECTED = "elected"
    CANCELLED = "cancelled"


OVER = frozenset({Stage.ELECTED, Stage.CANCELLED})


class Stance(StrEnum):
    CONSENT = "consent"
    CONCERN = "concern"
    OBJECTION = "objection"


class Rule(StrEnum):
    NOT_PARTICIPANT = "not_on_the_list"
    FACILITATOR_ONLY = "facilitator_only"
    WRONG_STAGE = "wrong_stage"
    OVER = "election_over"
    REASON_REQUIRED = "reason_required"
    NOT_ELIGIBLE = "not_eligible"
    NOMINATIONS_MISSING = "nominations_missing"
    DECLINED = "nominee_declined"
    NOMINEE_ANSWERS_LAST = "nominee_answers_last"
    ANSWERS_MISSING = "answers_missing"
    OBJECTION_UNJUDGED = "objection_unjudged"
    NO_SUCH_OBJECTION = "no_such_objection"


MESSAGES = {
    Rule.NOT_PARTICIPANT: N_("Only the people on this election's list take part."),
    Rule.FACILITATOR_ONLY: N_("Only a facilitator can take this step."),
    Rule.WRONG_STAGE: N_("The election is not at the stage for this step."),
    Rule.OVER: N_("This election is over."),
    Rule.REASON_REQUIRED: N_("Give your reason."),
    Rule.NOT_ELIGIBLE: N_("This person cannot hold this role (eligibility or term limit)."),
    Rule.NOMINATIONS_MISSING: N_(
        "Nominations are sealed until everyone has answered or the deadline has passed."
    ),
    Rule.DECLINED: N_("This person declined: propose someone else."),
    Rule.NOMINEE_ANSWERS_LAST: N_("The person proposed answers last, once everyone else has."),
    Rule.ANSWERS_MISSING: N_("Not everyone has answered yet."),
    Rule.OBJECTION_UNJUDGED: N_("An objection waits to be judged."),
    Rule.NO_SUCH_OBJECTION: N_("There is no such objection to judge."),
}


class ElectionRefused(DomainError):
    def __init__(self, rule: Rule, *, status: int = 409) -> None:
        if rule in (Rule.NOT_PARTICIPANT, Rule.FACILITATOR_ONLY):
            status = 403
        elif rule in (Rule.REASON_REQUIRED, Rule.NOT_ELIGIBLE):
            status = 422
        super().__init__(rule.value, MESSAGES[rule], status=status)
        self.rule = rule


@dataclass(frozen=True)
class Nomination:
    voter: int
    nominee: int | None  # None: passes
    reason: str
    changed: bool = False  # moved in the change round


@dataclass(frozen=True)
class Answer:
    voter: int
    stance: Stance
    reason: str = ""
    judged_valid: bool | None = None  # an objection, once judged


@dataclass(frozen=True)
class Election:
    stage: Stage
    participants: frozenset[int]  # frozen when the election opens
    eligible: frozenset[int]  # who may be nominated and proposed
    nominee_last: bool = True
    nominations: tuple[Nomination, ...] = ()
    candidate: int | None = None
    declined: frozenset[int] = frozenset()
    answers: tuple[Answer, ...] = ()
    revision: int = 1

    def nomination_of(self, voter: int) -> Nomination | None:
        return next((n for n in self.nominations if n.voter == voter), None)

    @property
    def answerers(self) -> frozenset[int]:
        """Who answers the consent round: the list, and the person proposed."""
        return self.participants | ({self.candidate} if self.candidate is not None else set())


@dataclass(frozen=True)
class Actor:
    user_id: int
    may_facilitate: bool


# --- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nominate:
    nominee: int | None
    reason: str


@dataclass(frozen=True)
class Reveal:
    deadline_passed: bool = False


@dataclass(frozen=True)
class OpenChangeRound:
    pass


@dataclass(frozen=True)
class ChangeNomination:
    nominee: int | None
    reason: str


@dataclass(frozen=True)
class Propose:
    candidate: int
    reason: str


@dataclass(frozen=True)
class Respond:
    stance: Stance
    reason: str = ""


@dataclass(frozen=True)
class Judge:
    voter: int
    valid: bool


@dataclass(frozen=True)
class Close:
    pass


@dataclass(frozen=True)
class Cancel:
    pass


Action = (
    Nominate | Reveal | OpenChangeRound | ChangeNomination | Propose | Respond | Judge | Close
    | Cancel
)  # fmt: skip


@dataclass(frozen=True)
class Elected:
    """The effect of a successful election: the store writes the decision and the mandate."""

    holder: int


@dataclass(frozen=True)
class Step:
    election: Election
    elected: Elected | None = None


def _require(condition: bool, rule: Rule) -> None:
    if not condition:
        raise ElectionRefused(rule)


def _facilitator(actor: Actor) -> None:
    _require(actor.may_facilitate, Rule.FACILITATOR_ONLY)


def _stage(election: Election, *stages: Stage) -> None:
    _require(election.stage not in OVER, Rule.OVER)
    _require(election.stage in stages, Rule.WRONG_STAGE)


def _nominee(election: Election, nominee: int | None, reason: str) -> None:
    _require(bool(reason.strip()), Rule.REASON_REQUIRED)
    _require(nominee is None or nominee in election.eligible, Rule.NOT_ELIGIBLE)


def step(election: Election, actor: Actor, action: Action) -> Step:
    """The next state, or ElectionRefused naming the rule."""
    changed = _step(election, actor, action)
    after = replace(changed.election, revision=election.revision + 1)
    return Step(after, changed.elected)


def _step(e: Election, actor: Actor, action: Action) -> Step:
    who = actor.user_id
    match action:
        case Nominate(nominee=nominee, reason=reason):
            _stage(e, Stage.NOMINATE)
            _require(who in e.participants, Rule.NOT_PARTICIPANT)
            _nominee(e, nominee, reason)
            others = tuple(n for n in e.nominations if n.voter != who)
            return Step(replace(e, nominations=(*others, Nomination(who, nominee, reason))))
        case Reveal(deadline_passed=deadline_passed):
            _stage(e, Stage.NOMINATE)
            _facilitator(actor)
            everyone = {n.voter for n in e.nominations} >= e.participants
            _require(everyone or deadline_passed, Rule.NOMINATIONS_MISSING)
            return Step(replace(e, stage=Stage.REASONS))
        case OpenChangeRound():
            _stage(e, Stage.REASONS)
            _facilitator(actor)
            return Step(replace(e, stage=Stage.CHANGE))
        case ChangeNomination(nominee=nominee, reason=reason):
            _stage(e, Stage.CHANGE)
            _require(who in e.participants, Rule.NOT_PARTICIPANT)
            _nominee(e, nominee, reason)
            others = tuple(n for n in e.nominations if n.voter != who)
            moved = Nomination(who, nominee, reason, changed=True)
            return Step(replace(e, nominations=(*others, moved)))
        case Propose(candidate=candidate, reason=reason):
            _stage(e, Stage.REASONS, Stage.CHANGE, Stage.PROPOSE)
            _facilitator(actor)
            _require(bool(reason.strip()), Rule.REASON_REQUIRED)
            _require(candidate in e.eligible, Rule.NOT_ELIGIBLE)
            _require(candidate not in e.declined, Rule.DECLINED)
            return Step(replace(e, stage=Stage.CONSENT, candidate=candidate, answers=()))
        case Respond(stance=stance, reason=reason):
            _stage(e, Stage.CONSENT)
            _require(who in e.answerers, Rule.NOT_PARTICIPANT)
            if stance is Stance.OBJECTION:
                _require(bool(reason.strip()), Rule.REASON_REQUIRED)
            if who == e.candidate and e.nominee_last:
                waiting = e.answerers - {who} - {a.voter for a in e.answers}
                _require(not waiting, Rule.NOMINEE_ANSWERS_LAST)
            if who == e.candidate and stance is Stance.OBJECTION:
                # The person proposed declines: the facilitator proposes someone else.
                return Step(replace(e, stage=Stage.PROPOSE, candidate=None, answers=(),
                                    declined=e.declined | {who}))  # fmt: skip
            kept = tuple(a for a in e.answers if a.voter != who)
            return Step(replace(e, answers=(*kept, Answer(who, stance, reason))))
        case Judge(voter=voter, valid=valid):
            _stage(e, Stage.CONSENT)
            _facilitator(actor)
            found = next((a for a in e.answers if a.voter == voter), None)
            _require(
                found is not None and found.stance is Stance.OBJECTION
                and found.judged_valid is None,
                Rule.NO_SUCH_OBJECTION,
            )  # fmt: skip
            if valid:
                # A valid objection to this holder: the facilitator proposes again (someone
                # else, or the same person with the term adjusted); a new round follows.
                return Step(replace(e, stage=Stage.PROPOSE, answers=()))
            assert found is not None
            judged = replace(found, judged_valid=False)
            rest = tuple(a for a in e.answers if a.voter != voter)
            return Step(replace(e, answers=(*rest, judged)))
        case Close():
            _stage(e, Stage.CONSENT)
            _facilitator(actor)
            _require({a.voter for a in e.answers} >= e.answerers, Rule.ANSWERS_MISSING)
            unjudged = [a for a in e.answers
                        if a.stance is Stance.OBJECTION and a.judged_valid is None]  # fmt: skip
            _require(not unjudged, Rule.OBJECTION_UNJUDGED)
            assert e.candidate is not None
            return Step(replace(e, stage=Stage.ELECTED), Elected(e.candidate))
        case Cancel():
            _require(e.stage not in OVER, Rule.OVER)
            _facilitator(actor)
            return Step(replace(e, stage=Stage.CANCELLED))
    raise AssertionError(f"unknown action {action!r}")  # pragma: no cover


def visible_nominations(election: Election, viewer: int) -> tuple[Nomination, ...]:
    """Sealed until revealed: before, each person sees only their own nomination."""
    if election.stage is Stage.NOMINATE:
        return tuple(n for n in election.nominations if n.voter == viewer)
    return election.nominations


def tally(election: Election) -> dict[int, int]:
    """How many nominations each person has (for the facilitator, once revealed)."""
    counts: dict[int, int] = {}
    for n in visible_nominations(election, viewer=-1):
        if n.nominee is not None:
            counts[n.nominee] = counts.get(n.nominee, 0) + 1
    return counts
