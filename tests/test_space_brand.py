"""A space's own look (issue 13 §5): its administrators set an accent colour and a logo in
the space's settings (a real multipart form, CSRF included); its pages link the colour's
stylesheet and show the logo, both served like the space's pages (404 for who may not see
it), without one more statement per page."""

from __future__ import annotations

import html
import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from consentir import db
from consentir.errors import DomainError
from consentir.spaces import brand
from consentir.spaces import store as spaces
from consentir.spaces.brand import SITE_ACCENT, Logo
from consentir.spaces.store import Brand
from tests.browser.accessibility import shoot
from tests.browser.test_joining import signed_in
from tests.scenario import Scenario
from tests.web import Client, act_as, csrf_token, field_error


def png(width: int = 4, height: int = 2, rgb: tuple[int, int, int] = (122, 31, 92)) -> bytes:
    """A real PNG image, one colour."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))  # fmt: skip


async def settings_version(client: Client, slug: str = "alpha") -> str:
    page = (await client.get(f"/s/{slug}/settings")).text
    match = re.search(r'action="/s/[a-z-]+/settings/appearance".*?name="version" value="(\d+)"',
                      page, re.DOTALL)  # fmt: skip
    assert match, "no appearance form on the settings page"
    return match.group(1)


async def send_appearance(
    client: Client,
    *,
    colour: str | None = None,
    picker: str | None = None,
    logo: tuple[str, bytes, str] | None = None,
    remove: bool = False,
    version: str | None = None,
) -> httpx.Response:
    """The appearance form as a browser sends it (multipart), from what the page showed:
    `colour` typed into the text field, `picker` chosen with the colour picker."""
    page = (await client.get("/s/alpha/settings")).text
    shown = {
        name: re.search(rf'name="{name}" value="([^"]*)"', page)
        for name in ("accent_colour_was", "accent_picker_was")
    }
    assert all(shown.values()), "the form says what its colour inputs showed"
    colour_was = shown["accent_colour_was"].group(1)  # type: ignore[union-attr]
    picker_was = shown["accent_picker_was"].group(1)  # type: ignore[union-attr]
    data: dict[str, Any] = {
        "_csrf_token": await csrf_token(client),
        "version": version or await settings_version(client),
        "accent_colour": colour_was if colour is None else colour,
        "accent_colour_was": colour_was,
        "accent_picker": picker or picker_was,
        "accent_picker_was": picker_was,
    }
    if remove:
        data["remove_logo"] = "on"
    # No file chosen: browsers still send the part, with an empty file name.
    files = {"logo": logo or ("", b"", "application/octet-stream")}
    return await client.post(
        "/s/alpha/settings/appearance", data=data, files=files, follow_redirects=False
    )


async def journal(url: str, action: str) -> list[dict[str, Any]]:
    conn = await db.connect(url)
    try:
        rows = await conn.fetch("SELECT data FROM journal WHERE action = $1 ORDER BY id", action)
        return [dict(r["data"]) for r in rows]
    finally:
        await conn.close()


# --- the rules -----------------------------------------------------------------------------


def test_contrast_is_measured_as_wcag_does() -> None:
    assert brand.relative_luminance("#ffffff") == pytest.approx(1.0)
    assert brand.relative_luminance("#000000") == 0.0
    assert brand.contrast_with_white("#000000") == pytest.approx(21.0)
    assert brand.contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    # The site's own green, as static/consentir.css measures it (white, panels, its tint).
    assert brand.contrast_with_white(SITE_ACCENT) == pytest.approx(7.65, abs=0.01)
    assert brand.contrast(SITE_ACCENT, brand.SURFACE) == pytest.approx(6.77, abs=0.01)
    assert brand.lowest_contrast(SITE_ACCENT) == pytest.approx(6.44, abs=0.01)
    assert brand.tint("#000000") == "#e3e3e3"  # color-mix(in srgb, #000 11%, #fff)
    brand.check_colour(SITE_ACCENT)
    brand.check_colour("#6c6c6c")  # the lightest grey that keeps 4.5:1 on every background
    for light in ("#6e6e6e", "#767676"):  # #767676 passes on white, not on the pale panels
        with pytest.raises(DomainError, match="colour_too_light"):
            brand.check_colour(light)
    assert brand.parse_colour(" 7A1F5C ") == "#7a1f5c"
    assert brand.parse_colour("") is None
    for wrong in ("#7a1f5", "red", "#7a1f5cc", "#ggg000"):
        with pytest.raises(DomainError, match="colour_form"):
            brand.parse_colour(wrong)


def test_the_changed_colour_input_wins() -> None:
    # Nothing touched: the text field's value (the colour kept, or none).
    assert brand.choose_colour("", "", SITE_ACCENT, SITE_ACCENT) is None
    assert brand.choose_colour("#7a1f5c", "#7a1f5c", "#7a1f5c", "#7a1f5c") == "#7a1f5c"
    # The picker moved, the text stayed: the picker's.
    assert brand.choose_colour("", "", "#2b4a1c", SITE_ACCENT) == "#2b4a1c"
    # The text changed: the text's, whatever the picker says.
    assert brand.choose_colour("#123456", "", "#2b4a1c", SITE_ACCENT) == "#123456"
    assert brand.choose_colour("", "#7a1f5c", "#7a1f5c", "#7a1f5c") is None


def test_a_logo_is_known_by_its_first_bytes() -> None:
    assert brand.check_logo(png()).content_type == "image/png"
    assert brand.check_logo(b"\xff\xd8\xff\xe0rest").content_type == "image/jpeg"
    assert brand.check_logo(b"RIFF\x10\x00\x00\x00WEBPVP8 ").content_type == "image/webp"
    for wrong in (b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a", b"hello"):
        with pytest.raises(DomainError, match="logo_type"):
            brand.check_logo(wrong)
    with pytest.raises(DomainError, match="logo_too_big"):
        brand.check_logo(png() + b"\x00" * brand.MAX_LOGO_BYTES)


# --- the settings form ---------------------------------------------------------------------


async def test_an_administrator_sets_a_colour_and_a_logo(
    scenario_client: Client, world: Scenario, database_url: str
) -> None:
    act_as(scenario_client, world, "admin")
    settings = (await scenario_client.get("/s/alpha/settings")).text
    assert 'enctype="multipart/form-data"' in settings
    assert 'type="color"' in settings and 'id="f-accent_colour"' in settings
    assert 'accept="image/png,image/jpeg,image/webp"' in settings
    image = png()
    sent = await send_appearance(
        scenario_client, colour="#7A1F5C", logo=("logo.png", image, "image/png")
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == "/s/alpha/settings?saved=appearance#appearance-title"
    saved = (await scenario_client.get(sent.headers["location"])).text
    assert "Vos modifications sont enregistrées." in saved
    assert 'name="accent_colour" type="text" value="#7a1f5c"' in saved

    home = (await scenario_client.get("/s/alpha")).text
    link = re.search(r'<link rel="stylesheet" href="(/s/alpha/theme\.css\?v=([0-9a-f]+))">', home)
    assert link, "the space's page links its stylesheet"
    assert home.index("consentir.css") < home.index("/s/alpha/theme.css"), "after the site's"
    logo = re.search(r'<img class="space-logo" src="(/s/alpha/logo\?v=[0-9a-f]{16})" '
                     r'alt="" height="48">\s*<h1>Alpha</h1>', home)  # fmt: skip
    assert logo, "the logo stands beside the space's name"
    for other in ("/s/alpha/members", "/s/alpha/proposals", "/s/alpha/charter"):
        assert link.group(1) in (await scenario_client.get(other)).text, other

    css = await scenario_client.get(link.group(1))
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert ":root { --accent: #7a1f5c; --accent-ink: #ffffff; }" in css.text
    assert css.headers["cache-control"] == "private, max-age=31536000, immutable"
    again = await scenario_client.get(link.group(1), headers={"if-none-match": css.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    unversioned = await scenario_client.get("/s/alpha/theme.css")
    assert unversioned.headers["cache-control"] == "private, no-cache"

    served = await scenario_client.get(logo.group(1))
    assert served.status_code == 200
    assert served.content == image
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    # Its own policy, which lets it run nothing (the site's, also sent, is only stricter).
    assert "default-src 'none'" in served.headers.get_list("content-security-policy")
    assert served.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert served.headers["etag"] == f'"{Logo(image, "image/png").digest}"'
    etag = served.headers["etag"]
    cached = await scenario_client.get(logo.group(1), headers={"if-none-match": etag})
    assert cached.status_code == 304 and cached.content == b""

    recorded = await journal(database_url, "space.brand_updated")
    assert recorded == [
        {
            "accent_colour": "#7a1f5c",
            "logo": {
                "content_type": "image/png",
                "bytes": len(image),
                "digest": Logo(image, "").digest,
            },
        }
    ]


async def test_the_picker_alone_sets_the_colour_and_an_empty_text_removes_it(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "admin")
    picked = await send_appearance(scenario_client, picker="#2b4a1c")
    assert picked.status_code == 303, picked.text
    css = await scenario_client.get("/s/alpha/theme.css")
    assert "--accent: #2b4a1c;" in css.text
    assert "/s/alpha/theme.css?v=" in (await scenario_client.get("/s/alpha")).text
    # Saved again untouched: the colour stays.
    assert (await send_appearance(scenario_client)).status_code == 303
    assert "--accent: #2b4a1c;" in (await scenario_client.get("/s/alpha/theme.css")).text
    cleared = await send_appearance(scenario_client, colour="")
    assert cleared.status_code == 303
    home = (await scenario_client.get("/s/alpha")).text
    assert "theme.css" not in home, "nothing of its own: the site's look"
    assert "--accent" not in (await scenario_client.get("/s/alpha/theme.css")).text


async def test_too_light_a_colour_is_refused_next_to_its_field(
    scenario_client: Client, world: Scenario, database_url: str, pool: Any
) -> None:
    act_as(scenario_client, world, "admin")
    refused = await send_appearance(scenario_client, colour="#ffcc00")
    assert refused.status_code == 422
    message = field_error(refused.text, "accent_colour")
    assert message is not None
    assert "trop claire" in message and "4,5 pour 1" in message and "1,33 pour 1" in message
    assert 'aria-invalid="true"' in refused.text
    assert 'name="accent_colour" type="text" value="#ffcc00"' in refused.text, "kept to fix"
    async with pool.acquire() as conn:  # an administrator who reads English
        await conn.execute("UPDATE users SET locale = 'en' WHERE id = $1", world.user_ids["admin"])
    english = await send_appearance(scenario_client, colour="#ffcc00")
    assert english.status_code == 422
    assert html.unescape(field_error(english.text, "accent_colour") or "") == (
        "This colour is too light: links and buttons in it would not be readable. The rule is "
        "a contrast of at least 4.5 to 1 (WCAG AA) with white and with the site's pale "
        "backgrounds; this one has 1.33 to 1. Choose a darker colour."
    )
    malformed = await send_appearance(scenario_client, colour="rouge")
    assert malformed.status_code == 422
    assert "six hexadecimal digits" in (field_error(malformed.text, "accent_colour") or "")
    assert "theme.css" not in (await scenario_client.get("/s/alpha")).text
    assert await journal(database_url, "space.brand_updated") == []


@pytest.mark.parametrize(
    ("name", "content", "kind", "expected"),
    [
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
         "image/svg+xml", "SVG"),
        ("logo.png", b"Just some text, named like an image.", "image/png", "PNG, JPEG ou WebP"),
        ("logo.gif", b"GIF89a\x01\x00\x01\x00", "image/gif", "PNG, JPEG ou WebP"),
        ("huge.png", png() + b"\x00" * (200 * 1024), "image/png", "au plus 200\u00a0Ko"),
    ],
    ids=["svg", "text-named-png", "gif", "too-big"],
)  # fmt: skip
async def test_a_logo_other_than_a_small_png_jpeg_or_webp_is_refused(
    scenario_client: Client,
    world: Scenario,
    database_url: str,
    name: str,
    content: bytes,
    kind: str,
    expected: str,
) -> None:
    act_as(scenario_client, world, "admin")
    refused = await send_appearance(scenario_client, logo=(name, content, kind))
    assert refused.status_code == 422
    message = field_error(refused.text, "logo")
    assert message is not None and expected in message, message
    assert '<a href="#f-logo">Logo</a>' in refused.text, "the summary leads to the field"
    assert (await scenario_client.get("/s/alpha/logo")).status_code == 404
    assert "space-logo" not in (await scenario_client.get("/s/alpha")).text
    assert await journal(database_url, "space.brand_updated") == []


async def test_the_logo_is_replaced_then_removed(scenario_client: Client, world: Scenario) -> None:
    act_as(scenario_client, world, "admin")
    first, second = png(rgb=(10, 20, 30)), png(rgb=(30, 20, 10))
    await send_appearance(scenario_client, logo=("a.png", first, "image/png"))
    before = re.search(
        r'src="(/s/alpha/logo\?v=\w+)"', (await scenario_client.get("/s/alpha")).text
    )
    await send_appearance(scenario_client, logo=("b.png", second, "image/png"))
    after = re.search(r'src="(/s/alpha/logo\?v=\w+)"', (await scenario_client.get("/s/alpha")).text)
    assert before and after and before.group(1) != after.group(1), "a new logo, a new address"
    assert (await scenario_client.get(after.group(1))).content == second
    both = await send_appearance(scenario_client, logo=("c.png", first, "image/png"), remove=True)
    assert both.status_code == 422 and field_error(both.text, "logo")
    removed = await send_appearance(scenario_client, remove=True)
    assert removed.status_code == 303
    assert (await scenario_client.get("/s/alpha/logo")).status_code == 404
    assert "space-logo" not in (await scenario_client.get("/s/alpha")).text


async def test_a_stale_form_changes_nothing(scenario_client: Client, world: Scenario) -> None:
    act_as(scenario_client, world, "admin")
    version = await settings_version(scenario_client)
    assert (await send_appearance(scenario_client, colour="#2b4a1c")).status_code == 303
    stale = await send_appearance(scenario_client, colour="#7a1f5c", version=version)
    assert stale.status_code == 409
    assert "en même temps" in stale.text
    assert "--accent: #2b4a1c;" in (await scenario_client.get("/s/alpha/theme.css")).text


@pytest.mark.parametrize("role", ["member", "facilitator", "unsigned"])
async def test_only_who_may_edit_the_space_changes_its_look(
    scenario_client: Client, world: Scenario, database_url: str, role: str
) -> None:
    act_as(scenario_client, world, "admin")
    version = await settings_version(scenario_client)
    act_as(scenario_client, world, role)
    refused = await scenario_client.post(
        "/s/alpha/settings/appearance",
        data={"_csrf_token": await csrf_token(scenario_client), "version": version,
              "accent_colour": "#7a1f5c", "accent_colour_was": "",
              "accent_picker": SITE_ACCENT, "accent_picker_was": SITE_ACCENT},
        files={"logo": ("logo.png", png(), "image/png")},
    )  # fmt: skip
    assert refused.status_code == 403
    assert (await scenario_client.get("/s/alpha/logo")).status_code == 404
    assert "--accent" not in (await scenario_client.get("/s/alpha/theme.css")).text
    assert await journal(database_url, "space.brand_updated") == []


# --- serving -------------------------------------------------------------------------------


async def test_nothing_set_nothing_served(scenario_client: Client, world: Scenario) -> None:
    act_as(scenario_client, world, "member")
    home = (await scenario_client.get("/s/alpha")).text
    assert "theme.css" not in home and "space-logo" not in home
    css = await scenario_client.get("/s/alpha/theme.css")
    assert css.status_code == 200 and "--accent" not in css.text
    assert (await scenario_client.get("/s/alpha/logo")).status_code == 404


async def test_another_private_space_s_look_is_not_found(
    scenario_client: Client, world: Scenario, pool: Any
) -> None:
    async with db.transaction(pool) as conn:
        view = await spaces.space_view(conn, "beta", None, instance_admin=False)
        assert view is not None
        await spaces.update_brand(
            conn, view.space, Brand("#2b4a1c", brand.check_logo(png())),
            expected_version=view.space.version, actor_id=world.user_ids["admin"],
        )  # fmt: skip
    act_as(scenario_client, world, "admin")  # of alpha, not of beta
    for path in ("/s/beta/theme.css", "/s/beta/logo", "/s/beta/logo?v=0123456789abcdef",
                 "/s/nowhere/theme.css", "/s/nowhere/logo"):  # fmt: skip
        assert (await scenario_client.get(path)).status_code == 404, path
    act_as(scenario_client, world, "anonymous")
    asked = await scenario_client.get("/s/beta/logo", follow_redirects=False)
    assert asked.status_code in (302, 303) and asked.headers["location"].startswith("/signin")
    act_as(scenario_client, world, "instance_admin")  # may see every space
    assert (await scenario_client.get("/s/beta/logo")).headers["content-type"] == "image/png"


async def test_the_space_s_pages_need_no_more_statements_for_its_look(
    scenario_client: Client, world: Scenario, query_log: list[str]
) -> None:
    act_as(scenario_client, world, "admin")

    async def count(path: str) -> int:
        query_log.clear()
        assert (await scenario_client.get(path)).status_code == 200
        return len(query_log)

    pages = ("/s/alpha", "/s/alpha/members", "/s/alpha/proposals", "/s/alpha/settings")
    before = {path: await count(path) for path in pages}
    await send_appearance(scenario_client, colour="#7a1f5c", logo=("l.png", png(), "image/png"))
    assert "space-logo" in (await scenario_client.get("/s/alpha")).text
    after = {path: await count(path) for path in pages}
    assert after == before


# --- in the browser ------------------------------------------------------------------------


@pytest.mark.browser
async def test_the_look_set_in_a_browser_shows_on_the_space_s_pages(
    chromium: Browser, scenario_server: str, world: Scenario, tmp_path: Path
) -> None:
    """Through the page as a person uses it: the colour typed, the file chosen, saved; the
    space's pages then take the colour (the site's stylesheet allows no inline style) and
    show the logo; axe-core finds nothing at 1280 and 390 px, nor does anything overflow."""
    base = scenario_server
    page = await signed_in(chromium, base, world.email("admin"))
    shots = Path(os.environ["SHOTS_DIR"]) if os.environ.get("SHOTS_DIR") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    await page.goto(f"{base}/s/alpha/settings")
    await page.get_by_label("Couleur d'accent").fill("#ffcc00")
    await page.get_by_role("button", name="Enregistrer l'apparence").click()
    await expect(page.locator("#f-accent_colour-error")).to_contain_text("trop claire")
    await shoot(page, shots, "space-appearance-refused")
    await page.get_by_label("Couleur d'accent").fill("#7a1f5c")
    await page.get_by_label("Logo", exact=True).set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": png(120, 40)}]
    )
    await page.get_by_role("button", name="Enregistrer l'apparence").click()
    await expect(page.get_by_role("status")).to_contain_text("Vos modifications sont enregistrées")
    await shoot(page, shots, "space-appearance-saved")
    await page.goto(f"{base}/s/alpha")
    logo = page.locator(".space-title img.space-logo")  # beside the name it repeats: alt=""
    await expect(logo).to_be_visible()
    assert await logo.evaluate("img => img.naturalWidth") == 120, "the image loaded"
    assert (await logo.bounding_box() or {}).get("height") == 48
    link_colour = await page.locator(".tabs a:not([aria-current])").first.evaluate(
        "a => getComputedStyle(a).color"
    )
    assert link_colour == "rgb(122, 31, 92)", "the space's colour replaces the site's"
    await shoot(page, shots, "space-with-its-look")


async def test_a_broken_form_or_a_body_far_larger_than_a_logo_is_refused(
    scenario_client: Client, world: Scenario, database_url: str
) -> None:
    """A form without its version (not sent by the page) is a broken form (422), not a
    "changed meanwhile" (409); a body far beyond a logo's size is refused before it is read
    into memory (413)."""
    act_as(scenario_client, world, "admin")
    broken = await send_appearance(scenario_client, colour="#7a1f5c", version="not-a-number")
    assert broken.status_code == 422
    huge = await send_appearance(
        scenario_client, logo=("huge.png", png() + b"\x00" * (600 * 1024), "image/png")
    )
    assert huge.status_code == 413
    assert await journal(database_url, "space.brand_updated") == []
