"""End-to-end delivery: messages accepted by the service are sent by a REAL Celery worker to a real SMTP
server and a local HTTP server standing in for Slack and WhatsApp; retries, failures and duplicates are
observed on those servers, not on mocks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from celery import current_app
from django.db import connection, transaction

from notifications import delivery, services
from notifications.models import ChannelConfig, Notification, Route
from notifications.publish import DELIVER_TASK
from tests.fixtures.processes import CeleryProcess, module_worker
from tests.fixtures.receivers import HttpReceiver, Reply, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FACTS = {"Project": "ALPHA", "Site": "acme", "Error": "RATE_LIMIT", "Failures": "3"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
LINK = "https://jiraplus.example/admin/sync/project/1/change/"
WORKER_SETTINGS: dict[str, str] = {
    "NOTIFY_MAX_ATTEMPTS": "3",
    "NOTIFY_BACKOFF_BASE": "0.2",
    "NOTIFY_BACKOFF_MAX": "2",
    "NOTIFY_DISABLE_AFTER": "2",
}


@pytest.fixture(scope="module")
def worker(django_db_setup: None, django_db_blocker, tmp_path_factory) -> Iterator[CeleryProcess]:
    """One worker for the module: starting one costs more than the tests it serves."""
    yield from module_worker(tmp_path_factory, concurrency=1, **WORKER_SETTINGS)


def configure(channel: str, **fields) -> ChannelConfig:
    """The channel's configuration row (migrations create one; flushes between tests remove it)."""
    config, _ = ChannelConfig.objects.update_or_create(channel=channel, defaults=fields)
    return config


def settled(notification: Notification, *statuses: str, timeout: float = 30) -> Notification:
    def reached() -> Notification | None:
        row = Notification.objects.get(id=notification.id)
        return row if row.status in statuses else None

    return wait_until(
        reached,
        timeout=timeout,
        message=f"notification {notification.id} never reached {statuses}: "
        f"{Notification.objects.filter(id=notification.id).values()}",
    )


def slack_message(key: str, **overrides) -> Notification:
    fields = {
        "channel": "slack",
        "recipient": "#ops",
        "subject": "ALPHA is rate limited",
        "text": "Jira answered 429 three times in a row.",
        "facts": FACTS,
        "link": LINK,
        "category": "RATE_LIMIT",
        "idempotency_key": key,
        **overrides,
    }
    return services.message_send(**fields)


@pytest.fixture
def slack(http_receiver: HttpReceiver) -> HttpReceiver:
    configure("slack", secret=f"{http_receiver.url}/services/T0/B0/secret")
    return http_receiver


def test_an_email_arrives_with_cc_a_hidden_bcc_html_and_text_parts_and_the_attachment(worker, smtp_server):
    configure(
        "email",
        options={"host": "127.0.0.1", "port": smtp_server.port, "username": "mailer"},
        secret="smtp-password-123",
    )
    notification = services.message_send(
        channel="email",
        recipient="ops@example.com, lead@example.com",
        subject="Token expired for acme",
        text="The API token of site acme expired.",
        facts={"Site": "acme", "Error": "TOKEN_EXPIRED"},
        link=LINK,
        category="TOKEN_EXPIRED",
        idempotency_key="mail-1",
        cc=["audit@example.com"],
        bcc="hidden@example.com",
        from_email="Jira++ <alerts@jiraplus.example>",
        attachments=[{"filename": "chart.png", "content": PNG, "mimetype": "image/png"}],
    )
    sent = settled(notification, "SENT", "FAILED")
    assert sent.status == "SENT", sent.error_message
    assert sent.attempts == 1

    [mail] = smtp_server.mails
    assert mail.login == ("mailer", "smtp-password-123")  # the decrypted channel secret reached the server
    assert mail.mail_from == "alerts@jiraplus.example"
    assert sorted(mail.rcpt_tos) == [
        "audit@example.com",
        "hidden@example.com",
        "lead@example.com",
        "ops@example.com",
    ]
    message = mail.message
    assert message["To"] == "ops@example.com, lead@example.com"
    assert message["Cc"] == "audit@example.com"
    assert message["Bcc"] is None  # delivered to bcc, never shown to the others
    assert message["From"] == "Jira++ <alerts@jiraplus.example>"
    assert message["Subject"] == "Token expired for acme"
    assert message["Message-ID"] == sent.provider_id
    assert message["X-Jiraplus-Idempotency-Key"] == "mail-1"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text.get_content().replace("\r\n", "\n") == (  # SMTP carries text with CRLF line ends
        f"The API token of site acme expired.\n\nSite: acme\nError: TOKEN_EXPIRED\n\n{LINK}\n"
    )
    html_content = html.get_content()
    assert "TOKEN_EXPIRED" in html_content
    assert f'href="{LINK}"' in html_content
    assert 'style="' in html_content and "<style" not in html_content  # inline styles only
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "chart.png"
    assert attachment.get_content_type() == "image/png"
    assert attachment.get_content() == PNG  # byte for byte


