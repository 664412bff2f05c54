"""Elections in PostgreSQL (sql/migrations/0014_elections.sql): the election's own rows
beside its proposal. Called from the consent store, in the step's transaction: an election
is described with its draft, its nominations are kept (a moved one stays on record), and
its adoption grants the mandate. This module does not import the consent store (which
imports it).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import msgspec

from consentir.db import Connection
from consentir.elections import wording
from consentir.elections.rules import term_limited
from consentir.errors import DomainError
from consentir.mandates import rules as mandate_rules
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term


class Described(msgspec.Struct, frozen=True):
    """What an election is about, as its draft describes it."""

    role_id: int
    seat: int
    term: Term


async def describe(
    conn: Connection, space_id: int, proposal_id: int, about: Described, *, nominee_last: bool
) -> None:
    """The election's row, for a new draft (its version 1 carries the proposed term). The
    role must be in force (a retired role gets no election), the seat must exist, and be
    free for the term: a refusal says until when it is held."""
    role = await mandates.role(conn, space_id, about.role_id)
    if role.retired_on is not None:
        raise DomainError("role_retired", mandate_rules.ROLE_RETIRED, status=409,
                          params={"day": role.retired_on})  # fmt: skip
    if not 1 <= about.seat <= role.text.seats:
        raise DomainError("no_such_seat", mandate_rules.NO_SUCH_SEAT, field="seat",
                          params={"seats": role.text.seats})  # fmt: skip
    await mandates.check_free(conn, about.role_id, about.seat, about.term)
    await conn.execute(
        """INSERT INTO elections (proposal_id, space_id, role_id, role_version, seat, nominee_last)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        proposal_id, space_id, about.role_id, role.version, about.seat, nominee_last,
    )  # fmt: skip
    await conn.execute(
        """UPDATE proposal_versions SET term = daterange($2, $3)
           WHERE proposal_id = $1 AND number = 1""",
        proposal_id, about.term.first, about.term.after_last,
    )  # fmt: skip


async def open_nominations(
    conn: Connection, proposal_id: int, eligible: frozenset[int]
) -> frozenset[int]:
    """Who may be nominated, fixed as the nominations open: those on the list, less anyone
    a new term would take past the role's limit of consecutive terms. Written on the
    election; returned for the rules."""
    row = await conn.fetchrow(
        """SELECT v.consecutive_terms, lower(pv.term) AS first
           FROM elections e
           JOIN roles r ON r.id = e.role_id
           JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
           JOIN proposal_versions pv ON pv.proposal_id = e.proposal_id AND pv.number = 1
           WHERE e.proposal_id = $1""",
        proposal_id,
    )
    assert row is not None
    limit, first = row["consecutive_terms"], row["first"]
    # Nobody holds two seats of one role at once: whoever holds another seat during the
    # term cannot be chosen for this one.
    seated = await conn.fetch(
        """SELECT m.holder_id FROM mandates m
           JOIN elections e ON e.role_id = m.role_id AND m.seat <> e.seat
           JOIN proposal_versions pv ON pv.proposal_id = e.proposal_id AND pv.number = 1
           WHERE e.proposal_id = $1 AND m.term && pv.term""",
        proposal_id,
    )
    nominable = set(eligible) - {r["holder_id"] for r in seated}
    if limit is not None:
        rows = await conn.fetch(
            """SELECT m.holder_id, lower(m.term) AS first, upper(m.term) AS after_last
               FROM mandates m JOIN elections e ON e.role_id = m.role_id
               WHERE e.proposal_id = $1 AND NOT isempty(m.term)
                 AND m.holder_id = ANY($2::bigint[])""",
            proposal_id,
            sorted(eligible),
        )
        terms: dict[int, list[tuple[int, int]]] = {}
        for r in rows:
            terms.setdefault(r["holder_id"], []).append(
                (r["first"].toordinal(), r["after_last"].toordinal())
            )
        nominable -= {who for who, held in terms.items()
                      if term_limited(held, first.toordinal(), limit)}  # fmt: skip
    await conn.execute(
        "UPDATE elections SET eligible = $2 WHERE proposal_id = $1", proposal_id, sorted(nominable)
    )
    return frozenset(nominable)


