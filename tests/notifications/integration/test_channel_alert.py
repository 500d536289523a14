"""A channel failing repeatedly raises ONE ops alert on another channel, and its next delivery a recovery
notice: Slack is a local HTTP server answering 500, the alert arrives on a real SMTP server, delivered by a
REAL Celery worker. Messages enter through POST /api/messages/ and their attempts are read back from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from notifications.models import ChannelConfig, Notification, Route
from tests.fixtures.processes import CeleryProcess, module_worker
from tests.fixtures.receivers import HttpReceiver, Reply, SmtpReceiver, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WORKER_SETTINGS = {
    "NOTIFY_MAX_ATTEMPTS": "2",
    "NOTIFY_BACKOFF_BASE": "0.2",
    "NOTIFY_BACKOFF_MAX": "1",
    "NOTIFY_ALERT_AFTER": "2",
    "NOTIFY_DISABLE_AFTER": "10",
}


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker, tmp_path_factory) -> Iterator[CeleryProcess]:
    yield from module_worker(tmp_path_factory, concurrency=1, **WORKER_SETTINGS)


@pytest.fixture
def api() -> Client:
    user = User.objects.create_user("sam", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="send_message"))
    client = Client()
    client.force_login(user)
    return client


def send_to_slack(api: Client, key: str) -> dict:
    response = api.post(
        "/api/messages/",
        {"channel": "slack", "payload": {"to": ["#deploys"], "text": f"Deploy {key} done"}},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 201, response.content
    return response.json()


def settled(api: Client, message_id: int, *statuses: str) -> dict:
    def reached() -> dict | None:
        body = api.get(f"/api/messages/{message_id}/").json()
        return body if body["status"] in statuses else None

    return wait_until(reached, timeout=30, message=f"message {message_id} never reached {statuses}")


def test_a_failing_slack_raises_one_email_alert_then_a_recovery_notice(
    worker, api, smtp_server: SmtpReceiver, http_receiver: HttpReceiver
):
    http_receiver.default = Reply(status=500, body={"error": "boom"})
    slack = {"secret": f"{http_receiver.url}/services/T0/B0/secret"}
    ChannelConfig.objects.update_or_create(channel="slack", defaults=slack)
    email = {"options": {"host": "127.0.0.1", "port": smtp_server.port, "from_email": "jp@example.com"}}
    ChannelConfig.objects.update_or_create(channel="email", defaults=email)
    for category in ("CHANNEL_FAILING", "CHANNEL_RECOVERED"):  # a flush may have removed the migration's
        Route.objects.update_or_create(
            category=category, channel="email", defaults={"recipients": "ops@example.com", "enabled": True}
        )
        Route.objects.update_or_create(
            category=category, channel="slack", defaults={"recipients": "#ops-alerts", "enabled": True}
        )

    first = settled(api, send_to_slack(api, "d-1")["id"], "FAILED")
    assert [(a["number"], a["outcome"]) for a in first["attempts"]] == [(1, "RETRYING"), (2, "FAILED")]
    assert first["attempts"][0]["reason"] == {
        "code": "SERVER_ERROR",
        "message": first["attempts"][0]["reason"]["message"],
        "retryable": True,
    }
    assert first["last_error"]["code"] == "SERVER_ERROR" and first["last_error"]["retryable"] is False
    assert smtp_server.mails == []  # one failure is not yet an episode

    settled(api, send_to_slack(api, "d-2")["id"], "FAILED")
    [alert] = wait_until(lambda: smtp_server.mails, timeout=30, message="no alert email arrived")
    assert alert.rcpt_tos == ["ops@example.com"]
    assert "Slack notification channel is failing" in alert.message["Subject"]
    assert "SERVER_ERROR" in alert.message.get_body(("plain",)).get_content()
    # Never on the failing channel itself: its CHANNEL_FAILING route was skipped.
    assert not Notification.objects.filter(category="CHANNEL_FAILING", channel="slack").exists()

    settled(api, send_to_slack(api, "d-3")["id"], "FAILED")
    assert Notification.objects.filter(category="CHANNEL_FAILING").count() == 1  # one alert per episode
    assert ChannelConfig.objects.get(channel="slack").consecutive_failures == 3

    http_receiver.default = Reply(status=200, body=b"ok")
    delivered = settled(api, send_to_slack(api, "d-4")["id"], "SENT")
    assert delivered["attempts"][-1]["reason"] is None and delivered["delivered_at"]
    wait_until(lambda: len(smtp_server.mails) == 2, timeout=30, message="no recovery email arrived")
    assert "Slack notification channel delivers again" in smtp_server.mails[1].message["Subject"]
    config = ChannelConfig.objects.get(channel="slack")
    assert config.alert_raised_at is None and config.consecutive_failures == 0
    assert Notification.objects.filter(category="CHANNEL_FAILING").count() == 1
