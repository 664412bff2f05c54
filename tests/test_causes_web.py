"""The cause's own pages through HTTP (issue 12 §1): the space's causes a page at a time,
proposing a cause (its mistakes next to their fields, a free theme kept as written) and
editing it, the overview at each step of the journey with what comes next for the viewer,
following it and joining those who carry it, and the proposal taking it on (each criterion
answered, one at a time). Who may see and do what, and a page's bounded queries."""

from __future__ import annotations

import html
import re

import asyncpg

from consentir import db
from consentir.causes import rules
from consentir.causes import store as causes
from consentir.causes.pages import GATE_MESSAGES
from consentir.causes.rules import Rule
from consentir.causes.store import CauseText
from consentir.consent import rules as consent_rules
from consentir.consent import store as proposals
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from consentir.web.i18n import translations
from tests.causes_setup import MEETS, adopt, new_cause, propose, taken_on_cause
from tests.process import person
from tests.scenario import Scenario
from tests.web import Client, act_as, field_error, post_form


def fr(message: str, **params: str) -> str:
    """A message as a French reader sees it."""
    translated = str(translations("fr").gettext(message))
    return translated % params if params else translated


def words(page: str) -> str:
    """The page's words: tags removed, entities decoded, runs of spaces made one."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def section(page: str, ident: str) -> str:
    """The words of the page's <section> whose heading has this id."""
    match = re.search(rf'<section aria-labelledby="{ident}".*?</section>', page, re.S)
    assert match, f"no section {ident}"
    return words(match.group(0))


def step_item(page: str, step: str) -> str:
    """The journey's item for a step (the overview's list, not the stepper above it)."""
    journey = re.search(r'<ol class="journey">.*?</ol>', page, re.S)
    assert journey
    match = re.search(rf'<li class="(\w+)" data-step="{step}">(.*?)</li>', journey.group(0), re.S)
    assert match, step
    return match.group(1) + " " + words(match.group(2))


def next_codes(page: str) -> list[str]:
    return re.findall(r'data-next="([a-z_]+)"', page)


async def cause_of(pool: asyncpg.Pool, alpha: Space, cause_id: int) -> causes.Cause:
    async with pool.acquire() as conn:
        return await causes.cause(conn, alpha.id, cause_id)


async def beta_cause(pool: asyncpg.Pool, world: Scenario) -> int:
    """A cause of space beta (alpha's members are not there)."""
    async with db.transaction(pool) as conn:
        view = await spaces.space_view(conn, "beta", None, instance_admin=False)
        assert view is not None
        text = CauseText("Jardin de Beta", "Beta-ville", "local_life", "Secret de Beta.")
        return int(await causes.create(conn, view.space.id, world.user_ids["beta_owner"], text))


CAUSE = {"title": "Bancs place Carnot", "territory": "Lyon 2e", "theme": "living_together",
         "summary": "Il n'y a **aucun** banc.", "theme_other": ""}  # fmt: skip


# --- proposing a cause --------------------------------------------------------------------


