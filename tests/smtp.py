"""A real SMTP server (aiosmtpd) in this process, on a free port of the loopback, for tests.

`smtp_server` speaks plain SMTP and offers AUTH without TLS; `smtp_tls_server` offers
STARTTLS with a certificate made for the test (trusted through SSL_CERT_FILE, the way an
operator trusts a private authority) and accepts AUTH only once the connection is encrypted.
Both accept the login `consentir` / `s3cret` and keep everything they were sent.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.helpers import free_port

LOGIN = "consentir"
PASSWORD = "s3cret"


@dataclass
class Received:
    """What the server was sent; filled from the server's thread, read by the test."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)  # MAIL FROM, RCPT TO
    encrypted: list[bool] = field(default_factory=list)  # per message: sent over TLS?
    logins: list[tuple[str, str]] = field(default_factory=list)  # every AUTH tried

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        # Lines end in CRLF on the wire; a mail program shows them as plain newlines.
        message = email.message_from_bytes(
            content.replace(b"\r\n", b"\n"), policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        self.encrypted.append(session.ssl is not None)
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        # handled=False: the server itself answers a refusal with 535.
        return AuthResult(success=(login, password) == (LOGIN, PASSWORD), handled=False)


def _serve(received: Received, **options: Any) -> Iterator[Received]:
    received.port = free_port()
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=received.port,
        authenticator=received.authenticate,
        **options,
    )
    controller.start()
    try:
        yield received
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[Received]:
    yield from _serve(Received(), auth_require_tls=False)


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp_tls_server(
    tls_certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Received]:
    cert, key = tls_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    yield from _serve(Received(), tls_context=context)
