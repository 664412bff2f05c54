"""Every rule of the consent process, triggered through HTTP: once through the JSON API (the
problem+json body's `code` names the rule) and once through the proposal page's forms (the
page comes back with the rule's status and its French message).

`CASES` holds, for each rule, how to bring a proposal to the state where the rule refuses
(through the store, quick) and the request that then breaks it. A rule that a surface cannot
reach is listed, with the reason, in `NOT_THROUGH_API` or `NOT_THROUGH_PAGES`, and tested
through the path that does reach it; the last tests check that the table and these lists
together cover `rules.Rule` exactly.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from markupsafe import escape

from consentir import db
from consentir.consent import rules, store
from consentir.consent.deadlines import run_due
from consentir.consent.rules import Rule, RuleViolation, Stance
from consentir.consent.store import Content
from consentir.elections.store import Described
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.spaces import store as spaces
from consentir.spaces.store import Signature, Space
from consentir.web.i18n import display_zone, translations
from tests import causes_setup
from tests.process import act, open_meeting, person
from tests.scenario import Scenario
from tests.web import MOVING_VERBS, Client, act_as, post_form

TEXT = Content(title="Réunions mensuelles", driver="Nous nous voyons trop peu.",
               body="Une réunion chaque premier lundi du mois.")  # fmt: skip
NOWHERE = 999_999  # no question or objection has this id
PAST = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    """Where the refused request goes, and the ids it may need."""

    slug: str
    proposal_id: int
    question_id: int = 0
    objection_id: int = 0


@dataclass(frozen=True)
class Setup:
    """Brings proposals to a given state through the store, each step in its transaction."""

    pool: asyncpg.Pool
    alpha: Space
    world: Scenario

    async def do(
        self, proposal_id: int, role: str, action: rules.Action, content: Content | None = None
    ) -> None:
        await act(self.pool, self.alpha, proposal_id, person(self.world, role), action, content)

    async def last_id(self, table: str, proposal_id: int) -> int:
        async with self.pool.acquire() as conn:
            found = await conn.fetchval(
                f"SELECT max(id) FROM {table} WHERE proposal_id = $1",  # noqa: S608 (fixed names)
                proposal_id,
            )
        assert found is not None
        return int(found)

    def id(self, role: str) -> int:
        return self.world.user_ids[role]


# --- states -------------------------------------------------------------------------------


async def draft(s: Setup) -> Target:
    async with db.transaction(s.pool) as conn:
        return Target("alpha", await store.create(conn, s.alpha, person(s.world, "member"), TEXT))


async def clarifying(s: Setup) -> Target:
    """Submitted: its clarify round lists admin, facilitator and target."""
    target = await draft(s)
    await s.do(target.proposal_id, "member", rules.Submit(frozenset()))
    return target


async def withdrawn(s: Setup) -> Target:
    target = await clarifying(s)
    await s.do(target.proposal_id, "member", rules.Withdraw())
    return target


async def signed_too_late(s: Setup) -> Target:
    """`unsigned` signs the charter after the clarify round opened: not on its list."""
    target = await clarifying(s)
    async with db.transaction(s.pool) as conn:
        charter_id = await spaces.current_charter_id(conn, s.alpha.id)
        assert charter_id is not None
        signature = Signature("Unsigned", "Lyon", date(2026, 11, 2))
        await spaces.sign_charter(conn, s.alpha.id, charter_id, s.id("unsigned"), signature)
    return target


async def asked(s: Setup) -> Target:
    target = await clarifying(s)
    await s.do(target.proposal_id, "target", rules.AskQuestion(), Content(text="Quel lieu ?"))
    question_id = await s.last_id("questions", target.proposal_id)
    return Target(target.slug, target.proposal_id, question_id=question_id)


async def answered(s: Setup) -> Target:
    target = await asked(s)
    await s.do(target.proposal_id, "member", rules.AnswerQuestion(target.question_id),
               Content(text="La salle des fêtes."))  # fmt: skip
    return target


async def reacting(s: Setup) -> Target:
    target = await clarifying(s)
    await s.do(target.proposal_id, "facilitator", rules.Advance(frozenset()))
    return target


async def reacted(s: Setup) -> Target:
    target = await reacting(s)
    await s.do(target.proposal_id, "target", rules.React(), Content(text="Bonne idée."))
    return target


async def objecting(s: Setup) -> Target:
    """The object round on version 1."""
    target = await reacting(s)
    await s.do(target.proposal_id, "facilitator", rules.Advance(frozenset()))
    return target


async def position(s: Setup, proposal_id: int, role: str, stance: Stance, version: int) -> None:
    reason = "Le lundi est pris." if stance is Stance.OBJECTION else ""
    await s.do(proposal_id, role, rules.GivePosition(s.id(role), stance, version, reason))


async def objected(s: Setup) -> Target:
    """`target` objects to version 1 (not judged yet)."""
    target = await objecting(s)
    await position(s, target.proposal_id, "target", Stance.OBJECTION, 1)
    objection_id = await s.last_id("objections", target.proposal_id)
    return Target(target.slug, target.proposal_id, objection_id=objection_id)


async def objected_in_a_meeting(s: Setup) -> Target:
    """`target` objects to version 1; a meeting of the space is open, `target` present."""
    target = await objected(s)
    await open_meeting(s.pool, s.alpha, s.world, ("target",))
    return target


async def objected_all_answered(s: Setup) -> Target:
    """Everyone has answered the object round; `target`'s objection is not judged yet."""
    target = await objected(s)
    for role in ("admin", "facilitator"):
        await position(s, target.proposal_id, role, Stance.CONSENT, 1)
    return target


