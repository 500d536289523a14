"""Every classified failure reaches a person with the default routes: each code the Jira classifier and the
sync engine can give a failed run goes through telemetry's analysis on a real worker (as many failed runs
as its threshold needs) and arrives at a local SMTP server, or at the channel its own route names
(per-category routes win over the catch-all). One worker and one analysis pass for every code, so the walk
stays fast."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.utils import timezone

from notifications import services as notifications
from notifications.models import ChannelConfig, Notification, Route
from sync.jira.error_codes import JiraErrorCode
from sync.models import JiraSite, Project, RunStatus, SyncJob, SyncLog, SyncRun
from sync.services import engine, runs, schedules
from telemetry import task_names as telemetry_task_names
from telemetry.models import BackoffState
from telemetry.services import policy_from_settings
from tests.fixtures.processes import CeleryProcess, module_worker
from tests.fixtures.receivers import HttpReceiver, Reply, SmtpReceiver, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OPS_EMAIL = "ops@example.com"
OPS_PHONE = "+14155550123"
UNKNOWN = "UNKNOWN"  # what telemetry calls a failed run that recorded no code

# Every code a failed run can carry: the classifier's (the enum, so a new code joins the walk by itself), the
# engine's own, and none at all.
FAILURE_CODES = [
    *(str(code) for code in JiraErrorCode),
    runs.POISON,
    runs.INTERNAL_ERROR,
    engine.DATABASE_ERROR,
    "",
]


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def slack() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def whatsapp() -> Iterator[HttpReceiver]:
    with HttpReceiver(Reply(body={"messages": [{"id": "wamid.1"}]})) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryProcess]:
    """One worker for the module, with the operators' default recipients in its environment."""
    yield from module_worker(
        tmp_path_factory,
        concurrency=2,
        NOTIFY_EMAIL_TO=OPS_EMAIL,
        NOTIFY_WHATSAPP_TO=OPS_PHONE,
        NOTIFY_SLACK_CHANNEL="#ops",
    )


def failing_projects(codes: list[str]) -> dict[str, Project]:
    """A project per code, each with as many consecutive failed runs of it as its threshold asks."""
    policy = policy_from_settings()
    site = JiraSite.objects.create(
        name="acme", base_url="https://acme.atlassian.net", email="bot@example.com"
    )
    now = timezone.now()
    projects: dict[str, Project] = {}
    failed: list[SyncRun] = []
    for number, code in enumerate(codes, start=1):
        project = Project.objects.create(site=site, key=f"P{number}", jira_id=number)
        schedules.schedule_install(
            job=SyncJob.objects.create(project=project, cron=settings.SYNC_DEFAULT_CRON)
        )
        for attempt in range(policy.threshold(code or UNKNOWN)):
            finished = now - timedelta(minutes=30 - attempt)
            failed.append(
                SyncRun(
                    project=project,
                    status=RunStatus.FAILED,
                    error_code=code,
                    error_message=f"{code or 'no code'} (test)",
                    started_at=finished - timedelta(seconds=5),
                    finished_at=finished,
                    duration_ms=5000,
                )
            )
        projects[code or UNKNOWN] = project
    SyncRun.objects.bulk_create(failed)
    # The ERROR log runs.fail writes with each failure; the code-less runs have none (a log purged or never
    # written), which the analysis must survive too.
    SyncLog.objects.bulk_create(
        SyncLog(
            project_id=run.project_id,
            run=run,
            level=SyncLog.Level.ERROR,
            message=run.error_message,
            details={"code": run.error_code},
        )
        for run in failed
        if run.error_code
    )
    return projects


def test_every_failure_code_reaches_a_person_through_its_route_or_the_catch_all(
    worker, smtp, slack, whatsapp
):
    Route.objects.all().delete()  # the table flush between tests removed the migrations' rows: reinstall them
    notifications.route_defaults_install()
    ChannelConfig.objects.create(channel="email", options={"host": "127.0.0.1", "port": smtp.port})
    ChannelConfig.objects.create(channel="slack", secret=f"{slack.url}/services/T0/B0/hook")
    ChannelConfig.objects.create(
        channel="whatsapp", options={"api_url": whatsapp.url, "phone_number_id": "1061"}, secret="wa-token"
    )
    projects = failing_projects(FAILURE_CODES)

    task_id = current_app.send_task(telemetry_task_names.ANALYSE_RUNS, queue="telemetry").id
    wait_until(lambda: f"[{task_id}] succeeded" in worker.log(), timeout=60, message="the analysis to finish")
    wait_until(
        lambda: not Notification.objects.filter(status__in=["QUEUED", "SENDING", "RETRYING"]).exists(),
        timeout=60,
        message="every delivery to settle",
    )

    states = BackoffState.objects.filter(project__in=projects.values())
    assert sorted(s.category for s in states if s.alerted) == sorted(projects), worker.log()[-3000:]
    mails = {str(mail.message["X-Jiraplus-Category"]): mail for mail in smtp.mails}
    slack_texts = [request.body.decode() for request in slack.requests]
    unreached = []
    for category, project in projects.items():
        expected = set(notifications.DEFAULT_ROUTES.get(category, notifications.DEFAULT_ROUTES["*"]))
        rows = list(Notification.objects.filter(category=category))
        if {n.channel for n in rows if n.status == "SENT"} != expected or len(rows) != len(expected):
            unreached.append((category, [(n.channel, n.status, n.error_code) for n in rows]))
            continue
        if category not in notifications.DEFAULT_ROUTES:
            assert {n.route.category for n in rows if n.route} == {notifications.CATCH_ALL}, category
        if "email" in expected:
            mail = mails[category]
            assert mail.rcpt_tos == [OPS_EMAIL]
            assert f"{project.key} on acme: {category}" in str(mail.message["Subject"])
        else:
            assert category not in mails, f"{category} has its own route, the catch-all must not send it"
        if "slack" in expected:
            assert any(f"{project.key} on acme: {category}" in text for text in slack_texts), category
    assert not unreached, f"not delivered to a person: {unreached}"
    assert len(projects) == len(JiraErrorCode) + 4
