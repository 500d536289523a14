"""sendMessage / message(id) and POST|GET /api/messages/: permission of their own, per-channel validation,
idempotency (replay and conflict), who may read a message, the OpenAPI schema, /metrics and the dashboard.
No worker: these tests run in a transaction, so nothing is enqueued; delivery has its own tests."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from notifications.models import Attempt, ChannelConfig, Notification
from tests.fixtures.graphql import graphql
from tests.fixtures.receivers import Reply
from tests.fixtures.tokens import bearer

pytestmark = pytest.mark.django_db

SEND = """mutation($channel: Channel!, $payload: MessagePayload!, $key: String) {
  sendMessage(channel: $channel, payload: $payload, idempotencyKey: $key) {
    replayed
    message { id channel to subject status attemptCount createdAt deliveredAt
      lastError { code message retryable } }
    errors { field message code advice } } }"""
DETAIL = """query($id: ID!) { message(id: $id) { id status attemptCount deliveredAt
  lastError { code retryable } attempts { number at outcome reason { code message retryable } } } }"""
EMAIL = {
    "to": ["ops@example.com"],
    "cc": ["audit@example.com"],
    "bcc": ["hidden@example.com"],
    "subject": "Weekly report",
    "text": "All green.",
    "html": "<p>All green.</p>",
    "from": "Reports <reports@example.com>",
}


def sender(name: str = "sam", **extra) -> User:
    user = User.objects.create_user(name, password="pw", **extra)
    user.user_permissions.add(Permission.objects.get(codename="send_message"))
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, body: dict, key: str | None = "k-1", **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post("/api/messages/", body, content_type="application/json", **headers)


def test_graphql_send_message_stores_the_spec_payload_and_replays_the_same_key():
    client = logged_in(sender())
    sent = graphql(client, SEND, channel="email", payload=EMAIL, key="report-1")["sendMessage"]
    assert sent["errors"] == [] and sent["replayed"] is False
    message = sent["message"]
    assert message["channel"] == "email" and message["status"] == "QUEUED"
    assert message["to"] == "ops@example.com" and message["attemptCount"] == 0
    assert message["lastError"] is None and message["deliveredAt"] is None
    row = Notification.objects.get(id=message["id"])
    assert row.sender is not None and row.sender.username == "sam" and row.html == "<p>All green.</p>"
    assert row.options == {
        "cc": ["audit@example.com"],
        "bcc": ["hidden@example.com"],
        "from_email": "Reports <reports@example.com>",
    }

    again = graphql(client, SEND, channel="email", payload=EMAIL, key="report-1")["sendMessage"]
    assert again["replayed"] is True and again["message"]["id"] == message["id"]
    assert Notification.objects.count() == 1

    conflict = graphql(client, SEND, channel="email", payload={**EMAIL, "text": "Red."}, key="report-1")
    [error] = conflict["sendMessage"]["errors"]
    assert error["code"] == "CONFLICT" and error["field"] == "idempotencyKey"
    assert conflict["sendMessage"]["message"] is None
    assert Notification.objects.count() == 1

    # Without a key every call is its own message.
    graphql(client, SEND, channel="email", payload=EMAIL)
    graphql(client, SEND, channel="email", payload=EMAIL)
    assert Notification.objects.count() == 3


def test_staff_without_the_permission_is_refused_and_a_superuser_or_the_group_may_send():
    staff = User.objects.create_user("stella", password="pw", is_staff=True)
    refused = graphql(logged_in(staff), SEND, channel="email", payload=EMAIL)["sendMessage"]
    assert refused["errors"][0]["code"] == "PERMISSION_DENIED" and refused["message"] is None
    assert post(logged_in(staff), {"channel": "email", "payload": EMAIL}).status_code == 403
    assert Client().post("/api/messages/", {}, content_type="application/json").status_code in (401, 403)
    assert not Notification.objects.exists()

    boss = User.objects.create_superuser("boss", password="pw")
    assert post(logged_in(boss), {"channel": "email", "payload": EMAIL}).status_code == 201

    # Transactional tests flush the data migration's rows; run its group operation again (idempotent).
    migration = importlib.import_module("notifications.migrations.0008_message_api_attempts_alerts")
    group_operation = next(op for op in migration.Migration.operations if getattr(op, "code", None))
    group_operation.code(apps, None)
    member = User.objects.create_user("gina", password="pw")
    member.groups.add(Group.objects.get(name="Message senders"))
    assert post(logged_in(member), {"channel": "email", "payload": EMAIL}, key="g-1").status_code == 201


@pytest.mark.parametrize(
    ("channel", "payload", "field"),
    [
        ("email", {**EMAIL, "to": []}, "to"),
        ("email", {**EMAIL, "to": ["not-an-address"]}, "to"),
        ("email", {**EMAIL, "subject": ""}, "subject"),
        ("email", {"to": ["ops@example.com"], "subject": "Hi"}, "text"),
        ("slack", {"to": ["#ops"], "text": "Hi", "cc": ["a@example.com"]}, "cc"),
        ("slack", {"to": ["#ops", "#dev"], "text": "Hi"}, "to"),
        ("slack", {"to": ["#ops"], "text": "  "}, "text"),
        ("whatsapp", {"to": ["0123"], "text": "Hi"}, "to"),
        ("whatsapp", {"to": ["+14155550123"], "text": "Hi", "html": "<b>Hi</b>"}, "html"),
    ],
)
def test_each_channel_validates_its_payload(channel, payload, field):
    client = logged_in(sender())
    data = graphql(client, SEND, channel=channel, payload=payload)["sendMessage"]
    [error] = data["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", field), error
    response = post(client, {"channel": channel, "payload": payload})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT" and response.json()["field"] == field
    assert not Notification.objects.exists()


def test_rest_requires_the_key_answers_201_then_200_with_the_same_body_and_409_on_another_body():
    client = Client(HTTP_AUTHORIZATION=bearer(sender()))
    body = {"channel": "slack", "payload": {"to": ["#ops"], "text": "Deploy done\nAll services up."}}
    missing = post(client, body, key=None)
    assert missing.status_code == 400 and missing.json()["field"] == "Idempotency-Key"

    first = post(client, body, key="deploy-7")
    assert first.status_code == 201
    assert first.json()["subject"] == "Deploy done"  # chat messages: the text's first line
    replay = post(client, body, key="deploy-7")
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    other = post(client, {**body, "payload": {"to": ["#ops"], "text": "Deploy failed"}}, key="deploy-7")
    assert other.status_code == 409 and other.json()["code"] == "CONFLICT"
    assert Notification.objects.count() == 1

    # Keys are per sender: another client's "deploy-7" is its own message.
    other_client = logged_in(sender("otto"))
    assert post(other_client, body, key="deploy-7").status_code == 201
    assert Notification.objects.count() == 2


def test_a_message_shows_its_attempts_to_its_sender_and_staff_only():
    owner = sender()
    created = post(logged_in(owner), {"channel": "email", "payload": EMAIL}).json()
    row = Notification.objects.get(id=created["id"])
    now = timezone.now()
    Attempt.objects.create(
        notification=row,
        number=1,
        at=now,
        outcome="RETRYING",
        code="SMTP_TEMPORARY",
        message="421",
        retryable=True,
    )
    Attempt.objects.create(notification=row, number=2, at=now, outcome="SENT")
    Notification.objects.filter(id=row.id).update(status="SENT", attempts=2, sent_at=now)

    detail = graphql(logged_in(owner), DETAIL, id=row.id)["message"]
    assert detail["status"] == "SENT" and detail["attemptCount"] == 2 and detail["deliveredAt"]
    assert detail["attempts"][0]["outcome"] == "RETRYING"
    assert detail["attempts"][0]["reason"] == {"code": "SMTP_TEMPORARY", "message": "421", "retryable": True}
    assert detail["attempts"][1] == {**detail["attempts"][1], "outcome": "SENT", "reason": None}

    rest = logged_in(owner).get(f"/api/messages/{row.id}/")
    assert rest.status_code == 200
    assert [a["outcome"] for a in rest.json()["attempts"]] == ["RETRYING", "SENT"]
    assert rest.json()["attempts"][0]["reason"]["code"] == "SMTP_TEMPORARY"

    stranger = logged_in(sender("sid"))
    assert graphql(stranger, DETAIL, id=row.id)["message"] is None
    assert stranger.get(f"/api/messages/{row.id}/").status_code == 404
    staff = logged_in(User.objects.create_user("stella", password="pw", is_staff=True))
    assert graphql(staff, DETAIL, id=row.id)["message"]["id"] == str(row.id)
    assert staff.get(f"/api/messages/{row.id}/").status_code == 200


def test_a_retrying_message_reports_its_last_error_as_retryable():
    owner = sender()
    created = graphql(logged_in(owner), SEND, channel="email", payload=EMAIL)["sendMessage"]["message"]
    Notification.objects.filter(id=created["id"]).update(
        status="RETRYING", attempts=1, error_code="SMTP_TEMPORARY", error_message="421 busy"
    )
    detail = graphql(logged_in(owner), DETAIL, id=created["id"])["message"]
    assert detail["lastError"] == {"code": "SMTP_TEMPORARY", "retryable": True}


def test_the_openapi_schema_lists_the_messages_endpoints():
    schema = logged_in(sender()).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "post" in schema["paths"]["/api/messages/"]
    assert "get" in schema["paths"]["/api/messages/{message_id}/"]
    parameters = schema["paths"]["/api/messages/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters)


def test_metrics_and_the_dashboard_count_outcomes_per_channel_and_status(settings):
    settings.TELEMETRY_METRICS_TOKEN = "metrics-token-1"
    client = logged_in(sender())
    for number, channel, payload in [
        (1, "email", EMAIL),
        (2, "email", EMAIL),
        (3, "slack", {"to": ["#ops"], "text": "Hi"}),
    ]:
        post(client, {"channel": channel, "payload": payload}, key=f"m-{number}")
    slack = Notification.objects.get(channel="slack")
    Notification.objects.filter(id=slack.id).update(status="FAILED", error_code="SLACK_HTTP_500")
    first_email = Notification.objects.filter(channel="email").order_by("id")[0]
    Notification.objects.filter(id=first_email.id).update(status="SENT")
    ChannelConfig.objects.update_or_create(
        channel="slack", defaults={"consecutive_failures": 3, "alert_raised_at": timezone.now()}
    )

    body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-1").content.decode()
    assert 'jiraplus_notifications{channel="email",status="SENT"} 1.0' in body
    assert 'jiraplus_notifications{channel="email",status="QUEUED"} 1.0' in body
    assert 'jiraplus_notifications{channel="slack",status="FAILED"} 1.0' in body
    assert 'jiraplus_notification_failures{channel="slack",code="SLACK_HTTP_500"} 1.0' in body
    assert 'jiraplus_notification_channel_consecutive_failures{channel="slack"} 3.0' in body
    assert 'jiraplus_notification_channel_alerting{channel="slack"} 1.0' in body

    admin = logged_in(User.objects.create_superuser("boss", password="pw"))
    html = admin.get("/admin/telemetry/backoffstate/dashboard/").content.decode()
    assert "Notifications by channel" in html
    assert '<tr data-channel="slack">' in html and "(alerting)" in html
    assert "failed: 1" in html and "delivered: 1" in html


def test_attempts_keep_counting_when_a_failed_message_is_sent_again(settings, http_receiver):
    from notifications import delivery, services

    settings.NOTIFY_MAX_ATTEMPTS = 1
    http_receiver.default = Reply(status=500, body={"error": "boom"})
    ChannelConfig.objects.update_or_create(channel="slack", defaults={"secret": f"{http_receiver.url}/hook"})
    client = logged_in(sender())
    created = post(client, {"channel": "slack", "payload": {"to": ["#ops"], "text": "Hi"}}).json()

    assert delivery.deliver(notification_id=created["id"]).status == "FAILED"
    services.notification_retry(notification_id=created["id"])  # resets the attempt count to zero
    http_receiver.default = Reply(status=200, body=b"ok")
    assert delivery.deliver(notification_id=created["id"]).status == "SENT"

    detail = client.get(f"/api/messages/{created['id']}/").json()
    assert [(a["number"], a["outcome"]) for a in detail["attempts"]] == [(1, "FAILED"), (2, "SENT")]
    assert detail["attempts"][0]["reason"]["code"] == "SERVER_ERROR"
    assert detail["last_error"] is None and detail["delivered_at"]


def test_the_admin_shows_a_message_with_its_attempts():
    created = post(logged_in(sender()), {"channel": "email", "payload": EMAIL}).json()
    at = timezone.now()
    Attempt.objects.create(
        notification_id=created["id"],
        number=1,
        at=at,
        outcome="FAILED",
        code="SMTP_REFUSED",
        message="550 no",
    )
    admin = logged_in(User.objects.create_superuser("boss", password="pw"))
    page = admin.get(f"/admin/notifications/notification/{created['id']}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "SMTP_REFUSED" in html and "550 no" in html


def test_a_send_lost_with_its_worker_is_an_attempt_of_unknown_outcome():
    from datetime import timedelta

    from notifications import delivery

    client = logged_in(sender())
    created = post(client, {"channel": "email", "payload": EMAIL}).json()
    Notification.objects.filter(id=created["id"]).update(
        status="SENDING", attempts=1, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    delivery.requeue_due()
    detail = client.get(f"/api/messages/{created['id']}/").json()
    assert detail["status"] == "FAILED"
    [attempt] = detail["attempts"]
    assert attempt["outcome"] == "FAILED" and attempt["reason"]["code"] == "DELIVERY_UNKNOWN"
    assert attempt["reason"]["retryable"] is False and "mid-send" in attempt["reason"]["message"]


def test_the_retention_purge_takes_a_message_s_attempts_with_it():
    from datetime import timedelta

    from notifications.retention import notifications_purge

    created = post(logged_in(sender()), {"channel": "email", "payload": EMAIL}).json()
    old = timezone.now() - timedelta(days=400)
    Attempt.objects.create(notification_id=created["id"], number=1, at=old, outcome="SENT")
    Notification.objects.filter(id=created["id"]).update(status="SENT", created_at=old)
    assert notifications_purge() == 1
    assert not Attempt.objects.exists() and not Notification.objects.exists()
