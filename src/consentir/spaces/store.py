"""Spaces, memberships, invitations, charters and signatures. Every write journals its event
in the caller's transaction, in the space's chain."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

import asyncpg
import msgspec

from consentir import journal
from consentir.credentials import new_token, token_digest
from consentir.db import Connection
from consentir.errors import N_, DomainError
from consentir.notifications import kinds
from consentir.notifications import store as notifications
from consentir.spaces.brand import SITE_ACCENT, Logo, logo_version, theme_version
from consentir.spaces.rules import Role, Standing, check_admins_remain

INVITATION_LIFETIME = timedelta(days=14)
Kind = Literal["collective", "governance"]


class Space(msgspec.Struct, frozen=True):
    id: int
    parent_id: int | None
    slug: str
    name: str
    kind: Kind
    description: str
    review_delay_months: int
    silence_is_consent: bool
    decision_prefix: str
    parent_members_included: bool
    version: int
    hide_positions: bool = True
    # In an election, the person proposed answers the consent round last (or with the others).
    election_nominee_last: bool = True
    # Its own look (spaces/brand.py): `#rrggbb`, and the SHA-256 of its logo (stored apart).
    accent_colour: str | None = None
    logo_digest: str | None = None

    @property
    def theme_version(self) -> str:
        """The version of its stylesheet's address (`/s/<slug>/theme.css?v=`)."""
        return theme_version(self.accent_colour)

    @property
    def accent_shown(self) -> str:
        """The colour its pages show: its own, or the site's."""
        return self.accent_colour or SITE_ACCENT

    @property
    def logo_version(self) -> str | None:
        """The version of its logo's address (`/s/<slug>/logo?v=`); None: it has none."""
        return logo_version(self.logo_digest) if self.logo_digest else None


class Charter(msgspec.Struct, frozen=True):
    id: int
    version: int
    body: str
    note: str
    created_at: datetime
    author: str


class SpaceView(msgspec.Struct, frozen=True):
    """A space as one person sees it: the space, their standing, its current charter."""

    space: Space
    standing: Standing
    charter: Charter | None
    parent: tuple[str, str] | None  # (slug, name)


def _space(row: asyncpg.Record) -> Space:
    return Space(*(row[key] for key in Space.__struct_fields__))


SLUG_TAKEN = N_("Another space already uses this short name.")


async def create_space(
    conn: Connection,
    *,
    actor_id: int,
    name: str,
    slug: str,
    kind: Kind,
    description: str,
    decision_prefix: str,
    parent_id: int | None = None,
    review_delay_months: int = 6,
    silence_is_consent: bool = False,
    parent_members_included: bool = False,
) -> Space:
    """A new space; its creator becomes its first administrator."""
    try:
        row = await conn.fetchrow(
            """
            INSERT INTO spaces AS s (parent_id, slug, name, kind, description, decision_prefix,
                                review_delay_months, silence_is_consent, parent_members_included)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING *
            """,
            parent_id,
            slug,
            name,
            kind,
            description,
            decision_prefix,
            review_delay_months,
            silence_is_consent,
            parent_members_included,
        )
    except asyncpg.UniqueViolationError:
        raise DomainError("slug_taken", SLUG_TAKEN, field="slug", status=409) from None
    assert row is not None
    space = _space(row)
    await conn.execute(
        "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, 'admin')",
        space.id,
        actor_id,
    )
    await journal.append(
        conn,
        action="space.created",
        subject_type="space",
        subject_id=space.id,
        space_id=space.id,
        actor_id=actor_id,
        data={"name": name, "slug": slug, "kind": kind, "parent_id": parent_id},
    )
    return space


class SpaceSettings(msgspec.Struct, frozen=True):
    name: str
    description: str
    review_delay_months: int
    silence_is_consent: bool
    decision_prefix: str
    parent_members_included: bool
    hide_positions: bool = True
    election_nominee_last: bool = True


STALE = N_("Someone changed this at the same time. Here is the new version: please check it.")