def test_a_slack_webhook_receives_the_block_kit_message_with_the_facts(worker, slack):
    notification = slack_message("slack-1")
    sent = settled(notification, "SENT", "FAILED")
    assert sent.status == "SENT", sent.error_message

    [request] = slack.requests
    assert request.path == "/services/T0/B0/secret"
    assert request.json() == {
        "text": "ALPHA is rate limited\nJira answered 429 three times in a row.",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": "ALPHA is rate limited", "emoji": False},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Jira answered 429 three times in a row."},
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Project*\nALPHA"},
                    {"type": "mrkdwn", "text": "*Site*\nacme"},
                    {"type": "mrkdwn", "text": "*Error*\nRATE_LIMIT"},
                    {"type": "mrkdwn", "text": "*Failures*\n3"},
                ],
            },
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": LINK}],
            },
        ],
    }


def test_a_whatsapp_cloud_api_template_message_carries_the_facts(worker, http_receiver):
    http_receiver.default = Reply(body={"messages": [{"id": "wamid.HBgL123"}]})
    configure(
        "whatsapp",
        options={"provider": "cloud", "phone_number_id": "10987", "api_url": f"{http_receiver.url}/v21.0"},
        secret="EAAG-whatsapp-token",
    )
    notification = services.message_send(
        channel="whatsapp",
        recipient="+14155550123",
        subject="Payment lapsed for acme",
        text="Jira Cloud suspended the site for non-payment.",
        facts={"Site": "acme", "Error": "SUSPENDED_PAYMENT"},
        link=LINK,
        category="SUSPENDED_PAYMENT",
        idempotency_key="wa-1",
    )
    sent = settled(notification, "SENT", "FAILED")
    assert (sent.status, sent.provider_id) == ("SENT", "wamid.HBgL123"), sent.error_message

    [request] = http_receiver.requests
    assert request.path == "/v21.0/10987/messages"
    assert request.headers["Authorization"] == "Bearer EAAG-whatsapp-token"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "to": "14155550123",
        "type": "template",
        "template": {
            "name": "jiraplus_alert",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Payment lapsed for acme"},
                        {"type": "text", "text": "Site: acme · Error: SUSPENDED_PAYMENT"},
                        {"type": "text", "text": LINK},
                    ],
                }
            ],
        },
    }


def test_a_429_with_retry_after_is_waited_out_then_sent(worker, slack):
    slack.then(Reply(429, {"error": "rate_limited"}, {"Retry-After": "1"}))
    notification = slack_message("slack-429")
    sent = settled(notification, "SENT", "FAILED")
    assert (sent.status, sent.attempts) == ("SENT", 2), sent.error_message
    assert len(slack.requests) == 2
    assert slack.requests[0].body == slack.requests[1].body


def test_server_errors_are_retried_with_back_off_then_fail_with_their_code(worker, slack):
    slack.default = Reply(500, {"error": "boom"})
    notification = slack_message("slack-500")
    failed = settled(notification, "FAILED")
    assert failed.attempts == 3  # NOTIFY_MAX_ATTEMPTS of the worker
    assert failed.error_code == "SERVER_ERROR"
    assert "HTTP 500" in failed.error_message
    assert len(slack.requests) == 3
    config = ChannelConfig.objects.get(channel="slack")
    assert (config.consecutive_failures, config.last_error_code) == (1, "SERVER_ERROR")


