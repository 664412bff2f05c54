"""Rate limits counted in PostgreSQL, so they hold across every worker and instance.

Fixed windows: a key (e.g. `signin:account:ada@example.org`) has a counter per window;
`hit` adds one and says whether the limit is passed. Old windows are pruned lazily.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    def exceeded(self) -> bool:
        return self.hits > self.limit.max_hits


_HIT = """
INSERT INTO rate_limits AS r (key, window_start, hits)
VALUES ($1, to_timestamp(floor(extract(epoch FROM now()) / $2) * $2), 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = r.hits + 1
RETURNING hits, ceil(extract(epoch FROM r.window_start) + $2 - extract(epoch FROM now()))::int
"""

_PEEK = """
SELECT coalesce(max(hits), 0),
       coalesce(ceil(extract(epoch FROM max(window_start)) + $2
                     - extract(epoch FROM now())), 0)::int
FROM rate_limits
WHERE key = $1 AND window_start = to_timestamp(floor(extract(epoch FROM now()) / $2) * $2)
"""


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.name}:{subject.lower()}"


async def hit(conn: Connection, limit: Limit, subject: str) -> Count:
    """Count one more event for `subject`."""
    row = await conn.fetchrow(_HIT, _key(limit, subject), limit.window_seconds)
    assert row is not None
    return Count(row[0], limit, max(row[1], 1))


async def peek(conn: Connection, limit: Limit, subject: str) -> Count:
    """The current count, without adding to it."""
    row = await conn.fetchrow(_PEEK, _key(limit, subject), limit.window_seconds)
    assert row is not None
    return Count(row[0], limit, max(row[1], 1))


async def prune(conn: Connection, older_than_seconds: int = 86400) -> int:
    result = await conn.execute(
        "DELETE FROM rate_limits WHERE window_start < now() - make_interval(secs => $1)",
        older_than_seconds,
    )
    return int(result.split()[-1])
