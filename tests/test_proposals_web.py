"""The proposal pages and the JSON API, through HTTP: forms, refusals in place, the API's
problem+json with rule codes, idempotency, and the SQL budget of the proposal page."""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from consentir import db
from consentir.spaces.store import Space
from tests.process import open_meeting
from tests.scenario import Scenario, adopt_proposal
from tests.web import MOVING_VERBS, Client, act_as, csrf_token, field_error, post_form, post_step

NEW = {"title": "Réunions mensuelles", "driver": "Nous nous voyons trop peu.",
       "body": "Une **réunion** chaque premier lundi du mois."}  # fmt: skip


async def create(client: Client, world: Scenario) -> str:
    act_as(client, world, "member")
    response = await post_form(client, "/s/alpha/proposals", NEW)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


async def step(client: Client, world: Scenario, role: str, url: str, verb: str, **data: Any) -> Any:
    act_as(client, world, role)
    return await post_step(client, url, verb, data)


async def to_object(client: Client, world: Scenario) -> str:
    url = await create(client, world)
    assert (await step(client, world, "member", url, "submit")).status_code == 303
    assert (await step(client, world, "facilitator", url, "advance")).status_code == 303
    assert (await step(client, world, "facilitator", url, "advance")).status_code == 303
    return url


async def test_write_a_draft_then_submit_it(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    url = await create(client, world)
    page = await client.get(url)
    assert page.status_code == 200
    assert "<strong>réunion</strong>" in page.text
    assert 'aria-current="step">Brouillon' in page.text
    # Others do not see a draft; the facilitator does.
    act_as(client, world, "target")
    assert (await client.get(url)).status_code == 404
    act_as(client, world, "facilitator")
    assert (await client.get(url)).status_code == 200
    # Editing: the form comes back with the error next to the field.
    act_as(client, world, "member")
    response = await post_form(client, f"{url}/edit", {**NEW, "title": "", "revision": "1"})
    assert response.status_code == 422
    assert 'id="f-title-error"' in response.text
    response = await post_form(client, f"{url}/edit", {**NEW, "title": "Réunions", "revision": "1"})
    assert response.status_code == 303
    # A stale form (revision changed meanwhile) is refused and says so.
    response = await post_form(client, f"{url}/edit", {**NEW, "revision": "1"})
    assert response.status_code == 409
    assert "entre-temps" in response.text
    response = await step(client, world, "member", url, "submit")
    assert response.status_code == 303
    act_as(client, world, "target")
    page = await client.get(url)
    assert page.status_code == 200 and "Votre question de clarification" in page.text


async def test_a_refused_step_names_the_rule_next_to_its_form(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    url = await to_object(client, world)
    response = await step(client, world, "target", url, "position", stance="objection",
                          version="1", reason="")  # fmt: skip
    assert response.status_code == 422
    assert 'id="e-position-reason"' in response.text
    assert "Donnez la raison : elle est gardée en mémoire." in response.text
    response = await step(client, world, "facilitator", url, "close-round")
    assert response.status_code == 409
    assert "pas encore donné leur position" in response.text
    response = await step(client, world, "unsigned", url, "position", stance="consent",
                          version="1")  # fmt: skip
    assert response.status_code == 403


async def test_a_double_click_gives_one_position(client_world: tuple[Client, Scenario],
                                                 database_url: str) -> None:  # fmt: skip
    client, world = client_world
    url = await to_object(client, world)
    act_as(client, world, "target")
    token = await csrf_token(client)
    data = {"stance": "concern", "version": "1", "reason": "Le lundi.",
            "idempotency_key": "click-1", "_csrf_token": token}  # fmt: skip
    first = await client.post(f"{url}/position", data=data, follow_redirects=False)
    second = await client.post(f"{url}/position", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    conn = await db.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM positions") == 1
        events = await conn.fetchval(
            "SELECT count(*) FROM journal WHERE action = 'proposal.position_given'"
        )
        assert events == 1
    finally:
        await conn.close()


async def test_a_stale_position_shows_the_new_version(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    url = await to_object(client, world)
    response = await step(client, world, "member", url, "publish", driver="Pourquoi",
                          body="Le **mardi** plutôt.", note="mardi")  # fmt: skip
    assert response.status_code == 303
    response = await step(client, world, "target", url, "position", stance="consent", version="1")
    assert response.status_code == 409
    assert "nouvelle version" in response.text
    assert "<strong>mardi</strong>" in response.text  # the page shows version 2 now
    assert 'name="version" value="2"' in response.text
    diff = await client.get(f"{url}/diff")
    assert diff.status_code == 200 and "<ins>" in diff.text and "<del>" in diff.text


async def test_api_takes_a_proposal_to_adoption(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")

    def auth(role: str, key: str | None = None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {world.api_tokens[role]}"}
        if key:
            headers["idempotency-key"] = key
        return headers

    base = "/api/v1/spaces/alpha/proposals"
    created = await client.post(base, json=NEW, headers=auth("member", "k1"))
    assert created.status_code == 201, created.text
    again = await client.post(base, json=NEW, headers=auth("member", "k1"))
    assert again.status_code == 201 and again.json() == created.json()
    assert again.headers["idempotent-replayed"] == "true"
    url = f"{base}/{created.json()['id']}"

    async def do(role: str, verb: str, **body: Any) -> Any:
        if verb in MOVING_VERBS:  # decided on the proposal as its reader sees it now
            body["revision"] = (await client.get(url, headers=auth(role))).json()["revision"]
        return await client.post(f"{url}/steps/{verb}", json=body, headers=auth(role))

    assert (await do("member", "submit")).status_code == 200
    refused = await do("member", "ask", text="?")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "proposer_cannot_answer_round"
    assert (await do("facilitator", "advance")).status_code == 200
    assert (await do("facilitator", "advance")).status_code == 200
    for role in ("admin", "facilitator"):
        assert (await do(role, "position", stance="consent", version=1)).status_code == 200
    hidden = (await client.get(url, headers=auth("admin"))).json()
    assert len(hidden["round"]["positions"]) == 1  # only my own until the round closes
    stale = await do("target", "position", stance="consent", version=2)
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert (await do("target", "position", stance="consent", version=1)).status_code == 200
    adopted = await do("facilitator", "close-round")
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["stage"] == "adopted"
    assert re.fullmatch(r"AL-\d{4}-001", adopted.json()["decision"])
    listing = await client.get(base, headers=auth("target"))
    assert [p["stage"] for p in listing.json()["proposals"]] == ["adopted", "clarify"]
    outsider = await client.get(url, headers=auth("outsider"))
    assert outsider.status_code == 404


async def test_proposal_page_needs_the_same_queries_however_many_contributions(
    client_world: tuple[Client, Scenario], query_log: list[str]
) -> None:
    client, world = client_world
    url = await to_object(client, world)
    act_as(client, world, "admin")

    async def count() -> int:
        query_log.clear()
        response = await client.get(url)
        assert response.status_code == 200
        return len(query_log)

    few = await count()
    for i in range(3):
        await step(client, world, "member", url, "publish", driver=f"D{i}", body=f"B{i}")
        for role in ("admin", "facilitator", "target"):
            await step(client, world, role, url, "position", stance="objection",
                       version=str(i + 2), reason=f"raison {i}")  # fmt: skip
    many = await count()
    shown = "\n".join(" ".join(q.split())[:70] for q in query_log)
    assert 4 <= many == few <= 6, shown  # session, space, state, detail


async def test_positions_show_during_the_round_when_the_space_says_so(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    url = await to_object(client, world)
    await step(client, world, "target", url, "position", stance="concern", version="1",
               reason="Le lundi est chargé.")  # fmt: skip
    act_as(client, world, "admin")
    assert "Le lundi est chargé." not in (await client.get(url)).text  # hidden by default
    settings = await client.get("/s/alpha/settings")
    version = re.search(r'name="version" value="(\d+)"', settings.text)
    assert version is not None
    saved = await post_form(client, "/s/alpha/settings", {
        "name": "Alpha", "decision_prefix": "AL", "version": version.group(1),
        "review_delay_months": "6",
    })  # fmt: skip
    assert saved.status_code == 303
    page = (await client.get(url)).text
    assert "Le lundi est chargé." in page and "préoccupation" in page


async def test_the_dashboard_shows_what_waits_for_me(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    url = await to_object(client, world)
    act_as(client, world, "target")
    dashboard = (await client.get("/spaces")).text
    assert "En attente de votre part" in dashboard and f'href="{url}#now-title"' in dashboard
    await step(client, world, "target", url, "position", stance="consent", version="1")
    act_as(client, world, "target")
    assert f'href="{url}#now-title"' not in (await client.get("/spaces")).text
    act_as(client, world, "facilitator")
    ask = f"/s/alpha/proposals/{world.proposal_id}/ask"
    assert (await post_form(client, ask, {"text": "Combien ?"})).status_code == 303
    act_as(client, world, "member")  # the proposer has a question to answer
    assert "questions auxquelles répondre" in (await client.get("/spaces")).text


async def test_an_adopted_proposal_replaces_the_decisions_it_names(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    first = await adopt_proposal(pool, world)
    act_as(client, world, "member")
    refused = await post_form(client, "/s/alpha/proposals", {**NEW, "supersedes": "AL-1999-001"})
    assert refused.status_code == 422
    assert "AL-1999-001" in (field_error(refused.text, "supersedes") or "")
    created = await post_form(client, "/s/alpha/proposals", {**NEW, "supersedes": first.lower()})
    url = created.headers["location"]
    for role, verb in (
        ("member", "submit"),
        ("facilitator", "advance"),
        ("facilitator", "advance"),
    ):
        assert (await step(client, world, role, url, verb)).status_code == 303
    for role in ("admin", "facilitator", "target"):
        await step(client, world, role, url, "position", stance="consent", version="1")
    assert (await step(client, world, "facilitator", url, "close-round")).status_code == 303
    act_as(client, world, "member")
    old = (await client.get(f"/s/alpha/decisions/{first}")).text
    assert "remplacée" in old and first[:-3] + "002" in old


async def test_each_answer_form_has_its_own_ids_and_errors(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    url = f"/s/alpha/proposals/{world.proposal_id}"
    for role in ("admin", "target"):
        act_as(client, world, role)
        assert (
            await post_form(client, f"{url}/ask", {"text": f"Question de {role} ?"})
        ).status_code == 303
    act_as(client, world, "member")
    page = (await client.get(url)).text
    ids = re.findall(r'id="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "an id is used twice"
    first = re.findall(r'name="question_id" value="(\d+)"', page)[0]
    refused = await post_form(client, f"{url}/answer", {"question_id": first, "text": " "})
    assert refused.status_code == 422
    assert refused.text.count('class="error"') == 1
    assert f'id="e-answer-{first}-text"' in refused.text


async def test_the_proposals_list_pages_by_keyset(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    client, world = client_world
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO proposals (space_id, proposer_id, title, updated_at)"
            " SELECT s.id, $1, 'Idée ' || n, now() - n * interval '1 minute'"
            " FROM spaces s, generate_series(1, 60) n WHERE s.slug = 'alpha'",
            world.user_ids["member"],
        )
    headers = {"authorization": f"Bearer {world.api_tokens['member']}"}
    seen: list[int] = []
    url: str | None = "/api/v1/spaces/alpha/proposals"
    while url:
        page = (await client.get(url, headers=headers)).json()
        seen += [p["id"] for p in page["proposals"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 62  # 60 + the scenario's draft and proposal
    act_as(client, world, "member")
    first = (await client.get("/s/alpha/proposals?group=drafts")).text
    following = re.search(r'rel="next" href="([^"]+)"', first)
    assert following is not None
    second = await client.get(following.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and "Idée 60" in second.text
    assert "Idée 1<" not in second.text  # the second page of drafts, not the first again
    assert (await client.get("/s/alpha/proposals?after=nonsense")).status_code == 400


async def test_the_proposals_list_is_grouped_by_stage(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    """Tabs per part of the process with their counts; a member sees only their own drafts,
    a facilitator all of them; the API takes the same groups."""
    client, world = client_world
    await adopt_proposal(pool, world)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO proposals (space_id, proposer_id, title, stage, closed_at, closed_reason)"
            " SELECT id, $1, 'Abandonnée', 'rejected', now(), 'trop tôt' FROM spaces"
            " WHERE slug = 'alpha'",
            world.user_ids["member"],
        )
    act_as(client, world, "target")
    page = (await client.get("/s/alpha/proposals")).text
    assert 'href="/s/alpha/proposals?group=active" aria-current="page"' in page
    counts = tab_counts(page)
    assert counts == {"active": "0", "drafts": "0", "adopted": "1", "closed": "1"}
    assert "Abandonnée" not in page
    closed = (await client.get("/s/alpha/proposals?group=closed")).text
    assert "Abandonnée" in closed and 'group=closed" aria-current="page"' in closed
    act_as(client, world, "facilitator")
    page = (await client.get("/s/alpha/proposals?group=drafts")).text
    counts = tab_counts(page)
    assert counts["drafts"] == "1"  # the scenario's draft, by the member
    assert (await client.get("/s/alpha/proposals?group=nonsense")).status_code == 400
    api = await client.get(
        "/api/v1/spaces/alpha/proposals?group=adopted",
        headers={"authorization": f"Bearer {world.api_tokens['target']}"},
    )
    assert [p["stage"] for p in api.json()["proposals"]] == ["adopted"]


def tab_counts(page: str) -> dict[str, str]:
    """The proposals list's tabs: group → the count shown in it."""
    return dict(re.findall(r'group=(\w+)"[^>]*>[^<]+<span class="count">\((\d+)\)', page))


async def test_the_proposal_page_follows_its_round_live(
    client_world: tuple[Client, Scenario], pool: Any
) -> None:
    """The page listens to the space's stream from the event it was read at; its round is a
    fragment fetched again on this proposal's events, with a notice that the rest changed."""
    client, world = client_world
    act_as(client, world, "target")
    url = f"/s/alpha/proposals/{world.proposal_id}"
    page = (await client.get(url)).text
    async with pool.acquire() as conn:
        last = await conn.fetchval("SELECT max(id) FROM journal WHERE space_id ="
                                   " (SELECT id FROM spaces WHERE slug = 'alpha')")  # fmt: skip
    assert f'hx-sse:connect="/live/s/alpha?after={last}"' in page
    assert f'hx-trigger="proposal-{world.proposal_id} from:#sse"' in page
    assert "vient de changer" not in page
    fragment = await client.get(f"{url}/round")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="round-live"')
    assert "vient de changer" in fragment.text and "<html" not in fragment.text


async def test_what_each_person_may_do_on_the_page_and_in_the_api(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """The proposer is not offered the facilitator's "record a position" form; a facilitator
    can judge a new objection while an earlier one is valid and waiting to be integrated;
    while positions are hidden, an unjudged objection shows to the facilitators and its
    author only, on the page and in the API alike."""
    client, world = client_world
    url = await to_object(client, world)
    act_as(client, world, "member")
    assert 'id="record-person"' not in (await client.get(url)).text
    await step(client, world, "target", url, "position", stance="objection", version="1",
               reason="Trop tôt le matin.")  # fmt: skip
    api = url.replace("/s/alpha/", "/api/v1/spaces/alpha/")

    async def api_objections(role: str) -> list[str]:
        got = await client.get(api, headers={"authorization": f"Bearer {world.api_tokens[role]}"})
        return [o["reason"] for o in got.json()["objections"]]

    assert await api_objections("facilitator") == ["Trop tôt le matin."]
    assert await api_objections("target") == ["Trop tôt le matin."]
    assert await api_objections("member") == []
    act_as(client, world, "member")
    assert "Trop tôt le matin." not in (await client.get(url)).text

    act_as(client, world, "facilitator")
    # Positions on someone's behalf: only during an open meeting, for those present.
    assert 'id="record-person"' not in (await client.get(url)).text
    await open_meeting(pool, alpha, world, ("admin", "target"))
    page = (await client.get(url)).text
    first = re.search(r'id="verdict-valid-(\d+)"', page)
    assert first is not None and 'id="record-person"' in page
    options = re.search(r'<select id="record-person" name="person">(.*?)</select>', page)
    assert options is not None
    present = {str(world.user_ids["admin"]), str(world.user_ids["target"])}
    assert set(re.findall(r'value="(\d+)"', options.group(1))) == present
    await step(client, world, "facilitator", url, "judge", objection_id=first.group(1),
               verdict="valid", reason="Il exclut des membres.")  # fmt: skip
    await step(client, world, "facilitator", url, "position", person=str(world.user_ids["admin"]),
               stance="consent", version="1")  # fmt: skip
    await step(client, world, "facilitator", url, "position", stance="consent", version="1")
    assert (await step(client, world, "facilitator", url, "close-round")).status_code == 303
    published = await step(client, world, "member", url, "publish", driver="Pourquoi",
                           body="Plus tard le matin.", answers=first.group(1))  # fmt: skip
    assert published.status_code == 303, published.text
    reopened = await step(client, world, "facilitator", url, "open-object-round")
    assert reopened.status_code == 303, reopened.text
    objected = await step(client, world, "admin", url, "position", stance="objection",
                          version="2", reason="Le lieu est trop loin.")  # fmt: skip
    assert objected.status_code == 303, objected.text
    act_as(client, world, "facilitator")
    page = (await client.get(url)).text
    second = re.findall(r'id="verdict-valid-(\d+)"', page)
    assert len(second) == 1 and second[0] != first.group(1)  # the new one, judgeable
