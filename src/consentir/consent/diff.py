"""Word-level differences between two versions of a Markdown text, as it reads once rendered,
with its formatting: for the versions page, a decision's trail and the charter."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Literal

from markupsafe import Markup

from consentir import markdown

# Markdown is compared as it reads: both versions are rendered and sanitised, their HTML cut
# into tags and words, and the words compared. The result keeps the new version's tags, in
# order (so it is balanced as the sanitiser left it), with added words in <ins>; removed words
# go in <del> where they stood, and only where text may stand: directly in a list, as an
# item; between blocks, as a paragraph; between table cells, at the next place text may stand.
# The whole is sanitised again before it is shown. Formatting alone (a word put in bold, a
# link's address) is shown as it now is, not marked as a change.

# A tag (attribute values quoted, as the sanitiser writes them), a word with its trailing
# spaces, or spaces alone. Text never holds "<": the sanitiser escapes it.
_HTML_TOKEN = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>|[^<\s]+\s*|\s+")
_TAG_NAME = re.compile(r"</?([a-z0-9]+)")
_VOID = {"br", "hr"}
_LISTS = {"ul", "ol"}
_NO_TEXT = {"table", "thead", "tbody", "tr"}  # text here would leave the table
_INS_JOIN = re.compile(r"</ins>(\s*)<ins>")
# Words compared one by one within a changed stretch: at most this many pairs (about 0.1 s).
WORD_BY_WORD_LIMIT = 4_000_000


def html_tokens(html: str) -> list[str]:
    return _HTML_TOKEN.findall(html)


def _key(token: str) -> str:
    """What is compared: a tag as written, a word without its spaces ("word" then a tag, or
    "word " then another word, are the same word)."""
    return token if token.startswith("<") else (token.strip() or " ")


class _Writer:
    """The new version's tokens, written out with the open tags tracked, so that each
    removed run is put where text may stand."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.open: list[str] = []
        self.waiting: list[str] = []  # removed words waiting for a place (inside a table)

    def tag(self, token: str) -> None:
        match = _TAG_NAME.match(token)
        name = match.group(1) if match else ""
        if token.startswith("</"):
            if name in self.open:
                while self.open.pop() != name:
                    pass
        elif name not in _VOID and not token.endswith("/>"):
            self.open.append(name)
        self.out.append(token)
        if self.waiting and self._may_hold_text():
            self._removed_here(" ".join(self.waiting))

    def text(self, token: str, kind: Literal["same", "added"]) -> None:
        if self.waiting and token.strip():
            self._removed_here(" ".join(self.waiting))
        if kind == "added" and token.strip():
            word = token.rstrip()
            self.out.append(f"<ins>{word}</ins>{token[len(word) :]}")
        else:
            self.out.append(token)

    def removed(self, words: str) -> None:
        if not words.strip():
            return
        if self.open and self.open[-1] in _NO_TEXT:
            self.waiting.append(words)
        else:
            self._removed_here(words)

    def _may_hold_text(self) -> bool:
        return not self.open or self.open[-1] not in _NO_TEXT

    def _removed_here(self, words: str) -> None:
        self.waiting = []
        deleted = f"<del>{' '.join(words.split())}</del> "
        if self.out and not self.out[-1].startswith("<") and not self.out[-1][-1:].isspace():
            deleted = " " + deleted  # "word<del>" would read as one word
        if not self.open:
            self.out.append(f"<p>{deleted}</p>")
        elif self.open[-1] in _LISTS:
            self.out.append(f"<li>{deleted}</li>")
        else:
            self.out.append(deleted)

    def html(self) -> str:
        if self.waiting:  # a table was the last thing: after it
            self.out.append(f"<p><del>{' '.join(' '.join(self.waiting).split())}</del></p>")
        # "</ins> <ins>" between two added words: one run
        return _INS_JOIN.sub(r"\1", "".join(self.out))


def _line_starts(tokens: list[str]) -> list[int]:
    """Where each line of the HTML starts, and its end (the renderer ends each block with a
    line break)."""
    starts = [0]
    for i, token in enumerate(tokens):
        if "\n" in token and not token.startswith("<") and not token.strip():
            starts.append(i + 1)
    if starts[-1] != len(tokens):
        starts.append(len(tokens))
    return starts


def _opcodes(before: list[str], after: list[str]) -> Iterator[tuple[str, int, int, int, int]]:
    """difflib's opcodes over the tokens, found line by line first, then word by word within
    the lines that changed: a long text with a few changes costs little. A changed stretch too
    long to compare word by word (a text rewritten from end to end) is shown replaced whole."""
    a_keys, b_keys = [_key(t) for t in before], [_key(t) for t in after]
    a_starts, b_starts = _line_starts(before), _line_starts(after)
    lines = SequenceMatcher(
        a=[tuple(a_keys[s:e]) for s, e in itertools.pairwise(a_starts)],
        b=[tuple(b_keys[s:e]) for s, e in itertools.pairwise(b_starts)],
        autojunk=False,
    )
    for op, i1, i2, j1, j2 in lines.get_opcodes():
        a1, a2, b1, b2 = a_starts[i1], a_starts[i2], b_starts[j1], b_starts[j2]
        if op == "equal":
            yield op, a1, a2, b1, b2
        elif (a2 - a1) * (b2 - b1) > WORD_BY_WORD_LIMIT:
            yield "replace", a1, a2, b1, b2
        else:
            words = SequenceMatcher(a=a_keys[a1:a2], b=b_keys[b1:b2], autojunk=False)
            for op2, x1, x2, y1, y2 in words.get_opcodes():
                yield op2, a1 + x1, a1 + x2, b1 + y1, b1 + y2


@lru_cache(maxsize=256)  # pure; versions and charters never change, and are viewed often
def rendered_diff(old: str, new: str, *, top_heading: int = 3) -> Markup:
    """The new Markdown text as it reads, with its formatting, words added in <ins> and words
    removed in <del>; safe to show (sanitised twice: as rendered, and as put together)."""
    before = html_tokens(str(markdown.render(old, top_heading=top_heading)))
    after = html_tokens(str(markdown.render(new, top_heading=top_heading)))
    writer = _Writer()
    for op, a1, a2, b1, b2 in _opcodes(before, after):
        if op != "equal":
            writer.removed("".join(t for t in before[a1:a2] if not t.startswith("<")))
        for token in after[b1:b2]:
            if token.startswith("<"):
                writer.tag(token)
            else:
                writer.text(token, "same" if op == "equal" else "added")
    return sanitise_diff(writer.html())


def sanitise_diff(html: str) -> Markup:
    """The rendered text's allow-list (see `markdown.sanitise`), with <ins> and <del>."""
    return markdown.sanitise(html, frozenset({"ins", "del"}))
