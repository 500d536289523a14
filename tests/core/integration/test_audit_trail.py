"""The audit trail: every control, registration, token and secret act, with who, which token, from where
and through which face; nothing for an act that failed; never a secret; read-only and purged."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from access.models import ApiToken
from core.audit.models import AuditEntry
from core.audit.trail import audit_purge
from sync.services import webhooks
from tests.fixtures.sync import register
from tests.fixtures.tokens import token_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("ada", "ada@example.com", "pw-ada-123")


def test_an_act_through_rest_records_the_user_the_token_and_the_address(fake_jira, staff):
    register(fake_jira, ["ALPHA"])
    secret = token_for(staff)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", REMOTE_ADDR="10.9.8.7")

    assert (
        client.post("/api/projects/ALPHA/pause/", {"note": "upgrade"}, "application/json").status_code == 200
    )

    entry = AuditEntry.objects.get(action="sync.pause")
    prefix = ApiToken.objects.get(user=staff).prefix
    assert (entry.target, entry.actor, entry.token, entry.address, entry.via) == (
        "project ALPHA",
        "ada",
        prefix,
        "10.9.8.7",
        "rest",
    )
    assert entry.detail == {"note": "upgrade"}


def test_graphql_and_the_admin_are_told_apart_and_a_failed_act_records_nothing(fake_jira, staff):
    register(fake_jira, ["ALPHA"])
    client = Client(REMOTE_ADDR="10.1.1.1")
    client.force_login(staff)
    before = AuditEntry.objects.count()

    missing = 'mutation { pauseProjectSync(projectId: "NOSUCH") { errors { code } } }'
    assert client.post("/graphql", {"query": missing}, "application/json").json()["data"]["pauseProjectSync"][
        "errors"
    ] == [{"code": "NOT_FOUND"}]
    assert AuditEntry.objects.count() == before

    resume = 'mutation { rescheduleProjectSync(projectId: "ALPHA", cron: "0 * * * *") { errors { code } } }'
    assert client.post("/graphql", {"query": resume}, "application/json").status_code == 200
    entry = AuditEntry.objects.get(action="sync.reschedule")
    assert (entry.actor, entry.token, entry.via, entry.detail) == (
        "ada",
        "",
        "graphql",
        {"cron": "0 * * * *"},
    )


def test_registration_tokens_and_secrets_are_recorded_without_any_secret(fake_jira, staff):
    project = register(fake_jira, ["ALPHA"])[0]
    webhooks.webhook_secret_set(site=project.site, secret="whsec-planted-1234567890")
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "ci", "--user", "ada", "--scope", "read", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    call_command("rotate_secrets", stdout=io.StringIO())

    actions = list(AuditEntry.objects.order_by("id").values_list("action", "target", "via"))
    assert actions == [
        ("site.add", "site fake", "command"),
        ("project.register", "site fake: ALPHA", "command"),
        ("site.webhook_secret", "site fake", "command"),
        ("token.create", "token ci of ada", "command"),
        ("secrets.rotate", "every encrypted field", "command"),
    ]
    stored = json.dumps(list(AuditEntry.objects.values()), default=str)
    for planted in (fake_jira.api_token, "whsec-planted-1234567890", secret):
        assert planted not in stored


def test_the_trail_is_read_only_in_the_admin_and_purged_after_its_window(staff):
    AuditEntry.objects.create(
        action="sync.pause", target="project OLD", via="command", at=timezone.now() - timedelta(days=400)
    )
    AuditEntry.objects.create(action="sync.pause", target="project NEW", via="command")
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/audit/auditentry/")
    assert page.status_code == 200 and "project NEW" in page.content.decode()
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    entry = AuditEntry.objects.get(target="project NEW")
    client.post(f"/admin/audit/auditentry/{entry.id}/change/", {"action": "forged"})
    assert AuditEntry.objects.get(id=entry.id).action == "sync.pause"

    assert audit_purge() == 1
    assert list(AuditEntry.objects.values_list("target", flat=True)) == ["project NEW"]


def test_staff_query_the_trail_over_rest_with_an_admin_token(staff):
    for target in ("project ALPHA", "project BETA", "project ALPHA"):
        AuditEntry.objects.create(action="sync.pause", target=target, actor="ada", via="rest")
    AuditEntry.objects.create(action="token.create", target="token ci of ada", via="command")
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(staff, ['admin'])}")

    page = admin.get("/api/audit/", {"action": "sync.pause", "target": "alpha"}).json()
    assert [e["target"] for e in page["results"]] == ["project ALPHA", "project ALPHA"]
    assert admin.get("/api/audit/", {"since": "yesterday"}).json()["field"] == "since"

    reader = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(staff, ['read'])}")
    assert reader.get("/api/audit/").status_code == 403  # needs the admin scope
    clerk = User.objects.create_user("clerk", password="pw-clerk-123")
    not_staff = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(clerk, ['admin'])}")
    assert not_staff.get("/api/audit/").json()["message"] == "The audit trail is for staff users"
