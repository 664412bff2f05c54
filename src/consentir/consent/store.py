"""Proposals in PostgreSQL: load a proposal's state, let the rules decide, write the effects.

Every action runs in one transaction: lock the proposal row, load its state (one query),
ask `rules.step`, write each effect, bump the proposal's revision (optimistic concurrency
for forms that carry it), append the journal event (which notifies `space:<id>`).

Every statement after the lock is a round trip that every other step on the proposal waits
for, and the last one also holds the space's journal chain until commit (bench/writes.py
`--sample` shows where that time goes): the bump, what the actor had to read and the event
are one statement (`_finish`), and a step that only keeps a position writes it there too,
so that a position is three statements under the lock: lock, state, finish.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

import msgspec

from consentir import journal, keyset, tasks
from consentir.causes import adoption as cause_adoption
from consentir.causes import choosing
from consentir.consent import rules
from consentir.consent.rules import (
    Action,
    Actor,
    Adopted,
    NominationKept,
    ObjectionChanged,
    ObjectionRaised,
    ObjectionStatus,
    PositionKept,
    RoundClosed,
    RoundKind,
    RoundOpened,
    Stage,
    StageChanged,
    Step,
    VersionPublished,
)
from consentir.db import Connection
from consentir.decisions import reviewing
from consentir.decisions import store as decisions
from consentir.elections import store as elections
from consentir.elections.rules import Ballot, Nomination
from consentir.elections.store import Described
from consentir.errors import N_, DomainError
from consentir.mandates import revoking
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.mandates.store import RoleText
from consentir.meetings import store as meetings
from consentir.notifications import kinds
from consentir.notifications import store as notifications
from consentir.spaces import store as spaces
from consentir.spaces.store import Space

NOT_FOUND = N_("This proposal does not exist, or you cannot see it.")
ROLE_TEXT_REQUIRED = N_("A proposal about a role gives the role's text.")
STALE = N_("Someone changed this proposal meanwhile: here is its current state.")


class Head(msgspec.Struct, frozen=True):
    """A proposal's row, with its proposer's name."""

    id: int
    space_id: int
    proposer_id: int
    proposer_name: str
    title: str
    stage: Stage
    version: int
    revision: int
    closed_reason: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    kind: str = "ordinary"  # ordinary | role | election | review | revocation


@dataclass(frozen=True)
class Content:
    """What an action writes besides the state: a version's text, a question, an answer,
    a reaction."""

    title: str = ""
    driver: str = ""
    body: str = ""
    note: str = ""
    text: str = ""
    supersedes: tuple[str, ...] = ()  # numbers of decisions this proposal replaces
    # A proposal of kind "role": the role's text in this version (mandates/store.py).
    role: RoleText | None = None
    # An election: the term a proposed holder would serve (None: the current version's).
    term: Term | None = None
    # A scenario choice: the scenario a question is about; the scenario version proposed.
    scenario: int | None = None
    scenario_version: int | None = None


@dataclass(frozen=True)
class Loaded:
    head: Head
    state: rules.Proposal
    round_id: int | None  # the open round


def _role_text(content: Content) -> dict[str, Any] | None:
    return msgspec.to_builtins(content.role) if content.role is not None else None


def _head(row: Any) -> Head:
    values = {key: row[key] for key in Head.__struct_fields__}
    return Head(**{**values, "stage": Stage(values["stage"])})


_STATE = """
SELECT p.id, p.space_id, p.proposer_id, u.name AS proposer_name, p.title, p.stage, p.version,
       p.revision, p.closed_reason, p.created_at, p.updated_at, p.closed_at,
       s.silence_is_consent,
       r.id AS round_id, r.kind AS round_kind, r.version AS round_version,
       r.deadline AS round_deadline,
       (SELECT coalesce(array_agg(user_id), '{}') FROM round_participants
         WHERE round_id = r.id) AS eligible,
       (SELECT coalesce(json_agg(json_build_array(user_id, stance)), '[]') FROM positions
         WHERE round_id = r.id AND superseded_at IS NULL) AS positions,
       (SELECT coalesce(json_agg(json_build_array(
                   author_id, CASE WHEN passed THEN 'passed' ELSE 'reacted' END)), '[]')
          FROM reactions WHERE round_id = r.id) AS reactions,
       (SELECT coalesce(json_agg(json_build_array(id, author_id, answer IS NOT NULL)
                                 ORDER BY id), '[]')
          FROM questions WHERE proposal_id = p.id) AS questions,
       (SELECT coalesce(json_agg(json_build_array(
                   id, objector_id, version, status, answered_in,
                   proposer_confirmed_at IS NOT NULL, objector_confirmed_at IS NOT NULL)
                                 ORDER BY id), '[]')
          FROM objections WHERE proposal_id = p.id) AS objections,
       EXISTS (SELECT 1 FROM decisions WHERE proposal_id = p.id) AS decided,
       p.kind, e.nominee_last, coalesce(e.eligible, sc.eligible) AS nominable,
       -- An election's part (elections/rules.py Ballot); not even looked up for the others.
       CASE WHEN e.proposal_id IS NOT NULL THEN
       (SELECT coalesce(json_agg(json_build_array(n.voter_id, n.nominee_id, n.reason, n.changed)
                                 ORDER BY n.id), '[]')
          FROM nominations n WHERE n.proposal_id = p.id AND n.superseded_at IS NULL)
       -- A scenario choice's: the same, over scenarios (causes/choosing.py).
       WHEN sc.proposal_id IS NOT NULL THEN
       (SELECT coalesce(json_agg(json_build_array(f.voter_id, f.scenario_id, f.reason, f.changed)
                                 ORDER BY f.id), '[]')
          FROM preferences f WHERE f.proposal_id = p.id AND f.superseded_at IS NULL)
       END AS nominations,
       CASE WHEN e.proposal_id IS NOT NULL THEN
       (SELECT coalesce(array_agg(rp.user_id), '{}') FROM rounds nr
          JOIN round_participants rp ON rp.round_id = nr.id
         WHERE nr.proposal_id = p.id AND nr.kind = 'nominate')
       ELSE sc.participants
       END AS on_the_list,
       CASE WHEN e.proposal_id IS NOT NULL THEN
       (SELECT nominee_id FROM proposal_versions
         WHERE proposal_id = p.id AND number = p.version)
       WHEN sc.proposal_id IS NOT NULL THEN
       (SELECT sv.scenario_id FROM proposal_versions v
          JOIN scenario_versions sv ON sv.id = v.scenario_version_id
         WHERE v.proposal_id = p.id AND v.number = p.version)
       END AS nominee,
       CASE WHEN e.proposal_id IS NOT NULL THEN
       (SELECT coalesce(array_agg(dv.nominee_id), '{}') FROM rounds dr
          JOIN proposal_versions dv ON dv.proposal_id = dr.proposal_id AND dv.number = dr.version
         WHERE dr.proposal_id = p.id AND dr.outcome = 'declined')
       END AS declined,
       (SELECT coalesce(array_agg(DISTINCT a.user_id), '{}')
          FROM meetings m JOIN attendance a ON a.meeting_id = m.id
         WHERE m.space_id = p.space_id AND m.state = 'open'
           AND a.presence IN ('present', 'remote')) AS present