async def objection_valid(s: Setup) -> Target:
    target = await objected(s)
    await s.do(target.proposal_id, "facilitator",
               rules.JudgeObjection(target.objection_id, True, "Le lundi est pris."))  # fmt: skip
    return target


async def objection_withdrawn(s: Setup) -> Target:
    target = await objected(s)
    await s.do(target.proposal_id, "target", rules.WithdrawObjection(target.objection_id))
    return target


async def integrating(s: Setup) -> Target:
    """Integrate stage on version 1: `target`'s valid objection waits for a new version."""
    target = await objection_valid(s)
    for role in ("admin", "facilitator"):
        await position(s, target.proposal_id, role, Stance.CONSENT, 1)
    await s.do(target.proposal_id, "facilitator", rules.CloseRound(datetime.now(UTC)))
    return target


async def integrating_again(s: Setup) -> Target:
    """Integrate stage on version 2: the valid objection to version 1 is answered by version 2,
    but version 2 drew an objection too (judged not valid), so version 2 is not new enough."""
    target = await integrating(s)
    pid = target.proposal_id
    v2 = Content(driver=TEXT.driver, body="Une réunion chaque premier mardi du mois.")
    await s.do(pid, "member", rules.PublishVersion(frozenset({target.objection_id})), v2)
    await s.do(pid, "facilitator", rules.OpenObjectRound(frozenset()))
    await position(s, pid, "target", Stance.OBJECTION, 2)
    second = await s.last_id("objections", pid)
    await s.do(pid, "facilitator", rules.JudgeObjection(second, False, "Déjà discuté."))
    for role in ("admin", "facilitator"):
        await position(s, pid, role, Stance.CONSENT, 2)
    await s.do(pid, "facilitator", rules.CloseRound(datetime.now(UTC)))
    return target


async def alone(s: Setup) -> Target:
    """A draft in a space of its own where its proposer is the only member."""
    async with db.transaction(s.pool) as conn:
        solo = await spaces.create_space(
            conn, actor_id=s.id("member"), name="Solo", slug="solo", kind="collective",
            description="", decision_prefix="SO",
        )  # fmt: skip
        proposer = rules.Actor(s.id("member"), may_participate=True, may_facilitate=True)
        return Target("solo", await store.create(conn, solo, proposer, TEXT))


