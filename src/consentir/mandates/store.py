"""Roles and mandates in PostgreSQL (sql/migrations/0012_roles_mandates.sql).

Every change runs in the caller's transaction with its journal event. `grant` is how a
decision gives a seat: PostgreSQL refuses an overlap (exclusion constraints), and the
refusal is told in words, with the dates that would fit.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
import msgspec

from consentir import journal
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.mandates import rules
from consentir.mandates.rules import EndReason, Mandate, Term

ROLE_NOT_FOUND = N_("This role does not exist, or you cannot see it.")
MANDATE_NOT_FOUND = N_("This mandate does not exist, or you cannot see it.")


class RoleText(msgspec.Struct, frozen=True):
    name: str
    purpose: str
    domain: str
    accountabilities: list[str]
    seats: int
    term_months: int
    consecutive_terms: int | None = None
    eligibility: str = ""


class Role(msgspec.Struct, frozen=True):
    id: int
    space_id: int
    version: int
    preexisting: bool
    retired_on: date | None
    text: RoleText


_ROLE = """
SELECT r.id, r.space_id, r.version, r.preexisting, r.retired_on, v.name, v.purpose, v.domain,
       v.accountabilities, v.seats, v.term_months, v.consecutive_terms, v.eligibility
FROM roles r JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
"""


def _role(row: Any) -> Role:
    text = RoleText(
        row["name"], row["purpose"], row["domain"], list(row["accountabilities"]),
        row["seats"], row["term_months"], row["consecutive_terms"], row["eligibility"],
    )  # fmt: skip
    return Role(row["id"], row["space_id"], row["version"], row["preexisting"],
                row["retired_on"], text)  # fmt: skip


async def record_preexisting_role(
    conn: Connection, space_id: int, text: RoleText, *, actor_id: int
) -> int:
    """A role that existed before the instance, recorded by an administrator (marked so:
    no decision created it here)."""
    role_id: int = await conn.fetchval(
        "INSERT INTO roles (space_id, preexisting) VALUES ($1, true) RETURNING id", space_id
    )
    await _write_version(conn, role_id, 1, text, decision_id=None, actor_id=actor_id)
    await journal.append(
        conn, action="role.recorded", subject_type="role", subject_id=role_id,
        space_id=space_id, actor_id=actor_id, data={"name": text.name, "preexisting": True},
    )  # fmt: skip
    return role_id


async def _write_version(
    conn: Connection,
    role_id: int,
    number: int,
    text: RoleText,
    *,
    decision_id: int | None,
    actor_id: int | None,
) -> None:
    await conn.execute(
        """INSERT INTO role_versions (role_id, number, name, purpose, domain, accountabilities,
                                      seats, term_months, consecutive_terms, eligibility,
                                      decision_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        role_id, number, text.name, text.purpose, text.domain, text.accountabilities,
        text.seats, text.term_months, text.consecutive_terms, text.eligibility, decision_id,
        actor_id,
    )  # fmt: skip


_ADOPTED_ROLE = """
SELECT p.space_id, p.kind, p.role_id, p.proposer_id, v.role_text, d.id AS decision_id,
       d.number
FROM proposals p
JOIN decisions d ON d.proposal_id = p.id
JOIN proposal_versions v ON v.proposal_id = p.id AND v.number = d.version
WHERE p.id = $1
"""


async def adopt_role(conn: Connection, space_id: int, proposal_id: int) -> int | None:
    """After a decision is adopted, in its transaction: a proposal of kind "role" writes
    the role's new version (or the new role), linked to the decision. The role's id, or
    None for an ordinary proposal."""
    row = await conn.fetchrow(_ADOPTED_ROLE, proposal_id)
    if row is None or row["kind"] != "role" or row["space_id"] != space_id:
        return None
    text = msgspec.convert(row["role_text"], RoleText)
    role_id = row["role_id"]
    if role_id is None:
        role_id = await conn.fetchval(
            "INSERT INTO roles (space_id) VALUES ($1) RETURNING id", space_id
        )
        await conn.execute("UPDATE proposals SET role_id = $2 WHERE id = $1", proposal_id, role_id)
        number = 1
    else:
        number = await conn.fetchval(
            "UPDATE roles SET version = version + 1 WHERE id = $1 RETURNING version", role_id
        )
    await _write_version(conn, role_id, number, text, decision_id=row["decision_id"],
                         actor_id=row["proposer_id"])  # fmt: skip
    await journal.append(
        conn, action="role.adopted", subject_type="role", subject_id=role_id,
        space_id=space_id, actor_id=None,
        data={"name": text.name, "version": number, "decision": row["number"]},
    )  # fmt: skip
    return int(role_id)