async def keep_nomination(
    conn: Connection,
    proposal_id: int,
    round_id: int | None,
    voter: int,
    nominee: int | None,
    reason: str,
    *,
    changed: bool,
) -> int:
    """A nomination (or a pass); the voter's previous one stays on record, superseded."""
    return await keep_ballot_entry(
        conn, "nominations", proposal_id, round_id, voter, nominee, reason, changed=changed
    )


# A ballot's entries: an election's nominations (of a person), a scenario choice's preferences
# (of a scenario, causes/choosing.py), with the column naming what is chosen.
_BALLOT_TABLES = {"nominations": "nominee_id", "preferences": "scenario_id"}


async def keep_ballot_entry(
    conn: Connection,
    table: Literal["nominations", "preferences"],
    proposal_id: int,
    round_id: int | None,
    voter: int,
    named: int | None,
    reason: str,
    *,
    changed: bool,
) -> int:
    """An entry of a ballot (`named`: None passes); the voter's previous one stays on record,
    superseded."""
    column = _BALLOT_TABLES[table]
    await conn.execute(
        f"""UPDATE {table} SET superseded_at = now()
            WHERE proposal_id = $1 AND voter_id = $2 AND superseded_at IS NULL""",  # noqa: S608
        proposal_id,
        voter,
    )
    entry_id: int = await conn.fetchval(
        f"""INSERT INTO {table} (proposal_id, round_id, voter_id, {column}, reason, changed)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",  # noqa: S608
        proposal_id, round_id, voter, named, reason, changed,
    )  # fmt: skip
    return entry_id


async def elected(conn: Connection, space_id: int, proposal_id: int, actor_id: int | None) -> int:
    """After the election's decision is written, in its transaction: the mandate it grants,
    to the person its adopted version proposed, for that version's term. An overlap (the
    seat taken meanwhile) is refused in words, and the whole step with it."""
    row = await conn.fetchrow(
        """SELECT e.role_id, e.seat, v.nominee_id, lower(v.term) AS first,
                  upper(v.term) AS after_last, d.id AS decision_id
           FROM elections e
           JOIN decisions d ON d.proposal_id = e.proposal_id
           JOIN proposal_versions v ON v.proposal_id = e.proposal_id AND v.number = d.version
           WHERE e.proposal_id = $1""",
        proposal_id,
    )
    assert row is not None and row["nominee_id"] is not None
    try:
        return await mandates.grant(
            conn, space_id, row["role_id"], row["seat"], row["nominee_id"],
            Term(row["first"], row["after_last"]), decision_id=row["decision_id"],
            election_id=proposal_id, actor_id=actor_id,
        )  # fmt: skip
    except DomainError as refused:
        # Taken meanwhile (another election, a record): said above the round's controls,
        # as this step has no date field; nothing of the adoption is written.
        raise DomainError(refused.code, refused.message, params=refused.params,
                          status=409) from None  # fmt: skip


async def check_proposal(
    conn: Connection, proposal_id: int, nominee: int, term: Term | None
) -> None:
    """Before a holder is proposed: the term (adjusted, or the one proposed so far) must be
    a term on the election's seat, free for those dates, and the person must hold no other
    seat of the role then; a refusal says so in words, next to the first day."""
    row = await conn.fetchrow(
        "SELECT role_id, seat FROM elections WHERE proposal_id = $1", proposal_id
    )
    assert row is not None
    term = term or await current_term(conn, proposal_id)
    try:
        await mandates.check_free(conn, row["role_id"], row["seat"], term, nominee)
    except DomainError as refused:
        field = "nominee" if refused.field == "holder" else refused.field
        raise DomainError(refused.code, refused.message, params=refused.params,
                          status=refused.status, field=field) from None  # fmt: skip


async def proposal_text(
    conn: Connection, proposal_id: int, nominee: int, term: Term | None, reasons: str
) -> str:
    """The text of the version that proposes `nominee` (elections/wording.py)."""
    row = await conn.fetchrow(
        """SELECT u.name, v.name AS role, e.seat, v.seats
           FROM elections e JOIN role_versions v
             ON v.role_id = e.role_id AND v.number = e.role_version
           JOIN users u ON u.id = $2
           WHERE e.proposal_id = $1""",
        proposal_id,
        nominee,
    )
    assert row is not None
    term = term or await current_term(conn, proposal_id)
    return wording.statement(row["name"], row["role"], row["seat"], row["seats"], term, reasons)


async def current_term(conn: Connection, proposal_id: int) -> Term:
    """The term the election's current version proposes."""
    row = await conn.fetchrow(
        """SELECT lower(v.term) AS first, upper(v.term) AS after_last
           FROM proposals p JOIN proposal_versions v
             ON v.proposal_id = p.id AND v.number = p.version
           WHERE p.id = $1""",
        proposal_id,
    )
    assert row is not None and row["first"] is not None
    return Term(row["first"], row["after_last"])


