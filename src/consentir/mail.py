"""Email through a durable outbox (sql/migrations/0002_outbox.sql).

`enqueue` writes a message in the caller's transaction, so it exists only if the action
that caused it commits. `deliver_due` sends what is due: it claims rows in one short
statement (SKIP LOCKED, so several workers never take the same row) that also leases them
for a few minutes, sends outside any transaction, then records each outcome. A sender that
dies in between leaves its rows to be tried again when the lease ends: delivery is at least
once, and a message keeps one Message-ID across attempts. Each message is tried on its
own: one that fails is tried again after a back-off and, after the last attempt, set aside
with its error (the policy every background task follows, tasks.py), while the others go
out. Without SMTP_HOST (development) a message is written to the log instead of being sent.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Annotated, Any, Protocol

import asyncpg
import msgspec

from consentir import db, tasks
from consentir.config import ConfigError
from consentir.db import Connection

log = logging.getLogger(__name__)

# Environment variable → MailSettings field.
ENVIRONMENT = {
    "SMTP_HOST": "smtp_host",
    "SMTP_PORT": "smtp_port",
    "SMTP_USER": "smtp_user",
    "SMTP_PASSWORD": "smtp_password",
    "SMTP_STARTTLS": "smtp_starttls",
    "MAIL_FROM": "mail_from",
}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

# 1, 2, 4 … minutes between attempts, at most an hour; 8 attempts in all.
RETRY = tasks.RETRY  # the policy of every background task
MAX_ATTEMPTS = RETRY.max_attempts
LEASE = 300.0  # a claimed row is left alone this long while its sender works on it
SMTP_TIMEOUT = 30.0  # seconds for each exchange with the SMTP server


class MailSettings(msgspec.Struct, frozen=True, kw_only=True):
    # None: development; messages are logged (logger consentir.mail) instead of sent.
    smtp_host: str | None = None
    smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    # Upgrade the connection with STARTTLS when the server offers it. While true, a server
    # that does not offer it is never sent SMTP_USER's password.
    smtp_starttls: bool = True
    mail_from: str = "Consentir <noreply@localhost>"

    def __post_init__(self) -> None:
        if not _address(self.mail_from):
            raise ConfigError(
                f"MAIL_FROM={self.mail_from!r} is not valid: "
                "expected an address such as 'Consentir <noreply@example.org>'"
            )

    @property
    def sender_domain(self) -> str:
        return _address(self.mail_from).rpartition("@")[2]


def _address(value: str) -> str:
    """The address in `value` ('Name <a@b>' or 'a@b'), or '' when there is none."""
    if "\r" in value or "\n" in value:
        return ""
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return address if at and local and domain else ""


def mail_settings_from_env(environ: Mapping[str, str]) -> MailSettings:
    """MailSettings from the environment; raises ConfigError with a one-line message."""
    raw: dict[str, Any] = {}
    for name, field in ENVIRONMENT.items():
        value = environ.get(name, "").strip()
        if not value:
            continue
        if name == "SMTP_STARTTLS":
            if value.lower() not in _BOOLEANS:
                raise ConfigError(f"{name}={value!r} is not valid: expected true, false, 1 or 0")
            raw[field] = _BOOLEANS[value.lower()]
        else:
            raw[field] = value
    try:
        return msgspec.convert(raw, MailSettings, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        for name, field in ENVIRONMENT.items():
            if f"$.{field}" in message:
                shown = "***" if name == "SMTP_PASSWORD" else raw.get(field, "")
                raise ConfigError(
                    f"{name}={shown!r} is not valid: {message.split(' - at ')[0]}"
                ) from None
        raise ConfigError(message) from None


# --- writing -----------------------------------------------------------------------------


class MailOutsideTransaction(RuntimeError):
    """A message must be written in the same transaction as the action that causes it."""


class BadMessage(ValueError):
    """The recipient or subject cannot go into a mail header."""


class Attachment(msgspec.Struct, frozen=True):
    filename: str
    mime_type: str  # a text type: "text/calendar"
    content: str


# Headers a caller may set besides those every message has.
EXTRA_HEADERS = frozenset({"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"})


async def enqueue(
    conn: Connection,
    *,
    to: str,
    subject: str,
    body: str,
    headers: Mapping[str, str] | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> int:
    """Queue one plain-text message in the caller's transaction; returns its outbox id."""
    if not conn.is_in_transaction():
        raise MailOutsideTransaction(f"mail to {to!r}")
    if not _address(to):
        raise BadMessage(f"not an email address: {to!r}")
    if "\r" in subject or "\n" in subject:
        raise BadMessage(f"a subject is one line: {subject!r}")
    extra = dict(headers or {})
    if set(extra) - EXTRA_HEADERS or any("\r" in v or "\n" in v for v in extra.values()):
        raise BadMessage(f"headers not allowed: {extra!r}")
    message_id = await conn.fetchval(
        "INSERT INTO outbox (recipient, subject, body_text, headers, attachments)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        to,
        subject,
        body,
        extra,
        msgspec.to_builtins(list(attachments)),
    )
    return int(message_id)


