"""Rate limits counted in PostgreSQL, so they hold across every worker and instance.

Fixed windows: a key (e.g. `signin-account:ada@example.org`) has a counter per window.
Old windows are pruned lazily.

`take` reserves an attempt *before* the work it limits (checking a password, sending a
link): the counter is read and raised in one statement, under the row's lock, so a burst of
concurrent requests, on any number of workers, never gets more than the limit through. An
attempt that turns out not to count (a successful sign-in) is given back with `give_back`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from consentir.db import Connection


@dataclass(frozen=True)
class Limit:
    name: str
    max_hits: int
    window_seconds: int


@dataclass(frozen=True)
class Count:
    hits: int
    limit: Limit
    retry_after: int

    @property
    def reached(self) -> bool:
        return self.hits >= self.limit.max_hits


_PEEK = """
SELECT coalesce(max(hits), 0),
       coalesce(ceil(extract(epoch FROM max(window_start)) + $2
                     - extract(epoch FROM now())), 0)::int
FROM rate_limits
WHERE key = $1 AND window_start = to_timestamp(floor(extract(epoch FROM now()) / $2) * $2)
"""


# Adds one only while the counter is under the limit; no row back means the limit is reached.
# The row's lock makes concurrent takes wait for each other (the WHERE sees the latest count).
_TAKE = """
INSERT INTO rate_limits AS r (key, window_start, hits)
VALUES ($1, to_timestamp(floor(extract(epoch FROM now()) / $2) * $2), 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + 1 WHERE r.hits < $3
RETURNING hits, window_start,
          ceil(extract(epoch FROM r.window_start) + $2 - extract(epoch FROM now()))::int
"""

_GIVE_BACK = """
UPDATE rate_limits r SET hits = r.hits - 1
FROM unnest($1::text[], $2::timestamptz[]) AS s (key, window_start)
WHERE r.key = s.key AND r.window_start = s.window_start AND r.hits > 0
"""


@dataclass(frozen=True)
class Reservation:
    """The outcome of `take`: granted, with each counter's new count; or refused, with the
    count that refused it (`retry_after` says when its window ends)."""

    granted: bool
    counts: tuple[Count, ...]
    slots: tuple[tuple[str, datetime], ...] = field(default=())

    @property
    def retry_after(self) -> int:
        return max(c.retry_after for c in self.counts)

    @property
    def last_allowed(self) -> bool:
        """This attempt used the last of some budget: the next one will be refused."""
        return self.granted and any(c.hits == c.limit.max_hits for c in self.counts)


class _Refused(Exception):
    def __init__(self, limit: Limit, subject: str) -> None:
        self.limit, self.subject = limit, subject


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.name}:{subject.lower()}"


async def peek(conn: Connection, limit: Limit, subject: str) -> Count:
    """The current count, without adding to it."""
    row = await conn.fetchrow(_PEEK, _key(limit, subject), limit.window_seconds)
    assert row is not None
    return Count(row[0], limit, max(row[1], 1))


async def take(conn: Connection, *wanted: tuple[Limit, str]) -> Reservation:
    """Reserve one attempt under every (limit, subject) at once, or none if any is used up.

    Runs in a savepoint of the caller's transaction (or a transaction of its own): a refusal
    undoes the counters already raised. Commit soon after: until then concurrent attempts on
    the same keys wait. Keys are always taken in the order given, so callers that list them
    in a fixed order (account, then address) cannot deadlock each other."""
    counts: list[Count] = []
    slots: list[tuple[str, datetime]] = []
    try:
        async with conn.transaction():
            for limit, subject in wanted:
                key = _key(limit, subject)
                row = await conn.fetchrow(_TAKE, key, limit.window_seconds, limit.max_hits)
                if row is None:
                    raise _Refused(limit, subject)
                counts.append(Count(row[0], limit, max(row[2], 1)))
                slots.append((key, row[1]))
    except _Refused as refused:
        return Reservation(False, (await peek(conn, refused.limit, refused.subject),))
    return Reservation(True, tuple(counts), tuple(slots))


async def give_back(conn: Connection, reservation: Reservation) -> None:
    """Return a granted attempt to its counters (in the windows it was taken from)."""
    if reservation.granted and reservation.slots:
        keys, windows = zip(*reservation.slots, strict=True)
        await conn.execute(_GIVE_BACK, list(keys), list(windows))


async def prune(conn: Connection, older_than_seconds: int = 86400) -> int:
    result = await conn.execute(
        "DELETE FROM rate_limits WHERE window_start < now() - make_interval(secs => $1)",
        older_than_seconds,
    )
    return int(result.split()[-1])
