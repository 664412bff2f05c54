"""Meetings: planning, the participant's screen, the facilitator's console, the projector
view, the calendar file and the minutes. Live: every screen listens to the space's event
stream (/live/s/{slug}) and fetches its state fragment again when the meeting or its
proposal changes; without JavaScript, a reload shows the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.consent import labels
from consentir.consent import store as proposals
from consentir.consent.routes import proposal_context
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.markdown import render as render_markdown
from consentir.meetings import calendar, minutes, rules, store
from consentir.meetings.rules import Move, Presence, Roles, State
from consentir.spaces import store as spaces
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, allowed, require
from consentir.spaces.store import SpaceView
from consentir.web import boundary, idempotency
from consentir.web.forms import FormInvalid, parse_form
from consentir.web.i18n import aware, gettext

FormData = URLEncodedBody[dict[str, Any]]

PRESENCE_NAMES = {
    "invited": N_("not recorded"),
    "present": N_("present"),
    "remote": N_("remote"),
    "excused": N_("excused"),
    "absent": N_("absent"),
}
ALREADY_ON_AGENDA = N_("This proposal is already on the agenda.")
STATE_NAMES = {"planned": N_("planned"), "open": N_("under way"), "closed": N_("closed")}


def roles_of(here: SpaceView, me: User, meeting: store.Meeting) -> Roles:
    """The viewer's roles in this meeting. Being named facilitator or secretary gives the
    role only to someone who may act in the space now (the same standing as everything
    else: a member who has not signed the current charter reads, not acts)."""
    acts = allowed(here.standing, Action.PARTICIPATE)
    return Roles(
        me.id,
        facilitator=(me.id == meeting.facilitator_id and acts)
        or allowed(here.standing, Action.FACILITATE),
        secretary=me.id == meeting.secretary_id and acts,
    )


def _page(name: str, here: SpaceView, status: int = 200, **context: Any) -> Template:
    return space_page(
        name, here, status, **{**labels.CONTEXT, "presence_names": PRESENCE_NAMES,
                               "state_names": STATE_NAMES, "render": render_markdown, **context},
    )  # fmt: skip


# --- planning -----------------------------------------------------------------------------


@get("/s/{slug:str}/meetings", name="meetings")
async def meetings_page(
    here: NamedDependency[SpaceView], pool: NamedDependency[asyncpg.Pool]
) -> Template:
    async with pool.acquire() as conn:
        found = await store.listing(conn, here.space.id)
    return _page("meetings/list.html", here, meetings=found)


async def _open_proposals(conn: Connection, space_id: int) -> list[proposals.Listed]:
    """What may go on an agenda: the space's proposals under way (not drafts, but for an
    election's: its nominations then open in the meeting, with those present on the list)."""
    found, _more = await proposals.listing(
        conn, space_id, 0, may_see_drafts=False, group=proposals.ListGroup.ACTIVE,
        election_drafts=True,
    )  # fmt: skip
    return found


async def _agenda_titles(
    conn: Connection, space_id: int, proposal_ids: list[int]
) -> dict[int, str]:
    """Of these proposals, those that may go on an agenda, by id, with their titles."""
    return await proposals.titles_under_way(conn, space_id, proposal_ids)


async def _plan_choices(conn: Connection, here: SpaceView) -> dict[str, Any]:
    """Who may run or take the minutes of a meeting (everyone who may act in the space, its
    parent's members included when it includes them), as the choices of a select (value,
    name), and proposals for the agenda."""
    people = [(str(p.user_id), p.name) for p in await spaces.acting_people(conn, here.space.id)]
    return {"people": people, "open_proposals": await _open_proposals(conn, here.space.id)}


@get("/s/{slug:str}/meetings/new")
async def new_meeting(
    here: NamedDependency[SpaceView], me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool]
) -> Template:
    require(here.standing, Action.FACILITATE)
    async with pool.acquire() as conn:
        choices = await _plan_choices(conn, here)
    return _page("meetings/new.html", here, form=None, values={"facilitator": me.id},
                 new_key=idempotency.new_key, **choices)  # fmt: skip


