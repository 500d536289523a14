"""Telemetry end to end: failures injected in the fake Jira, real sync runs and the analyser on a real Celery
worker, schedules changed through the sync controls, alerts delivered to a local SMTP server and a local
WhatsApp Cloud API stand-in."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django_celery_beat.models import PeriodicTask

from fakejira import FakeDataConfig, Fault
from notifications.models import ChannelConfig, Notification, Route
from sync.models import Project, SyncJob, SyncRun
from telemetry import task_names as telemetry_task_names
from telemetry.models import BackoffState, ScheduleChange, SlowRun
from telemetry.services import reminders_send, runs_analyse
from tests.fixtures.processes import CeleryProcess, module_worker
from tests.fixtures.receivers import wait_until
from tests.fixtures.sync import register, sync_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LADDER = settings.TELEMETRY_BACKOFF_LADDER
OPS_EMAIL = "ops@example.com"
OPS_PHONE = "+14155550123"
METRICS_TOKEN = "scrape-me-please"


# --- Receivers and the worker, shared by the module ------------------------------------------------


class Mailbox:
    """aiosmtpd handler: every message the SMTP server accepted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


class WhatsAppInbox(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, dict(self.headers), json.loads(body)))
        answer = json.dumps({"messages": [{"id": f"wamid.{len(self.received)}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with socket.socket() as probe:  # aiosmtpd needs a concrete port to check its server is up
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def whatsapp() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WhatsAppInbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryProcess]:
    """One worker for the module. A Jira call is tried once (JIRA_MAX_ATTEMPTS=1): the engine's own step
    retries still run, so a failed run takes its real course, just without the client's extra attempts."""
    yield from module_worker(
        tmp_path_factory, concurrency=2, JIRA_MAX_ATTEMPTS="1", TELEMETRY_SLOW_MIN_MS="300"
    )


@pytest.fixture
def channels(mailbox: Mailbox, whatsapp: ThreadingHTTPServer) -> Iterator[None]:
    """Email to the local SMTP server, WhatsApp to the local Cloud API; routes as the defaults have them."""
    mailbox.messages.clear()
    WhatsAppInbox.received.clear()
    ChannelConfig.objects.create(channel="email", options={"host": "127.0.0.1", "port": mailbox.port})
    ChannelConfig.objects.create(
        channel="whatsapp",
        options={"api_url": f"http://127.0.0.1:{whatsapp.server_address[1]}", "phone_number_id": "1061"},
        secret="wa-token",
    )
    Route.objects.all().delete()  # the test database may hold the default routes: pin them here
    for category in ("RATE_LIMIT", "RECOVERED", "SLOW_SYNC"):
        Route.objects.create(category=category, channel="email", recipients=OPS_EMAIL)
    Route.objects.create(category="SUSPENDED_PAYMENT", channel="email", recipients=OPS_EMAIL)
    Route.objects.create(category="SUSPENDED_PAYMENT", channel="whatsapp", recipients=OPS_PHONE)
    yield
    # Deliveries still in flight would land in the next test's tables (the worker outlives the test).
    wait_until(
        lambda: not Notification.objects.filter(status__in=["QUEUED", "SENDING", "RETRYING"]).exists(),
        timeout=30,
        message="every delivery to settle",
    )


def tiny(**overrides: Any) -> FakeDataConfig:
    return FakeDataConfig(
        **{"seed": 5, "projects": {"ALPHA": 12}, "worklog_feed_lag_seconds": 0, **overrides}
    )


def analyse(worker: CeleryProcess, timeout: float = 60) -> None:
    """Run the periodic task on the worker, exactly as beat sends it, and wait until it finished."""
    task_id = current_app.send_task(telemetry_task_names.ANALYSE_RUNS, queue="telemetry").id
    wait_until(
        lambda: f"[{task_id}] succeeded" in worker.log(),
        timeout=timeout,
        message=f"analysis {task_id} to finish",
    )


def fail_once(project: Project, code: str) -> SyncRun:
    run = sync_and_wait(project, timeout=120)
    assert run.status == "FAILED" and run.error_code == code, (run.status, run.error_code)
    return run


def beat_cron(project: Project) -> str:
    crontab = PeriodicTask.objects.select_related("crontab").get(syncjob__project=project).crontab
    assert crontab is not None
    return " ".join(
        [crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week]
    )


def sent(category: str) -> list[Notification]:
    return list(Notification.objects.filter(category=category).order_by("id"))


# --- The tests -------------------------------------------------------------------------------------


def test_rate_limits_climb_the_ladder_with_one_alert_and_the_first_success_restores_the_cron(
    fake_jira_factory, worker, channels, mailbox
):
    fake = fake_jira_factory(tiny())
    (alpha,) = register(fake, ["ALPHA"])
    operator_cron = SyncJob.objects.get(project=alpha).cron
    fake.add_fault(Fault(kind="rate_limit", retry_after=1, times=None))

    for _ in range(2):
        fail_once(alpha, "RATE_LIMIT")
        analyse(worker)
    assert SyncJob.objects.get(project=alpha).effective_cron == ""
    assert BackoffState.objects.get(project=alpha).consecutive_failures == 2
    assert not ScheduleChange.objects.exists() and not Notification.objects.exists()

    third = fail_once(alpha, "RATE_LIMIT")
    analyse(worker)

    job = SyncJob.objects.get(project=alpha)
    assert (job.cron, job.effective_cron) == (operator_cron, LADDER[0])
    assert beat_cron(alpha) == LADDER[0]
    change = ScheduleChange.objects.get()
    assert (change.level, change.cron, change.category, change.run_id) == (
        1,
        LADDER[0],
        "RATE_LIMIT",
        third.id,
    )
    (alert,) = sent("RATE_LIMIT")
    assert alert.facts["failures"] == "3" and alert.facts["project"] == "ALPHA"
    assert alert.facts["site"] == "fake" and alert.facts["first seen"] < alert.facts["last seen"]
    assert alert.facts["advice"].startswith("Jira is throttling")
    assert alert.link.endswith(f"/admin/sync/project/{alpha.id}/change/")
    wait_until(
        lambda: any("RATE_LIMIT" in s for s in mailbox.subjects()), timeout=30, message="the alert email"
    )

    fail_once(alpha, "RATE_LIMIT")
    analyse(worker)
    analyse(worker)  # a second pass over the same history changes nothing

    assert SyncJob.objects.get(project=alpha).effective_cron == LADDER[1]
    assert list(ScheduleChange.objects.order_by("id").values_list("level", flat=True)) == [1, 2]
    assert len(sent("RATE_LIMIT")) == 1

    fake.clear_faults()
    assert sync_and_wait(alpha).status == "SUCCEEDED"
    analyse(worker)

    job = SyncJob.objects.get(project=alpha)
    assert (job.cron, job.effective_cron) == (operator_cron, "")
    assert beat_cron(alpha) == operator_cron
    state = BackoffState.objects.get(project=alpha)
    assert (state.level, state.consecutive_failures, state.category) == (0, 0, "")
    assert list(ScheduleChange.objects.order_by("id").values_list("level", flat=True)) == [1, 2, 0]
    (recovery,) = sent("RECOVERED")
    assert recovery.facts["failures"] == "4" and recovery.facts["category"] == "RATE_LIMIT"
    assert len(sent("RATE_LIMIT")) == 1
    wait_until(
        lambda: any("recovered" in s for s in mailbox.subjects()), timeout=30, message="the recovery email"
    )
    assert len(mailbox.messages) == 2


def test_a_suspended_payment_alerts_by_email_and_whatsapp_on_its_first_failure(
    fake_jira_factory, worker, channels, mailbox
):
    fake = fake_jira_factory(tiny())
    (alpha,) = register(fake, ["ALPHA"])
    fake.add_fault(Fault(kind="suspended_payment", times=None))

    fail_once(alpha, "SUSPENDED_PAYMENT")
    analyse(worker)

    assert SyncJob.objects.get(project=alpha).effective_cron == LADDER[0]
    alerts = sent("SUSPENDED_PAYMENT")
    assert sorted(n.channel for n in alerts) == ["email", "whatsapp"]
    wait_until(
        lambda: set(Notification.objects.values_list("status", flat=True)) == {"SENT"},
        timeout=30,
        message="both deliveries",
    )
    (email,) = mailbox.messages
    assert "SUSPENDED_PAYMENT" in email["Subject"] and email["To"] == OPS_EMAIL
    text = email.get_body(("plain",)).get_content()
    assert "Contact Atlassian billing" in text and f"/admin/sync/project/{alpha.id}/change/" in text
    (path, headers, payload) = WhatsAppInbox.received[0]
    assert len(WhatsAppInbox.received) == 1
    assert path == "/1061/messages" and headers["Authorization"] == "Bearer wa-token"
    assert payload["to"] == OPS_PHONE.removeprefix("+")
    parameters = [p["text"] for p in payload["template"]["components"][0]["parameters"]]
    assert "SUSPENDED_PAYMENT" in parameters[0] and parameters[2].endswith(
        f"/admin/sync/project/{alpha.id}/change/"
    )


def test_an_open_episode_is_reminded_once_per_quiet_period(fake_jira_factory, worker, channels):
    fake = fake_jira_factory(tiny())
    (alpha,) = register(fake, ["ALPHA"])
    fake.add_fault(Fault(kind="suspended_payment", times=None))
    fail_once(alpha, "SUSPENDED_PAYMENT")
    analyse(worker)
    alerted_at = BackoffState.objects.get(project=alpha).last_alert_at
    assert alerted_at is not None
    quiet = timedelta(hours=settings.TELEMETRY_REMINDER_HOURS)

    assert reminders_send(now=alerted_at + quiet - timedelta(minutes=1)) == 0
    assert reminders_send(now=alerted_at + quiet) == 1
    assert reminders_send(now=alerted_at + quiet) == 0  # not twice in one quiet period
    assert reminders_send(now=alerted_at + 2 * quiet) == 1

    keys = sorted(n.idempotency_key.rsplit(":", 1)[0] for n in sent("SUSPENDED_PAYMENT"))
    episode = f"telemetry:{alpha.id}:episode:{SyncRun.objects.get().id}"
    assert keys == [f"{episode}:alert"] * 2 + [f"{episode}:reminder:1"] * 2 + [f"{episode}:reminder:2"] * 2
    assert "Still failing" in sent("SUSPENDED_PAYMENT")[-1].subject


def test_a_run_three_times_slower_than_the_median_raises_slow_sync(fake_jira_factory, worker, channels):
    fake = fake_jira_factory(tiny())
    (alpha,) = register(fake, ["ALPHA"])
    for _ in range(5):
        assert sync_and_wait(alpha).status == "SUCCEEDED"
    analyse(worker)
    assert not SlowRun.objects.exists()
    durations = sorted(d or 0 for d in SyncRun.objects.values_list("duration_ms", flat=True))
    delay = max(2.0, 4 * durations[2] / 1000)  # comfortably past 3x the median even on a loaded machine
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=delay, times=1))

    slow = sync_and_wait(alpha)
    analyse(worker)

    assert slow.status == "SUCCEEDED"
    flagged = SlowRun.objects.get()
    assert flagged.run_id == slow.id and flagged.duration_ms > 3 * flagged.median_ms
    (signal,) = sent("SLOW_SYNC")
    assert signal.facts["project"] == "ALPHA"
    assert SyncJob.objects.get(project=alpha).effective_cron == ""  # slow is a signal, not a back-off


def test_a_run_whose_jira_answers_slowly_throughout_raises_slow_sync(
    fake_jira_factory, worker, channels, settings
):
    settings.TELEMETRY_SLOW_JIRA_MS = 150
    fake = fake_jira_factory(tiny())
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha).status == "SUCCEEDED"
    runs_analyse()
    assert not SlowRun.objects.exists()  # loopback Jira: a few ms per request
    fake.add_fault(Fault(kind="slow", delay=0.25, times=None))

    slow = sync_and_wait(alpha)
    runs_analyse()

    assert slow.status == "SUCCEEDED" and slow.jira_ms >= 250 * slow.request_total
    flagged = SlowRun.objects.get()
    assert flagged.run_id == slow.id and flagged.jira_ms_per_request >= 250
    assert flagged.median_ms == 0  # too little history for the duration rule: Jira's latency flagged it
    (signal,) = sent("SLOW_SYNC")
    assert signal.facts["jira latency"] == f"{flagged.jira_ms_per_request} ms per request"


