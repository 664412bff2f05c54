"""Roles and mandates: PostgreSQL itself refuses overlapping terms on a seat and two seats of a
role for one person (whatever writes the row), accepts a successor who starts after; the
app explains a refusal in words; resignation is the holder's own step and frees the seat."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentir import db
from consentir.errors import DomainError
from consentir.mandates import rules, store
from consentir.mandates.rules import Mandate, Term
from consentir.spaces.store import Space
from consentir.web import i18n
from tests.scenario import Scenario, adopt_proposal

TREASURY = store.RoleText(
    name="Trésorerie", purpose="Tenir les comptes.", domain="Les dépenses sous 200 €.",
    accountabilities=["Tenir la caisse", "Présenter les comptes"], seats=2, term_months=12,
)  # fmt: skip
YEAR = Term(date(2026, 4, 1), date(2027, 4, 1))


async def setup(pool: asyncpg.Pool, alpha: Space, world: Scenario) -> tuple[int, int]:
    """A role of alpha (two seats) and a decision to grant with: (role id, decision id)."""
    number = await adopt_proposal(pool, world)
    async with db.transaction(pool) as conn:
        role_id = await store.record_preexisting_role(
            conn, alpha.id, TREASURY, actor_id=world.user_ids["admin"]
        )
    decision_id = await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number)
    return role_id, decision_id


async def grant(pool: asyncpg.Pool, alpha: Space, role_id: int, decision_id: int, seat: int,
                holder: int, term: Term) -> int:  # fmt: skip
    async with db.transaction(pool) as conn:
        return await store.grant(conn, alpha.id, role_id, seat, holder, term,
                                 decision_id=decision_id)  # fmt: skip


_RAW = """
INSERT INTO mandates (space_id, role_id, seat, holder_id, granted, term, decision_id)
VALUES ($1, $2, $3, $4, daterange($5, $6), daterange($5, $6), $7)
"""


async def test_postgresql_refuses_overlaps_itself_and_accepts_a_successor(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    member, target = world.user_ids["member"], world.user_ids["target"]
    raw = (alpha.id, role_id)
    await pool.execute(_RAW, *raw, 1, member, YEAR.first, YEAR.after_last, decision)
    # Another holder on the same seat, one day of overlap: refused by the database.
    with pytest.raises(asyncpg.ExclusionViolationError) as seat:
        await pool.execute(_RAW, *raw, 1, target, date(2027, 3, 31), date(2028, 4, 1), decision)
    assert seat.value.constraint_name == "mandates_one_holder_per_seat"
    # The same person on the other seat at the same time: refused.
    with pytest.raises(asyncpg.ExclusionViolationError) as person:
        await pool.execute(_RAW, *raw, 2, member, date(2026, 6, 1), date(2026, 7, 1), decision)
    assert person.value.constraint_name == "mandates_one_seat_per_person"
    # A seat the role does not have: refused.
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(_RAW, *raw, 3, target, YEAR.first, YEAR.after_last, decision)
    # A running term that is not the granted one, with no early end: refused.
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO mandates (space_id, role_id, seat, holder_id, granted, term, decision_id)"
            " VALUES ($1, $2, 2, $3, daterange($4, $5), daterange($4, $4 + 10), $6)",
            *raw, target, YEAR.first, YEAR.after_last, decision,
        )  # fmt: skip
    # A successor from the day after the last day, and the other seat: accepted.
    await pool.execute(_RAW, *raw, 1, target, YEAR.after_last, date(2028, 4, 1), decision)
    await pool.execute(_RAW, *raw, 2, world.user_ids["admin"], YEAR.first, YEAR.after_last,
                       decision)  # fmt: skip
    # A mandate always names its decision.
    with pytest.raises(asyncpg.NotNullViolationError):
        await pool.execute(_RAW, *raw, 2, target, date(2030, 1, 1), date(2031, 1, 1), None)


async def test_a_refused_overlap_is_told_in_words(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    member, target = world.user_ids["member"], world.user_ids["target"]
    await grant(pool, alpha, role_id, decision, 1, member, YEAR)
    with pytest.raises(DomainError) as seat:
        await grant(
            pool, alpha, role_id, decision, 1, target, Term(date(2026, 9, 1), date(2027, 9, 1))
        )
    assert seat.value.code == "seat_taken" and seat.value.status == 409
    with pytest.raises(DomainError) as person:
        await grant(
            pool, alpha, role_id, decision, 2, member, Term(date(2027, 1, 1), date(2028, 1, 1))
        )
    assert person.value.code == "holder_has_seat"
    token = i18n.current_locale.set("fr")
    try:
        said = i18n.domain_message(seat.value)
        assert said == (
            "Ce siège est occupé jusqu'au 31 mars 2027 ; un nouveau mandat peut commencer"
            " le 1er avril 2027."
        )
        assert i18n.domain_message(person.value).startswith("Member occupe déjà un siège")
    finally:
        i18n.current_locale.reset(token)
    with pytest.raises(DomainError) as no_seat:
        await grant(pool, alpha, role_id, decision, 3, target, YEAR)
    assert no_seat.value.code == "no_such_seat"
    # Nothing half-written: only the first mandate exists, and the journal says so.
    assert await pool.fetchval("SELECT count(*) FROM mandates") == 1
    assert await pool.fetchval("SELECT count(*) FROM journal WHERE action = 'mandate.granted'") == 1


async def test_resignation_is_the_holders_step_and_frees_the_seat(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    role_id, decision = await setup(pool, alpha, world)
    member, target = world.user_ids["member"], world.user_ids["target"]
    mandate = await grant(pool, alpha, role_id, decision, 1, member, YEAR)
    today = date(2026, 10, 1)
    async with db.transaction(pool) as conn:
        with pytest.raises(DomainError) as other:
            await store.resign(conn, alpha.id, mandate, target, date(2026, 12, 31), today)
    assert other.value.code == "not_holder"
    async with db.transaction(pool) as conn:
        with pytest.raises(DomainError) as past:
            await store.resign(conn, alpha.id, mandate, member, date(2026, 9, 1), today)
    assert past.value.code == "last_day_outside_term"
    async with db.transaction(pool) as conn:
        await store.resign(conn, alpha.id, mandate, member, date(2026, 12, 31), today)
    async with pool.acquire() as conn:
        [held] = await store.my_mandates(conn, member)
    assert held.term == Term(YEAR.first, date(2027, 1, 1)) and held.end_reason == "resigned"
    assert held.mandate.grants_rights_on(date(2026, 12, 31))
    assert not held.mandate.grants_rights_on(date(2027, 1, 1))
    # The seat is free from the next day.
    await grant(pool, alpha, role_id, decision, 1, target, Term(date(2027, 1, 1), date(2028, 1, 1)))
    async with db.transaction(pool) as conn:
        with pytest.raises(DomainError) as again:
            await store.resign(conn, alpha.id, mandate, member, date(2026, 12, 30), today)
    assert again.value.code == "mandate_ended"
    actions = await pool.fetch("SELECT action FROM journal WHERE subject_type = 'mandate'")
    assert [a["action"] for a in actions] == ["mandate.granted", "mandate.resigned",
                                              "mandate.granted"]  # fmt: skip


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@given(days, st.integers(1, 120), days, st.one_of(st.none(), days))
def test_a_term_is_its_months_and_a_successor_follows_it(
    first: date, months: int, today: date, ended: date | None
) -> None:
    """An election's default term (rules.default_term): after the seat's holder, never
    overlapping; for a seat left early, the rest of that term; never before today."""
    term = rules.term_of(first, months)
    assert term.first == first and term.after_last > first
    held = Mandate(1, 7, 1, term, ended if ended is None or ended >= first else None)
    following = rules.default_term([held], months, today)
    assert not following.overlaps(held.term) and not following.empty
    assert following.first >= today
    if held.ended_on is None and term.after_last > today:
        assert following.first == term.after_last
    elif held.ended_on is not None and held.term.after_last <= today < term.after_last:
        assert following == Term(today, term.after_last)  # the rest of the term
    assert rules.default_term([], months, today) == rules.term_of(today, months)


@given(days, st.integers(1, 60), days, days)
def test_an_early_end_never_lengthens_a_term(
    first: date, months: int, ended: date, day: date
) -> None:
    granted = rules.term_of(first, months)
    mandate = Mandate(1, 7, 1, granted, ended)
    term = mandate.term
    assert granted.first <= term.first and term.after_last <= granted.after_last
    if mandate.grants_rights_on(day):
        assert granted.covers(day) and day <= ended
    if term.empty:
        assert ended < granted.first


@given(days, days, days, days)
def test_conflict_finds_exactly_the_overlapping_terms(a: date, b: date, c: date, d: date) -> None:
    mine = Term(min(a, b), max(a, b) + timedelta(days=1))
    other = Mandate(2, 8, 1, Term(min(c, d), max(c, d) + timedelta(days=1)))
    found = rules.conflict(mine, [other])
    overlap = mine.first < other.term.after_last and other.term.first < mine.after_last
    assert (found is other) == overlap