Title = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=200)]
Place = Annotated[boundary.OneLine, msgspec.Meta(max_length=300)]
# `(?![\s\S])`: the end of the text (see boundary.py); no space nor control character.
Url = Annotated[
    str, msgspec.Meta(max_length=500, pattern=r"^(https?://[^\s\x00-\x1f\x7f]+)?(?![\s\S])")
]


class PlanForm(msgspec.Struct):
    title: Title
    starts_at: datetime
    facilitator: boundary.Id | None = None  # default: whoever plans it
    duration_min: Annotated[int, msgspec.Meta(ge=5, le=1440)] = 120
    place: Place = ""
    video_url: Url = ""
    secretary: boundary.Id | None = None
    # agenda: proposals to run, in this order
    proposals: Annotated[list[boundary.Id], boundary.Items] = []
    information: Annotated[boundary.Text, msgspec.Meta(max_length=2000)] = ""  # one per line


@post("/s/{slug:str}/meetings")
async def create_meeting(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    data: FormData,
) -> Response[Any]:
    require(here.standing, Action.FACILITATE)
    async with db.transaction(pool) as conn:
        try:
            form = parse_form(PlanForm, data)
            # Checked against the whole space (its choices are read only to show the form
            # again).
            members = await spaces.acting_member_ids(conn, here.space.id)
            for name, person in (("facilitator", form.facilitator), ("secretary", form.secretary)):
                if person is not None and person not in members:
                    raise FormInvalid({name: gettext("Choose a member of the space.")}, data)
            titles = await _agenda_titles(conn, here.space.id, form.proposals)
            if any(pid not in titles for pid in form.proposals):
                raise FormInvalid(
                    {"proposals": gettext("Choose proposals under way in this space.")}, data
                )
            # Sent twice (double click): one meeting; the second answer leads to it too.
            page = f"/s/{here.space.slug}/meetings"
            replay = await idempotency.claim_form(conn, me.id, data, page, form)
            if replay is not None:
                return replay.redirect(page)
        except FormInvalid as invalid:
            choices = await _plan_choices(conn, here)
            return _page("meetings/new.html", here, 422, form=invalid, values=data,
                         new_key=idempotency.new_key, **choices)  # fmt: skip
        items = [
            store.NewItem("proposal", titles[pid], pid) for pid in dict.fromkeys(form.proposals)
        ]
        items += [
            store.NewItem("information", line.strip()[:200])
            for line in form.information.splitlines()
            if line.strip()
        ]
        starts = aware(form.starts_at)
        meeting_id = await store.create(
            conn, here.space.id, me.id,
            store.Plan(form.title, starts, form.duration_min, form.place, form.video_url,
                       form.facilitator or me.id, form.secretary, items),
        )  # fmt: skip
        location = f"{page}/{meeting_id}"
        await idempotency.record_form(conn, me.id, data, location)
    return Redirect(location, status_code=303)


# --- the screens --------------------------------------------------------------------------


async def _screen(
    conn: Connection, here: SpaceView, me: User, meeting_id: int, *, console: bool = False
) -> dict[str, Any]:
    """What every screen of a meeting shows: the meeting, the viewer's roles, and, for a
    proposal under way, its state and forms (returning to this meeting)."""
    meeting = await store.load(conn, here.space.id, meeting_id)
    context: dict[str, Any] = {"meeting": meeting, "roles": roles_of(here, me, meeting)}
    item = meeting.item
    if item is not None and item.proposal_id is not None and meeting.state is State.OPEN:
        try:
            context.update(await proposal_context(conn, here, me, item.proposal_id))
        except DomainError as hidden:
            # An election's draft, seen only by the facilitators until its nominations open:
            # the others' screens say the item is being prepared (and follow it, see _live).
            if hidden.status != 404:
                raise
            context["item_pending"] = True
    if console and context["roles"].facilitator and meeting.state is not State.CLOSED:
        # What may still be added: a proposal already on the agenda is not offered twice.
        listed = {i.proposal_id for i in meeting.items}
        found = await _open_proposals(conn, here.space.id)
        context["open_proposals"] = [p for p in found if p.id not in listed]
    context["now"] = datetime.now(UTC)
    context["base_meeting"] = f"/s/{here.space.slug}/meetings/{meeting.id}"
    return context


