"""Word-level differences between two versions of a text, for the versions page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

# Words with their trailing spaces, and line breaks on their own: a diff reads as prose.
_TOKEN = re.compile(r"\n|[^\S\n]+|[^\s]+[^\S\n]*")


@dataclass(frozen=True)
class Piece:
    kind: Literal["same", "added", "removed"]
    text: str


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.replace("\r\n", "\n"))


def word_diff(old: str, new: str) -> list[Piece]:
    """The pieces of text kept, removed and added, in reading order; runs of one kind merged."""
    before, after = tokens(old), tokens(new)
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    pieces: list[Piece] = []

    def add(kind: Literal["same", "added", "removed"], words: list[str]) -> None:
        if not words:
            return
        if pieces and pieces[-1].kind == kind:
            pieces[-1] = Piece(kind, pieces[-1].text + "".join(words))
        else:
            pieces.append(Piece(kind, "".join(words)))

    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            add("same", before[a1:a2])
        else:
            add("removed", before[a1:a2])
            add("added", after[b1:b2])
    return pieces