async def roles(conn: Connection, space_id: int) -> list[Role]:
    rows = await conn.fetch(_ROLE + " WHERE r.space_id = $1 ORDER BY lower(v.name), r.id", space_id)
    return [_role(r) for r in rows]


async def role(conn: Connection, space_id: int, role_id: int) -> Role:
    row = await conn.fetchrow(_ROLE + " WHERE r.id = $1 AND r.space_id = $2", role_id, space_id)
    if row is None:
        raise DomainError("role_not_found", ROLE_NOT_FOUND, status=404)
    return _role(row)


# --- mandates ------------------------------------------------------------------------------


class Held(msgspec.Struct, frozen=True):
    """A mandate as pages show it."""

    id: int
    space_id: int
    space_slug: str
    space_name: str
    role_id: int
    role_name: str
    seat: int
    holder_id: int
    holder_name: str
    first: date
    after_last: date
    ended_on: date | None
    end_reason: EndReason | None
    decision_number: str

    @property
    def mandate(self) -> Mandate:
        return Mandate(self.id, self.holder_id, self.seat, Term(self.first, self.after_last),
                       self.ended_on)  # fmt: skip

    @property
    def term(self) -> Term:
        return self.mandate.term


_HELD = """
SELECT m.id, m.space_id, s.slug AS space_slug, s.name AS space_name, m.role_id,
       v.name AS role_name, m.seat, m.holder_id,
       u.name AS holder_name, lower(m.granted) AS first, upper(m.granted) AS after_last,
       m.ended_on, m.end_reason, d.number AS decision_number
FROM mandates m
JOIN roles r ON r.id = m.role_id
JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
JOIN users u ON u.id = m.holder_id
JOIN decisions d ON d.id = m.decision_id
JOIN spaces s ON s.id = m.space_id
"""


def _held(row: Any) -> Held:
    values = {key: row[key] for key in Held.__struct_fields__}
    reason = values["end_reason"]
    return Held(**{**values, "end_reason": EndReason(reason) if reason else None})


async def holders(conn: Connection, space_id: int, role_id: int) -> list[Held]:
    """Every mandate of the role, latest first (current, future and past)."""
    rows = await conn.fetch(
        _HELD + " WHERE m.space_id = $1 AND m.role_id = $2 ORDER BY lower(m.granted) DESC, m.id",
        space_id,
        role_id,
    )
    return [_held(r) for r in rows]


async def space_mandates(conn: Connection, space_id: int) -> list[Held]:
    """Every mandate of every role of the space, by role, seat, then latest first."""
    rows = await conn.fetch(
        _HELD + " WHERE m.space_id = $1 ORDER BY m.role_id, m.seat, lower(m.granted) DESC, m.id",
        space_id,
    )
    return [_held(r) for r in rows]


async def my_mandates(conn: Connection, user_id: int) -> list[Held]:
    rows = await conn.fetch(
        _HELD + " WHERE m.holder_id = $1 ORDER BY lower(m.granted) DESC, m.id", user_id
    )
    return [_held(r) for r in rows]


