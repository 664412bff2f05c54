"""Email for notifications: one message per person for the notices that are due, through the
outbox, in the person's language.

Each notification is emailed according to its person's preference for its space and
category (store.py): "immediate" notices go out together once none has come for
`QUIET` (a burst of steps in a meeting makes one email, not ten), and never later than
`LONGEST_WAIT` after the first; "digest" notices go out once a day, at `DIGEST_HOUR` in
the instance's time zone; "none" are never emailed (they stay in the app). A notice is
emailed once: marked in the transaction that queues its email. Only what the person may
still see goes out (a space they left is left out).

Run by every worker every few seconds (app.py), person by person through `tasks.each_due`
(one transaction each, `SKIP LOCKED` on the person's row, back-off on failure).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from consentir import mail, tasks
from consentir.db import Connection
from consentir.meetings import calendar
from consentir.meetings import store as meetings
from consentir.notifications import unsubscribe
from consentir.notifications.kinds import Kind, sentence, sentence_values
from consentir.web import i18n
from consentir.web.emails import compose_with

TASK = "notifications"
QUIET = timedelta(minutes=2)
LONGEST_WAIT = timedelta(minutes=10)
DIGEST_HOUR = 7

_MODE = """coalesce(pref.mode, CASE WHEN n.for_me THEN 'immediate' ELSE 'digest' END)"""
_PREFERENCE = """
LEFT JOIN notification_preferences pref
       ON pref.user_id = n.user_id AND pref.space_id = n.space_id
      AND pref.category = CASE WHEN n.for_me THEN 'for_me' ELSE 'news' END
"""

# $1 now, $2 quiet, $3 longest wait, $4 the last digest time.
_DUE = f"""
WITH pending AS (
    SELECT n.user_id, n.created_at, {_MODE} AS mode
    FROM notifications n {_PREFERENCE}
    WHERE n.emailed_at IS NULL
), due AS (
    SELECT user_id FROM pending GROUP BY user_id
    HAVING bool_or(mode = 'none')
        OR max(created_at) FILTER (WHERE mode = 'immediate') <= $1::timestamptz - $2::interval
        OR min(created_at) FILTER (WHERE mode = 'immediate') <= $1::timestamptz - $3::interval
        OR min(created_at) FILTER (WHERE mode = 'digest') <= $4::timestamptz
)
SELECT u.id, u.email, u.name, u.locale, coalesce(f.attempts, 0) AS attempts
FROM due JOIN users u ON u.id = due.user_id
LEFT JOIN task_failures f ON f.task = '{TASK}' AND f.row_id = u.id
WHERE f.row_id IS NULL OR (f.failed_at IS NULL AND f.next_attempt_at <= $1)
ORDER BY u.id
LIMIT 1
FOR UPDATE OF u SKIP LOCKED
"""  # noqa: S608 (constant text)

_PENDING = f"""
SELECT n.id, n.kind, n.for_me, n.link, n.title, n.data, n.created_at, n.space_id,
       n.meeting_id, s.name AS space_name, a.name AS actor_name, {_MODE} AS mode,
       notification_visible(n.user_id, n.space_id) AS visible
FROM notifications n {_PREFERENCE}
JOIN spaces s ON s.id = n.space_id
LEFT JOIN users a ON a.id = n.actor_id
WHERE n.user_id = $1 AND n.emailed_at IS NULL
ORDER BY n.id
"""  # noqa: S608 (constant text)

_MARK = "UPDATE notifications SET emailed_at = $2, outbox_id = $3 WHERE id = ANY($1::bigint[])"


def last_digest_time(now: datetime) -> datetime:
    """The latest DIGEST_HOUR o'clock, in the instance's time zone, at or before `now`."""
    local = now.astimezone(i18n.display_zone)
    moment = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return moment if moment <= local else moment - timedelta(days=1)


def _text(row: asyncpg.Record) -> str:
    """The notification's sentence in the current language."""
    values: dict[str, Any] = {
        "title": row["title"],
        "space": row["space_name"],
        "actor": row["actor_name"] or i18n.gettext("the process"),
        "number": (row["data"] or {}).get("number", ""),
        **sentence_values(row["data"] or {}),
    }
    return i18n.gettext(sentence(Kind(row["kind"]), row["data"] or {})) % values


