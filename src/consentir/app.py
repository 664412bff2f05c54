"""create_app(settings) → the Litestar application. Wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from consentir import __version__, db, live, logs, mail, tasks
from consentir.accounts import routes as account_routes
from consentir.causes import acting as cause_actions
from consentir.causes import web as cause_web
from consentir.config import ConfigError, Settings, load_settings
from consentir.consent import deadlines
from consentir.consent import routes as consent_routes
from consentir.decisions import review_routes, reviews
from consentir.decisions import routes as decision_routes
from consentir.elections import routes as election_routes
from consentir.mail import MailSettings, mail_settings_from_env
from consentir.mandates import api as mandate_api
from consentir.mandates import register as mandate_register
from consentir.mandates import reminders as term_reminders
from consentir.mandates import revoke_routes
from consentir.mandates import routes as mandate_routes
from consentir.meetings import routes as meeting_routes
from consentir.notifications import mailer
from consentir.notifications import routes as notification_routes
from consentir.resources import resource_dir
from consentir.spaces import brand_routes as space_brand
from consentir.spaces import routes as space_routes
from consentir.web import i18n, idempotency, openapi, shell, streams
from consentir.web.auth import Authentication, current_user, signed_in_user
from consentir.web.boundary import Boundary
from consentir.web.errors import exception_handlers
from consentir.web.middleware import Admission, RequestContext
from consentir.web.templates import STATIC_PREFIX, template_config

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAIL_INTERVAL = 2.0  # seconds between two looks at the email outbox, per worker
DEADLINE_INTERVAL = 5.0  # seconds between two looks at round deadlines, per worker
NOTIFY_INTERVAL = 10.0  # seconds between two looks at notifications to email, per worker
REVIEW_INTERVAL = 600.0  # seconds between two looks at decisions due for review, per worker
TERM_INTERVAL = 600.0  # seconds between two looks at terms ending soon, per worker
PURGE_INTERVAL = 600.0  # seconds between two purges of old idempotency keys, per worker


def _pool(state: State) -> asyncpg.Pool:
    return state.pool  # type: ignore[no-any-return]


def _requests_only(on_query: Callable[[str], None]) -> Callable[[str], None]:
    """Statements sent while serving a request (its id is set), not the background tasks'
    (email, deadlines, live events), which would make a page's count vary."""

    def seen(query: str) -> None:
        if logs.request_id.get() is not None:
            on_query(query)

    return seen


def _background(
    pool: asyncpg.Pool,
    templates: Any,
    mailing: MailSettings,
    settings: Settings,
    stop: asyncio.Event,
) -> list[asyncio.Task[None]]:
    """The worker's background tasks, each its own loop (tasks.every), so that none waits
    for another (closings never wait for reminders); each handles its rows one by one."""
    loops = (
        mail.run_sender(pool, mailing, interval=MAIL_INTERVAL, stop=stop),
        tasks.every("reminders", DEADLINE_INTERVAL, stop,
                    lambda: deadlines.send_reminders(pool, templates, settings.public_url)),
        tasks.every("closings", DEADLINE_INTERVAL, stop, lambda: deadlines.run_due(pool)),
        tasks.every("notifications", NOTIFY_INTERVAL, stop,
                    lambda: mailer.send_due(pool, templates, settings.public_url,
                                            settings.secret_key or "")),
        tasks.every("reviews", REVIEW_INTERVAL, stop, lambda: reviews.announce_due(pool)),
        tasks.every("term reminders", TERM_INTERVAL, stop, lambda: term_reminders.send_due(pool)),
        tasks.every("action reminders", TERM_INTERVAL, stop, lambda: cause_actions.send_due(pool)),
        tasks.every("idempotency purge", PURGE_INTERVAL, stop, lambda: idempotency.purge(pool)),
    )  # fmt: skip
    return [asyncio.create_task(loop) for loop in loops]


def _hub(state: State) -> live.Hub:
    return state.hub  # type: ignore[no-any-return]


def _settings(state: State) -> Settings:
    return state.settings  # type: ignore[no-any-return]


def _settle() -> None:
    """A worker about to serve: everything alive so far (modules, the routes and their
    signature models, translations: ~100 000 objects) set aside from the garbage collector
    (`gc.freeze`). Otherwise every full collection walks them all again, a pause of 40–65 ms
    about every 250 pages, most of a page's p99 when served alone; what requests add later
    (templates compiled on first use, caches) is a few thousand objects."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings,
    *,
    mail_settings: MailSettings | None = None,
    on_query: Callable[[str], None] | None = None,
    served: bool = False,
) -> Litestar:
    """The application. Email goes through `mail_settings` (default: written to the log);
    `on_query` sees every SQL statement sent while serving a request (for tests and
    benchmarks that count them); `served`: in a server's worker process, where SIGTERM must
    end the live streams (see live.streams_closed_on_signals)."""
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
        background = _background(app.state.pool, app.template_engine, outgoing, settings, stop)
        app.state.hub = live.Hub(lambda: db.listen_connection(dsn), app.state.pool)
        listener = asyncio.create_task(app.state.hub.run(stop))
        if served:
            _settle()
        on_signals = (
            live.streams_closed_on_signals(app.state.hub) if served else contextlib.nullcontext()
        )
        try:
            with on_signals:
                yield
        finally:
            stop.set()
            await asyncio.gather(*background)
            await listener
            await db.close_pool(app.state.pool)
            log.info("worker stopped: streams ended, tasks stopped, pool closed")

    static = create_static_files_router(
        path=STATIC_PREFIX,
        directories=[resource_dir("static")],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=7 * 24 * 3600, public=True),
    )
    handlers = [
        *shell.routes,
        *account_routes.public_routes,
        *account_routes.profile_routes,
        *space_routes.routes,
        *space_brand.routes,
        *consent_routes.routes,
        *decision_routes.routes,
        *review_routes.routes,
        *meeting_routes.routes,
        *mandate_routes.routes,
        *election_routes.routes,
        *cause_web.ROUTES,
        *mandate_register.routes,
        *mandate_api.routes,
        *revoke_routes.routes,
        *notification_routes.routes,
        *streams.routes,
    ]
    # Described in /schema beside the API (which is told apart by its /api/ paths).
    documented = [shell.healthz, *streams.routes]
    app = Litestar(
        route_handlers=[
            openapi.pages(h for h in handlers if h not in documented and not openapi.is_api(h)),
            openapi.api(h for h in handlers if openapi.is_api(h)),
            *documented,
            static,
        ],
        middleware=[Boundary(), Authentication()],
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
            # A one-click unsubscribe is signed (notifications/unsubscribe.py): mail
            # programs POST it without a cookie.
            exclude=["^/healthz$", f"^{STATIC_PREFIX}/", "^/api/", "^/notifications/unsubscribe$"],
        ),
        exception_handlers=exception_handlers,
        openapi_config=openapi.config(__version__),
        logging_config=None,
        request_max_body_size=MAX_BODY_BYTES,
    )
    # Outermost: also wraps the router's own 404/405 answers (see web/middleware.py).
    admission = Admission(
        app.asgi_handler,
        max_in_flight=settings.max_in_flight,
        body_seconds=settings.body_timeout,
        max_working=settings.db_pool_max,
    )
    app.asgi_handler = RequestContext(admission, secure=settings.secure_cookies)
    return app


def create_app_from_environment() -> Litestar:
    """The server's workers call this (granian factory): settings come from the environment,
    where `consentir serve` put the database address."""
    settings = load_settings()
    logs.configure(settings.log_level)
    return create_app(settings, mail_settings=mail_settings_from_env(os.environ), served=True)
