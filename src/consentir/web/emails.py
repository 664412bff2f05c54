"""Emails: plain-text templates in templates/emails/, written in the recipient's language.

A template's first line is the subject; the rest is the body.
"""

from __future__ import annotations

from typing import Any, Protocol

from litestar import Request

from consentir.web.i18n import current_locale


class _Templates(Protocol):
    def get_template(self, name: str) -> Any: ...


def compose(
    request: Request[Any, Any, Any], template: str, locale: str, **context: Any
) -> tuple[str, str]:
    engine = request.app.template_engine
    assert engine is not None
    return compose_with(engine, template, locale, **context)


def compose_with(engine: _Templates, template: str, locale: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of `template` in `locale`, from any template engine or environment
    (the background tasks have no request)."""
    token = current_locale.set(locale)
    try:
        text = engine.get_template(f"emails/{template}.txt").render(**context)
    finally:
        current_locale.reset(token)
    subject, _, body = text.strip().partition("\n")
    # One line whatever the names in it hold (a CR stored before the boundary refused it).
    return " ".join(subject.split()), body.strip() + "\n"