def test_metrics_and_dashboard_show_runs_failures_and_backoff_to_authorised_readers(
    fake_jira_factory, worker, channels, client, settings
):
    settings.TELEMETRY_METRICS_TOKEN = METRICS_TOKEN
    fake = fake_jira_factory(tiny())
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha).status == "SUCCEEDED"
    fake.add_fault(Fault(kind="suspended_payment", times=None))
    fail_once(alpha, "SUSPENDED_PAYMENT")
    analyse(worker)

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")

    assert response.status_code == 200
    body = response.content.decode()
    labels = 'project="ALPHA",site="fake"'
    assert f'jiraplus_sync_runs_total{{{labels},status="SUCCEEDED"}} 1.0' in body
    assert f'jiraplus_sync_failures_total{{code="SUSPENDED_PAYMENT",{labels}}} 1.0' in body
    assert f"jiraplus_sync_backoff_level{{{labels}}} 1.0" in body
    assert f'jiraplus_sync_last_error{{code="SUSPENDED_PAYMENT",{labels}}} 1.0' in body
    throughput = next(line for line in body.splitlines() if line.startswith("jiraplus_sync_throughput"))
    assert float(throughput.rsplit(" ", 1)[1]) > 0

    User.objects.create_user("viewer", password="pw-viewer-1")
    client.login(username="viewer", password="pw-viewer-1")
    assert client.get("/metrics").status_code == 403
    User.objects.create_superuser("boss", password="pw-boss-1")
    client.login(username="boss", password="pw-boss-1")
    assert client.get("/metrics").status_code == 200
    page = client.get("/admin/telemetry/backoffstate/dashboard/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="telemetry-chart"') == 2  # failures by code, and ALPHA's runs
    assert "SUSPENDED_PAYMENT failure (threshold 1)" in html  # the schedule change, with its reason
    # Charts are server-side SVG: the only scripts are the admin's own, served locally.
    assert all(src.startswith("/static/admin/") for src in re.findall(r'<script[^>]*src="([^"]+)"', html))
