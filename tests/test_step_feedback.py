"""Feedback after each step on the proposal page (issue 10, section 5): the notice that says
what a step did, the decision shown once adopted, a step's address opened by GET, the
confirmation asked before an irreversible step, and the words that explain each choice."""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from tests.scenario import Scenario
from tests.web import Client, act_as, csrf_token, page_revision, post_form, post_step

NBSP = "\u00a0"
NEW = {"title": "Vélos", "driver": "Pourquoi", "body": "Quoi"}


def url_of(world: Scenario) -> str:
    return f"/s/alpha/proposals/{world.proposal_id}"


async def step(client: Client, world: Scenario, role: str, verb: str, **data: Any) -> Any:
    act_as(client, world, role)
    return await post_step(client, url_of(world), verb, data)


async def stage(pool: asyncpg.Pool, world: Scenario) -> str:
    async with pool.acquire() as conn:
        return str(await conn.fetchval("SELECT stage FROM proposals WHERE id = $1",
                                       world.proposal_id))  # fmt: skip


def notice(html: str) -> str | None:
    """The text of the step's notice, if the page shows one."""
    match = re.search(r'<p class="notice" id="done" role="status"[^>]*>(.*?)</p>', html, re.S)
    return match.group(1).strip() if match else None


async def test_a_step_says_what_it_did_and_what_comes_next(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    # The step the process waits for from this person wears the primary style.
    act_as(client, world, "target")
    page = (await client.get(url_of(world))).text
    ask = re.search(rf'<form method="post" action="{url_of(world)}/ask".*?</form>', page, re.S)
    assert ask and '<button type="submit" class="primary">' in ask.group(0)
    asked = await step(client, world, "target", "ask", text="Quand ?")
    assert asked.status_code == 303
    location = asked.headers["location"]
    assert location == f"{url_of(world)}?done=ask#done"
    page = (await client.get(location)).text
    assert notice(page) == f"Votre question est posée{NBSP}; Member y répondra."
    # Without the parameter, or with one that names no step: no notice, nothing echoed.
    assert notice((await client.get(url_of(world))).text) is None
    forged = await client.get(url_of(world), params={"done": "<b>Piraté</b>"})
    assert forged.status_code == 200 and notice(forged.text) is None
    assert "Piraté" not in forged.text

    act_as(client, world, "member")
    page = (await client.get(url_of(world))).text
    question = re.search(r'name="question_id" value="(\d+)"', page)
    assert question
    answered = await step(client, world, "member", "answer", question_id=question.group(1),
                          text="Lundi.")  # fmt: skip
    page = (await client.get(answered.headers["location"])).text
    assert notice(page) == f"Votre réponse est enregistrée{NBSP}; elle s'affiche sous la question."
    advanced = await step(client, world, "facilitator", "advance")
    assert advanced.status_code == 303
    page = (await client.get(advanced.headers["location"])).text
    assert notice(page) == f"Le tour est clos{NBSP}; étape suivante{NBSP}: Réactions."
    reacted = await step(client, world, "target", "react", text="Bien.")
    page = (await client.get(reacted.headers["location"])).text
    assert notice(page) == "Votre réaction est enregistrée."


async def test_an_adopted_proposal_shows_its_decision_first(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    for _ in range(2):
        assert (await step(client, world, "facilitator", "advance")).status_code == 303
    for role in ("admin", "facilitator", "target"):
        given = await step(client, world, role, "position", stance="consent", version="1")
        assert given.status_code == 303
    page = (await client.get(given.headers["location"])).text
    assert notice(page) == (
        f"Votre position est enregistrée{NBSP}; vous pouvez la changer jusqu'à la clôture du tour."
    )
    closed = await step(client, world, "facilitator", "close-round")
    assert closed.status_code == 303
    async with pool.acquire() as conn:
        number = await conn.fetchval(
            "SELECT number FROM decisions WHERE proposal_id = $1", world.proposal_id
        )
    adopted = f'<h3 id="adopted-title">Décision {number} adoptée</h3>'
    link = f'<a class="button primary" href="/s/alpha/decisions/{number}">'
    page = (await client.get(closed.headers["location"])).text
    assert adopted in page and link in page and 'role="status"' in page
    # Visited later, by anyone: the decision is still the first thing said.
    act_as(client, world, "member")
    later = (await client.get(url_of(world))).text
    assert adopted in later and link in later
    assert later.index(adopted) < later.index('id="text-title"')


async def test_a_step_address_opened_by_get_leads_to_the_proposal(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "target")
    for verb in ("ask", "position", "close"):
        opened = await client.get(f"{url_of(world)}/{verb}", follow_redirects=False)
        assert opened.status_code == 303
        assert opened.headers["location"] == url_of(world)
    assert (await client.get(f"{url_of(world)}/nothing", follow_redirects=False)).status_code == 404
    # The pages at fixed addresses under the proposal are still theirs, not redirected.
    assert (await client.get(f"{url_of(world)}/round")).status_code == 200
    diff = await client.get(f"{url_of(world)}/diff", follow_redirects=False)
    assert diff.status_code == 200
    act_as(client, world, "member")
    created = await post_form(client, "/s/alpha/proposals", NEW)
    draft = created.headers["location"]
    edit = await client.get(f"{draft}/edit", follow_redirects=False)
    assert edit.status_code == 200 and 'name="title"' in edit.text
    # Someone outside the space: the space's answer, not a redirect into it.
    act_as(client, world, "outsider")
    assert (await client.get(f"{url_of(world)}/ask", follow_redirects=False)).status_code == 404


async def test_withdrawing_asks_first_and_changes_nothing_until_confirmed(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "member")
    page = (await client.get(url_of(world))).text
    assert re.search(r'<button type="submit" class="danger">Retirer la proposition</button>', page)
    asked = await step(client, world, "member", "withdraw")
    assert asked.status_code == 200
    assert f"Êtes-vous sûr·e{NBSP}? C'est irréversible." in asked.text
    assert await stage(pool, world) == "clarify"
    form = re.search(r'<section class="confirm".*?</section>', asked.text, re.S)
    assert form and 'name="confirm" value="yes"' in form.group(0)
    assert f'action="{url_of(world)}/withdraw"' in form.group(0)
    assert 'class="danger" autofocus>Oui, retirer la proposition</button>' in form.group(0)
    # The confirmation's own form: the step is taken.
    done = await step(client, world, "member", "withdraw", confirm="yes")
    assert done.status_code == 303 and done.headers["location"].endswith("?done=withdraw#done")
    assert await stage(pool, world) == "withdrawn"
    assert notice((await client.get(done.headers["location"])).text) == (
        "La proposition est retirée."
    )


async def test_a_refused_irreversible_step_says_why_instead_of_asking(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    # Not the proposer: the rule's refusal, not "are you sure?".
    refused = await step(client, world, "target", "withdraw")
    assert refused.status_code == 403 and 'class="confirm"' not in refused.text
    # Closing without a reason: the rule says a reason is needed, next to the field.
    act_as(client, world, "facilitator")
    no_reason = await step(client, world, "facilitator", "close", reason=" ")
    assert no_reason.status_code == 422 and 'class="confirm"' not in no_reason.text
    # A stale page: refused as stale, not confirmed on a state the person did not see.
    stale = await step(client, world, "facilitator", "close", reason="Hors sujet.", revision="1")
    assert stale.status_code == 409 and 'class="confirm"' not in stale.text
    assert await stage(pool, world) == "clarify"


async def test_closing_from_the_meeting_console_asks_then_returns_there(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    console = f"/s/alpha/meetings/{world.meeting_id}/console"
    asked = await step(client, world, "facilitator", "close", reason="Hors sujet.", back=console)
    assert asked.status_code == 200
    form = re.search(r'<section class="confirm".*?</section>', asked.text, re.S)
    assert form
    assert f'name="back" value="{console}"' in form.group(0)
    assert 'name="reason" value="Hors sujet."' in form.group(0)
    assert await stage(pool, world) == "clarify"
    token = await csrf_token(client)
    revision = await page_revision(client, url_of(world))
    confirmed = await client.post(f"{url_of(world)}/close", data={
        "confirm": "yes", "reason": "Hors sujet.", "back": console, "revision": revision,
        "_csrf_token": token}, follow_redirects=False)  # fmt: skip
    assert confirmed.status_code == 303 and confirmed.headers["location"] == console
    assert await stage(pool, world) == "rejected"


async def test_each_choice_explains_itself(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    # An empty reaction, not passed: the way out is said next to the field.
    assert (await step(client, world, "facilitator", "advance")).status_code == 303
    empty = await step(client, world, "target", "react", text="")
    assert empty.status_code == 422
    message = re.search(r'<p class="error" id="e-react-text" role="alert">([^<]*)</p>', empty.text)
    assert message and message.group(1) == (
        f"Écrivez votre réaction, ou cochez «{NBSP}Je passe mon tour{NBSP}»."
    )
    assert 'aria-describedby="react-passed-hint"' in empty.text
    # The position form: each stance says what it means, tied to its radio button.
    assert (await step(client, world, "facilitator", "advance")).status_code == 303
    act_as(client, world, "target")
    page = (await client.get(url_of(world))).text
    for value, words in (
        ("consent", "assez sûr pour essayer"),
        ("concern", "rappelée lors de la révision"),
        ("objection", "connu, pas seulement craint"),
    ):
        assert f'aria-describedby="stance-{value}-hint"' in page
        hint = re.search(rf'<p class="hint" id="stance-{value}-hint">([^<]*)</p>', page)
        assert hint and words in hint.group(1), (value, hint)
