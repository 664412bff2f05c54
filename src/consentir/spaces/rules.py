"""Who may do what in a space. Pure: no I/O; the store computes a Standing, this decides.

A person's standing in a space is their role there (direct, or inherited from the parent
when the space includes its parent's members), whether they signed the space's current
charter, and whether they administer the whole instance. Members who have not signed the
current charter may read, not act.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from consentir.errors import N_, DomainError


class Role(StrEnum):
    MEMBER = "member"
    FACILITATOR = "facilitator"
    ADMIN = "admin"


ROLE_NAMES = {
    Role.MEMBER: N_("member"),
    Role.FACILITATOR: N_("facilitator"),
    Role.ADMIN: N_("administrator"),
}


class Action(StrEnum):
    VIEW = "view"  # read the space, its members, charter and (later) proposals
    SIGN_CHARTER = "sign_charter"
    LEAVE = "leave"
    PARTICIPATE = "participate"  # ask, react, give a position, propose
    FACILITATE = "facilitate"  # open and close rounds, judge objections, run meetings
    INVITE = "invite"
    MANAGE_MEMBERS = "manage_members"  # change roles, remove members
    EDIT_CHARTER = "edit_charter"
    EDIT_SPACE = "edit_space"
    CREATE_CHILD = "create_child"
    SEE_SIGNATURES = "see_signatures"


@dataclass(frozen=True)
class Standing:
    role: Role | None
    direct_member: bool
    charter_signed: bool
    instance_admin: bool

    @property
    def member(self) -> bool:
        return self.role is not None


NOBODY = Standing(role=None, direct_member=False, charter_signed=False, instance_admin=False)

NOT_FOUND = N_("This page does not exist, or you cannot see it.")
NOT_A_MEMBER = N_("Only members of this space can do this.")
CHARTER_NOT_SIGNED = N_(
    "The charter of this space has changed: sign its new version to take part again."
)
FACILITATORS_ONLY = N_("Only facilitators and administrators of this space can do this.")
ADMINS_ONLY = N_("Only administrators of this space can do this.")
INHERITED = N_("You take part through the parent space: leave it there.")

_ADMIN_ACTIONS = {
    Action.INVITE,
    Action.MANAGE_MEMBERS,
    Action.EDIT_CHARTER,
    Action.EDIT_SPACE,
    Action.CREATE_CHILD,
}


def refusal(standing: Standing, action: Action) -> DomainError | None:
    """None when `standing` allows `action`; otherwise the refusal, naming its rule."""
    if not standing.member and not standing.instance_admin:
        return DomainError("space_not_visible", NOT_FOUND, status=404)
    if action is Action.VIEW:
        return None
    if action is Action.SEE_SIGNATURES:
        if standing.role is Role.ADMIN or standing.instance_admin:
            return None
        return DomainError("admins_only", ADMINS_ONLY, status=403)
    if action in _ADMIN_ACTIONS and standing.instance_admin:
        return None  # the instance's administrators can repair any space
    if not standing.member:
        return DomainError("not_a_member", NOT_A_MEMBER, status=403)
    if action is Action.SIGN_CHARTER:
        return None
    if action is Action.LEAVE:
        if standing.direct_member:
            return None
        return DomainError("membership_inherited", INHERITED, status=403)
    if not standing.charter_signed:
        return DomainError("charter_not_signed", CHARTER_NOT_SIGNED, status=403)
    if action is Action.PARTICIPATE:
        return None
    if action is Action.FACILITATE:
        if standing.role in (Role.FACILITATOR, Role.ADMIN):
            return None
        return DomainError("facilitators_only", FACILITATORS_ONLY, status=403)
    if standing.role is Role.ADMIN:
        return None
    return DomainError("admins_only", ADMINS_ONLY, status=403)


def allowed(standing: Standing, action: Action) -> bool:
    return refusal(standing, action) is None


def require(standing: Standing, action: Action) -> None:
    error = refusal(standing, action)
    if error is not None:
        raise error


LAST_ADMIN = N_("A space needs at least one administrator: name another one first.")


def check_admins_remain(admins_after: int) -> None:
    """Removing or demoting must leave the space at least one administrator."""
    if admins_after < 1:
        raise DomainError("last_admin", LAST_ADMIN, status=409)
