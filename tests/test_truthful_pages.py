"""Pages that say what is true: forms that accept what they offer, lists that offer only what
may be chosen, minutes that do not invent absences (issue 10, section 6)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from litestar.testing import AsyncTestClient

from consentir.app import create_app
from consentir.config import Settings
from tests.helpers import TEST_SECRET
from tests.scenario import Scenario
from tests.smtp import Received
from tests.test_accounts import link_in, query
from tests.web import Client, act_as, field_error, post_form


async def test_a_meeting_planned_without_a_secretary(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    planned = await post_form(client, "/s/alpha/meetings", {
        "title": "Sans secrétaire", "starts_at": "2027-01-09T10:00", "secretary": "",
        "duration_min": "", "proposals": [str(world.proposal_id)],
    })  # fmt: skip
    assert planned.status_code == 303, planned.text
    page = (await client.get(planned.headers["location"])).text
    assert "Sans secrétaire" in page


async def test_the_ticked_agenda_survives_an_error(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    refused = await post_form(client, "/s/alpha/meetings", {
        "title": "", "starts_at": "2027-01-09T10:00", "proposals": [str(world.proposal_id)],
    })  # fmt: skip
    assert refused.status_code == 422
    box = re.search(
        rf'<input type="checkbox" id="proposal-{world.proposal_id}"[^>]*>', refused.text
    )
    assert box and "checked" in box.group(0)


def _offered(page: str) -> list[str]:
    """The proposals the console's "add to the agenda" list offers."""
    select = re.search(r'<select id="add-proposal".*?</select>', page, re.S)
    assert select, "no add-to-agenda list"
    return re.findall(r'<option value="(\d+)"', select.group(0))


async def test_the_console_offers_only_proposals_not_on_the_agenda(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    console = (await client.get(f"/s/alpha/meetings/{world.meeting_id}/console")).text
    assert str(world.proposal_id) not in _offered(console)  # already on this agenda
    planned = await post_form(client, "/s/alpha/meetings", {
        "title": "Autre séance", "starts_at": "2027-01-09T10:00",
    })  # fmt: skip
    other = (await client.get(planned.headers["location"] + "/console")).text
    assert _offered(other) == [str(world.proposal_id)]


async def test_draft_minutes_invent_no_absence(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    base = f"/s/alpha/meetings/{world.meeting_id}"
    page = (await client.get(f"{base}/minutes")).text
    assert "<dt>Absents</dt><dd>—</dd>" in page  # nobody recorded absent yet
    assert "<dt>Présence non relevée</dt><dd>" in page and "Target" in page
    draft = re.search(r'<[^>]*class="([^"]*)"[^>]*>Brouillon', page)
    assert draft and "notice" not in draft.group(1)  # a draft is not a success
    markdown = (await client.get(f"{base}/minutes.md")).text
    assert "- Absents: —\n" in markdown and "- Présence non relevée: " in markdown


def test_dates_and_times_to_the_minute() -> None:
    from datetime import UTC, datetime

    from consentir.web import i18n

    when = datetime(2026, 12, 6, 17, 0, 5, tzinfo=UTC)
    expected = {"fr": "6 déc. 2026, 18:00", "en": "Dec 6, 2026, 6:00\u202fPM"}
    for locale, shown in expected.items():
        token = i18n.current_locale.set(locale)
        try:
            assert i18n.format_when(when) == shown  # Europe/Paris, no seconds
            assert i18n.format_when(when, "short").endswith(("18:00", "PM"))
        finally:
            i18n.current_locale.reset(token)


def _stepper(page: str) -> list[str]:
    stepper = re.search(r'<ol class="stepper">(.*?)</ol>', page, re.S)
    assert stepper, "no stepper"
    return [
        re.sub(r"\s+", " ", s).strip()
        for s in re.findall(r"<li[^>]*>(.*?)</li>", stepper.group(1), re.S)
    ]


async def test_the_stepper_names_the_outcome(client_world: tuple[Client, Scenario]) -> None:
    client, world = client_world
    act_as(client, world, "member")
    page = (await client.get(f"/s/alpha/proposals/{world.proposal_id}")).text
    assert _stepper(page)[-1] == "Décision"  # not "Close", which reads as a verb


async def test_an_invitation_asks_the_name_once(
    scenario_client: Client,
    world: Scenario,
    scenario_database: tuple[str, Scenario],
    smtp_server: Received,
    deliver: Callable[[], Awaitable[int]],
) -> None:
    act_as(scenario_client, world, "admin")
    await post_form(scenario_client, "/s/alpha/invitations", {"email": "zoe@example.org"})
    await deliver()
    link = link_in(smtp_server.messages[-1])
    act_as(scenario_client, world, "anonymous")
    page = (await scenario_client.get(link)).text
    assert page.count('autocomplete="name"') == 1 and 'name="signed_name"' not in page
    nameless = await post_form(scenario_client, link, {
        "name": "", "password": "zoé's long password", "place": "Lyon", "signed_on": "2026-11-23"
    })  # fmt: skip
    assert nameless.status_code == 422 and field_error(nameless.text, "name")
    joined = await post_form(scenario_client, link, {
        "name": "Zoé", "password": "zoé's long password", "place": "Lyon", "signed_on": "2026-11-23"
    })  # fmt: skip
    assert joined.status_code == 303, joined.text
    signed = (
        "SELECT s.signed_name FROM charter_signatures s JOIN users u ON u.id = s.user_id"
        " WHERE u.email = 'zoe@example.org'"
    )
    assert await query(scenario_database[0], signed) == "Zoé"


async def test_a_visitor_learns_how_to_join(client: Client, database: str, tmp_path: Path) -> None:
    home = (await client.get("/")).text
    join = re.search(r'<section aria-labelledby="join-title">.*?</section>', home, re.S)
    assert join and "sur invitation" in join.group(0) and 'href="/signin"' in join.group(0)
    assert 'href="/signup"' not in home  # closed by default
    closed = await client.get("/signup")
    assert closed.status_code == 404 and "L'adhésion se fait sur invitation" in closed.text
    assert 'href="/signin"' in closed.text
    sent = await post_form(client, "/signup", {"name": "Zoé", "email": "z@example.org",
                                               "password": "long enough pw"})  # fmt: skip
    assert sent.status_code == 404 and "L'adhésion se fait sur invitation" in sent.text

    settings = Settings(
        database_url=database, secret_key=TEST_SECRET, data_dir=str(tmp_path), signup_open=True
    )
    async with AsyncTestClient(app=create_app(settings), base_url="http://127.0.0.1:8000") as open_:
        home = (await open_.get("/")).text
        join = re.search(r'<section aria-labelledby="join-title">.*?</section>', home, re.S)
        assert join and 'href="/signup"' in join.group(0)
        assert "Chacun peut créer un compte" in join.group(0)
        assert (await open_.get("/signup")).status_code == 200