FROM proposals p
JOIN users u ON u.id = p.proposer_id
JOIN spaces s ON s.id = p.space_id
LEFT JOIN rounds r ON r.proposal_id = p.id AND r.closed_at IS NULL
LEFT JOIN elections e ON e.proposal_id = p.id
LEFT JOIN scenario_choices sc ON sc.proposal_id = p.id
WHERE p.id = $1 AND p.space_id = $2
"""


def _ballot(row: Any) -> Ballot | None:
    """An election's part of the state (elections/rules.py), or a scenario choice's; None
    for other proposals."""
    if row["kind"] == "choice":
        return Ballot(
            eligible=frozenset(row["nominable"] or ()),
            participants=frozenset(row["on_the_list"] or ()),
            nominations=tuple(Nomination(v, n, r, c) for v, n, r, c in row["nominations"] or ()),
            nominee=row["nominee"],
            nominee_last=False,
            of_people=False,
        )
    if row["kind"] != "election":
        return None
    declined = frozenset(row["declined"])
    nominee = row["nominee"] if row["nominee"] not in declined else None
    return Ballot(
        eligible=frozenset(row["nominable"]),
        participants=frozenset(row["on_the_list"]),
        nominations=tuple(Nomination(v, n, r, c) for v, n, r, c in row["nominations"]),
        nominee=nominee,
        declined=declined,
        nominee_last=row["nominee_last"],
    )


def state_from_row(row: Any) -> Loaded:
    """The rules' view of a proposal, from the state query's row."""
    round_ = None
    if row["round_id"] is not None:
        answers = [tuple(a) for a in row["positions"]] + [tuple(a) for a in row["reactions"]]
        if row["round_kind"] == RoundKind.NOMINATE:  # an election's nominations
            answers = [(v, "passed" if n is None else "nominated")
                       for v, n, _, _ in row["nominations"]]  # fmt: skip
        round_ = rules.Round(
            kind=RoundKind(row["round_kind"]),
            version=row["round_version"],
            eligible=frozenset(row["eligible"]),
            answers=tuple((int(u), str(a)) for u, a in answers),
            deadline=row["round_deadline"],
        )
    state = rules.Proposal(
        stage=Stage(row["stage"]),
        proposer=row["proposer_id"],
        version=row["version"],
        silence_is_consent=row["silence_is_consent"],
        round=round_,
        questions=tuple(rules.Question(q, a, answered) for q, a, answered in row["questions"]),
        objections=tuple(
            rules.Objection(o, who, version, ObjectionStatus(status), answered_in, by_p, by_o)
            for o, who, version, status, answered_in, by_p, by_o in row["objections"]
        ),
        decided=row["decided"],
        revision=row["revision"],
        present=frozenset(row["present"]),
        ballot=_ballot(row),
    )
    return Loaded(_head(row), state, row["round_id"])


async def load(conn: Connection, space_id: int, proposal_id: int, *, lock: bool = False) -> Loaded:
    """The proposal's state, scoped to its space (another space's id: not found). With
    `lock`, the row stays locked until the transaction ends: actions on one proposal run
    one after the other."""
    if lock:
        found = await conn.fetchval(
            "SELECT id FROM proposals WHERE id = $1 AND space_id = $2 FOR UPDATE",
            proposal_id,
            space_id,
        )
        if found is None:
            raise DomainError("proposal_not_found", NOT_FOUND, status=404)
    row = await conn.fetchrow(_STATE, proposal_id, space_id)
    if row is None:
        raise DomainError("proposal_not_found", NOT_FOUND, status=404)
    return state_from_row(row)


# --- creating and editing drafts ----------------------------------------------------------


async def create(
    conn: Connection,
    space: Space,
    actor: Actor,
    content: Content,
    *,
    role_id: int | None = None,
    election: Described | None = None,
) -> int:
    """A new draft, version 1. With a role text: a proposal to create a role, or to change
    `role_id` (a role of this space). With `election`: an election for a seat of a role
    (a facilitator describes it)."""
    if not actor.may_participate:
        raise rules.RuleViolation(rules.Rule.NOT_PARTICIPANT)
    if election is not None:
        if not actor.may_facilitate:
            raise rules.RuleViolation(rules.Rule.FACILITATOR_ONLY)
        role_id = election.role_id
    elif role_id is not None or content.role is not None:
        # Of this space (or not found) and not retired; only an existing role is retired.
        await mandates.check_role_proposal(conn, space.id, role_id, content.role)
        if content.role is None:
            raise DomainError("role_text_required", ROLE_TEXT_REQUIRED, field="role")
    proposal_id = await conn.fetchval(
        "INSERT INTO proposals (space_id, proposer_id, title, kind, role_id)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        space.id,
        actor.user_id,
        content.title,
        "election" if election else "role" if content.role is not None else "ordinary",
        role_id,
    )
    await conn.execute(
        """INSERT INTO proposal_versions (proposal_id, number, title, driver, body, note,
                                          author_id, role_text)
           VALUES ($1, 1, $2, $3, $4, $5, $6, $7)""",
        proposal_id,
        content.title,
        content.driver,
        content.body,
        content.note,
        actor.user_id,
        _role_text(content),
    )
    await decisions.set_superseded_by_proposal(conn, space.id, proposal_id, content.supersedes)
    if election is not None:
        await elections.describe(conn, space.id, proposal_id, election,
                                 nominee_last=space.election_nominee_last)  # fmt: skip
    await journal.append(
        conn,
        action="proposal.created",
        subject_type="proposal",
        subject_id=proposal_id,
        space_id=space.id,
        actor_id=actor.user_id,
        data={"title": content.title},
    )
    return int(proposal_id)


async def edit_draft(
    conn: Connection,
    space: Space,
    proposal_id: int,
    actor: Actor,
    content: Content,
    *,
    revision: int,
) -> None:
    loaded = await load(conn, space.id, proposal_id, lock=True)
    rules.step(loaded.state, actor, rules.EditDraft())
    if loaded.head.revision != revision:
        raise DomainError("stale_proposal", STALE, status=409)
    await conn.execute(
        """UPDATE proposal_versions SET title = $2, driver = $3, body = $4,
                  role_text = coalesce($5, role_text)
           WHERE proposal_id = $1 AND number = 1""",
        proposal_id,
        content.title,
        content.driver,
        content.body,
        _role_text(content),
    )
    await conn.execute("UPDATE proposals SET title = $2 WHERE id = $1", proposal_id, content.title)
    await decisions.set_superseded_by_proposal(conn, space.id, proposal_id, content.supersedes)
    await _finish(conn, loaded, actor, "proposal.draft_edited", {"title": content.title})


# --- actions ------------------------------------------------------------------------------

# The journal's name for each action.
_EVENT = {
    rules.Submit: "proposal.submitted",
    rules.AskQuestion: "proposal.question_asked",
    rules.AnswerQuestion: "proposal.question_answered",
    rules.Advance: "proposal.advanced",
    rules.React: "proposal.reaction_given",
    rules.PublishVersion: "proposal.version_published",
    rules.GivePosition: "proposal.position_given",
    rules.JudgeObjection: "proposal.objection_judged",
    rules.WithdrawObjection: "proposal.objection_withdrawn",
    rules.ConfirmIntegration: "proposal.integration_confirmed",
    rules.OpenObjectRound: "proposal.object_round_opened",
    rules.CloseRound: "proposal.round_closed",
    rules.SetDeadline: "proposal.deadline_set",
    rules.DeadlinePassed: "proposal.deadline_passed",
    rules.Withdraw: "proposal.withdrawn",
    rules.CloseWithoutConsent: "proposal.closed_without_consent",
    rules.Nominate: "election.nominated",
    rules.Reveal: "election.revealed",
    rules.OpenChangeRound: "election.change_round_opened",
    rules.ProposeHolder: "election.holder_proposed",
}


async def act(
    conn: Connection,
    space: Space,
    proposal_id: int,
    actor: Actor,
    action: Action,
    content: Content | None = None,
) -> Step:
    """Do `action` as `actor`, inside the caller's transaction; a RuleViolation if the
    process forbids it (nothing written then)."""
    content = content or Content()
    loaded = await load(conn, space.id, proposal_id, lock=True)
    if not rules.may_view(loaded.state, actor, may_view_space=True):  # someone else's draft
        raise DomainError("proposal_not_found", NOT_FOUND, status=404)
    if isinstance(
        action, (rules.Submit, rules.Advance, rules.OpenObjectRound, rules.DeadlinePassed)
    ):
        action = replace(action, eligible=await _eligible(conn, space.id, proposal_id))
    choice = loaded.head.kind == "choice"
    if isinstance(action, rules.Submit) and loaded.state.ballot is not None:
        rules.step(loaded.state, actor, action)  # refused before anything is written
        opening = choosing.open_preferences if choice else elections.open_nominations
        nominable = await opening(conn, proposal_id, action.eligible)
        action = replace(action, nominable=nominable)
    result = rules.step(loaded.state, actor, action)
    if isinstance(action, rules.ProposeHolder) and choice:  # the scenario's current version
        body, version_id = await choosing.proposal_text(
            conn, proposal_id, action.nominee, action.reason
        )
        content = replace(content, body=body, scenario_version=version_id)
    elif isinstance(action, rules.ProposeHolder):  # the seat free for the term proposed
        await elections.check_proposal(conn, proposal_id, action.nominee, content.term)
        body = await elections.proposal_text(
            conn, proposal_id, action.nominee, content.term, action.reason
        )
        content = replace(content, body=body)
    writer = _Writer(conn, space, loaded, actor, action, content)
    data = await writer.write(result)
    await _notify(conn, space, loaded, actor, action, result, content, data)
    # Acting on it: what told them of this proposal is read (in _finish's statement).
    seen = f"/s/{space.slug}/proposals/{proposal_id}" if actor.user_id else None
    await _finish(conn, loaded, actor, _EVENT[type(action)], data, seen=seen,
                  position=writer.position_later)  # fmt: skip
    return result


async def _notify(
    conn: Connection,
    space: Space,
    loaded: Loaded,
    actor: Actor,
    action: Action,
    result: Step,
    content: Content,
    data: dict[str, Any],
) -> None:
    """Tell whom the step hands the process to (notifications/kinds.py), in its transaction."""
    notices = kinds.after_step(loaded.state, result, actor, action, datetime.now(UTC))
    if not notices:
        return
    title = content.title if isinstance(action, rules.PublishVersion) else ""
    about = notifications.About(
        space_id=space.id,
        link=f"/s/{space.slug}/proposals/{loaded.head.id}",
        title=title or loaded.head.title,
        actor_id=actor.user_id or None,
    )
    adopted = [n for n in notices if n.kind is kinds.Kind.ADOPTED]
    await notifications.record(conn, about, [n for n in notices if n not in adopted])
    if adopted and "decision" in data:
        number = str(data["decision"])
        decision = msgspec.structs.replace(about, link=f"/s/{space.slug}/decisions/{number}")
        decision_notices = [replace(n, data={"number": number}) for n in adopted]
        await notifications.record(conn, decision, decision_notices)


async def _eligible(conn: Connection, space_id: int, proposal_id: int) -> frozenset[int]:
    """Who takes part in a round opened now: the space's members who may act; run live in
    a meeting, only those of them recorded present (whoever or whatever opens the round: a
    facilitator, or the deadline task during the meeting)."""
    eligible = await spaces.acting_member_ids(conn, space_id)
    present = await meetings.live_participants(conn, proposal_id)
    if present:  # (nobody recorded yet: the meeting has not taken attendance)
        eligible &= present
    return eligible


# A position kept: the person's current one superseded, then (reading the count forces this
# order, the unique index of current positions needing it) the new one, in one statement.
_KEEP = """
superseded AS (
    UPDATE positions SET superseded_at = now()
    WHERE round_id = $1 AND user_id = $3 AND superseded_at IS NULL RETURNING 1
),
kept AS (
    INSERT INTO positions (round_id, version, user_id, stance, reason, recorded_by)
    SELECT $1, $2, $3, $4, $5, $6 FROM (SELECT count(*) FROM superseded) AS first
    RETURNING id
)"""

# The step's last changes, with its journal event (journal.append_with), in one statement:
# what told the actor of this proposal is marked read (notifications/store.py `seen`: the
# link $4, with or without an #anchor, found through notifications_unread_link_idx; nothing
# when $4 is NULL), then the revision is bumped, only from the one the step was decided on
# (the guard: no row, no event). `bumped` reads `seen`, so they run in this order, then the
# event is appended (its chain lock taken last, as ever).
_FINISH = """
seen AS (
    UPDATE notifications SET read_at = now()
    WHERE user_id = $3 AND read_at IS NULL AND split_part(link, '#', 1) = $4
    RETURNING 1
),
bumped AS (
    UPDATE proposals SET revision = revision + 1, updated_at = now()
    WHERE id = $1 AND revision = $2 AND (SELECT count(*) FROM seen) >= 0
    RETURNING revision
)"""


def _shifted(sql: str, by: int) -> str:
    """`sql` with its parameters $n numbered $(n + by) (to join it to another statement)."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + by}", sql)