# --- reading: the election's part of the proposal page -------------------------------------


class Cast(msgspec.Struct, frozen=True):
    """A nomination as pages show it (a moved one too, superseded)."""

    id: int
    voter_id: int
    voter: str
    nominee_id: int | None
    nominee: str | None
    reason: str
    changed: bool
    current: bool


class Election(msgspec.Struct, frozen=True):
    proposal_id: int
    role_id: int
    role_name: str
    role_version: int
    seat: int
    seats: int
    nominee_last: bool
    show_tally: bool
    eligible: list[tuple[int, str]]  # (id, name), by name
    first: date  # the current version's term
    last: date
    nominee_id: int | None  # whom the current version proposes
    nominee: str | None
    nominations: list[Cast]  # every one, in order; who sees which: elections/rules.py


_ELECTION = """
SELECT e.proposal_id, e.role_id, rv.name AS role_name, e.role_version, e.seat,
       cur.seats, e.nominee_last, e.show_tally,
       (SELECT coalesce(json_agg(json_build_array(u.id, u.name) ORDER BY u.name, u.id), '[]')
          FROM users u WHERE u.id = ANY(e.eligible)) AS eligible,
       lower(v.term) AS first, upper(v.term) - 1 AS last, v.nominee_id, nu.name AS nominee,
       (SELECT coalesce(json_agg(json_build_object(
                 'id', n.id, 'voter_id', n.voter_id, 'voter', vu.name,
                 'nominee_id', n.nominee_id, 'nominee', xu.name, 'reason', n.reason,
                 'changed', n.changed, 'current', n.superseded_at IS NULL) ORDER BY n.id), '[]')
          FROM nominations n JOIN users vu ON vu.id = n.voter_id
          LEFT JOIN users xu ON xu.id = n.nominee_id
         WHERE n.proposal_id = e.proposal_id) AS nominations
FROM elections e
JOIN proposals p ON p.id = e.proposal_id
JOIN proposal_versions v ON v.proposal_id = p.id AND v.number = p.version
LEFT JOIN users nu ON nu.id = v.nominee_id
JOIN role_versions rv ON rv.role_id = e.role_id AND rv.number = e.role_version
JOIN roles r ON r.id = e.role_id
JOIN role_versions cur ON cur.role_id = r.id AND cur.number = r.version
WHERE e.proposal_id = $1
"""


def _election(row: Any) -> Election:
    values = {key: row[key] for key in Election.__struct_fields__}
    values["eligible"] = [(int(i), str(n)) for i, n in row["eligible"]]
    values["nominations"] = msgspec.convert(row["nominations"], list[Cast])
    return Election(**values)


async def election(conn: Connection, proposal_id: int) -> Election | None:
    row = await conn.fetchrow(_ELECTION, proposal_id)
    return _election(row) if row is not None else None


class UnderWay(msgspec.Struct, frozen=True):
    proposal_id: int
    title: str
    stage: str
    seat: int


async def under_way(conn: Connection, space_id: int, role_id: int) -> list[UnderWay]:
    """The role's elections not closed yet (drafts included: the page shows them to those
    who may see them)."""
    rows = await conn.fetch(
        """SELECT p.id AS proposal_id, p.title, p.stage, e.seat
           FROM elections e JOIN proposals p ON p.id = e.proposal_id
           WHERE e.space_id = $1 AND e.role_id = $2 AND p.closed_at IS NULL
           ORDER BY p.id""",
        space_id,
        role_id,
    )
    return [UnderWay(**dict(r)) for r in rows]
