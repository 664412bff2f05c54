"""The election without candidates as a state machine, walked at random by hypothesis: sealed
nominations are never visible to anyone else before they are revealed; an election that ends
elected yields exactly one holder, who was proposed, answered last and did not decline; a
person who declined is never elected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentir.elections import rules
from consentir.elections.rules import (
    Actor,
    Cancel,
    ChangeNomination,
    Close,
    Election,
    ElectionRefused,
    Judge,
    Nominate,
    OpenChangeRound,
    Propose,
    Respond,
    Reveal,
    Stage,
    Stance,
)

PEOPLE = (1, 2, 3, 4, 5)
FACILITATOR = 1
OUTSIDER = 9  # not on the list, never eligible


def start(nominee_last: bool = True) -> Election:
    return Election(Stage.NOMINATE, participants=frozenset(PEOPLE),
                    eligible=frozenset({2, 3, 4, 5}), nominee_last=nominee_last)  # fmt: skip


people = st.sampled_from((*PEOPLE, OUTSIDER))
reasons = st.sampled_from(("", "Elle connaît les comptes.", "Disponible."))
nominees = st.one_of(st.none(), people)
actions = st.one_of(
    st.builds(Nominate, nominees, reasons),
    st.builds(Reveal, st.booleans()),
    st.builds(OpenChangeRound),
    st.builds(ChangeNomination, nominees, reasons),
    st.builds(Propose, people, reasons),
    st.builds(Respond, st.sampled_from(Stance), reasons),
    st.builds(Judge, people, st.booleans()),
    st.builds(Close),
    st.builds(Cancel),
)
moves = st.lists(st.tuples(people, actions), max_size=60)


def actor(user_id: int) -> Actor:
    return Actor(user_id, may_facilitate=user_id == FACILITATOR)


@settings(max_examples=400, deadline=None)
@given(moves, st.booleans())
def test_random_walks_keep_the_election_sound(
    walk: list[tuple[int, rules.Action]], last: bool
) -> None:
    election = start(nominee_last=last)
    declined_ever: set[int] = set()
    elected: list[int] = []
    for who, action in walk:
        before = election
        try:
            done = rules.step(election, actor(who), action)
        except ElectionRefused as refused:
            assert refused.rule in rules.Rule and refused.status in (403, 409, 422)
            continue
        election = done.election
        assert election.revision == before.revision + 1
        declined_ever |= election.declined
        # Sealed: before the reveal, each sees only their own nomination.
        if election.stage is Stage.NOMINATE:
            for viewer in (*PEOPLE, OUTSIDER):
                assert all(n.voter == viewer for n in rules.visible_nominations(election, viewer))
        if election.stage is Stage.CONSENT:
            assert election.candidate is not None
            assert election.candidate not in election.declined
            assert election.candidate in election.eligible
        if done.elected is not None:
            holder = done.elected.holder
            elected.append(holder)
            assert election.stage is Stage.ELECTED and holder == before.candidate
            assert holder not in declined_ever
            own = next(a for a in before.answers if a.voter == holder)
            assert own.stance is not Stance.OBJECTION
            assert {a.voter for a in before.answers} >= before.answerers
        if election.stage in rules.OVER:
            assert before.stage not in rules.OVER
    assert len(elected) <= 1
    assert (election.stage is Stage.ELECTED) == (len(elected) == 1)


def go(election: Election, who: int, action: rules.Action) -> Election:
    return rules.step(election, actor(who), action).election


def test_a_whole_election_by_consent() -> None:
    e = start()
    for voter, nominee in ((1, 3), (2, 3), (3, 4), (4, 3)):
        e = go(e, voter, Nominate(nominee, "Raison."))
    assert rules.visible_nominations(e, 2) == (rules.Nomination(2, 3, "Raison."),)
    with pytest.raises(ElectionRefused) as sealed:
        go(e, FACILITATOR, Reveal())
    assert sealed.value.rule is rules.Rule.NOMINATIONS_MISSING
    e = go(e, 5, Nominate(None, "Je passe."))
    e = go(e, FACILITATOR, Reveal())
    assert len(rules.visible_nominations(e, 2)) == 5 and rules.tally(e) == {3: 3, 4: 1}
    e = go(e, FACILITATOR, OpenChangeRound())
    e = go(e, 3, ChangeNomination(3, "Je peux le faire."))
    e = go(e, FACILITATOR, Propose(3, "Trois nominations, disponible."))
    with pytest.raises(ElectionRefused) as early:
        go(e, 3, Respond(Stance.CONSENT))
    assert early.value.rule is rules.Rule.NOMINEE_ANSWERS_LAST
    for voter in (1, 2, 4, 5):
        e = go(e, voter, Respond(Stance.CONSENT))
    e = go(e, 3, Respond(Stance.OBJECTION, "Pas cette année."))  # declines
    assert e.stage is Stage.PROPOSE and e.declined == {3}
    with pytest.raises(ElectionRefused):
        go(e, FACILITATOR, Propose(3, "Encore ?"))
    e = go(e, FACILITATOR, Propose(4, "Deuxième choix."))
    e = go(e, 2, Respond(Stance.OBJECTION, "Déjà trésorière ailleurs."))
    with pytest.raises(ElectionRefused) as unjudged:
        rules.step(e, actor(FACILITATOR), Close())
    assert unjudged.value.rule is rules.Rule.ANSWERS_MISSING
    e = go(e, FACILITATOR, Judge(2, valid=False))
    for voter in (1, 3, 5, 4):
        e = go(e, voter, Respond(Stance.CONSENT))
    done = rules.step(e, actor(FACILITATOR), Close())
    assert done.elected == rules.Elected(4) and done.election.stage is Stage.ELECTED