def test_repeated_permanent_failures_disable_the_channel_loudly(worker, slack, smtp_server):
    configure("email", options={"host": "127.0.0.1", "port": smtp_server.port})
    for channel, recipients in (("email", "ops@example.com"), ("slack", "")):  # Slack: must not loop back
        Route.objects.update_or_create(
            category="CHANNEL_DISABLED", channel=channel, defaults={"recipients": recipients, "enabled": True}
        )
    slack.default = Reply(404, b"no_service")
    first = settled(slack_message("gone-1"), "FAILED")
    second = settled(slack_message("gone-2"), "FAILED")
    assert first.error_code == second.error_code == "NOT_FOUND"
    assert (first.attempts, second.attempts) == (1, 1)  # permanent: no retry

    config = ChannelConfig.objects.get(channel="slack")
    assert config.enabled is False
    assert "2 consecutive failures, last NOT_FOUND" in config.disabled_reason
    wait_until(
        lambda: "channel slack DISABLED" in worker.log(), message="no ERROR log for the disabled channel"
    )
    assert "ERROR" in worker.log()

    third = slack_message("gone-3")
    assert (third.status, third.error_code) == ("FAILED", "CHANNEL_DISABLED")
    assert len(slack.requests) == 2

    # People hear of it on the other channels.
    [mail] = wait_until(lambda: smtp_server.mails, message="no email announced the disabled channel")
    assert mail.message["Subject"] == "Jira++: the Slack notification channel is disabled"
    assert mail.rcpt_tos == ["ops@example.com"]
    assert "NOT_FOUND" in mail.message.get_body(("plain",)).get_content()
    announced = Notification.objects.filter(category="CHANNEL_DISABLED")
    settled(announced.get(channel="email"), "SENT")
    assert announced.get(channel="slack").error_code == "CHANNEL_DISABLED"


def test_a_duplicate_delivery_of_the_send_task_sends_once(worker, slack):
    done_before = worker.log().count("Task notifications.deliver[")
    with transaction.atomic():
        notification = slack_message("dup-1")
        for _ in range(3):  # the broker redelivering the same message, three more times
            transaction.on_commit(
                lambda: current_app.send_task(DELIVER_TASK, args=[notification.id], queue="notifications")
            )
    wait_until(
        lambda: worker.log().count("Task notifications.deliver[") >= done_before + 8,  # received + succeeded
        message="the worker did not run all four deliveries",
    )
    sent = Notification.objects.get(id=notification.id)
    assert (sent.status, sent.attempts) == ("SENT", 1)
    assert len(slack.requests) == 1


def test_the_same_idempotency_key_is_never_sent_twice(worker, slack):
    services.route_defaults_install()
    first = settled(slack_message("once"), "SENT")
    again = slack_message("once", subject="A different subject")
    routed = services.message_publish(
        category="RATE_LIMIT", subject="s", text="t", idempotency_key="episode-9"
    )
    routed_again = services.message_publish(
        category="RATE_LIMIT", subject="s", text="t", idempotency_key="episode-9"
    )
    assert again.id == first.id
    assert [n.id for n in routed_again] == [n.id for n in routed]
    settled(routed[0], "SENT")
    assert Notification.objects.count() == 2
    assert len(slack.requests) == 2


def test_concurrent_deliveries_of_one_message_send_it_once(worker, slack):
    done_before = worker.log().count("Task notifications.deliver[")
    notification = slack_message("race")  # committed: the worker races the threads below
    start = threading.Barrier(4)

    def deliver() -> str:
        try:
            start.wait(10)
            return delivery.deliver(notification_id=notification.id).status
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: deliver(), range(4)))
    sent = settled(notification, "SENT")
    assert sent.attempts == 1
    assert outcomes.count("SENT") <= 1 and set(outcomes) <= {"SENT", "SKIPPED"}
    wait_until(  # the worker's delivery ran too (received + succeeded)
        lambda: worker.log().count("Task notifications.deliver[") >= done_before + 2,
        message="the worker never ran its delivery",
    )
    assert len(slack.requests) == 1


def test_concurrent_callers_with_one_idempotency_key_create_and_send_one_message(worker, slack):
    start = threading.Barrier(4)

    def call(n: int) -> int:
        try:
            start.wait(10)
            return slack_message("same-key", subject=f"caller {n}").id
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        ids = set(pool.map(call, range(4)))
    assert len(ids) == 1
    settled(Notification.objects.get(id=ids.pop()), "SENT")
    assert Notification.objects.count() == 1
    assert len(slack.requests) == 1
