"""Spaces through HTTP: creating, inviting, joining by signing the charter, charter versions,
roles and the last administrator, inherited membership, concurrent changes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest

from consentir import db
from consentir.errors import DomainError
from consentir.spaces import store as spaces
from consentir.spaces.rules import Role
from tests.scenario import Scenario
from tests.smtp import Received
from tests.test_accounts import link_in, query
from tests.web import Client, act_as, field_error, post_form

Deliver = Callable[[], Awaitable[int]]
SIGNATURE = {"signed_name": "Invitée Test", "place": "Villeurbanne", "signed_on": "2026-11-23"}


async def journal_actions(url: str) -> list[str]:
    conn = await db.connect(url)
    try:
        return [r["action"] for r in await conn.fetch("SELECT action FROM journal ORDER BY id")]
    finally:
        await conn.close()


# --- joining -------------------------------------------------------------------------------


async def test_invited_person_creates_an_account_signs_and_joins(
    scenario_client: Client,
    world: Scenario,
    scenario_database: tuple[str, Scenario],
    smtp_server: Received,
    deliver: Deliver,
) -> None:
    act_as(scenario_client, world, "admin")
    sent = await post_form(
        scenario_client, "/s/alpha/invitations", {"email": "Zoe@Example.org", "role": "facilitator"}
    )
    assert sent.status_code == 303
    await deliver()
    [message] = smtp_server.messages
    assert message["To"] == "zoe@example.org"
    assert "Admin vous invite à rejoindre Alpha" in message["Subject"]
    link = link_in(message)

    act_as(scenario_client, world, "anonymous")
    page = await scenario_client.get(link)
    assert page.status_code == 200
    assert "Nous décidons par consentement." in page.text  # the charter is shown to be read

    incomplete = await post_form(scenario_client, link, {"name": "Zoé", "password": "short"})
    assert incomplete.status_code == 422
    for name in ("password", "place"):
        assert field_error(incomplete.text, name), name
    assert 'name="signed_name"' not in incomplete.text  # the account's name signs
    count_zoe = "SELECT count(*) FROM users WHERE email = 'zoe@example.org'"
    assert await query(scenario_database[0], count_zoe) == 0, "nothing half-written"

    joined = await post_form(
        scenario_client, link, {"name": "Zoé", "password": "zoé's long password", **SIGNATURE}
    )
    assert joined.status_code == 303 and joined.headers["location"] == "/s/alpha"
    home = await scenario_client.get("/s/alpha")
    assert home.status_code == 200 and "Zoé" in home.text
    row = await query(
        scenario_database[0],
        "SELECT m.role || ' ' || s.place FROM memberships m JOIN users u ON u.id = m.user_id"
        " JOIN charter_signatures s ON s.user_id = u.id WHERE u.email = 'zoe@example.org'",
    )
    assert row == "facilitator Villeurbanne"
    actions = await journal_actions(scenario_database[0])
    assert actions[-4:] == ["account.created", "account.signed_in", "charter.signed",
                            "membership.joined"]  # fmt: skip
    assert (await post_form(scenario_client, link, {"name": "Again"})).status_code == 410


async def test_invitation_for_someone_who_has_an_account(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    conn = await db.connect(scenario_database[0])
    try:
        async with conn.transaction():
            _id, token = await spaces.invite(
                conn, (await spaces.space_view(conn, "alpha", None, instance_admin=False)).space.id,  # type: ignore[union-attr]
                email="outsider@example.org", role=Role.MEMBER, actor_id=world.user_ids["admin"],
            )  # fmt: skip
    finally:
        await conn.close()
    act_as(scenario_client, world, "anonymous")
    page = await scenario_client.get(f"/invitations/{token}")
    assert f"/signin?next=/invitations/{token}" in page.text, "asked to sign in first"
    act_as(scenario_client, world, "member")  # someone else
    assert (await post_form(scenario_client, f"/invitations/{token}", SIGNATURE)).status_code == 403
    act_as(scenario_client, world, "outsider")
    missing = await post_form(scenario_client, f"/invitations/{token}", {})
    assert missing.status_code == 422 and field_error(missing.text, "place")
    joined = await post_form(scenario_client, f"/invitations/{token}", SIGNATURE)
    assert joined.status_code == 303
    assert (await scenario_client.get("/s/alpha")).status_code == 200


async def test_withdrawn_and_expired_invitations(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    act_as(scenario_client, world, "admin")
    revoke = f"/s/alpha/invitations/{world.invitation_id}/revoke"
    assert (await post_form(scenario_client, revoke)).status_code == 303
    assert (await scenario_client.get(f"/invitations/{world.invitation_token}")).status_code == 410
    assert (await post_form(scenario_client, revoke)).status_code == 404
    expire = "UPDATE invitations SET revoked_at = NULL, expires_at = now()"
    await query(scenario_database[0], expire)
    assert (await scenario_client.get(f"/invitations/{world.invitation_token}")).status_code == 410


# --- the charter ---------------------------------------------------------------------------


async def test_new_charter_version_blocks_acting_until_signed(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "admin")
    published = await post_form(
        scenario_client, "/s/alpha/charter",
        {"body": "# Charte v2\n\n<script>alert(1)</script> *Écoute*", "expected_version": "1",
         "note": "écoute"},
    )  # fmt: skip
    assert published.status_code == 303
    page = await scenario_client.get("/s/alpha/charter")
    assert "Charte v2" in page.text and "<em>Écoute</em>" in page.text
    assert "<script>alert(1)</script>" not in page.text, "raw HTML must not get through"
    assert 'class="banner" role="alert"' in page.text  # the admin must sign again too

    refused = await post_form(scenario_client, "/s/alpha/invitations", {"email": "x@example.org"})
    assert refused.status_code == 403
    assert "signez sa nouvelle version" in refused.text
    assert 'href="/s/alpha/charter#sign"' in refused.text

    stale = await post_form(
        scenario_client, "/s/alpha/charter/sign", {"charter_version": "1", **SIGNATURE}
    )
    # Signing a version they did not read is refused: they are shown the new text.
    assert stale.headers["location"] == "/s/alpha/charter?changed=1"
    signed = await post_form(
        scenario_client, "/s/alpha/charter/sign", {"charter_version": "2", **SIGNATURE}
    )
    assert signed.status_code == 303
    allowed = await post_form(scenario_client, "/s/alpha/invitations", {"email": "x@example.org"})
    assert allowed.status_code == 303

    members = await scenario_client.get("/s/alpha/members")
    assert members.text.count("doit signer à nouveau") == 3  # member, facilitator, target


async def test_concurrent_charter_edits_do_not_overwrite(
    scenario_client: Client, world: Scenario
) -> None:
    """Two people start from version 1; the second to publish is told, and keeps their text.
    (The second is the instance's administrator, who may edit without signing version 2.)"""
    act_as(scenario_client, world, "admin")
    first = await post_form(
        scenario_client, "/s/alpha/charter", {"body": "Version A", "expected_version": "1"}
    )
    assert first.status_code == 303
    act_as(scenario_client, world, "instance_admin")
    second = await post_form(
        scenario_client, "/s/alpha/charter", {"body": "Version B", "expected_version": "1"}
    )
    assert second.status_code == 409
    assert "Version B" in second.text, "the author's text is kept"
    assert 'name="expected_version" value="2"' in second.text, "ready to publish over v2"


# --- roles -----------------------------------------------------------------------------


async def test_the_last_administrator_stays(scenario_client: Client, world: Scenario) -> None:
    act_as(scenario_client, world, "admin")
    admin_id = world.user_ids["admin"]
    demote = await post_form(
        scenario_client, f"/s/alpha/members/{admin_id}/role", {"role": "member"}
    )
    assert demote.status_code == 409
    assert "au moins un·e administrateur·rice" in demote.text or "administrat" in demote.text
    removal = await post_form(scenario_client, f"/s/alpha/members/{admin_id}/remove")
    assert removal.status_code == 409
    assert (await post_form(scenario_client, "/s/alpha/leave")).status_code == 409
    promote = await post_form(
        scenario_client, f"/s/alpha/members/{world.target_id}/role", {"role": "admin"}
    )
    assert promote.status_code == 303
    assert (await post_form(scenario_client, "/s/alpha/leave")).status_code == 303
    assert (await scenario_client.get("/s/alpha")).status_code == 404


async def test_two_admins_demoting_each_other_at_once_leave_one(
    scenario_database: tuple[str, Scenario], world: Scenario
) -> None:
    url = scenario_database[0]
    first, second = await db.connect(url), await db.connect(url)
    try:
        space_id = await first.fetchval("SELECT id FROM spaces WHERE slug = 'alpha'")
        await first.execute(
            "UPDATE memberships SET role = 'admin' WHERE user_id = $1", world.target_id
        )
        a, b = world.user_ids["admin"], world.target_id

        async def demote(conn: db.Connection, who: int, actor: int) -> str:
            try:
                async with conn.transaction():
                    await spaces.change_role(conn, space_id, who, Role.MEMBER, actor_id=actor)
                    await asyncio.sleep(0.2)  # hold the lock while the other one tries
            except DomainError as error:
                return error.code
            return "ok"

        results = await asyncio.gather(demote(first, a, b), demote(second, b, a))
        assert sorted(results) == ["last_admin", "ok"]
        assert (
            await first.fetchval(
                "SELECT count(*) FROM memberships WHERE space_id = $1 AND role = 'admin'", space_id
            )
            == 1
        )
    finally:
        await first.close()
        await second.close()


# --- creating and configuring spaces -------------------------------------------------------


async def test_creating_a_space_answers_mistakes_in_place(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "instance_admin")
    bad = await post_form(
        scenario_client, "/spaces",
        {"name": "N" * 121, "slug": "Pas Bon", "kind": "club", "decision_prefix": "ca-1",
         "review_delay_months": "99"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert field_error(bad.text, "name") == "120 caractères au maximum."
    for name in ("slug", "kind", "decision_prefix", "review_delay_months"):
        assert field_error(bad.text, name), name
    taken = await post_form(
        scenario_client, "/spaces", {"name": "Autre", "slug": "alpha", "kind": "collective",
                                     "decision_prefix": "AU"},
    )  # fmt: skip
    assert taken.status_code == 422 and field_error(taken.text, "slug")
    created = await post_form(
        scenario_client, "/spaces",
        {"name": "Mobilité à Écully", "kind": "collective", "decision_prefix": "me"},
    )  # fmt: skip
    assert created.headers["location"] == "/s/mobilite-a-ecully"
    page = await scenario_client.get("/s/mobilite-a-ecully")
    assert "vous êtes administrateur·rice" in page.text


async def test_child_space_includes_parent_members_only_when_it_says_so(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "admin")
    for name, include in (("Cercle ouvert", "on"), ("Cercle fermé", "")):
        response = await post_form(
            scenario_client, "/s/alpha/spaces",
            {"name": name, "kind": "governance", "decision_prefix": "CE",
             "parent_members_included": include},
        )  # fmt: skip
        assert response.status_code == 303
    act_as(scenario_client, world, "member")
    assert (await scenario_client.get("/s/cercle-ouvert")).status_code == 200
    assert (await scenario_client.get("/s/cercle-ferme")).status_code == 404
    listing = await scenario_client.get("/s/alpha")
    assert 'href="/s/cercle-ouvert"' in listing.text
    assert 'href="/s/cercle-ferme"' not in listing.text
    refused = await post_form(scenario_client, "/s/cercle-ouvert/leave")
    assert refused.status_code == 403, "membership through the parent is left in the parent"


async def test_guessing_another_space_reveals_nothing(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "admin")
    for path in ("/s/beta", "/s/beta/members", "/s/beta/charter", "/s/does-not-exist"):
        response = await scenario_client.get(path)
        assert response.status_code == 404, path
    same = [
        re.sub(r"[0-9a-f]{32}", "", (await scenario_client.get(p)).text).replace(p, "PATH")
        for p in ("/s/beta", "/s/does-not-exist")
    ]
    assert same[0] == same[1], "an existing space answers differently from a missing one"


async def test_settings_change_with_a_stale_form_shows_the_new_version(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "admin")
    form = {"name": "Alpha renommé", "decision_prefix": "AL", "version": "1"}
    assert (await post_form(scenario_client, "/s/alpha/settings", form)).status_code == 303
    stale = await post_form(scenario_client, "/s/alpha/settings", {**form, "name": "Alpha écrasé"})
    assert stale.status_code == 409
    assert 'value="Alpha renommé"' in stale.text and 'name="version" value="2"' in stale.text


@pytest.mark.parametrize("role", ["member", "facilitator"])
async def test_plain_members_do_not_see_emails_or_admin_controls(
    scenario_client: Client, world: Scenario, role: str
) -> None:
    act_as(scenario_client, world, role)
    page = await scenario_client.get("/s/alpha/members")
    assert "admin@example.org" not in page.text
    assert "/invitations" not in page.text and "/remove" not in page.text


async def test_space_home_shows_its_members(scenario_client: Client, world: Scenario) -> None:
    act_as(scenario_client, world, "member")
    page = await scenario_client.get("/s/alpha")
    assert "5 membres" in page.text
    assert "Admin, Facilitator, Member, Target, Unsigned" in page.text  # roles first, then names
    assert 'href="/s/alpha/members"' in page.text


async def test_members_are_paginated_without_loss_or_repeat(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    """250 more members, some with the same name: page by page, everyone appears once."""
    conn = await db.connect(scenario_database[0])
    try:
        space_id = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'alpha'")
        ids = await conn.fetch(
            "INSERT INTO users (email, name) SELECT 'm' || n || '@example.org',"
            " 'Personne ' || (n % 50) FROM generate_series(1, 250) n RETURNING id"
        )
        await conn.executemany(
            "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, 'member')",
            [(space_id, r["id"]) for r in ids],
        )
    finally:
        await conn.close()
    act_as(scenario_client, world, "member")
    seen: list[str] = []
    url: str | None = "/s/alpha/members"
    pages = 0
    while url:
        page = await scenario_client.get(url)
        assert page.status_code == 200
        seen += re.findall(r"<tr>\s*<td>([^<]+)</td>", page.text)
        following = re.search(r'href="(/s/alpha/members\?after=\d+)" rel="next"', page.text)
        url = following.group(1) if following else None
        pages += 1
    assert pages == 3
    assert len(seen) == 255
    assert seen == sorted(seen, key=str.lower)

    headers = {"authorization": f"Bearer {world.api_tokens['member']}"}
    scenario_client.cookies.delete("session")
    api_ids: list[int] = []
    next_url: str | None = "/api/v1/spaces/alpha/members"
    while next_url:
        body = (await scenario_client.get(next_url, headers=headers)).json()
        api_ids += [m["user_id"] for m in body["members"]]
        next_url = body["next"]
    assert len(api_ids) == len(set(api_ids)) == 255
