"""Every user-facing string is in both catalogues, translated, with matching placeholders."""

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from consentir.resources import resource_dir
from consentir.web import i18n

ROOT = Path(__file__).resolve().parents[1]
METHODS = [("**.py", "python"), ("**.html", "jinja2"), ("**.txt", "jinja2")]
OPTIONS = {
    "**.html": {"extensions": "jinja2.ext.i18n"},
    "**.txt": {"extensions": "jinja2.ext.i18n"},
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}


def extracted() -> set[str]:
    found: set[str] = set()
    for folder in ("src", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, METHODS, OPTIONS, KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def singular(message_id: str | tuple[str, ...]) -> str:
    return message_id[0] if isinstance(message_id, tuple) else message_id


def catalogue(locale: str) -> Catalog:
    path = resource_dir("locales") / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_catalogue_is_complete(locale: str) -> None:
    messages = extracted()
    assert len(messages) > 30  # the extraction itself works
    translated = {
        singular(m.id)
        for m in catalogue(locale)
        if m.id
        and m.string
        and all(m.string if isinstance(m.string, tuple) else [m.string])
        and not m.fuzzy
    }
    missing = sorted(messages - translated)
    assert not missing, f"run `make i18n` and translate in {locale}: {missing}"


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_placeholders_match(locale: str) -> None:
    problems = [(m.id, errors) for m, errors in catalogue(locale).check() if errors]
    assert not problems


def test_french_is_really_french() -> None:
    french = {m.id: m.string for m in catalogue("fr") if isinstance(m.id, str) and m.id}
    same = [key for key, value in french.items() if key == value and len(key) > 12]
    assert not same, f"French messages left in English: {same}"


def test_switching_locale_switches_text() -> None:
    token = i18n.current_locale.set("en")
    try:
        assert i18n.gettext("Skip to main content") == "Skip to main content"
        i18n.current_locale.set("fr")
        assert i18n.gettext("Skip to main content") == "Aller au contenu principal"
    finally:
        i18n.current_locale.reset(token)


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "fr"),
        (None, "en-US,en;q=0.8", "en"),
        (None, "de-DE,de;q=0.9,en;q=0.5", "en"),
        (None, "de, it", "fr"),
        (None, "en;q=0.2, fr;q=0.9", "fr"),
        (None, "en;q=nonsense, fr", "fr"),
        (None, "en;q=0, de", "fr"),
        ("en", "fr", "en"),
        ("xx", "en", "en"),
    ],
)
def test_negotiation(cookie: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie, header) == expected


def test_template_translation_escapes_variables_in_html_only() -> None:
    """`_()` in templates: the translation is trusted, its variables are escaped in HTML
    templates and left alone in plain-text ones; "%%" is always a literal "%"."""
    from consentir.web.templates import environment

    env = environment()
    source = '{{ _("%(name)s: %(text)s", name=who, text="5%%") }}|{{ _("Answer:") }}'
    html = env.from_string(source).render(who="<b>Zoé</b>")
    assert html == "&lt;b&gt;Zoé&lt;/b&gt; : 5%%|Réponse :"
    env.autoescape = False
    plain = env.from_string(source).render(who="<b>Zoé</b>")
    assert plain == "<b>Zoé</b> : 5%%|Réponse :"
    token = i18n.current_locale.set("en")
    try:
        assert env.from_string('{{ _("100%% sure") }}').render() == "100% sure"
        assert env.from_string("{{ 'consent'|label(t) }}").render(t={"consent": "consent"}) == (
            "consent"
        )
    finally:
        i18n.current_locale.reset(token)


def test_dates_are_formatted_per_locale_and_cached() -> None:
    from datetime import UTC, date, datetime

    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    token = i18n.current_locale.set("fr")
    try:
        assert i18n.format_day(date(2026, 3, 1)) == "1er mars 2026"
        french = i18n.format_when(when)
    finally:
        i18n.current_locale.reset(token)
    token = i18n.current_locale.set("en")
    try:
        assert i18n.format_day(date(2026, 3, 1)) == "March 1, 2026"
        assert i18n.format_when(when) != french
    finally:
        i18n.current_locale.reset(token)
