"""The mandate register: every seat of every role of a space, who holds it today (or that it
is vacant), for which term, by which decision, who comes next and who held it before; filtered
by role, status and holder's name; exported as CSV and JSON with the same filters.

- The badge tells how soon the term ends: green with more than 60 days to the last day,
  orange within 60, red within 30 or for a vacant seat.
- Two queries whatever the number of roles and mandates (the roles, then every mandate of
  the space); the filters apply to those rows here.
- The exports follow the decision register's (decisions/exports.py): CSV for a spreadsheet
  in the reader's language (`;`, a byte order mark, days as YYYY-MM-DD, headers and
  statuses in words), JSON with machine names and ISO 8601 days. One line per mandate, and
  one per vacant seat.

`role_choices` also serves the decision register's role filter (decisions/routes.py).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import asyncpg
import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template

from consentir.db import Connection
from consentir.decisions import exports
from consentir.decisions.search import fold
from consentir.errors import N_
from consentir.mandates import store
from consentir.mandates.routes import END_REASONS, today, when
from consentir.mandates.rules import EndReason
from consentir.mandates.store import Held, Role
from consentir.spaces.routes import space_page
from consentir.spaces.store import SpaceView
from consentir.web.forms import FormInvalid
from consentir.web.i18n import gettext

SOON = 60  # days to the last day: orange from here
VERY_SOON = 30  # red from here
MAX_HOLDER = 100  # characters of a holder's name searched for

# A line's status: machine names (JSON, the filter's values) and words (pages, CSV).
STATUSES = {
    "current": N_("current"),
    "ending_soon": N_("ending soon"),
    "future": N_("to come"),
    "past": N_("past"),
    "vacant": N_("vacant"),
}
# What the status filter offers; "current" includes the terms ending soon.
STATUS_FILTERS = {
    "all": N_("all statuses"),
    "current": N_("current"),
    "ending_soon": N_("ending soon"),
    "vacant": N_("vacant"),
    "past": N_("past"),
}
ALL_ROLES = N_("all roles")
BAD_ROLE = N_("Choose one of the roles in the list.")
BAD_STATUS = N_("Choose one of the statuses in the list.")

# (machine name, header): the JSON keys and the CSV columns, in the same order.
COLUMNS = (
    ("role", N_("Role")),
    ("seat", N_("Seat")),
    ("holder", N_("Holder")),
    ("first_day", N_("First day")),
    ("last_day", N_("Last day")),
    ("ended_on", N_("Ended early on")),
    ("end_reason", N_("End reason")),
    ("decision", N_("Decision")),
    ("status", N_("Status")),
)

Colour = Literal["ok", "soon", "urgent"]


def colour(days_left: int | None) -> Colour:
    """The badge of a seat: `days_left` to the holder's last day (0: it is today), None for a
    vacant seat. Green ("ok") beyond 60 days, orange ("soon") within, red ("urgent") within
    30 days or vacant."""
    if days_left is None or days_left <= VERY_SOON:
        return "urgent"
    return "soon" if days_left <= SOON else "ok"


def status_of(held: Held, day: date) -> str:
    """A mandate's status on `day`: current, ending_soon, future or past."""
    stage = when(held, day)
    if stage == "current" and (held.term.last - day).days <= SOON:
        return "ending_soon"
    return stage


# --- the register's lines and seats ----------------------------------------------------------


class Line(msgspec.Struct, frozen=True):
    """A line of the register: a mandate, or a vacant seat (no holder)."""

    role: Role
    seat: int
    held: Held | None
    status: str


class SeatRow(msgspec.Struct, frozen=True):
    """A seat as the page shows it: its holder today, those to come and those before."""

    role: Role
    number: int
    holder: Held | None  # today; None: vacant, or no longer a seat to fill
    vacant: bool
    days_left: int | None  # to the holder's last day
    colour: Colour | None
    status: str
    future: list[Held]
    past: list[Held]
    open_history: bool  # past holders shown unfolded: the filters found one of them


class Criteria(msgspec.Struct, frozen=True):
    role_id: int | None = None
    status: str = ""  # "" for all
    holder: str = ""  # folded (lower case, no accents)

    def matches(self, line: Line) -> bool:
        if self.role_id is not None and line.role.id != self.role_id:
            return False
        if self.status == "current":
            if line.status not in ("current", "ending_soon"):
                return False
        elif self.status and line.status != self.status:
            return False
        return not self.holder or (
            line.held is not None and self.holder in fold(line.held.holder_name)
        )


def _seats(role: Role, mandates: list[Held], day: date) -> list[tuple[int, list[Held], bool]]:
    """Each seat of the role: its number, its mandates (latest first), and whether it is
    vacant today (a seat of a role in force that nobody holds)."""
    numbers = sorted({*range(1, role.text.seats + 1), *(m.seat for m in mandates)})
    in_force = role.retired_on is None or role.retired_on > day
    seats = []
    for number in numbers:
        held = [m for m in mandates if m.seat == number]
        vacant = (
            in_force and number <= role.text.seats and not any(m.term.covers(day) for m in held)
        )
        seats.append((number, held, vacant))
    return seats


