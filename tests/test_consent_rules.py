"""The consent process's pure rules (consent/rules.py), always through `step`.

- A stateful property test drives `step` with random actors and actions and checks, after
  every step, the invariants PRODUCT.md asks for and that the effects match the state diff.
- One full path is walked by hand, effect by effect, plus a few paths of special interest.
- One refusal test (at least) per rule; a final test fails if a rule has none.
- `may_view` and `allowed`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import product
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, event, note, settings, target
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from consentir.consent import rules
from consentir.consent.rules import (
    MESSAGES,
    RULE_CODES,
    SYSTEM,
    Action,
    Actor,
    Adopted,
    Advance,
    AnswerQuestion,
    AskQuestion,
    CloseRound,
    CloseWithoutConsent,
    ConfirmIntegration,
    DeadlinePassed,
    EditDraft,
    Effect,
    GivePosition,
    JudgeObjection,
    Nominate,
    ObjectionChanged,
    ObjectionRaised,
    ObjectionStatus,
    OpenObjectRound,
    Outcome,
    PositionKept,
    Proposal,
    ProposeHolder,
    PublishVersion,
    React,
    Reveal,
    RoundClosed,
    RoundKind,
    RoundOpened,
    Rule,
    RuleViolation,
    SetDeadline,
    Stage,
    StageChanged,
    Stance,
    Step,
    Submit,
    VersionPublished,
    Withdraw,
    WithdrawObjection,
    allowed,
    may_view,
    step,
)
from consentir.elections.rules import Ballot

# --- the cast -------------------------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the fake clock starts here
REASON = "It would harm the garden's neighbours."

PROPOSER = Actor(1, may_participate=True, may_facilitate=False)
FACILITATOR = Actor(2, may_participate=True, may_facilitate=True)  # facilitates and takes part
ADMIN = Actor(3, may_participate=False, may_facilitate=True)  # facilitates only
ALICE = Actor(4, may_participate=True, may_facilitate=False)
BOB = Actor(5, may_participate=True, may_facilitate=False)
OBSERVER = Actor(7, may_participate=False, may_facilitate=False)  # sees the space, no more
LATE = Actor(8, may_participate=True, may_facilitate=False)  # joins after rounds opened
OUTSIDER_LATE = Actor(8, may_participate=False, may_facilitate=False)  # the same, before

MEMBERS = frozenset({1, 2, 4, 5})  # who may act in the space (the proposer among them)
ELIGIBLE = MEMBERS - {1}  # a round's list: the proposer is left out

# Who may follow whom; every open stage may also end (withdrawn; rejected unless a draft).
NEXT_STAGES = {
    Stage.DRAFT: {Stage.CLARIFY, Stage.WITHDRAWN},
    Stage.CLARIFY: {Stage.REACT, Stage.WITHDRAWN, Stage.REJECTED},
    Stage.REACT: {Stage.OBJECT, Stage.WITHDRAWN, Stage.REJECTED},
    Stage.OBJECT: {Stage.INTEGRATE, Stage.ADOPTED, Stage.WITHDRAWN, Stage.REJECTED},
    Stage.INTEGRATE: {Stage.OBJECT, Stage.WITHDRAWN, Stage.REJECTED},
}
NEXT_STATUSES = {
    ObjectionStatus.RAISED: {
        ObjectionStatus.VALID,
        ObjectionStatus.NOT_VALID,
        ObjectionStatus.WITHDRAWN,
        ObjectionStatus.INTEGRATED,
    },
    ObjectionStatus.VALID: {ObjectionStatus.WITHDRAWN, ObjectionStatus.INTEGRATED},
    ObjectionStatus.NOT_VALID: set(),
    ObjectionStatus.WITHDRAWN: set(),
    ObjectionStatus.INTEGRATED: set(),
}
ENDED_OBJECTION = {
    ObjectionStatus.INTEGRATED,
    ObjectionStatus.WITHDRAWN,
    ObjectionStatus.NOT_VALID,
}
ACTION_KINDS: tuple[type[Action], ...] = (
    EditDraft,
    Submit,
    AskQuestion,
    AnswerQuestion,
    Advance,
    React,
    PublishVersion,
    GivePosition,
    JudgeObjection,
    WithdrawObjection,
    ConfirmIntegration,
    OpenObjectRound,
    CloseRound,
    SetDeadline,
    DeadlinePassed,
    Withdraw,
    CloseWithoutConsent,
)
Move = tuple[Actor, Action]
# A position's details, for random acts: whose, which stance, what reason (the reason is
# also the one given to judge an objection or to close without consent).
DETAILS = (
    (4, Stance.CONSENT, ""),
    (4, Stance.OBJECTION, REASON),
    (5, Stance.OBJECTION, "  "),
    (5, Stance.CONCERN, REASON),
    (2, Stance.CONSENT, REASON),
    (8, Stance.CONSENT, ""),
    (1, Stance.CONSENT, REASON),
    (7, Stance.OBJECTION, REASON),
)
# Who is present at an open meeting of the space, for the whole walk (nobody: no meeting).
PRESENCES = (frozenset(), frozenset({4}), frozenset({4, 5}), frozenset({2, 4, 5, 8}))
# One random act: who (an index in ConsentMachine.actors()), which kind of action, a choice
# among its arguments (0 and 1 mostly right, 2 to 4 mostly wrong), an index in DETAILS, and
# the hours that pass first on the fake clock (none, half the time).
RandomAct = tuple[int, type[Action], int, int, int]
# (One draw among all of them rather than five draws: a step is mostly Hypothesis's work.)
RANDOM_ACT = st.sampled_from(
    list(product(range(8), ACTION_KINDS, range(5), range(len(DETAILS)), (0, 0, 0, 1, 12, 30)))
)


def of(effects: tuple[Effect, ...], kind: type[Effect]) -> list[Effect]:
    return [effect for effect in effects if isinstance(effect, kind)]


# --- the stateful property test -------------------------------------------------------------


class ConsentMachine(RuleBasedStateMachine):
    """Random actors doing random (and, often, sensible) things to one proposal."""

    # Milestones reached, counted over every example of a run (see test_consent_machine).
    reached: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.proposal = Proposal(Stage.DRAFT, proposer=1, version=1)
        self.proposer = PROPOSER
        self.now = T0
        self.joined = False
        # The open round as the model sees it, from the effects only.
        self.round_eligible: frozenset[int] | None = None
        self.round_opened_before_join = False
        self.positions: dict[int, tuple[Stance, int]] = {}  # person → (stance, version)
        self.milestones: set[str] = set()
        self.checked_can_go_on: Proposal | None = None
        self.acts = 0
        self.joins_after = 0
        self.last_moving: Move | None = None  # the last moving step taken, to send again

    # -- who is there --------------------------------------------------------------------

    def actors(self) -> list[Actor]:
        late = LATE if self.joined else OUTSIDER_LATE
        return [self.proposer, FACILITATOR, ADMIN, ALICE, BOB, OBSERVER, late, SYSTEM]

    def actor(self, user_id: int) -> Actor:
        return next(a for a in self.actors() if a.user_id == user_id)

    def members(self) -> frozenset[int]:
        return MEMBERS | {8} if self.joined else MEMBERS

    # -- rules -----------------------------------------------------------------------------

    # Two rules only: with Hypothesis's swarm testing (which turns rules off at random for
    # a whole example) more rules would leave many examples with nothing that acts.

    @initialize(
        silence=st.booleans(),
        proposer_facilitates=st.booleans(),
        joins_after=st.integers(0, 30),
        present=st.sampled_from(PRESENCES),
    )
    def start(
        self, silence: bool, proposer_facilitates: bool, joins_after: int, present: frozenset[int]
    ) -> None:
        # `present`: who is recorded present at a meeting of the space open now (nobody: no
        # meeting); a facilitator may record positions on their behalf only.
        self.proposal = Proposal(
            Stage.DRAFT, proposer=1, version=1, silence_is_consent=silence, present=present
        )
        self.proposer = Actor(1, may_participate=True, may_facilitate=proposer_facilitates)
        self.joins_after = joins_after  # the late joiner joins the space after so many acts

    @rule(act=RANDOM_ACT)
    def act_at_random(self, act: RandomAct) -> None:
        who, kind, choice, detail, wait = act
        self.time_passes(timedelta(hours=wait))
        actor = self.actors()[who]
        action = self.random_action(kind, choice, *DETAILS[detail])
        note(f"{actor} does {action}")
        self.apply(actor, action)

    @rule(pick=st.integers(0, 719))  # 720: near uniform, modulo any length up to 16
    def act_sensibly(self, pick: int) -> None:
        moves = self.sensible_moves()
        actor, action = moves[pick % len(moves)]
        if isinstance(action, DeadlinePassed):  # the task runs at the deadline
            self.time_passes(action.now - self.now)
        note(f"{actor} does {action}")
        self.apply(actor, action)

    def time_passes(self, delta: timedelta) -> None:
        assert delta >= timedelta(0)
        self.now += delta
        if delta:
            note(f"now: {self.now:%Y-%m-%d %H:%M}")

    def count_act(self) -> None:
        self.acts += 1
        if self.acts == self.joins_after:
            note("the late joiner joins the space")
            self.joined = True
            self.round_opened_before_join = self.proposal.round is not None

    # -- what to do ------------------------------------------------------------------------

    def random_action(
        self, kind: type[Action], choice: int, person: int, stance: Stance, reason: str
    ) -> Action:
        """Any action of this kind, with arguments that are often wrong: stale or future
        versions, unknown ids, blank reasons, past deadlines, lists without anybody. (Built
        here from one draw of a fixed strategy: building strategies at each step is slow.)"""
        p, now, members = self.proposal, self.now, self.members()
        eligible = (members, members, members - {5}, frozenset({1}), frozenset())[choice]
        version = (p.version, p.version, p.version - 1, p.version + 1, 1)[choice]
        valid = frozenset(o.id for o in p.open_valid_objections)
        answers = (valid, valid, frozenset(), frozenset({1}), frozenset({1, 2}))[choice]
        hours = (24, 1, 0, -3, None)[choice]
        # The revision a moving step was decided on: current, or missing, stale, or ahead.
        seen = (p.revision, p.revision, None, p.revision - 1, p.revision + 1)[choice]
        deadline = None if hours is None else now + timedelta(hours=hours)
        # An objection's or question's id: an existing one if any (for choices 0 to 2).
        objections, questions = len(p.objections), len(p.questions)
        number = choice % objections + 1 if choice < 3 and objections else objections + 1
        question = choice % questions + 1 if choice < 3 and questions else questions + 1
        match kind:
            case rules.EditDraft | rules.AskQuestion:
                return kind()
            case rules.Withdraw:
                return Withdraw(seen)
            case rules.Submit:
                return Submit(eligible)
            case rules.Advance | rules.OpenObjectRound:
                return kind(eligible, seen)
            case rules.AnswerQuestion:
                return AnswerQuestion(question)
            case rules.WithdrawObjection | rules.ConfirmIntegration:
                return kind(number)
            case rules.React:
                return React(passed=choice % 2 == 0)
            case rules.PublishVersion:
                return PublishVersion(answers, seen)
            case rules.GivePosition:
                return GivePosition(person, stance, version, reason)
            case rules.JudgeObjection:
                return JudgeObjection(number, valid=choice % 2 == 0, reason=reason, seen=seen)
            case rules.CloseRound:
                return CloseRound(now, seen)
            case rules.SetDeadline:
                return SetDeadline(deadline, now)
            case rules.DeadlinePassed:
                return DeadlinePassed(now, eligible)
            case rules.CloseWithoutConsent:
                return CloseWithoutConsent(reason, seen)
        raise AssertionError(kind)

    def sensible_moves(self) -> list[Move]:
        """Moves that the right person would make at this stage, weighted (by repetition)
        towards those that move the proposal on, so that the walks often reach the
        object ⇄ integrate loop and adoption within their steps."""
        p, now, members, proposer = self.proposal, self.now, self.members(), self.proposer
        facilitator, admin = FACILITATOR, ADMIN
        moves: list[Move] = []
        round_ = p.round
        if round_ is not None:  # rounds over days: set a deadline, wait, let the task run
            if round_.deadline is None:
                moves.append((admin, SetDeadline(now + timedelta(hours=24), now)))
            else:
                moves.append((SYSTEM, DeadlinePassed(max(now, round_.deadline), members)))
            if p.stage is not Stage.OBJECT and p.version == 1:
                moves.append((proposer, PublishVersion()))
        if p.stage is Stage.DRAFT:
            moves += [(proposer, EditDraft()), (facilitator, Submit(members))]
            moves += [(proposer, Submit(members))] * 2
        elif p.stage is Stage.CLARIFY and round_ is not None:
            if len(p.questions) < 2:
                eligible = sorted(round_.eligible)
                asker = self.actor(eligible[len(p.questions) % len(eligible)])
                moves.append((asker, AskQuestion()))
            moves += [(proposer, AnswerQuestion(q.id)) for q in p.questions if not q.answered]
            moves += [(facilitator, Advance(members))] * 3
        elif p.stage is Stage.REACT and round_ is not None:
            for user in sorted(round_.missing)[:1]:
                moves += [(self.actor(user), React()), (self.actor(user), React(passed=True))]
            moves += [(facilitator, Advance(members)), (admin, Advance(members))] * 2
        elif p.stage is Stage.OBJECT and round_ is not None:
            for user in sorted(round_.missing):
                person = self.actor(user)
                moves += [
                    (person, GivePosition(user, Stance.CONSENT, p.version)),
                    (person, GivePosition(user, Stance.CONCERN, p.version, "Watch the cost.")),
                    (admin, GivePosition(user, Stance.CONSENT, p.version)),
                    (person, GivePosition(user, Stance.OBJECTION, p.version, REASON)),
                ]
            raised = [o for o in p.objections if o.status is ObjectionStatus.RAISED]
            for o in raised:
                objector = self.actor(o.objector)
                moves += [
                    (facilitator, JudgeObjection(o.id, valid=True, reason="It is known.")),
                    (admin, JudgeObjection(o.id, valid=True, reason="It would harm.")),
                    (admin, JudgeObjection(o.id, valid=False, reason="Only feared.")),
                    (objector, GivePosition(o.objector, Stance.CONSENT, p.version)),
                ]
            # The side door: a facilitator "consents" for an objector (always refused).
            for o in [o for o in p.objections if o.status in rules.OPEN_OBJECTION][:1]:
                moves.append((admin, GivePosition(o.objector, Stance.CONSENT, p.version)))
            if raised:
                moves.append((self.actor(raised[0].objector), WithdrawObjection(raised[0].id)))
            moves += [(facilitator, CloseRound(now))] * (1 if raised or round_.missing else 4)
            if p.version < 3:  # a text change restarts the round: not too often
                moves.append((proposer, PublishVersion()))
        elif p.stage is Stage.INTEGRATE:
            valid = [o.id for o in p.open_valid_objections]
            if valid:
                moves += [(proposer, PublishVersion(frozenset(valid)))] * 2
                moves.append((proposer, PublishVersion(frozenset(valid[:1]))))
                first = p.objection(valid[0])
                objector = self.actor(first.objector)
                moves += [(objector, ConfirmIntegration(first.id))]
                if len(p.objections) % 2:
                    moves.append((objector, WithdrawObjection(first.id)))
            moves += [(facilitator, OpenObjectRound(members))] * 2
        if p.stage in (Stage.OBJECT, Stage.INTEGRATE):
            # Mistakes: an objector withdraws, or confirms, an objection that has ended.
            for o in [o for o in p.objections if o.status not in rules.OPEN_OBJECTION][:1]:
                objector = self.actor(o.objector)
                moves += [(objector, WithdrawObjection(o.id)), (objector, ConfirmIntegration(o.id))]
        if p.stage.closed:  # everything is refused
            moves += [(proposer, Withdraw()), (admin, CloseRound(now)), (ALICE, AskQuestion())]
        # Steps that move the process are sent with the revision they were decided on; the
        # last one sent again (a double click, a second open page) is stale.
        moves = [(who, self.decided_now(action)) for who, action in moves]
        if self.last_moving is not None:
            moves.append(self.last_moving)
        return moves

    def decided_now(self, action: Action) -> Action:
        if isinstance(action, rules.MOVING_ACTIONS) and action.seen is None:
            return replace(action, seen=self.proposal.revision)
        return action

    # -- one step and its checks -------------------------------------------------------------

    def apply(self, actor: Actor, action: Action) -> None:
        self.count_act()
        before = self.proposal
        stale = (
            isinstance(action, rules.MOVING_ACTIONS)
            and action.seen is not None
            and action.seen != before.revision
        )
        try:
            result = step(before, actor, action)
        except RuleViolation as refused:
            # A refusal is a fine outcome: the model keeps the old state. It names a rule,
            # and a closed proposal refuses everything for being closed.
            assert refused.code in RULE_CODES
            assert refused.rule.value == refused.code
            assert refused.message == MESSAGES[refused.rule]
            assert refused.status in {403, 404, 409, 422}
            if before.stage.closed:
                assert refused.rule is Rule.CLOSED
            elif stale:  # decided on another state: refused for that, unless the actor may
                # not take this step at all, or it names what does not exist (403, 404)
                assert refused.rule is Rule.STALE_STATE or refused.status in (403, 404)
                if refused.rule is Rule.STALE_STATE:
                    self.milestones.add("stale step refused")
            assert not allowed(before, actor, action)
            assert self.proposal is before
            return
        # Any other exception fails the test.
        assert not before.stage.closed, "a closed proposal changed"
        assert not stale, "a step decided on another state was taken"
        assert allowed(before, actor, action)
        self.check_step(before, result, actor, action)
        assert result.proposal.revision == before.revision + 1
        self.proposal = result.proposal
        if isinstance(action, rules.MOVING_ACTIONS):
            self.last_moving = (actor, action)
        self.note_milestones(before, result)

    def check_step(self, before: Proposal, result: Step, actor: Actor, action: Action) -> None:
        after, effects = result.proposal, result.effects
        self.check_who(before, actor, action)
        self.check_stage(before, after, effects)
        self.check_versions(before, after, effects)
        self.check_rounds(before, after, effects, action)
        self.check_positions(before, after, effects, actor, action)
        self.check_objections(before, after, effects, actor, action)
        self.check_questions(before, after, actor, action)
        self.check_answers(before, after, action)

    def check_who(self, before: Proposal, actor: Actor, action: Action) -> None:
        """Whoever succeeded had the right to."""
        proposer = actor.user_id == before.proposer and actor.may_participate
        participant = (
            actor.may_participate
            and actor.user_id != before.proposer
            and before.round is not None
            and actor.user_id in before.round.eligible
        )
        match action:
            case EditDraft() | AnswerQuestion() | PublishVersion() | Withdraw():
                assert proposer
            case Submit():
                assert proposer or actor.may_facilitate
            case AskQuestion() | React():
                assert participant
            case GivePosition(person=person, stance=stance):
                assert before.round is not None and person in before.round.eligible
                if person == actor.user_id:
                    assert participant
                else:  # on someone's behalf: a facilitator, for someone present at a meeting
                    assert actor.may_facilitate and person in before.present
                    assert stance is Stance.OBJECTION or not any(
                        o.objector == person and o.status in rules.OPEN_OBJECTION
                        for o in before.objections
                    ), "a position on someone's behalf lifted their objection"
            case WithdrawObjection(objection_id=oid) | ConfirmIntegration(objection_id=oid):
                assert actor.user_id == before.objection(oid).objector
            case DeadlinePassed(now=now):
                assert before.round is not None and before.round.deadline is not None
                assert now >= before.round.deadline
            case _:
                assert actor.may_facilitate
        if isinstance(action, (AskQuestion, React, GivePosition)) and self.round_opened_before_join:
            person = action.person if isinstance(action, GivePosition) else actor.user_id
            assert person != 8, "the late joiner got into a round opened before they joined"

    def check_stage(self, before: Proposal, after: Proposal, effects: tuple[Effect, ...]) -> None:
        changes = of(effects, StageChanged)
        if after.stage is before.stage:
            assert not changes
        else:
            assert changes == [StageChanged(after.stage)]
            assert after.stage in NEXT_STAGES[before.stage]
        became_decided = after.decided and not before.decided
        assert not (before.decided and not after.decided)
        assert of(effects, Adopted) == ([Adopted(after.version)] if became_decided else [])
        assert after.proposer == before.proposer
        assert after.silence_is_consent == before.silence_is_consent

    def check_versions(
        self, before: Proposal, after: Proposal, effects: tuple[Effect, ...]
    ) -> None:
        published = of(effects, VersionPublished)
        assert after.version == before.version + len(published)
        assert len(published) <= 1
        for effect in published:
            assert isinstance(effect, VersionPublished)
            assert effect.number == before.version + 1

    def check_rounds(
        self, before: Proposal, after: Proposal, effects: tuple[Effect, ...], action: Action
    ) -> None:
        opened, closed = of(effects, RoundOpened), of(effects, RoundClosed)
        assert len(opened) <= 1 and len(closed) <= 1
        old, new = before.round, after.round
        if closed:
            (effect,) = closed
            assert isinstance(effect, RoundClosed) and old is not None
            assert effect.silent <= old.eligible
            if effect.silent:  # silence counts only if the space says so, after the deadline
                assert before.silence_is_consent
                assert isinstance(action, (CloseRound, DeadlinePassed))
                assert old.deadline is not None and action.now >= old.deadline
                assert effect.silent == old.missing
            expected_outcome = {
                Stage.ADOPTED: Outcome.ADOPTED,
                Stage.INTEGRATE: Outcome.INTEGRATE,
                Stage.REACT: Outcome.ADVANCED,
                Stage.WITHDRAWN: Outcome.ENDED,
                Stage.REJECTED: Outcome.ENDED,
                Stage.OBJECT: (
                    Outcome.RESTARTED if before.stage is Stage.OBJECT else Outcome.ADVANCED
                ),
            }[after.stage]
            assert effect.outcome is expected_outcome
            if effect.outcome in (Outcome.ADOPTED, Outcome.INTEGRATE):
                # Everyone answered (or was silent when silence counts); all judged.
                assert old.missing <= effect.silent
                assert all(o.status is not ObjectionStatus.RAISED for o in after.objections)
                assert bool(after.open_valid_objections) is (effect.outcome is Outcome.INTEGRATE)
            else:
                assert not effect.silent
        else:
            assert old is None or new is not None, "a round ended without RoundClosed"
        if opened:
            (effect,) = opened
            assert isinstance(effect, RoundOpened) and new is not None
            assert (new.kind, new.version, new.eligible) == (
                effect.kind,
                effect.version,
                effect.eligible,
            )
            assert new.answers == ()
            assert old is None or closed, "a round opened over an open one"
            if closed and closed[0] == RoundClosed(Outcome.RESTARTED):
                assert old is not None and new.eligible == old.eligible  # the same list
                assert new.kind is RoundKind.OBJECT
            else:
                assert new.deadline is None
            self.round_eligible = new.eligible
            self.round_opened_before_join = not self.joined
            self.positions = {}
        elif new is not None:
            # The same round goes on: its list, frozen when it opened, does not change.
            assert old is not None and new.kind is old.kind
            assert new.eligible == old.eligible == self.round_eligible
        else:
            self.round_eligible = None
            self.positions = {}

    def check_positions(
        self,
        before: Proposal,
        after: Proposal,
        effects: tuple[Effect, ...],
        actor: Actor,
        action: Action,
    ) -> None:
        kept = of(effects, PositionKept)
        if not isinstance(action, GivePosition):
            assert not kept
            return
        assert kept == [
            PositionKept(
                action.person, action.stance, before.version, action.person != actor.user_id
            )
        ]
        assert action.version == before.version == after.version
        assert action.stance is not Stance.OBJECTION or action.reason.strip()
        self.positions[action.person] = (action.stance, action.version)

    def check_objections(
        self,
        before: Proposal,
        after: Proposal,
        effects: tuple[Effect, ...],
        actor: Actor,
        action: Action,
    ) -> None:
        old, new = before.objections, after.objections
        assert [(o.id, o.objector, o.version) for o in new[: len(old)]] == [
            (o.id, o.objector, o.version) for o in old
        ], "objections are never removed, reordered or rewritten"
        added = new[len(old) :]
        raised = of(effects, ObjectionRaised)
        assert len(raised) == len(added) <= 1
        for objection, effect in zip(added, raised, strict=True):
            assert effect == ObjectionRaised(objection.objector, objection.version)
            assert objection.status is ObjectionStatus.RAISED
            assert objection.answered_in is None
            assert objection.version == before.version
            assert objection.id == max((o.id for o in old), default=0) + 1
        changed = {
            n.id: n
            for o, n in zip(old, new, strict=False)
            if (o.status, o.answered_in) != (n.status, n.answered_in)
        }
        reported = {}
        for effect in of(effects, ObjectionChanged):
            assert isinstance(effect, ObjectionChanged)
            reported[effect.objection_id] = effect
        assert reported.keys() == changed.keys()
        for oid, objection in changed.items():
            assert (reported[oid].status, reported[oid].answered_in) == (
                objection.status,
                objection.answered_in,
            )
        for o, n in zip(old, new, strict=False):
            if n.status is not o.status:
                assert n.status in NEXT_STATUSES[o.status], f"{o.status} → {n.status}"
                # Judged by a facilitator; otherwise it changes (leaves "valid", or "raised"
                # for withdrawn or integrated) only by the objector's own step.
                if isinstance(action, JudgeObjection):
                    assert o.status is ObjectionStatus.RAISED
                    assert n.status in (ObjectionStatus.VALID, ObjectionStatus.NOT_VALID)
                else:
                    assert actor.user_id == o.objector, "an objection lifted by someone else"
                    assert not (isinstance(action, GivePosition) and action.person != o.objector)
            if n.status is ObjectionStatus.INTEGRATED:
                assert n.objector_confirmed, "integrated without the objector's confirmation"
            if o.answered_in is not None:
                assert n.answered_in is not None and n.answered_in >= o.answered_in
        # Every confirmation's actor is the confirming person, acting themselves.
        for effect in of(effects, ObjectionChanged):
            assert isinstance(effect, ObjectionChanged)
            objection = after.objection(effect.objection_id)
            if effect.proposer_confirms:
                assert actor.user_id == before.proposer and isinstance(action, PublishVersion)
                assert objection.proposer_confirmed
            if effect.objector_confirms:
                assert actor.user_id == objection.objector
                assert isinstance(action, (ConfirmIntegration, GivePosition))
                assert not isinstance(action, GivePosition) or action.person == actor.user_id
                assert objection.objector_confirmed
        # A confirmation, once given, stays; and only an effect that says so gives one.
        said = {e.objection_id: e for e in of(effects, ObjectionChanged)}
        for o, n in zip(old, new, strict=False):
            e = said.get(n.id)
            assert isinstance(e, ObjectionChanged | None)
            by_proposer = e is not None and e.proposer_confirms
            by_objector = e is not None and e.objector_confirms
            assert n.proposer_confirmed == (o.proposer_confirmed or by_proposer)
            assert n.objector_confirmed == (o.objector_confirmed or by_objector)

    def check_questions(
        self, before: Proposal, after: Proposal, actor: Actor, action: Action
    ) -> None:
        old, new = before.questions, after.questions
        assert [(q.id, q.author) for q in new[: len(old)]] == [(q.id, q.author) for q in old]
        newly_answered = {n.id for o, n in zip(old, new, strict=False) if n.answered > o.answered}
        assert all(n.answered or not o.answered for o, n in zip(old, new, strict=False))
        added = new[len(old) :]
        if isinstance(action, AskQuestion):
            assert len(added) == 1 and added[0].author == actor.user_id and not added[0].answered
        else:
            assert not added
        expected = {action.question_id} if isinstance(action, AnswerQuestion) else set()
        assert newly_answered == expected  # answered once, by this action only

    def check_answers(self, before: Proposal, after: Proposal, action: Action) -> None:
        """A reaction adds one answer; a deadline set is the deadline kept."""
        if isinstance(action, React):
            assert before.round is not None and after.round is not None
            assert len(after.round.answers) == len(before.round.answers) + 1
        if isinstance(action, SetDeadline):
            assert after.round is not None and after.round.deadline == action.deadline

    # -- invariants on the state -----------------------------------------------------------------

    @invariant()
    def decided_iff_adopted(self) -> None:
        p = self.proposal
        assert p.decided == (p.stage is Stage.ADOPTED)
        if p.decided:
            assert all(o.status in ENDED_OBJECTION for o in p.objections)

    @invariant()
    def the_open_round_fits_the_stage(self) -> None:
        p, round_ = self.proposal, self.proposal.round
        kind = rules.ROUND_OF_STAGE.get(p.stage)
        if kind is None:
            assert round_ is None  # draft, integrate and closed stages have no round
            return
        assert round_ is not None and round_.kind is kind
        assert round_.version == p.version  # e.g. the object round is on the current text
        assert p.proposer not in round_.eligible
        assert round_.eligible == self.round_eligible
        assert not (self.round_opened_before_join and 8 in round_.eligible)
        people = [user for user, _ in round_.answers]
        assert len(people) == len(set(people)), "one current answer per person"
        assert set(people) <= round_.eligible
        if kind is RoundKind.OBJECT:
            assert dict(round_.answers) == {
                person: stance.value for person, (stance, _) in self.positions.items()
            }
            assert all(version == round_.version for _, version in self.positions.values())
        elif kind is RoundKind.REACT:
            assert {answer for _, answer in round_.answers} <= {"reacted", "passed"}
        else:
            assert round_.answers == ()

    @invariant()
    def objections_are_consistent(self) -> None:
        p = self.proposal
        assert [o.id for o in p.objections] == list(range(1, len(p.objections) + 1))
        for o in p.objections:
            assert 1 <= o.version <= p.version
            if o.answered_in is not None:
                assert o.version < o.answered_in <= p.version
            if o.status is ObjectionStatus.INTEGRATED:
                assert o.answered_in is not None  # the database asks the same
        if p.stage is Stage.INTEGRATE and p.objections:
            assert not any(o.status is ObjectionStatus.RAISED for o in p.objections)

    @invariant()
    def an_open_proposal_can_go_on(self) -> None:
        """Short of being withdrawn or closed without consent, someone can move it on."""
        p = self.proposal
        if p.stage.closed or p is self.checked_can_go_on:
            return
        self.checked_can_go_on = p
        members, now = self.members(), self.now
        moves: list[Move] = [(self.proposer, Submit(members)), (ADMIN, Advance(members))]
        moves += [(self.proposer, AnswerQuestion(q.id)) for q in p.questions]
        if p.round is not None:
            far = (p.round.deadline or now) + timedelta(days=1)
            moves += [
                (self.actor(u), GivePosition(u, Stance.CONSENT, p.version)) for u in p.round.missing
            ]
            moves += [(ADMIN, CloseRound(far)), (ADMIN, SetDeadline(far, now))]
        valid = frozenset(o.id for o in p.open_valid_objections)
        moves += [(self.proposer, PublishVersion(valid)), (ADMIN, OpenObjectRound(members))]
        for o in p.objections:
            moves.append((ADMIN, JudgeObjection(o.id, valid=False, reason="Only feared.")))
            moves.append((self.actor(o.objector), ConfirmIntegration(o.id)))
        assert any(allowed(p, actor, action) for actor, action in moves), f"dead end: {p}"

    @invariant()
    def available_says_what_step_does(self) -> None:
        """`available()` for one person (in turn): each step it lists ready is accepted by
        `step`, each it lists blocked is refused with the rule it names; and every step of
        theirs that `step` refuses for a reason other than who they are is listed blocked."""
        p = self.proposal
        actor = self.actors()[self.acts % len(self.actors())]
        listed = rules.available(p, actor, self.now)
        for entry in listed:
            if entry.ready:
                assert allowed(p, actor, entry.action), entry
            else:
                with pytest.raises(RuleViolation) as refused:
                    step(p, actor, entry.action)
                assert refused.value.rule is entry.blocked
                if entry.blocked is Rule.POSITIONS_MISSING:
                    assert p.round is not None and entry.waits_for == p.round.missing
        stage_steps = rules._MAIN.get(p.stage, ())
        ours = [entry for entry in listed if entry.verb in stage_steps]
        assert sum(entry.main for entry in listed) == (1 if ours else 0)
        if ours:  # the main step is the stage's first ready step, or else its first waiting
            main = listed[0]
            assert main.main and main.verb in stage_steps
            assert main.ready or not any(entry.ready for entry in ours)
        actions = [entry.action for entry in listed]
        for _verb, action in rules._candidates(p, actor, self.now):
            try:
                step(p, actor, action)
            except RuleViolation as refused:
                assert (action in actions) is (refused.rule not in rules._NOT_MINE)
            else:
                assert action in actions

    # -- how far it went -------------------------------------------------------------------

    def note_milestones(self, before: Proposal, result: Step) -> None:
        after = result.proposal
        self.milestones.add(f"stage {after.stage.value}")
        for effect in result.effects:
            match effect:
                case ObjectionRaised():
                    self.milestones.add("objection raised")
                case ObjectionChanged(status=status) if status is not ObjectionStatus.VALID or (
                    before.objection(effect.objection_id).status is ObjectionStatus.RAISED
                ):
                    self.milestones.add(f"objection {status.value}")
                case RoundClosed(outcome=outcome, silent=silent):
                    self.milestones.add(f"round {outcome.value}")
                    if silent:
                        self.milestones.add("silence counted as consent")
                case Adopted() if any(o.answered_in for o in after.objections):
                    self.milestones.add("adopted after integration")
                case _:
                    pass

    def teardown(self) -> None:
        for milestone in sorted(self.milestones):
            event(milestone)
        ConsentMachine.reached.update(self.milestones)
        target(float(len(self.milestones)), label="milestones reached")


MACHINE_SETTINGS = settings(
    max_examples=2000,
    stateful_step_count=30,
    deadline=None,
    database=None,  # nothing written next to the tests
    suppress_health_check=[HealthCheck.too_slow],
)


def test_consent_machine() -> None:
    ConsentMachine.reached.clear()
    run_state_machine_as_test(ConsentMachine, settings=MACHINE_SETTINGS)
    reached = ConsentMachine.reached
    # The walks must reach the interesting places, and often. Counted once per example, the
    # core ones are usually seen in a quarter to a half of the 2000 examples; silence counted
    # as consent (which takes a space that says so, a deadline and someone silent) in 2 to
    # 30 %; a proposal ended on purpose (which only random acts do) in 1 to 10 %. The bounds
    # leave a wide margin: the proportions vary with Hypothesis's choices.
    least = {
        "stage adopted": 100,
        "stage integrate": 100,
        "objection raised": 100,
        "objection valid": 100,
        "objection not_valid": 100,
        "objection withdrawn": 100,
        "objection integrated": 100,
        "adopted after integration": 100,
        "round restarted": 100,
        "silence counted as consent": 10,
        "stage withdrawn": 5,
        "stage rejected": 5,
        "stale step refused": 100,
    }
    assert {m: reached[m] for m in least if reached[m] < least[m]} == {}, reached


# --- paths walked by hand -------------------------------------------------------------------


def run(proposal: Proposal, *moves: Move) -> Proposal:
    for actor, action in moves:
        proposal = step(proposal, actor, action).proposal
    return proposal


def draft(*, silence: bool = False, present: frozenset[int] = MEMBERS | {8}) -> Proposal:
    """A draft of the proposer's; by default a meeting of the space is open, everyone present
    (so that a facilitator may record positions on their behalf)."""
    return Proposal(Stage.DRAFT, proposer=1, version=1, silence_is_consent=silence, present=present)


def clarifying(*, silence: bool = False) -> Proposal:
    return run(draft(silence=silence), (PROPOSER, Submit(MEMBERS)))


def reacting(*, silence: bool = False) -> Proposal:
    return run(clarifying(silence=silence), (FACILITATOR, Advance(MEMBERS)))


def objecting(*, silence: bool = False) -> Proposal:
    return run(reacting(silence=silence), (FACILITATOR, Advance(MEMBERS)))


def objected() -> Proposal:
    """An object round on version 1 where Alice has raised objection 1, not judged yet."""
    return run(objecting(), (ALICE, GivePosition(4, Stance.OBJECTION, 1, REASON)))


def all_answered() -> Proposal:
    """Everybody has answered version 1; Alice's objection 1 waits for its judgement."""
    return run(
        objected(),
        (FACILITATOR, GivePosition(2, Stance.CONSENT, 1)),
        (BOB, GivePosition(5, Stance.CONSENT, 1)),
    )


