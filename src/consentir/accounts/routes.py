"""Sign-up, sign-in, sign-out, password reset, email confirmation, profile, API tokens."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db, mail, ratelimit
from consentir.accounts import store
from consentir.accounts.store import User
from consentir.config import Settings
from consentir.credentials import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from consentir.errors import N_, DomainError
from consentir.web import boundary
from consentir.web.auth import session_cookie, session_token, signed_in_user
from consentir.web.emails import compose
from consentir.web.forms import Email, FormInvalid, field_error, parse_form
from consentir.web.i18n import gettext
from consentir.web.shell import local_path

FormData = URLEncodedBody[dict[str, Any]]
Password = Annotated[
    str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
]
Name = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=100)]

SIGNIN_PER_ACCOUNT = ratelimit.Limit("signin-account", max_hits=5, window_seconds=900)
SIGNIN_PER_ADDRESS = ratelimit.Limit("signin-address", max_hits=30, window_seconds=900)
RESET_PER_ACCOUNT = ratelimit.Limit("reset-account", max_hits=3, window_seconds=3600)
RESET_PER_ADDRESS = ratelimit.Limit("reset-address", max_hits=10, window_seconds=3600)
SIGNUP_PER_ACCOUNT = ratelimit.Limit("signup-account", max_hits=3, window_seconds=3600)
SIGNUP_PER_ADDRESS = ratelimit.Limit("signup-address", max_hits=10, window_seconds=3600)

log = logging.getLogger(__name__)

BAD_CREDENTIALS = N_("This email and password do not match an account.")
TOO_MANY = N_("Too many attempts. Please wait %(minutes)s minutes and try again.")


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _page(name: str, status: int = 200, **context: Any) -> Template:
    return Template(name, context=context, status_code=status)


# --- sign in / out -----------------------------------------------------------------------


class SignIn(msgspec.Struct):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    next: FromQuery[str] = "/"


@get("/signin", name="signin")
async def signin_form(next: FromQuery[str] = "/") -> Template:
    return _page("accounts/signin.html", form=None, next=local_path(next))


@post("/signin")
async def signin(
    request: Request[Any, Any, Any],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    try:
        form = parse_form(SignIn, data)
    except FormInvalid as invalid:
        return _page(
            "accounts/signin.html", 422, form=invalid, next=local_path(data.get("next", "/"))
        )
    address = _client(request)
    # The attempt is counted before the password is checked, so that a burst of concurrent
    # attempts gets no more than the limits through; a successful one is given back below.
    async with db.transaction(pool) as conn:
        attempt = await ratelimit.take(
            conn, (SIGNIN_PER_ACCOUNT, form.email), (SIGNIN_PER_ADDRESS, address)
        )
        found = await store.user_by_email(conn, form.email) if attempt.granted else None
    if not attempt.granted:
        return _too_many(
            "accounts/signin.html",
            attempt,
            FormInvalid({}, {"email": form.email}),
            next=local_path(form.next),
        )
    user, password_hash = found if found else (None, None)
    # Always one argon2 verification (against a dummy hash when there is no account or no
    # password), so that the answer takes as long whether the email is known or not.
    matches = await verify_password(password_hash, form.password)
    if user is None or not matches:
        if attempt.last_allowed:
            async with db.transaction(pool) as conn:
                await journal_blocked(conn, user, form.email, address)
        problem = FormInvalid({"__all__": gettext(BAD_CREDENTIALS)}, {"email": form.email})
        return _page("accounts/signin.html", 400, form=problem, next=local_path(form.next))
    assert password_hash is not None  # it matched
    rehashed = await hash_password(form.password) if needs_rehash(password_hash) else None
    async with db.transaction(pool) as conn:
        await ratelimit.give_back(conn, attempt)
        if rehashed:
            await store.upgrade_password_hash(conn, user.id, password_hash, rehashed)
        token = await store.start_session(
            conn,
            user,
            replaces=session_token(request),
            user_agent=request.headers.get("user-agent"),
        )
    return Redirect(
        local_path(form.next), status_code=303, cookies=[session_cookie(settings, token)]
    )


def _wait_message(refused: ratelimit.Reservation) -> str:
    return gettext(TOO_MANY) % {"minutes": max(1, refused.retry_after // 60)}


def _too_many(
    template: str, refused: ratelimit.Reservation, problem: FormInvalid, **context: Any
) -> Template:
    """The form again, 429, saying how long to wait, with `Retry-After`."""
    problem.errors = {"__all__": _wait_message(refused)}
    response = _page(template, 429, form=problem, **context)
    response.headers["Retry-After"] = str(refused.retry_after)
    return response


async def journal_blocked(conn: db.Connection, user: User | None, email: str, address: str) -> None:
    from consentir import journal

    await journal.append(
        conn,
        action="account.sign_in_blocked",
        subject_type="user",
        subject_id=user.id if user else None,
        data={"email": email.lower(), "address": address},
    )


@post("/signout")
async def signout(
    request: Request[Any, Any, Any],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Redirect:
    token = session_token(request)
    if token:
        async with db.transaction(pool) as conn:
            await store.end_session(conn, token)
    return Redirect("/", status_code=303, cookies=[session_cookie(settings, None)])


# --- sign up -----------------------------------------------------------------------------


class SignUp(msgspec.Struct):
    name: Name
    email: Email
    password: Password


@get("/signup", name="signup")
async def signup_form(settings: NamedDependency[Settings]) -> Template:
    if not settings.signup_open:  # a page that says how to join, not a bare "not found"
        return _page("accounts/signup_closed.html", 404)
    return _page("accounts/signup.html", form=None)


@post("/signup")
async def signup(
    request: Request[Any, Any, Any],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    """A new account, signed in at once, with a link to confirm its email address. Limited
    per address and per client, since each sends an email."""
    if not settings.signup_open:
        return _page("accounts/signup_closed.html", 404)
    try:
        form = parse_form(SignUp, data)
    except FormInvalid as invalid:
        return _page("accounts/signup.html", 422, form=invalid)
    async with db.transaction(pool) as conn:
        attempt = await ratelimit.take(
            conn, (SIGNUP_PER_ACCOUNT, form.email), (SIGNUP_PER_ADDRESS, _client(request))
        )
    if not attempt.granted:
        problem = _with_values(FormInvalid({}, {}), data)
        return _too_many("accounts/signup.html", attempt, problem)
    try:
        password_hash = await hash_password(form.password)
        async with db.transaction(pool) as conn:
            user = await store.create_user(
                conn, email=form.email, name=form.name, password_hash=password_hash,
                locale=_locale(),
            )  # fmt: skip
            await send_confirmation(conn, request, settings, user)
            token = await store.start_session(
                conn, user, replaces=session_token(request),
                user_agent=request.headers.get("user-agent"),
            )  # fmt: skip
    except DomainError as error:
        problem = _with_values(field_error(error), data)
        return _page("accounts/signup.html", 422, form=problem)
    return Redirect("/", status_code=303, cookies=[session_cookie(settings, token)])


def _with_values(problem: FormInvalid, data: dict[str, Any]) -> FormInvalid:
    problem.values = {k: v for k, v in data.items() if not k.startswith("password")}
    return problem


def _locale() -> Literal["fr", "en"]:
    from consentir.web.i18n import current_locale

    return "en" if current_locale.get() == "en" else "fr"


async def send_confirmation(
    conn: db.Connection, request: Request[Any, Any, Any], settings: Settings, user: User
) -> None:
    token = await store.issue_link(conn, user.id, "confirm_email")
    subject, body = compose(
        request, "confirm_email", user.locale, name=user.name,
        link=f"{settings.public_url}/email/confirm/{token}",
    )  # fmt: skip
    await mail.enqueue(conn, to=user.email, subject=subject, body=body)


# --- password reset ----------------------------------------------------------------------


class ResetRequest(msgspec.Struct):
    email: Email


@get("/password/forgot", name="password_forgot")
async def forgot_form() -> Template:
    return _page("accounts/forgot.html", form=None, sent=False)


@post("/password/forgot")
async def forgot(
    request: Request[Any, Any, Any],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Template:
    try:
        form = parse_form(ResetRequest, data)
    except FormInvalid as invalid:
        return _page("accounts/forgot.html", 422, form=invalid, sent=False)
    async with db.transaction(pool) as conn:
        attempt = await ratelimit.take(
            conn, (RESET_PER_ACCOUNT, form.email), (RESET_PER_ADDRESS, _client(request))
        )
    if not attempt.granted:
        return _too_many("accounts/forgot.html", attempt, FormInvalid({}, data), sent=False)
    # The same answer whether or not the address has an account, and at the same moment:
    # the link is issued and queued after the answer is sent, so that its work cannot be timed.
    send = BackgroundTask(send_reset_link, pool, request, settings, form.email)
    return Template("accounts/forgot.html", context={"form": None, "sent": True}, background=send)


async def send_reset_link(
    pool: asyncpg.Pool, request: Request[Any, Any, Any], settings: Settings, email: str
) -> None:
    """Issue a reset link and queue its email, if `email` has an account."""
    try:
        async with db.transaction(pool) as conn:
            found = await store.user_by_email(conn, email)
            if found is None:
                return
            user = found[0]
            token = await store.issue_link(conn, user.id, "reset_password")
            subject, body = compose(
                request, "reset_password", user.locale, name=user.name,
                link=f"{settings.public_url}/password/reset/{token}",
            )  # fmt: skip
            await mail.enqueue(conn, to=user.email, subject=subject, body=body)
    except Exception:  # the person already has their answer: nobody else would see it
        log.exception("password reset link not issued")


class NewPassword(msgspec.Struct):
    password: Password


@get("/password/reset/{token:str}", name="password_reset")
async def reset_form(token: FromPath[str], pool: NamedDependency[asyncpg.Pool]) -> Template:
    async with pool.acquire() as conn:
        usable = await store.link_is_usable(conn, token, "reset_password")
    if not usable:
        return _link_invalid()
    return _page("accounts/reset.html", form=None, token=token)


def _link_invalid() -> Template:
    return _page("accounts/link_invalid.html", 410)


@post("/password/reset/{token:str}")
async def reset(
    token: FromPath[str], data: FormData, pool: NamedDependency[asyncpg.Pool]
) -> Template:
    try:
        form = parse_form(NewPassword, data)
    except FormInvalid as invalid:
        return _page("accounts/reset.html", 422, form=invalid, token=token)
    password_hash = await hash_password(form.password)
    try:
        async with db.transaction(pool) as conn:
            used = await store.use_link(conn, token, "reset_password")
            await store.set_password(conn, used.user_id, password_hash)
    except DomainError:
        return _link_invalid()
    return _page(
        "accounts/done.html", message=gettext(N_("Your password was changed. You can now sign in."))
    )


# --- email confirmation and change -------------------------------------------------------


@get("/email/{purpose:str}/{token:str}", name="email_link")
async def email_link_form(
    purpose: FromPath[str], token: FromPath[str], pool: NamedDependency[asyncpg.Pool]
) -> Template:
    """Mail scanners open links: the page only asks to confirm with a button (POST)."""
    kind = _email_purpose(purpose)
    async with pool.acquire() as conn:
        if not await store.link_is_usable(conn, token, kind):
            return _link_invalid()
    return _page("accounts/email_link.html", purpose=purpose, token=token)


def _email_purpose(purpose: FromPath[str]) -> Literal["confirm_email", "change_email"]:
    if purpose == "confirm":
        return "confirm_email"
    if purpose == "change":
        return "change_email"
    raise NotFoundException()


@post("/email/{purpose:str}/{token:str}")
async def email_link(
    purpose: FromPath[str], token: FromPath[str], pool: NamedDependency[asyncpg.Pool]
) -> Template:
    kind = _email_purpose(purpose)
    try:
        async with db.transaction(pool) as conn:
            used = await store.use_link(conn, token, kind)
            if kind == "confirm_email":
                await store.confirm_email(conn, used.user_id)
            else:
                assert used.new_email is not None
                await store.change_email(conn, used.user_id, used.new_email)
    except DomainError as error:
        if error.code == "email_taken":
            return _page("accounts/done.html", 409, message=gettext(error.message))
        return _link_invalid()
    return _page("accounts/done.html", message=gettext(N_("Your email address is confirmed.")))


# --- profile -----------------------------------------------------------------------------


class Profile(msgspec.Struct):
    name: Name
    locale: Literal["fr", "en"]


class EmailChange(msgspec.Struct):
    email: Email


class TokenRequest(msgspec.Struct):
    token_name: Name  # not "name": the profile's other form has one (ids are per page)


class PasswordChange(msgspec.Struct):
    # Names start with "password": parse_form keeps their spaces as typed.
    password_current: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    password_new: Password
    password_again: Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_LENGTH)]


WRONG_PASSWORD = N_("This is not your current password.")
PASSWORDS_DIFFER = N_("The two new passwords are not the same.")


async def _profile_page(
    pool: asyncpg.Pool, me: User, *, status: int = 200, **context: Any
) -> Template:
    async with pool.acquire() as conn:
        tokens = await store.api_tokens(conn, me.id)
    context.setdefault("form", None)
    context.setdefault("email_form", None)
    context.setdefault("token_form", None)
    context.setdefault("password_form", None)
    context.setdefault("new_token", None)
    return _page("accounts/profile.html", status, me=me, tokens=tokens, **context)


@get("/profile", name="profile")
async def profile(
    me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool], saved: FromQuery[str] = ""
) -> Template:
    return await _profile_page(pool, me, saved=saved)


@post("/profile")
async def update_profile(
    me: NamedDependency[User], data: FormData, pool: NamedDependency[asyncpg.Pool]
) -> Response[Any]:
    try:
        form = parse_form(Profile, data)
    except FormInvalid as invalid:
        return await _profile_page(pool, me, status=422, form=invalid, saved="")
    async with db.transaction(pool) as conn:
        await store.update_profile(conn, me.id, name=form.name, locale=form.locale)
    return Redirect("/profile?saved=profile", status_code=303)


@post("/profile/email")
async def request_email_change(
    request: Request[Any, Any, Any],
    me: NamedDependency[User],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    try:
        form = parse_form(EmailChange, data)
    except FormInvalid as invalid:
        return await _profile_page(pool, me, status=422, email_form=invalid, saved="")
    async with db.transaction(pool) as conn:
        token = await store.issue_link(conn, me.id, "change_email", new_email=form.email)
        subject, body = compose(
            request, "change_email", me.locale, name=me.name,
            link=f"{settings.public_url}/email/change/{token}",
        )  # fmt: skip
        await mail.enqueue(conn, to=form.email, subject=subject, body=body)
    return Redirect("/profile?saved=email", status_code=303)


@post("/profile/confirmation")
async def resend_confirmation(
    request: Request[Any, Any, Any],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Redirect:
    if not me.email_confirmed:
        async with db.transaction(pool) as conn:
            await send_confirmation(conn, request, settings, me)
    return Redirect("/profile?saved=confirmation", status_code=303)


@post("/profile/password")
async def change_password(
    request: Request[Any, Any, Any],
    me: NamedDependency[User],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    """A new password, given the current one. Every session of the account ends (a session
    opened with the old password, elsewhere, must not outlive it); this browser gets a new
    one and stays signed in. Checking the current password counts as a sign-in attempt, so a
    session left open cannot be used to guess it faster than the sign-in page allows."""

    async def again(status: int, errors: dict[str, str]) -> Template:
        return await _profile_page(
            pool, me, status=status, password_form=FormInvalid(errors, {}), saved=""
        )

    try:
        form = parse_form(PasswordChange, data)
    except FormInvalid as invalid:
        return await again(422, invalid.errors)
    if form.password_again != form.password_new:
        return await again(422, {"password_again": gettext(PASSWORDS_DIFFER)})
    async with db.transaction(pool) as conn:
        attempt = await ratelimit.take(conn, (SIGNIN_PER_ACCOUNT, me.email))
        current = await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", me.id)
    if not attempt.granted:
        page = await again(429, {"password_current": _wait_message(attempt)})
        page.headers["Retry-After"] = str(attempt.retry_after)
        return page
    if not await verify_password(current, form.password_current):
        return await again(400, {"password_current": gettext(WRONG_PASSWORD)})
    password_hash = await hash_password(form.password_new)
    async with db.transaction(pool) as conn:
        await ratelimit.give_back(conn, attempt)
        # Only over the password just checked: a reset that came in between wins.
        changed = await store.set_password(conn, me.id, password_hash, replacing=current)
        if not changed:
            return await again(409, {"password_current": gettext(WRONG_PASSWORD)})
        token = await store.start_session(
            conn, me, replaces=None, user_agent=request.headers.get("user-agent")
        )
    return Redirect(
        "/profile?saved=password", status_code=303, cookies=[session_cookie(settings, token)]
    )


@post("/profile/tokens")
async def create_token(
    me: NamedDependency[User], data: FormData, pool: NamedDependency[asyncpg.Pool]
) -> Template:
    try:
        form = parse_form(TokenRequest, data)
    except FormInvalid as invalid:
        return await _profile_page(pool, me, status=422, token_form=invalid, saved="")
    async with db.transaction(pool) as conn:
        _token_id, token = await store.create_api_token(conn, me.id, form.token_name)
    return await _profile_page(pool, me, new_token=token, saved="")


@post("/profile/tokens/{token_id:int}/revoke")
async def revoke_token(
    token_id: FromPath[int], me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool]
) -> Redirect:
    async with db.transaction(pool) as conn:
        if not await store.revoke_api_token(conn, me.id, token_id):
            raise NotFoundException()
    return Redirect("/profile?saved=revoked", status_code=303)


me_dependency = {"me": Provide(signed_in_user, sync_to_thread=False)}

public_routes = [
    signin_form,
    signin,
    signout,
    signup_form,
    signup,
    forgot_form,
    forgot,
    reset_form,
    reset,
    email_link_form,
    email_link,
]
profile_routes = [
    profile,
    update_profile,
    request_email_change,
    resend_confirmation,
    change_password,
    create_token,
    revoke_token,
]
