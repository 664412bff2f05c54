"""Accounts through HTTP: sign-in and sessions, rate limits, single-use links sent by real
email, profile, API tokens, and forms that answer mistakes next to the field."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import pytest
from argon2 import PasswordHasher

from consentir import db
from consentir.accounts import store as accounts
from consentir.credentials import PASSWORD_HASHER
from tests.scenario import PASSWORD, Scenario
from tests.smtp import Received
from tests.web import Client, act_as, csrf_token, field_error, post_form

Deliver = Callable[[], Awaitable[int]]


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(r"http://127\.0\.0\.1:8000(/\S+)", body.get_content())
    assert match, body.get_content()
    return match.group(1)


async def sign_in(client: Client, email: str, password: str, next_: str = "/spaces") -> object:
    return await post_form(client, "/signin", {"email": email, "password": password, "next": next_})


async def query(url: str, sql: str, *args: object) -> object:
    conn = await db.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


# --- signing in ----------------------------------------------------------------------------


async def test_sign_in_starts_a_new_session_and_returns_to_the_page(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    act_as(scenario_client, world, "member")  # a session the browser already had
    old = world.sessions["member"]
    response = await sign_in(scenario_client, "MEMBER@example.org", PASSWORD, "/s/alpha")
    assert response.status_code == 303
    assert response.headers["location"] == "/s/alpha"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    new = re.search(r"session=([^;]+)", cookie)
    assert new and new.group(1) != old
    conn = await db.connect(scenario_database[0])
    try:
        assert await accounts.user_from_session(conn, old) is None, "the old id still works"
        user = await accounts.user_from_session(conn, new.group(1))
        assert user is not None and user.email == "member@example.org"
    finally:
        await conn.close()
    page = await scenario_client.get("/spaces")
    assert "Member" in page.text and "Alpha" in page.text


@pytest.mark.parametrize("email", ["member@example.org", "nobody@example.org"])
async def test_wrong_password_and_unknown_email_get_the_same_answer(
    scenario_client: Client, email: str
) -> None:
    response = await sign_in(scenario_client, email, "not the password")
    assert response.status_code == 400
    assert "ne correspondent à aucun compte" in response.text or "do not match" in response.text
    assert 'value="' + email + '"' in response.text  # the email is kept, the password not
    assert "not the password" not in response.text


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hash behind every argon2 verification (the real one still runs)."""
    seen: list[str] = []
    real = PasswordHasher.verify

    def counted(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(hash if isinstance(hash, str) else hash.decode())
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counted)
    return seen


async def test_unknown_accounts_cost_the_same_password_work(
    scenario_client: Client, scenario_database: tuple[str, Scenario], verifications: list[str]
) -> None:
    """No timing tells a known email from an unknown one: each sign-in verifies one argon2
    hash with the same parameters, whether the account exists, has no password, or not."""
    conn = await db.connect(scenario_database[0])
    try:
        async with conn.transaction():
            await accounts.create_user(
                conn, email="nopassword@example.org", name="No password", password_hash=None
            )
    finally:
        await conn.close()
    emails = ["member@example.org", "nobody@example.org", "nopassword@example.org"]
    for email in emails:
        assert (await sign_in(scenario_client, email, "not the password")).status_code == 400
    assert len(verifications) == len(emails), verifications
    parameters = {hash.rsplit("$", 2)[0] for hash in verifications}
    assert parameters == {PASSWORD_HASHER.hash("x").rsplit("$", 2)[0]}


async def test_unknown_accounts_take_as_long_to_answer(scenario_client: Client) -> None:
    """The same, by the clock, with a generous margin (a loaded machine stays well within)."""

    async def timed(email: str) -> float:
        start = time.perf_counter()
        assert (await sign_in(scenario_client, email, "not the password")).status_code == 400
        return time.perf_counter() - start

    known: list[float] = []
    unknown: list[float] = []
    for n in range(4):  # under the per-account limit of 5; alternated against drift
        known.append(await timed("member@example.org"))
        unknown.append(await timed(f"nobody{n}@example.org"))
    assert statistics.median(unknown) >= 0.5 * statistics.median(known), (known, unknown)