# --- the table ----------------------------------------------------------------------------


async def election_draft(s: Setup) -> Target:
    """An election (facilitator's draft) for the one seat of a role of alpha."""
    async with db.transaction(s.pool) as conn:
        role_id = await mandates.record_preexisting_role(conn, s.alpha.id, mandates.RoleText(
            name="Secrétariat", purpose="Les comptes rendus.", domain="", accountabilities=[],
            seats=1, term_months=12), actor_id=s.id("admin"))  # fmt: skip
        text = Content(title="Élection : Secrétariat", driver="Élire.", body="Le siège 1.")
        about = Described(role_id, 1, Term(date(2090, 1, 1), date(2091, 1, 1)))
        pid = await store.create(conn, s.alpha, person(s.world, "facilitator"), text,
                                 election=about)  # fmt: skip
    return Target("alpha", pid)


async def nominating(s: Setup) -> Target:
    target = await election_draft(s)
    await s.do(target.proposal_id, "facilitator", rules.Submit(frozenset()))
    return target


async def preferring(s: Setup) -> Target:
    """A cause's scenario choice at its preferences (one scenario, A)."""
    cause_id, criterion = await causes_setup.planned_cause(s.pool, s.alpha, s.world)
    await causes_setup.draft_scenario(s.pool, s.alpha, s.world, cause_id, criterion, "Piste")
    proposal_id = await causes_setup.open_choice(s.pool, s.alpha, s.world, cause_id)
    async with s.pool.acquire() as conn:
        revision = (await store.load(conn, s.alpha.id, proposal_id)).state.revision
    await s.do(proposal_id, "facilitator", rules.Advance(frozenset(), revision))
    return Target("alpha", proposal_id)


async def holder_proposed(s: Setup) -> Target:
    """Everyone nominated `target`; revealed; `target` proposed (version 2)."""
    target = await nominating(s)
    for role in ("member", "facilitator", "admin", "target"):
        await s.do(target.proposal_id, role, rules.Nominate(s.id("target"), "Disponible."))
    await s.do(target.proposal_id, "facilitator", rules.Reveal(datetime.now(UTC)))
    await s.do(target.proposal_id, "facilitator", rules.ProposeHolder(s.id("target"), "Oui."))
    return target


async def holder_declined(s: Setup) -> Target:
    target = await holder_proposed(s)
    for role in ("member", "facilitator", "admin"):
        await position(s, target.proposal_id, role, Stance.CONSENT, 2)
    await position(s, target.proposal_id, "target", Stance.OBJECTION, 2)
    return target


Fields = Callable[[Target, Scenario], dict[str, Any]]


def no_fields(target: Target, world: Scenario) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Case:
    setup: Callable[[Setup], Awaitable[Target]]
    role: str  # who sends the request
    verb: str  # a step's verb; "edit": the draft's edit form (pages only)
    fields: Fields = no_fields  # JSON values; the page test turns them into form fields


def fields(**values: Any) -> Fields:
    return lambda target, world: values


