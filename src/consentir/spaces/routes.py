"""Spaces: dashboard, space home, settings, child spaces, members, invitations, charter.

Every handler under /s/{slug} receives `here` (the space as the viewer sees it; 404 when
they may not see it) and checks its action with spaces.rules before doing anything.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template

from consentir import db, mail
from consentir.accounts import store as accounts
from consentir.accounts.store import User
from consentir.config import Settings
from consentir.consent import labels
from consentir.consent import store as proposals
from consentir.consent.diff import rendered_diff
from consentir.credentials import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from consentir.errors import DomainError
from consentir.markdown import render as render_markdown
from consentir.spaces import store
from consentir.spaces.rules import ROLE_NAMES, Action, Role, allowed, require
from consentir.spaces.store import Signature, SpaceSettings, SpaceView
from consentir.web import boundary, idempotency
from consentir.web.auth import current_user, instance_admin, session_cookie, session_token
from consentir.web.emails import compose
from consentir.web.forms import Email, FormInvalid, field_error, parse_form, slugify

FormData = URLEncodedBody[dict[str, Any]]
Name = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=100)]
RoleName = Literal["member", "facilitator", "admin"]


async def load_space(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: NamedDependency[asyncpg.Pool]
) -> SpaceView:
    """Dependency `here`: the space at /s/{slug} with the viewer's standing; 404 for anyone
    who may not see it, exactly as for a space that does not exist. Nobody signed in: asked
    to sign in first, whether or not the space exists."""
    viewer = current_user(request)
    if viewer is None:
        raise NotAuthorizedException()
    async with pool.acquire() as conn:
        view = await store.space_view(
            conn,
            slug,
            viewer.id if viewer else None,
            instance_admin=bool(viewer and viewer.is_instance_admin),
        )
    if view is None or not allowed(view.standing, Action.VIEW):
        raise NotFoundException()
    return view


def space_page(
    name: str,
    here: SpaceView | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A page of a space: the template gets the space, what the viewer may do, role names.
    Every area's pages under /s/{slug} render through it."""
    if here is not None:
        context.update(
            here=here,
            may={action.value: allowed(here.standing, action) for action in Action},
            role_names=ROLE_NAMES,
        )
    return Template(name, context=context, status_code=status, headers=headers or {})


_page = space_page


# --- dashboard and space pages -----------------------------------------------------------


@get("/spaces", name="my_spaces")
async def dashboard(me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool]) -> Template:
    async with pool.acquire() as conn:
        mine = await store.my_spaces(conn, me.id)
        every = await store.all_spaces(conn) if me.is_instance_admin else []
        waiting = await proposals.awaiting(conn, me.id)
    return _page(
        "spaces/dashboard.html", me=me, spaces=mine, all_spaces=every, role_names=ROLE_NAMES,
        awaiting=waiting, waiting_kinds=labels.WAITING_KINDS,
    )  # fmt: skip


@get("/s/{slug:str}", name="space")
async def space_home(
    here: NamedDependency[SpaceView],
    viewer: NamedDependency[User | None],
    pool: NamedDependency[asyncpg.Pool],
) -> Template:
    async with pool.acquire() as conn:
        children = await store.child_spaces(conn, here.space.id, viewer.id if viewer else None)
        member_count, member_names = await store.member_summary(conn, here.space.id)
    return _page(
        "spaces/space.html",
        here,
        children=children,
        member_count=member_count,
        member_names=member_names,
        description=render_markdown(here.space.description),
    )


SpaceName = Annotated[boundary.OneLine, msgspec.Meta(min_length=1, max_length=120)]
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Slug = Annotated[str, msgspec.Meta(min_length=2, max_length=60, pattern=SLUG_PATTERN)]
DecisionPrefix = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{1,10}$")]
Description = Annotated[boundary.Text, msgspec.Meta(max_length=5000)]
ReviewDelay = Annotated[int, msgspec.Meta(ge=1, le=60)]


class SpaceForm(msgspec.Struct):
    name: SpaceName
    slug: Slug
    kind: Literal["collective", "governance"]
    decision_prefix: DecisionPrefix
    description: Description = ""
    review_delay_months: ReviewDelay = 6
    silence_is_consent: bool = False
    parent_members_included: bool = False


