"""The decision register: search and filters, exports, a decision's page with its whole trail,
its printable page, the review date, and the JSON API.

Everything is scoped to the space at /s/{slug} (`here`: 404 for anyone who may not see it);
anyone who may view the space may read its register; facilitators change review dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Stream, Template
from markupsafe import Markup

from consentir import db
from consentir.accounts.store import User
from consentir.config import Settings
from consentir.consent import labels
from consentir.consent.diff import rendered_diff
from consentir.consent.store import REVIEW_NOTICE_DAYS
from consentir.decisions import exports, reviewing
from consentir.decisions import store as decisions
from consentir.decisions.exports import DecisionOut
from consentir.decisions.search import MAX_QUERY
from consentir.decisions.store import DecisionRow, Filters
from consentir.decisions.trail import Trail, decision_trail
from consentir.errors import N_, DomainError
from consentir.mandates import register as mandate_register
from consentir.mandates.register import RoleChoice
from consentir.markdown import render as render_markdown
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary
from consentir.web.forms import FormInvalid, field_error, parse_form
from consentir.web.i18n import gettext

FormData = URLEncodedBody[dict[str, Any]]

STATUS_CHOICES = {"all": N_("all"), **labels.DECISION_STATUSES}

FILTER_FIELDS = ("q", "status", "adopted_from", "adopted_to", "review_before", "role")
DATE_FIELDS = ("adopted_from", "adopted_to", "review_before")
BAD_DATE = N_("Enter a date like %(example)s.")
BAD_STATUS = N_("Choose one of the statuses in the list.")
BAD_PERIOD = N_("The end of the period comes before its start.")
REVIEW_BEFORE_ADOPTION = N_("The review date cannot come before the adoption date.")


# --- reading the filters ------------------------------------------------------------------


class Query(msgspec.Struct, frozen=True):
    """What the register was asked for, as typed (kept to refill the form and build links)."""

    q: str = ""
    status: str = ""
    adopted_from: str = ""
    adopted_to: str = ""
    review_before: str = ""
    role: str = ""  # a role's id: the decisions that granted its mandates or adopted its text

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FILTER_FIELDS}

    def link(self, base: str, **extra: str | None) -> str:
        """`base` with the filters that are set, and `extra` (None: left out)."""
        pairs = [
            (k, v) for k, v in self.values().items() if v and not (k == "status" and v == "all")
        ]
        pairs += [(k, v) for k, v in extra.items() if v]
        return f"{base}?{urlencode(pairs)}" if pairs else base

    @property
    def filtered(self) -> bool:
        return any(v for k, v in self.values().items() if not (k == "status" and v == "all"))


def _query(
    q: str, status: str, adopted_from: str, adopted_to: str, review_before: str, role: str = ""
) -> Query:
    return Query(
        " ".join(q.split())[:MAX_QUERY],
        status.strip(),
        adopted_from.strip(),
        adopted_to.strip(),
        review_before.strip(),
        role.strip(),
    )


def read_filters(query: Query, roles: Sequence[RoleChoice] = ()) -> Filters:
    """The store's Filters, or FormInvalid with one message per faulty field. `roles`: the
    space's, the chosen one with its decisions (mandates.register.role_choices)."""
    errors: dict[str, str] = {}
    among: tuple[int, ...] | None = None
    if query.role:
        chosen = next((r for r in roles if str(r.id) == query.role), None)
        if chosen is None:
            errors["role"] = gettext(mandate_register.BAD_ROLE)
        else:
            among = tuple(chosen.decisions)
    status = query.status or "all"
    if status not in STATUS_CHOICES:
        errors["status"] = gettext(BAD_STATUS)
    days: dict[str, date | None] = {}
    for name in DATE_FIELDS:
        raw = getattr(query, name)
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = gettext(BAD_DATE) % {"example": "2026-03-31"}
            continue
        if day is not None and not boundary.in_window(day):
            errors[name] = gettext(boundary.OUT_OF_WINDOW) % boundary.window_params()
            continue
        days[name] = day
    start, end = days.get("adopted_from"), days.get("adopted_to")
    if start and end and end < start:
        errors["adopted_to"] = gettext(BAD_PERIOD)
    if errors:
        raise FormInvalid(errors, query.values())
    return Filters(
        q=query.q,
        status="" if status == "all" else status,
        adopted_from=start,
        adopted_to=end,
        review_before=days.get("review_before"),
        among=among,
    )


# --- pages ---------------------------------------------------------------------------------


