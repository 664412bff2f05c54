"""Passwords (argon2id) and random tokens (stored only as their SHA-256).

Hashing costs ~40 ms of CPU by design, so it runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id, RFC 9106's second recommended setting: 3 passes over 64 MiB, 4 lanes.
PASSWORD_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200

# Verified against when an email is unknown, so that answering takes as long either way.
_DUMMY_HASH = PASSWORD_HASHER.hash("no account has this password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(PASSWORD_HASHER.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """True if `password` matches `stored`; takes the same time when `stored` is None."""

    def check() -> bool:
        try:
            return PASSWORD_HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def needs_rehash(stored: str) -> bool:
    return PASSWORD_HASHER.check_needs_rehash(stored)


def new_token(prefix: str = "") -> str:
    """A URL-safe random token with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    """What the database keeps of a token: stealing the table gives no usable token."""
    return hashlib.sha256(token.encode()).digest()