def _space_form_values(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    if not values.get("slug") and values.get("name"):
        values["slug"] = slugify(str(values["name"]))
    if values.get("decision_prefix"):
        values["decision_prefix"] = str(values["decision_prefix"]).upper()
    return values


@get("/spaces/new", name="new_space", guards=[instance_admin])
async def new_space_form() -> Template:
    return _page("spaces/new.html", form=None, parent=None)


@post("/spaces", guards=[instance_admin])
async def create_space(
    me: NamedDependency[User], data: FormData, pool: NamedDependency[asyncpg.Pool]
) -> Response[Any]:
    return await _create_space(me, data, pool, parent=None)


async def _create_space(
    me: User, data: dict[str, Any], pool: asyncpg.Pool, parent: SpaceView | None
) -> Response[Any]:
    values = _space_form_values(data)
    try:
        form = parse_form(SpaceForm, values)
        async with db.transaction(pool) as conn:
            space = await store.create_space(
                conn,
                actor_id=me.id,
                name=form.name,
                slug=form.slug,
                kind=form.kind,
                description=form.description,
                decision_prefix=form.decision_prefix,
                parent_id=parent.space.id if parent else None,
                review_delay_months=form.review_delay_months,
                silence_is_consent=form.silence_is_consent,
                parent_members_included=form.parent_members_included and parent is not None,
            )
    except FormInvalid as invalid:
        return _page("spaces/new.html", parent, 422, form=invalid, parent=parent)
    except DomainError as error:
        problem = field_error(error)
        problem.values = values
        return _page("spaces/new.html", parent, 422, form=problem, parent=parent)
    return Redirect(f"/s/{space.slug}", status_code=303)


@get("/s/{slug:str}/spaces/new", name="new_child_space")
async def new_child_form(here: NamedDependency[SpaceView]) -> Template:
    require(here.standing, Action.CREATE_CHILD)
    return _page("spaces/new.html", here, form=None, parent=here)


@post("/s/{slug:str}/spaces")
async def create_child(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    require(here.standing, Action.CREATE_CHILD)
    return await _create_space(me, data, pool, parent=here)


class SettingsForm(msgspec.Struct):
    name: SpaceName
    decision_prefix: DecisionPrefix
    version: boundary.Int32
    description: Description = ""
    review_delay_months: ReviewDelay = 6
    silence_is_consent: bool = False
    parent_members_included: bool = False
    hide_positions: bool = False
    election_nominee_last: bool = False


@get("/s/{slug:str}/settings", name="space_settings")
async def settings_form(here: NamedDependency[SpaceView], saved: FromQuery[str] = "") -> Template:
    require(here.standing, Action.EDIT_SPACE)
    return _page("spaces/settings.html", here, form=None, saved=saved)


@post("/s/{slug:str}/settings")
async def save_settings(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    require(here.standing, Action.EDIT_SPACE)
    values = _space_form_values(data)
    try:
        form = parse_form(SettingsForm, values)
        async with db.transaction(pool) as conn:
            await store.update_space(
                conn,
                here.space,
                SpaceSettings(
                    form.name,
                    form.description,
                    form.review_delay_months,
                    form.silence_is_consent,
                    form.decision_prefix,
                    form.parent_members_included,
                    form.hide_positions,
                    form.election_nominee_last,
                ),
                expected_version=form.version,
                actor_id=me.id,
            )
    except FormInvalid as invalid:
        return _page("spaces/settings.html", here, 422, form=invalid, saved="")
    except DomainError as error:  # changed meanwhile: show the fresh version
        async with pool.acquire() as conn:
            fresh = await store.space_view(
                conn, here.space.slug, me.id, instance_admin=me.is_instance_admin
            )
        return _page("spaces/settings.html", fresh or here, 409, form=field_error(error), saved="")
    return Redirect(f"/s/{here.space.slug}/settings?saved=1", status_code=303)


# --- members and invitations -------------------------------------------------------------


async def _members_page(
    here: SpaceView,
    pool: asyncpg.Pool,
    *,
    status: int = 200,
    after: int | None = None,
    **context: Any,
) -> Template:
    async with pool.acquire() as conn:
        people, next_after = await store.members(conn, here.space.id, after=after)
        pending = (
            await store.pending_invitations(conn, here.space.id)
            if allowed(here.standing, Action.INVITE)
            else []
        )
    context.setdefault("form", None)
    context.setdefault("invited", "")
    context.setdefault("new_key", idempotency.new_key)  # the invitation form's key
    return _page(
        "spaces/members.html", here, status, members=people, pending=pending,
        next_after=next_after, after=after, **context,
    )  # fmt: skip


@get("/s/{slug:str}/members", name="members")
async def members_page(
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    invited: FromQuery[str] = "",
    after: boundary.IdQuery = None,
) -> Template:
    return await _members_page(here, pool, invited=invited, after=after)


class InvitationForm(msgspec.Struct):
    email: Email
    role: RoleName = "member"


@post("/s/{slug:str}/invitations")
async def invite(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    require(here.standing, Action.INVITE)
    page = f"/s/{here.space.slug}/members"
    try:
        form = parse_form(InvitationForm, data)
        async with db.transaction(pool) as conn:
            # Sent twice (double click): one invitation, one email.
            if await idempotency.claim_form(conn, me.id, data, page, form) is None:
                await send_invitation(conn, request, settings, here, me, form.email,
                                      Role(form.role))  # fmt: skip
    except FormInvalid as invalid:
        return await _members_page(here, pool, status=422, form=invalid)
    return Redirect(f"{page}?invited={form.email}", status_code=303)


async def send_invitation(
    conn: db.Connection,
    request: Request[Any, Any, Any],
    settings: Settings,
    here: SpaceView,
    me: User,
    email: str,
    role: Role,
) -> str:
    _id, token = await store.invite(conn, here.space.id, email=email, role=role, actor_id=me.id)
    existing = await accounts.user_by_email(conn, email)
    locale = existing[0].locale if existing else "fr"
    subject, body = compose(
        request, "invitation", locale, inviter=me.name, space=here.space.name,
        link=f"{settings.public_url}/invitations/{token}",
        days=store.INVITATION_LIFETIME.days,
    )  # fmt: skip
    await mail.enqueue(conn, to=email.lower(), subject=subject, body=body)
    return token


@post("/s/{slug:str}/invitations/{invitation_id:int}/revoke")
async def revoke_invitation(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    invitation_id: FromPath[int],
    pool: NamedDependency[asyncpg.Pool],
) -> Redirect:
    require(here.standing, Action.INVITE)
    async with db.transaction(pool) as conn:
        await store.revoke_invitation(conn, here.space.id, invitation_id, actor_id=me.id)
    return Redirect(f"/s/{here.space.slug}/members", status_code=303)


class RoleForm(msgspec.Struct):
    role: RoleName


@post("/s/{slug:str}/members/{user_id:int}/role")
async def change_role(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    user_id: FromPath[int],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    require(here.standing, Action.MANAGE_MEMBERS)
    try:
        form = parse_form(RoleForm, data)
        async with db.transaction(pool) as conn:
            await store.change_role(conn, here.space.id, user_id, Role(form.role), actor_id=me.id)
    except FormInvalid as invalid:
        return await _members_page(here, pool, status=422, form=invalid)
    except DomainError as error:
        return await _members_page(here, pool, status=error.status, form=field_error(error))
    return Redirect(f"/s/{here.space.slug}/members", status_code=303)


@post("/s/{slug:str}/members/{user_id:int}/remove")
async def remove_member(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    user_id: FromPath[int],
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    require(here.standing, Action.MANAGE_MEMBERS)
    try:
        async with db.transaction(pool) as conn:
            await store.remove_member(conn, here.space.id, user_id, actor_id=me.id)
    except DomainError as error:
        return await _members_page(here, pool, status=error.status, form=field_error(error))
    return Redirect(f"/s/{here.space.slug}/members", status_code=303)


@post("/s/{slug:str}/leave")
async def leave(
    here: NamedDependency[SpaceView], me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool]
) -> Response[Any]:
    require(here.standing, Action.LEAVE)
    try:
        async with db.transaction(pool) as conn:
            await store.remove_member(conn, here.space.id, me.id, actor_id=me.id)
    except DomainError as error:
        return await _members_page(here, pool, status=error.status, form=field_error(error))
    return Redirect("/spaces", status_code=303)


# --- charter -----------------------------------------------------------------------------


class SignatureForm(msgspec.Struct):
    signed_name: Name
    place: Name
    signed_on: date


def _signature_defaults(me: User | None) -> dict[str, str]:
    return {"signed_name": me.name if me else "", "signed_on": date.today().isoformat()}


async def _charter_context(
    conn: db.Connection, here: SpaceView, viewer: User | None, since: int | None = None
) -> dict[str, Any]:
    """The charter page's text and versions, and what changed: since the version the person
    last signed when they must sign again, or since the version asked for (`?since=N`)."""
    versions = await store.charter_versions(conn, here.space.id)
    context: dict[str, Any] = {
        "versions": versions,
        "rendered": render_markdown(here.charter.body) if here.charter else None,
        "changes": None,
        "changes_since": None,
        "changes_signed": False,
    }
    if here.charter is None:
        return context
    if since is None and viewer and here.standing.role and not here.standing.charter_signed:
        since = await store.last_signed_version(conn, here.space.id, viewer.id)
        context["changes_signed"] = True
    old = next((v for v in versions if v.version == since), None)
    if old is not None and old.version != here.charter.version:
        context["changes"] = rendered_diff(old.body, here.charter.body)
        context["changes_since"] = old.version
    return context


@get("/s/{slug:str}/charter", name="charter")
async def charter_page(
    here: NamedDependency[SpaceView],
    viewer: NamedDependency[User | None],
    pool: NamedDependency[asyncpg.Pool],
    since: boundary.Int32Query = None,
) -> Template:
    """The current charter; for a member who must sign again, what changed since the version
    they signed; `?since=N`: what changed since version N."""
    async with pool.acquire() as conn:
        context = await _charter_context(conn, here, viewer, since)
    return _page(
        "spaces/charter.html", here, form=FormInvalid({}, _signature_defaults(viewer)), **context
    )


@post("/s/{slug:str}/charter/sign")
async def sign_charter(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    require(here.standing, Action.SIGN_CHARTER)
    if here.charter is None:
        raise NotFoundException()
    if str(data.get("charter_version")) != str(here.charter.version):
        # The charter changed while the person was reading: show them the new text.
        return Redirect(f"/s/{here.space.slug}/charter?changed=1", status_code=303)
    try:
        form = parse_form(SignatureForm, data)
    except FormInvalid as invalid:
        async with pool.acquire() as conn:
            context = await _charter_context(conn, here, me)
        return _page("spaces/charter.html", here, 422, form=invalid, **context)
    async with db.transaction(pool) as conn:
        await store.sign_charter(
            conn, here.space.id, here.charter.id, me.id,
            Signature(form.signed_name, form.place, form.signed_on),
        )  # fmt: skip
    return Redirect(f"/s/{here.space.slug}", status_code=303)


class CharterForm(msgspec.Struct):
    body: Annotated[boundary.Text, msgspec.Meta(min_length=1, max_length=50000)]
    expected_version: boundary.Int32
    note: Annotated[boundary.Text, msgspec.Meta(max_length=500)] = ""


@get("/s/{slug:str}/charter/edit", name="edit_charter")
async def edit_charter_form(here: NamedDependency[SpaceView]) -> Template:
    require(here.standing, Action.EDIT_CHARTER)
    values = {
        "body": here.charter.body if here.charter else "",
        "expected_version": str(here.charter.version if here.charter else 0),
    }
    return _page("spaces/charter_edit.html", here, form=FormInvalid({}, values))


@post("/s/{slug:str}/charter")
async def publish_charter(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    data: FormData,
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    require(here.standing, Action.EDIT_CHARTER)
    try:
        form = parse_form(CharterForm, data)
        async with db.transaction(pool) as conn:
            await store.publish_charter(
                conn, here.space.id, form.body, form.note,
                expected=form.expected_version, actor_id=me.id,
            )  # fmt: skip
    except FormInvalid as invalid:
        return _page("spaces/charter_edit.html", here, 422, form=invalid)
    except DomainError as error:
        problem = field_error(error)
        problem.values = {
            **data,
            "expected_version": str(here.charter.version if here.charter else 0),
        }
        return _page("spaces/charter_edit.html", here, 409, form=problem, current=here.charter)
    return Redirect(f"/s/{here.space.slug}/charter", status_code=303)


# --- joining by invitation ---------------------------------------------------------------


class JoinNewAccount(msgspec.Struct):
    name: Name
    password: Annotated[
        str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    ]


async def _invitation_page(
    pool: asyncpg.Pool,
    token: FromPath[str],
    viewer: User | None,
    *,
    status: int = 200,
    **context: Any,
) -> Template:
    async with pool.acquire() as conn:
        try:
            invitation = await store.invitation_by_token(conn, token)
        except DomainError:
            return Template("spaces/invitation_invalid.html", status_code=410)
        view = await store.space_view(conn, invitation.space_slug, None, instance_admin=False)
        has_account = await accounts.user_by_email(conn, invitation.email) is not None
    assert view is not None
    defaults = {**_signature_defaults(viewer), **(context.pop("values", {}))}
    form = context.pop("form", None) or FormInvalid({}, defaults)
    return Template(
        "spaces/invitation.html",
        context={
            "invitation": invitation,
            "charter": view.charter,
            "rendered": render_markdown(view.charter.body) if view.charter else None,
            "token": token,
            "viewer": viewer,
            "has_account": has_account,
            "wrong_person": viewer is not None and viewer.email != invitation.email,
            "form": form,
            "role_names": ROLE_NAMES,
            **context,
        },
        status_code=status,
    )


@get("/invitations/{token:str}", name="invitation")
async def invitation_page(
    token: FromPath[str], viewer: NamedDependency[User | None], pool: NamedDependency[asyncpg.Pool]
) -> Template:
    return await _invitation_page(pool, token, viewer)


@post("/invitations/{token:str}")
async def accept_invitation(
    request: Request[Any, Any, Any],
    token: FromPath[str],
    data: FormData,
    viewer: NamedDependency[User | None],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    """Accept: as the signed-in invitee, or by creating the invitee's account right here;
    and sign the charter if the space has one. One transaction for all of it."""
    async with pool.acquire() as conn:
        try:
            invitation = await store.invitation_by_token(conn, token)
        except DomainError:
            return Template("spaces/invitation_invalid.html", status_code=410)
        charter_id = await store.current_charter_id(conn, invitation.space_id)
    if viewer is not None and viewer.email != invitation.email:
        return await _invitation_page(pool, token, viewer, status=403)
    errors: dict[str, str] = {}
    account: JoinNewAccount | None = None
    signature: Signature | None = None
    if viewer is None:
        try:
            account = parse_form(JoinNewAccount, data)
        except FormInvalid as invalid:
            errors.update(invalid.errors)
    if charter_id is not None:
        # A newcomer signs with the name they just gave their account: asked once.
        sent = {**data, "signed_name": data.get("name", "")} if viewer is None else data
        try:
            signed = parse_form(SignatureForm, sent)
            signature = Signature(signed.signed_name, signed.place, signed.signed_on)
        except FormInvalid as invalid:
            if viewer is None:  # the name's mistake is shown once, next to "Your name"
                invalid.errors.pop("signed_name", None)
            errors.update(invalid.errors)
    if errors:
        values = {k: v for k, v in data.items() if k != "password"}
        return await _invitation_page(
            pool, token, viewer, status=422, form=FormInvalid(errors, values)
        )
    password_hash = await hash_password(account.password) if account else None
    new_session: str | None = None
    try:
        async with db.transaction(pool) as conn:
            if viewer is None:
                assert account is not None
                user = await accounts.create_user(
                    conn,
                    email=invitation.email,
                    name=account.name,
                    password_hash=password_hash,
                    confirmed=True,  # the link reached this address
                )
                new_session = await accounts.start_session(
                    conn, user, replaces=session_token(request),
                    user_agent=request.headers.get("user-agent"),
                )  # fmt: skip
                user_id = user.id
            else:
                user_id = viewer.id
            await store.accept_invitation(conn, token, user_id, signature)
    except DomainError as error:
        if error.code == "email_taken":  # the account exists: sign in first
            return await _invitation_page(
                pool, token, viewer, status=409, form=field_error(error), values=data
            )
        return Template("spaces/invitation_invalid.html", status_code=410)
    cookies = [session_cookie(settings, new_session)] if new_session else []
    return Redirect(f"/s/{invitation.space_slug}", status_code=303, cookies=cookies)


# --- JSON API (Bearer tokens) ------------------------------------------------------------


class SpaceOut(msgspec.Struct):
    slug: str
    name: str
    kind: str
    role: str | None
    must_sign: bool


class MemberOut(msgspec.Struct):
    user_id: int
    name: str
    role: str
    signed_version: int | None


class InvitationIn(boundary.Input):
    email: Email
    role: RoleName = "member"


class InvitationOut(msgspec.Struct):
    email: str
    role: str
    space: str


class MeOut(msgspec.Struct):
    id: int
    email: str
    name: str
    locale: str
    instance_admin: bool


@get("/api/v1/me", tags=["accounts"], summary="The account this token belongs to")
async def api_me(me: NamedDependency[User]) -> MeOut:
    return MeOut(me.id, me.email, me.name, me.locale, me.is_instance_admin)


@get("/api/v1/spaces", tags=["spaces"], summary="Spaces I belong to")
async def api_spaces(
    me: NamedDependency[User], pool: NamedDependency[asyncpg.Pool]
) -> list[SpaceOut]:
    async with pool.acquire() as conn:
        mine = await store.my_spaces(conn, me.id)
    return [SpaceOut(s.slug, s.name, s.kind, s.role.value, s.must_sign) for s in mine]


@get("/api/v1/spaces/{slug:str}", tags=["spaces"], summary="One space")
async def api_space(here: NamedDependency[SpaceView], me: NamedDependency[User]) -> SpaceOut:
    role = here.standing.role.value if here.standing.role else None
    return SpaceOut(
        here.space.slug, here.space.name, here.space.kind, role, not here.standing.charter_signed
    )


class MemberPage(msgspec.Struct):
    members: list[MemberOut]
    next: str | None  # the address of the next page, if any


@get("/api/v1/spaces/{slug:str}/members", tags=["spaces"], summary="A space's members")
async def api_members(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    pool: NamedDependency[asyncpg.Pool],
    after: boundary.IdQuery = None,
) -> MemberPage:
    """Alphabetical, 100 at a time; follow `next` for more."""
    async with pool.acquire() as conn:
        people, next_after = await store.members(conn, here.space.id, after=after)
    following = None
    if next_after is not None:
        following = f"/api/v1/spaces/{here.space.slug}/members?after={next_after}"
    return MemberPage(
        [MemberOut(p.user_id, p.name, p.role.value, p.signed_version) for p in people], following
    )


@post("/api/v1/spaces/{slug:str}/invitations", tags=["spaces"], summary="Invite by email")
async def api_invite(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    data: JSONBody[InvitationIn],
    pool: NamedDependency[asyncpg.Pool],
    settings: NamedDependency[Settings],
) -> Response[InvitationOut]:
    """Accepts an `Idempotency-Key` header: the same key again sends nothing and returns the
    first answer (`Idempotent-Replayed: true`)."""
    require(here.standing, Action.INVITE)
    out = InvitationOut(data.email.lower(), data.role, here.space.slug)
    key = request.headers.get("idempotency-key")
    async with db.transaction(pool) as conn:
        if key:
            request_print = idempotency.fingerprint(
                "POST", request.url.path, msgspec.json.encode(data)
            )
            replay = await idempotency.claim(
                conn, me.id, key, request_print, status=201, body=msgspec.json.encode(out)
            )
            if replay is not None:
                first = msgspec.json.decode(replay.body, type=InvitationOut)
                return Response(first, status_code=replay.status,
                                headers={"idempotent-replayed": "true"})  # fmt: skip
        await send_invitation(conn, request, settings, here, me, data.email, Role(data.role))
    return Response(out, status_code=201)


space_dependency = {"here": Provide(load_space)}

routes = [
    dashboard,
    space_home,
    new_space_form,
    create_space,
    new_child_form,
    create_child,
    settings_form,
    save_settings,
    members_page,
    invite,
    revoke_invitation,
    change_role,
    remove_member,
    leave,
    charter_page,
    sign_charter,
    edit_charter_form,
    publish_charter,
    invitation_page,
    accept_invitation,
    api_me,
    api_spaces,
    api_space,
    api_members,
    api_invite,
]
