"""Idempotency keys: a write sent twice (double click, a client's retry) happens once.

The key is claimed inside the action's own transaction: a second request with the same key
waits for the first to commit, then finds the key taken and replays the first answer. The
same key with a different request is refused (422), as the IETF draft on the header asks.
Every API write reads the `Idempotency-Key` header; every form that creates something
carries a hidden `idempotency_key` (`new_key()`), so a double click makes one row. Keys
are kept 48 hours (`purge`, a background task).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.response import Redirect

from consentir import db
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.web.forms import FormInvalid
from consentir.web.i18n import gettext

REUSED = "idempotency_key_reused"
KEY_REUSED = N_("This idempotency key was already used for a different request.")
MAX_KEY = 200
KEEP = timedelta(hours=48)  # a key is replayed this long at least, then purged
PURGE_BATCH = 1000


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

    def redirect(self, fallback: str) -> Redirect:
        """A form sent again: where the first one led."""
        return Redirect(
            self.location or fallback, status_code=303, headers={"idempotent-replayed": "true"}
        )


def new_key() -> str:
    """A key for one form: a hidden `idempotency_key` input."""
    return secrets.token_urlsafe(16)


def form_key(data: Mapping[str, Any]) -> str | None:
    """The key a form sent (its hidden `idempotency_key`), if any."""
    key = data.get("idempotency_key")
    if isinstance(key, list):  # sent more than once: the last one, as for any field
        key = key[-1] if key else None
    return str(key) if key else None


def fingerprint(method: str, target: str, body: bytes) -> bytes:
    return hashlib.sha256(b"\0".join((method.encode(), target.encode(), body))).digest()


async def claim(
    conn: Connection,
    user_id: int,
    key: str,
    request: bytes,
    *,
    status: int = 0,
    body: bytes = b"",
    location: str | None = None,
) -> Replay | None:
    """None: the key is this request's, go on. A Replay: it was done before; answer as then.

    `status`, `body`, `location`: the answer, when it is known before the action (a step
    answers 200 with the proposal as it is then); otherwise `record` it before the commit."""
    if not key or len(key) > MAX_KEY:
        raise DomainError(
            "bad_idempotency_key",
            N_("An idempotency key has 1 to 200 characters."),
            status=400,
            field="idempotency_key",
        )
    claimed = await conn.fetchval(
        """INSERT INTO idempotency_keys (user_id, key, request, status, body, location)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true""",
        user_id,
        key,
        request,
        status,
        body,
        location,
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
        raise DomainError(REUSED, KEY_REUSED, status=422)
    return Replay(row["status"], bytes(row["body"]), row["location"])


async def claim_form(
    conn: Connection, user_id: int, data: Mapping[str, Any], page: str, form: msgspec.Struct
) -> Replay | None:
    """`claim` for a page's form (the form as read, sent to `page`), if it carries a key.
    A key that cannot be used (sent before with other content) is FormInvalid: the form
    again, with the message on top and a new key."""
    key = form_key(data)
    if not key:
        return None
    request = fingerprint("POST", page, msgspec.json.encode(form))
    try:
        return await claim(conn, user_id, key, request)
    except DomainError as refused:
        raise FormInvalid({"__all__": gettext(refused.message)}, data) from None


async def record_form(
    conn: Connection, user_id: int, data: Mapping[str, Any], location: str
) -> None:
    """Keep where a page's form led (its answer is a redirection there)."""
    key = form_key(data)
    if key:
        await record(conn, user_id, key, status=303, body=b"", location=location)


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


async def created(
    pool: asyncpg.Pool,
    request: Request[Any, Any, Any],
    user_id: int,
    data: msgspec.Struct,
    make: Callable[[Connection], Awaitable[tuple[msgspec.Struct, str]]],
) -> Response[Any]:
    """An API call that creates something (201, its address in `Location`), once per
    `Idempotency-Key`: `make` writes it in the transaction and returns the answer and its
    address; the same key again writes nothing and answers as the first time."""
    key = request.headers.get("idempotency-key")
    sent = fingerprint("POST", request.url.path, msgspec.json.encode(data))
    async with db.transaction(pool) as conn:
        if key:
            replay = await claim(conn, user_id, key, sent)
            if replay is not None:
                return replay.response()
        out, location = await make(conn)
        if key:
            body = msgspec.json.encode(out)
            await record(conn, user_id, key, status=201, body=body, location=location)
    return Response(out, status_code=201, headers={"location": location})


async def form_posted(
    pool: asyncpg.Pool,
    user_id: int,
    data: Mapping[str, Any],
    page: str,
    form: msgspec.Struct,
    write: Callable[[Connection], Awaitable[str]],
    *,
    replayed_to: str,
) -> Redirect:
    """A page's form, written once per key: in one transaction `write` does the work and
    says where to go next (a 303 there); the same form sent again (a double click) writes
    nothing and leads where the first one did (`replayed_to` if that is not known). What
    `write` refuses (FormInvalid, DomainError) is the caller's to show with the form."""
    async with db.transaction(pool) as conn:
        replay = await claim_form(conn, user_id, data, page, form)
        if replay is not None:
            return replay.redirect(replayed_to)
        location = await write(conn)
        await record_form(conn, user_id, data, location)
    return Redirect(location, status_code=303)


_PURGE = """
DELETE FROM idempotency_keys k
USING (SELECT user_id, key FROM idempotency_keys WHERE created_at < $1
       ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED) old
WHERE k.user_id = old.user_id AND k.key = old.key
"""


async def purge(pool: asyncpg.Pool, now: datetime | None = None) -> int:
    """Delete the keys older than 48 hours, `PURGE_BATCH` at a time (oldest first, along
    the created_at index; each batch its own short transaction); how many went."""
    before = (now or datetime.now(UTC)) - KEEP
    deleted = 0
    while True:
        status = await pool.execute(_PURGE, before, PURGE_BATCH)
        count = int(status.rpartition(" ")[2])
        deleted += count
        if count < PURGE_BATCH:
            return deleted
