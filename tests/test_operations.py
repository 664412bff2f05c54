"""Operations: stopping with open live streams, a database outage, overload, slow clients.

The server tests run `consentir serve` as an operator does (tests/helpers.py) and talk to it
over raw sockets where a client must misbehave (send a body slowly, stop mid-headers)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from consentir import db
from consentir.config import ConfigError, load_settings
from tests.helpers import TEST_SECRET, free_port, serve, wait_for_health
from tests.scenario import Scenario

SLUG = "alpha"


def _env(database: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database, "SECRET_KEY": TEST_SECRET, "DATA_DIR": str(tmp_path),
            "LOG_LEVEL": "INFO", **extra}  # fmt: skip


@asynccontextmanager
async def raw(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()


def _ask_request(world: Scenario, body: bytes) -> bytes:
    """The head of an API request asking a question on the scenario's proposal."""
    return (
        f"POST /api/v1/spaces/{SLUG}/proposals/{world.proposal_id}/steps/ask HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {world.api_tokens['facilitator']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()


async def _status(reader: asyncio.StreamReader, timeout: float) -> tuple[int, bytes]:
    """The status and the head of the response on a raw connection."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    return int(head.split(b" ", 2)[1]), head.lower()


def test_limits_are_read_from_the_environment_and_checked(tmp_path: Path) -> None:
    defaults = load_settings({"DATA_DIR": str(tmp_path)})
    assert (defaults.max_in_flight, defaults.header_timeout, defaults.body_timeout) == (
        256, 10, 10,
    )  # fmt: skip
    set_ = load_settings({"DATA_DIR": str(tmp_path), "MAX_IN_FLIGHT": "8",
                          "HEADER_TIMEOUT": "5", "BODY_TIMEOUT": "30"})  # fmt: skip
    assert (set_.max_in_flight, set_.header_timeout, set_.body_timeout) == (8, 5, 30)
    for name, value in (("MAX_IN_FLIGHT", "0"), ("HEADER_TIMEOUT", "61"), ("BODY_TIMEOUT", "x")):
        with pytest.raises(ConfigError, match=f"{name}='{value}' is not valid"):
            load_settings({"DATA_DIR": str(tmp_path), name: value})


# --- SIGTERM with open live streams ------------------------------------------------------


async def test_sigterm_ends_live_streams_lets_requests_finish_and_exits_cleanly(
    scenario_database: tuple[str, Scenario], tmp_path: Path
) -> None:
    url, world = scenario_database
    port = free_port()
    process = serve(_env(url, tmp_path, WORKERS="2"), port)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_for_health, base, process)
        cookie = {"cookie": f"session={world.sessions['member']}"}
        async with (
            httpx.AsyncClient(timeout=10) as client,
            client.stream("GET", f"{base}/live/s/{SLUG}", headers=cookie) as first,
            client.stream("GET", f"{base}/live/s/{SLUG}", headers=cookie) as second,
            raw(port) as (reader, writer),
        ):
            streams = [first, second]
            readers = []
            for response in streams:
                assert response.status_code == 200
                lines = response.aiter_lines()
                assert await asyncio.wait_for(anext(lines), 5) == "retry: 1000"
                readers.append(asyncio.create_task(_rest(lines)))
            # A request in flight when the signal comes: its body is half sent.
            body = json.dumps({"text": "Et pendant l'arrêt ?"}).encode()
            writer.write(_ask_request(world, body) + body[:10])
            await writer.drain()
            await asyncio.sleep(0.3)

            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            done, _pending = await asyncio.wait(readers, timeout=1.0)
            ended = time.monotonic() - signalled
            assert len(done) == 2, "the live streams did not end within a second"
            for task in readers:
                rest = task.result()
                assert any(line.startswith("retry: ") for line in rest), rest
                assert "event: restart" in rest

            writer.write(body[10:])
            await writer.drain()
            status, _head = await _status(reader, 5)
            assert status == 200, "the request in flight was not finished"
        exit_status = await asyncio.to_thread(process.wait, 5)
        stopped = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    log = process.stderr.read().decode() if process.stderr else ""
    assert exit_status == 0, log
    # A worker that refused to stop would hold the server for WORKER_STOP_SECONDS (15 s)
    # before granian killed it: `stopped` well under that says none did. (Granian may still
    # log "Killing worker… refused to gracefully stop" when its liveness check races with a
    # worker in the last milliseconds of its exit: seen once under CI load, 6 ms after that
    # worker had logged its own clean stop below; not a refusal.)
    assert ended < 1.0 and stopped < 5.0, (ended, stopped)
    assert "Unexpected exit" not in log, log
    # Each worker ran the app's own shutdown (streams, tasks, pool), not a kill.
    assert log.count("worker stopped: streams ended, tasks stopped, pool closed") == 2, log


async def _rest(lines: AsyncIterator[str]) -> list[str]:
    return [line async for line in lines]


# --- a database outage under load --------------------------------------------------------


async def _cut(admin: asyncpg.Connection, name: str, allowed: bool) -> None:
    """Refuse (or allow again) connections to the database, ending the current ones."""
    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
    if not allowed:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )


async def test_a_database_outage_is_a_503_logged_once_then_service_resumes(
    scenario_database: tuple[str, Scenario], tmp_path: Path
) -> None:
    """Ten clients keep asking while every connection to the database is cut and new ones
    are refused; then the database is back."""
    url, world = scenario_database
    name = url.rsplit("/", 1)[1]
    port, log = free_port(), tmp_path / "serve.log"
    process = serve(_env(url, tmp_path, WORKERS="1"), port, log=log)
    base = f"http://127.0.0.1:{port}"
    api = {"authorization": f"Bearer {world.api_tokens['member']}"}
    proposals = f"{base}/api/v1/spaces/{SLUG}/proposals"
    statuses: list[tuple[int, str | None, str]] = []
    load_on = True

    async def load(client: httpx.AsyncClient) -> None:
        while load_on:
            response = await client.get(proposals, headers=api)
            statuses.append(
                (response.status_code, response.headers.get("retry-after"), response.text)
            )

    admin = await asyncpg.connect(db.with_database(url, "postgres"))
    try:
        await asyncio.to_thread(wait_for_health, base, process)
        async with httpx.AsyncClient(timeout=15) as client:
            assert (await client.get(proposals, headers=api)).status_code == 200
            clients = [asyncio.create_task(load(client)) for _ in range(10)]
            await asyncio.sleep(0.5)
            await _cut(admin, name, allowed=False)
            await asyncio.sleep(1.5)
            health = await client.get(f"{base}/healthz")
            page = await client.get(
                f"{base}/s/{SLUG}", headers={"cookie": f"session={world.sessions['member']}"}
            )
            await _cut(admin, name, allowed=True)
            back = time.monotonic()
            while time.monotonic() - back < 5:
                if (await client.get(proposals, headers=api)).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            recovered = time.monotonic() - back
            await asyncio.sleep(0.5)
            load_on = False
            await asyncio.gather(*clients)
    finally:
        load_on = False
        await _cut(admin, name, allowed=True)
        await admin.close()
        process.terminate()
        process.wait(20)

    codes = {status for status, _retry, _text in statuses}
    assert codes <= {200, 503}, codes  # never a 500
    unavailable = [(retry, text) for status, retry, text in statuses if status == 503]
    assert len(unavailable) > 50
    assert all(retry == "2" for retry, _text in unavailable)
    assert all(json.loads(text)["code"] == "unavailable" for _retry, text in unavailable)
    assert statuses[-1][0] == 200 and recovered < 1.0
    assert health.status_code == 503 and health.headers["retry-after"] == "2"
    assert page.status_code == 503 and page.headers["retry-after"] == "2"
    assert "Le service est momentanément indisponible" in page.text

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    said = [line for line in lines if line["logger"] == "consentir.db"]
    warnings = [line for line in said if line["level"] == "WARNING"]
    assert len(warnings) == 1 and "database unavailable" in warnings[0]["message"], said
    assert any("available again" in line["message"] for line in said)
    # No request logged an error, let alone a traceback (background tasks log their own).
    assert not [line for line in lines if line["logger"] == "consentir.web.errors"]
    assert not [line for line in lines if line["logger"].startswith("asyncpg")]


# --- overload and slow clients -----------------------------------------------------------


@pytest.fixture
def small_server(scenario_database: tuple[str, Scenario], tmp_path: Path) -> Iterator[int]:
    """One worker admitting 4 requests at once; 2 s for headers, 2 s for a body."""
    port = free_port()
    env = _env(scenario_database[0], tmp_path, WORKERS="1", MAX_IN_FLIGHT="4",
               HEADER_TIMEOUT="2", BODY_TIMEOUT="2")  # fmt: skip
    process = serve(env, port)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process)
        yield port
    finally:
        process.terminate()
        process.wait(20)


async def test_beyond_its_in_flight_limit_a_worker_answers_503_at_once(
    small_server: int, world: Scenario
) -> None:
    port = small_server
    base = f"http://127.0.0.1:{port}"
    api = {"authorization": f"Bearer {world.api_tokens['member']}"}
    body = json.dumps({"text": "Une question lente ?"}).encode()
    async with (
        raw(port) as slow_1, raw(port) as slow_2, raw(port) as slow_3, raw(port) as slow_4,
        httpx.AsyncClient(timeout=10) as client,
    ):  # fmt: skip
        slow = [slow_1, slow_2, slow_3, slow_4]
        for _reader, writer in slow:  # four requests in flight, their bodies still to come
            writer.write(_ask_request(world, body) + body[:5])
            await writer.drain()
        await asyncio.sleep(0.3)

        async def one() -> tuple[httpx.Response, float]:
            started = time.monotonic()
            response = await client.get(f"{base}/api/v1/spaces/{SLUG}/proposals", headers=api)
            return response, time.monotonic() - started

        shed = await asyncio.gather(*(one() for _ in range(20)))
        page = await client.get(f"{base}/signin", headers={"accept-language": "fr"})
        health = await client.get(f"{base}/healthz")  # never shed
        for _reader, writer in slow:
            writer.write(body[5:])
            await writer.drain()
        finished = [await _status(reader, 5) for reader, _writer in slow]
        after = await client.get(f"{base}/api/v1/spaces/{SLUG}/proposals", headers=api)

    for response, seconds in shed:
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json()["code"] == "overloaded"
        assert seconds < 0.5
    assert page.status_code == 503 and "momentanément indisponible" in page.text
    assert page.headers["retry-after"] == "1" and page.headers["x-request-id"]
    assert health.status_code == 200
    assert [status for status, _head in finished] == [200] * 4  # the admitted ones: served
    assert after.status_code == 200


async def test_a_body_that_trickles_in_is_cut_with_408(small_server: int, world: Scenario) -> None:
    body = json.dumps({"text": "Goutte à goutte ?"}).encode()
    async with raw(small_server) as (reader, writer):
        writer.write(_ask_request(world, body))
        started = time.monotonic()
        status: int | None = None
        for byte in body:  # one byte every half second: 20 s for the whole body
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                status, head = await _status(reader, 0.5)
                break
            except TimeoutError:
                continue
        seconds = time.monotonic() - started
    assert status == 408 and b"retry-after" not in head
    assert 2.0 <= seconds < 4.0


async def test_headers_beyond_the_read_buffer_are_refused_and_bodies_still_stream(
    small_server: int, world: Scenario
) -> None:
    """Each connection reads through an 8 KiB buffer (cli.py READ_BUFFER_BYTES, for the
    memory of open live streams): headers of 6 KiB pass, of 12 KiB get 431; a body far
    larger than the buffer still arrives whole (a question of 200 KiB: its limit's 422)."""
    async with httpx.AsyncClient(timeout=10) as client:
        base = f"http://127.0.0.1:{small_server}"
        fits = await client.get(f"{base}/healthz", headers={"x-padding": "a" * 6000})
        beyond = await client.get(f"{base}/healthz", headers={"x-padding": "a" * 12000})
        api = {"authorization": f"Bearer {world.api_tokens['facilitator']}"}
        asked = await client.post(
            f"{base}/api/v1/spaces/{SLUG}/proposals/{world.proposal_id}/steps/ask",
            headers=api, json={"text": "Une question ? " * 14000},
        )  # fmt: skip
    assert fits.status_code == 200
    assert beyond.status_code == 431
    assert asked.status_code == 422 and asked.json()["status"] == 422


async def test_headers_that_trickle_in_are_cut_at_the_header_timeout(small_server: int) -> None:
    async with raw(small_server) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        answer = b""
        for _ in range(20):  # one header line every half second, never the blank line
            try:
                writer.write(b"X-Slow: yes\r\n")
                await writer.drain()
            except ConnectionError:
                break
            try:
                answer = await asyncio.wait_for(reader.read(1000), 0.5)
                break
            except TimeoutError:
                continue
        seconds = time.monotonic() - started
    # granian (hyper) closes the connection at HEADER_TIMEOUT without answering: headers that
    # never end are not a request yet. What matters is that the slot is freed, in time.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer
    assert 1.5 <= seconds < 3.5, seconds
