"""consentir serve | migrate | journal verify.

Operator-facing failures (bad setting, unreachable database, refused migration) print one
line on stderr and exit with status 2; `journal verify` exits 1 when a chain is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from consentir import db, journal, logs, mail, migrations
from consentir.config import ConfigError, Settings, load_settings, redact_dsn

log = logging.getLogger("consentir")
WORKER_STOP_SECONDS = 15
BACKLOG = 4096  # connections waiting to be accepted
CONCURRENT_PER_WORKER = 4096  # requests in flight per worker, live streams included
# The read buffer of each HTTP/1.1 connection (granian's default: 408 KiB at most). Every open
# live stream keeps one: at 8 KiB a stream costs ~10 KiB less (bench/stream_memory.py). A
# request's headers must then fit in 8 KiB (ours: a few cookies of tens of bytes); a body of
# any size still streams through it.
READ_BUFFER_BYTES = 8192
T = TypeVar("T")


class Failure(Exception):
    """Stop the command with this one-line message."""


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured server, or the embedded one started for the duration of the block."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    server = db.EmbeddedPostgres(settings.data_path / "postgres")
    try:
        url = server.start()
    except Exception as exc:
        raise Failure(f"could not start the embedded PostgreSQL in {server.pgdata}: {exc}") from exc
    try:
        yield url
    finally:
        server.stop()


def _with_connection(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        conn = await db.connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def _migrate(url: str) -> None:
    applied = _with_connection(url, migrations.migrate)
    if applied:
        log.info("database migrated", extra={"applied": [m.version for m in applied]})


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        _migrate(url)
    print("schema up to date")
    return 0


def cmd_journal_verify(settings: Settings, args: argparse.Namespace) -> int:
    anchor: Path | None = args.anchor
    anchored = json.loads(anchor.read_text())["chains"] if anchor and anchor.exists() else {}

    async def verify(conn: asyncpg.Connection) -> tuple[journal.Verification, dict[str, Any]]:
        if await conn.fetchval("SELECT to_regclass('journal') IS NULL"):
            raise Failure("this database has no journal yet: run `consentir migrate` first")
        result = await journal.verify(conn)
        result.breaks.extend(await journal.check_anchor(conn, anchored))
        return result, await journal.heads(conn)

    with database_url(settings) as url:
        result, current = _with_connection(url, verify)
    if not result.ok:
        for item in sorted(result.breaks, key=lambda b: b.event_id):
            print(f"journal broken at {item}", file=sys.stderr)
        return 1
    checked = f", {len(anchored)} anchored heads found unchanged" if anchored else ""
    print(f"journal intact: {result.rows} rows in {result.chains} chains{checked}")
    if anchor is not None:
        draft = anchor.with_name(anchor.name + ".new")
        draft.write_text(json.dumps({"chains": current}, indent=1, sort_keys=True) + "\n")
        draft.replace(anchor)
        print(f"anchor written to {anchor}: keep a copy outside this server")
    return 0


async def _with_pool(url: str, work: Callable[[db.Pool], Awaitable[T]]) -> T:
    pool = await db.create_pool(url, min_size=1, max_size=2)
    try:
        return await work(pool)
    finally:
        await pool.close()


def _load_demo(url: str) -> None:
    from consentir import demo

    people = asyncio.run(_with_pool(url, demo.load))
    print(f"Demo accounts (password: {demo.DEMO_PASSWORD}):")
    for name, email, roles in people:
        print(f"  {email:32} {name:18} {roles}")


ERASE_LOCK_TIMEOUT = "5s"  # waiting longer for a table someone else uses: give up


async def _erase(conn: asyncpg.Connection) -> None:
    """Drop everything the migrations made (the tables, views, sequences, functions and
    types of the schema they ran in), in one transaction. The journal refuses DELETE and
    TRUNCATE, so the demo cannot be removed row by row: the schema is rebuilt instead.
    Refused while the service is connected to the database."""
    busy = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND application_name = ANY($1::text[])",
        [db.SERVER_SETTINGS["application_name"], db.LISTENER_NAME],
    )
    if busy:
        raise Failure(
            f"the service is using this database ({busy} connections): stop it first "
            "(Ctrl+C in the terminal running `make run`), then reset"
        )
    own = "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
    statements = await conn.fetch(
        f"""
        SELECT format('DROP TABLE IF EXISTS %s CASCADE', c.oid::regclass) AS sql, 1 AS rank
          FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
           AND c.relkind IN ('r', 'p') {own.format(oid="c.oid")}
        UNION ALL
        SELECT format('DROP %s IF EXISTS %s CASCADE',
                      CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                     ELSE 'SEQUENCE' END, c.oid::regclass), 2
          FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
           AND c.relkind IN ('v', 'm', 'S') {own.format(oid="c.oid")}
        UNION ALL
        SELECT format('DROP ROUTINE IF EXISTS %s CASCADE', p.oid::regprocedure), 3
          FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
           {own.format(oid="p.oid")}
        UNION ALL
        SELECT format('DROP TYPE IF EXISTS %s CASCADE', t.oid::regtype), 4
          FROM pg_type t WHERE t.typnamespace = current_schema()::regnamespace
           AND t.typtype IN ('e', 'd') {own.format(oid="t.oid")}
        ORDER BY rank
        """  # noqa: S608 - constant text
    )
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{ERASE_LOCK_TIMEOUT}'")
            for row in statements:
                await conn.execute(row["sql"])
    except asyncpg.LockNotAvailableError:
        raise Failure(
            "another program is using the database's tables: stop it, then reset"
        ) from None


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    if args.confirm_erase and not args.reset:
        raise Failure("--confirm-erase only goes with --reset")
    if args.reset and settings.database_url is not None and not args.confirm_erase:
        raise Failure(
            f"--reset erases the whole database at DATABASE_URL "
            f"({redact_dsn(settings.database_url)}), not only the demo: every account, "
            "space, decision and the journal. Add --confirm-erase if that is what you want "
            "(without DATABASE_URL it resets the embedded development database)"
        )
    with database_url(settings) as url:
        if args.reset:
            _with_connection(url, _erase)
            print("database erased")
        _migrate(url)
        _load_demo(url)
    return 0


def _read_password() -> str | None:
    """The password piped on standard input, if any (never from the command line)."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    password = sys.stdin.readline().rstrip("\n")
    return password or None


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from consentir.accounts import store as accounts
    from consentir.credentials import MIN_PASSWORD_LENGTH, hash_password
    from consentir.errors import DomainError

    password = _read_password()
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise Failure(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")

    async def create(pool: db.Pool) -> str | None:
        password_hash = await hash_password(password) if password else None
        async with db.transaction(pool) as conn:
            user = await accounts.create_user(
                conn, email=args.email, name=args.name, password_hash=password_hash,
                instance_admin=args.admin, confirmed=True,
            )  # fmt: skip
            if password is None:
                return await accounts.issue_link(conn, user.id, "reset_password")
        return None

    with database_url(settings) as url:
        _migrate(url)
        try:
            link_token = asyncio.run(_with_pool(url, create))
        except DomainError:
            raise Failure(f"an account already uses {args.email}") from None
    print(
        f"account created: {args.email.lower()}"
        + (" (instance administrator)" if args.admin else "")
    )
    if link_token:
        print(
            f"choose a password within an hour: {settings.public_url}/password/reset/{link_token}"
        )
    return 0


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> int:
    from consentir.accounts import store as accounts

    async def create(pool: db.Pool) -> str | None:
        async with db.transaction(pool) as conn:
            found = await accounts.user_by_email(conn, args.email)
            if found is None:
                return None
            _id, token = await accounts.create_api_token(conn, found[0].id, args.name)
            return token

    with database_url(settings) as url:
        token = asyncio.run(_with_pool(url, create))
    if token is None:
        raise Failure(f"no account uses {args.email}")
    print(token)
    return 0


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    # Until the server installs its own handlers, SIGTERM unwinds normally, so the embedded
    # PostgreSQL is stopped even when we are told to stop while starting.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    mail.mail_settings_from_env(os.environ)  # a bad SMTP_* value stops us here, in one line
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    with database_url(settings) as url:
        _migrate(url)
        if args.demo:
            _load_demo(url)
        # The workers are new processes that read their settings from the environment.
        os.environ["DATABASE_URL"] = url
        if settings.secret_key:
            os.environ["SECRET_KEY"] = settings.secret_key
        log.info("serving", extra={"url": f"http://{host}:{port}", "workers": workers})
        server = Granian(
            target="consentir.app:create_app_from_environment",
            factory=True,
            interface=Interfaces.ASGI,
            address=host,
            port=port,
            workers=workers,
            log_dictconfig=logs.dict_config(settings.log_level),
            log_access=False,
            # A worker that does not stop in time (e.g. told to stop while starting) is killed.
            # On SIGTERM each worker ends its live streams itself (live.py), lets the requests
            # in flight finish, then runs the app's shutdown: well within this.
            workers_kill_timeout=WORKER_STOP_SECONDS,
            # Every open live stream (SSE) holds one of a worker's concurrent requests for as
            # long as its page is open: granian's default (backlog ÷ workers) would make page
            # requests queue behind ~500 streams per worker.
            backlog=BACKLOG,
            backpressure=CONCURRENT_PER_WORKER,
            # HTTP/1.1 headers not all in within this: the connection is closed (the body's
            # own time limit is the app's, web/middleware.py: 408).
            http1_settings=HTTP1Settings(
                header_read_timeout=settings.header_timeout * 1000,
                max_buffer_size=READ_BUFFER_BYTES,
            ),
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consentir", description="Consent-based decision making for citizen collectives."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate the database, then serve the app")
    serve.add_argument("--host", help="address to listen on (default: HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (default: WORKERS)")
    serve.add_argument("--demo", action="store_true", help="load the demo data first")
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(run=cmd_migrate)

    demo = commands.add_parser("demo", help="load the demo data (idempotent)")
    demo.add_argument(
        "--reset",
        action="store_true",
        help="erase the whole database (the embedded one unless DATABASE_URL is set), "
        "rebuild the schema, then load the demo afresh",
    )
    demo.add_argument(
        "--confirm-erase",
        action="store_true",
        help="with --reset on the database at DATABASE_URL: yes, erase everything in it",
    )
    demo.set_defaults(run=cmd_demo)

    user = commands.add_parser("user", help="accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser(
        "create",
        help="create an account; the password is read from standard input, "
        "else a one-time link to choose it is printed",
    )
    create.add_argument("email")
    create.add_argument("--name", required=True)
    create.add_argument("--admin", action="store_true", help="administrator of the instance")
    create.set_defaults(run=cmd_user_create)

    token = commands.add_parser("token", help="personal API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_create = token_commands.add_parser("create", help="create a token, printed once")
    token_create.add_argument("email")
    token_create.add_argument("--name", default="command line")
    token_create.set_defaults(run=cmd_token_create)

    journal_cmd = commands.add_parser("journal", help="the tamper-evident journal")
    journal_commands = journal_cmd.add_subparsers(dest="journal_command", required=True)
    verify = journal_commands.add_parser("verify", help="check every hash chain")
    verify.add_argument(
        "--anchor",
        type=Path,
        metavar="FILE",
        help="check the chain heads recorded in FILE by an earlier run, then record the "
        "current ones there",
    )
    verify.set_defaults(run=cmd_journal_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        logs.configure(settings.log_level)
        status: int = args.run(settings, args)
    except (
        ConfigError,
        Failure,
        db.DatabaseUnreachable,
        migrations.MigrationError,
    ) as exc:
        print(f"consentir: {exc}", file=sys.stderr)
        return 2
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"consentir: database error: {first_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
