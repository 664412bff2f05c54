"""Accent-insensitive French search, the same on every PostgreSQL server.

The embedded server has no `unaccent` extension, so text is folded in Python before it is
indexed (`search_text`, turned into a `french` tsvector by the database) and the same folding
is applied to what people type: "reunion" finds "réunion", "decisions" finds "décision".
"""

from __future__ import annotations

import unicodedata

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
MAX_QUERY = 200


def fold(text: str) -> str:
    """Lower-case, without accents or ligatures: "Œuvre réunie" → "oeuvre reunie"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_text(*parts: str) -> str:
    """What the decision register indexes for a decision."""
    return fold("\n".join(parts))


def query_text(query: str) -> str:
    """What is searched for, from what was typed (bounded in length)."""
    return fold(" ".join(query.split())[:MAX_QUERY])
