"""The systemStatus query without a server: who is answered, who sees details, and that it is never cached."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from core.interfaces.graphql import cacheable_query
from jiraplus.schema import READ_CACHE_POLICY, schema
from ops import graphql as ops_graphql
from ops.status import Check

QUERY = "{ systemStatus { ok checks { name ok detail } } }"
CHECKS = [Check("database", True, "postgresql answers"), Check("queue:sync", False, "no live worker")]


class _User(SimpleNamespace):
    is_authenticated = True
    is_active = True
    is_superuser = False

    def has_perm(self, permission: str) -> bool:
        return permission in self.perms


def run(user: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(ops_graphql, "system_status_recent", lambda: CHECKS)
    return schema.execute(QUERY, context_value=SimpleNamespace(user=user))


def test_staff_see_every_check_with_detail(monkeypatch):
    result = run(_User(is_staff=True, perms=set()), monkeypatch)
    assert result.errors is None
    assert result.data["systemStatus"] == {
        "ok": False,
        "checks": [
            {"name": "database", "ok": True, "detail": "postgresql answers"},
            {"name": "queue:sync", "ok": False, "detail": "no live worker"},
        ],
    }


def test_operators_who_are_not_staff_get_no_detail(monkeypatch):
    result = run(_User(is_staff=False, perms={"sync.operate_sync"}), monkeypatch)
    assert result.errors is None
    assert [check["detail"] for check in result.data["systemStatus"]["checks"]] == [None, None]


def test_anyone_else_is_refused(monkeypatch):
    result = run(_User(is_staff=False, perms=set()), monkeypatch)
    assert result.data is None
    [error] = result.errors
    assert type(error.original_error) is ops_graphql.PermissionDenied


def test_the_status_is_never_served_from_the_read_cache():
    assert not cacheable_query(schema, READ_CACHE_POLICY, "{ systemStatus { ok } }", None)