def integrating() -> Proposal:
    """Alice's objection 1 judged valid; the round closed: integrate, still on version 1."""
    return run(
        all_answered(),
        (ADMIN, JudgeObjection(1, valid=True, reason="It is known, not only feared.")),
        (FACILITATOR, CloseRound(T0)),
    )


def check(proposal: Proposal, actor: Actor, action: Action, *effects: Effect) -> Proposal:
    result = step(proposal, actor, action)
    assert result.effects == effects
    return result.proposal


def test_full_path_through_an_integrated_objection() -> None:
    p = draft()
    p = check(p, PROPOSER, EditDraft())
    p = check(
        p,
        PROPOSER,
        Submit(MEMBERS),
        StageChanged(Stage.CLARIFY),
        RoundOpened(RoundKind.CLARIFY, 1, ELIGIBLE),
    )
    p = check(p, ALICE, AskQuestion())
    assert p.questions[0].author == 4
    p = check(p, PROPOSER, AnswerQuestion(1))
    p = check(
        p,
        FACILITATOR,
        Advance(MEMBERS),
        RoundClosed(Outcome.ADVANCED),
        StageChanged(Stage.REACT),
        RoundOpened(RoundKind.REACT, 1, ELIGIBLE),
    )
    p = check(p, ALICE, React())
    p = check(p, BOB, React(passed=True))
    p = check(
        p,
        ADMIN,
        Advance(MEMBERS | {8}),  # Late joined meanwhile: on the list of the new round
        RoundClosed(Outcome.ADVANCED),
        StageChanged(Stage.OBJECT),
        RoundOpened(RoundKind.OBJECT, 1, ELIGIBLE | {8}),
    )
    p = check(
        p,
        ALICE,
        GivePosition(4, Stance.OBJECTION, 1, REASON),
        PositionKept(4, Stance.OBJECTION, 1, on_behalf=False),
        ObjectionRaised(4, 1),
    )
    p = check(
        p,
        FACILITATOR,
        GivePosition(2, Stance.CONSENT, 1),
        PositionKept(2, Stance.CONSENT, 1, on_behalf=False),
    )
    p = check(
        p,
        FACILITATOR,
        GivePosition(5, Stance.CONCERN, 1, "The cost."),
        PositionKept(5, Stance.CONCERN, 1, on_behalf=True),
    )
    p = check(
        p, LATE, GivePosition(8, Stance.CONSENT, 1), PositionKept(8, Stance.CONSENT, 1, False)
    )
    p = check(
        p,
        FACILITATOR,
        JudgeObjection(1, valid=True, reason="It is known."),
        ObjectionChanged(1, ObjectionStatus.VALID),
    )
    p = check(
        p,
        FACILITATOR,
        CloseRound(T0),
        RoundClosed(Outcome.INTEGRATE),
        StageChanged(Stage.INTEGRATE),
    )
    assert p.round is None and p.version == 1
    p = check(
        p,
        PROPOSER,
        PublishVersion(frozenset({1})),
        VersionPublished(2, frozenset({1})),
        ObjectionChanged(1, ObjectionStatus.VALID, answered_in=2, proposer_confirms=True),
    )
    p = check(
        p,
        ADMIN,
        OpenObjectRound(MEMBERS | {8}),
        StageChanged(Stage.OBJECT),
        RoundOpened(RoundKind.OBJECT, 2, ELIGIBLE | {8}),
    )
    with pytest.raises(RuleViolation) as stale:
        step(p, BOB, GivePosition(5, Stance.CONSENT, 1))
    assert stale.value.code == Rule.STALE_VERSION.value
    p = check(
        p,
        ALICE,
        GivePosition(4, Stance.CONSENT, 2),
        PositionKept(4, Stance.CONSENT, 2, on_behalf=False),
        ObjectionChanged(1, ObjectionStatus.INTEGRATED, answered_in=2, objector_confirms=True),
    )
    for person in (2, 5, 8):
        p = check(
            p,
            ADMIN,
            GivePosition(person, Stance.CONSENT, 2),
            PositionKept(person, Stance.CONSENT, 2, on_behalf=True),
        )
    p = check(
        p,
        FACILITATOR,
        CloseRound(T0),
        RoundClosed(Outcome.ADOPTED),
        StageChanged(Stage.ADOPTED),
        Adopted(2),
    )
    assert p.decided and p.round is None
    assert p.objections == (
        rules.Objection(1, objector=4, version=1, status=ObjectionStatus.INTEGRATED, answered_in=2,
                        proposer_confirmed=True, objector_confirmed=True),
    )  # fmt: skip
    attempts: list[Move] = [(PROPOSER, Withdraw()), (ADMIN, CloseWithoutConsent(REASON))]
    for actor, action in attempts:
        with pytest.raises(RuleViolation) as closed:
            step(p, actor, action)
        assert closed.value.code == Rule.CLOSED.value