def build_message(row: asyncpg.Record, settings: MailSettings) -> EmailMessage:
    """The message of an outbox row: UTF-8 plain text with a Message-ID stable across tries."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    message["Date"] = format_datetime(row["created_at"])
    stamp = row["created_at"].strftime("%Y%m%d%H%M%S%f")
    message["Message-ID"] = f"<outbox.{row['id']}.{stamp}@{settings.sender_domain}>"
    # quoted-printable keeps every line 7-bit and short, whatever relays lie on the way.
    message.set_content(row["body_text"], charset="utf-8", cte="quoted-printable")
    for name, value in (row["headers"] or {}).items():
        message[name] = value
    for attached in msgspec.convert(row["attachments"] or [], list[Attachment]):
        _, _, subtype = attached.mime_type.partition("/")  # text/* only: UTF-8 text
        message.add_attachment(attached.content, subtype=subtype, filename=attached.filename)
    return message


# --- sending -----------------------------------------------------------------------------


class _Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...
    async def close(self) -> None: ...


class _LogTransport:
    """Development: the whole message goes to the log, readable (links can be copied)."""

    async def send(self, message: EmailMessage) -> None:
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        body = message.get_content()
        log.info("mail not sent (no SMTP_HOST), here it is:\n%s\n\n%s", headers, body)

    async def close(self) -> None:
        return None


class _SmtpTransport:
    """One SMTP connection for a batch, opened on first use and again after an error.

    Each call runs in a thread (smtplib blocks); calls never overlap. When the connection
    cannot be opened (server unreachable, TLS or login refused), the rest of the batch fails
    at once with the same error instead of each message waiting for its own timeout.
    """

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._unreachable: Exception | None = None

    async def send(self, message: EmailMessage) -> None:
        if self._unreachable is not None:
            raise self._unreachable
        if self._smtp is None:
            try:
                self._smtp = await asyncio.to_thread(self._connect)
            except Exception as exc:
                self._unreachable = exc
                raise
        try:
            await asyncio.to_thread(self._smtp.send_message, message)
        except asyncio.CancelledError:
            # The thread may still be using the connection: leave it to finish on its own.
            self._smtp = None
            raise
        except Exception:
            await self.close()
            raise

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.smtp_host is not None
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
        try:
            smtp.ehlo()
            if s.smtp_starttls and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif s.smtp_starttls and s.smtp_user:
                raise smtplib.SMTPNotSupportedError(
                    f"{s.smtp_host}:{s.smtp_port} does not offer STARTTLS: SMTP_USER's "
                    "password is not sent in clear (SMTP_STARTTLS=false allows it)"
                )
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            await asyncio.to_thread(_quit, smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _transport(settings: MailSettings) -> _Transport:
    return _LogTransport() if settings.smtp_host is None else _SmtpTransport(settings)


# A last attempt whose lease ended with no outcome recorded: its sender died.
_EXPIRE = """
UPDATE outbox
SET failed_at = now(),
    last_error = 'attempt ' || attempts || ' recorded no outcome (its sender stopped)'
