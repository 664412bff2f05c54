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
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import msgspec
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

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


@pass_context
def shared(context: Context, fragment: Fragment) -> Markup:
    """`{{ shared(fragments.x) }}`: the fragment's HTML, from the cache or rendered now."""
    env = context.environment
    template = env.get_template(fragment.template)
    cache: FragmentCache = env.globals["fragment_cache"]  # type: ignore[assignment]
    if fragment.key is None or not cache.enabled:
        # The viewer's own forms inside, or no cache: rendered as an include would, with
        # the page's whole context (what the tests compare the cached page with).
        return Markup(template.render(context.get_all()))  # noqa: S704 (autoescaped template)
    key = (fragment.template, i18n.current_locale.get(), fragment.key)
    html = cache.get(key)
    if html is None:
        cache.misses += 1
        html = template.render(fragment.context)
        cache.put(key, html)
    else:
        cache.hits += 1
    return Markup(html)  # noqa: S704 (rendered by an autoescaped template)