def test_only_the_objector_lifts_their_objection() -> None:
    """The side door the last review found: a facilitator's position "on behalf" of an
    objector never withdraws nor integrates the objection; an objection recorded on someone's
    behalf (they said it aloud in the meeting) is theirs, and only they lift it."""
    p = objected()
    for stance in (Stance.CONSENT, Stance.CONCERN):
        with pytest.raises(RuleViolation) as refused:
            step(p, ADMIN, GivePosition(4, stance, 1, REASON))
        assert refused.value.rule is Rule.ON_BEHALF_LIFTS
    p = check(p, ADMIN, GivePosition(5, Stance.OBJECTION, 1, REASON),
              PositionKept(5, Stance.OBJECTION, 1, on_behalf=True),
              ObjectionRaised(5, 1))  # fmt: skip
    with pytest.raises(RuleViolation):
        step(p, FACILITATOR, WithdrawObjection(2))  # not Bob's own act
    p = check(p, BOB, GivePosition(5, Stance.CONSENT, 1),
              PositionKept(5, Stance.CONSENT, 1, on_behalf=False),
              ObjectionChanged(2, ObjectionStatus.WITHDRAWN))  # fmt: skip
    assert p.objection(1).status is ObjectionStatus.RAISED


def test_the_objector_confirms_the_integration_explicitly() -> None:
    p = run(integrating(), (PROPOSER, PublishVersion(frozenset({1}))))
    p = check(
        p,
        ALICE,
        ConfirmIntegration(1),
        ObjectionChanged(1, ObjectionStatus.INTEGRATED, answered_in=2, objector_confirms=True),
    )
    p = check(
        p,
        ADMIN,
        OpenObjectRound(MEMBERS),
        StageChanged(Stage.OBJECT),
        RoundOpened(RoundKind.OBJECT, 2, ELIGIBLE),
    )
    assert p.objection(1).status is ObjectionStatus.INTEGRATED


