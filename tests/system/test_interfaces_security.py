"""Secrets stay secret and every endpoint asks who is calling."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from sync.models import JiraSite

pytestmark = pytest.mark.django_db

TOKEN = "ATATT-very-secret-token-value-123"


@pytest.fixture
def site():
    return JiraSite.objects.create(
        name="acme", base_url="https://acme.example", email="ops@acme.example", api_token=TOKEN
    )


def test_the_token_column_holds_only_ciphertext(site):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_token FROM sync_jirasite WHERE id = %s", [site.id])
        (raw,) = cursor.fetchone()
    assert TOKEN not in raw
    assert JiraSite.objects.get(id=site.id).api_token == TOKEN


def test_the_admin_never_renders_the_token(admin_client, site):
    for url in ("/admin/sync/jirasite/", f"/admin/sync/jirasite/{site.id}/change/"):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert TOKEN not in response.content.decode()


def test_saving_a_site_in_the_admin_without_a_token_keeps_the_stored_one(admin_client, site):
    response = admin_client.post(
        f"/admin/sync/jirasite/{site.id}/change/",
        {
            "name": "acme",
            "base_url": "https://acme.example",
            "deployment": "cloud",
            "auth_kind": "basic",
            "email": "ops@acme.example",
            "api_token": "",
        },
    )
    assert response.status_code == 302
    assert JiraSite.objects.get(id=site.id).api_token == TOKEN


@pytest.mark.parametrize("url", ["/api/", "/graphql"])
def test_endpoints_refuse_anonymous_callers(client, url):
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code in (401, 403)


def test_an_authenticated_caller_reaches_the_api(admin_client, site):
    response = admin_client.get("/api/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert TOKEN not in response.content.decode()


@pytest.mark.parametrize("url", ["https://169.254.169.254", "https://127.0.0.1:9", "http://8.8.8.8"])
def test_registering_a_site_on_a_private_or_plain_http_url_is_refused_and_saves_nothing(
    url, settings, monkeypatch
):
    settings.JIRAPLUS_ALLOW_PRIVATE_JIRA = False
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)

    with pytest.raises(CommandError) as caught:
        call_command("jira_site", "add", "--name", "evil", "--url", url, "--email", "me@example.com")

    assert "URL_NOT_ALLOWED" in str(caught.value)
    assert "JIRAPLUS_ALLOW_PRIVATE_JIRA" in str(caught.value)
    assert not JiraSite.objects.exists()
