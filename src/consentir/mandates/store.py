"""Roles and mandates in PostgreSQL (sql/migrations/0012_roles_mandates.sql).

Every change runs in the caller's transaction with its journal event. `grant` is how a
decision gives a seat: PostgreSQL refuses an overlap (exclusion constraints), and the
refusal is told in words, with the dates that would fit.

Retiring a role is a decision too: a proposal of kind "role" whose text says `retire`
(a change of an existing role). Its adoption (`adopt_role`) writes the role's version, marks
the role retired on the day of adoption, and ends every mandate of the role still running
after that day, on that day (one not begun yet ends before its first day): the holders keep
their seat through the day the decision is taken, as with a revocation's default, and each is
told. A retired role gets no new mandate (`grant`, and a trigger in PostgreSQL) and no
election (elections/store.py `describe`); its text no longer changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from consentir import journal
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.mandates import rules
from consentir.mandates.reminders import THRESHOLDS
from consentir.mandates.rules import EndReason, Mandate, Term
from consentir.notifications import store as notifications
from consentir.notifications.kinds import Kind, Notice
from consentir.web import i18n

ROLE_NOT_FOUND = N_("This role does not exist, or you cannot see it.")
MANDATE_NOT_FOUND = N_("This mandate does not exist, or you cannot see it.")
RETIRE_NEW_ROLE = N_("Only an existing role can be retired: this proposal creates one.")
RETIRED_MEANWHILE = N_(
    "The role was retired on %(day)s, by another decision, meanwhile: this proposal cannot be"
    " adopted; close it without consent."
)


def today() -> date:
    """The day in the instance's time zone: a term starts and ends on days there."""
    return datetime.now(i18n.display_zone).date()


class RoleText(msgspec.Struct, frozen=True):
    name: str
    purpose: str
    domain: str
    accountabilities: list[str]
    seats: int
    term_months: int
    consecutive_terms: int | None = None
    eligibility: str = ""
    # In a proposal that changes a role: its adoption retires the role (never true in the
    # role's own versions).
    retire: bool = False


class Role(msgspec.Struct, frozen=True):
    id: int
    space_id: int
    version: int
    preexisting: bool
    retired_on: date | None
    text: RoleText
    retired_by: str | None = None  # the number of the decision that retired it


_ROLE = """
SELECT r.id, r.space_id, r.version, r.preexisting, r.retired_on, v.name, v.purpose, v.domain,
       v.accountabilities, v.seats, v.term_months, v.consecutive_terms, v.eligibility,
       (SELECT d.number FROM decisions d WHERE d.id = r.retiring_decision_id) AS retired_by
FROM roles r JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
"""