def test_withdrawing_the_last_valid_objection_leaves_a_way_forward() -> None:
    """Nothing is left to integrate: a new object round opens on the same version (it used
    to be a dead end: no version could be published, no round opened)."""
    p = check(
        integrating(),
        ALICE,
        WithdrawObjection(1),
        ObjectionChanged(1, ObjectionStatus.WITHDRAWN),
    )
    assert not allowed(p, PROPOSER, PublishVersion())
    p = check(
        p,
        ADMIN,
        OpenObjectRound(MEMBERS),
        StageChanged(Stage.OBJECT),
        RoundOpened(RoundKind.OBJECT, 1, ELIGIBLE),
    )
    p = run(p, *[(ADMIN, GivePosition(u, Stance.CONSENT, 1)) for u in sorted(ELIGIBLE)])
    p = run(p, (ADMIN, CloseRound(T0)))
    assert p.stage is Stage.ADOPTED


def test_a_new_version_restarts_the_object_round() -> None:
    p = run(
        objected(),
        (ADMIN, SetDeadline(T0 + timedelta(days=3), T0)),
        (BOB, GivePosition(5, Stance.CONSENT, 1)),
    )
    p = check(
        p,
        PROPOSER,
        PublishVersion(),
        VersionPublished(2, frozenset()),
        RoundClosed(Outcome.RESTARTED),
        RoundOpened(RoundKind.OBJECT, 2, ELIGIBLE),
    )
    assert p.round is not None and p.round.answers == () and p.version == 2
    assert p.objection(1).status is ObjectionStatus.RAISED  # still to be judged
    # Alice consents to the new text: her objection to version 1 is integrated in version 2.
    p = check(
        p,
        ALICE,
        GivePosition(4, Stance.CONSENT, 2),
        PositionKept(4, Stance.CONSENT, 2, on_behalf=False),
        ObjectionChanged(1, ObjectionStatus.INTEGRATED, answered_in=2, objector_confirms=True),
    )