# A step that does nothing but keep a position (most consents and concerns: the commonest
# write by far): the position too, in the same statement; the event once both the position
# is kept and the revision bumped (`done` reads both).
_FINISH_KEEPING = f"""{_FINISH},
{_shifted(_KEEP, 4)},
done AS (SELECT FROM bumped, kept)"""


async def _finish(
    conn: Connection,
    loaded: Loaded,
    actor: Actor,
    event: str,
    data: dict[str, Any],
    *,
    seen: str | None = None,
    position: tuple[Any, ...] | None = None,
) -> None:
    """Bump the revision, mark `seen` read for the actor, keep `position` (the arguments of
    `_KEEP`) if given, append the journal event: one round trip, the last before the commit,
    while the proposal's row lock is held."""
    args = (loaded.head.id, loaded.head.revision, actor.user_id or None, seen)
    changes, guard = (_FINISH, "bumped") if position is None else (_FINISH_KEEPING, "done")
    appended = await journal.append_with(
        conn,
        changes,
        guard,
        (*args, *(position or ())),
        action=event,
        subject_type="proposal",
        subject_id=loaded.head.id,
        space_id=loaded.head.space_id,
        actor_id=actor.user_id or None,
        data=data,
    )
    if appended is None:  # the row lock makes this impossible; kept as the last guard
        raise DomainError("stale_proposal", STALE, status=409)


