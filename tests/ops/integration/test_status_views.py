"""The system status for operators: the GraphQL ``systemStatus`` query and the admin index's panel, against
the real database, cache and broker (no worker runs, so the queue checks fail)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from ops import status as ops_status
from sync.permissions import OPERATORS_GROUP
from tests.fixtures.tokens import bearer

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
EVERY_CHECK = (
    ["database", "cache", "broker"]
    + [f"queue:{queue}" for queue in settings.CELERY_QUEUES_ALL]
    + ["beat", "telemetry", "notifications"]
)
QUERY = "{ systemStatus { ok checks { name ok detail } } }"


@pytest.fixture(autouse=True)
def fresh_status() -> Iterator[None]:
    ops_status._recent.clear()
    yield
    ops_status._recent.clear()


def gql_as(user: User) -> dict[str, Any]:
    response = Client(HTTP_AUTHORIZATION=bearer(user)).post(
        "/graphql", json.dumps({"query": QUERY}), content_type="application/json"
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_staff_get_every_check_with_its_detail():
    body = gql_as(User.objects.create_user("staff", is_staff=True))
    assert "errors" not in body, body
    status = body["data"]["systemStatus"]
    checks = {check["name"]: check for check in status["checks"]}
    assert [check["name"] for check in status["checks"]] == EVERY_CHECK
    assert checks["database"]["ok"] and checks["cache"]["ok"] and checks["broker"]["ok"]
    assert not checks["queue:sync"]["ok"] and "celery -A jiraplus worker" in checks["queue:sync"]["detail"]
    assert all(check["detail"] for check in status["checks"])
    assert status["ok"] is False  # no worker consumes the queues


def test_a_sync_operator_gets_every_check_but_no_detail():
    operator = User.objects.create_user("operator")
    operator.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    body = gql_as(operator)
    assert "errors" not in body, body
    checks = body["data"]["systemStatus"]["checks"]
    assert [check["name"] for check in checks] == EVERY_CHECK
    assert {check["detail"] for check in checks} == {None}, "details name internal addresses: staff only"


def test_a_plain_token_is_refused():
    body = gql_as(User.objects.create_user("reader"))
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "PERMISSION_DENIED" and error["path"] == ["systemStatus"]
    assert "redis" not in json.dumps(body)


def test_the_admin_index_shows_the_status_panel(admin_client):
    page = admin_client.get("/admin/").content.decode()
    panel = page.split('id="system-status"')[1].split("</table>")[0]
    assert "check" in panel and "failing" in panel
    for name in EVERY_CHECK:
        assert f'data-check="{name}"' in panel
    row = panel.split('data-check="queue:sync"')[1].split("</tr>")[0]
    assert "FAIL" in row and "celery -A jiraplus worker" in row
    assert "ok" in panel.split('data-check="database"')[1].split("</tr>")[0]
    # The panel sits above the operators' overview.
    assert page.index('id="system-status"') < page.index('id="operators-overview"')