def lines(roles: list[Role], mandates: list[Held], day: date) -> list[list[Line]]:
    """The register's lines, one list per seat, by role (in the roles' order) and seat: the
    vacancy first if there is one, then the mandates, latest first."""
    by_role: dict[int, list[Held]] = {}
    for mandate in mandates:
        by_role.setdefault(mandate.role_id, []).append(mandate)
    found = []
    for role in roles:
        for number, held, vacant in _seats(role, by_role.get(role.id, []), day):
            seat = [Line(role, number, None, "vacant")] if vacant else []
            seat += [Line(role, number, m, status_of(m, day)) for m in held]
            found.append(seat)
    return found


def seat_rows(seats: list[list[Line]], criteria: Criteria, day: date) -> list[SeatRow]:
    """The seats where a line matches the criteria, each with all its holders."""
    rows = []
    for seat in seats:
        matching = [line for line in seat if criteria.matches(line)]
        if not matching:
            continue
        role, number = seat[0].role, seat[0].seat
        mandates = [line.held for line in seat if line.held is not None]
        holder = next((m for m in mandates if m.term.covers(day)), None)
        vacant = any(line.held is None for line in seat)
        days_left = (holder.term.last - day).days if holder else None
        status = (
            "vacant" if vacant
            else status_of(holder, day) if holder
            else ""
        )  # fmt: skip
        future = sorted((m for m in mandates if when(m, day) == "future"), key=lambda m: m.first)
        past = [m for m in mandates if when(m, day) == "past"]
        searched = criteria.status == "past" or bool(criteria.holder)
        rows.append(
            SeatRow(
                role, number, holder, vacant, days_left,
                colour(days_left) if holder or vacant else None, status, future, past,
                searched and any(line.status == "past" for line in matching),
            )
        )  # fmt: skip
    return rows


# --- reading the filters ---------------------------------------------------------------------


class Query(msgspec.Struct, frozen=True):
    """What the register was asked for, as typed (kept to refill the form and build links)."""

    role: str = ""
    status: str = ""
    holder: str = ""

    def values(self) -> dict[str, str]:
        return {"role": self.role, "status": self.status, "holder": self.holder}

    def link(self, base: str) -> str:
        pairs = [
            (k, v) for k, v in self.values().items() if v and not (k == "status" and v == "all")
        ]
        return f"{base}?{urlencode(pairs)}" if pairs else base

    @property
    def filtered(self) -> bool:
        return any(v for k, v in self.values().items() if not (k == "status" and v == "all"))


def _query(role: str, status: str, holder: str) -> Query:
    return Query(role.strip(), status.strip(), " ".join(holder.split())[:MAX_HOLDER])


def role_id(text: str) -> int | None:
    """A role's id as typed in an address, or None when it cannot be one."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def read_criteria(query: Query, roles: list[Role]) -> Criteria:
    """The criteria, or FormInvalid with one message per faulty field."""
    errors: dict[str, str] = {}
    chosen = role_id(query.role)
    if query.role and chosen not in {role.id for role in roles}:
        errors["role"] = gettext(BAD_ROLE)
    status = query.status or "all"
    if status not in STATUS_FILTERS:
        errors["status"] = gettext(BAD_STATUS)
    if errors:
        raise FormInvalid(errors, query.values())
    return Criteria(chosen, "" if status == "all" else status, fold(query.holder))


# --- the page and the exports ----------------------------------------------------------------


async def _read(pool: asyncpg.Pool, space_id: int) -> tuple[list[Role], list[Held]]:
    async with pool.acquire() as conn:
        roles = await store.roles(conn, space_id)
        mandates = await store.space_mandates(conn, space_id)
    return roles, mandates


def _page(here: SpaceView, query: Query, roles: list[Role], rows: list[SeatRow],
          form: FormInvalid, day: date) -> Template:  # fmt: skip
    base = f"/s/{here.space.slug}/mandates"
    return space_page(
        "mandates/register.html", here, 422 if form.errors else 200,
        form=form, query=query, rows=rows, base=base, today=day, end_reasons=END_REASONS,
        role_options=[("", gettext(ALL_ROLES)), *((str(r.id), r.text.name) for r in roles)],
        status_options=[(value, gettext(label)) for value, label in STATUS_FILTERS.items()],
        csv_url=query.link(f"{base}.csv"), json_url=query.link(f"{base}.json"),
        has_roles=bool(roles),
    )  # fmt: skip


@get("/s/{slug:str}/mandates", name="mandate_register")
async def register_page(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    role: FromQuery[str] = "",
    status: FromQuery[str] = "",
    holder: FromQuery[str] = "",
) -> Template:
    """Every seat of every role: its holder today or "vacant", the term and the decision, the
    holders to come and before; filtered by role, status and holder's name."""
    query = _query(role, status, holder)
    roles, mandates = await _read(pool, here.space.id)
    day = today()
    try:
        criteria = read_criteria(query, roles)
    except FormInvalid as invalid:
        return _page(here, query, roles, [], invalid, day)
    rows = seat_rows(lines(roles, mandates, day), criteria, day)
    return _page(here, query, roles, rows, FormInvalid({}, query.values()), day)


