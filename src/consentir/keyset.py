"""Keyset pagination cursors: `<timestamp>~<id>` of the last row shown, opaque to people."""

from __future__ import annotations

from datetime import datetime

from consentir.errors import N_, DomainError

BAD_CURSOR = N_("This page address is not valid.")


def encode(when: datetime, ident: int) -> str:
    return f"{when.isoformat()}~{ident}"


def decode(cursor: str | None) -> tuple[datetime, int] | tuple[None, None]:
    """(timestamp, id) to continue after; (None, None) for the first page; 400 if garbled."""
    if not cursor:
        return None, None
    try:
        when, ident = cursor.rsplit("~", 1)
        return datetime.fromisoformat(when), int(ident)
    except ValueError:
        raise DomainError("bad_cursor", BAD_CURSOR, status=400) from None
