"""Journeys in Chromium: joining by invitation and signing the charter; a new charter
version blocking action until signed again; both languages."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.accessibility import assert_accessible
from tests.scenario import PASSWORD
from tests.smtp import Received

pytestmark = pytest.mark.browser


async def signed_in(chromium: Browser, base: str, email: str, locale: str = "fr-FR") -> Page:
    context = await chromium.new_context(locale=locale)
    page = await context.new_page()
    await page.goto(f"{base}/signin")
    await assert_accessible(page)
    await page.get_by_label("Adresse e-mail" if locale.startswith("fr") else "Email address").fill(
        email
    )
    await page.get_by_label("Mot de passe" if locale.startswith("fr") else "Password").fill(
        PASSWORD
    )
    await page.get_by_role(
        "button", name="Se connecter" if locale.startswith("fr") else "Sign in"
    ).click()
    await expect(page).to_have_url(f"{base}/spaces")
    await assert_accessible(page)
    return page


async def wait_for_mail(smtp: Received, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while len(smtp.messages) < count:
        assert time.monotonic() < deadline, "the email did not arrive"
        await asyncio.sleep(0.2)


async def test_invited_person_joins_by_signing_the_charter(
    chromium: Browser, scenario_server: str, smtp_server: Received, tmp_path: Path
) -> None:
    admin = await signed_in(chromium, scenario_server, "admin@example.org")
    await admin.goto(f"{scenario_server}/s/alpha/members")
    await assert_accessible(admin)
    invite = admin.locator("form[action='/s/alpha/invitations']")
    await invite.get_by_label("Adresse e-mail").fill("zoe@example.org")
    await invite.get_by_role("button").click()
    await expect(admin.get_by_role("status")).to_contain_text("zoe@example.org")
    await assert_accessible(admin)

    await wait_for_mail(smtp_server, 1)
    body = smtp_server.messages[0].get_body(("plain",))
    assert body is not None
    link = re.search(r"(http://127\.0\.0\.1:\d+/invitations/\S+)", body.get_content())
    assert link, body.get_content()

    context = await chromium.new_context(locale="fr-FR")
    zoe = await context.new_page()
    await zoe.goto(link.group(1))
    await expect(zoe.get_by_role("heading", level=1)).to_have_text("Rejoindre Alpha")
    await expect(zoe.locator(".charter")).to_contain_text("Nous décidons par consentement.")
    await assert_accessible(zoe)
    # A mistake first: the form comes back with the message next to the field.
    await zoe.get_by_label("Votre nom").first.fill("Zoé Martin")
    await zoe.get_by_label("Choisissez un mot de passe").fill("court")
    await zoe.get_by_role("button", name="Je signe la charte et je rejoins l'espace").click()
    await expect(zoe.locator("#f-password-error")).to_be_visible()
    await expect(zoe.locator("#f-place-error")).to_be_visible()
    await assert_accessible(zoe)
    await zoe.get_by_label("Choisissez un mot de passe").fill("le mot de passe de Zoé")
    await expect(zoe.locator("#f-signed_name")).to_have_count(0)  # the name is asked once
    await zoe.locator("#f-place").fill("Villeurbanne")
    await zoe.get_by_role("button", name="Je signe la charte et je rejoins l'espace").click()

    await expect(zoe).to_have_url(f"{scenario_server}/s/alpha")
    await expect(zoe.get_by_role("heading", level=1)).to_have_text("Alpha")
    await expect(zoe.locator(".banner")).to_have_count(0)
    await assert_accessible(zoe)
    await zoe.screenshot(path=str(tmp_path / "joined.png"), full_page=True)
    await zoe.get_by_role("link", name="Membres", exact=True).click()
    await expect(zoe.get_by_role("cell", name="Zoé Martin")).to_be_visible()
    await assert_accessible(zoe)
    await context.close()


async def test_new_charter_version_blocks_acting_until_signed_again(
    chromium: Browser, scenario_server: str, tmp_path: Path
) -> None:
    admin = await signed_in(chromium, scenario_server, "admin@example.org")
    await admin.goto(f"{scenario_server}/s/alpha/charter")
    await assert_accessible(admin)
    await admin.get_by_role("link", name="Rédiger une nouvelle version").click()
    await expect(admin.get_by_label("Texte de la charte")).to_be_visible()
    await assert_accessible(admin)
    await admin.get_by_label("Texte de la charte").fill("# Charte v2\n\nNous écoutons chacun.")
    await admin.get_by_label("Ce qui a changé").fill("écoute")
    await admin.get_by_role("button", name="Publier cette version").click()
    await expect(admin.locator(".charter:not(.charter-changes)")).to_contain_text(
        "Nous écoutons chacun."
    )
    # The admin has not signed version 2 yet: what changed since the one she signed.
    await expect(admin.locator(".charter-changes ins").last).to_contain_text("écoutons")
    await assert_accessible(admin)

    member = await signed_in(chromium, scenario_server, "member@example.org")
    await member.goto(f"{scenario_server}/s/alpha")
    banner = member.locator(".banner")
    await expect(banner).to_contain_text("signez sa nouvelle version")
    await assert_accessible(member)

    # The administrator, too, must sign before acting again: no invitation form meanwhile.
    await admin.goto(f"{scenario_server}/s/alpha/members")
    await expect(admin.locator(".banner")).to_contain_text("signez sa nouvelle version")
    await expect(admin.locator("form[action='/s/alpha/invitations']")).to_have_count(0)
    await assert_accessible(admin)
    await admin.screenshot(path=str(tmp_path / "blocked.png"), full_page=True)
    await admin.get_by_role("link", name="Lire et signer la charte").click()
    await expect(admin.locator("#f-place")).to_be_visible()
    await assert_accessible(admin)
    await admin.locator("#f-place").fill("Lyon")
    await admin.get_by_role("button", name="J'ai lu la charte et je la signe").click()
    await expect(admin).to_have_url(f"{scenario_server}/s/alpha")
    await expect(admin.locator(".banner")).to_have_count(0)
    await assert_accessible(admin)
    await admin.goto(f"{scenario_server}/s/alpha/members")
    await admin.locator("form[action='/s/alpha/invitations'] input[type=email]").fill(
        "x@example.org"
    )
    await admin.locator("form[action='/s/alpha/invitations'] button").click()
    await expect(admin.get_by_role("status")).to_contain_text("x@example.org")

    # The member signs from the banner's link, and the banner is gone.
    await banner.get_by_role("link").click()
    await member.locator("#f-place").fill("Bron")
    await member.get_by_role("button", name="J'ai lu la charte et je la signe").click()
    await expect(member.locator(".banner")).to_have_count(0)
    await assert_accessible(member)


async def test_pages_render_in_english_and_french(
    chromium: Browser, scenario_server: str, tmp_path: Path
) -> None:
    page = await signed_in(chromium, scenario_server, "facilitator@example.org", locale="en-GB")
    await page.goto(f"{scenario_server}/s/alpha/members")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")  # the account's language
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("link", name="Members", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.get_by_role("heading", level=2).first).to_have_text("Members")
    await expect(page.get_by_role("columnheader", name="Role")).to_be_visible()
    await assert_accessible(page)
    await page.screenshot(path=str(tmp_path / "members-en.png"), full_page=True)
    await page.goto(f"{scenario_server}/profile")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Profile")
    await assert_accessible(page)
    await page.get_by_role("button", name="Français").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Profil")
    await assert_accessible(page)