class LineOut(msgspec.Struct):
    role: str
    seat: int
    holder: str | None
    first_day: date | None
    last_day: date | None  # the term's last day as granted
    ended_on: date | None  # the last day of a mandate ended early
    end_reason: str | None
    decision: str | None
    status: str


def line_out(line: Line) -> LineOut:
    held = line.held
    if held is None:
        return LineOut(line.role.text.name, line.seat, None, None, None, None, None, None,
                       line.status)  # fmt: skip
    return LineOut(
        line.role.text.name, line.seat, held.holder_name, held.first,
        held.after_last - timedelta(days=1), held.ended_on,
        held.end_reason.value if held.end_reason else None, held.decision_number, line.status,
    )  # fmt: skip


def csv_row(out: LineOut) -> list[str]:
    """A line in the reader's words, days as YYYY-MM-DD (a spreadsheet reads them as dates)."""

    def day(value: date | None) -> str:
        return value.isoformat() if value else ""

    reason = gettext(END_REASONS[EndReason(out.end_reason)]) if out.end_reason else ""
    return [
        out.role, str(out.seat), out.holder or "", day(out.first_day), day(out.last_day),
        day(out.ended_on), reason, out.decision or "", gettext(STATUSES[out.status]),
    ]  # fmt: skip


async def _export(
    here: SpaceView, pool: asyncpg.Pool, role: str, status: str, holder: str, kind: str
) -> Response[Any]:
    query = _query(role, status, holder)
    roles, mandates = await _read(pool, here.space.id)
    day = today()
    try:
        criteria = read_criteria(query, roles)
    except FormInvalid as invalid:  # the register, with the messages next to the fields
        return _page(here, query, roles, [], invalid, day)
    found = [
        line_out(line) for seat in lines(roles, mandates, day) for line in seat
        if criteria.matches(line)
    ]  # fmt: skip
    name = f"mandates-{here.space.slug}-{day.isoformat()}.{kind}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "json":
        return Response(
            msgspec.json.encode(found), media_type="application/json", headers=disposition
        )
    headers = [gettext(header) for _, header in COLUMNS]
    content = exports.BOM + exports.csv_lines([headers, *(csv_row(out) for out in found)])
    return Response(content.encode(), media_type="text/csv", headers=disposition)


@get("/s/{slug:str}/mandates.csv", name="mandate_register_csv")
async def export_csv(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    role: FromQuery[str] = "",
    status: FromQuery[str] = "",
    holder: FromQuery[str] = "",
) -> Response[Any]:
    """The register's lines the filters match, for a spreadsheet in the reader's language:
    one line per mandate, and one per vacant seat."""
    return await _export(here, pool, role, status, holder, "csv")


@get("/s/{slug:str}/mandates.json", name="mandate_register_json")
async def export_json(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    role: FromQuery[str] = "",
    status: FromQuery[str] = "",
    holder: FromQuery[str] = "",
) -> Response[Any]:
    """The same lines for programs: machine names (`ending_soon`, `resigned`), ISO days."""
    return await _export(here, pool, role, status, holder, "json")


# --- the decision register's role filter -----------------------------------------------------


class RoleChoice(msgspec.Struct, frozen=True):
    id: int
    name: str
    decisions: list[int]  # filled for the chosen role only


_ROLE_CHOICES = """
SELECT r.id, v.name,
       CASE WHEN r.id = $2 THEN ARRAY(
           SELECT m.decision_id FROM mandates m WHERE m.space_id = $1 AND m.role_id = r.id
           UNION
           SELECT m.revoking_decision_id FROM mandates m
           WHERE m.space_id = $1 AND m.role_id = r.id AND m.revoking_decision_id IS NOT NULL
           UNION
           SELECT rv.decision_id FROM role_versions rv
           WHERE rv.role_id = r.id AND rv.decision_id IS NOT NULL
       ) ELSE '{}'::bigint[] END AS decisions
FROM roles r JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
WHERE r.space_id = $1
ORDER BY lower(v.name), r.id
"""


async def role_choices(conn: Connection, space_id: int, chosen: int | None) -> list[RoleChoice]:
    """The space's roles by name, in one query; for the `chosen` one, the decisions that
    granted or revoked one of its mandates, or adopted one of its versions (its retirement
    included)."""
    rows = await conn.fetch(_ROLE_CHOICES, space_id, chosen)
    return [RoleChoice(r["id"], r["name"], list(r["decisions"])) for r in rows]


routes = [register_page, export_csv, export_json]
