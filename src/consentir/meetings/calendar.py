"""A meeting as an iCalendar file (RFC 5545), for members' calendars.

Whatever a person typed (the space's name, the meeting's title and place, the agenda) goes
out as a TEXT value escaped per §3.3.11, so no character of it can end its line and start a
property of its own (a bare CR once slipped a `BEGIN:VALARM` in). Lines are folded at 75 octets
between UTF-8 characters (§3.1) and end with CRLF. Any stored date gives a valid file: a time
that would pass year 9999 stops at its last second instead of failing the request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from consentir.meetings.rules import State
from consentir.meetings.store import Meeting

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# TEXT holds no control character but HTAB (§3.3.11): the others are dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A URI value cannot be escaped like TEXT: anything but visible ASCII is percent-encoded.
_URI_SAFE = "".join(chr(code) for code in range(0x21, 0x7F))
_LAST = datetime.max.replace(microsecond=0, tzinfo=UTC)
_FIRST = datetime.min.replace(tzinfo=UTC)
_FOLD = 75  # octets per line, CRLF excluded


def _text(value: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped; CRLF, a bare CR or a bare LF
    each become `\\n`."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return _CONTROL.sub("", _LINE_BREAK.sub(r"\\n", value))


def _uri(value: str) -> str:
    return quote(value, safe=_URI_SAFE)


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after one space, never inside a
    UTF-8 character (whose continuation octets are 10xxxxxx)."""
    data = line.encode()
    parts: list[str] = []
    start, limit = 0, _FOLD
    while len(data) - start > limit:
        end = start + limit
        while (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, _FOLD - 1  # the leading space takes one octet
    parts.append(data[start:].decode())
    return "\r\n ".join(parts)


def _utc(value: datetime) -> datetime:
    """In UTC, within what a datetime can hold (PostgreSQL's ±infinity arrive as its bounds)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return _LAST if value.year == datetime.max.year else _FIRST


def _stamp(value: datetime) -> str:
    """A UTC DATE-TIME; formatted by hand since strftime drops the zeros of years below 1000."""
    v = _utc(value)
    return f"{v.year:04d}{v.month:02d}{v.day:02d}T{v.hour:02d}{v.minute:02d}{v.second:02d}Z"


def _span(meeting: Meeting) -> tuple[datetime, datetime]:
    """Start and end; an end beyond the year 9999 stops at its last second, the start moved back
    if need be so that the end stays later than the start (§3.6.1)."""
    start, length = _utc(meeting.starts_at), timedelta(minutes=meeting.duration_min)
    try:
        return start, start + length
    except OverflowError:
        return (start if start < _LAST else _LAST - length), _LAST


def _status(state: State) -> str | None:
    """A planned or running meeting is CONFIRMED. A closed one took place: a VEVENT's STATUS
    can only be TENTATIVE, CONFIRMED or CANCELLED (§3.8.1.11; COMPLETED is for to-dos, and
    calendars refuse it on an event), and CANCELLED would tell members' calendars that it never
    happened, which its minutes contradict. So a closed meeting carries no STATUS (the property
    is optional) rather than a false one. Meetings cannot be cancelled in Consentir."""
    return None if state == State.CLOSED else "CONFIRMED"


def event(meeting: Meeting, space_name: str, *, uid_host: str) -> bytes:
    start, end = _span(meeting)
    where = meeting.place or meeting.video_url
    agenda = "\n".join(f"{i.position}. {i.title}" for i in meeting.items)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Consentir//Meetings//FR",
        "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:meeting-{meeting.id}@{uid_host}",
        f"DTSTAMP:{_stamp(datetime.now(UTC))}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_text(f'{space_name} — {meeting.title}')}",
        f"DESCRIPTION:{_text(agenda)}",
    ]  # fmt: skip
    if where:
        lines.append(f"LOCATION:{_text(where)}")
    if meeting.video_url:
        lines.append(f"URL:{_uri(meeting.video_url)}")
    if status := _status(meeting.state):
        lines.append(f"STATUS:{status}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
