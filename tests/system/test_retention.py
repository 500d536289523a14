"""Retention (real PostgreSQL): rows past their window go in batches, newer ones and anything still in
flight stay, and purged runs keep counting in telemetry's totals through the daily aggregate."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Notification
from notifications.retention import notifications_purge
from orchestration.models import Event, Orchestration, Status
from orchestration.services.retention import orchestration_events_purge
from sync.models import JiraSite, Project, RunStatus, SyncLog, SyncRun, SyncRunDaily
from sync.services.retention import sync_logs_purge, sync_runs_purge
from telemetry.models import SlowRun
from telemetry.selectors import project_figures
from tests.fixtures.orchestration import stored_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def project() -> Project:
    site = JiraSite.objects.create(
        name="acme", base_url="https://acme.example", email="ops@acme.example", api_token="token-1234"
    )
    return Project.objects.create(site=site, key="ACME", jira_id=1, name="Acme")


def _run(project: Project, *, age_days: float, status: str = RunStatus.SUCCEEDED, code: str = "") -> SyncRun:
    when = timezone.now() - timedelta(days=age_days)
    finished = when if status not in (RunStatus.QUEUED, RunStatus.RUNNING) else None
    run = SyncRun.objects.create(
        project=project, status=status, error_code=code, duration_ms=1000, request_total=3, jira_ms=200
    )
    SyncRun.objects.filter(id=run.id).update(created_at=when, finished_at=finished)
    log = SyncLog.objects.create(project=project, run=run, message="done")
    SyncLog.objects.filter(id=log.id).update(created_at=when)
    return run


def test_old_runs_go_into_the_daily_aggregate_and_the_totals_keep_them(project, settings):
    settings.RETENTION_BATCH_SIZE = 2  # several batches
    old = [_run(project, age_days=100) for _ in range(3)]
    old.append(_run(project, age_days=100, status=RunStatus.FAILED, code="AUTH_FAILED"))
    old.append(_run(project, age_days=120, status=RunStatus.FAILED, code="AUTH_FAILED"))
    new = _run(project, age_days=10, status=RunStatus.FAILED, code="NETWORK_GLITCH")
    SlowRun.objects.create(project=project, run=old[0], duration_ms=1000, median_ms=100)
    before = project_figures()[0]

    assert sync_runs_purge(dry_run=True) == 5
    assert SyncRun.objects.count() == 6
    assert sync_runs_purge() == 5

    assert list(SyncRun.objects.values_list("id", flat=True)) == [new.id]
    assert not SyncLog.objects.filter(run_id__in=[r.id for r in old]).exists()
    day = (timezone.now() - timedelta(days=100)).date()
    succeeded = SyncRunDaily.objects.get(day=day, status=RunStatus.SUCCEEDED)
    assert (succeeded.runs, succeeded.duration_ms, succeeded.request_total, succeeded.jira_ms) == (
        3,
        3000,
        9,
        600,
    )
    assert SyncRunDaily.objects.filter(status=RunStatus.FAILED, error_code="AUTH_FAILED").count() == 2
    after = project_figures()[0]
    assert after.runs == before.runs == {"SUCCEEDED": 3, "FAILED": 3}
    assert after.failures == before.failures == {"AUTH_FAILED": 2, "NETWORK_GLITCH": 1}
    assert after.slow_runs == before.slow_runs == 1  # the mark outlives its run: a counter never drops
    assert SlowRun.objects.get().run_id is None

    # A later purge adds to the same day's row rather than replacing it.
    _run(project, age_days=100)
    assert sync_runs_purge() == 1
    assert SyncRunDaily.objects.get(day=day, status=RunStatus.SUCCEEDED).runs == 4
    assert project_figures()[0].runs == {"SUCCEEDED": 4, "FAILED": 3}


def test_a_run_in_flight_is_never_purged_nor_its_logs(project):
    running = _run(project, age_days=200, status=RunStatus.RUNNING)
    queued_project = Project.objects.create(site=project.site, key="Q", jira_id=2, name="Q")
    queued = _run(queued_project, age_days=200, status=RunStatus.QUEUED)

    assert sync_runs_purge() == 0
    assert sync_logs_purge() == 0
    assert set(SyncRun.objects.values_list("id", flat=True)) == {running.id, queued.id}
    assert SyncLog.objects.count() == 2
    assert not SyncRunDaily.objects.exists()


def test_logs_past_their_window_go_newer_stay(project, settings):
    settings.RETENTION_BATCH_SIZE = 1
    old = _run(project, age_days=40)
    new = _run(project, age_days=20)
    loose = SyncLog.objects.create(project=project, message="no run")
    SyncLog.objects.filter(id=loose.id).update(created_at=timezone.now() - timedelta(days=31))

    assert sync_logs_purge() == 2
    assert list(SyncLog.objects.values_list("run_id", flat=True)) == [new.id]
    assert SyncRun.objects.filter(id=old.id).exists()  # the run itself has a 90-day window


def _orchestration(*, status: str, finished_days_ago: float | None) -> Orchestration:
    issue = stored_issue(f"ORC-{Orchestration.objects.count() + 1}")
    finished = None if finished_days_ago is None else timezone.now() - timedelta(days=finished_days_ago)
    orchestration = Orchestration.objects.create(
        issue=issue, issue_key=issue.key, project=issue.project, status=status, finished_at=finished
    )
    for seq in range(3):
        Event.objects.create(
            orchestration=orchestration, seq=seq, type="PHASE_STARTED", correlation_id=uuid.uuid4()
        )
    return orchestration


def test_events_of_finished_orchestrations_go_after_the_window(settings):
    settings.RETENTION_BATCH_SIZE = 2
    old = _orchestration(status=Status.SUCCEEDED, finished_days_ago=91)
    recent = _orchestration(status=Status.FAILED, finished_days_ago=30)
    active = _orchestration(status=Status.RUNNING, finished_days_ago=None)

    assert orchestration_events_purge(dry_run=True) == 3
    assert orchestration_events_purge() == 3
    assert not Event.objects.filter(orchestration=old).exists()
    assert Event.objects.filter(orchestration=recent).count() == 3
    assert Event.objects.filter(orchestration=active).count() == 3
    assert Orchestration.objects.filter(id=old.id).exists()


def _notification(key: str, *, status: str, age_days: float) -> Notification:
    row = Notification.objects.create(
        channel="email", recipient="ops@example.com", subject=key, idempotency_key=key, status=status
    )
    Notification.objects.filter(id=row.id).update(created_at=timezone.now() - timedelta(days=age_days))
    return row


def test_finished_notifications_go_after_the_window_pending_ones_stay():
    _notification("sent-old", status=Notification.Status.SENT, age_days=91)
    _notification("failed-old", status=Notification.Status.FAILED, age_days=91)
    _notification("retrying-old", status=Notification.Status.RETRYING, age_days=91)
    _notification("queued-old", status=Notification.Status.QUEUED, age_days=91)
    _notification("sent-new", status=Notification.Status.SENT, age_days=10)

    assert notifications_purge() == 2
    assert set(Notification.objects.values_list("subject", flat=True)) == {
        "retrying-old",
        "queued-old",
        "sent-new",
    }


def test_purge_trail_command_dry_run_counts_then_purges(project):
    _run(project, age_days=100)
    _notification("sent-old", status=Notification.Status.SENT, age_days=91)

    out = io.StringIO()
    call_command("purge_trail", "--dry-run", stdout=out)
    assert "sync runs: would delete 1 older than 90 days" in out.getvalue()
    assert "notifications: would delete 1" in out.getvalue()
    assert SyncRun.objects.count() == 1 and Notification.objects.count() == 1

    out = io.StringIO()
    call_command("purge_trail", stdout=out)
    assert "sync runs: deleted 1" in out.getvalue()
    assert SyncRun.objects.count() == 0 and Notification.objects.count() == 0
    assert SyncRunDaily.objects.get().runs == 1


def test_each_app_purges_its_trail_daily_on_its_own_queue(project, settings):
    from notifications import task_names as notifications_task_names
    from notifications.tasks import purge as notifications_task
    from orchestration import task_names as orchestration_task_names
    from orchestration.tasks import purge_events
    from sync import task_names as sync_task_names
    from sync.tasks import purge_trail

    expected = {
        sync_task_names.PURGE_TRAIL: "sync",
        orchestration_task_names.PURGE_EVENTS: "orchestration",
        notifications_task_names.PURGE: "notifications",
    }
    entries = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for task, queue in expected.items():
        assert entries[task]["schedule"] == 86400.0
        assert entries[task]["options"]["queue"] == queue

    _run(project, age_days=100)
    _notification("sent-old", status=Notification.Status.SENT, age_days=91)
    old = _orchestration(status=Status.CANCELLED, finished_days_ago=100)
    purge_trail()
    purge_events()
    notifications_task()
    assert not SyncRun.objects.exists() and not Notification.objects.exists()
    assert not Event.objects.filter(orchestration=old).exists()
