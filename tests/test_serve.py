"""`consentir serve` as people run it: on the embedded server, and several at once."""

import asyncio
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from consentir import db
from consentir.migrations import load_migrations
from tests.helpers import TEST_SECRET, free_port, serve, stop, wait_for_health


def postgres_processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and str(folder) in cmdline:
            found.append(process)
    return found


def test_serve_with_embedded_postgres_starts_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = serve({"DATA_DIR": str(tmp_path), "WORKERS": "2"}, port, drop=("DATABASE_URL",))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process, timeout=90)
        assert postgres_processes_using(tmp_path), "the embedded server is not running"
        home = httpx.get(f"{base}/", timeout=5)
        assert home.status_code == 200
        assert "Décider ensemble, par consentement" in home.text
    finally:
        stop(process)
    assert process.returncode == 0, process.stderr.read().decode() if process.stderr else ""
    assert (tmp_path / "postgres" / "PG_VERSION").exists()
    psutil.wait_procs(postgres_processes_using(tmp_path), timeout=10)
    assert postgres_processes_using(tmp_path) == [], "postgres was left running"


async def test_two_servers_on_a_new_database_migrate_it_once(
    empty_database: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": empty_database, "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path)}
    ports = [free_port(), free_port()]
    processes = [serve(env, port) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            await asyncio.to_thread(wait_for_health, f"http://127.0.0.1:{port}", process)
    finally:
        for process in processes:
            stop(process)
    conn = await db.connect(empty_database)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in load_migrations()]
    finally:
        await conn.close()


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_told_to_stop_while_starting_leaves_nothing_running(tmp_path: Path, delay: float) -> None:
    """SIGTERM while the embedded server or the workers are still starting: the command
    ends, and no PostgreSQL is left behind, nor a state that breaks the next start."""
    port = free_port()
    process = serve({"DATA_DIR": str(tmp_path), "WORKERS": "2"}, port, drop=("DATABASE_URL",))
    time.sleep(delay)
    process.terminate()
    try:
        process.wait(40)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("serve did not stop") from None
    psutil.wait_procs(postgres_processes_using(tmp_path), timeout=15)
    assert postgres_processes_using(tmp_path) == [], "postgres was left running"


def test_a_killed_user_does_not_keep_the_server_running(tmp_path: Path) -> None:
    """`kill -9` leaves the dead process listed as a user of the embedded server; the next
    run must still stop the server when it is done."""
    first_port, second_port = free_port(), free_port()
    first = serve({"DATA_DIR": str(tmp_path)}, first_port, drop=("DATABASE_URL",))
    wait_for_health(f"http://127.0.0.1:{first_port}", first, timeout=90)
    family = [first.pid, *(c.pid for c in psutil.Process(first.pid).children(recursive=True))]
    for pid in family:  # the server process and its workers die without cleaning up
        if psutil.pid_exists(pid) and "postgres" not in psutil.Process(pid).name():
            psutil.Process(pid).kill()
    first.wait(10)
    assert postgres_processes_using(tmp_path), "the embedded server outlived its user"

    second = serve({"DATA_DIR": str(tmp_path)}, second_port, drop=("DATABASE_URL",))
    try:
        wait_for_health(f"http://127.0.0.1:{second_port}", second, timeout=90)
    finally:
        stop(second)
    psutil.wait_procs(postgres_processes_using(tmp_path), timeout=15)
    assert postgres_processes_using(tmp_path) == [], "postgres was left running"