View = Literal["participant", "console", "screen"]
SUFFIX: dict[str, str] = {"participant": "", "console": "/console", "screen": "/screen"}


async def _show(
    pool: asyncpg.Pool, here: SpaceView, me: User, meeting_id: int, view: View, template: str
) -> Template:
    """A meeting's screen: the participant's (phone first), the facilitator's console, or
    the projector's (large type, the same state, no controls)."""
    async with pool.acquire() as conn:
        context = await _screen(conn, here, me, meeting_id, console=view == "console")
    if view == "console":
        rules.require_facilitator(context["roles"])
    # Forms sent from this screen come back to it (the projector has none).
    back = None if view == "screen" else f"/s/{here.space.slug}/meetings/{meeting_id}{SUFFIX[view]}"
    return _page(template, here, view=view, back=back, **context)


@get("/s/{slug:str}/meetings/{meeting_id:int}", name="meeting")
async def meeting_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
) -> Template:
    return await _show(pool, here, me, meeting_id, "participant", "meetings/page.html")


@get("/s/{slug:str}/meetings/{meeting_id:int}/console")
async def console_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
) -> Template:
    return await _show(pool, here, me, meeting_id, "console", "meetings/page.html")


@get("/s/{slug:str}/meetings/{meeting_id:int}/screen")
async def projector_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
) -> Template:
    return await _show(pool, here, me, meeting_id, "screen", "meetings/screen.html")


@get("/s/{slug:str}/meetings/{meeting_id:int}/live")
async def live_fragment(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
    view: FromQuery[View] = "participant",
) -> Template:
    """The part of a screen that changes, fetched again (htmx) when the stream says so."""
    return await _show(pool, here, me, meeting_id, view, "meetings/_live.html")


@get("/s/{slug:str}/meetings/{meeting_id:int}/meeting.ics")
async def ics_file(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
) -> Response[bytes]:
    async with pool.acquire() as conn:
        meeting = await store.load(conn, here.space.id, meeting_id)
    body = calendar.event(meeting, here.space.name, uid_host="consentir")
    return Response(
        body, media_type="text/calendar",  # Litestar adds "; charset=utf-8" to text/* types
        headers={"content-disposition": f'attachment; filename="meeting-{meeting.id}.ics"'},
    )  # fmt: skip


# --- the console's actions ----------------------------------------------------------------

SPEAKER_MAX, ROUND_MAX = 3600, 14400  # seconds, as the meetings table allows
TIMER_MIN = 5
# Everyone invited, in one form (a large space invites more than a request's usual list).
ATTENDANCE_MAX = msgspec.Meta(max_length=2000)

Verb = Literal[
    "open",
    "close",
    "item",
    "add",
    "remove",
    "presence",
    "attendance",
    "circle",
    "move",
    "timer",
    "notes",
]
VERBS: tuple[str, ...] = Verb.__args__  # type: ignore[attr-defined]