async def test_sign_in_brings_an_old_hash_to_todays_parameters(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    stored = "SELECT password_hash FROM users WHERE id = $1"
    await query(
        scenario_database[0],
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        world.user_ids["member"],
        old,
    )
    response = await sign_in(scenario_client, "member@example.org", PASSWORD)
    assert response.status_code == 303
    new = await query(scenario_database[0], stored, world.user_ids["member"])
    assert isinstance(new, str) and new != old
    assert new.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    act_as(scenario_client, world, "member")  # the sessions it had are kept
    assert (await scenario_client.get("/profile")).status_code == 200
    assert (await sign_in(scenario_client, "member@example.org", PASSWORD)).status_code == 303


async def test_sign_in_form_errors_are_next_to_the_field(scenario_client: Client) -> None:
    response = await sign_in(scenario_client, "not-an-email", "")
    assert response.status_code == 422
    assert field_error(response.text, "email")
    assert field_error(response.text, "password")
    english = await scenario_client.post(
        "/signin",
        data={"email": "x", "password": "", "_csrf_token": await csrf_token(scenario_client)},
        headers={"accept-language": "en"},
    )
    assert field_error(english.text, "email") == "Enter an email address, like name@example.org."
    assert field_error(english.text, "password") == "This field is required."


async def test_failed_sign_ins_are_limited_per_account(
    scenario_client: Client, scenario_database: tuple[str, Scenario]
) -> None:
    for _ in range(5):
        assert (await sign_in(scenario_client, "member@example.org", "wrong")).status_code == 400
    blocked = await sign_in(scenario_client, "member@example.org", PASSWORD)
    assert blocked.status_code == 429, "even the right password waits once the limit is hit"
    assert int(blocked.headers["retry-after"]) > 0
    events = await query(
        scenario_database[0],
        "SELECT count(*) FROM journal WHERE action = 'account.sign_in_blocked'",
    )
    assert events == 1
    # Another account from the same address is not blocked (5 < 30 per address).
    assert (await sign_in(scenario_client, "admin@example.org", PASSWORD)).status_code == 303


async def test_sign_out_ends_the_session(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    act_as(scenario_client, world, "member")
    assert (await scenario_client.get("/profile")).status_code == 200
    response = await post_form(scenario_client, "/signout")
    assert response.status_code == 303
    assert "Max-Age=0" in response.headers["set-cookie"]
    act_as(scenario_client, world, "member")  # replaying the old cookie does not work
    again = await scenario_client.get("/profile", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/signin")


SESSION_AGEING = {
    "idle": "UPDATE sessions SET last_seen_at = now() - interval '15 days' WHERE user_id = $1",
    "absolute": "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1",
}


@pytest.mark.parametrize("column", SESSION_AGEING)
async def test_sessions_expire(
    scenario_client: Client,
    world: Scenario,
    scenario_database: tuple[str, Scenario],
    column: str,
) -> None:
    await query(scenario_database[0], SESSION_AGEING[column], world.user_ids["member"])
    act_as(scenario_client, world, "member")
    response = await scenario_client.get("/profile", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin?next=%2Fprofile"


async def test_state_change_without_csrf_token_is_refused_even_signed_in(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "member")
    await scenario_client.get("/profile")
    response = await scenario_client.post("/profile", data={"name": "X", "locale": "fr"})
    assert response.status_code == 403


async def test_htmx_requests_carry_the_csrf_token(scenario_client: Client, world: Scenario) -> None:
    act_as(scenario_client, world, "member")
    page = await scenario_client.get("/profile")
    match = re.search(r"""hx-headers:inherited='\{"x-csrftoken": "([^"]+)"\}'""", page.text)
    assert match, "the page does not give htmx its CSRF token"
    response = await scenario_client.post(
        "/profile",
        data={"name": "Via htmx", "locale": "fr"},
        headers={"x-csrftoken": match.group(1), "hx-request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303


# --- links sent by email -------------------------------------------------------------------


async def test_password_reset_by_email(
    scenario_client: Client, smtp_server: Received, deliver: Deliver
) -> None:
    page = await post_form(scenario_client, "/password/forgot", {"email": "member@example.org"})
    assert page.status_code == 200
    assert await deliver() == 1
    [message] = smtp_server.messages
    assert message["To"] == "member@example.org"
    link = link_in(message)
    assert (await scenario_client.get(link)).status_code == 200
    short = await post_form(scenario_client, link, {"password": "short"})
    assert short.status_code == 422 and field_error(short.text, "password")
    done = await post_form(scenario_client, link, {"password": "a fresh new password"})
    assert done.status_code == 200
    assert (await sign_in(scenario_client, "member@example.org", PASSWORD)).status_code == 400
    ok = await sign_in(scenario_client, "member@example.org", "a fresh new password")
    assert ok.status_code == 303
    again = await post_form(scenario_client, link, {"password": "yet another password"})
    assert again.status_code == 410, "a reset link works once"


async def test_reset_for_unknown_address_sends_nothing_and_says_the_same(
    scenario_client: Client, smtp_server: Received, deliver: Deliver
) -> None:
    known = await post_form(scenario_client, "/password/forgot", {"email": "member@example.org"})
    unknown = await post_form(scenario_client, "/password/forgot", {"email": "ghost@example.org"})
    assert known.status_code == unknown.status_code == 200
    sent = re.sub(r'value="[^"]*"', "", known.text)
    assert sent == re.sub(r'value="[^"]*"', "", unknown.text)
    assert await deliver() == 1
    assert [m["To"] for m in smtp_server.messages] == ["member@example.org"]


async def test_expired_reset_link_is_refused(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    await query(scenario_database[0], "UPDATE account_tokens SET expires_at = now()")
    link = f"/password/reset/{world.reset_token}"
    assert (await scenario_client.get(link)).status_code == 410
    assert (
        await post_form(scenario_client, link, {"password": "long enough pw"})
    ).status_code == 410


async def test_email_confirmation_is_single_use(
    scenario_client: Client, world: Scenario, scenario_database: tuple[str, Scenario]
) -> None:
    link = f"/email/confirm/{world.confirm_token}"
    assert (await scenario_client.get(link)).status_code == 200  # a page, not the action
    assert not await query(
        scenario_database[0],
        "SELECT email_confirmed_at IS NOT NULL FROM users WHERE id = $1",
        world.user_ids["member"],
    )
    assert (await post_form(scenario_client, link)).status_code == 200
    assert await query(
        scenario_database[0],
        "SELECT email_confirmed_at IS NOT NULL FROM users WHERE id = $1",
        world.user_ids["member"],
    )
    assert (await post_form(scenario_client, link)).status_code == 410


async def test_email_change_goes_through_the_new_address(
    scenario_client: Client, world: Scenario, smtp_server: Received, deliver: Deliver
) -> None:
    act_as(scenario_client, world, "member")
    taken = await post_form(scenario_client, "/profile/email", {"email": "not an address"})
    assert taken.status_code == 422 and field_error(taken.text, "email")
    response = await post_form(scenario_client, "/profile/email", {"email": "New@Example.org"})
    assert response.status_code == 303
    await deliver()
    [message] = smtp_server.messages
    assert message["To"] == "New@Example.org"
    assert (await post_form(scenario_client, link_in(message))).status_code == 200
    act_as(scenario_client, world, "member")
    assert "new@example.org" in (await scenario_client.get("/profile")).text


async def test_email_change_to_a_taken_address_is_refused(
    scenario_client: Client, world: Scenario, smtp_server: Received, deliver: Deliver
) -> None:
    act_as(scenario_client, world, "member")
    await post_form(scenario_client, "/profile/email", {"email": "admin@example.org"})
    await deliver()
    response = await post_form(scenario_client, link_in(smtp_server.messages[0]))
    assert response.status_code == 409


async def test_sign_up_when_open_confirms_by_email(
    scenario_database: tuple[str, Scenario],
    mail_settings: object,
    smtp_server: Received,
    deliver: Deliver,
    tmp_path: object,
) -> None:
    from litestar.testing import AsyncTestClient

    from consentir.app import create_app
    from consentir.config import Settings
    from tests.helpers import TEST_SECRET

    settings = Settings(
        database_url=scenario_database[0],
        secret_key=TEST_SECRET,
        data_dir=str(tmp_path),
        signup_open=True,
    )
    app = create_app(settings, mail_settings=mail_settings)  # type: ignore[arg-type]
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
        bad = await post_form(
            client, "/signup", {"name": "x" * 101, "email": "member@example.org", "password": "p"}
        )
        assert bad.status_code == 422
        assert field_error(bad.text, "name") == "100 caractères au maximum."
        assert field_error(bad.text, "password")
        taken = await post_form(
            client,
            "/signup",
            {"name": "Dup", "email": "member@example.org", "password": "long enough pw"},
        )
        ok = await post_form(
            client,
            "/signup",
            {"name": "Zoé", "email": "zoe@example.org", "password": "long enough pw"},
        )
        assert taken.status_code == 422
        assert field_error(taken.text, "email")
        assert ok.status_code == 303
        await deliver()
        [message] = smtp_server.messages
        assert message["To"] == "zoe@example.org"
        assert "Bonjour Zoé" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert (await post_form(client, link_in(message))).status_code == 200


# --- profile and API tokens ----------------------------------------------------------------


async def test_profile_language_applies_everywhere(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "member")
    bad = await post_form(scenario_client, "/profile", {"name": "", "locale": "de"})
    assert bad.status_code == 422
    assert field_error(bad.text, "name") and field_error(bad.text, "locale")
    ok = await post_form(scenario_client, "/profile", {"name": "Membre", "locale": "en"})
    assert ok.status_code == 303
    page = await scenario_client.get("/spaces", headers={"accept-language": "fr"})
    assert '<html lang="en">' in page.text


async def test_api_token_shown_once_works_then_revoked(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "member")
    page = await post_form(scenario_client, "/profile/tokens", {"token_name": "export"})
    token = re.search(r'<code class="token">(cst_[^<]+)</code>', page.text)
    assert token, "the new token is not shown"
    assert token.group(1) not in (await scenario_client.get("/profile")).text, "shown twice"
    scenario_client.cookies.clear()
    bearer = {"authorization": f"Bearer {token.group(1)}"}
    me = await scenario_client.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200 and me.json()["email"] == "member@example.org"
    act_as(scenario_client, world, "member")
    token_id = re.findall(r"/profile/tokens/(\d+)/revoke", page.text)[0]
    assert (
        await post_form(scenario_client, f"/profile/tokens/{token_id}/revoke")
    ).status_code == 303
    scenario_client.cookies.clear()
    revoked = await scenario_client.get("/api/v1/me", headers=bearer)
    assert revoked.status_code == 401
    assert revoked.headers["content-type"] == "application/problem+json"


async def test_api_ignores_the_session_cookie(scenario_client: Client, world: Scenario) -> None:
    act_as(scenario_client, world, "member")
    response = await scenario_client.get("/api/v1/me")
    assert response.status_code == 401


async def test_api_validation_errors_are_problem_json_with_fields(
    scenario_client: Client, world: Scenario
) -> None:
    headers = {"authorization": f"Bearer {world.api_tokens['admin']}"}
    response = await scenario_client.post(
        "/api/v1/spaces/alpha/invitations", json={"email": "nope"}, headers=headers
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert any("email" in error["field"] for error in body["errors"])


async def test_the_profile_names_each_field_once(scenario_client: Client, world: Scenario) -> None:
    """Each label leads to its own field (the token's name once shared "f-name" with the
    person's name), and API tokens wait under an "advanced" section."""
    act_as(scenario_client, world, "member")
    page = (await scenario_client.get("/profile")).text
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for target in re.findall(r'<label for="([^"]+)"', page):
        assert f'id="{target}"' in page, target
    advanced = re.search(r"<details[^>]*>\s*<summary>(.*?)</summary>(.*?)</details>", page, re.S)
    assert advanced and "jetons" in advanced.group(1) and "/profile/tokens" in advanced.group(2)
    refused = await post_form(scenario_client, "/profile/tokens", {"token_name": ""})
    assert refused.status_code == 422 and field_error(refused.text, "token_name")
    assert '<details class="advanced" open>' in refused.text  # the error is not hidden


async def test_changing_ones_password_ends_the_other_sessions(
    scenario_client: Client, world: Scenario, pool: Any
) -> None:
    act_as(scenario_client, world, "member")
    async with db.transaction(pool) as conn:  # the member, signed in on another device too
        found = await accounts.user_by_email(conn, "member@example.org")
        assert found is not None
        second = await accounts.start_session(
            conn, found[0], replaces=None, user_agent="other device"
        )
    new = "a brand new passphrase"
    cases = [
        ({"password_current": "wrong one", "password_new": new, "password_again": new},
         400, "password_current"),
        ({"password_current": PASSWORD, "password_new": "short", "password_again": "short"},
         422, "password_new"),
        ({"password_current": PASSWORD, "password_new": new, "password_again": new + "!"},
         422, "password_again"),
    ]  # fmt: skip
    for data, status, field in cases:
        refused = await post_form(scenario_client, "/profile/password", data)
        assert refused.status_code == status and field_error(refused.text, field), field
    assert PASSWORD not in refused.text  # no password is sent back

    changed = await post_form(scenario_client, "/profile/password", {
        "password_current": PASSWORD, "password_new": new, "password_again": new})  # fmt: skip
    assert changed.status_code == 303 and changed.headers["location"] == "/profile?saved=password"
    page = await scenario_client.get(changed.headers["location"], follow_redirects=False)
    assert page.status_code == 200 and "Vos autres sessions ont été fermées" in page.text
    for token in (world.sessions["member"], second):  # the old cookie and the other device: ended
        scenario_client.cookies.set("session", token, domain="127.0.0.1", path="/")
        gone = await scenario_client.get("/profile", follow_redirects=False)
        assert gone.status_code in (302, 303) and gone.headers["location"].startswith("/signin")
    scenario_client.cookies.delete("session")
    token = await csrf_token(scenario_client)
    old = await scenario_client.post("/signin", data={
        "email": "member@example.org", "password": PASSWORD, "_csrf_token": token})  # fmt: skip
    assert old.status_code == 400
    signed = await scenario_client.post("/signin", data={
        "email": "member@example.org", "password": new, "_csrf_token": token,
    }, follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303


async def test_a_password_change_never_overwrites_a_newer_one(world: Scenario, pool: Any) -> None:
    """The change is made only over the password it checked, in one statement: a reset that
    came in between (the stored hash is no longer that one) wins, and nothing else changes."""
    member = world.user_ids["member"]
    async with db.transaction(pool) as conn:
        checked = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", member)
        assert await accounts.set_password(conn, member, "reset-hash") is True  # the reset
        assert await accounts.set_password(conn, member, "late", replacing=checked) is False
        stored = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", member)
    assert stored == "reset-hash"
