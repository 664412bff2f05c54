"""create_app(settings) → the Litestar application. Wiring only."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.static_files import create_static_files_router

from consentir import __version__, db, live, logs, mail
from consentir.accounts import routes as account_routes
from consentir.config import ConfigError, Settings, load_settings
from consentir.consent import deadlines
from consentir.consent import routes as consent_routes
from consentir.decisions import routes as decision_routes
from consentir.mail import MailSettings, mail_settings_from_env
from consentir.meetings import routes as meeting_routes
from consentir.resources import resource_dir
from consentir.spaces import routes as space_routes
from consentir.web import i18n, shell, streams
from consentir.web.auth import Authentication, current_user, signed_in_user
from consentir.web.errors import exception_handlers
from consentir.web.middleware import RequestContext
from consentir.web.templates import STATIC_PREFIX, template_config

MAX_BODY_BYTES = 1024 * 1024
MAIL_INTERVAL = 2.0  # seconds between two looks at the email outbox, per worker
DEADLINE_INTERVAL = 5.0  # seconds between two looks at round deadlines, per worker


def _pool(state: State) -> asyncpg.Pool:
    return state.pool  # type: ignore[no-any-return]


def _requests_only(on_query: Callable[[str], None]) -> Callable[[str], None]:
    """Statements sent while serving a request (its id is set), not the background tasks'
    (email, deadlines, live events), which would make a page's count vary."""

    def seen(query: str) -> None:
        if logs.request_id.get() is not None:
            on_query(query)

    return seen


def _hub(state: State) -> live.Hub:
    return state.hub  # type: ignore[no-any-return]


def _settings(state: State) -> Settings:
    return state.settings  # type: ignore[no-any-return]


def create_app(
    settings: Settings,
    *,
    mail_settings: MailSettings | None = None,
    on_query: Callable[[str], None] | None = None,
) -> Litestar:
    """The application. Email goes through `mail_settings` (default: written to the log);
    `on_query` sees every SQL statement sent while serving a request (for tests and
    benchmarks that count them)."""
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is not set (`consentir serve` starts the embedded server)")
    dsn = settings.database_url
    assert settings.secret_key is not None
    i18n.set_time_zone(settings.time_zone)

    outgoing = mail_settings or MailSettings()

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await db.create_pool(
            dsn,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            on_query=_requests_only(on_query) if on_query else None,
        )
        stop = asyncio.Event()
        sender = asyncio.create_task(
            mail.run_sender(app.state.pool, outgoing, interval=MAIL_INTERVAL, stop=stop)
        )
        scheduler = asyncio.create_task(
            deadlines.run_scheduler(
                app.state.pool, app.template_engine, settings.public_url,
                interval=DEADLINE_INTERVAL, stop=stop,
            )
        )  # fmt: skip
        app.state.hub = live.Hub(lambda: db.listen_connection(dsn), app.state.pool)
        listener = asyncio.create_task(app.state.hub.run(stop))
        try:
            yield
        finally:
            stop.set()
            await sender
            await scheduler
            await listener
            await db.close_pool(app.state.pool)

    static = create_static_files_router(
        path=STATIC_PREFIX,
        directories=[resource_dir("static")],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=7 * 24 * 3600, public=True),
    )
    app = Litestar(
        route_handlers=[
            *shell.routes,
            *account_routes.public_routes,
            *account_routes.profile_routes,
            *space_routes.routes,
            *consent_routes.routes,
            *decision_routes.routes,
            *meeting_routes.routes,
            *streams.routes,
            static,
        ],
        middleware=[Authentication()],
        lifespan=[database],
        state=State({"settings": settings}),
        dependencies={
            "pool": Provide(_pool, sync_to_thread=False),
            "hub": Provide(_hub, sync_to_thread=False),
            "settings": Provide(_settings, sync_to_thread=False),
            "viewer": Provide(current_user, sync_to_thread=False),
            "me": Provide(signed_in_user, sync_to_thread=False),
            **space_routes.space_dependency,
        },
        template_config=template_config(),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            # __Host- binds the cookie to this exact origin; browsers accept it only when Secure.
            cookie_name="__Host-csrftoken" if settings.secure_cookies else "csrftoken",
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="lax",
            # Nothing to protect there, and no reason to hand out a cookie.
            # The API authenticates with Bearer tokens only, never with cookies.
            exclude=["^/healthz$", f"^{STATIC_PREFIX}/", "^/api/"],
        ),
        exception_handlers=exception_handlers,
        openapi_config=OpenAPIConfig(
            title="Consentir",
            version=__version__,
            path="/schema",
            render_plugins=[JsonRenderPlugin(path="/openapi.json")],
        ),
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
    )
    # Outermost: also wraps the router's own 404/405 answers (see web/middleware.py).
    app.asgi_handler = RequestContext(app.asgi_handler, secure=settings.secure_cookies)
    return app


def create_app_from_environment() -> Litestar:
    """The server's workers call this (granian factory): settings come from the environment,
    where `consentir serve` put the database address."""
    settings = load_settings()
    logs.configure(settings.log_level)
    return create_app(settings, mail_settings=mail_settings_from_env(os.environ))
