"""Old classifier code names (RATE_LIMITED, NETWORK) stay accepted where operators and callers typed them:
a route saved in the admin, the admin's route search, and the category of a published or sent message are
the renamed code's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from notifications import services
from notifications.models import Route

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_a_message_published_under_an_old_name_takes_the_renamed_codes_routes(settings):
    settings.NOTIFY_SLACK_CHANNEL = "#ops"
    services.route_defaults_install()
    own = Route.objects.get(category="RATE_LIMIT", channel="slack")

    [routed] = services.message_publish(category="RATE_LIMITED", subject="s", text="t", idempotency_key="a-1")
    sent = services.message_send(
        channel="slack", recipient="#ops", subject="s", text="t", category="NETWORK", idempotency_key="a-2"
    )

    assert (routed.route_id, routed.category) == (own.id, "RATE_LIMIT")
    assert sent.category == "NETWORK_GLITCH"
    assert [r.id for r in services.routes_for("RATE_LIMITED")] == [own.id]


def test_a_route_saved_in_the_admin_under_an_old_name_is_the_renamed_codes(admin_client):
    Route.objects.filter(category__in=["NETWORK", "NETWORK_GLITCH"]).delete()

    response = admin_client.post(
        "/admin/notifications/route/add/",
        {"category": " NETWORK ", "channel": "email", "recipients": "ops@example.com", "enabled": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Route.objects.filter(category="NETWORK_GLITCH", channel="email").exists()
    again = admin_client.post(
        "/admin/notifications/route/add/",
        {"category": "NETWORK_GLITCH", "channel": "email", "recipients": "", "enabled": "on"},
    )
    assert again.status_code == 200 and "already exists" in again.content.decode()


def test_the_admins_route_search_finds_a_renamed_code_by_its_old_name(admin_client):
    services.route_defaults_install()

    page = admin_client.get("/admin/notifications/route/", {"q": "RATE_LIMITED"}).content.decode()

    assert "RATE_LIMIT → slack" in page and "SLOW_SYNC" not in page