def test_consenting_to_the_version_objected_to_withdraws_the_objection() -> None:
    p = check(
        objected(),
        ALICE,
        GivePosition(4, Stance.CONCERN, 1, "Still the cost."),
        PositionKept(4, Stance.CONCERN, 1, on_behalf=False),
        ObjectionChanged(1, ObjectionStatus.WITHDRAWN),
    )
    # Objecting again raises a new objection; the withdrawn one stays withdrawn.
    p = check(
        p,
        ALICE,
        GivePosition(4, Stance.OBJECTION, 1, REASON),
        PositionKept(4, Stance.OBJECTION, 1, on_behalf=False),
        ObjectionRaised(4, 1),
    )
    assert [o.status for o in p.objections] == [ObjectionStatus.WITHDRAWN, ObjectionStatus.RAISED]
    assert p.round is not None and p.round.answer_of(4) == "objection"


@pytest.mark.parametrize("silence", [True, False])
def test_silence_counts_as_consent_only_when_the_space_says_so(silence: bool) -> None:
    deadline = T0 + timedelta(days=2)
    p = run(
        objecting(silence=silence),
        (ADMIN, SetDeadline(deadline, T0)),
        (ALICE, GivePosition(4, Stance.CONSENT, 1)),
    )
    with pytest.raises(RuleViolation) as early:
        step(p, SYSTEM, DeadlinePassed(deadline - timedelta(minutes=1), MEMBERS))
    assert early.value.code == Rule.DEADLINE_NOT_REACHED.value
    if not silence:
        with pytest.raises(RuleViolation) as missing:
            step(p, SYSTEM, DeadlinePassed(deadline, MEMBERS))
        assert missing.value.code == Rule.POSITIONS_MISSING.value
        return
    check(
        p,
        SYSTEM,
        DeadlinePassed(deadline, MEMBERS),
        RoundClosed(Outcome.ADOPTED, silent=frozenset({2, 5})),
        StageChanged(Stage.ADOPTED),
        Adopted(1),
    )