async def update_space(
    conn: Connection, space: Space, changes: SpaceSettings, *, expected_version: int, actor_id: int
) -> Space:
    """Optimistic concurrency: the change applies only to the version the person saw."""
    row = await conn.fetchrow(
        """
        UPDATE spaces AS s SET name = $3, description = $4, review_delay_months = $5,
               silence_is_consent = $6, decision_prefix = $7,
               parent_members_included = $8 AND parent_id IS NOT NULL, hide_positions = $9,
               election_nominee_last = $10, version = version + 1
        WHERE id = $1 AND version = $2
        RETURNING *
        """,
        space.id,
        expected_version,
        changes.name,
        changes.description,
        changes.review_delay_months,
        changes.silence_is_consent,
        changes.decision_prefix,
        changes.parent_members_included,
        changes.hide_positions,
        changes.election_nominee_last,
    )
    if row is None:
        raise DomainError("stale_version", STALE, status=409)
    await journal.append(
        conn,
        action="space.updated",
        subject_type="space",
        subject_id=space.id,
        space_id=space.id,
        actor_id=actor_id,
        data=msgspec.to_builtins(changes),
    )
    return _space(row)


class Brand(msgspec.Struct, frozen=True):
    """A change of a space's look: its colour (None: the site's), and its logo: `logo` a new
    one, `remove_logo` none any more, neither: the logo stays as it is."""

    accent_colour: str | None
    logo: Logo | None = None
    remove_logo: bool = False


async def update_brand(
    conn: Connection, space: Space, brand: Brand, *, expected_version: int, actor_id: int
) -> Space:
    """The space's colour and logo, in the caller's transaction, on the version the person
    saw (as update_space); journaled as `space.brand_updated`."""
    row = await conn.fetchrow(
        """
        UPDATE spaces SET accent_colour = $3,
               logo_digest = CASE WHEN $4 THEN NULL ELSE logo_digest END,
               version = version + 1
        WHERE id = $1 AND version = $2
        RETURNING *
        """,
        space.id,
        expected_version,
        brand.accent_colour,
        brand.logo is not None or brand.remove_logo,
    )
    if row is None:
        raise DomainError("stale_version", STALE, status=409)
    logo = brand.logo
    if logo is not None:
        await conn.execute(
            """
            INSERT INTO space_logos (space_id, content_type, image, digest)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (space_id) DO UPDATE
                SET content_type = $2, image = $3, digest = $4, updated_at = now()
            """,
            space.id,
            logo.content_type,
            logo.data,
            logo.digest,
        )
        row = await conn.fetchrow(
            "UPDATE spaces SET logo_digest = $2 WHERE id = $1 RETURNING *", space.id, logo.digest
        )
        assert row is not None
    elif brand.remove_logo:
        await conn.execute("DELETE FROM space_logos WHERE space_id = $1", space.id)
    updated = _space(row)
    await journal.append(
        conn,
        action="space.brand_updated",
        subject_type="space",
        subject_id=space.id,
        space_id=space.id,
        actor_id=actor_id,
        data={
            "accent_colour": updated.accent_colour,
            "logo": (
                {"content_type": logo.content_type, "bytes": len(logo.data),
                 "digest": logo.digest}
                if logo is not None
                else ("removed" if brand.remove_logo and space.logo_digest else "unchanged")
            ),
        },
    )  # fmt: skip
    return updated


class StoredLogo(msgspec.Struct, frozen=True):
    content_type: str
    image: bytes
    digest: str


async def logo(conn: Connection, space_id: int) -> StoredLogo | None:
    row = await conn.fetchrow(
        "SELECT content_type, image, digest FROM space_logos WHERE space_id = $1", space_id
    )
    return StoredLogo(row["content_type"], row["image"], row["digest"]) if row else None


