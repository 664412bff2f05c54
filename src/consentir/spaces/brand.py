"""A space's own look: an optional accent colour and an optional logo. Pure: what is
accepted, and the stylesheet that applies it; the store keeps them, spaces/brand_routes.py
serves them.

The colour is the site's `--accent`: links, primary buttons (white text on it), the current
step. So it must read on white, and white must read on it: a contrast of at least 4.5:1
(WCAG 2.2 AA, 1.4.3) with white, which is one and the same test. Links also stand on the
site's pale panels (`--surface`) and on the colour's own tint (`--accent-soft`, which
static/consentir.css mixes from it): the same 4.5:1 holds there too.

The logo is stored and served as it came, so only raster formats a browser shows without
running anything are taken (PNG, JPEG, WebP: never SVG, which can carry scripts), recognised
by their first bytes whatever name or type the browser gave the file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal

from consentir.errors import N_, DomainError

MIN_CONTRAST = 4.5  # WCAG AA for ordinary text
# As static/consentir.css has them: the site's own accent (what the colour picker shows when
# a space has none), its pale panels, and how much of the accent its tint takes.
SITE_ACCENT = "#1b5e4a"
SURFACE = "#f3f1ea"
SOFT_SHARE = 0.11  # --accent-soft: color-mix(in srgb, var(--accent) 11%, #fff)
MAX_LOGO_BYTES = 200 * 1024
LOGO_TYPES = ("image/png", "image/jpeg", "image/webp")

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")

COLOUR_FORM = N_("Enter a colour as # followed by six hexadecimal digits, e.g. #1f5f8b.")
TOO_LIGHT = N_(
    "This colour is too light: links and buttons in it would not be readable. The rule is "
    "a contrast of at least 4.5 to 1 (WCAG AA) with white and with the site's pale "
    "backgrounds; this one has %(ratio)s to 1. Choose a darker colour."
)
LOGO_TYPE = N_("The logo must be a PNG, JPEG or WebP image (SVG is not accepted).")
LOGO_TOO_BIG = N_("The logo must be at most 200 KB; this file has %(size)s KB.")
LOGO_TWICE = N_("Choose a new logo or remove the current one, not both.")


def parse_colour(text: str) -> str | None:
    """`#rrggbb` in lowercase from what a person typed ("#1F5F8B", "1f5f8b"); None when
    empty; a refusal naming the expected form otherwise."""
    text = text.strip()
    if not text:
        return None
    match = _HEX.fullmatch(text)
    if match is None:
        raise DomainError("colour_form", COLOUR_FORM, field="accent_colour")
    return "#" + match.group(1).lower()


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of `#rrggbb`: 0 for black, 1 for white."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two `#rrggbb` colours, from 1 to 21."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)))
    return (b + 0.05) / (a + 0.05)


def contrast_with_white(colour: str) -> float:
    return contrast(colour, "#ffffff")


def tint(colour: str, share: float = SOFT_SHARE) -> str:
    """`color-mix(in srgb, colour share, #fff)`, as the browser computes it."""
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * share + 255 * (1 - share)):02x}" for c in channels)


def lowest_contrast(colour: str) -> float:
    """The colour's contrast with the lightest and the darkest of the backgrounds it stands
    on as text, or under white text: the lowest of them."""
    return min(contrast(colour, back) for back in ("#ffffff", SURFACE, tint(colour)))


def check_colour(colour: str | None) -> None:
    """A colour too light to carry text on the site's backgrounds (or white text on it) is
    refused."""
    if colour is None:
        return
    ratio = lowest_contrast(colour)
    if ratio < MIN_CONTRAST:
        # Rounded down, so that a ratio just under the rule never reads as 4.5.
        shown = Decimal(int(ratio * 100)) / 100
        raise DomainError(
            "colour_too_light", TOO_LIGHT, field="accent_colour", params={"ratio": shown}
        )


def sniff_image(data: bytes) -> str | None:
    """The image type its first bytes say (PNG, JPEG, WebP), or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Logo:
    """An accepted logo: its bytes and its type (from its magic bytes)."""

    data: bytes = field(repr=False)
    content_type: str

    @property
    def digest(self) -> str:
        """SHA-256 of its bytes, hex: the version of its address and its ETag."""
        return hashlib.sha256(self.data).hexdigest()


def check_logo(data: bytes) -> Logo:
    """The uploaded file as a logo, or the refusal (too big, not one of the types)."""
    if len(data) > MAX_LOGO_BYTES:
        size = (len(data) + 1023) // 1024
        raise DomainError("logo_too_big", LOGO_TOO_BIG, field="logo", params={"size": size})
    content_type = sniff_image(data)
    if content_type is None:
        raise DomainError("logo_type", LOGO_TYPE, field="logo")
    return Logo(data, content_type)


def choose_colour(text: str, text_was: str, picker: str, picker_was: str) -> str | None:
    """The colour a person chose with the two inputs the form shows for it: the text field
    (the value itself, empty for none) and the colour picker (which always sends a colour).
    The one they changed wins, the text field if both; neither changed: the text field."""
    if text.strip().lower() == text_was.strip().lower() and picker.strip():
        picked = parse_colour(picker)
        if picked is not None and picked != (parse_colour(picker_was) if picker_was else None):
            return picked
    return parse_colour(text)


# --- the stylesheet ------------------------------------------------------------------------

THEME_REVISION = "2"  # change it when the stylesheet below changes: its address changes too


def theme_css(colour: str | None) -> str:
    """The space's stylesheet: the accent colour as the site's tokens (white text on it is
    readable, as check_colour made sure). How a logo shows is the site's (consentir.css)."""
    lines = ["/* Consentir: this space's own look. */\n"]
    if colour is not None:
        lines.append(f":root {{ --accent: {colour}; --accent-ink: #ffffff; }}\n")
    return "".join(lines)


def logo_version(digest: str) -> str:
    """The version in a logo's address (`/s/<slug>/logo?v=`), from its bytes' digest."""
    return digest[:16]


def theme_version(colour: str | None) -> str:
    """Names one state of the stylesheet, for its address (`?v=`) and its ETag."""
    return hashlib.sha256(f"{THEME_REVISION}|{colour or ''}".encode()).hexdigest()[:16]
