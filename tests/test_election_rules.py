"""Elections on the consent engine (consent/rules.py with a ballot, elections/rules.py),
walked at random by hypothesis:

- sealed nominations are never visible to anyone else before they are revealed;
- an election adopts at most once, and only the person its last version proposed, who
  answered the round themselves (never by silence), after everyone else when the space
  says the nominee answers last, and who never declined;
- whoever declined is never proposed again; each step names the revision it moved from.

The refusal of each election rule is tested with the others in test_consent_rules.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from consentir.consent.rules import (
    Action,
    Actor,
    Adopted,
    CloseRound,
    CloseWithoutConsent,
    DeadlinePassed,
    GivePosition,
    JudgeObjection,
    Nominate,
    OpenChangeRound,
    Outcome,
    Proposal,
    ProposeHolder,
    Reveal,
    RoundClosed,
    RuleViolation,
    SetDeadline,
    Stage,
    Stance,
    Submit,
    nominations_sealed,
    step,
)
from consentir.elections.rules import (
    Ballot,
    Nomination,
    by_nominee,
    consecutive_terms,
    term_limited,
    visible_nominations,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIST = frozenset({1, 2, 3, 4, 5})  # the frozen list; 1 opened the election and facilitates
NOMINABLE = frozenset({2, 3, 4, 5, 6})  # 6 is eligible but not on the list
OUTSIDER = 9


def actor(who: int) -> Actor:
    return Actor(who, may_participate=who != OUTSIDER, may_facilitate=who == 1)


def election(nominee_last: bool) -> Proposal:
    ballot = Ballot(nominee_last=nominee_last)
    return Proposal(Stage.DRAFT, proposer=1, version=1, ballot=ballot)


people = st.sampled_from((1, 2, 3, 4, 5, 6, OUTSIDER))
reasons = st.sampled_from(("", "Elle connaît les comptes.", "Disponible et rigoureux."))
hours = st.sampled_from((0, 0, 1, 30))


@st.composite
def acts(draw: st.DrawFn) -> tuple[int, str, int, str, int, int]:
    return (draw(people), draw(st.sampled_from(KINDS)), draw(people), draw(reasons),
            draw(st.integers(0, 3)), draw(hours))  # fmt: skip


KINDS = ("submit", "nominate", "pass", "reveal", "change", "propose", "consent", "concern",
         "object", "judge", "close", "deadline", "set-deadline", "cancel")  # fmt: skip


def build(p: Proposal, kind: str, other: int, reason: str, pick: int, now: datetime) -> Action:
    seen = p.revision - (1 if pick == 3 else 0)  # now and then a stale page
    match kind:
        case "submit":
            return Submit(LIST, nominable=NOMINABLE)
        case "nominate":
            return Nominate(other, reason)
        case "pass":
            return Nominate(None, reason)
        case "reveal":
            return Reveal(now, seen)
        case "change":
            return OpenChangeRound(seen)
        case "propose":
            return ProposeHolder(other, reason, seen)
        case "consent" | "concern" | "object":
            stance = {"consent": Stance.CONSENT, "concern": Stance.CONCERN}.get(
                kind, Stance.OBJECTION
            )
            return GivePosition(other, stance, p.version + (1 if pick == 2 else 0), reason)
        case "judge":
            ids = [o.id for o in p.objections] or [1]
            return JudgeObjection(ids[pick % len(ids)], pick % 2 == 0, reason or "-", seen)
        case "close":
            return CloseRound(now, seen)
        case "deadline":
            return DeadlinePassed(now, frozenset())
        case "set-deadline":
            return SetDeadline(now + timedelta(hours=pick + 1), now)
        case _:
            return CloseWithoutConsent(reason, seen)


def guided(p: Proposal, draw: st.DrawFn, now: datetime) -> tuple[int, Action]:
    """A step the election is waiting for (so that walks get far), with its details drawn:
    who answers, whom they name, which stance, and now and then a missing reason."""
    reason = draw(reasons)
    ballot = p.ballot
    assert ballot is not None
    missing = sorted(p.round.missing) if p.round is not None else []
    match p.stage:
        case Stage.DRAFT:
            return 1, Submit(LIST, nominable=NOMINABLE)
        case Stage.NOMINATE | Stage.CHANGE if missing and draw(st.booleans()):
            return draw(st.sampled_from(missing)), Nominate(draw(st.sampled_from(
                (None, *sorted(NOMINABLE)))), reason)  # fmt: skip
        case Stage.NOMINATE:
            return 1, Reveal(now, p.revision)
        case Stage.REASONS if draw(st.booleans()):
            return 1, OpenChangeRound(p.revision)
        case Stage.REASONS | Stage.CHANGE | Stage.INTEGRATE:
            return 1, ProposeHolder(draw(st.sampled_from(sorted(NOMINABLE))), reason, p.revision)
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


@settings(max_examples=400, deadline=None)
@given(st.data(), st.booleans())
def test_random_elections_stay_sound(data: st.DataObject, last: bool) -> None:
    p = election(last)
    now = T0
    adopted: list[int] = []
    declined: set[int] = set()
    for _ in range(data.draw(st.integers(0, 60))):
        if p.stage.closed:
            break
        if data.draw(st.integers(0, 4)) == 0:  # now and then, anything from anyone
            who, kind, other, reason, pick, passing = data.draw(acts())
            now += timedelta(hours=passing)
            action = build(p, kind, other, reason, pick, now)
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
        # Sealed (as the pages ask: nominations_sealed): until the reveal a viewer sees at
        # most their own; from the reveal on, every one.
        sealed = nominations_sealed(p)
        assert sealed == (p.stage is Stage.NOMINATE)
        for viewer in (*LIST, 6, OUTSIDER, None):
            seen = visible_nominations(p.ballot.nominations, viewer, sealed=sealed,
                                       voter=lambda n: n.voter)  # fmt: skip
            if sealed:
                assert all(n.voter == viewer for n in seen)
            else:
                assert seen == list(p.ballot.nominations)
        # Whoever declined stays declined, and is never the person proposed again.
        assert before.ballot.declined <= p.ballot.declined
        declined |= p.ballot.declined
        if isinstance(action, ProposeHolder):
            assert action.nominee not in before.ballot.declined
            assert action.nominee in NOMINABLE
            assert p.stage is Stage.OBJECT and p.round is not None
            assert p.round.eligible == before.ballot.participants | {action.nominee}
        if any(isinstance(e, RoundClosed) and e.outcome is Outcome.DECLINED
               for e in result.effects):  # fmt: skip
            assert before.ballot.nominee is not None
            assert before.ballot.nominee in p.ballot.declined
            assert isinstance(action, GivePosition) and action.stance is Stance.OBJECTION
            assert action.person == before.ballot.nominee
        answering = isinstance(action, GivePosition) and before.ballot.nominee == action.person
        if answering and before.ballot.nominee_last and before.round is not None:
            assert before.round.missing <= {action.person}  # everyone else had answered
        for effect in result.effects:
            if isinstance(effect, Adopted):
                holder = before.ballot.nominee
                assert holder is not None and holder not in declined
                assert before.round is not None
                # The person proposed said yes themselves: never by silence.
                assert holder in before.round.answered
                assert before.round.answer_of(holder) in (Stance.CONSENT, Stance.CONCERN)
                assert effect.version == before.version
                adopted.append(holder)
        event(f"stage {p.stage.value}")
        if p.ballot.declined:
            event("someone declined")
    assert len(adopted) <= 1
    if adopted:
        assert p.stage is Stage.ADOPTED
        event("elected")


def test_a_whole_election_by_hand() -> None:
    """Nominations sealed then revealed, a change round, a proposal, a refusal by the person
    proposed, another proposal, then consent with the nominee last."""
    p = step(election(True), actor(1), Submit(LIST, nominable=NOMINABLE)).proposal
    assert p.stage is Stage.NOMINATE and p.ballot is not None
    assert p.ballot.participants == LIST  # the facilitator who opened it is on the list
    for who, nominee in ((1, 3), (2, 3), (3, 4), (4, 3)):
        p = step(p, actor(who), Nominate(nominee, "Raison.")).proposal
    mine = visible_nominations(p.ballot.nominations, 2, sealed=nominations_sealed(p),
                               voter=lambda n: n.voter)  # fmt: skip
    assert mine == [Nomination(2, 3, "Raison.")]
    try:
        step(p, actor(1), Reveal(T0, p.revision))
    except RuleViolation as refused:
        assert refused.code == "nominations_missing"
    else:  # pragma: no cover
        raise AssertionError("revealed before everyone answered")
    p = step(p, actor(5), Nominate(None, "Je passe : je viens d'arriver.")).proposal
    p = step(p, actor(1), Reveal(T0, p.revision)).proposal
    assert p.stage is Stage.REASONS
    assert [nominee for nominee, _ in by_nominee(p.ballot.nominations, lambda n: n.nominee)] == [
        3,
        4,
        None,
    ]
    p = step(p, actor(1), OpenChangeRound(p.revision)).proposal
    p = step(p, actor(3), Nominate(3, "Finalement, je suis disponible.")).proposal
    moved = [n for n in p.ballot.nominations if n.voter == 3]
    assert moved == [Nomination(3, 3, "Finalement, je suis disponible.", True)]
    p = step(p, actor(1), ProposeHolder(3, "Nommé quatre fois.", p.revision)).proposal
    assert (p.stage, p.version, p.ballot.nominee) == (Stage.OBJECT, 2, 3)
    for who in (1, 2, 4, 5):
        p = step(p, actor(who), GivePosition(who, Stance.CONSENT, 2)).proposal
    declined = step(p, actor(3), GivePosition(3, Stance.OBJECTION, 2, "Pas cette année."))
    p = declined.proposal
    assert p.stage is Stage.INTEGRATE and p.ballot.declined == {3}
    assert RoundClosed(Outcome.DECLINED) in declined.effects
    p = step(p, actor(1), ProposeHolder(4, "Nommée ensuite.", p.revision)).proposal
    for who in (1, 2, 3, 5):
        p = step(p, actor(who), GivePosition(who, Stance.CONSENT, 3)).proposal
    p = step(p, actor(4), GivePosition(4, Stance.CONCERN, 3, "Je veux un binôme.")).proposal
    done = step(p, actor(1), CloseRound(T0, p.revision))
    assert Adopted(3) in done.effects and done.proposal.stage is Stage.ADOPTED


def test_the_deadline_reveals_the_nominations() -> None:
    p = step(election(True), actor(1), Submit(LIST, nominable=NOMINABLE)).proposal
    p = step(p, actor(1), SetDeadline(T0 + timedelta(days=2), T0)).proposal
    p = step(p, actor(2), Nominate(3, "Raison.")).proposal
    done = step(p, Actor(0, False, True), DeadlinePassed(T0 + timedelta(days=2), frozenset()))
    assert done.proposal.stage is Stage.REASONS


def test_nobody_takes_a_mandate_by_silence() -> None:
    p = Proposal(Stage.DRAFT, proposer=1, version=1, silence_is_consent=True,
                 ballot=Ballot(nominee_last=False))  # fmt: skip
    p = step(p, actor(1), Submit(LIST, nominable=NOMINABLE)).proposal
    p = step(p, actor(1), SetDeadline(T0 + timedelta(days=1), T0)).proposal
    for who in LIST:
        p = step(p, actor(who), Nominate(6, "Raison.")).proposal
    p = step(p, actor(1), Reveal(T0)).proposal
    p = step(p, actor(1), ProposeHolder(6, "Tout le monde.")).proposal
    p = step(p, actor(1), SetDeadline(T0 + timedelta(days=1), T0)).proposal
    later = T0 + timedelta(days=2)
    try:
        step(p, actor(1), CloseRound(later))
    except RuleViolation as refused:
        assert refused.code == "positions_missing"
    else:  # pragma: no cover
        raise AssertionError("the mandate was taken by silence")
    p = step(p, actor(6), GivePosition(6, Stance.CONSENT, 2)).proposal
    assert step(p, actor(1), CloseRound(later)).proposal.stage is Stage.ADOPTED


def test_consecutive_terms_count_only_unbroken_runs() -> None:
    # Terms as [first, after_last) day numbers.
    assert consecutive_terms([(0, 10), (10, 20)], 20) == 2
    assert consecutive_terms([(0, 10), (11, 20)], 20) == 1  # a gap breaks the run
    assert consecutive_terms([(0, 10)], 20) == 0
    assert consecutive_terms([], 5) == 0
    assert term_limited([(0, 10), (10, 20)], 20, 2)
    assert not term_limited([(0, 10), (10, 20)], 20, 3)
    assert not term_limited([(0, 10), (10, 20)], 20, None)


def test_who_hears_of_each_election_step() -> None:
    """notifications/kinds.after_step: the list when nominations open, are revealed, may be
    changed; the facilitators when everyone nominated and when a holder is to be proposed
    (after the reasons, or a refusal): never "write a new version" to the proposer."""
    from consentir.notifications.kinds import Group, Kind, after_step

    def heard(p: Proposal, who: int, action: Action) -> tuple[Proposal, set[tuple[Kind, object]]]:
        done = step(p, actor(who), action)
        notices = after_step(p, done, actor(who), action, T0)
        return done.proposal, {(n.kind, n.group or n.people) for n in notices}

    p, told = heard(election(True), 1, Submit(LIST, nominable=NOMINABLE))
    assert told == {(Kind.NOMINATIONS_OPEN, LIST - {1})}
    for who in (1, 2, 3, 4):
        p = step(p, actor(who), Nominate(3, "Raison.")).proposal
    p, told = heard(p, 5, Nominate(None, "Je passe."))
    assert told == {(Kind.ROUND_READY, Group.FACILITATORS)}
    p, told = heard(p, 1, Reveal(T0, p.revision))
    assert told == {(Kind.NOMINATIONS_REVEALED, LIST - {1}),
                    (Kind.HOLDER_TO_PROPOSE, Group.FACILITATORS)}  # fmt: skip
    p, told = heard(p, 1, OpenChangeRound(p.revision))
    assert told == {(Kind.CHANGE_ROUND_OPEN, LIST - {1})}
    p = step(p, actor(1), ProposeHolder(3, "Raison.", p.revision)).proposal
    for who in (1, 2, 4, 5):
        p = step(p, actor(who), GivePosition(who, Stance.CONSENT, 2)).proposal
    p, told = heard(p, 3, GivePosition(3, Stance.OBJECTION, 2, "Je décline."))
    assert told == {(Kind.HOLDER_TO_PROPOSE, Group.FACILITATORS)}
