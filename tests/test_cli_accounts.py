"""`consentir user create` and `token create`, run as an operator would (`demo`:
test_demo.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import asyncpg

from consentir.accounts import store as accounts
from consentir.credentials import verify_password
from tests.helpers import consentir_command


def run(
    database: str, tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*consentir_command(), *args],
        env={**os.environ, "DATABASE_URL": database, "DATA_DIR": str(tmp_path)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_user_create_with_a_password_on_stdin(
    conn: asyncpg.Connection, database: str, tmp_path: Path
) -> None:
    result = await asyncio.to_thread(
        run, database, tmp_path, "user", "create", "Ada@Example.org", "--name", "Ada",
        "--admin", stdin="a long enough password\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "account created: ada@example.org (instance administrator)" in result.stdout
    assert "hunter" not in result.stdout and "password/reset" not in result.stdout
    found = await accounts.user_by_email(conn, "ada@example.org")
    assert found is not None
    user, password_hash = found
    assert user.is_instance_admin and user.email_confirmed
    assert await verify_password(password_hash, "a long enough password")
    again = await asyncio.to_thread(
        run, database, tmp_path, "user", "create", "ada@example.org", "--name", "Ada",
        stdin="another long password\n",
    )  # fmt: skip
    assert again.returncode == 2
    assert again.stderr.strip() == "consentir: an account already uses ada@example.org"


async def test_user_create_without_password_prints_a_one_time_link(
    conn: asyncpg.Connection, database: str, tmp_path: Path
) -> None:
    result = await asyncio.to_thread(
        run, database, tmp_path, "user", "create", "bea@example.org", "--name", "Béa", stdin=""
    )
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip().splitlines()[-1].split(": ", 1)[1]
    assert link.startswith("http://127.0.0.1:8000/password/reset/")
    token = link.rsplit("/", 1)[1]
    assert await accounts.link_is_usable(conn, token, "reset_password")
    found = await accounts.user_by_email(conn, "bea@example.org")
    assert found is not None and found[1] is None, "no password until one is chosen"


async def test_user_create_refuses_a_short_password(database: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        run, database, tmp_path, "user", "create", "c@example.org", "--name", "C", stdin="short\n"
    )
    assert result.returncode == 2
    assert "at least 10 characters" in result.stderr


async def test_token_create_prints_a_working_token_once(
    conn: asyncpg.Connection, database: str, tmp_path: Path
) -> None:
    async with conn.transaction():
        await accounts.create_user(conn, email="dan@example.org", name="Dan", password_hash=None)
    result = await asyncio.to_thread(run, database, tmp_path, "token", "create", "dan@example.org")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    user = await accounts.user_from_api_token(conn, token)
    assert user is not None and user.email == "dan@example.org"
    stored = await conn.fetchrow("SELECT token_hash, hint FROM api_tokens")
    assert stored["token_hash"] != token.encode(), "only a digest of the token is kept"
    assert stored["hint"] == token[:8] + "…"
    missing = await asyncio.to_thread(run, database, tmp_path, "token", "create", "x@example.org")
    assert missing.returncode == 2 and "no account uses x@example.org" in missing.stderr
