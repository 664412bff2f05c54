"""A cause's scenario choice on the consent engine (consent/rules.py with a ballot over
scenarios, causes/choosing.py), walked at random by hypothesis:

- preferences are sealed until revealed: before, a viewer sees at most their own;
- the clarifying questions come first, on the frozen list (the one who opened it too);
  the preferences open only once every question has its answer;
- nobody in the consent round is "the one proposed": a scenario id that is also someone's
  user id changes nothing (no refusal in their name, no answering last);
- the choice adopts at most once, exactly the scenario its last version proposed, one of the
  choice's scenarios; each step names the revision it moved from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from consentir.consent.rules import (
    Action,
    Actor,
    Adopted,
    Advance,
    AnswerQuestion,
    AskQuestion,
    CloseRound,
    CloseWithoutConsent,
    DeadlinePassed,
    GivePosition,
    JudgeObjection,
    Nominate,
    OpenChangeRound,
    OpenObjectRound,
    Outcome,
    Proposal,
    ProposeHolder,
    PublishVersion,
    Reveal,
    RoundClosed,
    RoundKind,
    Rule,
    RuleViolation,
    SetDeadline,
    Stage,
    Stance,
    Submit,
    nominations_sealed,
    step,
)
from consentir.elections.rules import Ballot, visible_nominations

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIST = frozenset({1, 2, 3, 4, 5})  # the frozen list; 1 opened the choice and facilitates
# Scenario ids: 3 is also a member's user id, on purpose (scenario 3 is not person 3).
SCENARIOS = frozenset({3, 10, 11})
OUTSIDER = 9


def actor(who: int) -> Actor:
    return Actor(who, may_participate=who != OUTSIDER, may_facilitate=who == 1)


def choice() -> Proposal:
    return Proposal(Stage.DRAFT, proposer=1, version=1, ballot=Ballot(of_people=False))


people = st.sampled_from((1, 2, 3, 4, 5, OUTSIDER))
scenarios = st.sampled_from((None, 3, 10, 11, 12))  # 12 is not one of the choice's
reasons = st.sampled_from(("", "Moins cher et plus rapide.", "Plus sûr pour les enfants."))


def guided(p: Proposal, draw: st.DrawFn, now: datetime) -> tuple[int, Action]:
    """A step the choice waits for (so that walks get far), with details drawn."""
    reason = draw(reasons)
    missing = sorted(p.round.missing) if p.round is not None else []
    unanswered = [q.id for q in p.questions if not q.answered]
    match p.stage:
        case Stage.DRAFT:
            return 1, Submit(LIST, nominable=SCENARIOS)
        case Stage.CLARIFY if unanswered:
            return 1, AnswerQuestion(unanswered[0])
        case Stage.CLARIFY if draw(st.booleans()):
            return draw(st.sampled_from((2, 3, 4, 5))), AskQuestion()
        case Stage.CLARIFY:
            return 1, Advance(frozenset({99}), p.revision)  # the frozen list is used
        case Stage.NOMINATE | Stage.CHANGE if missing and draw(st.booleans()):
            return draw(st.sampled_from(missing)), Nominate(draw(scenarios), reason)
        case Stage.NOMINATE:
            return 1, Reveal(now, p.revision)
        case Stage.REASONS if draw(st.booleans()):
            return 1, OpenChangeRound(p.revision)
        case Stage.REASONS | Stage.CHANGE | Stage.INTEGRATE:
            return 1, ProposeHolder(draw(scenarios) or 10, reason, p.revision)
        case Stage.OBJECT if missing:
            who = draw(st.sampled_from(missing))
            stance = draw(st.sampled_from((Stance.CONSENT, Stance.CONSENT, Stance.CONCERN,
                                           Stance.OBJECTION)))  # fmt: skip
            return who, GivePosition(who, stance, p.version, reason)
        case Stage.OBJECT:
            raised = [o.id for o in p.objections if o.status.value == "raised"]
            if raised:
                return 1, JudgeObjection(raised[0], draw(st.booleans()), "Jugée.", p.revision)
            return 1, CloseRound(now, p.revision)
    return 1, CloseWithoutConsent(reason, p.revision)


def anything(p: Proposal, draw: st.DrawFn, now: datetime) -> tuple[int, Action]:
    """Anything from anyone, now and then stale."""
    who, other, reason = draw(people), draw(scenarios), draw(reasons)
    seen = p.revision - draw(st.sampled_from((0, 0, 1)))
    actions: list[Action] = [
        Submit(LIST, nominable=SCENARIOS), AskQuestion(), Advance(LIST, seen),
        Nominate(other, reason), Reveal(now, seen), OpenChangeRound(seen),
        ProposeHolder(other or 3, reason, seen), PublishVersion(frozenset(), seen),
        OpenObjectRound(LIST, seen),
        GivePosition(draw(people), Stance.OBJECTION, p.version, reason),
        CloseRound(now, seen), DeadlinePassed(now, LIST),
        SetDeadline(now + timedelta(hours=1), now), CloseWithoutConsent(reason, seen),
    ]  # fmt: skip
    return who, draw(st.sampled_from(actions))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_random_choices_stay_sound(data: st.DataObject) -> None:
    p = choice()
    now = T0
    adopted: list[int] = []
    for _ in range(data.draw(st.integers(0, 70))):
        if p.stage.closed:
            break
        now += timedelta(hours=data.draw(st.sampled_from((0, 0, 1, 30))))
        if data.draw(st.integers(0, 4)) == 0:
            who, action = anything(p, data.draw, now)
        else:
            who, action = guided(p, data.draw, now)
        before = p
        try:
            result = step(p, actor(who), action)
        except RuleViolation:
            continue
        p = result.proposal
        assert p.ballot is not None and before.ballot is not None
        assert p.revision == before.revision + 1
        # Questions first: the preferences round opens only with every question answered,
        # on the list frozen when the choice opened (never the list an action brings).
        for effect in result.effects:
            if hasattr(effect, "kind") and effect.kind is RoundKind.NOMINATE:
                assert before.stage is Stage.CLARIFY
                assert all(q.answered for q in before.questions)
                assert p.round is not None and p.round.eligible == LIST
            if hasattr(effect, "kind") and effect.kind is RoundKind.CLARIFY:
                assert p.round is not None and p.round.eligible == LIST  # the proposer too
        assert p.stage is not Stage.REACT  # a choice has no reaction round
        sealed = nominations_sealed(p)
        for viewer in (*LIST, OUTSIDER, None):
            seen = visible_nominations(p.ballot.nominations, viewer, sealed=sealed,
                                       voter=lambda n: n.voter)  # fmt: skip
            if sealed:
                assert all(n.voter == viewer for n in seen)
            else:
                assert seen == list(p.ballot.nominations)
        assert all(n.nominee is None or n.nominee in SCENARIOS for n in p.ballot.nominations)
        if isinstance(action, ProposeHolder):
            assert action.nominee in SCENARIOS
            # The list answers; a scenario never joins it (3 is a scenario and a person).
            assert p.round is not None and p.round.eligible == LIST
        # Nobody declines a scenario: an objection is an objection, judged like any other.
        assert not any(isinstance(e, RoundClosed) and e.outcome is Outcome.DECLINED
                       for e in result.effects)  # fmt: skip
        assert not p.ballot.declined
        for effect in result.effects:
            if isinstance(effect, Adopted):
                assert before.ballot.nominee in SCENARIOS
                assert effect.version == before.version
                adopted.append(before.ballot.nominee)
        event(f"stage {p.stage.value}")
    assert len(adopted) <= 1
    if adopted:
        assert p.stage is Stage.ADOPTED
        assert p.ballot is not None and p.ballot.nominee == adopted[0]
        event("chosen")


def test_a_whole_choice_by_hand() -> None:
    """Questions, sealed preferences revealed, a change, a proposal, an objection judged
    valid and integrated by a new version, then consent."""
    p = choice()

    def go(who: int, action: Action) -> None:
        nonlocal p
        p = step(p, actor(who), action).proposal

    go(1, Submit(LIST, nominable=SCENARIOS))
    assert p.stage is Stage.CLARIFY and p.round is not None and 1 in p.round.eligible
    go(2, AskQuestion())
    try:
        go(1, Advance(LIST, p.revision))
    except RuleViolation as refused:
        assert refused.rule is Rule.QUESTIONS_UNANSWERED
    go(1, AnswerQuestion(1))
    go(1, Advance(LIST, p.revision))
    assert p.stage is Stage.NOMINATE
    for who, scenario in ((1, 10), (2, 11), (3, 10), (4, None)):
        go(who, Nominate(scenario, "Raison."))
    assert nominations_sealed(p)
    try:
        go(1, Reveal(T0, p.revision))
    except RuleViolation as refused:
        assert refused.rule is Rule.NOMINATIONS_SEALED  # 5 has not said yet
    go(5, Nominate(3, "Le scénario 3."))
    go(1, Reveal(T0, p.revision))
    assert p.stage is Stage.REASONS and not nominations_sealed(p)
    go(1, OpenChangeRound(p.revision))
    go(2, Nominate(10, "Convaincu par les raisons."))
    go(1, ProposeHolder(10, "La plupart le préfèrent.", p.revision))
    assert p.stage is Stage.OBJECT and p.version == 2 and p.round is not None
    assert p.round.eligible == LIST
    # Person 3 is not "the scenario 3": nothing special about them here either way.
    go(3, GivePosition(3, Stance.OBJECTION, 2, "Le coût n'est pas chiffré."))
    assert p.stage is Stage.OBJECT
    for who in (1, 2, 4, 5):
        go(who, GivePosition(who, Stance.CONSENT, 2))
    go(1, JudgeObjection(1, True, "Fondée.", p.revision))
    go(1, CloseRound(T0, p.revision))
    assert p.stage is Stage.INTEGRATE
    # Integrated by a new version of the scenario, proposed again: the objection is answered.
    go(1, ProposeHolder(10, "Le coût est chiffré dans la version 2 du scénario.", p.revision))
    assert p.version == 3 and p.objections[0].answered_in == 3
    for who in (1, 2, 3, 4, 5):
        go(who, GivePosition(who, Stance.CONSENT, 3))
    result = step(p, actor(1), CloseRound(T0, p.revision))
    assert any(isinstance(e, Adopted) for e in result.effects)
    assert result.proposal.stage is Stage.ADOPTED and result.proposal.ballot is not None
    assert result.proposal.ballot.nominee == 10


def test_a_preference_names_one_of_the_choices_scenarios() -> None:
    p = step(choice(), actor(1), Submit(LIST, nominable=SCENARIOS)).proposal
    p = step(p, actor(1), Advance(LIST, p.revision)).proposal
    try:
        step(p, actor(2), Nominate(12, "Un autre."))
    except RuleViolation as refused:
        assert refused.rule is Rule.SCENARIO_NOT_IN_CHOICE
    else:
        raise AssertionError("a scenario outside the choice was accepted")
