"""Shared fixtures: a real PostgreSQL, one migrated template database per test session,
a fresh clone of it per test, the app on that clone, and Chromium for browser journeys.

Copying a template takes the server about half a second (it writes every file of the copy
to disk), longer than most tests: the next test's copy is made in the background while a
test runs (`Spares`), and a finished test's database is dropped in the background too.

With DATABASE_URL set (CI: the machine's PostgreSQL) the databases are created there;
without it an embedded server is started for the session in a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, async_playwright

from consentir import db, mail, migrations
from consentir.app import create_app
from consentir.config import Settings
from consentir.mail import MailSettings
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from tests import scenario
from tests.helpers import TEST_SECRET, free_port, serve, stop, wait_for_health
from tests.scenario import Scenario

pytest_plugins = ["tests.smtp"]

if TYPE_CHECKING:
    from tests.smtp import Received

T = TypeVar("T")
PREFIX = f"consentir_test_{os.getpid()}_{secrets.token_hex(3)}"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The admin address of the PostgreSQL server the tests use."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    server = db.EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


async def create_database(server: str, name: str, template: str | None = None) -> str:
    conn = await db.connect(server)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()
    return db.with_database(server, name)


async def drop_database(server: str, name: str) -> None:
    conn = await db.connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _patiently(attempts: Iterator[Awaitable[T]]) -> T:
    """The first attempt that reaches the server. A test that is not async holds the event
    loop still while it runs: work left waiting in the background for its connection then
    finds its timeout passed when the loop resumes, the server not at fault. Each attempt
    must be safe to repeat (nothing is created when the connection is not made)."""
    failure: db.DatabaseUnreachable | None = None
    for attempt in attempts:
        try:
            return await attempt
        except db.DatabaseUnreachable as unreachable:
            failure = unreachable
    assert failure is not None
    raise failure


class Spares:
    """Test databases copied ahead of need, a few per template (the server makes several
    copies at once faster than one after the other): taking one starts the copy for a later
    test, made while this test runs; a used one is dropped in the background. Every copy is
    still a fresh, untouched copy of its template."""

    AHEAD = 6

    def __init__(self, server: str) -> None:
        self.server = server
        self.ahead: dict[str, deque[asyncio.Task[tuple[str, str]]]] = {}
        self.dropping: set[asyncio.Task[None]] = set()

    async def _copy(self, template: str) -> tuple[str, str]:
        name = f"{PREFIX}_{next(_counter)}"
        await _patiently(create_database(self.server, name, template=template) for _ in range(3))
        return name, db.with_database(self.server, name)

    async def take(self, template: str) -> tuple[str, str]:
        """A fresh copy of `template`: (name, url)."""
        queue = self.ahead.setdefault(template, deque())
        while len(queue) < self.AHEAD + 1:
            queue.append(asyncio.ensure_future(self._copy(template)))
        return await queue.popleft()

    def drop(self, name: str) -> None:
        dropped = _patiently(drop_database(self.server, name) for _ in range(3))
        task = asyncio.ensure_future(dropped)
        self.dropping.add(task)
        task.add_done_callback(self.dropping.discard)

    async def forget(self, template: str) -> None:
        """Before `template` itself is dropped: its copies made ahead are dropped first."""
        for task in self.ahead.pop(template, deque()):
            name, _url = await task
            self.drop(name)
        await self.settle()

    async def settle(self) -> None:
        while self.dropping:
            await asyncio.gather(*self.dropping)


@pytest.fixture(scope="session")
async def spares(server_url: str) -> AsyncIterator[Spares]:
    made = Spares(server_url)
    yield made
    for template in list(made.ahead):
        await made.forget(template)
    await made.settle()


@pytest.fixture(scope="session")
async def template_database(server_url: str, spares: Spares) -> AsyncIterator[str]:
    """Built once from the migrations; every test database is a copy of it."""
    name = f"{PREFIX}_template"
    url = await create_database(server_url, name)
    conn = await db.connect(url)
    try:
        await migrations.migrate(conn)
    finally:
        await conn.close()
    yield name
    await spares.forget(name)
    await drop_database(server_url, name)


_counter = iter(range(1_000_000))


@pytest.fixture
async def empty_database(server_url: str) -> AsyncIterator[str]:
    """A new database with no schema at all (migration tests)."""
    name = f"{PREFIX}_{next(_counter)}"
    url = await create_database(server_url, name)
    yield url
    await drop_database(server_url, name)


@pytest.fixture
async def database(template_database: str, spares: Spares) -> AsyncIterator[str]:
    """A migrated database of this test's own; dropped after it."""
    name, url = await spares.take(template_database)
    yield url
    spares.drop(name)


@pytest.fixture(scope="session")
async def scenario_template(
    server_url: str, template_database: str, spares: Spares
) -> AsyncIterator[tuple[str, Scenario]]:
    """The migrated schema plus tests/scenario.py's people and spaces, built once."""
    name = f"{PREFIX}_scenario"
    url = await create_database(server_url, name, template=template_database)
    pool = await db.create_pool(url, min_size=1, max_size=2)
    try:
        built = await scenario.build(pool)
    finally:
        await pool.close()
    yield name, built
    await spares.forget(name)
    await drop_database(server_url, name)


