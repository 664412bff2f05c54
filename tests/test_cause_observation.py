"""A cause's field observation through HTTP (issue 12 §2): observations added by members once
the cause is taken on (refused before, naming the rule), listed the latest observed first a
page at a time; actors with their assessments over time and their links, the stance ×
influence map and its table, shown to members only (absent for anyone else, their pages
404); a private individual never named, on the map, in the table, on their page or in the
journal; mistakes next to their fields; another space's or cause's ids 404; each page read
in a fixed number of statements."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import asyncpg

from consentir import db
from consentir.causes import actor_map, observing
from consentir.causes import store as causes
from consentir.causes.observing import ActorText, AssessmentText, ObservationText
from consentir.causes.store import CauseText
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from tests.causes_setup import new_cause, taken_on_cause
from tests.scenario import ROLES, Scenario
from tests.web import Client, act_as, field_error, post_form

NOT_TAKEN_ON = (
    "La cause n'est pas encore prise en charge : une décision la prend en charge d'abord."
)
PRIVATE_NAME = "Jeanne Martin"
GROUP = "Riverains de la rue"


def base(cause_id: int) -> str:
    return f"/s/alpha/causes/{cause_id}"


def observation(title: str, day: date, **more: str) -> dict[str, str]:
    return {"kind": "fact", "title": title, "source": "Comptage sur place",
            "observed_on": day.isoformat(), **more}  # fmt: skip


def new_actor(name: str, stance: int = 0, influence: int = 1, **more: str) -> dict[str, str]:
    return {"actor_kind": "organisation", "name": name, "stance": str(stance),
            "influence": str(influence), "role": "target", **more}  # fmt: skip


async def journal(pool: asyncpg.Pool, cause_id: int) -> list[tuple[str, dict[str, object]]]:
    rows = await pool.fetch(
        "SELECT action, data FROM journal WHERE subject_type = 'cause' AND subject_id = $1"
        " ORDER BY id",
        cause_id,
    )
    return [(r["action"], r["data"]) for r in rows]


async def add_actor(client: Client, cause_id: int, data: dict[str, str]) -> int:
    response = await post_form(client, f"{base(cause_id)}/actors", data)
    assert response.status_code == 303, response.text
    match = re.search(r"#actor-(\d+)$", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def test_members_add_observations_listed_the_latest_observed_first(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    today = date.today()
    older = observation("Trois accidents en 2023", today - timedelta(days=400),
                        kind="figure", url="https://example.org/rapport.pdf",
                        body="Selon la **préfecture**.<script>alert(1)</script>")  # fmt: skip
    response = await post_form(client, f"{base(cause_id)}/observations", older)
    assert response.status_code == 303
    assert re.search(r"/observation#observation-\d+$", response.headers["location"])
    newer = observation("Les enfants roulent sur le trottoir", today - timedelta(days=3),
                        kind="testimony", idempotency_key="k-1")  # fmt: skip
    for _ in range(2):  # a double click makes one observation
        assert (await post_form(client, f"{base(cause_id)}/observations", newer)).status_code == 303

    page = (await client.get(f"{base(cause_id)}/observation")).text
    titles = re.findall(r'<h4 id="observation-\d+-title">.*?</span> ([^<]+)</h4>', page)
    assert titles == ["Les enfants roulent sur le trottoir", "Trois accidents en 2023"]
    assert "<strong>préfecture</strong>" in page and "<script>alert" not in page
    assert 'href="https://example.org/rapport.pdf"' in page
    assert "Chiffre" in page and "Témoignage" in page and "Comptage sur place" in page
    count = await pool.fetchval("SELECT count(*) FROM observations WHERE cause_id = $1", cause_id)
    assert count == 2
    added = [data for action, data in await journal(pool, cause_id)
             if action == "cause.observation_added"]  # fmt: skip
    assert [d["title"] for d in added] == ["Trois accidents en 2023", newer["title"]]

    # A viewer who is not a member (an instance admin) reads the observations, without the
    # form: writing is for members who take part.
    act_as(client, world, "instance_admin")
    seen = await client.get(f"{base(cause_id)}/observation")
    assert seen.status_code == 200 and "Trois accidents en 2023" in seen.text
    assert 'action="/s/alpha/causes/' not in seen.text
    refused = await post_form(client, f"{base(cause_id)}/observations", observation("X", today))
    assert refused.status_code == 403


async def test_nothing_is_added_before_the_cause_is_taken_on(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await new_cause(pool, alpha, world)
    act_as(client, world, "member")
    page = await client.get(f"{base(cause_id)}/observation")
    assert page.status_code == 200
    assert 'data-rule="cause_not_taken_on"' in page.text
    assert NOT_TAKEN_ON in html.unescape(page.text)
    assert f'action="{base(cause_id)}/observations"' not in page.text

    sent = await post_form(client, f"{base(cause_id)}/observations",
                           observation("Un fait", date.today()))  # fmt: skip
    assert sent.status_code == 409
    assert 'role="alert"' in sent.text and 'data-rule="cause_not_taken_on"' in sent.text
    assert NOT_TAKEN_ON in html.unescape(sent.text)
    actor = await post_form(client, f"{base(cause_id)}/actors", new_actor("Mairie"))
    assert actor.status_code == 409 and NOT_TAKEN_ON in html.unescape(actor.text)
    assert await pool.fetchval("SELECT count(*) FROM observations") == 0
    assert await pool.fetchval("SELECT count(*) FROM actors") == 0


async def test_mistakes_come_back_next_to_their_fields(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    path = f"{base(cause_id)}/observations"
    today = date.today()

    cases = {
        "url": (observation("A", today, url="javascript:alert(1)"), "http:// ou https://"),
        "observed_on": (observation("A", date(1990, 1, 1)), "entre 2000 et 2100"),
        "title": (observation("", today), "obligatoire"),
    }
    for name, (data, words) in cases.items():
        response = await post_form(client, path, data)
        assert response.status_code == 422, name
        error = field_error(response.text, name)
        assert error and words in html.unescape(error), (name, error)
        assert 'aria-invalid="true"' in response.text
    tomorrow = await post_form(client, path, observation("A", today + timedelta(days=2)))
    assert tomorrow.status_code == 422
    assert "aujourd'hui au plus tard" in html.unescape(
        field_error(tomorrow.text, "observed_on") or ""
    )
    # Every mistake at once, each next to its field.
    both = await post_form(client, path, observation("", today + timedelta(days=2), url="ftp://x"))
    assert both.status_code == 422
    for name in ("title", "observed_on", "url"):
        assert field_error(both.text, name), name
    # What was typed comes back in the form.
    kept = await post_form(client, path, observation("Garder ce titre", today, url="ftp://x"))
    assert 'value="Garder ce titre"' in kept.text

    actors = f"{base(cause_id)}/actors"
    wrong = {
        "stance": (new_actor("Mairie", stance=5), "entre -2 et 2"),
        "influence": (new_actor("Mairie", influence=-1), "entre 0 et 3"),
        "group_label": ({**new_actor(""), "actor_kind": "private"}, "groupe"),
        "public_role": ({**new_actor("M. Dupont"), "actor_kind": "person"}, "rôle public"),
        "name": (new_actor(""), "obligatoire"),
    }
    for name, (data, words) in wrong.items():
        response = await post_form(client, actors, data)
        assert response.status_code == 422, name
        error = field_error(response.text, name)
        assert error and words in html.unescape(error), (name, error)
    assert await pool.fetchval("SELECT count(*) FROM observations") == 0
    assert await pool.fetchval("SELECT count(*) FROM actors") == 0


async def test_the_map_and_its_table_are_for_members_only(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    mairie = await add_actor(client, cause_id, new_actor("Mairie du 3e", stance=-1, influence=3))
    await add_actor(client, cause_id, {**new_actor("Mme Durand", 2, 2), "actor_kind": "person",
                                       "public_role": "Adjointe aux mobilités",
                                       "role": "ally"})  # fmt: skip
    await post_form(client, f"{base(cause_id)}/observations", observation("Vu", date.today()))

    page = (await client.get(f"{base(cause_id)}/observation")).text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="actor-map"' in page
    assert re.search(r"<text class=\"label\"[^>]*>Mairie du 3e</text>", page)
    row = re.search(rf'<tr id="actor-{mairie}".*?</tr>', page, re.S)
    assert row and "−1" in row.group(0) and "Institution" not in row.group(0)
    assert "Organisation" in row.group(0) and "cible" in row.group(0)
    assert "première évaluation" in row.group(0)
    assert "Adjointe aux mobilités" in page
    actor_url = f"{base(cause_id)}/actors/{mairie}"
    assert (await client.get(actor_url)).status_code == 200

    # A member who has not signed the charter sees the map, without the forms.
    act_as(client, world, "unsigned")
    unsigned = (await client.get(f"{base(cause_id)}/observation")).text
    assert "Mairie du 3e" in unsigned and 'action="/s/alpha/causes' not in unsigned
    assert (await post_form(client, f"{base(cause_id)}/actors", new_actor("X"))).status_code == 403

    # The instance's administrator sees the space, not being a member: the observations,
    # no actor at all; the actors' pages and forms do not exist for them.
    act_as(client, world, "instance_admin")
    seen = await client.get(f"{base(cause_id)}/observation")
    assert seen.status_code == 200 and "Vu" in seen.text
    for hidden in ("Mairie du 3e", "Mme Durand", 'id="actors"', "actor-map", "/actors/"):
        assert hidden not in seen.text, hidden
    assert (await client.get(actor_url)).status_code == 404
    posts = {f"{base(cause_id)}/actors": new_actor("Y"),
             f"{actor_url}/assessments": {"stance": "1", "influence": "1", "role": "ally"},
             f"{actor_url}/links": {"other": str(mairie), "label": "finance"}}  # fmt: skip
    for path, data in posts.items():
        assert (await post_form(client, path, data)).status_code == 404, path
    assert await pool.fetchval("SELECT count(*) FROM actors") == 2


async def test_a_private_individual_is_never_named(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    private = {**new_actor(PRIVATE_NAME, stance=-2, influence=1), "actor_kind": "private",
               "group_label": GROUP, "role": "public"}  # fmt: skip
    first = await add_actor(client, cause_id, private)
    second = await add_actor(client, cause_id, {**private, "name": "Paul Leroy"})
    mairie = await add_actor(client, cause_id, new_actor("Mairie"))
    link = await post_form(client, f"{base(cause_id)}/actors/{mairie}/links",
                           {"other": str(first), "label": "écoute"})  # fmt: skip
    assert link.status_code == 303
    again = await post_form(client, f"{base(cause_id)}/actors/{first}/assessments",
                            {"stance": "1", "influence": "1", "role": "public"})  # fmt: skip
    assert again.status_code == 303

    page = (await client.get(f"{base(cause_id)}/observation")).text
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg and GROUP in svg.group(0)
    table = re.search(r'<table class="actor-table".*?</table>', page, re.S)
    assert table and f"{GROUP} (n° 1)" in html.unescape(table.group(0))
    assert f"{GROUP} (n° 2)" in html.unescape(table.group(0))
    for person in (PRIVATE_NAME, "Paul Leroy"):
        assert person not in page
        for actor_id in (first, second, mairie):
            assert person not in (await client.get(f"{base(cause_id)}/actors/{actor_id}")).text
        for action, data in await journal(pool, cause_id):
            assert person not in str(data), action
    added = [d for a, d in await journal(pool, cause_id) if a == "cause.actor_added"]
    assert [d.get("group") for d in added] == [GROUP, GROUP, None]
    # Not even kept: the name of a private individual is their group label.
    names = await pool.fetch("SELECT name FROM actors WHERE kind = 'private'")
    assert [r["name"] for r in names] == [GROUP, GROUP]


async def test_assessments_over_time_draw_an_arrow_from_where_the_actor_stood(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    mairie = await add_actor(client, cause_id, new_actor("Mairie", stance=-1, influence=1))
    page = (await client.get(f"{base(cause_id)}/observation")).text
    assert 'class="was"' not in page  # assessed once: no arrow

    url = f"{base(cause_id)}/actors/{mairie}"
    moved = await post_form(client, f"{url}/assessments",
                            {"stance": "1", "influence": "2", "role": "partner",
                             "interest": "Les élections approchent."})  # fmt: skip
    assert moved.status_code == 303 and moved.headers["location"] == f"{url}#history"

    page = (await client.get(f"{base(cause_id)}/observation")).text
    x, y = actor_map.point(-1, 1, 640, 480)
    was = re.search(r'<circle class="was"[^>]*cx="([\d.]+)" cy="([\d.]+)"', page)
    assert was and (float(was.group(1)), float(was.group(2))) == (x, y)
    assert "marker-end=" in page
    row = re.search(rf'<tr id="actor-{mairie}".*?</tr>', page, re.S)
    assert row and "position : −1 → +1" in row.group(0) and "influence : 1 → 2" in row.group(0)
    assert "partenaire" in row.group(0)

    history = (await client.get(url)).text
    rows = re.findall(r'<tr id="assessment-\d+">.*?</tr>', history, re.S)
    assert len(rows) == 2 and "+1" in rows[0] and "−1" in rows[1]  # the latest first
    assert "Les élections approchent." in rows[0]
    kept = await pool.fetchval("SELECT count(*) FROM actor_assessments WHERE actor_id = $1", mairie)
    assert kept == 2
    actions = [a for a, _ in await journal(pool, cause_id)]
    assert actions.count("cause.actor_added") == 1 and actions.count("cause.actor_assessed") == 1

    # A new assessment out of range comes back on the actor's page.
    wrong = await post_form(client, f"{url}/assessments",
                            {"stance": "3", "influence": "1", "role": "ally"})  # fmt: skip
    assert wrong.status_code == 422 and field_error(wrong.text, "stance")


async def test_links_between_actors(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    region = await add_actor(client, cause_id, new_actor("Région"))
    mairie = await add_actor(client, cause_id, new_actor("Mairie"))
    links = f"{base(cause_id)}/actors/{region}/links"
    made = await post_form(client, links, {"other": str(mairie), "label": "finance"})
    assert made.status_code == 303
    for page in (f"{base(cause_id)}/observation", f"{base(cause_id)}/actors/{mairie}"):
        text = (await client.get(page)).text
        assert re.search(r"Région</a>\s*— <em>finance</em> →\s*(<a[^>]*>)?Mairie", text), page

    twice = await post_form(client, links, {"other": str(mairie), "label": "subventionne"})
    assert twice.status_code == 422 and "finance" in (field_error(twice.text, "other") or "")
    itself = await post_form(client, links, {"other": str(region), "label": "x"})
    assert itself.status_code == 422 and field_error(itself.text, "other")
    empty = await post_form(client, links, {"other": str(mairie), "label": ""})
    assert empty.status_code == 422 and field_error(empty.text, "label")
    elsewhere = await taken_on_cause(pool, alpha, world, "Une autre cause")
    stranger = await add_actor(client, elsewhere, new_actor("Préfecture"))
    across = await post_form(client, links, {"other": str(stranger), "label": "x"})
    assert across.status_code == 422 and field_error(across.text, "other")
    assert await pool.fetchval("SELECT count(*) FROM actor_links") == 1


async def test_ids_of_another_space_or_cause_are_404(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    other_cause = await taken_on_cause(pool, alpha, world, "Une autre cause")
    async with db.transaction(pool) as conn:
        view = await spaces.space_view(conn, "beta", None, instance_admin=False)
        assert view is not None
        text = CauseText("Cause de Beta", "Paris", "mobility")
        beta_cause = await causes.create(conn, view.space.id, world.user_ids["beta_owner"], text)
    act_as(client, world, "member")
    theirs = await add_actor(client, other_cause, new_actor("Préfecture"))
    mine = await add_actor(client, cause_id, new_actor("Mairie"))

    assert (await client.get(f"{base(beta_cause)}/observation")).status_code == 404
    assert (await client.get(f"{base(cause_id)}/actors/{theirs}")).status_code == 404
    assert (await client.get(f"{base(beta_cause)}/actors/{mine}")).status_code == 404
    assert (await client.get(f"{base(cause_id)}/actors/999999")).status_code == 404
    refused = {
        f"{base(beta_cause)}/observations": observation("X", date.today()),
        f"{base(beta_cause)}/actors": new_actor("X"),
        f"{base(cause_id)}/actors/{theirs}/assessments": {"stance": "1", "influence": "1",
                                                           "role": "ally"},
        f"{base(cause_id)}/actors/{theirs}/links": {"other": str(mine), "label": "x"},
    }  # fmt: skip
    for path, data in refused.items():
        assert (await post_form(client, path, data)).status_code == 404, path
    assert await pool.fetchval("SELECT count(*) FROM observations") == 0
    assert await pool.fetchval("SELECT count(*) FROM actor_assessments") == 2


async def test_observations_come_fifty_a_page(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    first = date.today() - timedelta(days=100)
    async with db.transaction(pool) as conn:
        for n in range(55):
            text = ObservationText(kind="fact", title=f"Fait {n:02d}", source="Terrain",
                                   observed_on=first + timedelta(days=n // 2))  # fmt: skip
            await observing.add_observation(conn, alpha.id, cause_id, world.user_ids["member"],
                                            text)  # fmt: skip
    act_as(client, world, "member")
    page = (await client.get(f"{base(cause_id)}/observation")).text
    shown = re.findall(r"Fait (\d\d)</h4>", page)
    assert len(shown) == 50 and shown[0] == "54" and shown[-1] == "05"
    following = re.search(r'<a href="([^"]+)" rel="next">', page)
    assert following
    rest = (await client.get(html.unescape(following.group(1)))).text
    assert re.findall(r"Fait (\d\d)</h4>", rest) == ["04", "03", "02", "01", "00"]
    assert 'rel="next"' not in rest
    garbled = await client.get(f"{base(cause_id)}/observation?after=nonsense")
    assert garbled.status_code == 400


async def test_each_page_reads_in_a_fixed_number_of_statements(
    client_world: tuple[Client, Scenario],
    pool: asyncpg.Pool,
    alpha: Space,
    query_log: list[str],
) -> None:
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    member = world.user_ids["member"]

    async def grow(n: int) -> int:
        """n more observations and actors (each assessed twice, linked to the first)."""
        async with db.transaction(pool) as conn:
            ids = []
            for i in range(n):
                await observing.add_observation(conn, alpha.id, cause_id, member,
                    ObservationText(kind="fact", title=f"F{i}", source="S",
                                    observed_on=date.today()))  # fmt: skip
                kind = "private" if i % 2 else "collective"
                who = ActorText(kind=kind, name=f"A{i}", group_label="Parents")
                first = AssessmentText(stance=0, influence=1, role="public")
                ids.append(await observing.add_actor(conn, alpha.id, cause_id, member, who, first))
                moved = AssessmentText(stance=1, influence=2, role="ally")
                await observing.assess(conn, alpha.id, cause_id, ids[-1], member, moved)
            for other in ids[1:]:
                await observing.link(conn, alpha.id, cause_id, ids[0], member,
                                     observing.LinkText(other=other, label="lien"))  # fmt: skip
            return ids[0]

    act_as(client, world, "member")

    async def count(path: str) -> int:
        query_log.clear()
        assert (await client.get(path)).status_code == 200
        return len(query_log)

    first = await grow(2)
    pages = (f"{base(cause_id)}/observation", f"{base(cause_id)}/actors/{first}")
    before = [await count(p) for p in pages]
    await grow(12)
    assert [await count(p) for p in pages] == before


async def test_who_may_reach_each_route(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool, alpha: Space
) -> None:
    """Every route of this part, asked by every kind of person (as tests/test_access.py
    does): the observations for whoever sees the space, written by those who take part; the
    actors for members only (404 for anyone else), written by those who take part."""
    client, world = client_world
    cause_id = await taken_on_cause(pool, alpha, world)
    act_as(client, world, "member")
    first = await add_actor(client, cause_id, new_actor("Mairie"))
    second = await add_actor(client, cause_id, new_actor("Région"))
    actor = f"{base(cause_id)}/actors/{first}"
    view = {"anonymous": 303, "outsider": 404}
    members = {**view, "instance_admin": 404}
    take_part = {**view, "unsigned": 403, "instance_admin": 403}
    members_take_part = {**take_part, "instance_admin": 404}
    routes = [
        ("GET", f"{base(cause_id)}/observation", {}, view, 200),
        ("POST", f"{base(cause_id)}/observations", observation("Vu", date.today()), take_part,
         303),
        ("GET", actor, {}, members, 200),
        ("POST", f"{base(cause_id)}/actors", new_actor("Préfecture"), members_take_part, 303),
        ("POST", f"{actor}/assessments", {"stance": "1", "influence": "2", "role": "ally"},
         members_take_part, 303),
        ("POST", f"{actor}/links", {"other": str(second), "label": "finance"},
         members_take_part, 303),
    ]  # fmt: skip
    for method, path, data, refused, allowed in routes:
        # The refusals first (they change nothing), then those allowed.
        for role in sorted(ROLES, key=lambda r: r not in refused):
            act_as(client, world, role)
            if method == "GET":
                response = await client.get(path, follow_redirects=False)
            else:
                response = await post_form(client, path, data)
            expected = refused.get(role, allowed)
            if role == "anonymous":
                assert response.headers.get("location", "").startswith("/signin"), path
            assert response.status_code == expected, (method, path, role)
            if method == "POST" and expected == 303:
                break  # written once (a second link between the same actors is refused)