def _page(
    name: str,
    here: SpaceView,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Template:
    return space_page(
        name, here, status, dict(headers or {}), **labels.CONTEXT, **context,
        today=datetime.now(UTC).date(),
    )  # fmt: skip


def _wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """An htmx request for the results region (not a history restore, not a whole page)."""
    return _from_htmx(request) and request.headers.get("hx-request-type", "partial") == "partial"


def _from_htmx(request: Request[Any, Any, Any]) -> bool:
    headers = request.headers
    return (
        headers.get("hx-request") == "true" and headers.get("hx-history-restore-request") != "true"
    )


def _register_base(here: SpaceView) -> str:
    return f"/s/{here.space.slug}/decisions"


@get("/s/{slug:str}/decisions", name="decisions")
async def register_page(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
    adopted_from: FromQuery[str] = "",
    adopted_to: FromQuery[str] = "",
    review_before: FromQuery[str] = "",
    role: FromQuery[str] = "",
    after: FromQuery[str] = "",
) -> Template:
    """The register, newest first, 50 at a time; the same address answers htmx with the
    results region only."""
    query = _query(q, status, adopted_from, adopted_to, review_before, role)
    return await _register(request, here, pool, query, after)


async def _register(
    request: Request[Any, Any, Any],
    here: SpaceView,
    pool: asyncpg.Pool,
    query: Query,
    after: str = "",
    *,
    errors: dict[str, str] | None = None,
    code: int = 422,
) -> Template:
    base = _register_base(here)
    rows: list[DecisionRow] = []
    next_cursor: str | None = None
    form = FormInvalid(dict(errors or {}), query.values())
    async with pool.acquire() as conn:
        roles = await mandate_register.role_choices(
            conn, here.space.id, mandate_register.role_id(query.role)
        )
        if not form.errors:
            try:
                filters = read_filters(query, roles)
                rows, next_cursor = await decisions.register(
                    conn, here.space.id, filters, after=after or None, links=True
                )
            except FormInvalid as invalid:
                form, code = invalid, 422
            except DomainError as error:  # a page address (cursor) that means nothing
                form, code = field_error(error), error.status
                form.values = query.values()
    context = {
        "form": form,
        "rows": rows,
        "query": query,
        "after": after,
        "base": base,
        "next_url": query.link(base, after=next_cursor) if next_cursor else None,
        "first_url": query.link(base),
        "csv_url": query.link(f"{base}/export", format="csv"),
        "json_url": query.link(f"{base}/export", format="json"),
        "status_options": [(value, gettext(label)) for value, label in STATUS_CHOICES.items()],
        "role_options": [
            ("", gettext(mandate_register.ALL_ROLES)),
            *((str(r.id), r.name) for r in roles),
        ],
    }
    status = code if form.errors else 200
    headers = {"Vary": "HX-Request, HX-Request-Type, HX-History-Restore-Request"}
    if _wants_fragment(request) and not form.errors:
        return _page("decisions/_results.html", here, status, headers, **context)
    if form.errors and _from_htmx(request):
        # Show the messages next to the fields: swap the whole register, not only the results.
        headers.update({
            "HX-Retarget": "#decision-register",
            "HX-Reswap": "outerHTML",
            "HX-Reselect": "#decision-register",
            "HX-Push-Url": "false",
        })  # fmt: skip
    return _page("decisions/register.html", here, status, headers, **context)


# --- exports -------------------------------------------------------------------------------


def _out(settings: Settings, here: SpaceView, row: DecisionRow) -> DecisionOut:
    return exports.out(settings.public_url, here.space.slug, row)


@get("/s/{slug:str}/decisions/export", name="decisions_export")
async def export(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
    format: FromQuery[Literal["csv", "json"]] = "csv",  # the query's name
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
    adopted_from: FromQuery[str] = "",
    adopted_to: FromQuery[str] = "",
    review_before: FromQuery[str] = "",
    role: FromQuery[str] = "",
) -> Response[Any]:
    """All the decisions the filters match, streamed: CSV for a spreadsheet in the reader's
    language, JSON with machine names and UTC times (see `exports`)."""
    query = _query(q, status, adopted_from, adopted_to, review_before, role)
    roles: list[RoleChoice] = []
    if query.role:
        async with pool.acquire() as conn:
            chosen = mandate_register.role_id(query.role)
            roles = await mandate_register.role_choices(conn, here.space.id, chosen)
    try:
        filters = read_filters(query, roles)
    except FormInvalid as invalid:  # the register, with the messages next to the fields
        return await _register(request, here, pool, query, errors=invalid.errors)
    name = f"decisions-{here.space.slug}-{datetime.now(UTC).date().isoformat()}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    rows = exports.pages(pool, here.space.id, filters)
    if format == "json":
        return Stream(
            exports.json_chunks(rows, settings.public_url, here.space.slug),
            media_type="application/json",
            headers=disposition,
        )
    slug, public_url = here.space.slug, settings.public_url
    return Stream(
        exports.csv_chunks(
            rows, exports.CsvWords.now(), lambda n: exports.decision_url(public_url, slug, n)
        ),
        media_type="text/csv",  # Litestar adds "; charset=utf-8"
        headers=disposition,
    )


# --- a decision and its trail --------------------------------------------------------------


def _version_diffs(trail: Trail) -> dict[int, dict[str, Markup | None]]:
    """For each version after the first: what changed in its driver and body, as they read
    (formatted; None when that part did not change)."""
    diffs: dict[int, dict[str, Markup | None]] = {}
    for before, after in zip(trail.versions, trail.versions[1:], strict=False):
        diffs[after.number] = {
            part: rendered_diff(old, new, top_heading=5) if old != new else None
            for part, old, new in (
                ("driver", before.driver, after.driver),
                ("body", before.body, after.body),
            )
        }
    return diffs


def _decision_page(
    here: SpaceView,
    trail: Trail,
    *,
    printing: bool = False,
    status: int = 200,
    form: FormInvalid | None = None,
    saved: str = "",
) -> Template:
    return _page(
        "decisions/page.html",
        here,
        status,
        decision=trail,
        diffs=_version_diffs(trail),
        markdown=render_markdown,
        printing=printing,
        form=form or FormInvalid({}, {"review_on": trail.review_on.isoformat()}),
        saved=saved,
        base=_register_base(here),
        # Shown as due for review (to facilitators: a review to open) from this many days
        # before its date, as on the dashboard.
        review_from=datetime.now(UTC).date() + timedelta(days=REVIEW_NOTICE_DAYS),
        review_outcomes=reviewing.OUTCOMES,
        outcome_names=reviewing.OUTCOME_NAMES,
    )


@get("/s/{slug:str}/decisions/{number:str}", name="decision")
async def decision_page(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    number: FromPath[str],
    saved: FromQuery[str] = "",
) -> Template:
    async with pool.acquire() as conn:
        trail = await decision_trail(conn, here.space.id, number)
    return _decision_page(here, trail, saved=saved)


@get("/s/{slug:str}/decisions/{number:str}/print", name="decision_print")
async def decision_print(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    number: FromPath[str],
) -> Template:
    async with pool.acquire() as conn:
        trail = await decision_trail(conn, here.space.id, number)
    return _decision_page(here, trail, printing=True)


class ReviewForm(msgspec.Struct):
    review_on: date


@post("/s/{slug:str}/decisions/{number:str}/review")
async def change_review_date(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    number: FromPath[str],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    """Facilitators set when a decision comes up for review."""
    require(here.standing, Action.FACILITATE)
    try:
        form = parse_form(ReviewForm, data)
        async with db.transaction(pool) as conn:
            current = await decisions.by_number(conn, here.space.id, number)
            if form.review_on < current["adopted_at"].date():
                raise DomainError(
                    "review_before_adoption", REVIEW_BEFORE_ADOPTION, field="review_on"
                )
            await decisions.set_review_date(conn, here.space.id, number, form.review_on, me.id)
    except (FormInvalid, DomainError) as refused:
        if isinstance(refused, DomainError):
            if refused.status == 404:
                raise
            problem = field_error(refused)
            problem.values = {k: str(v) for k, v in data.items()}
        else:
            problem = refused
        async with pool.acquire() as conn:
            trail = await decision_trail(conn, here.space.id, number)
        return _decision_page(here, trail, status=422, form=problem)
    return Redirect(
        f"/s/{here.space.slug}/decisions/{quote(number)}?saved=review#review", status_code=303
    )


# --- JSON API (Bearer tokens) --------------------------------------------------------------


class DecisionPage(msgspec.Struct):
    decisions: list[DecisionOut]
    next: str | None  # the address of the next page, if any


StatusFilter = Literal["", "all", "in_force", "superseded", "repealed"]
SearchText = Annotated[str, msgspec.Meta(max_length=MAX_QUERY)]


@get("/api/v1/spaces/{slug:str}/decisions", tags=["decisions"], summary="A space's decisions")
async def api_decisions(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
    q: FromQuery[SearchText] = "",
    status: FromQuery[StatusFilter] = "",
    adopted_from: FromQuery[date | None] = None,
    adopted_to: FromQuery[date | None] = None,
    review_before: FromQuery[date | None] = None,
    after: FromQuery[str | None] = None,
) -> DecisionPage:
    """Newest first, 50 at a time; `q` searches the text in French, accents ignored. Follow
    `next` for more."""
    query = Query(
        " ".join(q.split()),
        status,
        adopted_from.isoformat() if adopted_from else "",
        adopted_to.isoformat() if adopted_to else "",
        review_before.isoformat() if review_before else "",
    )
    try:
        filters = read_filters(query)
    except FormInvalid as invalid:
        field, message = next(iter(invalid.errors.items()))
        raise DomainError("invalid_filter", message, field=field) from None
    async with pool.acquire() as conn:
        rows, next_cursor = await decisions.register(conn, here.space.id, filters, after=after)
    base = f"/api/v1/spaces/{quote(here.space.slug)}/decisions"
    return DecisionPage(
        [_out(settings, here, row) for row in rows],
        query.link(base, after=next_cursor) if next_cursor else None,
    )


@get(
    "/api/v1/spaces/{slug:str}/decisions/{number:str}",
    tags=["decisions"],
    summary="A decision with its trail",
)
async def api_decision(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    number: FromPath[str],
) -> Trail:
    """The decision, and how it was reached: versions, rounds and positions, questions,
    reactions, objections and how each ended."""
    async with pool.acquire() as conn:
        return await decision_trail(conn, here.space.id, number)


routes = [
    register_page,
    export,
    decision_page,
    decision_print,
    change_review_date,
    api_decisions,
    api_decision,
]
