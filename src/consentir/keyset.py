"""Keyset pagination cursors: `<timestamp>~<id>` of the last row shown, opaque to people."""

from __future__ import annotations

from datetime import UTC, datetime

from consentir.errors import N_, DomainError
from consentir.web import boundary

BAD_CURSOR = N_("This page address is not valid.")


def encode(when: datetime, ident: int) -> str:
    return f"{when.isoformat()}~{ident}"


def decode(cursor: str | None) -> tuple[datetime, int] | tuple[None, None]:
    """(timestamp, id) to continue after; (None, None) for the first page. A garbled cursor
    is a 400; one that reads but that no row can have made (a date outside the boundary's
    window, an id beyond bigint) a 422, before PostgreSQL sees it."""
    if not cursor:
        return None, None
    try:
        text, number = cursor.rsplit("~", 1)
        when, ident = datetime.fromisoformat(text), int(number)
    except ValueError:
        raise DomainError("bad_cursor", BAD_CURSOR, status=400) from None
    if not boundary.in_window(when) or not 1 <= ident <= boundary.INT64_MAX:
        raise DomainError("bad_cursor", BAD_CURSOR, status=422, field="after")
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), ident
