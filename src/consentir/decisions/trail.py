"""A decision with its whole trail: how the proposal got there, read in one query.

Every version with its note and author, each round with its positions (changed ones kept,
on-behalf and silent ones marked) and reactions, the questions with their answers, every
objection and how it ended. Scoped to the space: another space's number is not found.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from consentir.db import Connection
from consentir.decisions.store import NOT_FOUND
from consentir.errors import DomainError


class Version(msgspec.Struct, frozen=True):
    number: int
    driver: str
    body: str
    note: str
    author: str
    created_at: datetime


class Position(msgspec.Struct, frozen=True):
    person: str
    stance: str  # consent | concern | objection
    reason: str
    silent: bool  # consent by silence, recorded when the round closed
    superseded: bool  # changed later by the same person in the same round
    created_at: datetime
    recorded_by: str | None = None  # set when someone else gave it on this person's behalf


class Reaction(msgspec.Struct, frozen=True):
    person: str
    text: str
    passed: bool
    created_at: datetime


class Nominated(msgspec.Struct, frozen=True):
    """An election's nomination, kept for the record (a moved one too, superseded)."""

    person: str
    nominee: str | None  # None: passed
    reason: str
    changed: bool  # given in the change round
    superseded: bool  # moved later by the same person
    created_at: datetime


class Round(msgspec.Struct, frozen=True):
    id: int
    kind: str  # clarify | react | object
    version: int
    opened_at: datetime
    participants: int
    positions: list[Position]
    reactions: list[Reaction]
    closed_at: datetime | None = None
    outcome: str | None = None
    deadline: datetime | None = None
    nominations: list[Nominated] = msgspec.field(default_factory=list)  # an election's
    # A scenario choice's preferences (`nominee`: the scenario, "B — its title").
    preferences: list[Nominated] = msgspec.field(default_factory=list)


class Question(msgspec.Struct, frozen=True):
    id: int
    round_id: int
    author: str
    text: str
    created_at: datetime
    answer: str | None = None
    answered_at: datetime | None = None


class Objection(msgspec.Struct, frozen=True):
    id: int
    round_id: int
    objector: str
    version: int  # the version objected to
    reason: str
    status: str  # raised | valid | not_valid | withdrawn | integrated
    created_at: datetime
    judged_by: str | None = None
    judged_at: datetime | None = None
    judgement: str | None = None
    answered_in: int | None = None  # the version that says it answers the objection
    # Each set by its author's own step: the proposer publishing the answering version,
    # the objector confirming it removes the objection.
    proposer_confirmed_at: datetime | None = None
    objector_confirmed_at: datetime | None = None


class Review(msgspec.Struct, frozen=True):
    """A review of the decision (a proposal of kind "review", once submitted to the group)."""

    proposal_id: int
    title: str
    stage: str
    outcome: str  # confirm | amend | repeal: the outcome it proposes
    created_at: datetime
    next_review_on: date | None = None  # confirm: the date of the next review
    decision: str | None = None  # adopted: its own decision's number


class Trail(msgspec.Struct, frozen=True):
    number: str
    title: str
    status: str  # in_force | superseded | repealed: derived from the links
    adopted_at: datetime
    review_on: date
    version: int  # the version adopted
    driver: str
    body: str
    proposer: str
    proposed_at: datetime
    versions: list[Version]
    rounds: list[Round]
    questions: list[Question]
    objections: list[Objection]
    # Its links to other decisions, both ways (numbers).
    superseded_by: str | None = None
    repealed_by: str | None = None
    supersedes: list[str] = msgspec.field(default_factory=list)
    repeals: list[str] = msgspec.field(default_factory=list)
    # In force, and not the record of a review: it comes up for review on `review_on`.
    reviewable: bool = False
    # A decision adopted by a review: the decision reviewed, and the outcome.
    review_of: str | None = None
    review_outcome: str | None = None
    reviews: list[Review] = msgspec.field(default_factory=list)  # its reviews, oldest first