async def grant(
    conn: Connection,
    space_id: int,
    role_id: int,
    seat: int,
    holder_id: int,
    term: Term,
    *,
    decision_id: int,
    election_id: int | None = None,
    actor_id: int | None = None,
) -> int:
    """Give a seat for a term, by a decision. An overlap with another holder of the seat,
    or with another seat of the same person, is refused in words."""
    found = await role(conn, space_id, role_id)
    if not 1 <= seat <= found.text.seats:
        raise DomainError("no_such_seat", rules.NO_SUCH_SEAT, field="seat",
                          params={"seats": found.text.seats})  # fmt: skip
    try:
        async with conn.transaction():  # a savepoint: the refusal leaves the caller's intact
            mandate_id: int = await conn.fetchval(
                """INSERT INTO mandates (space_id, role_id, seat, holder_id, granted, term,
                                         decision_id, election_id)
                   VALUES ($1, $2, $3, $4, daterange($5, $6), daterange($5, $6), $7, $8)
                   RETURNING id""",
                space_id, role_id, seat, holder_id, term.first, term.after_last,
                decision_id, election_id,
            )  # fmt: skip
    except asyncpg.ExclusionViolationError as refused:
        by_holder = refused.constraint_name == "mandates_one_seat_per_person"
        refusal = await _overlap(conn, by_holder, role_id, seat, holder_id, term)
        assert refusal is not None, "PostgreSQL saw an overlap the rows do not show"
        raise refusal from None
    await journal.append(
        conn, action="mandate.granted", subject_type="mandate", subject_id=mandate_id,
        space_id=space_id, actor_id=actor_id,
        data={"role_id": role_id, "seat": seat, "holder_id": holder_id,
              "first": term.first.isoformat(), "last": term.last.isoformat(),
              "decision_id": decision_id},
    )  # fmt: skip
    return mandate_id


async def check_free(
    conn: Connection, role_id: int, seat: int, term: Term, holder_id: int | None = None
) -> None:
    """Refuse in words, before anything is written, a term on a seat held meanwhile (an
    election for a seat already filled for those dates), or for a person who holds another
    seat of the role then."""
    refusal = await _overlap(conn, False, role_id, seat, 0, term)
    if refusal is None and holder_id is not None:
        refusal = await _overlap(conn, True, role_id, seat, holder_id, term)
    if refusal is not None:
        raise refusal


async def _overlap(
    conn: Connection, by_holder: bool, role_id: int, seat: int, holder_id: int, term: Term
) -> DomainError | None:
    """The refusal in words: until when the seat (or the person) is taken, and the first day
    a new term could start; None if nothing overlaps."""
    rows = await conn.fetch(
        _HELD + " WHERE m.role_id = $1 AND " + ("m.holder_id = $2" if by_holder else "m.seat = $2")
        + " AND m.term && daterange($3, $4)",
        role_id, holder_id if by_holder else seat, term.first, term.after_last,
    )  # fmt: skip
    blocking = rules.conflict(term, [_held(r).mandate for r in rows])
    if blocking is None:
        return None
    last = blocking.term.last
    params: dict[str, Any] = {"last": last, "next": last + timedelta(days=1)}
    if by_holder:
        params["name"] = next(r["holder_name"] for r in rows if r["id"] == blocking.id)
        return DomainError("holder_has_seat", rules.HOLDER_TAKEN, field="holder", params=params,
                           status=409)  # fmt: skip
    return DomainError("seat_taken", rules.SEAT_TAKEN, field="first", params=params, status=409)


async def resign(
    conn: Connection, space_id: int, mandate_id: int, actor_id: int, last_day: date, today: date
) -> None:
    """The holder's own step: the mandate ends on `last_day`; the seat is free from the next."""
    row = await conn.fetchrow(
        _HELD + " WHERE m.id = $1 AND m.space_id = $2 FOR UPDATE OF m", mandate_id, space_id
    )
    if row is None:
        raise DomainError("mandate_not_found", MANDATE_NOT_FOUND, status=404)
    held = _held(row)
    ended = rules.resign(held.mandate, actor_id, last_day, today)
    await conn.execute(
        """UPDATE mandates SET ended_on = $2, end_reason = 'resigned',
                  term = granted * daterange(NULL, $2::date + 1)
           WHERE id = $1""",
        mandate_id,
        ended,
    )
    await journal.append(
        conn, action="mandate.resigned", subject_type="mandate", subject_id=mandate_id,
        space_id=space_id, actor_id=actor_id, data={"last_day": ended.isoformat()},
    )  # fmt: skip