class _Writer:
    """Writes one step's effects; collects what the journal event says of them."""

    def __init__(
        self,
        conn: Connection,
        space: Space,
        loaded: Loaded,
        actor: Actor,
        action: Action,
        content: Content,
    ) -> None:
        self.conn = conn
        self.space = space
        self.loaded = loaded
        self.actor = actor
        self.action = action
        self.content = content
        self.round_id = loaded.round_id
        self.position_id: int | None = None
        # The position of a step that does nothing else: written by _finish's statement.
        self.position_later: tuple[Any, ...] | None = None
        self.data: dict[str, Any] = {}

    @property
    def actor_id(self) -> int | None:
        return self.actor.user_id or None  # the deadline task acts as nobody

    async def write(self, result: Step) -> dict[str, Any]:
        await self._own_rows()
        for effect in result.effects:
            match effect:
                case RoundClosed():
                    await self._close_round(effect)
                case StageChanged(stage=stage):
                    await self._stage(stage)
                case RoundOpened():
                    await self._open_round(effect)
                case VersionPublished():
                    await self._version(effect)
                case PositionKept() if result.effects == (effect,):
                    self.position_later = self._position_kept(effect)
                case PositionKept():
                    self.position_id = await self.conn.fetchval(
                        f"WITH {_KEEP} SELECT id FROM kept",  # noqa: S608 (constant text)
                        *self._position_kept(effect),
                    )
                case ObjectionRaised():
                    await self._objection(effect)
                case ObjectionChanged():
                    await self._objection_changed(effect)
                case Adopted(version=version):
                    self.data["decision"] = await decisions.adopt(
                        self.conn, self.space, self.loaded.head, version
                    )
                    # A role proposal's adoption writes the role, in this transaction; an
                    # election's grants the mandate.
                    await mandates.adopt_role(self.conn, self.space.id, self.loaded.head.id)
                    if self.loaded.head.kind == "election":
                        self.data["mandate"] = await elections.elected(
                            self.conn, self.space.id, self.loaded.head.id, self.actor_id
                        )
                    # A review's: confirms, amends or repeals the decision it reviews.
                    await reviewing.adopted(
                        self.conn, self.space.id, self.loaded.head.id, self.actor_id
                    )
                    # A revocation's: ends the mandate it names.
                    await revoking.adopted(
                        self.conn, self.space.id, self.loaded.head.id, self.actor_id
                    )
                    # A cause's: its step reached, or (a scenario choice) its action list.
                    await cause_adoption.adopted(
                        self.conn, self.space.id, self.loaded.head.id, self.actor_id
                    )
                case NominationKept():
                    await self._nomination(effect)
        return self.data

    async def _nomination(self, effect: NominationKept) -> None:
        reason = self.action.reason if isinstance(self.action, rules.Nominate) else ""
        # (A scenario choice keeps a preference for a scenario.)
        keep = choosing.keep_preference if self.loaded.head.kind == "choice" else None
        self.data["nomination"] = await (keep or elections.keep_nomination)(
            self.conn, self.loaded.head.id, self.round_id, effect.voter, effect.nominee, reason,
            changed=effect.changed,
        )  # fmt: skip
        # The journal is readable by the space: a sealed nomination does not name anyone.
        self.data["changed"] = effect.changed

    async def _own_rows(self) -> None:
        """What the action writes that is not a change of state."""
        conn, action, content = self.conn, self.action, self.content
        match action:
            case rules.AskQuestion():
                self.data["question"] = await conn.fetchval(
                    """INSERT INTO questions (proposal_id, round_id, author_id, text, scenario_id)
                       SELECT $1, $2, $3, $4, s.id FROM (SELECT 1) one
                       LEFT JOIN scenario_choices c ON c.proposal_id = $1
                       LEFT JOIN scenarios s ON s.id = $5 AND s.id = ANY (c.eligible)
                       RETURNING id""",
                    self.loaded.head.id,
                    self.round_id,
                    self.actor.user_id,
                    content.text,
                    content.scenario,
                )
            case rules.AnswerQuestion(question_id=question_id):
                await conn.execute(
                    """UPDATE questions SET answer = $3, answered_at = now()
                       WHERE id = $1 AND proposal_id = $2""",
                    question_id,
                    self.loaded.head.id,
                    content.text,
                )
                self.data["question"] = question_id
            case rules.React(passed=passed):
                await conn.execute(
                    """INSERT INTO reactions (round_id, author_id, text, passed)
                       VALUES ($1, $2, $3, $4)""",
                    self.round_id,
                    self.actor.user_id,
                    "" if passed else content.text,
                    passed,
                )
                self.data["passed"] = passed
            case rules.SetDeadline(deadline=deadline):
                await conn.execute(
                    """UPDATE rounds SET deadline = $2, reminded_at = NULL, overdue_at = NULL
                       WHERE id = $1""",
                    self.round_id,
                    deadline,
                )
                # A new deadline: the deadline tasks (consent/deadlines.py) try it afresh,
                # even if they had set this round aside.
                assert self.round_id is not None  # the rules refuse a deadline without one
                await tasks.forget(conn, ("reminder", "closing"), self.round_id)
                self.data["deadline"] = deadline.isoformat() if deadline else None
            case rules.CloseWithoutConsent(reason=reason):
                self.data["reason"] = reason

    async def _close_round(self, effect: RoundClosed) -> None:
        if effect.silent:  # silence counted as consent: one statement for all of them
            await self.conn.execute(
                """INSERT INTO positions (round_id, version, user_id, stance, recorded_by, silent)
                   SELECT r.id, r.version, person, 'consent', NULL, true
                   FROM rounds r, unnest($2::bigint[]) AS person WHERE r.id = $1""",
                self.round_id,
                sorted(effect.silent),
            )
        await self.conn.execute(
            """UPDATE rounds SET closed_at = now(), closed_by = $2, outcome = $3
               WHERE id = $1 AND closed_at IS NULL""",
            self.round_id,
            self.actor_id,
            effect.outcome.value,
        )
        self.data["round_closed"] = effect.outcome.value
        if effect.silent:
            self.data["silent"] = sorted(effect.silent)

    async def _stage(self, stage: Stage) -> None:
        if stage is Stage.REASONS:  # revealed: the nominations' deadline has served
            await self.conn.execute(
                "UPDATE rounds SET deadline = NULL WHERE id = $1", self.round_id
            )
        reason = self.action.reason if isinstance(self.action, rules.CloseWithoutConsent) else None
        await self.conn.execute(
            """UPDATE proposals SET stage = $2,
                      closed_at = CASE WHEN $3 THEN now() END, closed_reason = $4
               WHERE id = $1""",
            self.loaded.head.id,
            stage.value,
            stage.closed,
            reason,
        )
        self.data["stage"] = stage.value

    async def _open_round(self, effect: RoundOpened) -> None:
        self.round_id = await self.conn.fetchval(
            """INSERT INTO rounds (proposal_id, kind, version, opened_by, deadline)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            self.loaded.head.id,
            effect.kind.value,
            effect.version,
            self.actor_id,
            self._carried_deadline(effect),
        )
        await self.conn.execute(
            """INSERT INTO round_participants (round_id, user_id)
               SELECT $1, unnest($2::bigint[])""",
            self.round_id,
            sorted(effect.eligible),
        )
        self.data["round_opened"] = {"kind": effect.kind.value, "version": effect.version}

    def _carried_deadline(self, effect: RoundOpened) -> datetime | None:
        """A restarted object round keeps its deadline, unless it has passed: silence must
        never count as consent to a text nobody had time to read."""
        old = self.loaded.state.round
        if old is not None and old.kind is RoundKind.OBJECT is effect.kind and old.deadline:
            return old.deadline if old.deadline > datetime.now(UTC) else None
        return None

    async def _version(self, effect: VersionPublished) -> None:
        """The new version, with its title (the current one unless it was changed): the
        proposal's title is its current version's."""
        title = self.content.title or self.loaded.head.title
        # An election's version proposes a holder: the reasons are its text, the election's
        # description stays its driver, and the term is carried unless adjusted.
        proposing = self.action if isinstance(self.action, rules.ProposeHolder) else None
        # A scenario choice's version names the scenario version it proposes, not a person.
        nominee = proposing.nominee if proposing and self.loaded.head.kind == "election" else None
        term = self.content.term
        await self.conn.execute(
            """INSERT INTO proposal_versions (proposal_id, number, title, driver, body, note,
                                              author_id, role_text, nominee_id, term,
                                              scenario_version_id)
               SELECT $1, $2, $3, coalesce(nullif($4, ''), prev.driver), $5, $6, $7,
                      coalesce($8, prev.role_text), $9,
                      CASE WHEN $10::date IS NULL THEN prev.term
                           ELSE daterange($10::date, $11::date) END,
                      coalesce($12, prev.scenario_version_id)
               FROM proposal_versions prev WHERE prev.proposal_id = $1 AND prev.number = $2 - 1""",
            self.loaded.head.id,
            effect.number,
            title,
            self.content.driver,
            self.content.body or (proposing.reason if proposing else ""),
            self.content.note,
            self.actor.user_id,
            _role_text(self.content),
            nominee,
            term.first if term else None,
            term.after_last if term else None,
            self.content.scenario_version,
        )
        if proposing:
            self.data["scenario" if nominee is None else "nominee"] = proposing.nominee
        await self.conn.execute(
            "UPDATE proposals SET version = $2, title = $3 WHERE id = $1",
            self.loaded.head.id,
            effect.number,
            title,
        )
        self.data["version"] = effect.number
        if title != self.loaded.head.title:
            self.data["title"] = title
        if effect.answers:
            self.data["answers"] = sorted(effect.answers)

    def _position_kept(self, effect: PositionKept) -> tuple[Any, ...]:
        """`_KEEP`'s arguments for this position; what the journal says of it."""
        reason = self.action.reason if isinstance(self.action, rules.GivePosition) else ""
        self.data.update(person=effect.person, stance=effect.stance.value, version=effect.version)
        if effect.on_behalf:
            self.data["on_behalf_of"] = effect.person
        return (self.round_id, effect.version, effect.person, effect.stance.value, reason,
                self.actor.user_id)  # fmt: skip

    async def _objection(self, effect: ObjectionRaised) -> None:
        reason = self.action.reason if isinstance(self.action, rules.GivePosition) else ""
        self.data["objection"] = await self.conn.fetchval(
            """INSERT INTO objections
                   (proposal_id, round_id, position_id, objector_id, version, reason)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            self.loaded.head.id,
            self.round_id,
            self.position_id,
            effect.objector,
            effect.version,
            reason,
        )

    async def _objection_changed(self, effect: ObjectionChanged) -> None:
        judgement = self.action.reason if isinstance(self.action, rules.JudgeObjection) else None
        await self.conn.execute(
            """UPDATE objections SET
                   status = $3,
                   judged_by = CASE WHEN $4::text IS NOT NULL THEN $5 ELSE judged_by END,
                   judged_at = CASE WHEN $4::text IS NOT NULL THEN now() ELSE judged_at END,
                   judgement = coalesce($4, judgement),
                   answered_in = coalesce($6, answered_in),
                   -- Each confirmation is set by its author's own step only (the rules
                   -- say whose step it is).
                   proposer_confirmed_at = CASE WHEN $7 THEN now()
                                                ELSE proposer_confirmed_at END,
                   objector_confirmed_at = CASE WHEN $8 THEN now()
                                                ELSE objector_confirmed_at END,
                   updated_at = now()
               WHERE id = $1 AND proposal_id = $2""",
            effect.objection_id,
            self.loaded.head.id,
            effect.status.value,
            judgement,
            self.actor.user_id,
            effect.answered_in,
            effect.proposer_confirms,
            effect.objector_confirms,
        )
        self.data.setdefault("objections", {})[str(effect.objection_id)] = effect.status.value


# --- reading: the proposal page and the list ----------------------------------------------

# A round as the proposal page shows it (rounds `r`): what the page's `_DETAIL` gives for
# each round, and the live round (`_OPEN_ROUND`) for the open one, the same object in both.
_ROUND = """json_build_object(
       'id', r.id, 'kind', r.kind, 'version', r.version, 'opened_at', r.opened_at,
       'closed_at', r.closed_at, 'deadline', r.deadline, 'outcome', r.outcome,
       'overdue', r.overdue_at IS NOT NULL,
       'participants', (SELECT json_agg(json_build_array(rp.user_id, pu.name) ORDER BY pu.name)
                          FROM round_participants rp JOIN users pu ON pu.id = rp.user_id
                         WHERE rp.round_id = r.id),
       'positions', (SELECT json_agg(json_build_object(
                         'user_id', x.user_id, 'stance', x.stance, 'reason', x.reason,
                         'silent', x.silent,
                         'on_behalf', NOT x.silent AND x.recorded_by <> x.user_id,
                         'recorded_by', CASE WHEN NOT x.silent AND x.recorded_by <> x.user_id
                                             THEN xr.name END) ORDER BY x.id)
                       FROM positions x LEFT JOIN users xr ON xr.id = x.recorded_by
                      WHERE x.round_id = r.id AND x.superseded_at IS NULL),
       'reactions', (SELECT json_agg(json_build_object(
                         'user_id', x.author_id, 'text', x.text, 'passed', x.passed) ORDER BY x.id)
                       FROM reactions x WHERE x.round_id = r.id)
     )"""

_DETAIL = """
SELECT
  (SELECT json_agg(json_build_object(
       'number', v.number, 'title', v.title, 'driver', v.driver, 'body', v.body,
       'note', v.note, 'role', v.role_text,
       'author', au.name, 'created_at', v.created_at) ORDER BY v.number)
     FROM proposal_versions v JOIN users au ON au.id = v.author_id
    WHERE v.proposal_id = p.id) AS versions,
  (SELECT json_agg(:round ORDER BY r.id)
     FROM rounds r WHERE r.proposal_id = p.id) AS rounds,
  (SELECT json_agg(json_build_object(
       'id', q.id, 'author', qu.name, 'author_id', q.author_id, 'text', q.text,
       'answer', q.answer, 'scenario_id', q.scenario_id) ORDER BY q.id)
     FROM questions q JOIN users qu ON qu.id = q.author_id
    WHERE q.proposal_id = p.id) AS questions,
  (SELECT json_agg(json_build_object(
       'id', o.id, 'objector', ou.name, 'objector_id', o.objector_id, 'version', o.version,
       'reason', o.reason, 'status', o.status, 'judgement', o.judgement,
       'answered_in', o.answered_in, 'proposer_confirmed_at', o.proposer_confirmed_at,
       'objector_confirmed_at', o.objector_confirmed_at) ORDER BY o.id)
     FROM objections o JOIN users ou ON ou.id = o.objector_id
    WHERE o.proposal_id = p.id) AS objections,
  (SELECT number FROM decisions WHERE proposal_id = p.id) AS decision,
  -- A review: the decision it reviews, and the concerns kept when that one was adopted.
  (SELECT json_build_object(
       'number', d.number, 'title', d.title, 'review_on', d.review_on, 'status', st.status,
       'outcome', p.review_outcome, 'next_review_on', p.review_next_on,
       'concerns', (SELECT coalesce(json_agg(json_build_object(
                               'person', cu.name, 'reason', c.reason) ORDER BY cu.name, c.id), '[]')
                      FROM rounds cr JOIN positions c ON c.round_id = cr.id
                      JOIN users cu ON cu.id = c.user_id
                     WHERE cr.proposal_id = d.proposal_id AND cr.outcome = 'adopted'
                       AND c.stance = 'concern' AND c.superseded_at IS NULL))
     FROM decisions d JOIN decision_states st ON st.decision_id = d.id
    WHERE d.id = p.review_of) AS review,
  -- Where the page's live stream starts: the space's latest event, as the page was read.
  (SELECT coalesce(max(j.id), 0) FROM journal j WHERE j.space_id = p.space_id) AS last_event,
  p.stage
FROM proposals p
WHERE p.id = $1 AND p.space_id = $2
""".replace(":round", _ROUND)


def _timestamp(value: str | None) -> datetime | None:
    """json_agg writes timestamps as ISO text."""
    return datetime.fromisoformat(value) if value else None


class Detail(msgspec.Struct, frozen=True):
    """Everything the proposal page shows besides the state, from one query."""

    versions: list[dict[str, Any]]
    rounds: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    objections: list[dict[str, Any]]
    decision: str | None
    last_event: int = 0  # the space's latest journal id when this was read
    stage: Stage = Stage.DRAFT  # the proposal's stage when this was read
    review: reviewing.UnderReview | None = None  # a review: the decision it reviews

    @property
    def open_round(self) -> dict[str, Any] | None:
        last = self.rounds[-1] if self.rounds else None
        return last if last is not None and last["closed_at"] is None else None

    def positions_hidden(self, space_hides: bool) -> bool:
        """Positions stay hidden while an objection round is open, if the space says so."""
        return space_hides and self.open_round is not None and self.open_round["kind"] == "object"

    def visible_objections(self, space_hides: bool, viewer: Actor) -> list[dict[str, Any]]:
        """While positions are hidden, an objection not judged yet is seen only by the
        facilitators (who judge it) and by its author; once judged, by everyone."""
        if not self.positions_hidden(space_hides) or viewer.may_facilitate:
            return self.objections
        return [
            o for o in self.objections
            if o["status"] != "raised" or o["objector_id"] == viewer.user_id
        ]  # fmt: skip


async def detail(conn: Connection, space_id: int, proposal_id: int) -> Detail:
    row = await conn.fetchrow(_DETAIL, proposal_id, space_id)
    if row is None:
        raise DomainError("proposal_not_found", NOT_FOUND, status=404)
    for round_ in row["rounds"] or []:
        for key in ("participants", "positions", "reactions"):
            round_[key] = round_[key] or []
        for key in ("opened_at", "closed_at", "deadline"):
            round_[key] = _timestamp(round_[key])
    for version in row["versions"] or []:
        version["created_at"] = _timestamp(version["created_at"])
    return Detail(
        versions=row["versions"] or [],
        rounds=row["rounds"] or [],
        questions=row["questions"] or [],
        objections=row["objections"] or [],
        decision=row["decision"],
        last_event=row["last_event"],
        stage=Stage(row["stage"]),
        review=reviewing.under_review(row["review"]),
    )


class Listed(msgspec.Struct, frozen=True):
    id: int
    title: str
    stage: Stage
    proposer_name: str
    updated_at: datetime
    version: int
    deadline: datetime | None
    awaits_me: bool  # on the open round's list, and not answered yet
    kind: str = "ordinary"  # a scenario choice names its stages its own way


LIST_PAGE = 50


class ListGroup(StrEnum):
    """The proposals list's tabs: where in the process a proposal is."""

    ACTIVE = "active"  # clarify, react, object, integrate: the group has work to do
    DRAFTS = "drafts"
    ADOPTED = "adopted"
    CLOSED = "closed"  # withdrawn or closed without consent


GROUP_STAGES: dict[ListGroup, tuple[Stage, ...]] = {
    ListGroup.ACTIVE: (
        Stage.CLARIFY,
        Stage.REACT,
        Stage.OBJECT,
        Stage.INTEGRATE,
        Stage.NOMINATE,
        Stage.REASONS,
        Stage.CHANGE,
    ),
    ListGroup.DRAFTS: (Stage.DRAFT,),
    ListGroup.ADOPTED: (Stage.ADOPTED,),
    ListGroup.CLOSED: (Stage.WITHDRAWN, Stage.REJECTED),
}


async def group_counts(
    conn: Connection, space_id: int, viewer_id: int, *, may_see_drafts: bool
) -> dict[ListGroup, int]:
    """How many proposals the viewer sees in each group (drafts: their own, or all of them
    for a facilitator)."""
    rows = await conn.fetch(
        """
        SELECT stage, count(*) AS n FROM proposals
        WHERE space_id = $1 AND (stage <> 'draft' OR proposer_id = $2 OR $3)
        GROUP BY stage
        """,
        space_id,
        viewer_id,
        may_see_drafts,
    )
    per_stage = {Stage(r["stage"]): r["n"] for r in rows}
    return {
        group: sum(per_stage.get(stage, 0) for stage in stages)
        for group, stages in GROUP_STAGES.items()
    }


async def listing(
    conn: Connection,
    space_id: int,
    viewer_id: int,
    *,
    may_see_drafts: bool,
    group: ListGroup | None = None,
    after: str | None = None,
    limit: int = LIST_PAGE,
    election_drafts: bool = False,
) -> tuple[list[Listed], str | None]:
    """A space's proposals (of one group, or all), last changed first, with what awaits the
    viewer; and the cursor of the next page (keyset), if there is one. `election_drafts`:
    with the group, the elections still drafts (what a meeting's agenda may hold)."""
    when, ident = keyset.decode(after)
    stages = None if group is None else [str(stage) for stage in GROUP_STAGES[group]]
    rows = await conn.fetch(
        """
        SELECT p.id, p.title, p.stage, u.name AS proposer_name, p.updated_at, p.version,
               r.deadline, p.kind,
               (rp.user_id IS NOT NULL AND r.kind <> 'clarify'
                AND (r.kind <> 'nominate' OR p.stage = 'nominate' AND NOT EXISTS (
                     SELECT 1 FROM nominations x WHERE x.round_id = r.id
                     AND x.voter_id = $2 AND x.superseded_at IS NULL) AND NOT EXISTS (
                     SELECT 1 FROM preferences x WHERE x.round_id = r.id
                     AND x.voter_id = $2 AND x.superseded_at IS NULL))
                AND NOT EXISTS (SELECT 1 FROM positions x WHERE x.round_id = r.id
                                AND x.user_id = $2 AND x.superseded_at IS NULL)
                AND NOT EXISTS (SELECT 1 FROM reactions x WHERE x.round_id = r.id
                                AND x.author_id = $2)) AS awaits_me
        FROM proposals p
        JOIN users u ON u.id = p.proposer_id
        LEFT JOIN rounds r ON r.proposal_id = p.id AND r.closed_at IS NULL
        LEFT JOIN round_participants rp ON rp.round_id = r.id AND rp.user_id = $2
        WHERE p.space_id = $1
          AND (p.stage <> 'draft' OR p.proposer_id = $2 OR $3)
          AND ($4::timestamptz IS NULL OR (p.updated_at, p.id) < ($4, $5))
          AND ($7::text[] IS NULL OR p.stage = ANY($7)
               OR $8 AND p.stage = 'draft' AND p.kind IN ('election', 'choice'))
        ORDER BY p.updated_at DESC, p.id DESC
        LIMIT $6
        """,
        space_id,
        viewer_id,
        may_see_drafts or election_drafts,
        when,
        ident,
        limit + 1,
        stages,
        election_drafts,
    )
    page = [
        Listed(**{**dict(r), "stage": Stage(r["stage"]), "awaits_me": bool(r["awaits_me"])})
        for r in rows[:limit]
    ]
    following = keyset.encode(page[-1].updated_at, page[-1].id) if len(rows) > limit else None
    return page, following


async def titles_under_way(
    conn: Connection, space_id: int, proposal_ids: list[int]
) -> dict[int, str]:
    """Of these proposals, those of the space under way (clarify to integrate, an election's
    nominations), and its elections still drafts, by id, with their titles: what a
    meeting's agenda may hold."""
    rows = await conn.fetch(
        """SELECT id, title FROM proposals
           WHERE space_id = $1 AND id = ANY($2::bigint[])
             AND (stage = ANY($3::text[]) OR stage = 'draft' AND kind IN ('election', 'choice'))""",
        space_id,
        proposal_ids,
        [str(stage) for stage in GROUP_STAGES[ListGroup.ACTIVE]],
    )
    return {r["id"]: r["title"] for r in rows}


WaitingKind = Literal[
    "ask", "answer", "questions", "judge", "close", "overdue", "publish", "confirm", "open",
    "sign", "meeting", "run", "review", "nominate", "reveal", "propose",
]  # fmt: skip

# Where on the proposal page each step is taken: the "what you can do now" box, unless the
# step has its own section.
_PROPOSAL_ANCHORS = {"questions": "questions", "judge": "objections"}


class Awaiting(msgspec.Struct, frozen=True):
    """A step that waits for this person, for their dashboard, with the address where it is
    taken. `kind`: ask (a clarify round open to my questions), answer (my reaction or
    position), questions (questions on my proposal to answer), judge (objections raised in a
    space I facilitate), close (a reaction or object round everyone answered, a clarify
    round whose questions are all answered), overdue (a
    round past its deadline), publish (a version answering valid objections to my
    proposal), confirm (a new version says it answers my objection), open (the valid
    objections of a proposal in integration are answered: the object round may open again,
    in a space I facilitate), sign (my space's current charter), meeting / run (a meeting
    not over I am invited to / I run), review (a decision in force due for review in a space
    I facilitate); in an election: nominate (my nomination, while sealed), reveal (everyone
    has nominated) and propose (the reasons are heard, or the person proposed declined: a
    holder to propose), the last two in a space I facilitate."""

    kind: WaitingKind
    space_slug: str
    space_name: str
    title: str  # the proposal's, meeting's or decision's; the space's name for a charter
    href: str
    deadline: datetime | None  # a round's deadline, or a meeting's start
    due_on: date | None  # a decision's review date
    stage: str | None  # the proposal's stage (react or object, for "answer")


# Facilitating mirrors spaces/rules.py: a direct role of facilitator or administrator (an
# inherited membership is only ever "member") and the space's current charter signed (or no
# charter). Every branch is limited to spaces the person belongs to now (`mine`, as
# spaces.store.my_spaces), so nothing shows from a space they left. Each branch starts from
# an index on the person (round_participants_user_idx, proposals_proposer_open_idx,
# objections_objector_valid_idx, attendance_user_idx, meetings_facilitator_idx,
# memberships_user_idx) or on the spaces they facilitate (proposals_space_open_idx,
# decisions_review_idx): one statement whatever the number of spaces and proposals.
_AWAITING = """
WITH mine AS (
    SELECT space_id FROM memberships WHERE user_id = $1
    UNION
    SELECT c.id FROM memberships pm
    JOIN spaces c ON c.parent_id = pm.space_id AND c.parent_members_included
    WHERE pm.user_id = $1
),
facilitated AS (
    SELECT m.space_id FROM memberships m
    LEFT JOIN LATERAL (
        SELECT id FROM charters WHERE space_id = m.space_id ORDER BY version DESC LIMIT 1
    ) ch ON true
    WHERE m.user_id = $1 AND m.role IN ('facilitator', 'admin')
      AND (ch.id IS NULL OR EXISTS (SELECT 1 FROM charter_signatures sig
                                    WHERE sig.charter_id = ch.id AND sig.user_id = $1))
),
items (kind, space_id, title, proposal_id, ref, deadline, due_on, stage) AS (
    -- Open rounds with me on their list: questions welcome (clarify, not my own proposal,
    -- none asked yet), my nomination while they are sealed, or my reaction or position
    -- still missing (in an election, the person proposed once everyone else has answered,
    -- when they answer last).
    SELECT CASE WHEN r.kind = 'clarify' THEN 'ask'
                WHEN r.kind = 'nominate' AND p.kind = 'choice' THEN 'prefer'
                WHEN r.kind = 'nominate' THEN 'nominate'
                ELSE 'answer' END, p.space_id, p.title, p.id,
           NULL::text, r.deadline, NULL::date, p.stage
    FROM round_participants rp
    JOIN rounds r ON r.id = rp.round_id AND r.closed_at IS NULL
    JOIN proposals p ON p.id = r.proposal_id
    WHERE rp.user_id = $1
      AND CASE WHEN r.kind = 'clarify'
               THEN p.proposer_id <> $1
                    AND NOT EXISTS (SELECT 1 FROM questions q
                                    WHERE q.proposal_id = p.id AND q.author_id = $1)
               WHEN r.kind = 'nominate'
               THEN p.stage = 'nominate'
                    AND NOT EXISTS (SELECT 1 FROM nominations n WHERE n.proposal_id = p.id
                                    AND n.voter_id = $1 AND n.superseded_at IS NULL)
                    AND NOT EXISTS (SELECT 1 FROM preferences n WHERE n.proposal_id = p.id
                                    AND n.voter_id = $1 AND n.superseded_at IS NULL)
               WHEN p.kind = 'election' AND EXISTS (
                   SELECT 1 FROM elections e JOIN proposal_versions v
                     ON v.proposal_id = e.proposal_id AND v.number = r.version
                   WHERE e.proposal_id = p.id AND e.nominee_last AND v.nominee_id = $1)
                    AND EXISTS (SELECT 1 FROM round_participants x WHERE x.round_id = r.id
                                AND x.user_id <> $1
                                AND NOT EXISTS (SELECT 1 FROM positions y
                                                WHERE y.round_id = r.id AND y.user_id = x.user_id
                                                  AND y.superseded_at IS NULL))
               THEN false
               ELSE NOT EXISTS (SELECT 1 FROM positions x WHERE x.round_id = r.id
                                AND x.user_id = $1 AND x.superseded_at IS NULL)
                    AND NOT EXISTS (SELECT 1 FROM reactions x WHERE x.round_id = r.id
                                    AND x.author_id = $1)
          END
    UNION ALL
    -- My proposals under way: questions to answer; valid objections no version answers yet.
    SELECT k.kind, p.space_id, p.title, p.id, NULL, NULL, NULL, p.stage
    FROM proposals p
    CROSS JOIN LATERAL (VALUES
        ('questions', EXISTS (SELECT 1 FROM questions q
                              WHERE q.proposal_id = p.id AND q.answer IS NULL)),
        ('publish', p.stage = 'integrate' AND p.kind NOT IN ('election', 'choice')
                    AND EXISTS (SELECT 1 FROM objections o WHERE o.proposal_id = p.id
                                AND o.status = 'valid' AND o.answered_in IS NULL))
    ) AS k (kind, due)
    WHERE p.proposer_id = $1 AND p.closed_at IS NULL AND k.due
    UNION ALL
    -- My valid objections a published version says it answers, not confirmed yet (typed
    -- NULLs: DISTINCT resolves them before the union would).
    SELECT DISTINCT 'confirm', p.space_id, p.title, p.id, NULL::text, NULL::timestamptz,
           NULL::date, p.stage
    FROM objections o JOIN proposals p ON p.id = o.proposal_id AND p.closed_at IS NULL
    WHERE o.objector_id = $1 AND o.status = 'valid' AND o.answered_in IS NOT NULL
      AND o.objector_confirmed_at IS NULL
    UNION ALL
    -- Proposals under way in the spaces I facilitate: objections to judge; a reaction or
    -- object round everyone on the list answered (nothing left to judge), a clarify round
    -- whose questions all have their answer; a round past its
    -- deadline the rules kept open, still missing answers; an integrated proposal whose
    -- valid objections a newer version answers (rules.OpenObjectRound would be accepted).
    SELECT k.kind, p.space_id, p.title, p.id, NULL, r.deadline, NULL, p.stage
    FROM facilitated f
    JOIN proposals p ON p.space_id = f.space_id AND p.closed_at IS NULL
    LEFT JOIN rounds r ON r.proposal_id = p.id AND r.closed_at IS NULL
    CROSS JOIN LATERAL (
        SELECT EXISTS (SELECT 1 FROM objections o
                       WHERE o.proposal_id = p.id AND o.status = 'raised') AS unjudged,
               coalesce(r.kind IN ('react', 'object') AND NOT EXISTS (
                   SELECT 1 FROM round_participants x WHERE x.round_id = r.id
                   AND NOT EXISTS (SELECT 1 FROM positions y WHERE y.round_id = r.id
                                   AND y.user_id = x.user_id AND y.superseded_at IS NULL)
                   AND NOT EXISTS (SELECT 1 FROM reactions y WHERE y.round_id = r.id
                                   AND y.author_id = x.user_id)
               ) OR r.kind = 'clarify'
                    AND EXISTS (SELECT 1 FROM questions q WHERE q.proposal_id = p.id)
                    AND NOT EXISTS (SELECT 1 FROM questions q WHERE q.proposal_id = p.id
                                    AND q.answer IS NULL), false) AS complete,
               p.stage = 'integrate' AND p.kind NOT IN ('election', 'choice')
               AND NOT EXISTS (SELECT 1 FROM objections o WHERE o.proposal_id = p.id
                               AND o.status = 'valid' AND o.answered_in IS NULL)
               AND (p.version > (SELECT coalesce(max(o.version), 0) FROM objections o
                                 WHERE o.proposal_id = p.id)
                    OR NOT EXISTS (SELECT 1 FROM objections o WHERE o.proposal_id = p.id
                                   AND o.status = 'valid')) AS reopen,
               p.stage = 'nominate' AND NOT EXISTS (
                   SELECT 1 FROM round_participants x WHERE x.round_id = r.id
                   AND NOT EXISTS (SELECT 1 FROM nominations n WHERE n.proposal_id = p.id
                                   AND n.voter_id = x.user_id AND n.superseded_at IS NULL)
                   AND NOT EXISTS (SELECT 1 FROM preferences n WHERE n.proposal_id = p.id
                                   AND n.voter_id = x.user_id AND n.superseded_at IS NULL)
               ) AS nominated,
               p.stage IN ('reasons', 'change')
               OR p.stage = 'integrate' AND p.kind IN ('election', 'choice') AS to_propose
    ) AS s
    CROSS JOIN LATERAL (VALUES
        ('judge', s.unjudged),
        ('close', s.complete AND NOT s.unjudged),
        ('overdue', r.overdue_at IS NOT NULL AND NOT s.complete),
        ('open', s.reopen),
        ('reveal', s.nominated),
        ('propose', s.to_propose AND NOT s.unjudged AND p.kind = 'election'),
        ('propose_scenario', s.to_propose AND NOT s.unjudged AND p.kind = 'choice')
    ) AS k (kind, due)
    WHERE k.due
    UNION ALL
    -- The current charter of each of my spaces, if I have not signed it.
    SELECT 'sign', mine.space_id, '', NULL, ch.version::text, NULL, NULL, NULL
    FROM mine
    JOIN LATERAL (
        SELECT id, version FROM charters WHERE space_id = mine.space_id
        ORDER BY version DESC LIMIT 1
    ) ch ON true
    WHERE NOT EXISTS (SELECT 1 FROM charter_signatures sig
                      WHERE sig.charter_id = ch.id AND sig.user_id = $1)
    UNION ALL
    -- Meetings not over that I am invited to or run.
    SELECT CASE WHEN mt.facilitator_id = $1 THEN 'run' ELSE 'meeting' END, mt.space_id,
           mt.title, NULL, mt.id::text, mt.starts_at, NULL, NULL
    FROM meetings mt
    WHERE mt.state <> 'closed'
      AND mt.id IN (SELECT a.meeting_id FROM attendance a WHERE a.user_id = $1
                    UNION
                    SELECT f.id FROM meetings f WHERE f.facilitator_id = $1
                    AND f.state <> 'closed')
    UNION ALL
    -- Decisions in force of the spaces I facilitate whose review date comes within $2 (not
    -- the record of a review: decision_states.reviewable), unless their review is under way
    -- (its own steps show then).
    SELECT 'review', d.space_id, d.title, NULL, d.number, NULL, d.review_on, NULL
    FROM facilitated f
    JOIN decisions d ON d.space_id = f.space_id AND d.review_on <= $2
    JOIN decision_states st ON st.decision_id = d.id
    WHERE st.reviewable
      AND NOT EXISTS (SELECT 1 FROM proposals rp WHERE rp.review_of = d.id
                      AND rp.closed_at IS NULL AND rp.stage <> 'draft')
)
SELECT i.kind, s.slug AS space_slug, s.name AS space_name, i.title, i.proposal_id, i.ref,
       i.deadline, i.due_on, i.stage
FROM items i
JOIN spaces s ON s.id = i.space_id
WHERE i.space_id IN (SELECT space_id FROM mine)
ORDER BY coalesce(i.deadline, i.due_on::timestamptz) NULLS LAST,
         array_position($3::text[], i.kind), s.name, i.title, i.proposal_id, i.ref
LIMIT $4
"""

# Undated steps in this order (the process's own order, then the rest).
_KIND_ORDER = [
    "nominate", "ask", "answer", "questions", "judge", "close", "overdue", "reveal", "propose",
    "publish", "confirm", "open", "sign", "run", "meeting", "review",
]  # fmt: skip
REVIEW_NOTICE_DAYS = 14  # decisions show as due for review this many days before the date


def _waiting_href(kind: str, slug: str, proposal_id: int | None, ref: str | None) -> str:
    """The exact place where the step is taken."""
    if kind == "sign":
        return f"/s/{slug}/charter#sign"
    if kind in ("meeting", "run"):
        return f"/s/{slug}/meetings/{ref}"
    if kind == "review":
        return f"/s/{slug}/decisions/{ref}"
    return f"/s/{slug}/proposals/{proposal_id}#{_PROPOSAL_ANCHORS.get(kind, 'now-title')}"


async def awaiting(
    conn: Connection, user_id: int, *, today: date | None = None, limit: int = 50
) -> list[Awaiting]:
    """Every step that waits for this person across their spaces (see `Awaiting`), in one
    statement: dated ones first, soonest first (a round's deadline, a meeting's start, a
    review date), then the others in the process's order."""
    today = today or datetime.now(UTC).date()
    rows = await conn.fetch(
        _AWAITING, user_id, today + timedelta(days=REVIEW_NOTICE_DAYS), _KIND_ORDER, limit
    )
    return [
        Awaiting(
            kind=r["kind"],
            space_slug=r["space_slug"],
            space_name=r["space_name"],
            title=r["title"] or r["space_name"],
            href=_waiting_href(r["kind"], r["space_slug"], r["proposal_id"], r["ref"]),
            deadline=r["deadline"],
            due_on=r["due_on"],
            stage=r["stage"],
        )
        for r in rows
    ]


# --- the open round alone (consent/routes.py `round_fragment`: the proposal page's live part) --
#
# Added for the live fragment: what a re-fetch of the round needs and nothing more, in one
# statement. The round's object is built exactly as `_DETAIL` builds each round (same keys,
# same order, same conversions), and `answered` as `state_from_row` counts them, so that the
# fragment rendered from it has the same cache key as the proposal page's own.

_OPEN_ROUND = """
SELECT p.stage, p.proposer_id, p.version, p.revision,
       EXISTS (SELECT 1 FROM scenario_choices WHERE proposal_id = p.id) AS choice,
       CASE WHEN r.id IS NOT NULL AND r.closed_at IS NULL THEN :round END AS open_round,
       -- Who has answered the open round (rules.Round.answered): their positions and
       -- reactions; in a nominations round, whoever holds a current nomination (an election)
       -- or preference (a scenario choice), as `_STATE` reads them.
       CASE WHEN r.id IS NULL OR r.closed_at IS NOT NULL THEN '{}'::bigint[]
            WHEN r.kind = 'nominate' THEN
              CASE WHEN EXISTS (SELECT 1 FROM elections WHERE proposal_id = p.id) THEN
                (SELECT coalesce(array_agg(n.voter_id), '{}') FROM nominations n
                  WHERE n.proposal_id = p.id AND n.superseded_at IS NULL)
              ELSE
                (SELECT coalesce(array_agg(f.voter_id), '{}') FROM preferences f
                  WHERE f.proposal_id = p.id AND f.superseded_at IS NULL)
              END
            ELSE
              (SELECT coalesce(array_agg(x.user_id), '{}') FROM positions x
                WHERE x.round_id = r.id AND x.superseded_at IS NULL)
              || (SELECT coalesce(array_agg(x.author_id), '{}') FROM reactions x
                   WHERE x.round_id = r.id)
       END AS answered
FROM proposals p
-- The last round, open or not (Detail.open_round: the last one, if it is not closed).
LEFT JOIN LATERAL (SELECT * FROM rounds WHERE proposal_id = p.id ORDER BY id DESC LIMIT 1) r
       ON true
WHERE p.id = $1 AND p.space_id = $2
""".replace(":round", _ROUND)


@dataclass(frozen=True)
class OpenRound:
    """What the proposal page's live round needs: who may see the proposal (its stage and
    proposer), its revision, and its open round as `Detail.open_round` gives it, with who
    has answered it (sorted; empty without an open round)."""

    stage: Stage
    proposer_id: int
    version: int
    revision: int
    choice: bool  # a scenario choice (its rounds are named as a choice names them)
    open_round: dict[str, Any] | None
    answered: list[int]


async def open_round(conn: Connection, space_id: int, proposal_id: int) -> OpenRound | None:
    """The proposal's open round, scoped to its space (another space's id: None), in one
    statement; the caller checks who may see it (rules.may_view)."""
    row = await conn.fetchrow(_OPEN_ROUND, proposal_id, space_id)
    if row is None:
        return None
    found = row["open_round"]
    if found is not None:
        for key in ("participants", "positions", "reactions"):
            found[key] = found[key] or []
        for key in ("opened_at", "closed_at", "deadline"):
            found[key] = _timestamp(found[key])
    return OpenRound(
        stage=Stage(row["stage"]),
        proposer_id=row["proposer_id"],
        version=row["version"],
        revision=row["revision"],
        choice=row["choice"],
        open_round=found,
        answered=sorted(set(row["answered"] or ())),
    )
