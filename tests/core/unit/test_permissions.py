"""Both apps' operate checks are the one rule in core.permissions (no database: users are stand-ins)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.permissions import can_operate
from orchestration.permissions import can_operate_orchestration
from sync.permissions import can_operate_sync

SYNC, ORCHESTRATION = "sync.operate_sync", "orchestration.operate_orchestration"


@dataclass
class StandIn:
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    perms: set[str] = field(default_factory=set)

    def has_perm(self, permission: str) -> bool:
        # Django's ModelBackend grants nothing to inactive users; the rule must not rely on it.
        return permission in self.perms


BOTH = {SYNC, ORCHESTRATION}
USERS = {
    "anonymous": StandIn(is_authenticated=False, is_staff=True, perms=BOTH),
    "inactive staff with the perms": StandIn(is_active=False, is_staff=True, perms=BOTH),
    "inactive superuser": StandIn(is_active=False, is_superuser=True),
    "plain": StandIn(),
    "staff": StandIn(is_staff=True),
    "superuser": StandIn(is_superuser=True),
    "operator of both": StandIn(perms=BOTH),
}
ALLOWED = {"staff", "superuser", "operator of both"}


@pytest.mark.parametrize("name", sorted(USERS))
def test_the_two_apps_agree_on_who_may_operate(name):
    user = USERS[name]
    assert can_operate_sync(user) is can_operate_orchestration(user) is (name in ALLOWED)


def test_inactive_staff_holding_the_permission_is_refused_by_both():
    user = StandIn(is_active=False, is_staff=True, perms=BOTH)
    assert not can_operate_sync(user) and not can_operate_orchestration(user)


def test_one_app_s_permission_does_not_open_the_other():
    user = StandIn(perms={SYNC})
    assert can_operate_sync(user) and not can_operate_orchestration(user)
    assert can_operate(user, SYNC) and not can_operate(user, ORCHESTRATION)


def test_no_user_may_not_operate():
    assert not can_operate(None, SYNC) and not can_operate_orchestration(None)
