"""Reminders before a term ends: 60, 30 and 7 days before a mandate's last day, the holder and
the space's facilitators and administrators are told, once per mandate and threshold, in the
order 60 → 30 → 7, only the most urgent after an outage, never after the end, never for a
mandate that has not begun or has ended; and the notices read well in the list and in
emails, in the reader's language."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import asyncpg
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from consentir import db
from consentir.mandates import reminders, store
from consentir.mandates.reminders import THRESHOLDS, due
from consentir.mandates.rules import Mandate, Term
from consentir.notifications import mailer
from consentir.notifications.kinds import FOR_ME, Kind
from consentir.spaces.store import Space
from consentir.web import i18n
from consentir.web.templates import environment
from tests.helpers import TEST_SECRET
from tests.scenario import Scenario, adopt_proposal
from tests.web import Client, act_as

DAY = timedelta(days=1)
PEOPLE = ("outsider", "unsigned", "member", "facilitator", "admin", "target")


def days(first: date, last: date) -> list[date]:
    return [first + n * DAY for n in range((last - first).days + 1)]


def simulate(
    term: Term, running: Iterable[date], thresholds: Iterable[int] = THRESHOLDS
) -> list[tuple[date, int]]:
    """The reminders sent, day by day, by a service running on the days `running`."""
    chosen = tuple(thresholds)
    sent: list[tuple[date, int]] = []
    for day in running:
        reminder = due(term, day, [t for _, t in sent], chosen)
        if reminder is not None:
            sent.append((day, reminder))
    return sent


# --- the rule ---------------------------------------------------------------------------------

YEAR = Term(date(2026, 4, 1), date(2027, 4, 1))  # last day: 31 March 2027
LAST = YEAR.last


def test_each_threshold_falls_on_its_day_before_the_last_day() -> None:
    daily = simulate(YEAR, days(YEAR.first - 10 * DAY, YEAR.after_last + 10 * DAY))
    assert daily == [(LAST - 60 * DAY, 60), (LAST - 30 * DAY, 30), (LAST - 7 * DAY, 7)]
    assert due(YEAR, LAST - 61 * DAY, []) is None  # not yet
    assert due(YEAR, LAST - 60 * DAY, [60]) is None  # once


def test_after_an_outage_only_the_most_urgent_goes_out() -> None:
    # Down on the 60-day date, back before the 30-day one: the 60-day reminder, once.
    assert simulate(YEAR, [LAST - 45 * DAY, LAST - 40 * DAY]) == [(LAST - 45 * DAY, 60)]
    # Down from before the 60-day date until after the 30-day one: the 30-day one alone.
    back = days(LAST - 20 * DAY, LAST + 5 * DAY)
    assert simulate(YEAR, [LAST - 70 * DAY, *back]) == [(LAST - 20 * DAY, 30),
                                                         (LAST - 7 * DAY, 7)]  # fmt: skip
    # Back on the last day: the 7-day one alone; the day after, nothing.
    assert simulate(YEAR, [LAST, LAST + DAY]) == [(LAST, 7)]
    # A 30-day reminder sent: the 60-day one never comes after it.
    assert due(YEAR, LAST - 25 * DAY, [30]) is None


def test_a_mandate_not_begun_or_ended_gets_none_and_an_early_end_counts() -> None:
    assert due(YEAR, YEAR.first - DAY, []) is None  # a successor not begun
    assert due(YEAR, YEAR.after_last, []) is None  # ended at its term
    # Resigned: its last day is 10 April 2026; the granted end is a year away.
    resigned = Mandate(1, 7, 1, YEAR, ended_on=date(2026, 4, 10))
    assert due(resigned.term, date(2026, 4, 2), []) == 30  # counted by the running term
    assert due(resigned.term, date(2026, 4, 3), []) == 7
    assert due(resigned.term, date(2026, 4, 11), []) is None  # ended
    # Withdrawn before it began: an empty term, nothing ever.
    withdrawn = Mandate(2, 7, 1, YEAR, ended_on=YEAR.first - DAY)
    assert withdrawn.term.empty
    assert simulate(withdrawn.term, days(YEAR.first - 90 * DAY, YEAR.after_last)) == []


terms = st.builds(
    lambda first, length: Term(first, first + length * DAY),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
    st.integers(min_value=1, max_value=800),
)
# Outages: (first day off, counted from 100 days before the term; how many days).
outages = st.lists(
    st.tuples(st.integers(min_value=0, max_value=1000), st.integers(min_value=1, max_value=200)),
    max_size=4,
)
threshold_sets = st.one_of(
    st.just(THRESHOLDS),
    st.sets(st.integers(min_value=0, max_value=120), min_size=1, max_size=5).map(tuple),
)


@given(term=terms, down=outages, thresholds=threshold_sets)
@example(term=YEAR, down=[(100 + 300, 50)], thresholds=THRESHOLDS)
def test_any_term_any_outage_each_reminder_once_in_order_and_none_after_the_end(
    term: Term, down: list[tuple[int, int]], thresholds: tuple[int, ...]
) -> None:
    start = term.first - 100 * DAY
    off = {start + (begin + n) * DAY for begin, length in down for n in range(length)}
    running = [d for d in days(start, term.after_last + 30 * DAY) if d not in off]
    sent = simulate(term, running, thresholds)
    values = [t for _, t in sent]
    # At most once each, the larger first (60 → 30 → 7), on different days.
    assert len(set(values)) == len(values)
    assert values == sorted(values, reverse=True)
    assert [d for d, _ in sent] == sorted({d for d, _ in sent})
    for day, reminder in sent:
        # Within the term, and the most urgent threshold its last day is within.
        assert term.covers(day)
        left = (term.last - day).days
        assert reminder == min(t for t in thresholds if t >= left)
    # Nothing due is left unsent on a day the service ran.
    for day in running:
        before = [t for d, t in sent if d <= day]
        assert due(term, day, before, thresholds) is None
    # Running every day: each threshold on its own day, or on the first day for those the
    # term is too short for (the most urgent of them only).
    daily = simulate(term, days(start, term.after_last + DAY), thresholds)
    length_left = (term.last - term.first).days
    late = [t for t in thresholds if t >= length_left]
    expected = [(term.first, min(late))] if late else []
    expected += [(term.last - t * DAY, t) for t in sorted(thresholds, reverse=True)
                 if t < length_left]  # fmt: skip
    assert daily == expected


# --- the task, on the database --------------------------------------------------------------

TREASURY = store.RoleText(
    name="Trésorerie", purpose="Tenir les comptes.", domain="", accountabilities=[], seats=2,
    term_months=12,
)  # fmt: skip
SECRETARY = store.RoleText(
    name="Secrétariat", purpose="Tenir les registres.", domain="", accountabilities=[], seats=1,
    term_months=12,
)  # fmt: skip
X = date(2040, 4, 2)  # the tests' "today", far from the real one (the app's loop sees nothing)
END = date(2040, 6, 1)  # X + 60 days: a member's last day


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=i18n.display_zone)


async def run(pool: asyncpg.Pool, day: date) -> int:
    return await reminders.send_due(pool, now=noon(day))


async def decision(pool: asyncpg.Pool, world: Scenario) -> int:
    number = await adopt_proposal(pool, world)
    await pool.execute("UPDATE notifications SET emailed_at = now()")  # the adoption's own
    return int(await pool.fetchval("SELECT id FROM decisions WHERE number = $1", number))


async def role(pool: asyncpg.Pool, alpha: Space, world: Scenario, text: store.RoleText) -> int:
    async with db.transaction(pool) as conn:
        return await store.record_preexisting_role(
            conn, alpha.id, text, actor_id=world.user_ids["admin"]
        )


async def grant(pool: asyncpg.Pool, alpha: Space, role_id: int, seat: int, holder: int,
                term: Term, decision_id: int) -> int:  # fmt: skip
    async with db.transaction(pool) as conn:
        return await store.grant(conn, alpha.id, role_id, seat, holder, term,
                                 decision_id=decision_id)  # fmt: skip


async def told(pool: asyncpg.Pool, world: Scenario) -> list[tuple[str, str, str, str]]:
    """Every reminder notification: (who, kind, threshold, last day), sorted, duplicates kept."""
    rows = await pool.fetch(
        "SELECT user_id, kind, data->>'days' AS days, data->>'date' AS day FROM notifications"
        " WHERE kind = ANY($1::text[])",
        [Kind.TERM_ENDING.value, Kind.ROLE_TERM_ENDING.value],
    )
    names = {world.user_ids[p]: p for p in PEOPLE}
    return sorted((names[r["user_id"]], r["kind"], r["days"], r["day"]) for r in rows)


def expected(holder: str, others: Iterable[str], days_: str, last: date) -> list[tuple[str, ...]]:
    return sorted([(holder, "term_ending", days_, last.isoformat())]
                  + [(o, "role_term_ending", days_, last.isoformat()) for o in others])  # fmt: skip


async def test_the_holder_and_the_facilitators_are_told_once_per_threshold(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    decision_id = await decision(pool, world)
    role_id = await role(pool, alpha, world, TREASURY)
    mandate = await grant(pool, alpha, role_id, 1, world.user_ids["member"],
                          Term(END - 300 * DAY, END + DAY), decision_id)  # fmt: skip
    assert await run(pool, X - DAY) == 0  # 61 days before: nothing yet
    # 60 days before the last day: the holder, and the facilitator and the administrator;
    # not the plain member, the member who has not signed the charter, nor the outsider.
    assert await run(pool, X) == 3
    sixty = expected("member", ("facilitator", "admin"), "60", END)
    assert await told(pool, world) == sixty
    rows = await pool.fetch(
        "SELECT kind, for_me, link, title, data FROM notifications WHERE kind = ANY($1::text[])"
        " ORDER BY kind",
        [Kind.TERM_ENDING.value, Kind.ROLE_TERM_ENDING.value],
    )
    mine = next(r for r in rows if r["kind"] == "term_ending")
    assert mine["for_me"] and mine["link"] == f"/mandates#mandate-{mandate}"
    assert mine["title"] == "Trésorerie" and mine["data"]["name"] == "Member"
    others = [r for r in rows if r["kind"] == "role_term_ending"]
    assert all(not r["for_me"] for r in others)  # news for the facilitators
    assert {r["link"] for r in others} == {f"/s/alpha/roles/{role_id}#holders"}
    # Run again, the same day, the next one, or by two workers at once: nothing more.
    assert await run(pool, X) == 0
    assert await asyncio.gather(run(pool, X + DAY), run(pool, X + DAY)) == [0, 0]
    assert await told(pool, world) == sixty
    # 30 days, then 7 days before; after the last day, nothing.
    assert await run(pool, END - 30 * DAY) == 3
    assert await run(pool, END - 7 * DAY) == 3
    for day in (END - 6 * DAY, END, END + DAY, END + 60 * DAY):
        assert await run(pool, day) == 0
    assert await told(pool, world) == sorted(
        sixty
        + expected("member", ("facilitator", "admin"), "30", END)
        + expected("member", ("facilitator", "admin"), "7", END)
    )
    sent = await pool.fetch(
        "SELECT days_before, last_day FROM mandate_reminders WHERE mandate_id = $1"
        " ORDER BY sent_at, days_before DESC",
        mandate,
    )
    assert [(r["days_before"], r["last_day"]) for r in sent] == [(60, END), (30, END), (7, END)]
    # The database itself refuses a second reminder of one threshold.
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(
            "INSERT INTO mandate_reminders (mandate_id, days_before, last_day) VALUES ($1, 30, $2)",
            mandate,
            END,
        )


async def test_the_task_follows_the_rule_day_by_day_through_an_outage(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    decision_id = await decision(pool, world)
    role_id = await role(pool, alpha, world, TREASURY)
    # A 45-day term (shorter than the first threshold), a successor after it.
    short = Term(X, X + 45 * DAY)
    after = Term(short.after_last, short.after_last + 100 * DAY)
    first = await grant(pool, alpha, role_id, 1, world.user_ids["member"], short, decision_id)
    second = await grant(pool, alpha, role_id, 1, world.user_ids["target"], after, decision_id)
    # Down from 12 to 40 days after X; otherwise every day, up to after both terms.
    running = [d for d in days(X - 10 * DAY, after.after_last + 5 * DAY)
               if not X + 12 * DAY <= d <= X + 40 * DAY]  # fmt: skip
    for day in running:
        await run(pool, day)
    for mandate, term in ((first, short), (second, after)):
        rows = await pool.fetch(
            "SELECT days_before, sent_at FROM mandate_reminders WHERE mandate_id = $1"
            " ORDER BY sent_at",
            mandate,
        )
        assert [r["days_before"] for r in rows] == [t for _, t in simulate(term, running)]
    assert [t for _, t in simulate(short, running)] == [60, 7]  # 30 fell in the outage
    assert [t for _, t in simulate(after, running)] == [60, 30, 7]
    # Each once: the holder and the two facilitators each time.
    assert len(await told(pool, world)) == 5 * 3


async def test_a_resigned_mandate_or_one_not_begun_gets_none_an_early_end_its_new_day(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    decision_id = await decision(pool, world)
    treasury = await role(pool, alpha, world, TREASURY)
    member, target = world.user_ids["member"], world.user_ids["target"]
    granted = Term(X - 200 * DAY, X + 20 * DAY)  # its granted end would call for 30 days
    gone = await grant(pool, alpha, treasury, 1, member, granted, decision_id)
    leaving = await grant(pool, alpha, treasury, 2, target, granted, decision_id)
    async with db.transaction(pool) as conn:
        # `member` resigned the day before, their last day that same day.
        await store.resign(conn, alpha.id, gone, member, X - DAY, X - DAY)
        # `target` resigns today, their last day in 10 days.
        await store.resign(conn, alpha.id, leaving, target, X + 10 * DAY, X)
    # The facilitator is chosen for seat 1 for five days from X + 5: not begun today (and
    # ending before `target`, so that a wrong pick would hold the task up before theirs).
    successor = await grant(pool, alpha, treasury, 1, world.user_ids["facilitator"],
                            Term(X + 5 * DAY, X + 10 * DAY), decision_id)  # fmt: skip
    assert await run(pool, X) == 3
    # Only `target`, of their new last day; `member`'s mandate has ended.
    assert await told(pool, world) == expected("target", ("facilitator", "admin"), "30",
                                               X + 10 * DAY)  # fmt: skip
    assert not await pool.fetchval(
        "SELECT count(*) FROM mandate_reminders WHERE mandate_id = ANY($1::bigint[])",
        [gone, successor],
    )
    assert await run(pool, X + DAY) == 0


async def test_several_workers_send_each_reminder_once_and_a_holder_hears_it_once(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    decision_id = await decision(pool, world)
    treasury = await role(pool, alpha, world, TREASURY)
    secretary = await role(pool, alpha, world, SECRETARY)
    term = Term(END - 300 * DAY, END + DAY)
    await grant(pool, alpha, treasury, 1, world.user_ids["member"], term, decision_id)
    await grant(pool, alpha, treasury, 2, world.user_ids["target"], term, decision_id)
    # A facilitator who holds a seat: their own reminder, not also the facilitators' one.
    await grant(pool, alpha, secretary, 1, world.user_ids["facilitator"], term, decision_id)
    results = await asyncio.gather(*(run(pool, X) for _ in range(4)))
    assert sum(results) == 3 + 3 + 2
    assert await pool.fetchval("SELECT count(*) FROM mandate_reminders") == 3
    assert await told(pool, world) == sorted(
        expected("member", ("facilitator", "admin"), "60", END)
        + expected("target", ("facilitator", "admin"), "60", END)
        + expected("facilitator", ("admin",), "60", END)
    )


def test_the_holders_reminder_waits_for_them_the_facilitators_is_news() -> None:
    assert Kind.TERM_ENDING in FOR_ME
    assert Kind.ROLE_TERM_ENDING not in FOR_ME


# --- how it reads ----------------------------------------------------------------------------


async def test_the_reminders_read_in_the_list_and_in_emails_in_the_readers_language(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, scenario_client: Client
) -> None:
    decision_id = await decision(pool, world)
    treasury = await role(pool, alpha, world, TREASURY)
    await grant(pool, alpha, treasury, 1, world.user_ids["member"],
                Term(END - 300 * DAY, END + DAY), decision_id)  # fmt: skip
    await pool.execute("UPDATE users SET locale = 'en' WHERE id = $1", world.user_ids["admin"])
    assert await run(pool, X) == 3

    act_as(scenario_client, world, "member")
    listing = await scenario_client.get("/notifications")
    assert listing.status_code == 200
    assert "Votre mandat au rôle « Trésorerie » prend fin le 1er juin 2040." in listing.text
    act_as(scenario_client, world, "facilitator")
    listing = await scenario_client.get("/notifications")
    assert "Le mandat de Member au rôle « Trésorerie » prend fin le 1er juin 2040." in listing.text
    nid = await pool.fetchval(
        "SELECT id FROM notifications WHERE user_id = $1 AND kind = 'role_term_ending'",
        world.user_ids["facilitator"],
    )
    assert f'action="/notifications/{nid}/open"' in listing.text

    # Email: at once for the holder, in the daily digest for the others.
    later = datetime.now(i18n.display_zone) + timedelta(days=1, hours=1)
    await mailer.send_due(pool, environment(), "http://consentir.test", TEST_SECRET, now=later)
    body = await pool.fetchval(
        "SELECT body_text FROM outbox WHERE recipient = $1", world.email("member")
    )
    assert "- Votre mandat au rôle « Trésorerie » prend fin le 1er juin 2040." in body
    assert "http://consentir.test/mandates#mandate-" in body
    body = await pool.fetchval(
        "SELECT body_text FROM outbox WHERE recipient = $1", world.email("admin")
    )
    assert "- Member's mandate as Trésorerie ends on June 1, 2040." in body
    assert f"http://consentir.test/s/alpha/roles/{treasury}#holders" in body
    assert not await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE recipient = $1", world.email("target")
    )


async def test_a_seat_nobody_holds_shows_as_vacant_on_the_role_page(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, scenario_client: Client
) -> None:
    decision_id = await decision(pool, world)
    treasury = await role(pool, alpha, world, TREASURY)
    today = datetime.now(i18n.display_zone).date()
    await grant(pool, alpha, treasury, 1, world.user_ids["member"],
                Term(today - 10 * DAY, today + 200 * DAY), decision_id)  # fmt: skip
    act_as(scenario_client, world, "member")
    page = await scenario_client.get(f"/s/alpha/roles/{treasury}")
    assert page.status_code == 200
    holders = page.text.split('id="holders"')[1].split("</section>")[0]
    assert "Member" in holders
    assert holders.count(">vacant<") == 1  # seat 2