async def test_a_member_proposes_a_cause_mistakes_next_to_their_fields(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    act_as(client, world, "member")
    form = await client.get("/s/alpha/causes/new")
    assert form.status_code == 200
    for code in causes.THEMES:
        assert f'<option value="{code}"' in form.text
    assert '<option value="other"' in form.text and 'name="idempotency_key"' in form.text

    empty = await post_form(client, "/s/alpha/causes/new", {"title": " ", "territory": "",
                                                            "theme": "mobility"})  # fmt: skip
    assert empty.status_code == 422
    assert field_error(empty.text, "title") == fr("This field is required.")
    assert field_error(empty.text, "territory") == fr("This field is required.")
    assert field_error(empty.text, "theme") is None

    unnamed = await post_form(client, "/s/alpha/causes/new", {**CAUSE, "theme": "other"})
    assert unnamed.status_code == 422
    assert html.unescape(field_error(unnamed.text, "theme_other") or "") == fr(
        "Name the theme, or choose one of the five."
    )
    assert 'value="Bancs place Carnot"' in unnamed.text  # what was written is kept

    unknown = await post_form(client, "/s/alpha/causes/new", {**CAUSE, "theme": "weather"})
    assert unknown.status_code == 422 and field_error(unknown.text, "theme")

    free = {**CAUSE, "theme": "other", "theme_other": "Écologie urbaine",
            "idempotency_key": "cause-1"}  # fmt: skip
    created = await post_form(client, "/s/alpha/causes/new", free)
    assert created.status_code == 303
    location = created.headers["location"]
    cause_id = int(location.rsplit("/", 1)[1])
    assert location == f"/s/alpha/causes/{cause_id}"
    again = await post_form(client, "/s/alpha/causes/new", free)  # a double click
    assert again.status_code == 303 and again.headers["location"] == location

    cause = await cause_of(pool, alpha, cause_id)
    assert (cause.title, cause.territory, cause.theme) == (
        "Bancs place Carnot",
        "Lyon 2e",
        "Écologie urbaine",
    )
    assert [p.id for p in cause.carriers] == [world.user_ids["member"]]
    async with pool.acquire() as conn:
        listed, _ = await causes.listing(conn, alpha.id)
    assert [c.title for c in listed] == ["Bancs place Carnot"]  # once, not twice

    page = await client.get(location)
    assert page.status_code == 200
    assert "Il n'y a <strong>aucun</strong> banc." in html.unescape(page.text)
    about = section(page.text, "about-title")
    assert "Écologie urbaine" in about and "Member" in about


async def test_who_carries_it_or_a_facilitator_edits_the_cause(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    cause_id = await new_cause(pool, alpha, world)
    url = f"/s/alpha/causes/{cause_id}"
    act_as(client, world, "member")  # who proposed it carries it
    form = await client.get(f"{url}/edit")
    assert form.status_code == 200
    assert 'value="Piste cyclable rue Paul-Bert"' in form.text
    assert re.search(r'<option value="mobility"\s+selected', form.text)
    wrong = await post_form(client, f"{url}/edit", {**CAUSE, "title": ""})
    assert wrong.status_code == 422 and field_error(wrong.text, "title")
    saved = await post_form(client, f"{url}/edit", {**CAUSE, "theme": "mobility"})
    assert saved.status_code == 303 and saved.headers["location"] == url
    assert (await cause_of(pool, alpha, cause_id)).title == "Bancs place Carnot"

    act_as(client, world, "target")  # a member who does not carry it
    assert (await client.get(f"{url}/edit")).status_code == 403
    refused = await post_form(client, f"{url}/edit", {**CAUSE, "title": "Autre"})
    assert refused.status_code == 403
    assert "Edit the cause" not in (await client.get(url)).text
    assert fr("Edit the cause") not in html.unescape((await client.get(url)).text)

    act_as(client, world, "facilitator")
    again = await post_form(client, f"{url}/edit", {**CAUSE, "title": "Des bancs"})
    assert again.status_code == 303
    assert (await cause_of(pool, alpha, cause_id)).title == "Des bancs"


# --- the list -----------------------------------------------------------------------------


async def test_the_list_newest_first_a_page_at_a_time(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    first = await taken_on_cause(pool, alpha, world, "Cause numéro 0")
    ids = [first] + [
        await new_cause(pool, alpha, world, f"Cause numéro {n}")
        for n in range(1, causes.PAGE_SIZE + 2)
    ]
    act_as(client, world, "member")
    page = await client.get("/s/alpha/causes")
    assert page.status_code == 200
    shown = [int(i) for i in re.findall(r'data-cause="(\d+)"', page.text)]
    assert shown == sorted(ids, reverse=True)[: causes.PAGE_SIZE]
    assert f"Cause numéro {causes.PAGE_SIZE + 1}" in page.text
    assert "Cause numéro 0<" not in page.text
    assert fr("Propose a cause") in html.unescape(page.text)
    older = re.search(r'<a rel="next" href="([^"]+)">', page.text)
    assert older and older.group(1) == f"/s/alpha/causes?before={shown[-1]}"

    second = await client.get(older.group(1))
    assert second.status_code == 200
    rest = [int(i) for i in re.findall(r'data-cause="(\d+)"', second.text)]
    assert rest == sorted(ids, reverse=True)[causes.PAGE_SIZE :] == [ids[1], first]
    assert 'rel="next"' not in second.text
    items = dict(re.findall(r'data-cause="(\d+)">(.*?)</li>', second.text, re.S))
    assert fr("taken on") in words(items[str(first)])  # where each one is
    assert fr("proposed, not taken on yet") in words(items[str(ids[1])])
    assert fr("mobility") in words(items[str(first)])  # the theme in words


# --- the overview at each step -------------------------------------------------------------


async def test_before_it_is_taken_on_the_overview_invites_to_take_it_on(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    cause_id = await new_cause(pool, alpha, world)
    url = f"/s/alpha/causes/{cause_id}"
    act_as(client, world, "target")
    page = (await client.get(url)).text
    assert next_codes(page) == ["take_on"]
    assert f'href="{url}/take-on">{fr("Propose to take the cause on")}<' in html.unescape(page)
    for step in rules.STEPS:  # every step waits for the decision, said in full
        assert "closed" in step_item(page, step)
        assert fr(rules.MESSAGES[Rule.NOT_TAKEN_ON]) in step_item(page, step)
    assert fr("No proposal of the cause is under way.") in section(page, "under-way-title")

    act_as(client, world, "unsigned")  # reads, cannot act: told why
    page = (await client.get(url)).text
    assert next_codes(page) == ["sign"]
    assert f"{url}/take-on" not in page and f"{url}/follow" not in page
    assert fr("Sign the charter of this space to take part in the cause.") in words(page)


async def test_taken_on_the_observation_and_objectives_open_the_plan_waits_for_an_objective(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    cause_id = await taken_on_cause(pool, alpha, world)
    url = f"/s/alpha/causes/{cause_id}"
    decision = (await cause_of(pool, alpha, cause_id)).adopted("take_on")[0].decision_number
    act_as(client, world, "target")
    page = (await client.get(url)).text
    assert step_item(page, "observe").startswith("open ")
    assert step_item(page, "objectives").startswith("current ")
    plan = step_item(page, "plan")
    assert plan.startswith("closed ") and fr(rules.MESSAGES[Rule.NO_OBJECTIVE]) in plan
    assert fr(rules.MESSAGES[Rule.NO_SCENARIO_CHOSEN]) not in page  # the first rule only
    stepper = re.search(r'<ol class="stepper stepper--gates">.*?</ol>', page, re.S)
    assert stepper and fr(GATE_MESSAGES[Rule.NO_OBJECTIVE]) in words(stepper.group(0))
    assert next_codes(page) == ["objectives", "observe"]
    assert f'href="{url}/objectives">{fr("Write objectives")}<' in html.unescape(page)
    decisions = section(page, "decisions-title")
    assert f'href="/s/alpha/decisions/{decision}"' in page
    assert fr("Decision %(number)s", number=str(decision)) in decisions
    assert fr("taking the cause on") in decisions

    # Objectives proposed: the journey waits for their adoption, and says where.
    objectives = await propose(pool, alpha, world, cause_id, "objectives", "Nos objectifs")
    async with db.transaction(pool) as conn:
        submit = consent_rules.Submit(frozenset())
        await proposals.act(conn, alpha, objectives, person(world, "member"), submit)
    page = (await client.get(url)).text
    assert next_codes(page) == ["objectives", "observe"]
    under_way = section(page, "under-way-title")
    assert "Nos objectifs" in under_way and fr("objectives") in under_way
    assert f'href="/s/alpha/proposals/{objectives}"' in page
    assert fr("The proposal “%(title)s” (%(purpose)s) is under way: take part on its page.",
              title="Nos objectifs", purpose=fr("objectives")) in words(page)  # fmt: skip


# --- following --------------------------------------------------------------------------------


async def test_follow_unfollow_and_join_those_who_carry_it(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    cause_id = await new_cause(pool, alpha, world)
    url = f"/s/alpha/causes/{cause_id}"
    act_as(client, world, "target")
    page = (await client.get(url)).text
    assert section(page, "about-title").count(fr("Follow the cause")) == 1
    assert '<dd id="followers">1</dd>' in page

    followed = await post_form(client, f"{url}/follow", {"on": "1"})
    assert followed.status_code == 303 and followed.headers["location"] == url
    page = (await client.get(url)).text
    assert '<dd id="followers">2</dd>' in page and fr("Stop following the cause") in page
    cause = await cause_of(pool, alpha, cause_id)
    assert world.user_ids["target"] not in cause.carried_by

    carried = await post_form(client, f"{url}/follow", {"on": "1", "carries": "1"})
    assert carried.status_code == 303
    cause = await cause_of(pool, alpha, cause_id)
    assert world.user_ids["target"] in cause.carried_by and cause.followers == 2
    page = (await client.get(url)).text
    assert "Member, Target" in section(page, "about-title")
    assert fr("Join those who carry it") not in page

    left = await post_form(client, f"{url}/follow", {"on": "0"})
    assert left.status_code == 303
    cause = await cause_of(pool, alpha, cause_id)
    assert cause.followers == 1 and world.user_ids["target"] not in cause.carried_by
    journal = await pool.fetch(
        "SELECT action FROM journal WHERE subject_type = 'cause' AND subject_id = $1 ORDER BY id",
        cause_id,
    )
    assert [r["action"] for r in journal] == [
        "cause.created", "cause.followed", "cause.carried", "cause.unfollowed",
    ]  # fmt: skip


# --- taking it on -------------------------------------------------------------------------


async def test_taking_it_on_each_criterion_answered_then_the_draft(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    cause_id = await new_cause(pool, alpha, world)
    url = f"/s/alpha/causes/{cause_id}"
    act_as(client, world, "target")
    form = await client.get(f"{url}/take-on")
    assert form.status_code == 200
    for name in ("meets_values", "meets_mobilised", "meets_impact", "driver"):
        assert f'name="{name}"' in form.text

    partial = await post_form(client, f"{url}/take-on", {
        "meets_values": MEETS[0], "meets_mobilised": "  ", "meets_impact": "",
    })  # fmt: skip
    assert partial.status_code == 422
    assert field_error(partial.text, "meets_values") is None
    assert html.unescape(field_error(partial.text, "meets_mobilised") or "") == fr(
        "Say who is mobilised: several people, not one alone."
    )
    assert html.unescape(field_error(partial.text, "meets_impact") or "") == fr(
        "Say what useful local impact the cause would have."
    )
    assert 'data-code="cause_criteria_unanswered"' in partial.text
    assert MEETS[0] in html.unescape(partial.text)  # kept
    assert (await cause_of(pool, alpha, cause_id)).proposals == []

    answers = dict(zip(("meets_values", "meets_mobilised", "meets_impact"), MEETS, strict=True))
    made = await post_form(client, f"{url}/take-on", {**answers, "idempotency_key": "take-1"})
    assert made.status_code == 303
    location = made.headers["location"]
    assert re.fullmatch(r"/s/alpha/proposals/\d+", location)
    proposal_id = int(location.rsplit("/", 1)[1])
    cause = await cause_of(pool, alpha, cause_id)
    assert [(p.proposal_id, p.purpose, p.stage) for p in cause.proposals] == [
        (proposal_id, "take_on", "draft")
    ]
    assert cause.facts.answered == frozenset(rules.Criterion)
    proposal = (await client.get(location)).text  # the draft, on its page, as its author
    for answer in MEETS:
        assert answer in html.unescape(proposal)
    assert fr("Take on the cause: %(title)s", title="Piste cyclable rue Paul-Bert") in words(
        proposal
    )

    # The overview: its author is asked to submit it; another member is told it is a draft
    # (no link to a page they cannot see); a facilitator may open it.
    page = (await client.get(url)).text
    assert next_codes(page) == ["submit"] and f'href="{location}"' in page
    act_as(client, world, "member")
    page = (await client.get(url)).text
    assert next_codes(page) == ["draft"] and f'href="{location}"' not in page
    act_as(client, world, "facilitator")
    assert f'href="{location}"' in (await client.get(url)).text


async def test_a_second_taking_on_while_one_is_under_way_is_refused_in_words(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    cause_id = await new_cause(pool, alpha, world)
    first = await propose(pool, alpha, world, cause_id, "take_on", "Prendre la piste", MEETS)
    url = f"/s/alpha/causes/{cause_id}"
    act_as(client, world, "target")
    said = fr("A proposal of this kind is already under way for this cause: %(title)s.",
              title="Prendre la piste")  # fmt: skip
    form = await client.get(f"{url}/take-on")
    assert form.status_code == 200 and said in words(form.text)
    assert 'name="meets_values"' not in form.text  # nothing to fill in that would be refused

    answers = dict(zip(("meets_values", "meets_mobilised", "meets_impact"), MEETS, strict=True))
    refused = await post_form(client, f"{url}/take-on", answers)
    assert refused.status_code == 409
    assert said in words(refused.text) and MEETS[2] in html.unescape(refused.text)
    assert 'data-code="cause_proposal_under_way"' in refused.text
    assert [p.proposal_id for p in (await cause_of(pool, alpha, cause_id)).proposals] == [first]

    await adopt(pool, alpha, world, first)  # taken on: no second one either
    again = await post_form(client, f"{url}/take-on", answers)
    assert again.status_code == 409 and 'data-code="cause_taken_on"' in again.text
    assert len((await cause_of(pool, alpha, cause_id)).proposals) == 1


# --- access -------------------------------------------------------------------------------


async def test_who_may_see_and_do_what(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    client = scenario_client
    cause_id = await new_cause(pool, alpha, world)
    url = f"/s/alpha/causes/{cause_id}"
    pages = ["/s/alpha/causes", url]
    writes = {"/s/alpha/causes/new": CAUSE, f"{url}/follow": {"on": "1"},
              f"{url}/take-on": dict(zip(("meets_values", "meets_mobilised", "meets_impact"),
                                         MEETS, strict=True))}  # fmt: skip

    act_as(client, world, "anonymous")
    for path in [*pages, "/s/alpha/causes/new", f"{url}/take-on"]:
        answer = await client.get(path, follow_redirects=False)
        assert answer.status_code in (302, 303) and "/signin" in answer.headers["location"]

    act_as(client, world, "outsider")
    for path in [*pages, "/s/alpha/causes/new", f"{url}/take-on", f"{url}/edit"]:
        assert (await client.get(path)).status_code == 404, path
    for path, data in writes.items():
        assert (await post_form(client, path, data)).status_code == 404, path

    act_as(client, world, "unsigned")  # reads, does not write
    for path in pages:
        assert (await client.get(path)).status_code == 200, path
    assert fr("Propose a cause") not in html.unescape((await client.get(pages[0])).text)
    for path in ["/s/alpha/causes/new", f"{url}/take-on", f"{url}/edit"]:
        assert (await client.get(path)).status_code == 403, path
    for path, data in writes.items():
        assert (await post_form(client, path, data)).status_code == 403, path
    cause = await cause_of(pool, alpha, cause_id)
    assert cause.followers == 1 and cause.proposals == []

    # Another space's cause, asked for through alpha: not found, whatever the verb.
    other = await beta_cause(pool, world)
    act_as(client, world, "member")
    elsewhere = f"/s/alpha/causes/{other}"
    for path in [elsewhere, f"{elsewhere}/edit", f"{elsewhere}/take-on"]:
        answer = await client.get(path)
        assert answer.status_code == 404 and "Secret de Beta" not in answer.text, path
    for path, data in {f"{elsewhere}/follow": {"on": "1"}, f"{elsewhere}/edit": CAUSE,
                       f"{elsewhere}/take-on": writes[f"{url}/take-on"]}.items():  # fmt: skip
        assert (await post_form(client, path, data)).status_code == 404, path
    assert (await client.get("/s/beta/causes")).status_code == 404
    async with pool.acquire() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM cause_people WHERE cause_id = $1", other
        ) == 1  # fmt: skip


# --- bounded queries ----------------------------------------------------------------------


async def test_the_overview_needs_the_same_queries_however_many_proposals_and_followers(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space,
    query_log: list[str],
) -> None:  # fmt: skip
    client = scenario_client
    cause_id = await taken_on_cause(pool, alpha, world)
    url = f"/s/alpha/causes/{cause_id}"
    await propose(pool, alpha, world, cause_id, "objectives")  # a draft under way
    act_as(client, world, "facilitator")

    async def count() -> int:
        query_log.clear()
        response = await client.get(url)
        assert response.status_code == 200
        return len(query_log)

    await count()  # (the app's first request prepares what it needs once)
    few = await count()
    for role in ("admin", "facilitator", "target"):
        async with db.transaction(pool) as conn:
            await causes.follow(conn, alpha.id, cause_id, world.user_ids[role], on=True)
    for n in range(3):
        assert await adopted_again(pool, alpha, world, cause_id, n)
    many = await count()
    shown = "\n".join(" ".join(q.split())[:70] for q in query_log)
    cause = await cause_of(pool, alpha, cause_id)
    assert cause.followers == 4 and len(cause.proposals) == 5
    assert many == few <= 4, shown  # session, space, cause, the draft's author


async def adopted_again(
    pool: asyncpg.Pool, alpha: Space, world: Scenario, cause_id: int, n: int
) -> str:
    """One more decision of the cause (through the store, which lets a cause be taken on
    again; the page refuses it): one more row among the overview's decisions."""
    proposal_id = await propose(pool, alpha, world, cause_id, "take_on", f"Encore {n}", MEETS)
    return await adopt(pool, alpha, world, proposal_id)
