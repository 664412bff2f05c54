"""Notifications: each hand-over tells the person the process now waits for, in the app and
by email (grouped, in their language, with a one-click unsubscribe), and nobody else."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import asyncpg
import pytest

from consentir import db, mail
from consentir.consent import rules
from consentir.consent.rules import Stance
from consentir.consent.store import Content
from consentir.decisions import reviews
from consentir.mail import MailSettings
from consentir.meetings import store as meetings
from consentir.notifications import kinds, mailer, unsubscribe
from consentir.notifications.kinds import Kind
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from consentir.web.templates import environment
from tests.helpers import TEST_SECRET
from tests.process import act, new_proposal, person, to_object_round
from tests.scenario import Scenario, adopt_proposal
from tests.smtp import Received
from tests.web import Client, act_as, post_form

TEXT = Content(title="Vélos partagés", driver="Peu de vélos.", body="Acheter dix vélos.")
PUBLIC = "http://consentir.test"
PEOPLE = ("outsider", "unsigned", "member", "facilitator", "admin", "target")


async def told(
    pool: asyncpg.Pool, world: Scenario, kind: Kind, title: str = TEXT.title
) -> set[str]:
    """Who has a notification of `kind` about `title`."""
    rows = await pool.fetch(
        "SELECT user_id FROM notifications WHERE kind = $1 AND title = $2", kind.value, title
    )
    ids = {r["user_id"] for r in rows}
    return {role for role in PEOPLE if world.user_ids[role] in ids}


def templates() -> object:
    return environment()


async def send(pool: asyncpg.Pool, now: datetime) -> int:
    return await mailer.send_due(pool, templates(), PUBLIC, TEST_SECRET, now=now)


async def outbox(pool: asyncpg.Pool, role_email: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM outbox WHERE recipient = $1 ORDER BY id", role_email)


# --- who is told -----------------------------------------------------------------------------


async def test_each_hand_over_tells_the_next_person_and_only_them(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    member, facilitator, target = (person(world, r) for r in ("member", "facilitator", "target"))
    pid = await new_proposal(pool, alpha, world, TEXT)
    await act(pool, alpha, pid, member, rules.Submit(frozenset()))
    # Submitted: everyone on the clarify round's list but the proposer.
    assert await told(pool, world, Kind.PROPOSAL_SUBMITTED) == {"facilitator", "admin", "target"}
    await act(pool, alpha, pid, target, rules.AskQuestion(), Content(text="Où ?"))
    assert await told(pool, world, Kind.QUESTION_ASKED) == {"member"}
    qid = await pool.fetchval("SELECT id FROM questions WHERE proposal_id = $1", pid)
    await act(pool, alpha, pid, member, rules.AnswerQuestion(qid), Content(text="Ici."))
    assert await told(pool, world, Kind.QUESTION_ANSWERED) == {"target"}
    # Every question answered: the clarify stage waits for a facilitator to move on.
    assert await told(pool, world, Kind.ROUND_READY) == {"facilitator", "admin"}
    await pool.execute("DELETE FROM notifications WHERE kind = 'round_ready'")
    await act(pool, alpha, pid, facilitator, rules.Advance(frozenset()))
    # The proposer is never on a round's list; the facilitator who opened it is not told.
    assert await told(pool, world, Kind.ROUND_OPENED) == {"admin", "target"}
    await act(pool, alpha, pid, facilitator, rules.Advance(frozenset()))
    objecting = rules.GivePosition(target.user_id, Stance.OBJECTION, 1, "Pas de local.")
    await act(pool, alpha, pid, target, objecting)
    assert await told(pool, world, Kind.OBJECTION_RAISED) == {"member"}
    assert await told(pool, world, Kind.OBJECTION_TO_JUDGE) == {"facilitator", "admin"}
    for role in ("facilitator", "admin"):
        who = person(world, role)
        await act(pool, alpha, pid, who, rules.GivePosition(who.user_id, Stance.CONSENT, 1))
    assert await told(pool, world, Kind.ROUND_READY) == set()  # an objection waits judgement
    oid = await pool.fetchval("SELECT id FROM objections WHERE proposal_id = $1", pid)
    await act(pool, alpha, pid, facilitator, rules.JudgeObjection(oid, True, "Fondée."))
    assert await told(pool, world, Kind.OBJECTION_JUDGED) == {"target"}
    # Everyone answered, the objection is judged: the round waits for a facilitator (the one
    # who judged is not told of what they just made possible).
    assert await told(pool, world, Kind.ROUND_READY) == {"admin"}
    await act(pool, alpha, pid, facilitator, rules.CloseRound(datetime.now(UTC)))
    assert await told(pool, world, Kind.VERSION_NEEDED) == {"member"}
    v2 = Content(title="Vélos partagés, local compris", driver="d", body="b avec local")
    await act(pool, alpha, pid, member, rules.PublishVersion(frozenset({oid})), v2)
    assert await told(pool, world, Kind.VERSION_ANSWERS, v2.title) == {"target"}
    assert await told(pool, world, Kind.OBJECT_ROUND_DUE, v2.title) == {"facilitator", "admin"}
    await act(pool, alpha, pid, target, rules.ConfirmIntegration(oid))
    await act(pool, alpha, pid, facilitator, rules.OpenObjectRound(frozenset()))
    for role in ("facilitator", "admin", "target"):
        who = person(world, role)
        await act(pool, alpha, pid, who, rules.GivePosition(who.user_id, Stance.CONSENT, 2))
    await act(pool, alpha, pid, facilitator, rules.CloseRound(datetime.now(UTC)))
    # Adoption: news for every member who may act, with the decision's number and link.
    assert await told(pool, world, Kind.ADOPTED, v2.title) == {"member", "admin", "target"}
    row = await pool.fetchrow("SELECT link, data FROM notifications WHERE kind = 'adopted'")
    assert row["data"]["number"] and row["link"] == f"/s/alpha/decisions/{row['data']['number']}"
    # Nobody is ever told of their own step, and nobody outside the space hears anything.
    rows = await pool.fetch(
        "SELECT user_id, actor_id FROM notifications WHERE actor_id IS NOT NULL"
    )
    assert all(r["user_id"] != r["actor_id"] for r in rows)
    assert not await pool.fetchval(
        "SELECT count(*) FROM notifications WHERE user_id = ANY($1::bigint[]) AND link LIKE $2",
        [world.user_ids["outsider"], world.user_ids["unsigned"]],
        f"/s/alpha/proposals/{pid}%",
    )


async def test_acting_on_a_proposal_or_signing_marks_what_led_there_read(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    pid = await new_proposal(pool, alpha, world, TEXT)
    await act(pool, alpha, pid, person(world, "member"), rules.Submit(frozenset()))
    unread = (
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL AND link LIKE $2"
    )
    target = world.user_ids["target"]
    assert await pool.fetchval(unread, target, f"/s/alpha/proposals/{pid}%") == 1
    await act(pool, alpha, pid, person(world, "target"), rules.AskQuestion(), Content(text="?"))
    assert await pool.fetchval(unread, target, f"/s/alpha/proposals/{pid}%") == 0
    # Another person's notification about it stays unread.
    assert await pool.fetchval(unread, world.user_ids["admin"], f"/s/alpha/proposals/{pid}%") == 1
    async with db.transaction(pool) as conn:
        current = await conn.fetchval(
            "SELECT max(version) FROM charters WHERE space_id = $1", alpha.id
        )
        await spaces.publish_charter(conn, alpha.id, "Charte 2", "v2", expected=current,
                                     actor_id=world.user_ids["admin"])  # fmt: skip
        charter_id = await spaces.current_charter_id(conn, alpha.id)
        assert charter_id is not None
        signature = spaces.Signature("Target", "Lyon", date.today())
        await spaces.sign_charter(conn, alpha.id, charter_id, target, signature)
    assert await pool.fetchval(unread, target, "/s/alpha/charter") == 0
    assert await pool.fetchval(unread, world.user_ids["member"], "/s/alpha/charter") == 1


async def test_a_refused_step_notifies_nobody(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    pid = await to_object_round(pool, alpha, world, TEXT)
    before = await pool.fetchval("SELECT count(*) FROM notifications")
    with pytest.raises(rules.RuleViolation):  # positions are missing
        await act(
            pool, alpha, pid, person(world, "facilitator"), rules.CloseRound(datetime.now(UTC))
        )
    assert await pool.fetchval("SELECT count(*) FROM notifications") == before


async def test_withdrawal_tells_those_involved(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    pid = await to_object_round(pool, alpha, world, TEXT)
    await act(pool, alpha, pid, person(world, "member"), rules.Withdraw())
    assert await told(pool, world, Kind.ENDED) == {"facilitator", "admin", "target"}


def test_the_actor_is_never_among_those_told() -> None:
    proposer = rules.Actor(1, may_participate=True, may_facilitate=False)
    before = rules.Proposal(stage=rules.Stage.DRAFT, proposer=1, version=1)
    step = rules.step(before, proposer, rules.Submit(frozenset({1, 2, 3})))
    notices = kinds.after_step(
        before, step, proposer, rules.Submit(frozenset({1, 2, 3})), datetime.now(UTC)
    )
    assert [(n.kind, n.people) for n in notices] == [(Kind.PROPOSAL_SUBMITTED, frozenset({2, 3}))]


async def test_a_meeting_is_announced_to_its_invitees(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    facilitator = world.user_ids["facilitator"]
    async with db.transaction(pool) as conn:
        plan = meetings.Plan("Séance de décembre", datetime.now(UTC) + timedelta(days=3), 90,
                             "Salle des fêtes", "", facilitator, None, [])  # fmt: skip
        await meetings.create(conn, alpha.id, facilitator, plan)
    told_of = await told(pool, world, Kind.MEETING_PLANNED, "Séance de décembre")
    assert told_of == {"member", "admin", "target"}  # the facilitator planned it
    row = await pool.fetchrow("SELECT link, meeting_id FROM notifications WHERE kind = $1"
                              " ORDER BY id DESC LIMIT 1", Kind.MEETING_PLANNED.value)  # fmt: skip
    assert row["link"] == f"/s/alpha/meetings/{row['meeting_id']}"


async def test_a_charter_version_asks_every_member_to_sign(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    async with db.transaction(pool) as conn:
        current = await conn.fetchval(
            "SELECT max(version) FROM charters WHERE space_id = $1", alpha.id
        )
        await spaces.publish_charter(conn, alpha.id, "Nouvelle charte", "v2", expected=current,
                                     actor_id=world.user_ids["admin"])  # fmt: skip
    assert await told(pool, world, Kind.CHARTER_TO_SIGN, alpha.name) == {
        "unsigned",
        "member",
        "facilitator",
        "target",
    }


async def test_an_overdue_round_and_a_decision_due_for_review_reach_those_concerned(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    from consentir.consent import deadlines

    pid = await to_object_round(pool, alpha, world, TEXT)
    soon = datetime.now(UTC) + timedelta(hours=1)
    await act(
        pool, alpha, pid, person(world, "facilitator"), rules.SetDeadline(soon, datetime.now(UTC))
    )
    await deadlines.run_due(pool, now=soon + timedelta(minutes=1))  # positions missing: overdue
    assert await told(pool, world, Kind.ROUND_OVERDUE) == {"facilitator", "admin"}
    # A decision due for review: its proposer and the facilitators, once per review date.
    await adopt_proposal(pool, world)
    await pool.execute("UPDATE decisions SET review_on = $1 WHERE space_id = $2",
                       date.today() - timedelta(days=1), alpha.id)  # fmt: skip
    decisions = await pool.fetch(
        "SELECT number, title FROM decisions WHERE space_id = $1", alpha.id
    )
    assert decisions, "the scenario has an adopted decision"
    assert await reviews.announce_due(pool) >= 1
    assert await reviews.announce_due(pool) == 0
    title = f"{decisions[0]['number']} {decisions[0]['title']}"
    assert {"facilitator", "admin"} <= await told(pool, world, Kind.REVIEW_DUE, title)


# --- email -----------------------------------------------------------------------------------


async def test_a_burst_of_hand_overs_makes_one_email_in_the_persons_language(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    await pool.execute("UPDATE notifications SET emailed_at = now()")  # the scenario's own
    await pool.execute("UPDATE users SET locale = 'en' WHERE id = $1", world.user_ids["member"])
    pid = await new_proposal(pool, alpha, world, TEXT)
    member, target, admin = (person(world, r) for r in ("member", "target", "admin"))
    await act(pool, alpha, pid, member, rules.Submit(frozenset()))
    await act(pool, alpha, pid, target, rules.AskQuestion(), Content(text="Où ?"))
    await act(pool, alpha, pid, admin, rules.AskQuestion(), Content(text="Quand ?"))
    now = datetime.now(UTC)
    assert await send(pool, now) == 0  # still within minutes of the last one: wait
    assert await send(pool, now + mailer.QUIET + timedelta(seconds=1)) >= 2
    sent = await outbox(pool, world.email("member"))
    assert len(sent) == 1  # two questions, one email
    body = sent[0]["body_text"]
    assert "- Target asked a question about your proposal" in body  # each asker named
    assert "- Admin asked a question about your proposal" in body
    assert body.count("asked a question about your proposal “Vélos partagés”") == 2
    assert f"{PUBLIC}/s/alpha/proposals/{pid}#questions" in body
    assert sent[0]["subject"].startswith("Consentir: 2 steps wait for you")
    # The facilitator hears it in French, and only once.
    french = await outbox(pool, world.email("facilitator"))
    assert len(french) == 1
    assert "Nouvelle proposition « Vélos partagés » dans Alpha" in french[0]["body_text"]
    assert await send(pool, now + timedelta(hours=1)) == 0  # nothing twice


async def test_news_waits_for_the_daily_digest_and_none_sends_nothing(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    await pool.execute("UPDATE notifications SET emailed_at = now()")
    pid = await to_object_round(pool, alpha, world, TEXT)
    async with db.transaction(pool) as conn:
        from consentir.notifications import store

        await store.set_preferences(conn, world.user_ids["admin"], [(alpha.id, "news", "none")])
    await act(pool, alpha, pid, person(world, "member"), rules.Withdraw())  # news: ENDED
    created = await pool.fetchval("SELECT max(created_at) FROM notifications WHERE kind = 'ended'")
    digest = mailer.last_digest_time(created + timedelta(days=1))
    assert digest > created
    # Between the news and the next digest, whatever the time of day the test runs at (half
    # an hour later could already be past the digest's time).
    await send(pool, created + (digest - created) / 2)
    ended = "SELECT emailed_at, outbox_id FROM notifications WHERE kind = 'ended' AND user_id = $1"
    target = world.user_ids["target"]
    assert (await pool.fetchrow(ended, target))["emailed_at"] is None  # waits for the digest
    await send(pool, digest + timedelta(minutes=1))
    in_digest = await pool.fetchrow(ended, target)
    body = await pool.fetchval("SELECT body_text FROM outbox WHERE id = $1", in_digest["outbox_id"])
    assert "ended without a decision" in body or "sans décision" in body
    # The admin chose no email for the space's news: dealt with, never sent.
    admins = await pool.fetchrow(ended, world.user_ids["admin"])
    assert admins["emailed_at"] is not None and admins["outbox_id"] is None


async def test_email_carries_one_click_unsubscribe_and_a_meeting_its_ics(
    pool: asyncpg.Pool,
    alpha: Space,
    world: Scenario,
    scenario_client: Client,
    smtp_server: Received,
    mail_settings: MailSettings,
) -> None:
    await pool.execute("UPDATE notifications SET emailed_at = now()")
    facilitator = world.user_ids["facilitator"]
    async with db.transaction(pool) as conn:
        plan = meetings.Plan("Séance de décembre", datetime.now(UTC) + timedelta(days=3), 90,
                             "Salle des fêtes", "", facilitator, None, [])  # fmt: skip
        await meetings.create(conn, alpha.id, facilitator, plan)
    await send(pool, datetime.now(UTC) + timedelta(minutes=5))
    await mail.deliver_due(pool, mail_settings)
    received = [m for m in smtp_server.messages if m["To"] == world.email("target")]
    assert len(received) == 1
    message: EmailMessage = received[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    attachments = list(message.iter_attachments())
    meeting_id = await pool.fetchval("SELECT max(id) FROM meetings")
    assert [a.get_filename() for a in attachments] == [f"meeting-{meeting_id}.ics"]
    assert "SUMMARY:Alpha — Séance de décembre" in attachments[0].get_content()
    # The mail program's one-click POST: no session, no CSRF token; the signature is the proof.
    path = link.removeprefix(PUBLIC)
    scenario_client.cookies.clear()
    form = {"content-type": "application/x-www-form-urlencoded"}
    answer = await scenario_client.post(path, content="List-Unsubscribe=One-Click", headers=form)
    assert answer.status_code in (200, 201)
    mode = await pool.fetchval(
        "SELECT mode FROM notification_preferences WHERE user_id = $1 AND space_id = $2"
        " AND category = 'for_me'",
        world.user_ids["target"],
        alpha.id,
    )
    assert mode == "none"
    # A link made for someone else, or altered, is refused.
    forged = path.replace(f"u={world.user_ids['target']}", f"u={world.user_ids['member']}")
    assert (await scenario_client.post(forged)).status_code == 400
    assert (await scenario_client.get(forged)).status_code == 400


def test_unsubscribe_scopes_are_signed_and_bounded() -> None:
    scope = unsubscribe.encode_scope([(3, "news"), (1, "for_me"), (3, "news")])
    assert scope == "1.for_me,3.news"
    token = unsubscribe.signature("k" * 40, 7, scope)
    assert unsubscribe.verify("k" * 40, 7, scope, token) == ((1, "for_me"), (3, "news"))
    assert unsubscribe.verify("k" * 40, 8, scope, token) is None
    assert (
        unsubscribe.verify(
            "k" * 40, 7, "1.for_me,3.bad", unsubscribe.signature("k" * 40, 7, "1.for_me,3.bad")
        )
        is None
    )


# --- pages -----------------------------------------------------------------------------------


async def test_the_header_counts_unread_and_the_list_leads_to_the_step(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, scenario_client: Client
) -> None:
    await pool.execute("UPDATE notifications SET read_at = now()")
    pid = await new_proposal(pool, alpha, world, TEXT)
    await act(pool, alpha, pid, person(world, "member"), rules.Submit(frozenset()))
    act_as(scenario_client, world, "target")
    page = await scenario_client.get("/spaces")
    assert re.search(r'<span class="count">1</span>', page.text)
    listing = await scenario_client.get("/notifications")
    assert "Nouvelle proposition « Vélos partagés »" in listing.text
    nid = await pool.fetchval(
        "SELECT id FROM notifications WHERE user_id = $1 AND kind = 'proposal_submitted'"
        " ORDER BY id DESC LIMIT 1",
        world.user_ids["target"],
    )
    opened = await post_form(scenario_client, f"/notifications/{nid}/open")
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/s/alpha/proposals/{pid}#now"
    assert '<span class="count">' not in (await scenario_client.get("/spaces")).text
    # Someone else's notification: not found, and not marked.
    act_as(scenario_client, world, "admin")
    other = await post_form(scenario_client, f"/notifications/{nid}/open")
    assert other.status_code == 404
    # Mark all read.
    assert '<span class="count">1</span>' in (await scenario_client.get("/spaces")).text
    newest = await pool.fetchval("SELECT max(id) FROM notifications")
    done = await post_form(scenario_client, "/notifications/read", {"up_to": str(newest)})
    assert done.status_code == 303
    assert '<span class="count">' not in (await scenario_client.get("/spaces")).text
    # Without CSRF: refused.
    assert (
        await scenario_client.post("/notifications/read", data={"up_to": "1"})
    ).status_code == 403


async def test_preferences_are_per_space_and_only_for_ones_own_spaces(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, scenario_client: Client
) -> None:
    act_as(scenario_client, world, "member")
    page = await scenario_client.get("/notifications/settings")
    assert page.status_code == 200
    assert f'id="mode-{alpha.id}-for_me"' in page.text
    beta = await pool.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    saved = await post_form(scenario_client, "/notifications/settings", {
        f"mode-{alpha.id}-news": "none", f"mode-{alpha.id}-for_me": "digest",
        f"mode-{beta}-news": "none", "mode-x-news": "none", f"mode-{alpha.id}-news2": "bad",
    })  # fmt: skip
    assert saved.status_code == 303
    rows = await pool.fetch(
        "SELECT space_id, category, mode FROM notification_preferences WHERE user_id = $1"
        " ORDER BY category",
        world.user_ids["member"],
    )
    assert [(r["space_id"], r["category"], r["mode"]) for r in rows] == [
        (alpha.id, "for_me", "digest"),
        (alpha.id, "news", "none"),
    ]
    act_as(scenario_client, world, "anonymous")
    assert (await scenario_client.get("/notifications", follow_redirects=False)).status_code in (
        302,
        303,
        401,
    )


async def test_the_header_counts_only_what_the_person_may_see_and_shows_99_plus_beyond(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, scenario_client: Client
) -> None:
    """The count every page shows (accounts/store.py): the spaces they belong to, those that
    include their parent's members, never another space's; capped at "99+"."""
    target = world.user_ids["target"]
    beta = await pool.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
    child = await pool.fetchval(
        "INSERT INTO spaces (name, slug, kind, description, decision_prefix, parent_id,"
        " parent_members_included) VALUES ('Alpha Vélo', 'alpha-velo', 'governance', '', 'AV',"
        " $1, true) RETURNING id",
        alpha.id,
    )
    await pool.execute("UPDATE notifications SET read_at = now()")

    async def notify(space_id: int, count: int) -> None:
        await pool.execute(
            "INSERT INTO notifications (user_id, space_id, kind, for_me, link, title)"
            " SELECT $1, $2, 'news', false, '/spaces', 'Nouvelle ' || i"
            " FROM generate_series(1, $3) AS i",
            target, space_id, count,
        )  # fmt: skip

    async def shown() -> str | None:
        page = await scenario_client.get("/spaces")
        found = re.search(r'<span class="count">([^<]*)</span>', page.text)
        return found.group(1) if found else None

    act_as(scenario_client, world, "target")
    await notify(beta, 5)  # not a member of beta: never counted
    assert await shown() is None
    await notify(alpha.id, 2)
    await notify(child, 1)  # a space that includes alpha's members
    assert await shown() == "3"
    await pool.execute("UPDATE spaces SET parent_members_included = false WHERE id = $1", child)
    assert await shown() == "2"
    await notify(alpha.id, 97)
    assert await shown() == "99"
    await notify(alpha.id, 1)
    assert await shown() == "99+"
    await notify(alpha.id, 500)
    assert await shown() == "99+"