_VIEW = """
SELECT s.*,
       m.role AS direct_role,
       CASE WHEN s.parent_members_included AND pm.user_id IS NOT NULL THEN 'member' END
           AS inherited_role,
       p.slug AS parent_slug, p.name AS parent_name,
       c.id AS charter_id, c.version AS charter_version, c.body AS charter_body,
       c.note AS charter_note, c.created_at AS charter_created_at, cu.name AS charter_author,
       (c.id IS NULL OR sig.user_id IS NOT NULL) AS charter_signed
FROM spaces s
LEFT JOIN spaces p ON p.id = s.parent_id
LEFT JOIN memberships m ON m.space_id = s.id AND m.user_id = $2
LEFT JOIN memberships pm ON pm.space_id = s.parent_id AND pm.user_id = $2
LEFT JOIN LATERAL (
    SELECT * FROM charters WHERE space_id = s.id ORDER BY version DESC LIMIT 1
) c ON true
LEFT JOIN users cu ON cu.id = c.created_by
LEFT JOIN charter_signatures sig ON sig.charter_id = c.id AND sig.user_id = $2
WHERE s.slug = $1
"""


async def space_view(
    conn: Connection, slug: str, user_id: int | None, *, instance_admin: bool
) -> SpaceView | None:
    """The space and this person's standing in it, in one round trip; None if no such slug."""
    row = await conn.fetchrow(_VIEW, slug, user_id)
    if row is None:
        return None
    role_name = row["direct_role"] or row["inherited_role"]
    standing = Standing(
        role=Role(role_name) if role_name else None,
        direct_member=row["direct_role"] is not None,
        charter_signed=bool(row["charter_signed"]),
        instance_admin=instance_admin,
    )
    charter = (
        Charter(
            row["charter_id"],
            row["charter_version"],
            row["charter_body"],
            row["charter_note"],
            row["charter_created_at"],
            row["charter_author"],
        )
        if row["charter_id"] is not None
        else None
    )
    parent = (row["parent_slug"], row["parent_name"]) if row["parent_slug"] else None
    return SpaceView(_space(row), standing, charter, parent)


class MySpace(msgspec.Struct, frozen=True):
    slug: str
    name: str
    kind: Kind
    role: Role
    parent_name: str | None
    must_sign: bool


async def my_spaces(conn: Connection, user_id: int) -> list[MySpace]:
    """Spaces this person belongs to, directly or through a parent that includes them."""
    rows = await conn.fetch(
        """
        WITH mine AS (
            SELECT space_id, role FROM memberships WHERE user_id = $1
            UNION ALL
            SELECT c.id, 'member' FROM spaces c
            JOIN memberships pm ON pm.space_id = c.parent_id AND pm.user_id = $1
            WHERE c.parent_members_included
              AND NOT EXISTS (SELECT 1 FROM memberships d
                              WHERE d.space_id = c.id AND d.user_id = $1)
        )
        SELECT s.slug, s.name, s.kind, mine.role, p.name AS parent_name,
               (ch.id IS NOT NULL AND sig.user_id IS NULL) AS must_sign
        FROM mine
        JOIN spaces s ON s.id = mine.space_id
        LEFT JOIN spaces p ON p.id = s.parent_id
        LEFT JOIN LATERAL (
            SELECT id FROM charters WHERE space_id = s.id ORDER BY version DESC LIMIT 1
        ) ch ON true
        LEFT JOIN charter_signatures sig ON sig.charter_id = ch.id AND sig.user_id = $1
        ORDER BY coalesce(p.name, s.name), s.parent_id NULLS FIRST, s.name
        """,
        user_id,
    )
    return [MySpace(r["slug"], r["name"], r["kind"], Role(r["role"]), r["parent_name"],
                    r["must_sign"]) for r in rows]  # fmt: skip


class ChildSpace(msgspec.Struct, frozen=True):
    slug: str
    name: str
    kind: Kind
    visible: bool


