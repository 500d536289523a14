"""Setting a site's webhook secret (admin, command) and what a site without one answers."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from sync.models import JiraSite, WebhookEvent
from sync.services import webhooks

pytestmark = pytest.mark.django_db

SECRET = "admin-typed-webhook-secret-0123"


@pytest.fixture
def site():
    return JiraSite.objects.create(
        name="acme", base_url="https://acme.example", email="ops@acme.example", api_token="token-value-1234"
    )


def _stored(site: JiraSite) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_secret FROM sync_jirasite WHERE id = %s", [site.id])
        (raw,) = cursor.fetchone()
    return str(raw)


def _form(**changes: str) -> dict[str, str]:
    return {
        "name": "acme",
        "base_url": "https://acme.example",
        "deployment": "cloud",
        "auth_kind": "basic",
        "email": "ops@acme.example",
        "api_token": "",
        "webhook_secret": "",
        **changes,
    }


def test_the_admin_sets_the_webhook_secret_write_only_and_shows_webhook_status(admin_client, site):
    response = admin_client.post(f"/admin/sync/jirasite/{site.id}/change/", _form(webhook_secret=SECRET))
    assert response.status_code == 302
    assert JiraSite.objects.get(id=site.id).webhook_secret == SECRET
    assert SECRET not in _stored(site)  # ciphertext only

    response = admin_client.post(f"/admin/sync/jirasite/{site.id}/change/", _form())
    assert response.status_code == 302
    assert JiraSite.objects.get(id=site.id).webhook_secret == SECRET  # empty keeps it

    WebhookEvent.objects.create(site=site, identifier="a", event="jira:issue_updated", issue_jira_id=1)
    for url in ("/admin/sync/jirasite/", f"/admin/sync/jirasite/{site.id}/change/"):
        page = admin_client.get(url).content.decode()
        assert SECRET not in page
        assert "Webhooks today" in page
    assert (
        f"/webhooks/jira/{site.id}/"
        in admin_client.get(f"/admin/sync/jirasite/{site.id}/change/").content.decode()
    )


def test_a_short_webhook_secret_is_refused_with_advice(admin_client, site):
    response = admin_client.post(f"/admin/sync/jirasite/{site.id}/change/", _form(webhook_secret="short"))
    assert response.status_code == 200 and "at least 16 characters" in response.content.decode()
    with pytest.raises(webhooks.InvalidInput) as refused:
        webhooks.webhook_secret_set(site=site, secret="short")
    assert refused.value.field == "secret"
    assert not JiraSite.objects.get(id=site.id).webhook_secret


def test_the_command_generates_a_secret_shows_it_once_and_stores_it_encrypted(site):
    out = io.StringIO()
    call_command("jira_site", "webhook-secret", "--name", "acme", stdout=out)
    secret = out.getvalue().split("Generated secret: ")[1].strip()
    assert len(secret) >= 32
    assert JiraSite.objects.get(id=site.id).webhook_secret == secret
    assert secret not in _stored(site)
    assert f"/webhooks/jira/{site.id}/" in out.getvalue()


def test_a_site_without_a_secret_refuses_webhooks(client, site):
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1"}})
    response = client.post(f"/webhooks/jira/{site.id}/", data=body, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "WEBHOOKS_DISABLED"
    assert WebhookEvent.objects.count() == 0


def test_old_webhook_events_are_purged_after_the_retention(site):
    old = WebhookEvent.objects.create(site=site, identifier="old", event="jira:issue_updated")
    WebhookEvent.objects.filter(id=old.id).update(received_at=timezone.now() - timedelta(days=8))
    WebhookEvent.objects.create(site=site, identifier="new", event="jira:issue_updated")

    assert webhooks.webhook_events_purge(older_than_days=7) == 1
    assert list(WebhookEvent.objects.values_list("identifier", flat=True)) == ["new"]
