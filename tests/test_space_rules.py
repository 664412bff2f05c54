"""The permission rules, over every possible standing and action."""

from itertools import product

import pytest

from consentir.errors import DomainError
from consentir.spaces.rules import (
    Action,
    Role,
    Standing,
    allowed,
    check_admins_remain,
    refusal,
    require,
)

STANDINGS = [
    Standing(role=role, direct_member=direct, charter_signed=signed, instance_admin=admin)
    for role, direct, signed, admin in product([None, *Role], [False, True], [False, True],
                                               [False, True])
    if not (role is None and direct)  # a direct member always has a role
]  # fmt: skip
CASES = list(product(STANDINGS, Action))
ADMIN_ACTIONS = {Action.INVITE, Action.MANAGE_MEMBERS, Action.EDIT_CHARTER, Action.EDIT_SPACE,
                 Action.CREATE_CHILD}  # fmt: skip


def expected(standing: Standing, action: Action) -> bool:
    """The rules, written a second way, from PRODUCT.md's wording."""
    member = standing.role is not None
    if not member and not standing.instance_admin:
        return False
    if action is Action.VIEW:
        return True
    if action is Action.SEE_SIGNATURES:
        return standing.role is Role.ADMIN or standing.instance_admin
    if action in ADMIN_ACTIONS:
        return standing.instance_admin or (standing.role is Role.ADMIN and standing.charter_signed)
    if action is Action.SIGN_CHARTER:
        return member
    if action is Action.LEAVE:
        return standing.direct_member
    if action is Action.PARTICIPATE:
        return member and standing.charter_signed
    if action is Action.FACILITATE:
        return standing.charter_signed and standing.role in (Role.FACILITATOR, Role.ADMIN)
    raise AssertionError(action)


@pytest.mark.parametrize(("standing", "action"), CASES)
def test_rule(standing: Standing, action: Action) -> None:
    assert allowed(standing, action) is expected(standing, action)


@pytest.mark.parametrize(("standing", "action"), CASES)
def test_refusals_name_their_rule(standing: Standing, action: Action) -> None:
    error = refusal(standing, action)
    if error is None:
        require(standing, action)  # does not raise
        return
    assert error.code and error.message and error.status in (403, 404)
    with pytest.raises(DomainError):
        require(standing, action)
    if standing.role is None and not standing.instance_admin:
        assert (error.code, error.status) == ("space_not_visible", 404), "outsiders learn nothing"
    if (
        standing.role is not None
        and not standing.charter_signed
        and action in (Action.PARTICIPATE, Action.FACILITATE)
    ):
        assert error.code == "charter_not_signed"


def test_last_admin_rule() -> None:
    check_admins_remain(1)
    with pytest.raises(DomainError) as caught:
        check_admins_remain(0)
    assert caught.value.code == "last_admin" and caught.value.status == 409