def _role(row: Any) -> Role:
    text = RoleText(
        row["name"], row["purpose"], row["domain"], list(row["accountabilities"]),
        row["seats"], row["term_months"], row["consecutive_terms"], row["eligibility"],
    )  # fmt: skip
    return Role(row["id"], row["space_id"], row["version"], row["preexisting"],
                row["retired_on"], text, row["retired_by"])  # fmt: skip


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
    the role's new version (or the new role), linked to the decision; one that retires the
    role retires it (`_retire`). The role's id, or None for any other proposal. A role
    retired meanwhile is refused in words (409), and the whole step with it."""
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
        retired = await conn.fetchval(
            "SELECT retired_on FROM roles WHERE id = $1 FOR UPDATE", role_id
        )
        if retired is not None:
            raise DomainError("role_retired", RETIRED_MEANWHILE, status=409,
                              params={"day": retired})  # fmt: skip
        number = await conn.fetchval(
            "UPDATE roles SET version = version + 1 WHERE id = $1 RETURNING version", role_id
        )
    kept = msgspec.structs.replace(text, retire=False)  # (a role's version never retires)
    await _write_version(conn, role_id, number, kept, decision_id=row["decision_id"],
                         actor_id=row["proposer_id"])  # fmt: skip
    await journal.append(
        conn, action="role.adopted", subject_type="role", subject_id=role_id,
        space_id=space_id, actor_id=None,
        data={"name": text.name, "version": number, "decision": row["number"]},
    )  # fmt: skip
    if text.retire and number > 1:
        await _retire(conn, space_id, role_id, row["decision_id"], row["number"], today())
    return int(role_id)


async def check_role_proposal(
    conn: Connection, space_id: int, role_id: int | None, text: RoleText | None
) -> Role | None:
    """Before a proposal about a role is written: the role it changes is one of this space's
    (404 otherwise) and still in force (a retired role's text no longer changes: 409); only
    an existing role can be retired. The role changed, if any."""
    if role_id is None:
        if text is not None and text.retire:
            raise DomainError("retire_new_role", RETIRE_NEW_ROLE, field="retire")
        return None
    found = await role(conn, space_id, role_id)
    if found.retired_on is not None:
        raise DomainError("role_retired", rules.ROLE_RETIRED, status=409,
                          params={"day": found.retired_on})  # fmt: skip
    return found


async def _retire(
    conn: Connection, space_id: int, role_id: int, decision_id: int, number: str, day: date
) -> None:
    """The role is retired on `day` by the decision `number`: every mandate of it still
    running after that day ends on it, its holder told."""
    await conn.execute(
        "UPDATE roles SET retired_on = $2, retiring_decision_id = $3 WHERE id = $1",
        role_id, day, decision_id,
    )  # fmt: skip
    rows = await conn.fetch(_HELD + " WHERE m.role_id = $1 ORDER BY m.id FOR UPDATE OF m", role_id)
    ended = []
    for held in map(_held, rows):
        last = rules.retirement_day(held.mandate, day)
        if last is None:
            continue
        await end_mandate(conn, held, last, EndReason.ROLE_RETIRED)
        await journal.append(
            conn, action="mandate.role_retired", subject_type="mandate", subject_id=held.id,
            space_id=space_id, actor_id=None,
            data={"last_day": last.isoformat(), "decision": number,
                  "was": held.ended_on.isoformat() if held.ended_on else None},
        )  # fmt: skip
        ended.append((held, last))
    await journal.append(
        conn, action="role.retired", subject_type="role", subject_id=role_id,
        space_id=space_id, actor_id=None,
        data={"retired_on": day.isoformat(), "decision": number,
              "mandates": [held.id for held, _ in ended]},
    )  # fmt: skip
    await tell_holders(conn, ended, day)


async def end_mandate(
    conn: Connection,
    held: Held,
    last: date,
    reason: EndReason,
    revoking_decision_id: int | None = None,
) -> None:
    """The mandate's last day becomes `last` (its running term cut there: empty when that is
    before its first day); its seat is free from the next day."""
    await conn.execute(
        """UPDATE mandates SET ended_on = $2, end_reason = $3,
                  term = granted * daterange(NULL, $2::date + 1),
                  revoking_decision_id = coalesce($4, revoking_decision_id)
           WHERE id = $1""",
        held.id, last, reason.value, revoking_decision_id,
    )  # fmt: skip


async def tell_holders(conn: Connection, ended: Iterable[tuple[Held, date]], day: date) -> None:
    """Each holder of a mandate a decision ended is told its last day (the "your mandate
    ends on" notice), at once; the reminders that notice makes redundant are marked sent, so
    the term's reminder task does not say it again (mandates/reminders.py)."""
    for held, last in ended:
        about = notifications.About(space_id=held.space_id, link="/mandates",
                                    title=held.role_name)  # fmt: skip
        data = {"name": held.holder_name, "date": last.isoformat()}
        await notifications.record(conn, about, [
            Notice(Kind.TERM_ENDING, frozenset({held.holder_id}), anchor=f"mandate-{held.id}",
                   data=data),
        ])  # fmt: skip
        await conn.execute(
            """INSERT INTO mandate_reminders (mandate_id, days_before, last_day)
               SELECT $1, t, $2 FROM unnest($3::integer[]) AS t WHERE t >= $2::date - $4::date
               ON CONFLICT DO NOTHING""",
            held.id, last, list(THRESHOLDS), day,
        )  # fmt: skip


# The text a role proposal is read against: the role's current version, or once adopted the
# one its decision replaced (none for a new role).
_TEXT_BEFORE = """
SELECT p.role_id, v.name, v.purpose, v.domain, v.accountabilities, v.seats, v.term_months,
       v.consecutive_terms, v.eligibility
FROM proposals p
LEFT JOIN roles r ON r.id = p.role_id
LEFT JOIN role_versions v ON v.role_id = r.id AND v.number = coalesce(
    (SELECT w.number - 1 FROM role_versions w JOIN decisions d ON d.id = w.decision_id
      WHERE w.role_id = r.id AND d.proposal_id = p.id),
    r.version)
WHERE p.id = $1 AND p.space_id = $2 AND p.kind = 'role'
"""


async def text_before(
    conn: Connection, space_id: int, proposal_id: int
) -> tuple[int | None, RoleText | None] | None:
    """For a role proposal: the role it is about (None: a new one) and its text before the
    proposal; None for any other proposal."""
    row = await conn.fetchrow(_TEXT_BEFORE, proposal_id, space_id)
    if row is None:
        return None
    if row["name"] is None:
        return row["role_id"], None
    fields = {name: row[name] for name in RoleText.__struct_fields__ if name != "retire"}
    return row["role_id"], RoleText(
        **{**fields, "accountabilities": list(fields["accountabilities"])}
    )


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
    revoked_by: str | None = None  # the number of the decision that revoked it

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
       m.ended_on, m.end_reason, d.number AS decision_number,
       (SELECT rd.number FROM decisions rd WHERE rd.id = m.revoking_decision_id) AS revoked_by
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


async def held_mandate(
    conn: Connection, space_id: int, mandate_id: int, *, lock: bool = False
) -> Held:
    """The mandate `mandate_id` of the space (404 otherwise); with `lock`, its row stays
    locked until the transaction ends."""
    row = await conn.fetchrow(
        _HELD + " WHERE m.id = $1 AND m.space_id = $2" + (" FOR UPDATE OF m" if lock else ""),
        mandate_id,
        space_id,
    )
    if row is None:
        raise DomainError("mandate_not_found", MANDATE_NOT_FOUND, status=404)
    return _held(row)


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
    or with another seat of the same person, is refused in words; so is a retired role."""
    found = await role(conn, space_id, role_id)
    if found.retired_on is not None:
        raise DomainError("role_retired", rules.ROLE_RETIRED, status=409,
                          params={"day": found.retired_on})  # fmt: skip
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
