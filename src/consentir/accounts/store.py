"""People, sessions, single-use links and API tokens. Every write journals its event in the
caller's transaction; tokens are stored only as their SHA-256."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import asyncpg
import msgspec

from consentir import journal
from consentir.credentials import new_token, token_digest
from consentir.db import Connection
from consentir.errors import N_, DomainError

SESSION_IDLE = timedelta(days=14)
SESSION_LIFETIME = timedelta(days=60)
SESSION_TOUCH_AFTER = timedelta(minutes=5)
UNREAD_SHOWN = 99  # the header counts unread notifications up to this; beyond: "99+"

Locale = Literal["fr", "en"]
TokenPurpose = Literal["reset_password", "confirm_email", "change_email"]
TOKEN_LIFETIME: dict[str, timedelta] = {
    "reset_password": timedelta(hours=1),
    "confirm_email": timedelta(days=2),
    "change_email": timedelta(days=1),
}


class User(msgspec.Struct, frozen=True):
    id: int
    email: str
    name: str
    locale: Locale
    is_instance_admin: bool
    email_confirmed: bool
    unread: int = 0  # unread notifications, up to UNREAD_SHOWN + 1 (the signed-in viewer's)


def _user(row: asyncpg.Record) -> User:
    return User(
        row["id"],
        row["email"],
        row["name"],
        row["locale"],
        row["is_instance_admin"],
        row["email_confirmed"],
        int(row.get("unread") or 0),
    )


EMAIL_TAKEN = N_("An account already uses this email address.")


async def create_user(
    conn: Connection,
    *,
    email: str,
    name: str,
    password_hash: str | None,
    locale: Locale = "fr",
    instance_admin: bool = False,
    confirmed: bool = False,
    actor_id: int | None = None,
) -> User:
    try:
        row = await conn.fetchrow(
            """
            INSERT INTO users (email, name, password_hash, locale, is_instance_admin,
                               email_confirmed_at)
            VALUES (lower($1), $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
            RETURNING id, email, name, locale, is_instance_admin,
                      email_confirmed_at IS NOT NULL AS email_confirmed
            """,
            email,
            name,
            password_hash,
            locale,
            instance_admin,
            confirmed,
        )
    except asyncpg.UniqueViolationError:
        raise DomainError("email_taken", EMAIL_TAKEN, field="email", status=409) from None
    assert row is not None
    user = _user(row)
    await journal.append(
        conn,
        action="account.created",
        subject_type="user",
        subject_id=user.id,
        actor_id=actor_id if actor_id is not None else user.id,
        data={"email": user.email, "instance_admin": instance_admin},
    )
    return user


async def user_by_email(conn: Connection, email: str) -> tuple[User, str | None] | None:
    """The user and their password hash, for signing in."""
    row = await conn.fetchrow(
        "SELECT a.*, u.password_hash FROM users u JOIN user_accounts a ON a.id = u.id"
        " WHERE u.email = lower($1)",
        email,
    )
    return (_user(row), row["password_hash"]) if row else None


async def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = await conn.fetchrow("SELECT * FROM user_accounts WHERE id = $1", user_id)
    return _user(row) if row else None


# --- sessions ----------------------------------------------------------------------------


async def start_session(
    conn: Connection, user: User, *, replaces: str | None, user_agent: str | None
) -> str:
    """A new session for `user`; the one the browser had before (if any) ends: the id is
    never reused across a sign-in."""
    if replaces:
        await conn.execute("DELETE FROM sessions WHERE id = $1", token_digest(replaces))
    token = new_token()
    await conn.execute(
        "INSERT INTO sessions (id, user_id, expires_at, user_agent)"
        " VALUES ($1, $2, now() + $3, $4)",
        token_digest(token),
        user.id,
        SESSION_LIFETIME,
        (user_agent or "")[:300],
    )
    await journal.append(
        conn, action="account.signed_in", subject_type="user", subject_id=user.id, actor_id=user.id
    )
    return token


_SESSION_VIEWER = """
WITH touched AS (
    UPDATE sessions SET last_seen_at = now()
    WHERE id = $1 AND last_seen_at < now() - $3::interval
    RETURNING id
)
SELECT u.*,
       -- Unread notifications of the spaces they may still see (notification_visible: a
       -- member, or of the parent of a space that includes its parent's members), counted up
       -- to UNREAD_SHOWN + 1 only: every page asks, and an index-only scan of at most that
       -- many entries costs the same whatever has piled up.
       (SELECT count(*) FROM (
            SELECT FROM notifications n
            WHERE n.user_id = u.id AND n.read_at IS NULL
              AND n.space_id IN (
                  SELECT m.space_id FROM memberships m WHERE m.user_id = u.id
                  UNION ALL
                  SELECT c.id FROM spaces c JOIN memberships pm ON pm.space_id = c.parent_id
                  WHERE c.parent_members_included AND pm.user_id = u.id)
            LIMIT $4) unread) AS unread
FROM sessions s JOIN user_accounts u ON u.id = s.user_id
WHERE s.id = $1 AND s.expires_at > now() AND s.last_seen_at > now() - $2::interval
"""


async def user_from_session(conn: Connection, token: str) -> User | None:
    """The signed-in user, in one round trip; refreshes the idle clock every few minutes."""
    row = await conn.fetchrow(
        _SESSION_VIEWER, token_digest(token), SESSION_IDLE, SESSION_TOUCH_AFTER, UNREAD_SHOWN + 1
    )
    return _user(row) if row else None


async def end_session(conn: Connection, token: str) -> None:
    user_id = await conn.fetchval(
        "DELETE FROM sessions WHERE id = $1 RETURNING user_id", token_digest(token)
    )
    if user_id is not None:
        await journal.append(
            conn,
            action="account.signed_out",
            subject_type="user",
            subject_id=user_id,
            actor_id=user_id,
        )


async def end_all_sessions(conn: Connection, user_id: int) -> int:
    result = await conn.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    return int(result.split()[-1])


# --- single-use links --------------------------------------------------------------------


async def issue_link(
    conn: Connection, user_id: int, purpose: TokenPurpose, *, new_email: str | None = None
) -> str:
    token = new_token()
    await conn.execute(
        "INSERT INTO account_tokens (token_hash, user_id, purpose, new_email, expires_at)"
        " VALUES ($1, $2, $3, lower($4), now() + $5)",
        token_digest(token),
        user_id,
        purpose,
        new_email,
        TOKEN_LIFETIME[purpose],
    )
    return token


class UsedLink(msgspec.Struct, frozen=True):
    user_id: int
    new_email: str | None


LINK_INVALID = N_("This link is not valid any more: it was already used, or it has expired.")


async def use_link(conn: Connection, token: str, purpose: TokenPurpose) -> UsedLink:
    """Spend a single-use link: valid once, before it expires; DomainError otherwise."""
    row = await conn.fetchrow(
        """
        UPDATE account_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id, new_email
        """,
        token_digest(token),
        purpose,
    )
    if row is None:
        raise DomainError("link_invalid", LINK_INVALID, status=410)
    return UsedLink(row["user_id"], row["new_email"])


async def link_is_usable(conn: Connection, token: str, purpose: TokenPurpose) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM account_tokens WHERE token_hash = $1 AND purpose = $2"
            " AND used_at IS NULL AND expires_at > now())",
            token_digest(token),
            purpose,
        )
    )


async def set_password(
    conn: Connection, user_id: int, password_hash: str, *, replacing: str | None = None
) -> bool:
    """The new password; every session of the account ends. With `replacing`, only if the
    stored hash is still that one (checked and changed in one statement): a reset or another
    change that came in between wins, and this one changes nothing (False)."""
    done = await conn.fetchval(
        """UPDATE users SET password_hash = $2, version = version + 1
           WHERE id = $1 AND ($3::text IS NULL OR password_hash = $3) RETURNING id""",
        user_id,
        password_hash,
        replacing,
    )
    if done is None:
        return False
    ended = await end_all_sessions(conn, user_id)
    await journal.append(
        conn,
        action="account.password_changed",
        subject_type="user",
        subject_id=user_id,
        actor_id=user_id,
        data={"sessions_ended": ended},
    )
    return True


async def upgrade_password_hash(conn: Connection, user_id: int, old: str, new: str) -> None:
    """Replace a hash made with older argon2 parameters by one made with today's (possible
    only at sign-in, when the password is known): every account then costs the same work to
    check, so an old hash's timing cannot single it out. Nothing else changes: sessions stay."""
    await conn.execute(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        user_id,
        old,
        new,
    )


async def confirm_email(conn: Connection, user_id: int) -> None:
    await conn.execute(
        "UPDATE users SET email_confirmed_at = coalesce(email_confirmed_at, now()) WHERE id = $1",
        user_id,
    )
    await journal.append(
        conn, action="account.email_confirmed", subject_type="user", subject_id=user_id,
        actor_id=user_id,
    )  # fmt: skip


async def change_email(conn: Connection, user_id: int, new_email: str) -> None:
    try:
        old = await conn.fetchval(
            "UPDATE users u SET email = lower($2), email_confirmed_at = now(),"
            " version = u.version + 1"
            " FROM users old WHERE u.id = $1 AND old.id = u.id RETURNING old.email",
            user_id,
            new_email,
        )
    except asyncpg.UniqueViolationError:
        raise DomainError("email_taken", EMAIL_TAKEN, field="email", status=409) from None
    await journal.append(
        conn,
        action="account.email_changed",
        subject_type="user",
        subject_id=user_id,
        actor_id=user_id,
        data={"from": old, "to": new_email.lower()},
    )


async def update_profile(conn: Connection, user_id: int, *, name: str, locale: Locale) -> None:
    await conn.execute(
        "UPDATE users SET name = $2, locale = $3, version = version + 1 WHERE id = $1",
        user_id,
        name,
        locale,
    )
    await journal.append(
        conn,
        action="account.profile_changed",
        subject_type="user",
        subject_id=user_id,
        actor_id=user_id,
        data={"name": name, "locale": locale},
    )


async def set_locale(conn: Connection, user_id: int, locale: Locale) -> None:
    await conn.execute("UPDATE users SET locale = $2 WHERE id = $1", user_id, locale)


# --- API tokens --------------------------------------------------------------------------

API_TOKEN_PREFIX = "cst_"  # noqa: S105 - a prefix, not a secret


class ApiToken(msgspec.Struct, frozen=True):
    id: int
    name: str
    hint: str
    created_at: object
    last_used_at: object | None
    revoked: bool


async def create_api_token(conn: Connection, user_id: int, name: str) -> tuple[int, str]:
    token = new_token(API_TOKEN_PREFIX)
    token_id = await conn.fetchval(
        "INSERT INTO api_tokens (user_id, name, token_hash, hint) VALUES ($1, $2, $3, $4)"
        " RETURNING id",
        user_id,
        name,
        token_digest(token),
        token[: len(API_TOKEN_PREFIX) + 4] + "…",
    )
    await journal.append(
        conn,
        action="account.api_token_created",
        subject_type="api_token",
        subject_id=token_id,
        actor_id=user_id,
        data={"name": name},
    )
    return int(token_id), token


async def api_tokens(conn: Connection, user_id: int) -> list[ApiToken]:
    rows = await conn.fetch(
        "SELECT id, name, hint, created_at, last_used_at, revoked_at IS NOT NULL AS revoked"
        " FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC LIMIT 100",
        user_id,
    )
    return [ApiToken(**dict(row)) for row in rows]


async def revoke_api_token(conn: Connection, user_id: int, token_id: int) -> bool:
    revoked = await conn.fetchval(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2"
        " AND revoked_at IS NULL RETURNING id",
        token_id,
        user_id,
    )
    if revoked is None:
        return False
    await journal.append(
        conn,
        action="account.api_token_revoked",
        subject_type="api_token",
        subject_id=token_id,
        actor_id=user_id,
    )
    return True


_OWNER_OF_API_KEY = """
WITH touched AS (
    UPDATE api_tokens SET last_used_at = now()
    WHERE token_hash = $1 AND revoked_at IS NULL
      AND (last_used_at IS NULL OR last_used_at < now() - interval '5 minutes')
)
SELECT u.*
FROM api_tokens t JOIN user_accounts u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL
"""


async def user_from_api_token(conn: Connection, token: str) -> User | None:
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    row = await conn.fetchrow(_OWNER_OF_API_KEY, token_digest(token))
    return _user(row) if row else None
