"""The communication service in-process: validation, routing, idempotency, delivery bookkeeping against a
local HTTP receiver, secrets at rest and the admin. The worker-driven end-to-end tests are in
test_notification_delivery.py."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs

import pytest
from anymail.exceptions import AnymailAPIError
from django.core.mail import EmailMultiAlternatives
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from core.errors import InvalidInput
from notifications import delivery, services
from notifications.models import ChannelConfig, Notification, Route
from tests.fixtures.receivers import HttpReceiver, Reply

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

WEBHOOK_PATH = "/services/T01/B02/very-secret-webhook-path"


def message(**overrides) -> Notification:
    fields = {
        "channel": "slack",
        "recipient": "#ops",
        "subject": "Subject",
        "text": "Text",
        "idempotency_key": "key-1",
        **overrides,
    }
    return services.message_send(**fields)


def configure(channel: str, **fields) -> ChannelConfig:
    config, _ = ChannelConfig.objects.update_or_create(channel=channel, defaults=fields)
    return config


@pytest.fixture
def recipients(settings):
    settings.NOTIFY_EMAIL_TO = ["ops@example.com", "cto@example.com"]
    settings.NOTIFY_WHATSAPP_TO = ["+14155550123"]
    settings.NOTIFY_SLACK_CHANNEL = "#alerts"


def test_the_default_routes_send_billing_to_email_and_whatsapp_and_latency_to_slack():
    routes = {(r.category, r.channel) for r in Route.objects.filter(enabled=True)}
    assert {("SUSPENDED_PAYMENT", "email"), ("SUSPENDED_PAYMENT", "whatsapp")} <= routes
    assert {
        ("TOKEN_EXPIRED", "email"),
        ("TOKEN_EXPIRED", "whatsapp"),
        ("SITE_DEACTIVATED", "whatsapp"),
    } <= routes
    assert {("RATE_LIMIT", "slack"), ("SLOW_SYNC", "slack")} <= routes
    assert {("RECOVERED", "email"), ("RECOVERED", "slack"), ("ORCHESTRATION_FAILED", "email")} <= routes
    assert ("CHANNEL_DISABLED", "email") in routes
    assert (services.CATCH_ALL, "email") in routes  # everything else reaches the operators
    assert not {c for cat, c in routes if cat == "RATE_LIMIT"} - {"slack"}


def test_notify_fans_out_through_the_routes_keyed_per_route(recipients):
    sent = services.message_publish(
        category="SUSPENDED_PAYMENT",
        subject="Payment lapsed for acme",
        text="Jira suspended the site.",
        facts={"Site": "acme", "Error": "SUSPENDED_PAYMENT"},
        link="https://jiraplus.example/admin/",
        idempotency_key="episode-1",
    )
    by_channel = {n.channel: n for n in sent}
    assert set(by_channel) == {"email", "whatsapp"}
    routes = {r.channel: r for r in Route.objects.filter(category="SUSPENDED_PAYMENT")}
    for channel, notification in by_channel.items():
        assert notification.idempotency_key == f"episode-1:{routes[channel].id}"
        assert notification.status == "QUEUED"
        assert notification.category == "SUSPENDED_PAYMENT"
        stored = Notification.objects.get(id=notification.id).facts
        assert list(stored.items()) == [
            ("Site", "acme"),
            ("Error", "SUSPENDED_PAYMENT"),
        ]  # in the given order
    assert by_channel["email"].recipient == "ops@example.com, cto@example.com"
    assert by_channel["whatsapp"].recipient == "+14155550123"

    again = services.message_publish(
        category="SUSPENDED_PAYMENT", subject="x", text="y", idempotency_key="episode-1"
    )
    assert sorted(n.id for n in again) == sorted(n.id for n in sent)
    assert Notification.objects.count() == 2


def test_a_route_with_its_own_recipients_overrides_the_defaults_and_disabled_routes_are_skipped(recipients):
    Route.objects.filter(category="RECOVERED", channel="email").update(recipients="lead@example.com")
    Route.objects.filter(category="RECOVERED", channel="slack").update(enabled=False)
    [sent] = services.message_publish(category="RECOVERED", subject="Back", text="ok", idempotency_key="r-1")
    assert (sent.channel, sent.recipient) == ("email", "lead@example.com")


def test_several_whatsapp_recipients_get_one_message_each(recipients, settings):
    settings.NOTIFY_WHATSAPP_TO = ["+14155550123", "+447700900123"]
    Route.objects.filter(category="TOKEN_EXPIRED", channel="email").delete()
    sent = services.message_publish(
        category="TOKEN_EXPIRED", subject="Token", text="t", idempotency_key="t-1"
    )
    route = Route.objects.get(category="TOKEN_EXPIRED", channel="whatsapp")
    assert sorted((n.recipient, n.idempotency_key) for n in sent) == [
        ("+14155550123", f"t-1:{route.id}:+14155550123"),
        ("+447700900123", f"t-1:{route.id}:+447700900123"),
    ]


def test_a_route_without_recipients_is_recorded_as_failed_not_dropped(settings):
    settings.NOTIFY_EMAIL_TO = []
    [sent] = services.message_publish(
        category="ORCHESTRATION_FAILED", subject="s", text="t", idempotency_key="o-1"
    )
    assert (sent.status, sent.error_code) == ("FAILED", "NO_RECIPIENTS")
    assert "NOTIFY_EMAIL_TO" in sent.error_message


def test_an_invalid_route_recipient_is_recorded_and_the_other_routes_still_send(recipients):
    Route.objects.filter(category="SUSPENDED_PAYMENT", channel="whatsapp").update(recipients="0155 1234")
    sent = services.message_publish(
        category="SUSPENDED_PAYMENT", subject="s", text="t", idempotency_key="bad-1"
    )
    by_channel = {n.channel: n for n in sent}
    assert by_channel["email"].status == "QUEUED"
    assert (by_channel["whatsapp"].status, by_channel["whatsapp"].error_code) == (
        "FAILED",
        "INVALID_RECIPIENT",
    )
    assert "international format" in by_channel["whatsapp"].error_message


def test_the_admin_refuses_a_route_recipient_its_channel_cannot_reach(admin_client):
    route = Route.objects.get(category="TOKEN_EXPIRED", channel="whatsapp")
    response = admin_client.post(
        f"/admin/notifications/route/{route.id}/change/",
        {
            "category": "TOKEN_EXPIRED",
            "channel": "whatsapp",
            "recipients": "+14155550123, 0155",
            "enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "not a phone number in international format" in response.content.decode()
    assert Route.objects.get(id=route.id).recipients == ""


def test_a_category_without_routes_reaches_the_operators_through_the_catch_all(recipients):
    catch_all = Route.objects.get(category=services.CATCH_ALL, channel="email")
    [sent] = services.message_publish(category="NOBODY_ROUTED", subject="s", text="t", idempotency_key="n-1")
    assert (sent.channel, sent.recipient, sent.category) == (
        "email",
        "ops@example.com, cto@example.com",
        "NOBODY_ROUTED",
    )
    assert (sent.route_id, sent.idempotency_key, sent.status) == (
        catch_all.id,
        f"n-1:{catch_all.id}",
        "QUEUED",
    )


def test_a_category_route_wins_over_the_catch_all_until_it_is_disabled(recipients):
    own = Route.objects.get(category="RATE_LIMIT", channel="slack")
    catch_all = Route.objects.get(category=services.CATCH_ALL, channel="email")
    [routed] = services.message_publish(category="RATE_LIMIT", subject="s", text="t", idempotency_key="w-1")
    assert (routed.channel, routed.route_id) == ("slack", own.id)
    Route.objects.filter(category="RATE_LIMIT").update(enabled=False)
    [fallback] = services.message_publish(category="RATE_LIMIT", subject="s", text="t", idempotency_key="w-2")
    assert (fallback.channel, fallback.route_id) == ("email", catch_all.id)


def test_the_catch_all_is_editable_like_any_route(recipients):
    Route.objects.filter(category=services.CATCH_ALL).update(recipients="night@example.com")
    Route.objects.create(category=services.CATCH_ALL, channel="slack", recipients="#incidents")
    sent = services.message_publish(category="NETWORK_GLITCH", subject="s", text="t", idempotency_key="e-1")
    assert sorted((n.channel, n.recipient) for n in sent) == [
        ("email", "night@example.com"),
        ("slack", "#incidents"),
    ]


def test_without_an_enabled_catch_all_a_category_without_routes_sends_nothing_and_says_so(caplog):
    Route.objects.filter(category=services.CATCH_ALL).update(enabled=False)
    assert (
        services.message_publish(category="NOBODY_CARES", subject="s", text="t", idempotency_key="n-1") == []
    )
    assert "no enabled route for notification category NOBODY_CARES" in caplog.text


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"channel": "fax"}, "channel", "INVALID_INPUT"),
        ({"channel": "email", "recipient": "not-an-address"}, "recipient", "INVALID_INPUT"),
        ({"channel": "email", "recipient": "a@example.com", "cc": "b@"}, "cc", "INVALID_INPUT"),
        (
            {"channel": "email", "recipient": "a@example.com", "attachments": [{"filename": "x"}]},
            "attachments",
            "INVALID_INPUT",
        ),
        ({"channel": "email", "recipient": "a@example.com", "priority": "high"}, "priority", "INVALID_INPUT"),
        ({"channel": "whatsapp", "recipient": "0155 1234"}, "recipient", "INVALID_INPUT"),
        ({"channel": "slack", "recipient": " "}, "recipient", "INVALID_INPUT"),
        ({"cc": "x@example.com"}, "cc", "INVALID_INPUT"),  # Slack takes no cc
        ({"idempotency_key": ""}, "idempotency_key", "INVALID_INPUT"),
        ({"subject": ""}, "subject", "INVALID_INPUT"),
        ({"subject": "Two\nlines"}, "subject", "INVALID_INPUT"),
        ({"link": "javascript:alert(1)"}, "link", "INVALID_INPUT"),
        ({"category": "X" * 65}, "category", "INVALID_INPUT"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_saved(overrides, field, code):
    with pytest.raises(InvalidInput) as raised:
        message(**overrides)
    assert (raised.value.field, raised.value.code) == (field, code)
    assert raised.value.message
    assert not Notification.objects.exists()


def test_a_message_to_a_disabled_channel_is_recorded_as_failed():
    configure("slack", enabled=False, disabled_reason="5 consecutive failures")
    sent = message()
    assert (sent.status, sent.error_code) == ("FAILED", "CHANNEL_DISABLED")
    assert "5 consecutive failures" in sent.error_message


def test_a_slack_bot_token_posts_to_chat_post_message_with_the_channel(http_receiver: HttpReceiver):
    http_receiver.default = Reply(body={"ok": True, "ts": "1733000000.000100"})
    configure(
        "slack", secret="xoxb-bot-token-123", options={"api_url": f"{http_receiver.url}/api/chat.postMessage"}
    )
    notification = message(recipient="#ops", facts={"Project": "ALPHA"})
    outcome = delivery.deliver(notification_id=notification.id)
    assert outcome.status == "SENT"
    assert Notification.objects.get(id=notification.id).provider_id == "1733000000.000100"
    [request] = http_receiver.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == "Bearer xoxb-bot-token-123"
    body = request.json()
    assert body["channel"] == "#ops"
    assert body["blocks"][2] == {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": "*Project*\nALPHA"}],
    }


def test_slack_api_errors_are_told_apart_retryable_from_permanent(http_receiver: HttpReceiver):
    http_receiver.then(
        Reply(body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "7"}),
        Reply(body={"ok": False, "error": "channel_not_found"}),
    )
    configure("slack", secret="xoxb-bot-token-123", options={"api_url": http_receiver.url})
    notification = message()
    first = delivery.deliver(notification_id=notification.id)
    row = Notification.objects.get(id=notification.id)
    assert (first.status, row.error_code, row.attempts) == ("RETRYING", "RATE_LIMITED", 1)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=6)  # Retry-After honoured

    Notification.objects.filter(id=notification.id).update(next_attempt_at=timezone.now())
    second = delivery.deliver(notification_id=notification.id)
    row.refresh_from_db()
    assert (second.status, row.error_code, row.attempts) == ("FAILED", "SLACK_CHANNEL_NOT_FOUND", 2)


def test_a_retry_is_not_sent_before_its_time(http_receiver: HttpReceiver):
    configure("slack", secret=f"{http_receiver.url}{WEBHOOK_PATH}")
    notification = message()
    Notification.objects.filter(id=notification.id).update(
        status="RETRYING", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert delivery.deliver(notification_id=notification.id).status == "SKIPPED"
    assert http_receiver.requests == []


def test_twilio_sends_the_template_with_the_facts_as_content_variables(http_receiver: HttpReceiver):
    http_receiver.default = Reply(201, {"sid": "SM123"})
    configure(
        "whatsapp",
        secret="twilio-auth-token",
        options={
            "provider": "twilio",
            "account_sid": "AC42",
            "from_number": "+15005550006",
            "content_sid": "HX99",
            "api_url": http_receiver.url,
        },
    )
    notification = message(
        channel="whatsapp",
        recipient="+14155550123",
        subject="Token expired",
        facts={"Site": "acme", "Error": "TOKEN_EXPIRED"},
    )
    assert delivery.deliver(notification_id=notification.id).status == "SENT"
    assert Notification.objects.get(id=notification.id).provider_id == "SM123"
    [request] = http_receiver.requests
    assert request.path == "/2010-04-01/Accounts/AC42/Messages.json"
    assert request.headers["Authorization"].startswith("Basic ")
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    variables = json.loads(form.pop("ContentVariables"))
    assert form == {"To": "whatsapp:+14155550123", "From": "whatsapp:+15005550006", "ContentSid": "HX99"}
    assert variables == {"1": "Token expired", "2": "Site: acme · Error: TOKEN_EXPIRED", "3": "-"}


def test_an_unconfigured_whatsapp_channel_fails_permanently_with_what_is_missing():
    configure("whatsapp", options={}, secret="")
    notification = message(channel="whatsapp", recipient="+14155550123")
    assert delivery.deliver(notification_id=notification.id).status == "FAILED"
    row = Notification.objects.get(id=notification.id)
    assert row.error_code == "NOT_CONFIGURED"
    assert "phone_number_id" in row.error_message


def test_a_send_lost_with_its_worker_is_failed_as_unknown_never_sent_again(http_receiver: HttpReceiver):
    configure("slack", secret=f"{http_receiver.url}{WEBHOOK_PATH}")
    notification = message()
    Notification.objects.filter(id=notification.id).update(
        status="SENDING", attempts=1, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert delivery.deliver(notification_id=notification.id).status == "FAILED"
    assert Notification.objects.get(id=notification.id).error_code == "DELIVERY_UNKNOWN"
    assert http_receiver.requests == []


def test_a_webhook_url_never_reaches_stored_errors_or_logs(caplog):
    dead = "http://127.0.0.1:9/services/T01/B02/very-secret-webhook-path"  # port 9: nothing listens
    configure("slack", secret=dead)
    notification = message()
    assert delivery.deliver(notification_id=notification.id).status == "RETRYING"
    row = Notification.objects.get(id=notification.id)
    assert row.error_code == "NETWORK_ERROR"
    assert "very-secret-webhook-path" not in row.error_message
    assert "very-secret-webhook-path" not in caplog.text


def test_channel_secrets_are_only_ciphertext_in_the_database():
    configure("slack", secret=f"https://hooks.slack.example{WEBHOOK_PATH}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notifications_channelconfig WHERE channel = 'slack'")
        (raw,) = cursor.fetchone()
    assert raw and WEBHOOK_PATH not in raw
    assert ChannelConfig.objects.get(channel="slack").secret.endswith(WEBHOOK_PATH)


def test_the_admin_never_renders_channel_secrets(admin_client):
    config = configure("slack", secret=f"https://hooks.slack.example{WEBHOOK_PATH}")
    configure("email")  # no secret
    listing = admin_client.get("/admin/notifications/channelconfig/").content.decode()
    # Only email's "secret set" is false (every other boolean on the page is true).
    assert 'alt="False"' in listing
    for url in (
        "/admin/notifications/channelconfig/",
        f"/admin/notifications/channelconfig/{config.id}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert "very-secret-webhook-path" not in response.content.decode()


def test_saving_a_channel_without_a_secret_keeps_the_stored_one_and_clear_removes_it(admin_client):
    config = configure("slack", secret=f"https://hooks.slack.example{WEBHOOK_PATH}")
    form = {"channel": "slack", "enabled": "on", "options": "{}", "secret": ""}
    url = f"/admin/notifications/channelconfig/{config.id}/change/"
    assert admin_client.post(url, form).status_code == 302
    assert ChannelConfig.objects.get(id=config.id).secret.endswith(WEBHOOK_PATH)
    assert admin_client.post(url, {**form, "clear_secret": "on"}).status_code == 302
    assert ChannelConfig.objects.get(id=config.id).secret == ""


def test_the_admin_refuses_secrets_in_the_clear_options(admin_client):
    config = configure("whatsapp")
    response = admin_client.post(
        f"/admin/notifications/channelconfig/{config.id}/change/",
        {"channel": "whatsapp", "enabled": "on", "options": '{"access_token": "EAAG"}', "secret": ""},
    )
    assert response.status_code == 200
    assert "looks like a secret" in response.content.decode()
    assert ChannelConfig.objects.get(id=config.id).options == {}


def test_the_admin_test_message_action_queues_a_message_to_the_default_recipients(admin_client, recipients):
    config = configure("email")
    response = admin_client.post(
        "/admin/notifications/channelconfig/",
        {"action": "send_test_message", "_selected_action": [config.id]},
        follow=True,
    )
    assert response.status_code == 200
    [test] = Notification.objects.filter(category="TEST")
    assert (test.channel, test.recipient, test.status) == (
        "email",
        "ops@example.com, cto@example.com",
        "QUEUED",
    )
    assert "queued on Email" in response.content.decode()


def test_the_admin_test_message_action_explains_a_missing_recipient(admin_client, settings):
    settings.NOTIFY_WHATSAPP_TO = []
    config = configure("whatsapp")
    response = admin_client.post(
        "/admin/notifications/channelconfig/",
        {"action": "send_test_message", "_selected_action": [config.id]},
        follow=True,
    )
    assert "No recipient for a WhatsApp test message" in response.content.decode()
    assert not Notification.objects.exists()


def test_the_admin_lists_notifications_with_status_attempts_and_error(admin_client):
    failed = message()
    Notification.objects.filter(id=failed.id).update(status="FAILED", attempts=3, error_code="SERVER_ERROR")
    response = admin_client.get("/admin/notifications/notification/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "SERVER_ERROR" in page and "Failed" in page
    assert admin_client.get("/admin/notifications/route/").status_code == 200


def test_retrying_a_failed_message_queues_it_again_and_only_failed_ones(admin_client):
    failed = message()
    Notification.objects.filter(id=failed.id).update(status="FAILED", attempts=3, error_code="SERVER_ERROR")
    retried = services.notification_retry(notification_id=failed.id)
    assert (retried.status, retried.attempts, retried.error_code) == ("QUEUED", 0, "")
    with pytest.raises(InvalidInput):
        services.notification_retry(notification_id=failed.id)


def test_enabling_a_disabled_channel_resets_its_failure_streak():
    configure("slack", enabled=False, consecutive_failures=5, disabled_reason="5 consecutive failures")
    config = services.channel_enable(channel="slack")
    assert (config.enabled, config.consecutive_failures, config.disabled_reason) == (True, 0, "")


def test_the_sweep_republishes_messages_whose_task_went_missing_and_settles_lost_sends(
    django_capture_on_commit_callbacks,
):
    long_ago = timezone.now() - timedelta(minutes=10)
    overdue = message(idempotency_key="overdue")
    stuck = message(idempotency_key="stuck")
    fresh = message(idempotency_key="fresh")
    lost = message(idempotency_key="lost")
    Notification.objects.filter(id=overdue.id).update(status="RETRYING", next_attempt_at=long_ago)
    Notification.objects.filter(id=stuck.id).update(updated_at=long_ago)
    Notification.objects.filter(id=lost.id).update(status="SENDING", lease_expires_at=long_ago)
    with django_capture_on_commit_callbacks() as published:
        due = delivery.requeue_due()
    assert due == [overdue.id, stuck.id]
    assert fresh.id not in due
    assert len(published) == 2
    assert Notification.objects.get(id=lost.id).error_code == "DELIVERY_UNKNOWN"


def test_email_goes_through_the_configured_email_backend_such_as_anymail(settings, mailoutbox):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    configure("email", options={})  # no host: the project's EMAIL_BACKEND applies
    notification = message(
        channel="email", recipient="ops@example.com", subject="Via a provider", cc="a@example.com"
    )
    assert delivery.deliver(notification_id=notification.id).status == "SENT"
    [sent] = mailoutbox
    assert (sent.subject, sent.to, sent.cc) == ("Via a provider", ["ops@example.com"], ["a@example.com"])
    assert sent.anymail_status.status == {"sent"}
    assert Notification.objects.get(id=notification.id).provider_id == str(sent.anymail_status.message_id)


def test_an_email_throttled_by_the_provider_is_retried_as_rate_limited(settings, mailoutbox, monkeypatch):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    configure("email", options={})
    notification = message(channel="email", recipient="ops@example.com")
    # anymail's test backend answers with the message's anymail_test_response when there is one.
    throttled = AnymailAPIError("throttled", status_code=429)
    monkeypatch.setattr(EmailMultiAlternatives, "anymail_test_response", throttled, raising=False)
    assert delivery.deliver(notification_id=notification.id).status == "RETRYING"
    assert Notification.objects.get(id=notification.id).error_code == "RATE_LIMITED"


def test_a_success_ends_the_channels_failure_streak(http_receiver: HttpReceiver):
    configure(
        "slack", secret=f"{http_receiver.url}{WEBHOOK_PATH}", consecutive_failures=3, last_error_code="X"
    )
    assert delivery.deliver(notification_id=message().id).status == "SENT"
    config = ChannelConfig.objects.get(channel="slack")
    assert config.consecutive_failures == 0
    assert config.last_success_at is not None
    assert config.healthy


def test_the_command_shows_channel_health_and_routes_without_secrets():
    configure("slack", secret=f"https://hooks.slack.example{WEBHOOK_PATH}", consecutive_failures=2)
    out = StringIO()
    call_command("notifications", "status", stdout=out)
    text = out.getvalue()
    assert "slack\tfailing\tsecret set\tfailures in a row 2" in text
    assert "email\tnot configured" in text
    assert "route\tRATE_LIMIT → slack\t(defaults)\ton" in text
    assert "route\t* (catch-all) → email\t(defaults)\ton" in text
    assert "very-secret-webhook-path" not in text


def test_the_command_queues_a_test_message_or_explains_why_not(settings):
    settings.NOTIFY_WHATSAPP_TO = []
    out = StringIO()
    call_command("notifications", "test", "--channel", "email", "--to", "ops@example.com", stdout=out)
    assert "Queued test message" in out.getvalue()
    assert Notification.objects.get(category="TEST").recipient == "ops@example.com"
    with pytest.raises(CommandError, match="No recipient for a WhatsApp test message"):
        call_command("notifications", "test", "--channel", "whatsapp")


def test_installing_the_default_routes_restores_missing_ones_and_keeps_edited_ones():
    Route.objects.filter(category="RATE_LIMIT").delete()
    Route.objects.filter(category="RECOVERED", channel="email").update(recipients="lead@example.com")
    call_command("notifications", "install-default-routes", stdout=StringIO())
    expected = {(c, ch) for c, channels in services.DEFAULT_ROUTES.items() for ch in channels}
    assert {(r.category, r.channel) for r in Route.objects.all()} >= expected
    assert Route.objects.get(category="RECOVERED", channel="email").recipients == "lead@example.com"


def test_a_secret_encrypted_with_a_lost_key_fails_the_message_with_a_clear_code(admin_client):
    configure("slack", secret="https://hooks.slack.example/services/T/B/x")
    with connection.cursor() as cursor:  # what a key removed from JIRAPLUS_SECRET_KEYS leaves behind
        cursor.execute(
            "UPDATE notifications_channelconfig SET secret = 'gAAAAAbogus' WHERE channel = 'slack'"
        )
    notification = message()
    assert delivery.deliver(notification_id=notification.id).status == "FAILED"
    row = Notification.objects.get(id=notification.id)
    assert row.error_code == "SECRET_UNREADABLE"
    assert "JIRAPLUS_SECRET_KEYS" in row.error_message
    counted = ChannelConfig.objects.defer("secret").get(channel="slack")
    assert counted.consecutive_failures == 1
    listing = admin_client.get("/admin/notifications/channelconfig/")  # the health page still opens
    assert listing.status_code == 200
    assert "SECRET_UNREADABLE" in listing.content.decode()


def test_an_accepted_message_with_an_unreadable_answer_is_sent_not_failed(http_receiver: HttpReceiver):
    http_receiver.default = Reply(200, b"<html>accepted</html>")
    configure("whatsapp", secret="EAAG-token", options={"phone_number_id": "1", "api_url": http_receiver.url})
    notification = message(channel="whatsapp", recipient="+14155550123")
    assert delivery.deliver(notification_id=notification.id).status == "SENT"  # 2xx: it went out
    assert Notification.objects.get(id=notification.id).provider_id == ""
