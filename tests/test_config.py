"""Settings are validated at start; a bad value is one clear line naming the variable."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from consentir.config import ConfigError, load_settings
from tests.helpers import consentir_command


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert settings.database_url is None and settings.embedded
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.log_level == "INFO"
    assert not settings.secure_cookies


def test_values_are_read_and_converted(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://app:pw@db.example:5433/consentir",
            "SECRET_KEY": "k" * 40,
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "WORKERS": "4",
            "DATA_DIR": str(tmp_path),
            "LOG_LEVEL": "debug",
            "PUBLIC_URL": "https://consentir.example",
        }
    )
    assert settings.port == 9000 and settings.workers == 4
    assert settings.log_level == "DEBUG"
    assert settings.secure_cookies
    assert not settings.embedded


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "eighty"}, "PORT='eighty' is not valid"),
        ({"PORT": "70000"}, "PORT='70000' is not valid"),
        ({"WORKERS": "0"}, "WORKERS='0' is not valid"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='LOUD' is not valid"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL must start with postgresql://"),
        ({"DATABASE_URL": "postgresql://u@h:notaport/d"}, "DATABASE_URL has a bad port"),
        ({"DATABASE_URL": "postgresql:///d"}, "DATABASE_URL names no host"),
        ({"PUBLIC_URL": "consentir.example"}, "PUBLIC_URL must be an http(s) address"),
        ({"DB_POOL_MIN": "20", "DB_POOL_MAX": "5"}, "DB_POOL_MIN must not exceed DB_POOL_MAX"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY='***' is not valid"),
        ({"TIME_ZONE": "Europe/Lutèce"}, "TIME_ZONE='Europe/Lutèce' is not a known time zone"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATA_DIR": str(tmp_path), **env})
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_https_in_capitals_still_makes_cookies_secure(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path), "PUBLIC_URL": "HTTPS://Example.org"})
    assert settings.secure_cookies


def test_password_never_shown_in_messages(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL": "postgresql://u:hunter2@h:bad/d"})
    assert "hunter2" not in str(caught.value)


def test_secret_key_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = load_settings({"DATA_DIR": str(tmp_path)})
    second = load_settings({"DATA_DIR": str(tmp_path)})
    assert first.secret_key and len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "abc"}, "consentir: PORT='abc' is not valid"),
        ({"DATABASE_URL": "nonsense"}, "consentir: DATABASE_URL must start with postgresql://"),
        (
            {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres"},
            "consentir: cannot reach PostgreSQL at 127.0.0.1:1/postgres",
        ),
        (
            {"DATABASE_URL": "postgresql://postgres@no-such-host.invalid/postgres"},
            "consentir: cannot reach PostgreSQL at no-such-host.invalid:5432/postgres",
        ),
    ],
)
def test_cli_reports_one_line_not_a_traceback(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [*consentir_command(), "migrate"],
        env={**os.environ, "DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8811"}, "http://127.0.0.1:8811"),
        ({"HOST": "0.0.0.0", "PORT": "8811"}, "http://127.0.0.1:8811"),
        ({"HOST": "consentir.lan", "PORT": "80"}, "http://consentir.lan:80"),
        ({"HOST": "::1", "PORT": "9000"}, "http://[::1]:9000"),
        ({"PORT": "8811", "PUBLIC_URL": "https://c.example"}, "https://c.example"),
    ],
)
def test_public_url_unset_follows_host_and_port(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    """Links in emails and exports lead where the service listens (PORT=8811 once sent
    everyone to port 8000)."""
    assert load_settings({"DATA_DIR": str(tmp_path), **env}).public_url == expected
