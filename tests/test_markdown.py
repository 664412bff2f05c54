"""Markdown from members is rendered safely: nothing active gets through."""

from html.parser import HTMLParser

import pytest

from consentir.markdown import render


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[clic](javascript:alert(1))",
        '<a href="https://example.org" onclick="alert(1)">x</a>',
        "<style>body{display:none}</style>",
        '<iframe src="https://example.org"></iframe>',
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_nothing_active_gets_through(hostile: str) -> None:
    """Whatever is written is shown as text or kept as plain markup: no element outside the
    allow-list, no event attribute, no link to anything but the web or email."""
    parsed = Elements()
    parsed.feed(str(render(hostile)))
    assert parsed.tags <= {"p", "a", "em", "strong", "code"}, parsed.tags
    for name, value in parsed.attributes:
        assert not name.startswith("on"), name
        if name == "href":
            assert value.startswith(("https:", "http:", "mailto:")), value


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


def test_ordinary_writing_is_kept() -> None:
    html = str(render("# Charte\n\n1. **Écoute** et *respect*\n2. [site](https://example.org)"))
    assert "<h3>Charte</h3>" in html, "headings sit below the page's own"
    assert "<strong>Écoute</strong>" in html and "<em>respect</em>" in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">site</a>' in html
    assert "<ol>" in html


def test_headings_never_go_below_h6() -> None:
    assert "<h6>deep</h6>" in str(render("###### deep"))


def test_a_table_scrolls_in_a_box_the_keyboard_reaches() -> None:
    """A text's table keeps its words whole and scrolls inside its own box on a narrow
    screen: the box is focusable, so the keyboard can scroll it too; nothing else moves."""
    html = str(render("| Critère | Progression |\n| --- | --- |\n| Bancs | 100 % |"))
    assert html.startswith('<div class="table-scroll" tabindex="0"><table>')
    assert html.rstrip().endswith("</table></div>")
    assert "Progression" in html
    assert str(render("<table><tr><td>x</td></tr></table>")).count("table-scroll") <= 1