class ConsoleForm(msgspec.Struct, kw_only=True):
    position: boundary.Int32 | None = None  # item, remove
    proposal: boundary.Id | None = None  # add: a proposal under way…
    title: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""  # …or information
    person: boundary.Id | None = None  # presence, circle (who starts)
    presence: Presence | None = None
    move: Move | None = None
    timer: Literal["speaker", "round"] | None = None
    do: Literal["start", "pause", "reset"] | None = None
    # timer's reset: minutes and seconds (the console's fields), or seconds alone (900)
    minutes: Annotated[int, msgspec.Meta(ge=0, le=ROUND_MAX // 60)] | None = None
    seconds: Annotated[int, msgspec.Meta(ge=0, le=ROUND_MAX)] | None = None
    # attendance: the whole list at once, one presence per person, in the same order
    people: Annotated[list[boundary.Id], ATTENDANCE_MAX] = []
    presences: Annotated[list[Presence], ATTENDANCE_MAX] = []
    notes: Annotated[boundary.Text, msgspec.Meta(max_length=20000)] = ""
    publish: bool = False
    back: Annotated[boundary.OneLine, msgspec.Meta(max_length=200)] = ""
    revision: boundary.Int32 | None = None  # the meeting's, as the screen showed it


async def _apply(
    conn: Connection, meeting: store.Meeting, roles: Roles, verb: str, form: ConsoleForm
) -> dict[str, Any] | None:
    """One console action on the locked meeting; what its journal event records (None:
    nothing changed, nothing to record)."""
    now = datetime.now(UTC)
    if verb == "notes":
        rules.require_secretary(roles)
        rules.require_state(meeting.state, State.CLOSED)
        if meeting.minutes_published_at is not None:
            raise rules.MeetingRefused(rules.Refusal.ALREADY_PUBLISHED)
        await store.save_notes(conn, meeting, form.notes, publish=form.publish, now=now)
        return {"published": form.publish}
    rules.require_facilitator(roles)
    if verb == "presence":
        if meeting.state is State.CLOSED:
            raise rules.MeetingRefused(rules.Refusal.NOT_OPEN)
        if form.person is None or form.presence is None:
            raise FormInvalid({"presence": gettext("Choose a person and their presence.")}, {})
        await store.set_presence(conn, meeting, form.person, form.presence)
        return {"person": form.person, "presence": str(form.presence)}
    if verb == "attendance":
        if meeting.state is State.CLOSED:
            raise rules.MeetingRefused(rules.Refusal.NOT_OPEN)
        if not form.people or len(form.people) != len(form.presences):
            raise FormInvalid({"presences": gettext("Choose a presence for each person.")}, {})
        changed = await store.set_attendance(
            conn, meeting, dict(zip(form.people, form.presences, strict=True))
        )
        if not changed:
            return None  # nothing to record: the list was saved as it stood
        return {"presences": [{"person": p, "presence": str(v)} for p, v in changed.items()]}
    if verb in ("add", "remove"):
        if meeting.state is State.CLOSED:
            raise rules.MeetingRefused(rules.Refusal.NOT_OPEN)
        return await _edit_agenda(conn, meeting, verb, form)
    if verb == "open":
        rules.require_state(meeting.state, State.PLANNED)
        await store.set_state(conn, meeting, State.OPEN, now)
        return {}
    rules.require_state(meeting.state, State.OPEN)
    match verb:
        case "close":
            await store.set_state(conn, meeting, State.CLOSED, now)
            return {}
        case "item":
            if form.position is None or form.position not in {i.position for i in meeting.items}:
                raise rules.MeetingRefused(rules.Refusal.NO_SUCH_ITEM)
            await store.go_to_item(conn, meeting, form.position, now)
            return {"item": form.position}
        case "circle":
            circle = rules.start_circle(meeting.present, form.person or 0)
            await store.set_circle(conn, meeting, circle, now)
            return {"first": form.person}
        case "move":
            circle = rules.move(meeting.circle, form.move or Move.NEXT)
            await store.set_circle(conn, meeting, circle, now)
            return {"move": str(form.move or Move.NEXT), "speaker": circle.current}
        case "timer":
            if form.timer is None:
                raise FormInvalid({"timer": gettext("This field is required.")}, {})
            speaker, whole = meeting.speaker_timer, meeting.round_timer
            timer = speaker if form.timer == "speaker" else whole
            match form.do:
                case "start":
                    timer = timer.start(now)
                case "pause":
                    timer = timer.pause(now)
                case _:
                    timer = timer.reset(_duration(form))
            if form.timer == "speaker":
                speaker = timer
            else:
                whole = timer
            await store.set_timers(conn, meeting, speaker, whole)
            return {"timer": form.timer, "do": form.do or "reset", "seconds": timer.seconds}
    raise DomainError("unknown_step", N_("This step does not exist."), status=404)


def _duration(form: ConsoleForm) -> int | None:
    """A timer's new length in seconds: the console's minutes and seconds, or seconds alone
    (as before); None: unchanged. Out of bounds: refused next to the field."""
    limit = SPEAKER_MAX if form.timer == "speaker" else ROUND_MAX
    if form.minutes is not None:
        total = form.minutes * 60 + (form.seconds or 0)
        if not TIMER_MIN <= total <= limit:
            message = gettext("Enter a duration between %(low)s seconds and %(high)s minutes.")
            raise FormInvalid({"minutes": message % {"low": TIMER_MIN, "high": limit // 60}}, {})
        return total
    if form.seconds is not None and not TIMER_MIN <= form.seconds <= limit:
        raise FormInvalid(
            {"seconds": gettext("Enter a number between %(low)s and %(high)s.")
             % {"low": TIMER_MIN, "high": limit}}, {},
        )  # fmt: skip
    return form.seconds


async def _edit_agenda(
    conn: Connection, meeting: store.Meeting, verb: str, form: ConsoleForm
) -> dict[str, Any]:
    if verb == "remove":
        gone = next((i for i in meeting.items if i.position == form.position), None)
        if gone is None:
            raise rules.MeetingRefused(rules.Refusal.NO_SUCH_ITEM)
        if gone.started_at is not None:
            raise rules.MeetingRefused(rules.Refusal.ITEM_STARTED)
        await store.remove_item(conn, meeting, gone.position)
        return {"removed": gone.title}
    if form.proposal is not None:
        # Any proposal of the space under way (not only the list's first page), once.
        titles = await _agenda_titles(conn, meeting.space_id, [form.proposal])
        if form.proposal in {i.proposal_id for i in meeting.items}:
            raise FormInvalid({"proposal": gettext(ALREADY_ON_AGENDA)}, {})
        if form.proposal not in titles:
            raise FormInvalid(
                {"proposal": gettext("Choose proposals under way in this space.")}, {}
            )
        item = store.NewItem("proposal", titles[form.proposal], form.proposal)
    elif form.title.strip():
        item = store.NewItem("information", form.title.strip())
    else:
        raise FormInvalid({"title": gettext("Choose a proposal or give the item a title.")}, {})
    position = await store.add_item(conn, meeting, item)
    return {"added": item.title, "position": position}


# Actions that cannot be undone: the console asks first, and takes them only with
# `confirm=yes`, which only the confirmation's own form sends (as for a proposal's steps).
IRREVERSIBLE = frozenset({"close"})


async def _confirmation(
    pool: asyncpg.Pool, here: SpaceView, me: User, meeting_id: int, form: ConsoleForm
) -> dict[str, Any] | None:
    """The console's context for "are you sure?" if the meeting may be closed now; None if
    not: the action is then refused with the rule's message (asking first would only hide
    the refusal behind a confirmation)."""
    async with pool.acquire() as conn:
        context = await _screen(conn, here, me, meeting_id, console=True)
    meeting = context["meeting"]
    try:
        rules.require_facilitator(context["roles"])
        rules.require_fresh(meeting.revision, form.revision)
        rules.require_state(meeting.state, State.OPEN)
    except rules.MeetingRefused:
        return None
    return context


@post("/s/{slug:str}/meetings/{meeting_id:int}/{verb:str}")
async def console_action(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
    verb: FromPath[str],
    data: FormData,
) -> Response[Any]:
    """Every action of the console (and the secretary's notes): one transaction each, with
    its journal event; refused: the console again with the rule's message."""
    if verb not in VERBS:
        raise DomainError("unknown_step", N_("This step does not exist."), status=404)
    try:
        form = parse_form(ConsoleForm, data)
        if verb in IRREVERSIBLE and data.get("confirm") != "yes":
            asking = await _confirmation(pool, here, me, meeting_id, form)
            if asking is not None:  # nothing changed: the console asks, with the real form
                back = f"/s/{here.space.slug}/meetings/{meeting_id}/console"
                return _page("meetings/page.html", here, view="console", back=back,
                             confirming=f"{verb}-meeting", **asking)  # fmt: skip
        async with db.transaction(pool) as conn:
            meeting = await store.load(conn, here.space.id, meeting_id, lock=True)
            roles = roles_of(here, me, meeting)
            rules.require_fresh(meeting.revision, form.revision)
            recorded = await _apply(conn, meeting, roles, verb, form)
            if recorded is not None:
                await store.record(conn, meeting, me.id, verb, recorded)
    except (FormInvalid, DomainError) as refused:
        if isinstance(refused, DomainError) and refused.status in (403, 404):
            raise
        message = (  # form errors come translated already
            next(iter(refused.errors.values()))
            if isinstance(refused, FormInvalid)
            else gettext(refused.message)
        )
        async with pool.acquire() as conn:
            context = await _screen(conn, here, me, meeting_id, console=True)
        name = "meetings/minutes.html" if verb == "notes" else "meetings/page.html"
        if name == "meetings/minutes.html":
            context.update(await _minutes_context(pool, here, context["meeting"]))
        view = "console" if context["roles"].facilitator else "participant"
        back = f"/s/{here.space.slug}/meetings/{meeting_id}{SUFFIX[view]}"
        # A form's mistake is also shown next to its field, with what was sent.
        fields = refused.errors if isinstance(refused, FormInvalid) else {}
        return _page(name, here, 409 if isinstance(refused, DomainError) else 422,
                     view=view, back=back, refusal=message, console_errors=fields,
                     console_sent={"verb": verb, **{k: _last(v) for k, v in data.items()}},
                     **context)  # fmt: skip
    suffix = "/minutes" if verb == "notes" else f"/console#{SECTION.get(verb, 'meeting-live')}"
    return Redirect(f"/s/{here.space.slug}/meetings/{meeting_id}{suffix}", status_code=303)


# Without JavaScript, the console comes back at the part acted on (its pane or section).
SECTION = {
    "item": "console-agenda", "circle": "console-speaking", "move": "console-speaking",
    "timer": "console-timers", "presence": "console-attendance",
    "attendance": "console-attendance", "add": "console-agenda-edit",
    "remove": "console-agenda-edit",
}  # fmt: skip


def _last(value: Any) -> str:
    """One form value as text (a repeated name: its last value)."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value)


# --- minutes ------------------------------------------------------------------------------


async def _minutes_context(
    pool: asyncpg.Pool, here: SpaceView, meeting: store.Meeting
) -> dict[str, Any]:
    async with pool.acquire() as conn:
        return {"minutes": await minutes.build(conn, here.space.id, meeting)}


async def _readable_minutes(
    conn: Connection, here: SpaceView, me: User, meeting_id: int
) -> tuple[store.Meeting, Roles, minutes.Minutes]:
    """The minutes, for those who may read them: everyone once published; the secretary and
    the facilitators before (for the others they do not exist yet)."""
    meeting = await store.load(conn, here.space.id, meeting_id)
    roles = roles_of(here, me, meeting)
    if meeting.minutes_published_at is None and not (roles.secretary or roles.facilitator):
        raise DomainError("minutes_not_published", N_("The minutes are not published yet."),
                          status=404)  # fmt: skip
    return meeting, roles, await minutes.build(conn, here.space.id, meeting)


@get("/s/{slug:str}/meetings/{meeting_id:int}/minutes")
async def minutes_page(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
) -> Template:
    """The minutes (procès-verbal): drafted from the journal when the meeting closes; members
    see them once published, the secretary and facilitators before."""
    async with pool.acquire() as conn:
        meeting, roles, built = await _readable_minutes(conn, here, me, meeting_id)
    return _page("meetings/minutes.html", here, meeting=meeting, roles=roles, minutes=built,
                 refusal=None)  # fmt: skip


@get("/s/{slug:str}/meetings/{meeting_id:int}/minutes.md")
async def minutes_markdown(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    meeting_id: FromPath[int],
) -> Response[str]:
    async with pool.acquire() as conn:
        meeting, _roles, built = await _readable_minutes(conn, here, me, meeting_id)
    return Response(
        minutes.markdown(built, here.space.name),
        media_type="text/markdown",  # Litestar adds "; charset=utf-8" to text/* types
        headers={"content-disposition": f'attachment; filename="minutes-{meeting.id}.md"'},
    )


routes = [
    meetings_page, new_meeting, create_meeting, meeting_page, console_page, projector_page,
    live_fragment, ics_file, console_action, minutes_page, minutes_markdown,
]  # fmt: skip
