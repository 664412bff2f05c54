"""The summary of errors above a form (issue 10, section 5): each line names its field by
the label the field shows, in the reader's language, and leads to that field; a message
about no field stands on its own."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from consentir.app import create_app
from consentir.config import Settings
from consentir.resources import resource_dir
from tests.helpers import TEST_SECRET
from tests.scenario import Scenario
from tests.web import Client, act_as, post_form

NBSP = "\u00a0"
REQUIRED_FR = "Ce champ est obligatoire."
REQUIRED_EN = "This field is required."


def summary_block(html: str) -> str:
    block = re.search(r'<div class="form-errors" role="alert" tabindex="-1">(.*?)</div>', html,
                      re.S)  # fmt: skip
    assert block, "no summary of errors on the page"
    return block.group(1)


def summary(html: str) -> list[str]:
    """Each line of the summary as read (without its markup)."""
    items = re.findall(r"<li>(.*?)</li>", summary_block(html), re.S)
    return [unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def summary_links(html: str) -> dict[str, str]:
    """Target id → words of each link of the summary, once checked that each leads to one
    element of the page, labelled there with the very same words."""
    links = dict(re.findall(r'<a href="#([\w-]+)">([^<]*)</a>', summary_block(html)))
    for target, words in links.items():
        assert len(re.findall(rf'(?<![\w-])id="{target}"', html)) == 1, target
        label = re.search(rf'<label for="{target}">(.*?)</label>', html, re.S) or re.search(
            rf'<fieldset id="{target}"[^>]*><legend>(.*?)</legend>', html, re.S
        )
        assert label, f"nothing labels #{target}"
        shown = re.sub(r'<span class="required"[^>]*>\*</span>', "", label.group(1))
        assert unescape(shown).strip() == unescape(words), target
    return links


async def speak_english(pool: asyncpg.Pool, world: Scenario, role: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute("UPDATE users SET locale = 'en' WHERE id = $1", world.user_ids[role])


async def test_the_profile_names_the_field_in_french_and_in_english(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "member")
    bad = await post_form(client, "/profile", {"name": " ", "locale": "fr"})
    assert bad.status_code == 422
    assert summary(bad.text) == [f"Votre nom{NBSP}: {REQUIRED_FR}"]
    assert summary_links(bad.text) == {"f-name": "Votre nom"}
    # A second mistake gets its own line, named after its own field.
    both = await post_form(client, "/profile", {"name": "", "locale": "de"})
    assert summary(both.text) == [
        f"Votre nom{NBSP}: {REQUIRED_FR}",
        f"Langue{NBSP}: Cette valeur n'est pas valide.",
    ]
    assert summary_links(both.text) == {"f-name": "Votre nom", "f-locale": "Langue"}

    await speak_english(pool, world, "member")
    bad = await post_form(client, "/profile", {"name": "", "locale": "en"})
    assert summary(bad.text) == [f"Your name: {REQUIRED_EN}"]
    assert summary_links(bad.text) == {"f-name": "Your name"}
    # Each form of the page has its own summary, naming its own fields.
    password = await post_form(client, "/profile/password", {"password_current": "x"})
    assert password.status_code == 422
    assert summary(password.text) == [
        f"New password: {REQUIRED_EN}",
        f"New password, again: {REQUIRED_EN}",
    ]
    assert summary_links(password.text) == {
        "f-password_new": "New password",
        "f-password_again": "New password, again",
    }


async def test_sign_up_names_each_field(
    scenario_database: tuple[str, Scenario], tmp_path: Path
) -> None:
    settings = Settings(database_url=scenario_database[0], secret_key=TEST_SECRET,
                        data_dir=str(tmp_path), signup_open=True)  # fmt: skip
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://127.0.0.1:8000"
    ) as client:
        data = {"name": "", "email": "zoe@example.org", "password": ""}
        bad = await post_form(client, "/signup", data)
        assert bad.status_code == 422
        assert summary(bad.text) == [
            f"Votre nom{NBSP}: {REQUIRED_FR}",
            f"Mot de passe{NBSP}: {REQUIRED_FR}",
        ]
        assert summary_links(bad.text) == {"f-name": "Votre nom", "f-password": "Mot de passe"}
        client.cookies.set("lang", "en", domain="127.0.0.1", path="/")
        bad = await post_form(client, "/signup", data)
        assert summary(bad.text) == [f"Your name: {REQUIRED_EN}", f"Password: {REQUIRED_EN}"]
        assert summary_links(bad.text) == {"f-name": "Your name", "f-password": "Password"}


async def test_a_new_proposal_names_each_missing_field(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "member")
    empty = {"title": "", "driver": "", "body": "Quoi"}
    bad = await post_form(client, "/s/alpha/proposals", empty)
    assert bad.status_code == 422
    # Not two identical "this field is required": each line says which field.
    assert summary(bad.text) == [
        f"Titre{NBSP}: {REQUIRED_FR}",
        f"Raison d'être : pourquoi faut-il décider ?{NBSP}: {REQUIRED_FR}",
    ]
    assert summary_links(bad.text) == {
        "f-title": "Titre",
        "f-driver": "Raison d'être : pourquoi faut-il décider ?",
    }
    # The field itself says it is wrong and where its message is (attributes kept apart).
    assert (
        '<textarea id="f-driver" name="driver" rows="4" required'
        ' aria-describedby="f-driver-hint f-driver-error" aria-invalid="true">'
    ) in bad.text
    # A refusal from the store about one field (an unknown decision) names that field too.
    replacing = {
        "title": "Vélos",
        "driver": "Pourquoi",
        "body": "Quoi",
        "supersedes": "AL-2026-999",
    }
    unknown = await post_form(client, "/s/alpha/proposals", replacing)
    assert unknown.status_code == 422
    assert summary(unknown.text) == [
        f"Décisions que cette proposition remplace (facultatif){NBSP}: "
        "Aucune décision en vigueur ici ne porte le numéro AL-2026-999."
    ]
    assert list(summary_links(unknown.text)) == ["f-supersedes"]

    await speak_english(pool, world, "member")
    bad = await post_form(client, "/s/alpha/proposals", empty)
    assert summary(bad.text) == [
        f"Title: {REQUIRED_EN}",
        f"Driver: why is a decision needed?: {REQUIRED_EN}",
    ]
    assert summary_links(bad.text) == {
        "f-title": "Title",
        "f-driver": "Driver: why is a decision needed?",
    }


async def test_a_message_about_no_field_stands_on_its_own(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "member")
    # The same key sent again with other content: the form comes back with a message that
    # is about the sending, not about any field.
    key = {"idempotency_key": "une-seule-fois"}
    first = await post_form(client, "/s/alpha/proposals", {
        "title": "Vélos", "driver": "Pourquoi", "body": "Quoi", **key})  # fmt: skip
    assert first.status_code == 303
    reused = await post_form(client, "/s/alpha/proposals", {
        "title": "Autre chose", "driver": "Pourquoi", "body": "Quoi", **key})  # fmt: skip
    assert reused.status_code == 422
    assert summary(reused.text) == ["Cette clé d'idempotence a déjà servi pour une autre requête."]
    assert "<a " not in summary_block(reused.text)


async def test_planning_a_meeting_names_each_field(
    client_world: tuple[Client, Scenario], pool: asyncpg.Pool
) -> None:
    client, world = client_world
    act_as(client, world, "facilitator")
    bad = await post_form(client, "/s/alpha/meetings", {"title": "", "starts_at": "demain"})
    assert bad.status_code == 422
    assert summary(bad.text) == [
        f"Titre{NBSP}: {REQUIRED_FR}",
        f"Date et heure{NBSP}: Cette valeur n'est pas valide.",
    ]
    assert summary_links(bad.text) == {"f-title": "Titre", "f-starts_at": "Date et heure"}
    # What was typed comes back in its field.
    again = await post_form(client, "/s/alpha/meetings", {"title": "Séance", "starts_at": ""})
    assert summary(again.text) == [f"Date et heure{NBSP}: {REQUIRED_FR}"]
    assert '<input id="f-title" name="title" type="text" value="Séance" required' in again.text
    # Choices checked after reading the form: the select, and the agenda's boxes.
    outsider = str(world.user_ids["beta_owner"])
    plan: dict[str, Any] = {"title": "Séance", "starts_at": "2027-01-09T10:00"}
    wrong_person = await post_form(client, "/s/alpha/meetings", {**plan, "facilitator": outsider})
    assert summary(wrong_person.text) == [f"Animation{NBSP}: Choisissez un membre de l'espace."]
    assert summary_links(wrong_person.text) == {"f-facilitator": "Animation"}
    wrong_item = await post_form(client, "/s/alpha/meetings", {**plan, "proposals": [
        str(world.draft_id)]})  # fmt: skip
    assert summary(wrong_item.text) == [
        f"Propositions à l'ordre du jour{NBSP}: "
        "Choisissez des propositions en cours dans cet espace."
    ]
    assert summary_links(wrong_item.text) == {"f-proposals": "Propositions à l'ordre du jour"}

    await speak_english(pool, world, "facilitator")
    bad = await post_form(client, "/s/alpha/meetings", {"title": "", "starts_at": "demain"})
    assert summary(bad.text) == [f"Title: {REQUIRED_EN}", "Date and time: This value is not valid."]
    assert summary_links(bad.text) == {"f-title": "Title", "f-starts_at": "Date and time"}


def test_every_summary_is_drawn_after_its_fields() -> None:
    """A summary called on its own, before the fields, would not know their labels: every
    template wraps its form in the summary's call."""
    for template in resource_dir("templates").rglob("*.html"):
        text = template.read_text()
        assert "{{ form_errors(" not in text, template


async def test_an_invitation_names_the_fields_of_its_included_signature(
    client_world: tuple[Client, Scenario],
) -> None:
    client, world = client_world
    act_as(client, world, "anonymous")
    url = f"/invitations/{world.invitation_token}"
    bad = await post_form(client, url, {"name": "", "password": "", "place": "", "signed_on": ""})
    assert bad.status_code == 422, bad.text[-500:]
    links = summary_links(bad.text)
    assert links["f-name"] == "Votre nom" and links["f-place"] == "Fait à (lieu)"
    assert f"Votre nom{NBSP}: {REQUIRED_FR}" in summary(bad.text)
