"""One-click unsubscribe links (RFC 8058): signed, so they need no session and no CSRF token.

A link names a person and the (space, category) pairs of the email it came in; following it
(or the mail program's POST) sets those to "none". The signature is an HMAC of both with
the instance's secret key, so nobody can forge a link for someone else.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlencode

from consentir.notifications.store import CATEGORIES, Category

Scope = tuple[tuple[int, Category], ...]
MAX_PAIRS = 100


def encode_scope(pairs: Iterable[tuple[int, Category]]) -> str:
    return ",".join(f"{space}.{category}" for space, category in sorted(set(pairs)))


def decode_scope(text: str) -> Scope | None:
    """The pairs of a link's scope, or None when it is not one we write."""
    pairs: list[tuple[int, Category]] = []
    for part in text.split(","):
        space, _, category = part.partition(".")
        if not space.isdigit() or len(space) > 18 or category not in CATEGORIES:
            return None
        pairs.append((int(space), category))
    return tuple(pairs) if 0 < len(pairs) <= MAX_PAIRS else None


def signature(secret: str, user_id: int, scope: str) -> str:
    message = f"unsubscribe:{user_id}:{scope}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def link(public_url: str, secret: str, user_id: int, scope: str) -> str:
    query = urlencode({"u": user_id, "s": scope, "t": signature(secret, user_id, scope)})
    return f"{public_url}/notifications/unsubscribe?{query}"


def verify(secret: str, user_id: int, scope: str, token: str) -> Scope | None:
    """The pairs to turn off, if the link is genuine."""
    if not hmac.compare_digest(signature(secret, user_id, scope), token):
        return None
    return decode_scope(scope)