CASES: dict[Rule, Case] = {
    Rule.NOT_PARTICIPANT: Case(clarifying, "unsigned", "ask", fields(text="Pourquoi ?")),
    Rule.PROPOSER_ONLY: Case(clarifying, "target", "withdraw"),
    Rule.FACILITATOR_ONLY: Case(clarifying, "target", "advance"),
    Rule.CLOSED: Case(withdrawn, "member", "withdraw"),
    Rule.NOT_DRAFT: Case(clarifying, "member", "edit", fields(
        title="Réunions", driver=TEXT.driver, body=TEXT.body, revision=1)),
    Rule.WRONG_STAGE: Case(clarifying, "facilitator", "open-object-round"),
    Rule.NO_OPEN_ROUND: Case(draft, "facilitator", "close-round"),
    Rule.NOT_ELIGIBLE: Case(signed_too_late, "unsigned", "ask", fields(text="Pourquoi ?")),
    Rule.PROPOSER_ASKS: Case(clarifying, "member", "ask", fields(text="Pourquoi ?")),
    Rule.QUESTION_UNKNOWN: Case(clarifying, "member", "answer",
                                fields(question_id=NOWHERE, text="Ici.")),
    Rule.QUESTION_ANSWERED: Case(answered, "member", "answer", lambda t, w: {
        "question_id": t.question_id, "text": "Ailleurs."}),
    Rule.QUESTIONS_UNANSWERED: Case(asked, "facilitator", "advance"),
    Rule.ALREADY_REACTED: Case(reacted, "target", "react", fields(text="Encore moi.")),
    Rule.STALE_VERSION: Case(objecting, "target", "position",
                             fields(stance="consent", version=2)),
    Rule.REASON_REQUIRED: Case(objecting, "target", "position",
                               fields(stance="objection", version=1, reason="")),
    Rule.NOT_YOUR_POSITION: Case(objecting, "target", "position", lambda t, w: {
        "stance": "consent", "version": 1, "person": w.user_ids["admin"]}),
    Rule.OBJECTION_UNKNOWN: Case(objecting, "facilitator", "judge",
                                 fields(objection_id=NOWHERE, verdict="valid", reason="Oui.")),
    Rule.OBJECTION_JUDGED: Case(objection_valid, "facilitator", "judge", lambda t, w: {
        "objection_id": t.objection_id, "verdict": "not_valid", "reason": "Finalement non."}),
    Rule.OBJECTION_NOT_OPEN: Case(objection_withdrawn, "target", "withdraw-objection",
                                  lambda t, w: {"objection_id": t.objection_id}),
    Rule.NOT_OBJECTOR: Case(objected, "admin", "withdraw-objection",
                            lambda t, w: {"objection_id": t.objection_id}),
    Rule.NOT_ANSWERED: Case(objection_valid, "target", "confirm",
                            lambda t, w: {"objection_id": t.objection_id}),
    Rule.VERSION_ANSWERS_NOTHING: Case(integrating, "member", "publish",
                                       fields(driver=TEXT.driver, body="Le mardi.", answers=[])),
    Rule.VERSION_ANSWERS_INVALID: Case(integrating, "member", "publish", fields(
        driver=TEXT.driver, body="Le mardi.", answers=[NOWHERE])),
    Rule.UNANSWERED_OBJECTIONS: Case(integrating, "facilitator", "open-object-round"),
    Rule.NO_NEW_VERSION: Case(integrating_again, "facilitator", "open-object-round"),
    Rule.POSITIONS_MISSING: Case(objecting, "facilitator", "close-round"),
    Rule.OBJECTIONS_UNJUDGED: Case(objected_all_answered, "facilitator", "close-round"),
    Rule.DEADLINE_PAST: Case(clarifying, "facilitator", "deadline", fields(deadline=PAST)),
    Rule.NOBODY_ELIGIBLE: Case(alone, "member", "submit"),
    Rule.STALE_STATE: Case(clarifying, "facilitator", "advance", fields(revision=1)),
    Rule.NOT_PRESENT: Case(objecting, "facilitator", "position", lambda t, w: {
        "stance": "consent", "version": 1, "person": w.user_ids["admin"]}),
    Rule.ON_BEHALF_LIFTS: Case(objected_in_a_meeting, "facilitator", "position", lambda t, w: {
        "stance": "consent", "version": 1, "person": w.user_ids["target"]}),
    Rule.NOT_AN_ELECTION: Case(clarifying, "target", "nominate", lambda t, w: {
        "nominee": w.user_ids["member"], "reason": "Disponible."}),
    Rule.ELECTION_STEP: Case(holder_declined, "facilitator", "open-object-round"),
    Rule.NOMINATIONS_SEALED: Case(nominating, "facilitator", "reveal"),
    Rule.NOMINEE_NOT_ELIGIBLE: Case(nominating, "member", "nominate", lambda t, w: {
        "nominee": w.user_ids["unsigned"], "reason": "Disponible."}),
    Rule.SCENARIO_NOT_IN_CHOICE: Case(preferring, "member", "nominate", lambda t, w: {
        "nominee": 999999, "reason": "Un autre scénario."}),
    Rule.NOMINEE_DECLINED: Case(holder_declined, "facilitator", "propose-holder", lambda t, w: {
        "nominee": w.user_ids["target"], "reason": "Toujours elle."}),
    Rule.NOMINEE_ANSWERS_LAST: Case(holder_proposed, "target", "position",
                                    fields(stance="consent", version=2)),
}  # fmt: skip

