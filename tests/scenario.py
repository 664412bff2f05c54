"""A space with a person in every role, built once per test session into a template database.

Space `alpha` has a charter (version 1) that everyone signed except `unsigned`; space `beta`
belongs to someone else entirely. Each role has a live session and an API token, so a test
can act as anyone without paying for a password check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg

from consentir import db
from consentir.accounts import store as accounts
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.credentials import PASSWORD_HASHER
from consentir.meetings import store as meetings
from consentir.spaces import store as spaces
from consentir.spaces.rules import Role
from consentir.spaces.store import Signature, Space

PASSWORD = "correct horse battery staple"
# The scenario's planned meeting: always a month ahead, at 18:00 UTC, whatever today is.
MEETING_AT = (datetime.now(UTC) + timedelta(days=30)).replace(
    hour=18, minute=0, second=0, microsecond=0
)
PASSWORD_HASH = PASSWORD_HASHER.hash(PASSWORD)

# Who takes part in the access tests, least privileged first.
ROLES = ("anonymous", "outsider", "unsigned", "member", "facilitator", "admin", "instance_admin")
SIGNED_IN = ROLES[1:]


@dataclass
class Scenario:
    user_ids: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    api_tokens: dict[str, str] = field(default_factory=dict)
    api_token_ids: dict[str, int] = field(default_factory=dict)
    target_id: int = 0  # a plain member of alpha whom admins can act upon
    invitation_id: int = 0
    invitation_token: str = ""
    reset_token: str = ""
    confirm_token: str = ""
    change_token: str = ""
    draft_id: int = 0  # a draft of member's in alpha
    proposal_id: int = 0  # member's proposal in alpha, at the clarify stage
    meeting_id: int = 0  # a planned meeting in alpha (facilitator), the proposal on its agenda
    notification_id: int = 0  # one of the facilitator's notifications

    def email(self, role: str) -> str:
        return f"{role.replace('_', '-')}@example.org"


async def build(pool: asyncpg.Pool) -> Scenario:
    scenario = Scenario()
    async with db.transaction(pool) as conn:
        users = {}
        for role in (*SIGNED_IN, "target", "beta_owner"):
            users[role] = await accounts.create_user(
                conn,
                email=scenario.email(role),
                name=role.replace("_", " ").title(),
                password_hash=PASSWORD_HASH,
                instance_admin=role == "instance_admin",
                confirmed=role != "member",
            )
            scenario.user_ids[role] = users[role].id
        alpha = await spaces.create_space(
            conn, actor_id=users["admin"].id, name="Alpha", slug="alpha", kind="collective",
            description="Le collectif **Alpha**.", decision_prefix="AL",
        )  # fmt: skip
        await spaces.create_space(
            conn, actor_id=users["beta_owner"].id, name="Beta", slug="beta",
            kind="governance", description="", decision_prefix="BE",
        )  # fmt: skip
        for role, level in (
            ("unsigned", Role.MEMBER),
            ("member", Role.MEMBER),
            ("facilitator", Role.FACILITATOR),
            ("target", Role.MEMBER),
        ):
            await conn.execute(
                "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, $3)",
                alpha.id,
                users[role].id,
                level.value,
            )
        await spaces.publish_charter(
            conn, alpha.id, "# Charte\n\nNous décidons par consentement.", "",
            expected=0, actor_id=users["admin"].id,
        )  # fmt: skip
        charter_id = await spaces.current_charter_id(conn, alpha.id)
        assert charter_id is not None
        for role in ("member", "facilitator", "admin", "target"):
            await spaces.sign_charter(
                conn, alpha.id, charter_id, users[role].id,
                Signature(users[role].name, "Lyon", date(2026, 11, 1)),
            )  # fmt: skip
        for role in (*SIGNED_IN, "target"):
            scenario.sessions[role] = await accounts.start_session(
                conn, users[role], replaces=None, user_agent="tests"
            )
            token_id, token = await accounts.create_api_token(conn, users[role].id, "tests")
            scenario.api_tokens[role] = token
            scenario.api_token_ids[role] = token_id
        scenario.target_id = users["target"].id
        scenario.invitation_id, scenario.invitation_token = await spaces.invite(
            conn, alpha.id, email="invitee@example.org", role=Role.MEMBER,
            actor_id=users["admin"].id,
        )  # fmt: skip
        scenario.draft_id, scenario.proposal_id = await _proposals(conn, alpha, users["member"].id)
        scenario.meeting_id = await meetings.create(conn, alpha.id, users["facilitator"].id,
            meetings.Plan("Assemblée de décembre", MEETING_AT, 120,
                          "Salle des fêtes", "", users["facilitator"].id, users["admin"].id,
                          [meetings.NewItem("proposal", "Jardin partagé", scenario.proposal_id),
                           meetings.NewItem("information", "Nouvelles du quartier")]),
        )  # fmt: skip
        scenario.reset_token = await accounts.issue_link(conn, users["member"].id, "reset_password")
        scenario.confirm_token = await accounts.issue_link(
            conn, users["member"].id, "confirm_email"
        )
        scenario.change_token = await accounts.issue_link(
            conn, users["member"].id, "change_email", new_email="member-new@example.org"
        )
        # What building it told people is not emailed by a test's server minutes later.
        await conn.execute("UPDATE notifications SET emailed_at = now()")
        scenario.notification_id = await conn.fetchval(
            "SELECT min(id) FROM notifications WHERE user_id = $1", users["facilitator"].id
        )
    return scenario


async def _proposals(conn: asyncpg.Connection, alpha: Space, member_id: int) -> tuple[int, int]:
    """A draft, and a proposal submitted to the group (clarify stage), both by `member`."""
    proposer = rules.Actor(member_id, may_participate=True, may_facilitate=False)
    text = proposals.Content(title="Jardin partagé", driver="La friche est vide.",
                             body="Créer un jardin partagé sur la friche.")  # fmt: skip
    draft = await proposals.create(conn, alpha, proposer, text)
    submitted = await proposals.create(conn, alpha, proposer, text)
    await proposals.act(conn, alpha, submitted, proposer, rules.Submit(frozenset()))
    return draft, submitted


async def adopt_proposal(pool: asyncpg.Pool, world: Scenario) -> str:
    """Take the scenario's submitted proposal to adoption (no objection); its number."""
    async with db.transaction(pool) as conn:
        view = await spaces.space_view(conn, "alpha", None, instance_admin=False)
        assert view is not None
        alpha, proposal_id = view.space, world.proposal_id

        def person(role: str) -> rules.Actor:
            return rules.Actor(world.user_ids[role], True, role in ("facilitator", "admin"))

        facilitator = person("facilitator")
        await proposals.act(conn, alpha, proposal_id, facilitator, rules.Advance(frozenset()))
        await proposals.act(conn, alpha, proposal_id, facilitator, rules.Advance(frozenset()))
        for role in ("admin", "facilitator", "target"):
            consent = rules.GivePosition(world.user_ids[role], rules.Stance.CONSENT, 1)
            await proposals.act(conn, alpha, proposal_id, person(role), consent)
        done = await proposals.act(conn, alpha, proposal_id, facilitator, rules.CloseRound(
            datetime.now(UTC)))  # fmt: skip
    return str(next(e for e in done.effects if isinstance(e, rules.Adopted)) and
               await _number(pool, proposal_id))  # fmt: skip


async def _number(pool: asyncpg.Pool, proposal_id: int) -> str:
    async with pool.acquire() as conn:
        return str(await conn.fetchval(
            "SELECT number FROM decisions WHERE proposal_id = $1", proposal_id))  # fmt: skip
