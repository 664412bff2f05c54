"""Idempotency keys: a write sent twice (double click, a client's retry) happens once.

The key is claimed inside the action's own transaction: a second request with the same key
waits for the first to commit, then finds the key taken and replays the first answer. The
same key with a different request is refused (422), as the IETF draft on the header asks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from litestar import Response

from consentir.db import Connection
from consentir.errors import N_, DomainError

KEY_REUSED = N_("This idempotency key was already used for a different request.")
MAX_KEY = 200


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes
    location: str | None

    def response(self) -> Response[bytes]:
        headers = {"idempotent-replayed": "true"}
        if self.location:
            headers["location"] = self.location
        return Response(
            self.body, status_code=self.status, media_type="application/json", headers=headers
        )


def fingerprint(method: str, target: str, body: bytes) -> bytes:
    return hashlib.sha256(b"\0".join((method.encode(), target.encode(), body))).digest()


async def claim(conn: Connection, user_id: int, key: str, request: bytes) -> Replay | None:
    """None: the key is this request's, go on (and `record` the answer). A Replay: it was
    done before; answer as then."""
    if not key or len(key) > MAX_KEY:
        raise DomainError(
            "bad_idempotency_key",
            N_("An idempotency key has 1 to 200 characters."),
            status=400,
            field="idempotency_key",
        )
    claimed = await conn.fetchval(
        """INSERT INTO idempotency_keys (user_id, key, request, status, body)
           VALUES ($1, $2, $3, 0, '') ON CONFLICT DO NOTHING RETURNING true""",
        user_id,
        key,
        request,
    )
    if claimed:
        return None
    row = await conn.fetchrow(
        "SELECT request, status, body, location FROM idempotency_keys"
        " WHERE user_id = $1 AND key = $2",
        user_id,
        key,
    )
    assert row is not None
    if row["request"] != request:
        raise DomainError("idempotency_key_reused", KEY_REUSED, status=422)
    return Replay(row["status"], bytes(row["body"]), row["location"])


async def record(
    conn: Connection,
    user_id: int,
    key: str,
    *,
    status: int,
    body: bytes,
    location: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET status = $3, body = $4, location = $5"
        " WHERE user_id = $1 AND key = $2",
        user_id,
        key,
        status,
        body,
        location,
    )