async def child_spaces(conn: Connection, space_id: int, user_id: int | None) -> list[ChildSpace]:
    rows = await conn.fetch(
        """
        SELECT c.slug, c.name, c.kind,
               (c.parent_members_included OR m.user_id IS NOT NULL) AS visible
        FROM spaces c
        LEFT JOIN memberships m ON m.space_id = c.id AND m.user_id = $2
        WHERE c.parent_id = $1
        ORDER BY c.name
        """,
        space_id,
        user_id,
    )
    return [ChildSpace(r["slug"], r["name"], r["kind"], r["visible"]) for r in rows]


async def all_spaces(conn: Connection) -> list[ChildSpace]:
    """Every top-level space, for the instance's administrators."""
    rows = await conn.fetch(
        "SELECT slug, name, kind FROM spaces WHERE parent_id IS NULL ORDER BY name LIMIT 500"
    )
    return [ChildSpace(r["slug"], r["name"], r["kind"], True) for r in rows]


# --- members -----------------------------------------------------------------------------


class Member(msgspec.Struct, frozen=True):
    user_id: int
    name: str
    email: str
    role: Role
    joined_at: datetime
    signed_version: int | None
    signed_name: str | None
    place: str | None
    signed_on: date | None


MEMBERS_PAGE = 100


async def members(
    conn: Connection, space_id: int, *, after: int | None = None, limit: int = MEMBERS_PAGE
) -> tuple[list[Member], int | None]:
    """A page of direct members in alphabetical order, with the latest charter version each
    has signed; and the user id to continue after (keyset pagination), if there are more."""
    rows = await conn.fetch(
        """
        SELECT u.id AS user_id, u.name, u.email, m.role, m.joined_at,
               last.version AS signed_version, last.signed_name, last.place, last.signed_on
        FROM memberships m
        JOIN users u ON u.id = m.user_id
        LEFT JOIN LATERAL (
            SELECT c.version, s.signed_name, s.place, s.signed_on
            FROM charter_signatures s JOIN charters c ON c.id = s.charter_id
            WHERE c.space_id = m.space_id AND s.user_id = m.user_id
            ORDER BY c.version DESC LIMIT 1
        ) last ON true
        WHERE m.space_id = $1
          AND ($2::bigint IS NULL
               OR (lower(u.name), u.id) > (SELECT lower(name), id FROM users WHERE id = $2))
        ORDER BY lower(u.name), u.id
        LIMIT $3
        """,
        space_id,
        after,
        limit + 1,
    )
    page = [Member(**{**dict(r), "role": Role(r["role"])}) for r in rows[:limit]]
    return page, (page[-1].user_id if len(rows) > limit else None)


async def member_summary(
    conn: Connection, space_id: int, *, shown: int = 12
) -> tuple[int, list[str]]:
    """How many direct members, and the first names to show, in one round trip."""
    row = await conn.fetchrow(
        """
        SELECT count(*) AS total,
               (array_agg(u.name ORDER BY m.role = 'member', u.name))[1:$2] AS names
        FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.space_id = $1
        """,
        space_id,
        shown,
    )
    assert row is not None
    return int(row["total"]), list(row["names"] or [])


async def _lock_admins(conn: Connection, space_id: int) -> set[int]:
    rows = await conn.fetch(
        "SELECT user_id FROM memberships WHERE space_id = $1 AND role = 'admin' FOR UPDATE",
        space_id,
    )
    return {r["user_id"] for r in rows}


NOT_MEMBER = N_("This person is not a member of this space.")


async def change_role(
    conn: Connection, space_id: int, user_id: int, role: Role, *, actor_id: int
) -> None:
    admins = await _lock_admins(conn, space_id)
    if role is not Role.ADMIN:
        check_admins_remain(len(admins - {user_id}))
    old = await conn.fetchval(
        "UPDATE memberships m SET role = $3 FROM memberships old"
        " WHERE m.space_id = $1 AND m.user_id = $2"
        " AND old.space_id = m.space_id AND old.user_id = m.user_id RETURNING old.role",
        space_id,
        user_id,
        role.value,
    )
    if old is None:
        raise DomainError("not_a_member", NOT_MEMBER, status=404)
    await journal.append(
        conn,
        action="membership.role_changed",
        subject_type="user",
        subject_id=user_id,
        space_id=space_id,
        actor_id=actor_id,
        data={"from": old, "to": role.value},
    )


