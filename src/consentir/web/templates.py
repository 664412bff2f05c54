"""Jinja2: autoescaped templates from templates/, gettext, locale formatting, static URLs."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_eval_context,
    select_autoescape,
)
from jinja2.nodes import EvalContext
from litestar import MediaType, Request, Response
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from consentir.logs import request_id
from consentir.resources import resource_dir
from consentir.web import i18n
from consentir.web.fragments import FragmentCache, shared

STATIC_PREFIX = "/static"


@cache
def static_url(path: str) -> str:
    """/static/<path>?v=<content hash>: browsers may cache it for good, and a new file gets
    a new address."""
    try:
        digest = hashlib.sha256((resource_dir("static") / path).read_bytes()).hexdigest()[:12]
    except FileNotFoundError:
        return f"{STATIC_PREFIX}/{path}"
    return f"{STATIC_PREFIX}/{path}?v={digest}"


def environment(*, auto_reload: bool = False) -> Environment:
    env = Environment(
        loader=FileSystemLoader(resource_dir("templates")),
        # HTML is escaped; the plain-text email templates (.txt) are not.
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        auto_reload=auto_reload,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    # `_` and `gettext` as one direct call each: jinja's newstyle `_` goes through three
    # context calls per message, a quarter of a long page's rendering time.
    env.globals.update(_=_translate, gettext=_translate)
    env.globals.update(
        static=static_url,
        current_locale=i18n.current_locale.get,
        request_id=request_id.get,
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        # Shared fragments of pages, rendered once per key (web/fragments.py); one cache
        # per environment, i.e. per app and worker.
        shared=shared,
        fragment_cache=FragmentCache(),
    )
    env.filters.update(
        when=i18n.format_when,
        day=i18n.format_day,
        number=i18n.format_number,
        label=label,
        isodate=isodate,
    )
    return env


@pass_eval_context
def _translate(eval_ctx: EvalContext, message: str, **variables: Any) -> str:
    """What jinja's newstyle gettext does: the translation is trusted markup in HTML
    templates, the variables are escaped into it; always a format string ("%%" is "%")."""
    translated = i18n.gettext(message)
    if eval_ctx.autoescape:
        return Markup(translated) % variables  # noqa: S704 (our own catalogues)
    return translated % variables


def label(key: str, table: Mapping[str, str]) -> str:
    """`{{ p.stance | label(stance_names) }}`: the translated name of a state from one of
    the label tables (consent/labels.py); a filter is a direct call, cheap inside loops."""
    return i18n.gettext(table[key])


def isodate(value: date) -> str:
    """A date (or a datetime's date) as YYYY-MM-DD, for `<time datetime=…>`."""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def template_config(*, auto_reload: bool = False) -> TemplateConfig[JinjaTemplateEngine]:
    engine = JinjaTemplateEngine.from_environment(environment(auto_reload=auto_reload))
    return TemplateConfig(instance=engine)


def render_now(
    request: Request[Any, Any, State], name: str, context: dict[str, Any], *, status: int = 200
) -> Response[str]:
    """Render at once (not when the response is sent), so a failure can still be caught."""
    engine = request.app.template_engine
    assert engine is not None
    csrf = value_or_default(ScopeState.from_scope(request.scope).csrf_token, "")
    page = engine.get_template(name).render(
        **context,
        request=request,
        csrf_input=f'<input type="hidden" name="_csrf_token" value="{html.escape(csrf)}">',
    )
    return Response(page, status_code=status, media_type=MediaType.HTML)