# Rules a surface cannot reach, and why; each is tested below through the path that can.
NOT_THROUGH_API: dict[Rule, str] = {
    # The API has no route to edit a draft (only the page's edit form does it).
    Rule.NOT_DRAFT: "no API route edits a draft",
    # Only the deadline task passes a deadline (rules.DeadlinePassed); no request does.
    Rule.DEADLINE_NOT_REACHED: "only the deadline task",
}
NOT_THROUGH_PAGES: dict[Rule, str] = {
    Rule.DEADLINE_NOT_REACHED: "only the deadline task",
}

API_RULES = [rule for rule in CASES if rule not in NOT_THROUGH_API]
PAGE_RULES = [rule for rule in CASES if rule not in NOT_THROUGH_PAGES]


def french(rule: Rule) -> str:
    return str(translations("fr").gettext(rules.MESSAGES[rule]))


def shown(message: str, page: str) -> bool:
    """The message is in the HTML, whichever way its apostrophes were escaped."""
    forms = {message, html.escape(message, quote=False), html.escape(message), str(escape(message))}
    return any(form in page for form in forms)


def form_value(value: Any) -> Any:
    if isinstance(value, datetime):  # a datetime-local field: the instance's time, no zone
        # With its seconds: without them the form refuses the value before the rules see it
        # (see test_the_deadline_form_takes_what_a_browser_sends).
        return value.astimezone(display_zone).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value)


def json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def prepare(rule: Rule, pool: asyncpg.Pool, alpha: Space, world: Scenario) -> Target:
    return await CASES[rule].setup(Setup(pool, alpha, world))


async def sent(case: Case, target: Target, world: Scenario, pool: asyncpg.Pool) -> dict[str, Any]:
    """The request's fields; a step that moves the process is sent, as the page and a
    careful client send it, with the proposal's current revision unless the case says."""
    values = dict(case.fields(target, world))
    if case.verb in MOVING_VERBS and "revision" not in values:
        async with pool.acquire() as conn:
            values["revision"] = await conn.fetchval(
                "SELECT revision FROM proposals WHERE id = $1", target.proposal_id
            )
    return values


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", API_RULES, ids=str)
async def test_the_api_names_the_rule(
    rule: Rule,
    client_world: tuple[Client, Scenario],
    pool: asyncpg.Pool,
    alpha: Space,
) -> None:
    client, world = client_world
    case = CASES[rule]
    target = await prepare(rule, pool, alpha, world)
    act_as(client, world, "anonymous")
    body = {k: json_value(v) for k, v in (await sent(case, target, world, pool)).items()}
    response = await client.post(
        f"/api/v1/spaces/{target.slug}/proposals/{target.proposal_id}/steps/{case.verb}",
        json=body,
        headers={"authorization": f"Bearer {world.api_tokens[case.role]}"},
    )
    assert response.status_code == RuleViolation(rule).status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == rule.value, problem
    assert problem["status"] == response.status_code
    assert problem["title"] == french(rule)


