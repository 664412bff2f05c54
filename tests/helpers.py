"""Helpers for tests that run `consentir` as a separate process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def consentir_command() -> list[str]:
    script = Path(sys.executable).with_name("consentir")
    return [str(script)] if script.exists() else [sys.executable, "-m", "consentir.cli"]


def wait_for_health(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with status {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not become healthy within {timeout}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise AssertionError("server did not stop on SIGTERM") from None


def serve(
    env: dict[str, str], port: int, *, drop: tuple[str, ...] = (), log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `consentir serve` with this process's environment plus `env`, less `drop`. Its
    log (stderr) is a pipe, or the file `log` for a server that will write more than a pipe
    holds (one access-log line per request)."""
    inherited = {k: v for k, v in os.environ.items() if k not in drop}
    full_env = {**inherited, **env, "PORT": str(port), "HOST": "127.0.0.1"}
    with log.open("wb") if log else contextlib.nullcontext(subprocess.PIPE) as stderr:
        return subprocess.Popen(
            [*consentir_command(), "serve"],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
