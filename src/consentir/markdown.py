"""Markdown → safe HTML: CommonMark without raw HTML, then sanitised with an allow-list."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_PARSER.enable(["table", "strikethrough"])

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


@lru_cache(maxsize=1024)  # pure; versions and charters never change, and are viewed often
def render(text: str, *, top_heading: int = 3) -> Markup:
    """HTML safe to put in a page: no script, no style, no event handler, no raw HTML;
    links only to http(s) and mailto, opened without handing over the page. Headings are
    moved down so that the text's `#` is an h`top_heading`: a page keeps its own outline."""
    tokens = _PARSER.parse(text)
    shift = top_heading - 1
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + shift)}"
    clean = sanitise(_PARSER.renderer.render(tokens, _PARSER.options, {}))
    # A table scrolls inside its own box on a narrow screen: a box reached by the keyboard
    # too (added after sanitising: the text itself can hold no such attribute).
    return Markup(  # noqa: S704 - the sanitised text, with our own wrapper around its tables
        str(clean)
        .replace("<table>", '<div class="table-scroll" tabindex="0"><table>')
        .replace("</table>", "</table></div>")
    )


def sanitise(html: str, extra_tags: frozenset[str] = frozenset()) -> Markup:
    """The allow-list of rendered text (plus `extra_tags`, e.g. a comparison's <ins> and
    <del>): whatever else the HTML holds is dropped."""
    clean = nh3.clean(
        html,
        tags=_TAGS | extra_tags,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above
