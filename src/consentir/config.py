"""Settings, read once from the environment and validated before anything starts.

Every variable is documented in README.md ("Configuration"). A bad value stops the
program with one line naming the variable, never a traceback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import platformdirs

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# Environment variable → Settings field. The order is the README's order.
ENVIRONMENT = {
    "DATABASE_URL": "database_url",
    "SECRET_KEY": "secret_key",
    "HOST": "host",
    "PORT": "port",
    "WORKERS": "workers",
    "DATA_DIR": "data_dir",
    "LOG_LEVEL": "log_level",
    "DB_POOL_MIN": "db_pool_min",
    "DB_POOL_MAX": "db_pool_max",
    "PUBLIC_URL": "public_url",
    "SIGNUP_OPEN": "signup_open",
    "TIME_ZONE": "time_zone",
    "MAX_IN_FLIGHT": "max_in_flight",
    "HEADER_TIMEOUT": "header_timeout",
    "BODY_TIMEOUT": "body_timeout",
}


class ConfigError(Exception):
    """A setting has a value the program cannot run with; the message is one line."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # None: start the embedded PostgreSQL in DATA_DIR (development, `make run`, tests).
    database_url: str | None = None
    # Signs CSRF tokens and the like. Unset: one is generated once and kept in DATA_DIR.
    secret_key: Annotated[str, msgspec.Meta(min_length=32)] | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    data_dir: str = ""
    log_level: LogLevel = "INFO"
    db_pool_min: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    db_pool_max: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    # The address people reach the service at; https:// makes every cookie Secure. Unset, it
    # follows HOST and PORT (see load_settings).
    public_url: str = "http://127.0.0.1:8000"
    # Anyone may create an account (otherwise: by invitation, or `consentir user create`).
    signup_open: bool = False
    # Where dates and times are shown (stored in UTC).
    time_zone: str = "Europe/Paris"
    # Requests a worker serves at once (live streams not counted); beyond: 503 + Retry-After,
    # so that the admitted ones keep a bounded latency (see web/middleware.py).
    max_in_flight: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 256
    # Seconds a client has to send a request's headers (slower: the connection is closed),
    # then its body (slower: 408).
    header_timeout: Annotated[int, msgspec.Meta(ge=1, le=60)] = 10  # granian's range
    body_timeout: Annotated[int, msgspec.Meta(ge=1, le=300)] = 10

    def __post_init__(self) -> None:
        if self.database_url is not None:
            _check_database_url(self.database_url)
        if self.db_pool_min > self.db_pool_max:
            raise ConfigError("DB_POOL_MIN must not exceed DB_POOL_MAX")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"TIME_ZONE={self.time_zone!r} is not a known time zone") from None
        url = urlsplit(self.public_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(f"PUBLIC_URL must be an http(s) address, got {self.public_url!r}")

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else default_data_dir()

    @property
    def secure_cookies(self) -> bool:
        return urlsplit(self.public_url).scheme == "https"

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("consentir", appauthor=False))


def _check_database_url(value: str) -> None:
    url = urlsplit(value)
    if url.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"DATABASE_URL must start with postgresql://, got {_redact(value)!r}",
        )
    try:
        url.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigError(f"DATABASE_URL has a bad port: {_redact(value)!r}") from None
    if not (url.hostname or "host=" in url.query):
        raise ConfigError(f"DATABASE_URL names no host: {_redact(value)!r}")


def _redact(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    url = urlsplit(dsn)
    if url.password:
        netloc = url.netloc.replace(f":{url.password}@", ":***@")
        return url._replace(netloc=netloc).geturl()
    return dsn


redact_dsn = _redact


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; raises ConfigError with a one-line message."""
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for name, field in ENVIRONMENT.items():
        value = env.get(name, "").strip()
        if value:
            raw[field] = value.upper() if name == "LOG_LEVEL" else value
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(exc, raw)) from None
    if "public_url" not in raw:
        settings = msgspec.structs.replace(
            settings, public_url=local_url(settings.host, settings.port)
        )
    if settings.secret_key is None:
        settings = msgspec.structs.replace(
            settings, secret_key=_stored_secret_key(settings.data_path)
        )
    return settings


def local_url(host: str, port: int) -> str:
    """The address the service listens at, for links when PUBLIC_URL is unset (a wildcard
    address, listening everywhere, is reached on this machine at 127.0.0.1)."""
    if host in ("", "0.0.0.0", "::", "[::]"):  # noqa: S104 - recognised here, not bound
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _explain(exc: msgspec.ValidationError, raw: Mapping[str, str]) -> str:
    message = str(exc)
    for name, field in ENVIRONMENT.items():
        if f"$.{field}" in message:
            reason = message.split(" - at ")[0]
            shown = "***" if name == "SECRET_KEY" else raw.get(field, "")
            return f"{name}={shown!r} is not valid: {reason}"
    return message


def _stored_secret_key(data_dir: Path) -> str:
    """A random key created on first start and kept (mode 0600) so restarts keep sessions."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole beside it, then linked into place: nobody ever reads a half-written key.
        draft = data_dir / f".secret_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{path} holds a secret key shorter than 32 characters")
    return key
