"""Translations and locale formatting.

Message ids are English; `locales/<lang>/LC_MESSAGES/messages.po` holds the French and
English texts (`make i18n` extracts new strings into both). The catalogues are compiled in
memory at start, so there is no build step and no compiled file to keep in git.
The locale of the request being served lives in a context variable set by the middleware.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from consentir.resources import resource_dir

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
LOCALE_COOKIE = "lang"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> Translations:
    path = resource_dir("locales") / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(current_locale.get()).pgettext(context, message))


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The locale a request gets: its `lang` cookie, else Accept-Language, else French."""
    if cookie in LOCALES:
        return cookie
    if accept_language:
        offers = []
        for position, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            offers.append((-quality, position, tag.strip().lower()[:2]))
        for negative_quality, _position, language in sorted(offers):
            if language in LOCALES and negative_quality < 0:  # q=0 means "not this one"
                return language
    return DEFAULT_LOCALE


# Times are stored in UTC and shown in the instance's time zone (TIME_ZONE).
display_zone: ZoneInfo = ZoneInfo("Europe/Paris")


def set_time_zone(name: str) -> None:
    global display_zone
    display_zone = ZoneInfo(name)


def aware(moment: datetime) -> datetime:
    """A time typed in a form (datetime-local, no zone) is in the instance's time zone; read
    when called, since create_app sets the zone after this module is imported."""
    return moment.replace(tzinfo=display_zone) if moment.tzinfo is None else moment


@cache
def _babel_locale(name: str) -> Locale:
    return Locale.parse(name)


def _locale() -> Locale:
    """The current request's Babel locale (parsed once per language, not per date)."""
    return _babel_locale(current_locale.get())


def format_when(value: datetime, form: str = "medium") -> str:
    return _format_when(value, form, current_locale.get(), display_zone)


# Babel takes 50–80 µs per date; pages show the same dates again and again (a version's,
# a round's, a register's), so each formatted date is kept.
@lru_cache(maxsize=8192)
def _format_when(value: datetime, form: str, locale: str, zone: ZoneInfo) -> str:
    try:
        return _without_seconds(value.astimezone(zone), form, _babel_locale(locale))
    except OverflowError:  # past year 9999 in the display zone (stored before any check)
        return _without_seconds(value.astimezone(UTC), form, _babel_locale(locale))


_Width = Literal["full", "long", "medium", "short"]


def _without_seconds(moment: datetime, form: str, locale: Locale) -> str:
    """The date in `form`, the time to the minute ("6 déc. 2026, 18:00"): nobody plans a
    meeting or reads a deadline to the second. Joined as the locale joins them."""
    day = format_date(moment, format=form, locale=locale)
    time = format_time(moment, format="short", tzinfo=moment.tzinfo, locale=locale)
    joined = str(get_datetime_format(cast(_Width, form), locale=locale))  # "{1}, {0}"
    return joined.replace("{1}", day).replace("{0}", time)


def format_day(value: date, form: str = "long") -> str:
    return _format_day(value, form, current_locale.get())


@lru_cache(maxsize=8192)
def _format_day(value: date, form: str, locale: str) -> str:
    text = format_date(value, format=form, locale=_babel_locale(locale))
    if locale == "fr" and value.day == 1 and form in ("long", "full") and "1 " in text:
        text = text.replace("1 ", "1er ", 1)  # French writes the first of the month "1er"
    return text


def format_number(value: float) -> str:
    return format_decimal(value, locale=_locale())


def domain_message(error: Any) -> str:
    """A DomainError's message in the current language, its parameters put in (days written
    out in full: "31 mars 2027")."""
    message = gettext(error.message)
    if not error.params:
        return message
    params = {
        key: format_day(value) if isinstance(value, date) and not isinstance(value, datetime)
        else value
        for key, value in error.params.items()
    }  # fmt: skip
    return message % params