@pytest.fixture
async def scenario_database(
    scenario_template: tuple[str, Scenario], spares: Spares
) -> AsyncIterator[tuple[str, Scenario]]:
    name, url = await spares.take(scenario_template[0])
    yield url, scenario_template[1]
    spares.drop(name)


@pytest.fixture
def world(scenario_database: tuple[str, Scenario]) -> Scenario:
    return scenario_database[1]


@pytest.fixture
def mail_settings(smtp_server: Received) -> MailSettings:
    """Email from the app goes to the real SMTP server this test started."""
    return MailSettings(
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_starttls=False,
        mail_from="Consentir <consentir@example.org>",
    )  # fmt: skip


@pytest.fixture
def query_log() -> list[str]:
    """Every SQL statement the scenario client's app sends, in order."""
    return []


@pytest.fixture
async def scenario_client(
    scenario_database: tuple[str, Scenario],
    mail_settings: MailSettings,
    tmp_path: Path,
    query_log: list[str],
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app on a copy of the scenario database."""
    settings = Settings(
        database_url=scenario_database[0], secret_key=TEST_SECRET, data_dir=str(tmp_path)
    )
    app = create_app(settings, mail_settings=mail_settings, on_query=query_log.append)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


@pytest.fixture
async def deliver(
    scenario_database: tuple[str, Scenario], mail_settings: MailSettings
) -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """Send what the outbox holds now (instead of waiting for the app's sender)."""
    pool = await db.create_pool(scenario_database[0], min_size=1, max_size=2)

    async def run() -> int:
        return await mail.deliver_due(pool, mail_settings)

    yield run
    await pool.close()


@pytest.fixture
async def conn(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await db.connect(database)
    yield connection
    await connection.close()


@pytest.fixture
def settings(database: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database, secret_key=TEST_SECRET, data_dir=str(tmp_path))


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def two_apps(
    scenario_database: tuple[str, Scenario], tmp_path: Path
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], Litestar, AsyncTestClient[Litestar], Litestar]]:
    """Two apps (as two workers) on one database, each with its own fragment cache."""
    settings = Settings(
        database_url=scenario_database[0], secret_key=TEST_SECRET, data_dir=str(tmp_path)
    )
    first, second = create_app(settings), create_app(settings)
    base = "http://127.0.0.1:8000"
    async with (
        AsyncTestClient(app=first, base_url=base) as one,
        AsyncTestClient(app=second, base_url=base) as two,
    ):
        yield one, first, two, second


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


# --- processes -------------------------------------------------------------------------


@pytest.fixture
def live_server(database: str, tmp_path: Path) -> Iterator[str]:
    """`consentir serve` on this test's database, on a free port; yields its base URL."""
    port = free_port()
    process = serve(
        {"DATABASE_URL": database, "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path)},
        port,
        log=tmp_path / "server.log",  # a file: a pipe nobody reads would block the server
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base
    finally:
        stop(process)


@pytest.fixture
def scenario_server(
    scenario_database: tuple[str, Scenario], smtp_server: Received, tmp_path: Path
) -> Iterator[str]:
    """`consentir serve` on a copy of the scenario database, sending its email to the test's
    SMTP server; yields its base URL."""
    port = free_port()
    process = serve(
        {
            "DATABASE_URL": scenario_database[0],
            "SECRET_KEY": TEST_SECRET,
            "DATA_DIR": str(tmp_path),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_server.port),
            "SMTP_STARTTLS": "false",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
        },
        port,
        log=tmp_path / "server.log",  # a file: a pipe nobody reads would block the server
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base
    finally:
        stop(process)


# --- browser ---------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not (Path(path).exists() or shutil.which(path)):
        message = f"no Chromium at {path} (set CHROMIUM_PATH, or apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium through Playwright. Missing browser: skip, or fail if REQUIRE_BROWSER=1."""
    path = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    context = await chromium.new_context(locale="fr-FR")
    new_page = await context.new_page()
    yield new_page
    await context.close()


@pytest.fixture
def client_world(
    scenario_client: AsyncTestClient[Litestar], world: Scenario
) -> tuple[AsyncTestClient[Litestar], Scenario]:
    return scenario_client, world


@pytest.fixture
def database_url(scenario_database: tuple[str, Scenario]) -> str:
    return scenario_database[0]


@pytest.fixture
async def pool(scenario_database: tuple[str, Scenario]) -> AsyncIterator[asyncpg.Pool]:
    """A pool of the test's own on the scenario database (the app's pool lives on its loop)."""
    pool = await db.create_pool(scenario_database[0], min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture
async def alpha(pool: asyncpg.Pool) -> Space:
    async with pool.acquire() as conn:
        view = await spaces.space_view(conn, "alpha", None, instance_admin=False)
    assert view is not None
    return view.space