def test_a_deadline_ends_a_clarify_round() -> None:
    deadline = T0 + timedelta(hours=12)
    p = run(clarifying(), (ADMIN, SetDeadline(deadline, T0)))
    check(
        p,
        SYSTEM,
        DeadlinePassed(deadline + timedelta(hours=1), MEMBERS | {8}),
        RoundClosed(Outcome.ADVANCED),
        StageChanged(Stage.REACT),
        RoundOpened(RoundKind.REACT, 1, ELIGIBLE | {8}),
    )


def test_a_late_joiner_stays_off_the_open_round() -> None:
    p = objecting()  # opened before Late joined
    for actor, action in [
        (LATE, GivePosition(8, Stance.CONSENT, 1)),
        (ADMIN, GivePosition(8, Stance.CONSENT, 1)),
    ]:
        with pytest.raises(RuleViolation) as excinfo:
            step(p, actor, action)
        assert excinfo.value.code == Rule.NOT_ELIGIBLE.value
    assert p.round is not None and p.round.eligible == ELIGIBLE


@pytest.mark.parametrize(
    ("actor", "action", "stage"),
    [
        (PROPOSER, Withdraw(), Stage.WITHDRAWN),
        (ADMIN, CloseWithoutConsent("No consent after three rounds."), Stage.REJECTED),
    ],
)
def test_ending_a_proposal_closes_its_round(actor: Actor, action: Action, stage: Stage) -> None:
    p = check(objected(), actor, action, RoundClosed(Outcome.ENDED), StageChanged(stage))
    assert p.round is None and not p.decided


# --- one refusal per rule -------------------------------------------------------------------

Scenario = Callable[[], tuple[Proposal, Actor, Action]]


@dataclass(frozen=True)
class Refusal:
    rule: Rule
    status: int
    scenario: Scenario

    @property
    def id(self) -> str:
        return f"{self.rule.value}-{self.scenario.__name__}"


REFUSALS: list[Refusal] = []


def refuses(rule: Rule, status: int) -> Callable[[Scenario], Scenario]:
    def register(scenario: Scenario) -> Scenario:
        REFUSALS.append(Refusal(rule, status, scenario))
        return scenario

    return register


@refuses(Rule.NOT_PARTICIPANT, 403)
def an_observer_asks_a_question() -> tuple[Proposal, Actor, Action]:
    return clarifying(), OBSERVER, AskQuestion()


@refuses(Rule.NOT_PARTICIPANT, 403)
def a_proposer_who_may_no_longer_act_edits() -> tuple[Proposal, Actor, Action]:
    return draft(), Actor(1, may_participate=False, may_facilitate=False), EditDraft()


@refuses(Rule.PROPOSER_ONLY, 403)
def a_participant_edits_the_draft() -> tuple[Proposal, Actor, Action]:
    return draft(), ALICE, EditDraft()


@refuses(Rule.PROPOSER_ONLY, 403)
def a_facilitator_publishes_a_version() -> tuple[Proposal, Actor, Action]:
    return reacting(), FACILITATOR, PublishVersion()


@refuses(Rule.FACILITATOR_ONLY, 403)
def a_participant_ends_the_clarify_round() -> tuple[Proposal, Actor, Action]:
    return clarifying(), ALICE, Advance(MEMBERS)


@refuses(Rule.FACILITATOR_ONLY, 403)
def someone_else_submits_the_draft() -> tuple[Proposal, Actor, Action]:
    return draft(), BOB, Submit(MEMBERS)


@refuses(Rule.CLOSED, 409)
def editing_a_withdrawn_draft() -> tuple[Proposal, Actor, Action]:
    return run(draft(), (PROPOSER, Withdraw())), PROPOSER, EditDraft()


@refuses(Rule.CLOSED, 409)
def a_position_after_adoption() -> tuple[Proposal, Actor, Action]:
    p = run(objecting(), *[(ADMIN, GivePosition(u, Stance.CONSENT, 1)) for u in sorted(ELIGIBLE)])
    return run(p, (ADMIN, CloseRound(T0))), ALICE, GivePosition(4, Stance.OBJECTION, 1, REASON)


@refuses(Rule.NOT_DRAFT, 409)
def editing_after_submission() -> tuple[Proposal, Actor, Action]:
    return clarifying(), PROPOSER, EditDraft()


@refuses(Rule.WRONG_STAGE, 409)
def submitting_twice() -> tuple[Proposal, Actor, Action]:
    return clarifying(), PROPOSER, Submit(MEMBERS)


@refuses(Rule.WRONG_STAGE, 409)
def closing_a_draft_without_consent() -> tuple[Proposal, Actor, Action]:
    return draft(), ADMIN, CloseWithoutConsent(REASON)


@refuses(Rule.WRONG_STAGE, 409)
def asking_a_question_in_the_react_round() -> tuple[Proposal, Actor, Action]:
    return reacting(), ALICE, AskQuestion()


@refuses(Rule.WRONG_STAGE, 409)
def closing_a_clarify_round_as_an_object_round() -> tuple[Proposal, Actor, Action]:
    return clarifying(), ADMIN, CloseRound(T0)


@refuses(Rule.NO_OPEN_ROUND, 409)
def closing_a_round_while_integrating() -> tuple[Proposal, Actor, Action]:
    return integrating(), FACILITATOR, CloseRound(T0)


@refuses(Rule.NO_OPEN_ROUND, 409)
def a_deadline_for_a_draft() -> tuple[Proposal, Actor, Action]:
    return draft(), ADMIN, SetDeadline(T0 + timedelta(days=1), T0)


@refuses(Rule.NOT_ELIGIBLE, 403)
def a_late_joiner_gives_a_position() -> tuple[Proposal, Actor, Action]:
    return objecting(), LATE, GivePosition(8, Stance.CONSENT, 1)


@refuses(Rule.NOT_ELIGIBLE, 403)
def a_position_recorded_for_the_proposer() -> tuple[Proposal, Actor, Action]:
    return objecting(), ADMIN, GivePosition(1, Stance.CONSENT, 1)


@refuses(Rule.PROPOSER_ASKS, 403)
def the_proposer_asks_a_question() -> tuple[Proposal, Actor, Action]:
    return clarifying(), PROPOSER, AskQuestion()


@refuses(Rule.PROPOSER_ASKS, 403)
def the_proposer_consents_to_their_proposal() -> tuple[Proposal, Actor, Action]:
    return objecting(), PROPOSER, GivePosition(1, Stance.CONSENT, 1)


@refuses(Rule.QUESTION_UNKNOWN, 404)
def answering_a_question_nobody_asked() -> tuple[Proposal, Actor, Action]:
    return clarifying(), PROPOSER, AnswerQuestion(1)


@refuses(Rule.QUESTION_ANSWERED, 409)
def answering_a_question_twice() -> tuple[Proposal, Actor, Action]:
    p = run(clarifying(), (ALICE, AskQuestion()), (PROPOSER, AnswerQuestion(1)))
    return p, PROPOSER, AnswerQuestion(1)