async def remove_member(conn: Connection, space_id: int, user_id: int, *, actor_id: int) -> None:
    """Remove a member (or, with actor_id == user_id, leave)."""
    admins = await _lock_admins(conn, space_id)
    check_admins_remain(len(admins - {user_id}))
    role = await conn.fetchval(
        "DELETE FROM memberships WHERE space_id = $1 AND user_id = $2 RETURNING role",
        space_id,
        user_id,
    )
    if role is None:
        raise DomainError("not_a_member", NOT_MEMBER, status=404)
    await journal.append(
        conn,
        action="membership.left" if actor_id == user_id else "membership.removed",
        subject_type="user",
        subject_id=user_id,
        space_id=space_id,
        actor_id=actor_id,
        data={"role": role},
    )


# --- invitations -------------------------------------------------------------------------


class Invitation(msgspec.Struct, frozen=True):
    id: int
    space_id: int
    space_slug: str
    space_name: str
    email: str
    role: Role
    inviter: str
    expires_at: datetime


async def invite(
    conn: Connection, space_id: int, *, email: str, role: Role, actor_id: int
) -> tuple[int, str]:
    token = new_token()
    invitation_id = await conn.fetchval(
        "INSERT INTO invitations (space_id, email, role, token_hash, invited_by, expires_at)"
        " VALUES ($1, lower($2), $3, $4, $5, now() + $6) RETURNING id",
        space_id,
        email,
        role.value,
        token_digest(token),
        actor_id,
        INVITATION_LIFETIME,
    )
    await journal.append(
        conn,
        action="invitation.sent",
        subject_type="invitation",
        subject_id=invitation_id,
        space_id=space_id,
        actor_id=actor_id,
        data={"email": email.lower(), "role": role.value},
    )
    return int(invitation_id), token


class PendingInvitation(msgspec.Struct, frozen=True):
    id: int
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


async def pending_invitations(conn: Connection, space_id: int) -> list[PendingInvitation]:
    rows = await conn.fetch(
        "SELECT id, email, role, created_at, expires_at FROM invitations"
        " WHERE space_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL"
        " AND expires_at > now() ORDER BY created_at DESC LIMIT 200",
        space_id,
    )
    return [PendingInvitation(**{**dict(r), "role": Role(r["role"])}) for r in rows]


async def revoke_invitation(
    conn: Connection, space_id: int, invitation_id: int, *, actor_id: int
) -> None:
    found = await conn.fetchval(
        "UPDATE invitations SET revoked_at = now() WHERE id = $1 AND space_id = $2"
        " AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id",
        invitation_id,
        space_id,
    )
    if found is None:
        raise DomainError("invitation_not_found", N_("This invitation is not pending."), status=404)
    await journal.append(
        conn,
        action="invitation.revoked",
        subject_type="invitation",
        subject_id=invitation_id,
        space_id=space_id,
        actor_id=actor_id,
    )


INVITATION_INVALID = N_(
    "This invitation is not valid any more: it was already used, withdrawn, or it has expired."
)


async def invitation_by_token(conn: Connection, token: str) -> Invitation:
    row = await conn.fetchrow(
        """
        SELECT i.id, i.space_id, s.slug AS space_slug, s.name AS space_name, i.email, i.role,
               u.name AS inviter, i.expires_at
        FROM invitations i JOIN spaces s ON s.id = i.space_id JOIN users u ON u.id = i.invited_by
        WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL
          AND i.expires_at > now()
        """,
        token_digest(token),
    )
    if row is None:
        raise DomainError("invitation_invalid", INVITATION_INVALID, status=410)
    return Invitation(**{**dict(row), "role": Role(row["role"])})


class Signature(msgspec.Struct, frozen=True):
    signed_name: str
    place: str
    signed_on: date


