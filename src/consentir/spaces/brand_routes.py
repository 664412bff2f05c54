"""A space's own look (spaces/brand.py): the settings form that sets its colour and logo,
and the two addresses its pages load them from.

The site's Content-Security-Policy refuses inline styles, so the colour comes as a small
stylesheet of the space's (`/s/<slug>/theme.css`), linked by spaces/layout.html. Both
addresses carry a version (`?v=`): a browser keeps what it fetched for good, and a change
gives a new address. They answer like the space's pages: 404 for who may not see it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from consentir import db
from consentir.accounts.store import User
from consentir.errors import DomainError
from consentir.spaces import brand, store
from consentir.spaces.routes import space_page
from consentir.spaces.rules import Action, require
from consentir.spaces.store import Brand, SpaceView
from consentir.web import boundary
from consentir.web.forms import FormInvalid, field_error, parse_form
from consentir.web.i18n import domain_message, format_number

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]

FOREVER = "private, max-age=31536000, immutable"  # a versioned address never changes
CHECK = "private, no-cache"  # an address without its current version: ask each time


COLOUR_FIELDS = ("accent_colour", "accent_colour_was", "accent_picker", "accent_picker_was")


class AppearanceForm(msgspec.Struct, kw_only=True):
    """The appearance form's fields besides the file (what each input showed, `…_was`, tells
    which of the two colour inputs the person moved)."""

    version: boundary.Int32
    accent_colour: Annotated[boundary.OneLine, msgspec.Meta(max_length=20)] = ""
    accent_colour_was: Annotated[boundary.OneLine, msgspec.Meta(max_length=20)] = ""
    accent_picker: Annotated[boundary.OneLine, msgspec.Meta(max_length=20)] = ""
    accent_picker_was: Annotated[boundary.OneLine, msgspec.Meta(max_length=20)] = ""
    remove_logo: bool = False


async def _uploaded(data: dict[str, Any]) -> bytes | None:
    """The chosen file's bytes (at most one more than allowed: enough to refuse it), or None
    when no file was chosen (the browser sends an empty part without a file name)."""
    value = data.get("logo")
    if isinstance(value, list):
        value = value[-1] if value else None
    if not isinstance(value, UploadFile):
        return None
    try:
        content = await value.read(brand.MAX_LOGO_BYTES + 1)
    finally:
        await value.close()
    return content or None


def _message(error: DomainError) -> str:
    """The refusal in the reader's language, its numbers written as they write them."""
    error.params = {key: format_number(float(value)) if isinstance(value, int | Decimal) else value
                    for key, value in error.params.items()}  # fmt: skip
    return domain_message(error)


def _brand(form: AppearanceForm, content: bytes | None) -> Brand:
    """The change the form asks for, or FormInvalid with each refusal next to its field."""
    values = {name: getattr(form, name) for name in COLOUR_FIELDS}
    remove = form.remove_logo
    errors: dict[str, str] = {}
    colour: str | None = None
    try:
        colour = brand.choose_colour(
            values["accent_colour"], values["accent_colour_was"],
            values["accent_picker"], values["accent_picker_was"],
        )  # fmt: skip
        brand.check_colour(colour)
    except DomainError as error:
        errors["accent_colour"] = _message(error)
    if colour is not None:
        values["accent_colour"] = colour  # as it will be kept, if only the picker moved
    logo = None
    try:
        if content is not None and remove:
            raise DomainError("logo_twice", brand.LOGO_TWICE, field="logo")
        if content is not None:
            logo = brand.check_logo(content)
    except DomainError as error:
        errors["logo"] = _message(error)
    if errors:
        raise FormInvalid(errors, {**values, "remove_logo": "on" if remove else ""})
    return Brand(colour, logo, remove)


def _settings_page(here: SpaceView, status: int, brand_form: FormInvalid) -> Template:
    return space_page(
        "spaces/settings.html", here, status, form=None, brand_form=brand_form, saved=""
    )


# The whole request is read (and the CSRF check made) before the handler runs: a body much
# larger than a logo is refused there (413), not read into memory.
@post("/s/{slug:str}/settings/appearance", request_max_body_size=brand.MAX_LOGO_BYTES + 64 * 1024)
async def save_appearance(
    here: NamedDependency[SpaceView],
    me: NamedDependency[User],
    data: Multipart,
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    require(here.standing, Action.EDIT_SPACE)
    content = await _uploaded(data)
    try:
        form = parse_form(AppearanceForm, {k: v for k, v in data.items() if k != "logo"})
        change = _brand(form, content)
        async with db.transaction(pool) as conn:
            await store.update_brand(
                conn, here.space, change, expected_version=form.version, actor_id=me.id
            )
    except FormInvalid as invalid:
        return _settings_page(here, 422, invalid)
    except DomainError as error:  # changed meanwhile: show the fresh version
        async with pool.acquire() as conn:
            fresh = await store.space_view(
                conn, here.space.slug, me.id, instance_admin=me.is_instance_admin
            )
        return _settings_page(fresh or here, 409, field_error(error))
    return Redirect(
        f"/s/{here.space.slug}/settings?saved=appearance#appearance-title", status_code=303
    )


def _not_modified(request: Request[Any, Any, Any], etag: str) -> bool:
    asked = request.headers.get("if-none-match", "")
    return any(tag.strip() in (etag, f"W/{etag}", "*") for tag in asked.split(","))


def _cache(version: str, asked: str) -> str:
    return FOREVER if asked == version else CHECK


@get("/s/{slug:str}/theme.css", name="space_theme")
async def theme(
    request: Request[Any, Any, Any], here: NamedDependency[SpaceView], v: FromQuery[str] = ""
) -> Response[Any]:
    """The space's stylesheet: its accent colour as the site's tokens, and the header's
    logo rules (empty of colour when it has none: the site's own colour stays)."""
    version = here.space.theme_version
    etag = f'"{version}"'
    headers = {"etag": etag, "cache-control": _cache(version, v)}
    if _not_modified(request, etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(
        brand.theme_css(here.space.accent_colour),
        media_type="text/css",
        headers=headers,
    )


@get("/s/{slug:str}/logo", name="space_logo")
async def logo(
    request: Request[Any, Any, Any],
    here: NamedDependency[SpaceView],
    pool: NamedDependency[asyncpg.Pool],
    v: FromQuery[str] = "",
) -> Response[Any]:
    """The space's logo as it was uploaded, under a policy that lets it run nothing (and the
    site's `X-Content-Type-Options: nosniff`, web/middleware.py); 404 when it has none."""
    digest = here.space.logo_digest
    if digest is None:
        raise NotFoundException()
    policy = {"content-security-policy": "default-src 'none'"}
    etag = f'"{digest}"'
    if _not_modified(request, etag):
        headers = {"etag": etag, "cache-control": _cache(here.space.logo_version or "", v)}
        return Response(b"", status_code=304, headers={**headers, **policy})
    async with pool.acquire() as conn:
        stored = await store.logo(conn, here.space.id)
    if stored is None:  # removed meanwhile
        raise NotFoundException()
    # Named by the bytes sent (a logo replaced since the space was read is not kept for
    # good under the old address).
    version = brand.logo_version(stored.digest)
    headers = {"etag": f'"{stored.digest}"', "cache-control": _cache(version, v), **policy}
    return Response(stored.image, media_type=stored.content_type, headers=headers)


routes = [save_appearance, theme, logo]
