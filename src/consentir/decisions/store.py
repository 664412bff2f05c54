"""Decisions: created by adoption, numbered per space without gaps, kept in a register that
is searched in French, accent-insensitively, and paginated by keyset."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any, Protocol

import msgspec

from consentir import journal, keyset
from consentir.db import Connection
from consentir.decisions.search import query_text, search_text
from consentir.errors import N_, DomainError
from consentir.spaces.store import Space

NOT_FOUND = N_("This decision does not exist, or you cannot see it.")
PAGE = 50


class _Proposal(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...


def number_of(prefix: str, year: int, seq: int) -> str:
    """`CA-2026-014`: the space's prefix, the year, the sequence within the year."""
    return f"{prefix}-{year}-{seq:03d}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, day.day)


async def adopt(conn: Connection, space: Space, proposal: _Proposal, version: int) -> str:
    """Create the decision for `proposal` adopted in `version`; returns its number. The
    counter row for (space, year) is locked until commit, so concurrent adoptions take
    consecutive numbers and a rolled-back one gives its number back."""
    counter = await conn.fetchrow(
        """INSERT INTO decision_counters (space_id, year, last_seq)
           VALUES ($1, extract(year FROM now() AT TIME ZONE 'UTC'), 1)
           ON CONFLICT (space_id, year) DO UPDATE SET last_seq = decision_counters.last_seq + 1
           RETURNING last_seq, (now() AT TIME ZONE 'UTC')::date AS today""",
        space.id,
    )
    assert counter is not None
    seq, today = counter["last_seq"], counter["today"]
    # The adopted version's text, and its title: the decision's title.
    text = await conn.fetchrow(
        """SELECT title, driver, body FROM proposal_versions
           WHERE proposal_id = $1 AND number = $2""",
        proposal.id,
        version,
    )
    assert text is not None
    number = number_of(space.decision_prefix, today.year, seq)
    await conn.execute(
        """INSERT INTO decisions (space_id, proposal_id, version, year, seq, number, title,
                                  driver, body, review_on, search_text)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
        space.id,
        proposal.id,
        version,
        today.year,
        seq,
        number,
        text["title"],
        text["driver"],
        text["body"],
        add_months(today, space.review_delay_months),
        search_text(text["title"], text["driver"], text["body"]),
    )
    # What it supersedes, if still in force: one link each (a decision leaves force once; a
    # decision another one ended meanwhile, even concurrently, is left as it is).
    await conn.execute(
        """INSERT INTO decision_links (target_id, decision_id, space_id, kind)
           SELECT old.id, d.id, d.space_id, 'supersedes' FROM proposal_supersedes ps
           JOIN decisions d ON d.proposal_id = ps.proposal_id
           JOIN decisions old ON old.id = ps.decision_id AND old.space_id = d.space_id
           WHERE ps.proposal_id = $1
           ORDER BY old.id
           ON CONFLICT (target_id) DO NOTHING""",
        proposal.id,
    )
    return number


UNKNOWN_DECISIONS = N_("No decision in force here has the number %(numbers)s.")


async def set_superseded_by_proposal(
    conn: Connection, space_id: int, proposal_id: int, numbers: tuple[str, ...]
) -> None:
    """Record which decisions in force of this space the proposal will replace."""
    wanted = sorted({n.strip().upper() for n in numbers if n.strip()})
    rows = await conn.fetch(
        "SELECT d.id, d.number FROM decisions d"
        " JOIN decision_states st ON st.decision_id = d.id AND st.in_force"
        " WHERE d.space_id = $1 AND d.number = ANY($2::text[])",
        space_id,
        wanted,
    )
    unknown = sorted(set(wanted) - {r["number"] for r in rows})
    if unknown:
        raise DomainError(
            "unknown_decision", UNKNOWN_DECISIONS, status=422, field="supersedes",
            params={"numbers": ", ".join(unknown)},
        )  # fmt: skip
    await conn.execute("DELETE FROM proposal_supersedes WHERE proposal_id = $1", proposal_id)
    await conn.execute(
        "INSERT INTO proposal_supersedes (proposal_id, decision_id)"
        " SELECT $1, unnest($2::bigint[])",
        proposal_id,
        [r["id"] for r in rows],
    )


async def superseded_by_proposal(conn: Connection, proposal_id: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT d.number FROM proposal_supersedes ps JOIN decisions d ON d.id = ps.decision_id"
        " WHERE ps.proposal_id = $1 ORDER BY d.number",
        proposal_id,
    )
    return [r["number"] for r in rows]


class DecisionRow(msgspec.Struct, frozen=True):
    id: int
    number: str
    title: str
    proposal_id: int
    version: int
    adopted_at: datetime
    review_on: date
    status: str  # in_force | superseded | repealed: derived from the links (decision_states)
    reviewable: bool  # in force, and not the record of a review that confirmed or repealed
    body: str = ""
    driver: str = ""
    # The links, both ways (numbers), when asked for (`register(links=True)`).
    superseded_by: str | None = None
    repealed_by: str | None = None
    supersedes: list[str] = msgspec.field(default_factory=list)
    repeals: list[str] = msgspec.field(default_factory=list)


class Filters(msgspec.Struct, frozen=True):
    q: str = ""
    status: str = ""  # in_force | superseded | repealed | "" for all
    adopted_from: date | None = None
    adopted_to: date | None = None
    review_before: date | None = None
    among: tuple[int, ...] | None = None  # only these decisions (a role's, say); None: all


# The register's statement, built from these parts. Every shape shares the columns, the
# join with `decision_states` and the order; what differs is how its conditions let
# PostgreSQL plan it (asyncpg prepares each statement once per connection, and after five
# runs PostgreSQL may keep a generic plan, made without the values, for the later runs):
#
# - the register as it stands (no filter; a following page from its cursor): one plan is
#   right whatever the values, walking `decisions_register_idx` from the newest decision (or
#   from the cursor) to the page's end, and PostgreSQL keeps it rather than planning the
#   first page at each call (a following page's plan, the same walk, may still be made at
#   each call: with the cursor's value it looks a little cheaper).
# - filtered: the right plan depends on the values (how common a word is: walk the register
#   keeping the matches, or read the text index and sort the few found; how many decisions a
#   status, a date or a role keeps), so it must be made with them. Every filter is written
#   optional (`$n IS NULL OR …`), which leaves a plan made without the values no index for
#   them and no idea of what they keep: it scans the table. Beyond a few thousand decisions
#   that costs more than any plan made with the values (1 M decisions: 490 000 against
#   370 to 18 000) and PostgreSQL never keeps it; in a smaller register it may: a scan of a
#   small table. (tests/test_register_plans.py; bench/register_sql.py counts the plans.)
_REGISTER_COLUMNS = """
SELECT d.id, d.number, d.title, d.proposal_id, d.version, d.adopted_at, d.review_on, st.status,
       st.reviewable,
       CASE WHEN $2 THEN d.body ELSE '' END AS body,
       CASE WHEN $2 THEN d.driver ELSE '' END AS driver,
       -- With $3, the links both ways: who ended it, what it ended (numbers).
       CASE WHEN $3 THEN (SELECT b.number FROM decisions b WHERE b.id = st.superseded_by)
       END AS superseded_by,
       CASE WHEN $3 THEN (SELECT b.number FROM decisions b WHERE b.id = st.repealed_by)
       END AS repealed_by,
       CASE WHEN $3 THEN ARRAY(
           SELECT t.number FROM decision_links l JOIN decisions t ON t.id = l.target_id
           WHERE l.decision_id = d.id AND l.kind = 'supersedes' ORDER BY t.number)
       ELSE '{}' END AS supersedes,
       CASE WHEN $3 THEN ARRAY(
           SELECT t.number FROM decision_links l JOIN decisions t ON t.id = l.target_id
           WHERE l.decision_id = d.id AND l.kind = 'repeals' ORDER BY t.number)
       ELSE '{}' END AS repeals
FROM decisions d
JOIN decision_states st ON st.decision_id = d.id
WHERE d.space_id = $1"""

_REGISTER_FILTERS = """
  AND ($4 = '' OR d.search @@ plainto_tsquery('french', $4))
  -- (In words the planner reads: an anti-join for those in force, a join from the links
  -- for the others.)
  AND CASE $5 WHEN '' THEN true
              WHEN 'in_force' THEN st.in_force
              WHEN 'superseded' THEN st.ended_as = 'supersedes'
              WHEN 'repealed' THEN st.ended_as = 'repeals' END
  AND ($6::date IS NULL OR d.adopted_at >= $6::date)
  AND ($7::date IS NULL OR d.adopted_at < $7::date + 1)
  AND ($8::date IS NULL OR d.review_on < $8::date)
  AND ($9::bigint[] IS NULL OR d.id = ANY($9::bigint[]))"""

# After the cursor (the last row shown): the statement's last two arguments.
_REGISTER_AFTER = "\n  AND (d.adopted_at, d.id) < (${}, ${})"

_REGISTER_ORDER = "\nORDER BY d.adopted_at DESC, d.id DESC\nLIMIT {:d}"


@functools.cache
def _register_sql(filtered: bool, after: bool, limit: int) -> str:
    """The statement of one shape (a few texts in all, each prepared once per connection)."""
    sql, count = _REGISTER_COLUMNS, 3
    if filtered:
        sql, count = sql + _REGISTER_FILTERS, 9
    if after:
        sql += _REGISTER_AFTER.format(count + 1, count + 2)
    return sql + _REGISTER_ORDER.format(limit)


async def register(
    conn: Connection,
    space_id: int,
    filters: Filters,
    *,
    after: str | None = None,
    limit: int = PAGE,
    full_text: bool = False,
    links: bool = False,
) -> tuple[list[DecisionRow], str | None]:
    """A page of the register, newest first, and the cursor of the next page (if any);
    with `links`, each row's links to other decisions, both ways."""
    when, ident = keyset.decode(after)
    if limit < 1:
        raise ValueError(f"a register page holds at least one row, not {limit}")
    q = query_text(filters.q)
    args: list[Any] = [space_id, full_text, links]
    filtered = filters.among is not None or any(
        (q, filters.status, filters.adopted_from, filters.adopted_to, filters.review_before)
    )
    if filtered:
        args += [
            q,
            filters.status,
            filters.adopted_from,
            filters.adopted_to,
            filters.review_before,
            None if filters.among is None else list(filters.among),
        ]
    if when is not None:
        args += [when, ident]
    rows = await conn.fetch(_register_sql(filtered, when is not None, limit + 1), *args)
    page = [DecisionRow(**dict(r)) for r in rows[:limit]]
    following = keyset.encode(page[-1].adopted_at, page[-1].id) if len(rows) > limit else None
    return page, following


async def by_number(conn: Connection, space_id: int, number: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        """SELECT d.*, p.proposer_id, u.name AS proposer_name
           FROM decisions d JOIN proposals p ON p.id = d.proposal_id
           JOIN users u ON u.id = p.proposer_id
           WHERE d.space_id = $1 AND d.number = $2""",
        space_id,
        number,
    )
    if row is None:
        raise DomainError("decision_not_found", NOT_FOUND, status=404)
    return dict(row)


async def set_review_date(
    conn: Connection, space_id: int, number: str, review_on: date, actor_id: int
) -> None:
    decision_id = await conn.fetchval(
        "UPDATE decisions SET review_on = $3, review_announced_on = NULL"
        " WHERE space_id = $1 AND number = $2 RETURNING id",
        space_id,
        number,
        review_on,
    )
    if decision_id is None:
        raise DomainError("decision_not_found", NOT_FOUND, status=404)
    await journal.append(
        conn,
        action="decision.review_date_set",
        subject_type="decision",
        subject_id=decision_id,
        space_id=space_id,
        actor_id=actor_id,
        data={"number": number, "review_on": review_on.isoformat()},
    )