@pytest.mark.parametrize("rule", PAGE_RULES, ids=str)
async def test_the_page_shows_the_rule(
    rule: Rule,
    client_world: tuple[Client, Scenario],
    pool: asyncpg.Pool,
    alpha: Space,
) -> None:
    client, world = client_world
    case = CASES[rule]
    target = await prepare(rule, pool, alpha, world)
    act_as(client, world, case.role)
    data = {k: form_value(v) for k, v in (await sent(case, target, world, pool)).items()}
    response = await post_form(
        client, f"/s/{target.slug}/proposals/{target.proposal_id}/{case.verb}", data
    )
    assert response.status_code == RuleViolation(rule).status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert shown(french(rule), response.text), (french(rule), response.text)


# --- the rules a surface cannot reach -------------------------------------------------------


async def test_not_a_draft_through_the_edit_route_asked_for_json(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """No API route edits a draft; the edit route, asked for JSON, still names the rule."""
    client, world = client_world
    target = await prepare(Rule.NOT_DRAFT, pool, alpha, world)
    act_as(client, world, "member")
    response = await client.get(
        f"/s/{target.slug}/proposals/{target.proposal_id}/edit",
        headers={"accept": "application/json"},
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == Rule.NOT_DRAFT.value


async def test_deadline_not_reached_through_the_deadline_task(
    pool: asyncpg.Pool, alpha: Space, world: Scenario
) -> None:
    """Only the deadline task passes a deadline: the rules refuse it before the deadline, and
    the task never asks before (it picks the rounds whose deadline has passed)."""
    s = Setup(pool, alpha, world)
    target = await clarifying(s)
    now = datetime.now(UTC)
    too_early = rules.DeadlinePassed(now, frozenset())
    with pytest.raises(RuleViolation) as refused:  # no deadline at all
        await act(pool, alpha, target.proposal_id, rules.SYSTEM, too_early)
    assert refused.value.rule is Rule.DEADLINE_NOT_REACHED
    await s.do(target.proposal_id, "facilitator", rules.SetDeadline(now + timedelta(days=1), now))
    with pytest.raises(RuleViolation) as refused:  # a deadline still ahead
        await act(pool, alpha, target.proposal_id, rules.SYSTEM, too_early)
    assert refused.value.rule is Rule.DEADLINE_NOT_REACHED
    assert refused.value.code == "deadline_not_reached" and refused.value.status == 409
    assert french(Rule.DEADLINE_NOT_REACHED) != rules.MESSAGES[Rule.DEADLINE_NOT_REACHED]
    assert await run_due(pool, now) == 0  # before the deadline: the task leaves it open
    assert await run_due(pool, now + timedelta(days=2)) == 1  # after: it moves on
    async with pool.acquire() as conn:
        state = (await store.load(conn, alpha.id, target.proposal_id)).state
    assert state.stage is rules.Stage.REACT


async def test_the_deadline_form_takes_what_a_browser_sends(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    target = await clarifying(Setup(pool, alpha, world))
    act_as(client, world, "facilitator")
    url = f"/s/{target.slug}/proposals/{target.proposal_id}"
    past = await post_form(client, f"{url}/deadline", {"deadline": "2020-01-01T11:00"})
    assert past.status_code == 422
    assert shown(french(Rule.DEADLINE_PAST), past.text)
    future = await post_form(client, f"{url}/deadline", {"deadline": "2030-01-01T11:00"})
    assert future.status_code == 303


def test_every_rule_is_triggered_through_the_api_and_a_page() -> None:
    everything = set(Rule)
    assert set(CASES) | set(NOT_THROUGH_PAGES) == everything
    assert set(API_RULES) | set(NOT_THROUGH_API) == everything
    assert set(PAGE_RULES) | set(NOT_THROUGH_PAGES) == everything
    assert not set(API_RULES) & set(NOT_THROUGH_API)
    assert not set(PAGE_RULES) & set(NOT_THROUGH_PAGES)