async def accept_invitation(
    conn: Connection, token: str, user_id: int, signature: Signature | None
) -> Invitation:
    """Join the space: spend the invitation, sign its charter if it has one (required),
    and become a member, all at once."""
    invitation = await invitation_by_token(conn, token)
    spent = await conn.fetchval(
        "UPDATE invitations SET accepted_at = now(), accepted_by = $2"
        " WHERE id = $1 AND accepted_at IS NULL RETURNING id",
        invitation.id,
        user_id,
    )
    if spent is None:  # accepted by someone else a moment ago
        raise DomainError("invitation_invalid", INVITATION_INVALID, status=410)
    charter_id = await current_charter_id(conn, invitation.space_id)
    if charter_id is not None:
        if signature is None:
            raise DomainError("charter_required", N_("Joining requires signing the charter."))
        await sign_charter(conn, invitation.space_id, charter_id, user_id, signature)
    await conn.execute(
        "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, $3)"
        " ON CONFLICT (space_id, user_id) DO NOTHING",
        invitation.space_id,
        user_id,
        invitation.role.value,
    )
    await journal.append(
        conn,
        action="membership.joined",
        subject_type="user",
        subject_id=user_id,
        space_id=invitation.space_id,
        actor_id=user_id,
        data={"invitation_id": invitation.id, "role": invitation.role.value},
    )
    return invitation


# --- charter -----------------------------------------------------------------------------


async def current_charter_id(conn: Connection, space_id: int) -> int | None:
    value = await conn.fetchval(
        "SELECT id FROM charters WHERE space_id = $1 ORDER BY version DESC LIMIT 1", space_id
    )
    return int(value) if value is not None else None


async def publish_charter(
    conn: Connection, space_id: int, body: str, note: str, *, expected: int, actor_id: int
) -> int:
    """A new version of the charter; `expected` is the version the author started from
    (0 for none). Every member must then sign again."""
    try:
        version = await conn.fetchval(
            """
            INSERT INTO charters (space_id, version, body, note, created_by)
            SELECT $1, $2 + 1, $3, $4, $5
            WHERE coalesce((SELECT max(version) FROM charters WHERE space_id = $1), 0) = $2
            RETURNING version
            """,
            space_id,
            expected,
            body,
            note,
            actor_id,
        )
    except asyncpg.UniqueViolationError:
        version = None
    if version is None:
        raise DomainError("stale_version", STALE, status=409)
    await journal.append(
        conn,
        action="charter.published",
        subject_type="space",
        subject_id=space_id,
        space_id=space_id,
        actor_id=actor_id,
        data={"version": version, "note": note},
    )
    await _announce_charter(conn, space_id, actor_id)
    return int(version)


async def _announce_charter(conn: Connection, space_id: int, actor_id: int) -> None:
    """Every member (direct, or through the parent) is asked to sign the new version."""
    row = await conn.fetchrow("SELECT slug, name FROM spaces WHERE id = $1", space_id)
    assert row is not None  # the charter's space, locked by its insert
    members = await conn.fetch(
        """SELECT m.user_id FROM memberships m WHERE m.space_id = $1
           UNION
           SELECT pm.user_id FROM spaces s JOIN memberships pm ON pm.space_id = s.parent_id
           WHERE s.id = $1 AND s.parent_members_included""",
        space_id,
    )
    about = notifications.About(
        space_id=space_id, link=f"/s/{row['slug']}/charter", title=row["name"], actor_id=actor_id
    )
    people = frozenset(int(r["user_id"]) for r in members)
    await notifications.record(conn, about, [kinds.Notice(kinds.Kind.CHARTER_TO_SIGN, people)])


async def charter_versions(conn: Connection, space_id: int) -> list[Charter]:
    rows = await conn.fetch(
        "SELECT c.id, c.version, c.body, c.note, c.created_at, u.name AS author"
        " FROM charters c JOIN users u ON u.id = c.created_by"
        " WHERE c.space_id = $1 ORDER BY c.version DESC LIMIT 100",
        space_id,
    )
    return [Charter(**dict(r)) for r in rows]


