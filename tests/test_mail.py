"""The outbox: written in the action's transaction, delivered once to a real SMTP server,
retried with back-off, given up after the last attempt, never lost when a sender dies."""

import asyncio
import inspect
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import asyncpg
import pytest

from consentir import db, mail
from consentir.config import ConfigError
from consentir.mail import MailSettings, mail_settings_from_env
from tests.helpers import free_port
from tests.smtp import LOGIN, PASSWORD, Received, _serve

FROM = "Consentir <ne-pas-repondre@consentir.example>"
TO = "camille@example.org"
SUBJECT = "Réunion à 18 h — ordre du jour"
LINK = "https://consentir.example/espaces/12/seances/3?jeton=a1b2c3&lang=fr"
BODY = f"Bonjour Camille,\n\nRéunion à 18 h, salle des fêtes.\nPour rejoindre : {LINK}\n"


def smtp(port: int, **options: Any) -> MailSettings:
    return MailSettings(smtp_host="127.0.0.1", smtp_port=port, mail_from=FROM, **options)


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    connections = await db.create_pool(database, min_size=1, max_size=6)
    yield connections
    await connections.close()


async def queue(conn: asyncpg.Connection, *, to: str = TO, subject: str = SUBJECT) -> int:
    async with conn.transaction():
        return await mail.enqueue(conn, to=to, subject=subject, body=BODY)


async def row(conn: asyncpg.Connection, outbox_id: int) -> asyncpg.Record:
    found = await conn.fetchrow(
        "SELECT *, extract(epoch FROM send_after - now())::float8 AS wait"
        " FROM outbox WHERE id = $1",
        outbox_id,
    )
    assert found is not None
    return found