async def send_due(
    pool: asyncpg.Pool,
    templates: Any,
    public_url: str,
    secret: str,
    now: datetime | None = None,
) -> int:
    """Queue one email for each person with notices due; how many emails were queued."""
    at = now or datetime.now(UTC)
    digest_at = last_digest_time(at)

    async def pick(conn: Connection) -> asyncpg.Record | None:
        return await conn.fetchrow(_DUE, at, QUIET, LONGEST_WAIT, digest_at)

    async def handle(conn: Connection, person: asyncpg.Record) -> int:
        rows = await conn.fetch(_PENDING, person["id"])
        immediate = [r for r in rows if r["mode"] == "immediate"]
        burst_over = bool(immediate) and (
            max(r["created_at"] for r in immediate) <= at - QUIET
            or min(r["created_at"] for r in immediate) <= at - LONGEST_WAIT
        )
        due = [
            r for r in rows if r["visible"] and (
                (r["mode"] == "immediate" and burst_over)
                or (r["mode"] == "digest" and r["created_at"] <= digest_at))
        ]  # fmt: skip
        silent = [r["id"] for r in rows if r["mode"] == "none" or not r["visible"]]
        if silent:
            await conn.execute(_MARK, silent, at, None)
        if not due:
            return 0
        outbox_id = await _email(conn, person, due, templates, public_url, secret)
        await conn.execute(_MARK, [r["id"] for r in due], at, outbox_id)
        return 1

    async def set_aside(conn: Connection, person: asyncpg.Record) -> None:
        # Their email keeps failing (it is logged): the notices stay in the app, and the
        # next ones are tried afresh.
        await conn.execute(
            "UPDATE notifications SET emailed_at = $2 WHERE user_id = $1 AND emailed_at IS NULL",
            person["id"],
            at,
        )
        await tasks.forget(conn, (TASK,), person["id"])

    return sum(await tasks.each_due(pool, TASK, pick, handle, now=at, set_aside=set_aside))


async def _email(
    conn: Connection,
    person: asyncpg.Record,
    due: list[asyncpg.Record],
    templates: Any,
    public_url: str,
    secret: str,
) -> int:
    token = i18n.current_locale.set(person["locale"])
    try:
        items = [
            {"text": _text(r), "link": public_url + r["link"], "for_me": r["for_me"]} for r in due
        ]
    finally:
        i18n.current_locale.reset(token)
    scope = unsubscribe.encode_scope(
        (r["space_id"], "for_me" if r["for_me"] else "news") for r in due
    )
    leave = unsubscribe.link(public_url, secret, person["id"], scope)
    subject, body = compose_with(
        templates, "notifications", person["locale"], name=person["name"], items=items,
        waiting=sum(1 for i in items if i["for_me"]), unsubscribe=leave,
        settings=f"{public_url}/notifications/settings",
    )  # fmt: skip
    attachments = []
    for meeting_id in sorted({r["meeting_id"] for r in due if r["meeting_id"]}):
        space = next(r for r in due if r["meeting_id"] == meeting_id)
        meeting = await meetings.load(conn, space["space_id"], meeting_id)
        event = calendar.event(meeting, space["space_name"], uid_host="consentir")
        attachments.append(
            mail.Attachment(f"meeting-{meeting_id}.ics", "text/calendar", event.decode())
        )
    headers = {
        "List-Unsubscribe": f"<{leave}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return await mail.enqueue(
        conn, to=person["email"], subject=subject, body=body, headers=headers,
        attachments=tuple(attachments),
    )  # fmt: skip
