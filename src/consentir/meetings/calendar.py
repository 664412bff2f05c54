"""A meeting as an iCalendar file (RFC 5545), for members' calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consentir.meetings.store import Meeting


def _text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped."""
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        .replace("\r\n", "\\n").replace("\n", "\\n")
    )  # fmt: skip


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # not inside a UTF-8 character
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74
    return "\r\n ".join(parts)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event(meeting: Meeting, space_name: str, *, uid_host: str) -> bytes:
    end = meeting.starts_at + timedelta(minutes=meeting.duration_min)
    where = meeting.place or meeting.video_url
    agenda = "\n".join(f"{i.position}. {i.title}" for i in meeting.items)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Consentir//Meetings//FR",
        "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:meeting-{meeting.id}@{uid_host}",
        f"DTSTAMP:{_stamp(datetime.now(UTC))}",
        f"DTSTART:{_stamp(meeting.starts_at)}",
        f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_text(f'{space_name} — {meeting.title}')}",
        f"DESCRIPTION:{_text(agenda)}",
    ]  # fmt: skip
    if where:
        lines.append(f"LOCATION:{_text(where)}")
    if meeting.video_url:
        lines.append(f"URL:{meeting.video_url}")
    lines += ["STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
