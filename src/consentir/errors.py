"""The one exception type for refused actions, shared by the pure rules and the stores.

A DomainError carries a stable machine-readable `code` (e.g. `round_not_open`), an English
message id that the web layer translates, the HTTP status it maps to, and optionally the
form field it concerns. The web layer turns it into the form re-rendered with the message
next to the field (HTML) or an RFC 9457 problem+json body (API).
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message id for extraction without translating it here."""
    return message


class DomainError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 422,
        field: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.field = field
        self.params = params or {}