_TRAIL = """
SELECT d.number, d.title, st.status, st.reviewable, d.adopted_at, d.review_on, d.version,
       d.driver, d.body, pu.name AS proposer, p.created_at AS proposed_at,
       (SELECT b.number FROM decisions b WHERE b.id = st.superseded_by) AS superseded_by,
       (SELECT b.number FROM decisions b WHERE b.id = st.repealed_by) AS repealed_by,
       ARRAY(SELECT t.number FROM decision_links l JOIN decisions t ON t.id = l.target_id
             WHERE l.decision_id = d.id AND l.kind = 'supersedes' ORDER BY t.number) AS supersedes,
       ARRAY(SELECT t.number FROM decision_links l JOIN decisions t ON t.id = l.target_id
             WHERE l.decision_id = d.id AND l.kind = 'repeals' ORDER BY t.number) AS repeals,
       (SELECT o.number FROM decisions o WHERE o.id = p.review_of) AS review_of,
       p.review_outcome,
       -- Its reviews, once submitted (a draft is its author's and the facilitators' only).
       (SELECT coalesce(json_agg(json_build_object(
                   'proposal_id', rp.id, 'title', rp.title, 'stage', rp.stage,
                   'outcome', rp.review_outcome, 'created_at', rp.created_at,
                   'next_review_on', rp.review_next_on, 'decision', rd.number) ORDER BY rp.id),
                   '[]')
          FROM proposals rp LEFT JOIN decisions rd ON rd.proposal_id = rp.id
         WHERE rp.review_of = d.id AND rp.stage <> 'draft') AS reviews,
       (SELECT coalesce(json_agg(json_build_object(
                   'number', v.number, 'driver', v.driver, 'body', v.body, 'note', v.note,
                   'author', vu.name, 'created_at', v.created_at) ORDER BY v.number), '[]')
          FROM proposal_versions v JOIN users vu ON vu.id = v.author_id
         WHERE v.proposal_id = p.id) AS versions,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', r.id, 'kind', r.kind, 'version', r.version, 'opened_at', r.opened_at,
                   'closed_at', r.closed_at, 'outcome', r.outcome, 'deadline', r.deadline,
                   'participants', (SELECT count(*) FROM round_participants rp
                                     WHERE rp.round_id = r.id),
                   'positions', (SELECT coalesce(json_agg(json_build_object(
                                        'person', au.name, 'stance', a.stance,
                                        'reason', a.reason, 'silent', a.silent,
                                        'superseded', a.superseded_at IS NOT NULL,
                                        'created_at', a.created_at,
                                        'recorded_by', CASE WHEN a.recorded_by <> a.user_id
                                                            THEN ru.name END)
                                        ORDER BY au.name, a.id), '[]')
                                   FROM positions a JOIN users au ON au.id = a.user_id
                                   LEFT JOIN users ru ON ru.id = a.recorded_by
                                  WHERE a.round_id = r.id),
                   'reactions', (SELECT coalesce(json_agg(json_build_object(
                                        'person', xu.name, 'text', x.text, 'passed', x.passed,
                                        'created_at', x.created_at) ORDER BY x.id), '[]')
                                   FROM reactions x JOIN users xu ON xu.id = x.author_id
                                  WHERE x.round_id = r.id),
                   'nominations', (SELECT coalesce(json_agg(json_build_object(
                                        'person', nu.name, 'nominee', ne.name,
                                        'reason', n.reason, 'changed', n.changed,
                                        'superseded', n.superseded_at IS NOT NULL,
                                        'created_at', n.created_at) ORDER BY n.id), '[]')
                                   FROM nominations n JOIN users nu ON nu.id = n.voter_id
                                   LEFT JOIN users ne ON ne.id = n.nominee_id
                                  WHERE n.round_id = r.id),
                   -- A scenario choice's preferences, the same way.
                   'preferences', (SELECT coalesce(json_agg(json_build_object(
                                        'person', fu.name,
                                        'nominee', fs.letter || ' — ' || fs.title,
                                        'reason', f.reason, 'changed', f.changed,
                                        'superseded', f.superseded_at IS NOT NULL,
                                        'created_at', f.created_at) ORDER BY f.id), '[]')
                                   FROM preferences f JOIN users fu ON fu.id = f.voter_id
                                   LEFT JOIN scenarios fs ON fs.id = f.scenario_id
                                  WHERE f.round_id = r.id)
               ) ORDER BY r.id), '[]')
          FROM rounds r WHERE r.proposal_id = p.id) AS rounds,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', q.id, 'round_id', q.round_id, 'author', qu.name, 'text', q.text,
                   'created_at', q.created_at, 'answer', q.answer,
                   'answered_at', q.answered_at) ORDER BY q.id), '[]')
          FROM questions q JOIN users qu ON qu.id = q.author_id
         WHERE q.proposal_id = p.id) AS questions,
       (SELECT coalesce(json_agg(json_build_object(
                   'id', o.id, 'round_id', o.round_id, 'objector', ou.name,
                   'version', o.version, 'reason', o.reason, 'status', o.status,
                   'created_at', o.created_at, 'judged_by', ju.name, 'judged_at', o.judged_at,
                   'judgement', o.judgement, 'answered_in', o.answered_in,
                   'proposer_confirmed_at', o.proposer_confirmed_at,
                   'objector_confirmed_at', o.objector_confirmed_at) ORDER BY o.id), '[]')
          FROM objections o JOIN users ou ON ou.id = o.objector_id
          LEFT JOIN users ju ON ju.id = o.judged_by
         WHERE o.proposal_id = p.id) AS objections
FROM decisions d
JOIN decision_states st ON st.decision_id = d.id
JOIN proposals p ON p.id = d.proposal_id AND p.space_id = d.space_id
JOIN users pu ON pu.id = p.proposer_id
WHERE d.space_id = $1 AND d.number = $2
"""


async def decision_trail(conn: Connection, space_id: int, number: str) -> Trail:
    """The decision `number` of the space, with its trail; DomainError 404 if there is none."""
    row = await conn.fetchrow(_TRAIL, space_id, number)
    if row is None:
        raise DomainError("decision_not_found", NOT_FOUND, status=404)
    return msgspec.convert(dict(row), Trail)