@refuses(Rule.QUESTIONS_UNANSWERED, 409)
def leaving_clarify_with_a_question_open() -> tuple[Proposal, Actor, Action]:
    return run(clarifying(), (BOB, AskQuestion())), FACILITATOR, Advance(MEMBERS)


@refuses(Rule.ALREADY_REACTED, 409)
def reacting_twice() -> tuple[Proposal, Actor, Action]:
    return run(reacting(), (ALICE, React(passed=True))), ALICE, React()


@refuses(Rule.STALE_VERSION, 409)
def a_position_on_the_previous_version() -> tuple[Proposal, Actor, Action]:
    p = run(objecting(), (PROPOSER, PublishVersion()))
    return p, BOB, GivePosition(5, Stance.CONSENT, 1)


@refuses(Rule.STALE_VERSION, 409)
def a_position_on_a_version_to_come() -> tuple[Proposal, Actor, Action]:
    return objecting(), ADMIN, GivePosition(5, Stance.CONSENT, 2)


@refuses(Rule.REASON_REQUIRED, 422)
def an_objection_without_its_reason() -> tuple[Proposal, Actor, Action]:
    return objecting(), ALICE, GivePosition(4, Stance.OBJECTION, 1, "  \n")


@refuses(Rule.REASON_REQUIRED, 422)
def a_judgement_without_its_reason() -> tuple[Proposal, Actor, Action]:
    return objected(), ADMIN, JudgeObjection(1, valid=False, reason="")


@refuses(Rule.REASON_REQUIRED, 422)
def closing_without_consent_without_a_reason() -> tuple[Proposal, Actor, Action]:
    return reacting(), ADMIN, CloseWithoutConsent(" ")


@refuses(Rule.NOT_YOUR_POSITION, 403)
def a_participant_answers_for_another() -> tuple[Proposal, Actor, Action]:
    return objecting(), ALICE, GivePosition(5, Stance.CONSENT, 1)


@refuses(Rule.OBJECTION_UNKNOWN, 404)
def judging_an_objection_nobody_raised() -> tuple[Proposal, Actor, Action]:
    return objected(), ADMIN, JudgeObjection(2, valid=True, reason="Known.")


@refuses(Rule.OBJECTION_UNKNOWN, 404)
def withdrawing_an_objection_nobody_raised() -> tuple[Proposal, Actor, Action]:
    return objecting(), ALICE, WithdrawObjection(1)


@refuses(Rule.OBJECTION_JUDGED, 409)
def judging_an_objection_twice() -> tuple[Proposal, Actor, Action]:
    p = run(objected(), (ADMIN, JudgeObjection(1, valid=False, reason="Only feared.")))
    return p, FACILITATOR, JudgeObjection(1, valid=True, reason="Known after all.")


@refuses(Rule.OBJECTION_NOT_OPEN, 409)
def withdrawing_an_objection_judged_not_valid() -> tuple[Proposal, Actor, Action]:
    p = run(objected(), (ADMIN, JudgeObjection(1, valid=False, reason="Only feared.")))
    return p, ALICE, WithdrawObjection(1)


@refuses(Rule.OBJECTION_NOT_OPEN, 409)
def confirming_the_integration_of_a_withdrawn_objection() -> tuple[Proposal, Actor, Action]:
    return run(objected(), (ALICE, WithdrawObjection(1))), ALICE, ConfirmIntegration(1)


@refuses(Rule.NOT_OBJECTOR, 403)
def someone_else_withdraws_the_objection() -> tuple[Proposal, Actor, Action]:
    return objected(), BOB, WithdrawObjection(1)


@refuses(Rule.NOT_OBJECTOR, 403)
def the_proposer_confirms_the_integration() -> tuple[Proposal, Actor, Action]:
    p = run(integrating(), (PROPOSER, PublishVersion(frozenset({1}))))
    return p, PROPOSER, ConfirmIntegration(1)


@refuses(Rule.NOT_ANSWERED, 409)
def confirming_before_any_version_answers() -> tuple[Proposal, Actor, Action]:
    return integrating(), ALICE, ConfirmIntegration(1)


@refuses(Rule.VERSION_ANSWERS_NOTHING, 422)
def integrating_without_naming_the_objections() -> tuple[Proposal, Actor, Action]:
    return integrating(), PROPOSER, PublishVersion()


@refuses(Rule.VERSION_ANSWERS_INVALID, 422)
def answering_an_objection_that_does_not_exist() -> tuple[Proposal, Actor, Action]:
    return integrating(), PROPOSER, PublishVersion(frozenset({1, 2}))


@refuses(Rule.VERSION_ANSWERS_INVALID, 422)
def answering_objections_outside_the_integrate_stage() -> tuple[Proposal, Actor, Action]:
    return objected(), PROPOSER, PublishVersion(frozenset({1}))


@refuses(Rule.UNANSWERED_OBJECTIONS, 409)
def a_new_object_round_before_integrating() -> tuple[Proposal, Actor, Action]:
    return integrating(), ADMIN, OpenObjectRound(MEMBERS)


@refuses(Rule.NO_NEW_VERSION, 409)
def a_new_object_round_on_the_version_objected_to() -> tuple[Proposal, Actor, Action]:
    """Alice's objection 1 is answered by version 2, but she objects to version 2 too (her
    objection 2, judged not valid) and keeps objection 1 open: version 2 is objected to,
    objection 1 stays valid, and a version 3 must come first."""
    p = run(
        integrating(),
        (PROPOSER, PublishVersion(frozenset({1}))),
        (ADMIN, OpenObjectRound(MEMBERS)),
        (ALICE, GivePosition(4, Stance.OBJECTION, 2, REASON)),
        (ADMIN, JudgeObjection(2, valid=False, reason="Only feared.")),
        (ADMIN, GivePosition(2, Stance.CONSENT, 2)),
        (ADMIN, GivePosition(5, Stance.CONSENT, 2)),
        (ADMIN, CloseRound(T0)),
    )
    assert p.stage is Stage.INTEGRATE and p.objection(1).answered_in == 2
    return p, ADMIN, OpenObjectRound(MEMBERS)


@refuses(Rule.POSITIONS_MISSING, 409)
def closing_the_round_before_everyone_answered() -> tuple[Proposal, Actor, Action]:
    return objected(), FACILITATOR, CloseRound(T0)


@refuses(Rule.POSITIONS_MISSING, 409)
def silence_is_not_consent_before_the_deadline() -> tuple[Proposal, Actor, Action]:
    p = run(objecting(silence=True), (ADMIN, SetDeadline(T0 + timedelta(days=1), T0)))
    return p, ADMIN, CloseRound(T0 + timedelta(hours=23))


@refuses(Rule.OBJECTIONS_UNJUDGED, 409)
def closing_the_round_with_an_objection_unjudged() -> tuple[Proposal, Actor, Action]:
    return all_answered(), FACILITATOR, CloseRound(T0)


@refuses(Rule.DEADLINE_PAST, 422)
def a_deadline_in_the_past() -> tuple[Proposal, Actor, Action]:
    return reacting(), ADMIN, SetDeadline(T0, T0)


@refuses(Rule.DEADLINE_NOT_REACHED, 409)
def the_deadline_task_comes_early() -> tuple[Proposal, Actor, Action]:
    p = run(reacting(), (ADMIN, SetDeadline(T0 + timedelta(days=1), T0)))
    return p, SYSTEM, DeadlinePassed(T0 + timedelta(hours=2), MEMBERS)


@refuses(Rule.DEADLINE_NOT_REACHED, 409)
def the_deadline_task_without_a_deadline() -> tuple[Proposal, Actor, Action]:
    return objecting(), SYSTEM, DeadlinePassed(T0, MEMBERS)


@refuses(Rule.NOBODY_ELIGIBLE, 409)
def submitting_to_a_space_of_one() -> tuple[Proposal, Actor, Action]:
    return draft(), PROPOSER, Submit(frozenset({1}))


@refuses(Rule.NOBODY_ELIGIBLE, 409)
def a_new_object_round_for_nobody() -> tuple[Proposal, Actor, Action]:
    p = run(integrating(), (PROPOSER, PublishVersion(frozenset({1}))))
    return p, ADMIN, OpenObjectRound(frozenset())


@refuses(Rule.STALE_STATE, 409)
def advancing_twice_from_the_same_page() -> tuple[Proposal, Actor, Action]:
    p = clarifying()
    p = run(p, (FACILITATOR, Advance(MEMBERS, seen=p.revision)))
    return p, ADMIN, Advance(MEMBERS, seen=p.revision - 1)


@refuses(Rule.STALE_STATE, 409)
def judging_on_a_page_read_before_a_change() -> tuple[Proposal, Actor, Action]:
    p = objected()
    seen = p.revision
    p = run(p, (BOB, GivePosition(5, Stance.CONSENT, 1)))
    return p, ADMIN, JudgeObjection(1, valid=True, reason="Known.", seen=seen)


@refuses(Rule.NOT_PRESENT, 409)
def a_position_on_behalf_with_no_meeting_open() -> tuple[Proposal, Actor, Action]:
    p = run(draft(present=frozenset()), (PROPOSER, Submit(MEMBERS)),
            (ADMIN, Advance(MEMBERS)), (ADMIN, Advance(MEMBERS)))  # fmt: skip
    return p, ADMIN, GivePosition(5, Stance.CONSENT, 1)