async def last_signed_version(conn: Connection, space_id: int, user_id: int) -> int | None:
    """The latest version of the space's charter this person signed, if any."""
    version = await conn.fetchval(
        "SELECT max(c.version) FROM charter_signatures s JOIN charters c ON c.id = s.charter_id"
        " WHERE c.space_id = $1 AND s.user_id = $2",
        space_id,
        user_id,
    )
    return int(version) if version is not None else None


async def sign_charter(
    conn: Connection, space_id: int, charter_id: int, user_id: int, signature: Signature
) -> None:
    await conn.execute(
        "INSERT INTO charter_signatures (charter_id, user_id, signed_name, place, signed_on)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (charter_id, user_id) DO NOTHING",
        charter_id,
        user_id,
        signature.signed_name,
        signature.place,
        signature.signed_on,
    )
    slug = await conn.fetchval("SELECT slug FROM spaces WHERE id = $1", space_id)
    await notifications.seen(conn, user_id, f"/s/{slug}/charter")
    await journal.append(
        conn,
        action="charter.signed",
        subject_type="user",
        subject_id=user_id,
        space_id=space_id,
        actor_id=user_id,
        data={"charter_id": charter_id, **msgspec.to_builtins(signature)},
    )


# Everyone who may act in the space now: direct members, and the parent's members when the
# space includes them, who have signed its current charter (if it has one).
_ACTING = """
WITH space AS (SELECT id, parent_id, parent_members_included FROM spaces WHERE id = $1),
charter AS (
    SELECT id FROM charters WHERE space_id = $1 ORDER BY version DESC LIMIT 1
),
people AS (
    SELECT m.user_id FROM memberships m WHERE m.space_id = $1
    UNION
    SELECT pm.user_id FROM space s JOIN memberships pm ON pm.space_id = s.parent_id
    WHERE s.parent_members_included
)
SELECT p.user_id FROM people p
WHERE NOT EXISTS (SELECT 1 FROM charter)
   OR EXISTS (SELECT 1 FROM charter c JOIN charter_signatures sig
              ON sig.charter_id = c.id AND sig.user_id = p.user_id)
"""


async def acting_member_ids(conn: Connection, space_id: int) -> frozenset[int]:
    """Everyone who may act in the space now (see `_ACTING`). A round freezes this list
    when it opens."""
    rows = await conn.fetch(_ACTING, space_id)
    return frozenset(int(r["user_id"]) for r in rows)


async def acting_facilitator_ids(conn: Connection, space_id: int) -> frozenset[int]:
    """Those of them who may facilitate: the space's own facilitators and administrators
    (a role inherited from the parent space is always "member")."""
    rows = await conn.fetch(
        "SELECT a.user_id FROM (" + _ACTING + ") a"  # noqa: S608 (constant text)
        " JOIN memberships m ON m.space_id = $1 AND m.user_id = a.user_id"
        " WHERE m.role IN ('facilitator', 'admin')",
        space_id,
    )
    return frozenset(int(r["user_id"]) for r in rows)


class Person(msgspec.Struct, frozen=True):
    user_id: int
    name: str


async def acting_people(conn: Connection, space_id: int) -> list[Person]:
    """The same people with their names, in alphabetical order (to choose one of them)."""
    rows = await conn.fetch(
        "SELECT a.user_id, u.name FROM (" + _ACTING + ") a"  # noqa: S608 (constant text)
        " JOIN users u ON u.id = a.user_id ORDER BY lower(u.name), u.id",
        space_id,
    )
    return [Person(r["user_id"], r["name"]) for r in rows]


async def space_by_id(conn: Connection, space_id: int) -> Space:
    row = await conn.fetchrow("SELECT * FROM spaces WHERE id = $1", space_id)
    assert row is not None, space_id
    return _space(row)