async def make_due(conn: asyncpg.Connection) -> None:
    """As if the back-off or the lease had run out."""
    await conn.execute("UPDATE outbox SET send_after = now()")


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until `check()` holds (polling: the server and the sender run elsewhere)."""
    for _ in range(int(timeout / 0.02)):
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still not true after {timeout} s")


# --- writing -----------------------------------------------------------------------------


async def test_queued_message_is_delivered_with_proper_headers(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    outbox_id = await queue(conn)
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 1

    [message] = smtp_server.messages
    assert message["From"] == FROM
    assert message["To"] == TO
    assert message["Subject"] == SUBJECT
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == BODY
    stored = await row(conn, outbox_id)
    assert parsedate_to_datetime(message["Date"]) == stored["created_at"].replace(microsecond=0)
    assert re.fullmatch(
        rf"<outbox\.{outbox_id}\.\d{{20}}@consentir\.example>", message["Message-ID"]
    )
    assert smtp_server.envelopes == [("ne-pas-repondre@consentir.example", [TO])]

    assert stored["sent_at"] is not None and stored["failed_at"] is None
    assert (stored["attempts"], stored["last_error"]) == (1, None)
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 0
    assert len(smtp_server.messages) == 1


async def test_enqueue_outside_a_transaction_is_refused(conn: asyncpg.Connection) -> None:
    with pytest.raises(mail.MailOutsideTransaction):
        await mail.enqueue(conn, to=TO, subject=SUBJECT, body=BODY)
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 0


@pytest.mark.parametrize(
    ("to", "subject"),
    [
        ("camille", SUBJECT),
        ("", SUBJECT),
        ("camille@example.org\r\nBcc: everyone@example.org", SUBJECT),
        (TO, "Réunion\nBcc: everyone@example.org"),
    ],
)
async def test_what_cannot_go_into_a_header_is_refused(
    conn: asyncpg.Connection, to: str, subject: str
) -> None:
    with pytest.raises(mail.BadMessage):
        await queue(conn, to=to, subject=subject)
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 0


async def test_rolled_back_action_sends_nothing(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await mail.enqueue(conn, to=TO, subject=SUBJECT, body=BODY)
            raise RuntimeError("the action failed after its mail was queued")
    assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 0
    assert smtp_server.messages == []


# --- delivering --------------------------------------------------------------------------


async def test_concurrent_deliverers_send_each_message_once(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    ids = [
        await queue(conn, to=f"membre{n}@example.org", subject=f"Message {n}") for n in range(30)
    ]
    settings = smtp(smtp_server.port)
    rounds = []
    while sum(map(sum, rounds)) < 30 and len(rounds) < 10:
        rounds.append(
            await asyncio.gather(
                mail.deliver_due(pool, settings, limit=4), mail.deliver_due(pool, settings, limit=4)
            )
        )
    assert rounds[0] == [4, 4], "the two deliverers did not take disjoint rows"
    assert sum(map(sum, rounds)) == 30
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert sorted(subjects) == sorted(f"Message {n}" for n in range(30))
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 30
    rows = await conn.fetch("SELECT id, attempts, sent_at FROM outbox ORDER BY id")
    assert [r["id"] for r in rows] == ids
    assert all(r["attempts"] == 1 and r["sent_at"] is not None for r in rows)


async def test_unreachable_server_backs_off_then_delivers(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    down = smtp(free_port())  # nothing listens there: connection refused
    first, second = await queue(conn), await queue(conn, subject="Deuxième")
    assert await mail.deliver_due(pool, down) == 0
    for outbox_id in (first, second):
        stored = await row(conn, outbox_id)
        assert stored["attempts"] == 1
        assert stored["last_error"].startswith("ConnectionRefusedError")
        assert stored["sent_at"] is None and stored["failed_at"] is None
        assert 55 < stored["wait"] <= 60, "the next attempt is a minute away"

    # Not due yet: neither a sender pointing at the dead server nor at the live one takes it.
    assert await mail.deliver_due(pool, down) == 0
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 0
    assert (await row(conn, first))["attempts"] == 1

    await make_due(conn)  # the minute has passed, and the server is back
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 2
    assert [m["Subject"] for m in smtp_server.messages] == [SUBJECT, "Deuxième"]
    stored = await row(conn, first)
    assert stored["attempts"] == 2 and stored["sent_at"] is not None


async def test_last_attempt_gives_up_and_the_row_is_never_picked_again(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    down = smtp(free_port())
    outbox_id = await queue(conn)
    waits = [60, 120, 240, 480, 960, 1920, 3600]  # doubling, capped at one hour
    for attempt, wait in enumerate(waits, start=1):
        assert await mail.deliver_due(pool, down) == 0
        stored = await row(conn, outbox_id)
        assert (stored["attempts"], stored["failed_at"]) == (attempt, None)
        assert wait - 5 < stored["wait"] <= wait
        await make_due(conn)
    assert await mail.deliver_due(pool, down) == 0
    stored = await row(conn, outbox_id)
    assert stored["attempts"] == mail.MAX_ATTEMPTS == 8
    assert stored["failed_at"] is not None and stored["sent_at"] is None
    assert stored["last_error"].startswith("ConnectionRefusedError")

    await make_due(conn)
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 0
    assert smtp_server.messages == []
    assert (await row(conn, outbox_id))["attempts"] == 8


async def die_while_sending(conn: asyncpg.Connection, pool: asyncpg.Pool) -> None:
    """A sender that has claimed the due rows stops before it can record any outcome."""
    with socket.socket() as silent:  # accepts connections (kernel side) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        sender = asyncio.create_task(mail.deliver_due(pool, smtp(silent.getsockname()[1])))
        await until(lambda: conn.fetchval("SELECT bool_or(send_after > now()) FROM outbox"))
        await asyncio.sleep(0.1)  # it is waiting for the server's greeting
        sender.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sender


async def test_a_sender_dying_mid_send_leaves_the_message_for_later(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    outbox_id = await queue(conn)
    await die_while_sending(conn, pool)
    stored = await row(conn, outbox_id)
    assert (stored["attempts"], stored["sent_at"], stored["failed_at"]) == (1, None, None)
    assert 295 < stored["wait"] <= 300, "held for the five minutes of the lease"

    # Another sender leaves it alone while the lease lasts, and takes it once it has ended.
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 0
    await make_due(conn)
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 1
    assert len(smtp_server.messages) == 1
    stored = await row(conn, outbox_id)
    assert stored["attempts"] == 2 and stored["sent_at"] is not None


async def test_a_last_attempt_left_without_outcome_is_given_up(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    outbox_id = await queue(conn)
    await conn.execute("UPDATE outbox SET attempts = 7")  # seven failed attempts before
    await die_while_sending(conn, pool)
    await make_due(conn)
    assert await mail.deliver_due(pool, smtp(smtp_server.port)) == 0
    stored = await row(conn, outbox_id)
    assert stored["attempts"] == 8 and stored["failed_at"] is not None
    assert stored["last_error"] == "attempt 8 recorded no outcome (its sender stopped)"
    assert smtp_server.messages == []


async def test_development_mode_logs_the_whole_message(
    conn: asyncpg.Connection, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    outbox_id = await queue(conn)
    with caplog.at_level(logging.INFO, logger="consentir.mail"):
        assert await mail.deliver_due(pool, MailSettings()) == 1
    [record] = [r for r in caplog.records if r.name == "consentir.mail"]
    assert record.levelno == logging.INFO
    logged = record.getMessage()
    assert f"To: {TO}" in logged
    assert f"Subject: {SUBJECT}" in logged
    assert "From: Consentir <noreply@localhost>" in logged
    assert BODY in logged  # readable, with the link in one piece
    stored = await row(conn, outbox_id)
    assert stored["sent_at"] is not None and stored["attempts"] == 1


# --- SMTP options ------------------------------------------------------------------------


async def test_login_when_a_user_is_set(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    await queue(conn)
    settings = smtp(smtp_server.port, smtp_starttls=False, smtp_user=LOGIN, smtp_password=PASSWORD)
    assert await mail.deliver_due(pool, settings) == 1
    assert smtp_server.logins == [(LOGIN, PASSWORD)]
    assert len(smtp_server.messages) == 1


async def test_a_refused_login_is_a_failed_attempt(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    outbox_id = await queue(conn)
    settings = smtp(smtp_server.port, smtp_starttls=False, smtp_user=LOGIN, smtp_password="nope")
    assert await mail.deliver_due(pool, settings) == 0
    stored = await row(conn, outbox_id)
    assert stored["last_error"].startswith("SMTPAuthenticationError")
    assert stored["attempts"] == 1 and stored["sent_at"] is None
    assert smtp_server.messages == []


async def test_password_is_not_sent_in_clear_when_starttls_is_wanted(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_server: Received
) -> None:
    outbox_id = await queue(conn)
    settings = smtp(smtp_server.port, smtp_user=LOGIN, smtp_password=PASSWORD)
    assert await mail.deliver_due(pool, settings) == 0
    assert smtp_server.logins == [] and smtp_server.messages == []
    assert "does not offer STARTTLS" in (await row(conn, outbox_id))["last_error"]


async def test_starttls_then_login(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_tls_server: Received
) -> None:
    await queue(conn)
    settings = smtp(smtp_tls_server.port, smtp_user=LOGIN, smtp_password=PASSWORD)
    assert await mail.deliver_due(pool, settings) == 1
    assert smtp_tls_server.encrypted == [True]
    assert smtp_tls_server.logins == [(LOGIN, PASSWORD)]
    assert smtp_tls_server.messages[0].get_content() == BODY


async def test_starttls_without_login_when_offered(
    conn: asyncpg.Connection, pool: asyncpg.Pool, smtp_tls_server: Received
) -> None:
    await queue(conn)
    assert await mail.deliver_due(pool, smtp(smtp_tls_server.port)) == 1
    assert smtp_tls_server.encrypted == [True] and smtp_tls_server.logins == []


class Refusing(Received):
    """A server that refuses one mailbox (550), as a real one does for an address it does
    not know, and takes every other."""

    refused = "nobody@example.org"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server() -> Iterator[Received]:
    yield from _serve(Refusing(), auth_require_tls=False)


async def test_a_refused_message_backs_off_and_the_others_go(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    refusing_server: Received,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = await queue(conn, to=Refusing.refused)
    good = [await queue(conn, subject=f"Message {n}") for n in range(3)]
    server = smtp(refusing_server.port)
    with caplog.at_level(logging.WARNING, logger="consentir.tasks"):
        assert await mail.deliver_due(pool, server) == 3  # the first in line fails alone
    assert [m["Subject"] for m in refusing_server.messages] == [f"Message {n}" for n in range(3)]
    for outbox_id in good:
        assert (await row(conn, outbox_id))["sent_at"] is not None
    stored = await row(conn, bad)
    assert (stored["attempts"], stored["sent_at"], stored["failed_at"]) == (1, None, None)
    assert stored["last_error"].startswith("SMTPRecipientsRefused: {'nobody@example.org': (550")
    assert 55 < stored["wait"] <= 60
    (line,) = [r for r in caplog.records if r.name == "consentir.tasks"]
    assert line.exc_info is None and f"mail: row {bad} failed (attempt 1 of 8)" in line.getMessage()

    for _attempt in range(2, 9):  # each time its back-off has passed
        await make_due(conn)
        assert await mail.deliver_due(pool, server) == 0
    stored = await row(conn, bad)
    assert stored["attempts"] == 8 and stored["failed_at"] is not None, "set aside"
    await make_due(conn)
    await queue(conn, subject="Later")
    assert await mail.deliver_due(pool, server) == 1
    assert (await row(conn, bad))["attempts"] == 8


# --- the sender loop ---------------------------------------------------------------------


async def test_sender_loop_survives_errors_and_stops_when_told(
    conn: asyncpg.Connection,
    pool: asyncpg.Pool,
    smtp_server: Received,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    await conn.execute("ALTER TABLE outbox RENAME TO outbox_elsewhere")
    with caplog.at_level(logging.INFO, logger="consentir.mail"):
        sender = asyncio.create_task(
            mail.run_sender(pool, smtp(smtp_server.port), interval=0.05, stop=stop)
        )
        sender.add_done_callback(lambda _: stop.set())
        await until(lambda: any(r.levelno == logging.ERROR for r in caplog.records))
        error = next(r for r in caplog.records if r.levelno == logging.ERROR)
        assert "mail: pass failed" in error.getMessage()
        assert error.exc_info is not None and "outbox" in str(error.exc_info[1])
        await asyncio.sleep(0.5)  # ten more failed passes, the same way: not logged again
        failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert failures == [error], "one traceback, not one per pass"
        assert not sender.done()

        await conn.execute("ALTER TABLE outbox_elsewhere RENAME TO outbox")
        await queue(conn)
        await until(lambda: len(smtp_server.messages) == 1)
        stop.set()
        await asyncio.wait_for(sender, timeout=5)
    assert await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL") == 1


async def test_the_claim_uses_the_partial_index(conn: asyncpg.Connection) -> None:
    definition = await conn.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'outbox_due_idx'"
    )
    assert definition.endswith("(send_after, id) WHERE ((sent_at IS NULL) AND (failed_at IS NULL))")
    await conn.execute("SET enable_seqscan = off")  # the table is empty; ask what it would use
    plan = await conn.fetch("EXPLAIN " + mail._CLAIM, 20, mail.MAX_ATTEMPTS, mail.LEASE)
    assert "outbox_due_idx" in "\n".join(r[0] for r in plan)


# --- settings ----------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = mail_settings_from_env({})
    assert settings == MailSettings()
    assert settings.smtp_host is None and settings.smtp_port == 587 and settings.smtp_starttls


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("FALSE", False), ("0", False)])
def test_settings_are_read(value: str, expected: bool) -> None:
    settings = mail_settings_from_env(
        {
            "SMTP_HOST": "smtp.example.org",
            "SMTP_PORT": "2525",
            "SMTP_USER": "consentir",
            "SMTP_PASSWORD": "s3cret",
            "SMTP_STARTTLS": value,
            "MAIL_FROM": "Assemblée <assemblee@example.org>",
        }
    )
    assert settings == MailSettings(
        smtp_host="smtp.example.org",
        smtp_port=2525,
        smtp_user="consentir",
        smtp_password="s3cret",
        smtp_starttls=expected,
        mail_from="Assemblée <assemblee@example.org>",
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SMTP_PORT": "abc"}, "SMTP_PORT='abc' is not valid"),
        ({"SMTP_PORT": "0"}, "SMTP_PORT='0' is not valid"),
        ({"SMTP_PORT": "70000"}, "SMTP_PORT='70000' is not valid"),
        ({"SMTP_STARTTLS": "yes"}, "SMTP_STARTTLS='yes' is not valid"),
        ({"MAIL_FROM": "Consentir"}, "MAIL_FROM='Consentir' is not valid"),
        ({"MAIL_FROM": "noreply@"}, "MAIL_FROM='noreply@' is not valid"),
    ],
)
def test_bad_settings_are_named(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        mail_settings_from_env(env)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [mail.RETRY.backoff(n) for n in (1, 2, 3, 6, 7, 8, 100)] == [
        60,
        120,
        240,
        1920,
        3600,
        3600,
        3600,
    ]