@refuses(Rule.NOT_PRESENT, 409)
def a_position_on_behalf_of_someone_absent() -> tuple[Proposal, Actor, Action]:
    p = run(draft(present=frozenset({4})), (PROPOSER, Submit(MEMBERS)),
            (ADMIN, Advance(MEMBERS)), (ADMIN, Advance(MEMBERS)))  # fmt: skip
    return p, ADMIN, GivePosition(5, Stance.CONSENT, 1)


@refuses(Rule.ON_BEHALF_LIFTS, 403)
def consent_on_behalf_of_an_objector() -> tuple[Proposal, Actor, Action]:
    return objected(), ADMIN, GivePosition(4, Stance.CONSENT, 1)


@refuses(Rule.ON_BEHALF_LIFTS, 403)
def consent_on_behalf_of_an_objector_to_the_new_version() -> tuple[Proposal, Actor, Action]:
    p = run(integrating(), (PROPOSER, PublishVersion(frozenset({1}))),
            (ADMIN, OpenObjectRound(MEMBERS)))  # fmt: skip
    return p, FACILITATOR, GivePosition(4, Stance.CONCERN, 2, "Fine now.")


# An election (elections/rules.py): the facilitator (2) opened it; everyone in MEMBERS is on
# the list and may be nominated, but for the proposer (1), past the role's term limit.


def election() -> Proposal:
    return Proposal(Stage.DRAFT, proposer=2, version=1, present=MEMBERS, ballot=Ballot())


def nominating() -> Proposal:
    return run(election(), (FACILITATOR, Submit(MEMBERS, nominable=MEMBERS - {1})))


def revealed() -> Proposal:
    p = nominating()
    for who in (PROPOSER, FACILITATOR, ALICE, BOB):
        p = run(p, (who, Nominate(4, "Elle connaît les comptes.")))
    return run(p, (FACILITATOR, Reveal(T0)))


def alice_proposed() -> Proposal:
    return run(revealed(), (FACILITATOR, ProposeHolder(4, "Nommée par tous.")))


@refuses(Rule.NOT_AN_ELECTION, 409)
def nominating_on_an_ordinary_proposal() -> tuple[Proposal, Actor, Action]:
    return objecting(), ALICE, Nominate(5, "Bob est disponible.")


@refuses(Rule.ELECTION_STEP, 409)
def publishing_a_version_of_an_election() -> tuple[Proposal, Actor, Action]:
    return alice_proposed(), FACILITATOR, PublishVersion()


@refuses(Rule.ELECTION_STEP, 409)
def opening_an_object_round_in_an_election() -> tuple[Proposal, Actor, Action]:
    p = run(alice_proposed(), *[(who, GivePosition(who.user_id, Stance.CONSENT, 2))
                                for who in (PROPOSER, FACILITATOR, BOB)])  # fmt: skip
    p = run(p, (ALICE, GivePosition(4, Stance.OBJECTION, 2, "Je ne peux pas cette année.")))
    return p, FACILITATOR, OpenObjectRound(MEMBERS)


@refuses(Rule.NOMINATIONS_SEALED, 409)
def revealing_before_everyone_nominated() -> tuple[Proposal, Actor, Action]:
    p = run(nominating(), (ALICE, Nominate(5, "Bob est disponible.")))
    return p, FACILITATOR, Reveal(T0)


@refuses(Rule.NOMINEE_NOT_ELIGIBLE, 422)
def nominating_someone_past_the_term_limit() -> tuple[Proposal, Actor, Action]:
    return nominating(), ALICE, Nominate(1, "Il a l'expérience.")


@refuses(Rule.SCENARIO_NOT_IN_CHOICE, 422)
def preferring_a_scenario_outside_the_choice() -> tuple[Proposal, Actor, Action]:
    choice = Proposal(Stage.DRAFT, proposer=1, version=1, ballot=Ballot(of_people=False))
    p = run(choice, (FACILITATOR, Submit(frozenset({1, 4, 5}), nominable=frozenset({10, 11}))))
    p = run(p, (FACILITATOR, Advance(frozenset(), p.revision)))
    return p, ALICE, Nominate(12, "Un autre scénario.")


@refuses(Rule.NOMINEE_DECLINED, 422)
def proposing_again_who_declined() -> tuple[Proposal, Actor, Action]:
    p = run(alice_proposed(), *[(who, GivePosition(who.user_id, Stance.CONSENT, 2))
                                for who in (PROPOSER, FACILITATOR, BOB)])  # fmt: skip
    p = run(p, (ALICE, GivePosition(4, Stance.OBJECTION, 2, "Je ne peux pas cette année.")))
    return p, FACILITATOR, ProposeHolder(4, "Elle reste la plus nommée.")


@refuses(Rule.NOMINEE_ANSWERS_LAST, 409)
def the_person_proposed_answers_first() -> tuple[Proposal, Actor, Action]:
    return alice_proposed(), ALICE, GivePosition(4, Stance.CONSENT, 2)


@pytest.mark.parametrize("case", REFUSALS, ids=[case.id for case in REFUSALS])
def test_refusal(case: Refusal) -> None:
    proposal, actor, action = case.scenario()
    with pytest.raises(RuleViolation) as excinfo:
        step(proposal, actor, action)
    refused = excinfo.value
    assert refused.code == case.rule.value
    assert refused.rule is case.rule
    assert refused.status == case.status
    assert refused.message == MESSAGES[case.rule]
    if case.status == 422:
        assert refused.field is not None
    assert not allowed(proposal, actor, action)


def test_every_rule_has_its_refusal_test() -> None:
    """A new rule without a scenario here fails this test."""
    triggered = set()
    for case in REFUSALS:
        proposal, actor, action = case.scenario()
        try:
            step(proposal, actor, action)
        except RuleViolation as refused:
            triggered.add(refused.code)
    assert triggered == RULE_CODES
    assert {case.rule for case in REFUSALS} == set(Rule)
    assert MESSAGES.keys() == set(Rule)


# --- may_view and allowed -------------------------------------------------------------------

OPEN_STAGES = [Stage.CLARIFY, Stage.REACT, Stage.OBJECT, Stage.INTEGRATE]


@pytest.mark.parametrize(
    ("actor", "sees_draft"),
    [
        (PROPOSER, True),
        (Actor(1, may_participate=False, may_facilitate=False), True),
        (FACILITATOR, True),
        (ADMIN, True),
        (ALICE, False),
        (OBSERVER, False),
        (None, False),
    ],
)
def test_may_view_a_draft(actor: Actor | None, sees_draft: bool) -> None:
    assert may_view(draft(), actor, may_view_space=True) is sees_draft
    assert may_view(draft(), actor, may_view_space=False) is False


@pytest.mark.parametrize("stage", [*OPEN_STAGES, *rules.CLOSED_STAGES])
@pytest.mark.parametrize("actor", [PROPOSER, ADMIN, ALICE, OBSERVER, None])
def test_may_view_after_submission(stage: Stage, actor: Actor | None) -> None:
    proposal = Proposal(stage, proposer=1, version=1)
    assert may_view(proposal, actor, may_view_space=True) is True
    assert may_view(proposal, actor, may_view_space=False) is False


@pytest.mark.parametrize(
    ("at", "actor", "action", "expected"),
    [
        (draft, PROPOSER, Submit(MEMBERS), True),
        (draft, FACILITATOR, Submit(MEMBERS), True),
        (draft, ALICE, Submit(MEMBERS), False),
        (draft, PROPOSER, Submit(frozenset({1})), False),
        (clarifying, ALICE, AskQuestion(), True),
        (clarifying, PROPOSER, AskQuestion(), False),
        (objecting, ADMIN, GivePosition(4, Stance.CONSENT, 1), True),
        (objecting, ALICE, GivePosition(4, Stance.OBJECTION, 1, ""), False),
        (objected, ALICE, WithdrawObjection(1), True),
        (objected, ALICE, WithdrawObjection(9), False),  # refused with a 404
        (integrating, PROPOSER, PublishVersion(frozenset({1})), True),
        (integrating, ADMIN, OpenObjectRound(MEMBERS), False),
    ],
)
def test_allowed(at: Callable[[], Proposal], actor: Actor, action: Action, expected: bool) -> None:
    proposal = at()
    assert allowed(proposal, actor, action) is expected
    if expected:
        step(proposal, actor, action)  # allowed means step succeeds


def test_allowed_never_raises_a_rule_violation_on_closed_proposals() -> None:
    closed = run(objected(), (PROPOSER, Withdraw()))
    assert closed.stage is Stage.WITHDRAWN
    assert not any(
        allowed(closed, actor, action)
        for actor in (PROPOSER, FACILITATOR, ALICE, SYSTEM)
        for action in (
            EditDraft(),
            Submit(MEMBERS),
            GivePosition(4, Stance.CONSENT, 1),
            WithdrawObjection(1),
            CloseWithoutConsent(REASON),
            DeadlinePassed(T0, MEMBERS),
        )
    )
    assert closed.objection(1).status is ObjectionStatus.RAISED  # as it was when closed
