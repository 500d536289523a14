"""Thin Celery tasks: unpack ids, call a service. The services record every outcome in the database."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from sync.models import Project, SyncJob, SyncRun
from sync.services import engine, runs


@shared_task(
    name="sync.run_step",
    soft_time_limit=240,
    time_limit=300,
    # The database went away before the step could even claim its run: try the same message again.
    autoretry_for=(InterfaceError, OperationalError),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=8,
)
def run_step(run_id: int, seq: int) -> None:
    engine.execute_step(run_id, seq)


@shared_task(name="sync.scheduled_tick", soft_time_limit=30, time_limit=60)
def scheduled_tick(project_id: int) -> None:
    project = Project.objects.filter(
        id=project_id, sync_job__status__in=[SyncJob.Status.ACTIVE, SyncJob.Status.ERROR]
    ).first()
    if project is None:  # paused or removed: beat may tick once more before it reloads
        return
    nominal = timezone.now().replace(second=0, microsecond=0)
    runs.request_sync(project=project, trigger=SyncRun.Trigger.SCHEDULE, nominal_time=nominal)


@shared_task(name="sync.reap_runs", soft_time_limit=30, time_limit=60)
def reap_runs() -> None:
    runs.reap()
