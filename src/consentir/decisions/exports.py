"""The register's exports, streamed page by page (500 decisions a query, keyset-paginated), so
that memory stays bounded whatever the size of the register.

- CSV is for a spreadsheet in the reader's language: French by default (`;` between cells,
  a UTF-8 byte order mark so that Excel reads the accents, headers and statuses in words,
  times in the instance's time zone without seconds), written by the `csv` module.
- JSON is for programs: machine names (`in_force`) and ISO 8601 times in UTC, one chunk per
  page of decisions.

The words are translated when the export starts (in the request's language), not while the
body streams.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, date, datetime
from urllib.parse import quote

import asyncpg
import msgspec

from consentir.consent import labels
from consentir.decisions import store as decisions
from consentir.decisions.store import DecisionRow, Filters
from consentir.errors import N_
from consentir.web import i18n

EXPORT_PAGE = 500  # rows read per query while an export streams

# (machine name, header): the JSON keys and the CSV columns, in the same order.
COLUMNS = (
    ("number", N_("Number")),
    ("title", N_("Title")),
    ("adopted_at", N_("Adopted on")),
    ("review_on", N_("Review on")),
    ("status", N_("Status")),
    ("url", N_("Link")),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


class DecisionOut(msgspec.Struct):
    number: str
    title: str
    adopted_at: datetime
    review_on: date
    status: str
    url: str


def decision_url(public_url: str, slug: str, number: str) -> str:
    return f"{public_url}/s/{quote(slug)}/decisions/{quote(number)}"


def out(public_url: str, slug: str, row: DecisionRow) -> DecisionOut:
    return DecisionOut(
        row.number,
        row.title,
        row.adopted_at.astimezone(UTC),
        row.review_on,
        row.status,
        decision_url(public_url, slug, row.number),
    )


async def pages(
    pool: asyncpg.Pool, space_id: int, filters: Filters, size: int = EXPORT_PAGE
) -> AsyncIterator[list[DecisionRow]]:
    """Every matching row, page after page by keyset; a connection only while a page is read."""
    after: str | None = None
    while True:
        async with pool.acquire() as conn:
            page, after = await decisions.register(conn, space_id, filters, after=after, limit=size)
        if page:
            yield page
        if after is None:
            return


def safe_cell(value: str) -> str:
    """Text a spreadsheet would run as a formula is kept as text (the csv module quotes)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_lines(rows: Iterable[Iterable[str]]) -> str:
    """Lines as a French spreadsheet reads them: `;` between cells, CRLF, quoted when needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return buffer.getvalue()


class CsvWords(msgspec.Struct, frozen=True):
    """The export's words in the reader's language, read once before the body streams."""

    headers: tuple[str, ...]
    statuses: dict[str, str]

    @classmethod
    def now(cls) -> CsvWords:
        return cls(
            tuple(i18n.gettext(header) for _, header in COLUMNS),
            {name: i18n.gettext(label) for name, label in labels.DECISION_STATUSES.items()},
        )


def local_time(moment: datetime) -> str:
    """`2026-12-06 18:00` in the instance's time zone: a date-time to a spreadsheet."""
    return moment.astimezone(i18n.display_zone).strftime("%Y-%m-%d %H:%M")


async def csv_chunks(
    rows: AsyncIterator[list[DecisionRow]],
    words: CsvWords,
    url: Callable[[str], str],
) -> AsyncIterator[bytes]:
    yield (BOM + csv_lines([words.headers])).encode()
    async for page in rows:
        yield csv_lines(
            (
                row.number,
                row.title,
                local_time(row.adopted_at),
                row.review_on.isoformat(),
                words.statuses.get(row.status, row.status),
                url(row.number),
            )
            for row in page
        ).encode()


async def json_chunks(
    rows: AsyncIterator[list[DecisionRow]], public_url: str, slug: str
) -> AsyncIterator[bytes]:
    """One JSON array, one chunk per page of decisions."""
    yield b"["
    first = True
    async for page in rows:
        items = msgspec.json.encode([out(public_url, slug, row) for row in page])[1:-1]
        yield items if first else b"," + items
        first = False
    yield b"]"
