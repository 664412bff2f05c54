"""What input may be, defined once for every route (pages and API): the types request
Structs and parameters are declared with, and the middleware that checks what no Struct sees.

PostgreSQL refuses NUL in text and integers beyond their column's type; Python's dates end
at year 9999 and Babel's arithmetic before that; a line break in a name ends up in email
headers and calendar files; msgspec recurses once per level of JSON nesting. Each of these
was a 500. Here they are a 4xx before any handler runs:

- `OneLine` (titles, names, places): no control characters, so no CR/LF; `Text` (bodies,
  reasons): no NUL. Both as msgspec patterns, so they are documented in the OpenAPI schema.
- `Id` (bigint row ids), `Int32` (version and revision numbers): within their column.
- dates and times within `EARLIEST`–`LATEST` (years 2000 to 2100): `Input.__post_init__` for
  JSON bodies, `parse_form` for forms, `keyset.decode` for cursors, `in_window` elsewhere.
- lists: `max_length` on each list type (`Items`).
- `Boundary`: NUL in a path (404) or a query (422), an integer path parameter beyond its
  column (404), an /api write whose body is not `application/json` (415) or is nested
  deeper than `MAX_JSON_DEPTH` (422).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.params import QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from consentir.errors import N_, DomainError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
MAX_JSON_DEPTH = 32
MAX_ITEMS = 100  # the longest list any request carries (agenda items, decision numbers…)

# `(?![\s\S])` is the end of the text in Python and in JavaScript alike (Python's `$` also
# matches before a final newline, which would let "title\n" through).
_CONTROL = r"\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029"
ONE_LINE_PATTERN = rf"^[^{_CONTROL}]*(?![\s\S])"
TEXT_PATTERN = r"^[^\x00]*(?![\s\S])"

OneLine = Annotated[str, msgspec.Meta(pattern=ONE_LINE_PATTERN)]
Text = Annotated[str, msgspec.Meta(pattern=TEXT_PATTERN)]
Id = Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
Int32 = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
Items = msgspec.Meta(max_length=MAX_ITEMS)
# Query parameters: Litestar reads their bounds from its own Parameter, not from msgspec.Meta.
IdQuery = Annotated[int | None, QueryParameter(ge=1, le=INT64_MAX)]
Int32Query = Annotated[int | None, QueryParameter(ge=0, le=INT32_MAX)]
EventIdQuery = Annotated[int | None, QueryParameter(ge=0, le=INT64_MAX)]

NOT_ALLOWED = N_("This text contains a character that is not allowed.")
ONE_LINE = N_("Write this on one line.")
OUT_OF_WINDOW = N_("Enter a date between %(start)s and %(end)s.")
TOO_DEEP = N_("What you sent is nested too deeply.")
NOT_JSON = N_("Send JSON, with the header Content-Type: application/json.")

_NUL = re.compile(r"\x00")
_HAS_CONTROL = re.compile(rf"[{_CONTROL}]")


def in_window(value: date) -> bool:
    """A date (or the day of a datetime) that every part of the service can show and count
    with: within years 2000 to 2100."""
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= day <= LATEST


def window_params() -> dict[str, str]:
    return {"start": str(EARLIEST.year), "end": str(LATEST.year)}


def text_problem(value: str) -> str | None:
    """The message key for a string a OneLine or Text refused (None: not about characters)."""
    if _NUL.search(value):
        return NOT_ALLOWED
    if _HAS_CONTROL.search(value):
        return ONE_LINE if re.search(r"[\r\n\x85\u2028\u2029]", value) else NOT_ALLOWED
    return None


class Input(msgspec.Struct):
    """Base of the JSON request bodies: checks what msgspec constraints cannot say (the
    window of every date and time field)."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, date) and not in_window(value):
                raise ValueError(
                    f"Expected a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
                    f" - at `$.{name}`"
                )


# --- the middleware ----------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects deeper than `limit` (before anything
    decodes it: the decoder recurses once per level)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _is_json(content_type: bytes) -> bool:
    kind = content_type.split(b";", 1)[0].strip().lower()
    return kind == b"application/json" or (kind.startswith(b"application/") and
                                          kind.endswith(b"+json"))  # fmt: skip


class Boundary(ASGIMiddleware):
    """Runs after routing (the path parameters are read and typed), before the handler."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        for value in (scope.get("path_params") or {}).values():
            if isinstance(value, str) and _HAS_CONTROL.search(value):
                raise NotFoundException()
            if isinstance(value, int) and not 0 <= value <= INT64_MAX:
                raise NotFoundException()  # no row has such an id
        for name, value in _query_items(scope):
            if _NUL.search(value):
                raise DomainError("invalid_character", NOT_ALLOWED, field=name, status=422)
        method = scope.get("method")  # HTTP scopes only (see `scopes`)
        if scope["path"].startswith("/api/") and method in ("POST", "PUT", "PATCH"):
            request: Request[Any, Any, Any] = Request(scope, receive)
            body = await request.body()
            if body or _header(scope, b"content-type"):
                if not _is_json(_header(scope, b"content-type")):
                    raise DomainError("unsupported_media_type", NOT_JSON, status=415)
                if json_depth_exceeds(body):
                    raise DomainError("too_deep", TOO_DEEP, status=422)
        await next_app(scope, receive, send)


def _query_items(scope: Scope) -> list[tuple[str, str]]:
    raw = scope.get("query_string") or b""
    if not raw:
        return []
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