WHERE sent_at IS NULL AND failed_at IS NULL AND send_after <= now() AND attempts >= $1
"""

_CLAIM = """
WITH due AS (
    SELECT id FROM outbox
    WHERE sent_at IS NULL AND failed_at IS NULL AND send_after <= now() AND attempts < $2
    ORDER BY send_after, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox o
SET attempts = o.attempts + 1, send_after = now() + make_interval(secs => $3)
FROM due
WHERE o.id = due.id
RETURNING o.id, o.recipient, o.subject, o.body_text, o.headers, o.attachments, o.created_at,
          o.attempts
"""

_MARK_SENT = "UPDATE outbox SET sent_at = now() WHERE id = $1"

_MARK_FAILED = """
UPDATE outbox
SET last_error = $2,
    send_after = now() + make_interval(secs => $3),
    failed_at = CASE WHEN $4::boolean THEN now() END
WHERE id = $1
"""

# Rows claimed but not tried before the batch ran out of time: due again, attempt not counted.
_RELEASE = """
UPDATE outbox SET attempts = attempts - 1, send_after = now()
WHERE id = ANY($1::bigint[]) AND sent_at IS NULL AND failed_at IS NULL
"""


async def deliver_due(pool: asyncpg.Pool, settings: MailSettings, *, limit: int = 20) -> int:
    """Send up to `limit` due messages; returns how many were sent."""
    async with pool.acquire() as conn:
        await conn.execute(_EXPIRE, MAX_ATTEMPTS)
        claimed = await conn.fetch(_CLAIM, limit, MAX_ATTEMPTS, LEASE)
    rows = sorted(claimed, key=lambda row: row["id"])
    sent = 0
    started = time.monotonic()
    transport = _transport(settings)
    try:
        for index, row in enumerate(rows):
            if time.monotonic() - started > LEASE / 2:
                # Well before the lease ends, so no other sender can take a row we still hold.
                await pool.execute(_RELEASE, [r["id"] for r in rows[index:]])
                break
            sent += await _deliver_one(pool, transport, row, settings)
    finally:
        await transport.close()
    return sent


async def _deliver_one(
    pool: asyncpg.Pool, transport: _Transport, row: asyncpg.Record, settings: MailSettings
) -> int:
    """Send one claimed message and record its outcome: 1 if it went out. Whatever fails
    here stays with this message; the batch goes on."""
    try:
        await transport.send(build_message(row, settings))
    except Exception as exc:
        error = tasks.describe(exc)
        attempts: int = row["attempts"]
        final = attempts >= MAX_ATTEMPTS
        tasks.log_failure("mail", row["id"], attempts, RETRY, error)
        # Not recorded (database lost meanwhile): the lease ends and the attempt counts.
        await _record(pool, _MARK_FAILED, row["id"], error, RETRY.backoff(attempts), final)
        return 0
    return 1 if await _record(pool, _MARK_SENT, row["id"]) else 0


async def _record(pool: asyncpg.Pool, statement: str, *args: object) -> bool:
    """Write a message's outcome; a failure to write it is logged, not raised, so that it
    does not stop the batch (the row is tried again once its lease ends). The database gone
    does stop it: sending the rest would send them again once it is back."""
    try:
        await pool.execute(statement, *args)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        if db.unavailable(exc):
            raise
        log.warning("mail %s: outcome not recorded: %s", args[0], tasks.describe(exc))
        return False
    return True


async def run_sender(
    pool: asyncpg.Pool,
    settings: MailSettings,
    *,
    interval: float = 5.0,
    stop: asyncio.Event,
    limit: int = 20,
) -> None:
    """Deliver due messages every `interval` seconds (at once while batches come full)
    until `stop` is set. A failing pass is logged; the loop goes on."""

    async def deliver() -> bool:
        return await deliver_due(pool, settings, limit=limit) >= limit

    await tasks.every("mail", interval, stop, deliver)
