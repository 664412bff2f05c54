"""Render once, serve many: the HTML of a page's shared parts, kept per worker.

A shared fragment is a template rendered with a context of its own that holds nothing of
the viewer's (no CSRF token, no name, no form): `Fragment` names the template, that context
and the key its output depends on. The key is what the page's data says, read in the same
request: the proposal's revision, the language, the viewer's visibility class, and a digest
of the data the fragment is rendered from (so a person's new name, or a deadline that has
just passed, which change no revision, change the key too). Two workers never serve stale
HTML: each one keys on what it has just read from the database.

`None` as a fragment's key: not cacheable for this viewer (a form of theirs inside): it is
rendered with the page's full context, as an include would; so is every fragment when the
cache is off (`FragmentCache.enabled`), the reference the tests compare cached pages with.

A fragment can also be a response of its own (the proposal page's live round, re-fetched by
every open page when the proposal changes): `render` gives its HTML from the same cache, and
`entity_tag` a weak ETag made of what its key is made of (the template, the language, the
key) and of the deployed templates and catalogues, so that a re-fetch whose If-None-Match
still matches (`etag_matches`) is answered 304 without any rendering. Weak (`W/"…"`): it
promises the same content, not the same bytes (a compressing proxy may change those).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

import msgspec
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from consentir.resources import resource_dir
from consentir.web import i18n

# Per worker: enough for a few hundred proposal pages in each language and class.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Fragment:
    """A shared part of a page: its template, its own context, and its key (None: render it
    with the page's context, not cached)."""

    template: str
    key: Hashable | None
    context: dict[str, Any]


def digest(*data: Any) -> str:
    """A short digest of the data a fragment is rendered from (any msgspec-encodable value)."""
    return hashlib.blake2b(msgspec.json.encode(data), digest_size=16).hexdigest()


class FragmentCache:
    """An LRU of rendered HTML, bounded by the bytes it holds; one per app (per worker)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.enabled = max_bytes > 0
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> str | None:
        html = self._entries.get(key)
        if html is not None:
            self._entries.move_to_end(key)
        return html

    def put(self, key: Hashable, html: str) -> None:
        cost = len(html)
        if cost > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._entries[key] = html
        self.size += cost
        while self.size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size -= len(dropped)

    def clear(self) -> None:
        self._entries.clear()
        self.size = 0


def _cached(env: Environment, fragment: Fragment, everything: dict[str, Any]) -> str:
    """The fragment's HTML: from the cache, or rendered with its own context and kept; not
    cacheable (no key) or no cache: rendered with `everything` (the page's whole context),
    as an include would (what the tests compare the cached page with)."""
    template = env.get_template(fragment.template)
    cache: FragmentCache = env.globals["fragment_cache"]  # type: ignore[assignment]
    if fragment.key is None or not cache.enabled:
        return template.render(everything)
    key = (fragment.template, i18n.current_locale.get(), fragment.key)
    html = cache.get(key)
    if html is None:
        cache.misses += 1
        html = template.render(fragment.context)
        cache.put(key, html)
    else:
        cache.hits += 1
    return html


@pass_context
def shared(context: Context, fragment: Fragment) -> Markup:
    """`{{ shared(fragments.x) }}`: the fragment's HTML, from the cache or rendered now."""
    html = _cached(context.environment, fragment, context.get_all())
    return Markup(html)  # noqa: S704 (rendered by an autoescaped template)


def render(env: Environment, fragment: Fragment) -> str:
    """A fragment served as a response of its own: its HTML, from the cache or rendered now
    (not cacheable, or no cache: rendered with its own context, which then must hold all
    its template needs, the shared parts it includes too)."""
    return _cached(env, fragment, fragment.context)


@cache
def deployed() -> str:
    """A digest of what a fragment's HTML is made from besides its key: the templates, the
    message catalogues and the app's version, read once per process. Two workers running
    the same code agree on it; a deployment that changes any of them changes every ETag."""
    h = hashlib.blake2b(digest_size=16)
    with contextlib.suppress(metadata.PackageNotFoundError):  # installed, even editable
        h.update(metadata.version("consentir").encode())
    for folder in ("templates", "locales"):
        root = resource_dir(folder)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def entity_tag(fragment: Fragment) -> str | None:
    """A weak ETag for a response that is this fragment: its template, the language and
    its key (which already holds the revision, the visibility class and the data's digest),
    and the deployed templates (`deployed`). None: not cacheable, no ETag."""
    if fragment.key is None:
        return None
    return f'W/"{digest(fragment.template, i18n.current_locale.get(), fragment.key, deployed())}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header matches this ETag, by the weak comparison that
    RFC 9110 (13.1.2) prescribes for it (`W/` ignored on both sides; `*`: any)."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False
