"""Thin Celery tasks: unpack ids, call a service. The services record every outcome in the database."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError

from core.audit.trail import audit_purge
from sync import task_names
from sync.services import engine, retention, runs, schedules, webhooks


@shared_task(
    name=task_names.RUN_STEP,
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


@shared_task(name=task_names.SCHEDULED_TICK, soft_time_limit=30, time_limit=60)
def scheduled_tick(project_id: int, nominal: str | None = None) -> None:
    """One beat tick; ``nominal`` is the slot's fire time (sync.beat sends it)."""
    schedules.tick_admit(project_id=project_id, nominal=datetime.fromisoformat(nominal) if nominal else None)


@shared_task(name=task_names.REAP_RUNS, soft_time_limit=30, time_limit=60)
def reap_runs() -> None:
    runs.reap()


# A lost lock race (serialization failure, deadlock) is transient: the refresh is idempotent, run it again.
@shared_task(
    name=task_names.REFRESH_FROM_WEBHOOK,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def refresh_from_webhook(pending_id: int) -> None:
    webhooks.pending_refresh_run(pending_id=pending_id)


@shared_task(name=task_names.PURGE_WEBHOOK_EVENTS, soft_time_limit=120, time_limit=180)
def purge_webhook_events() -> None:
    webhooks.webhook_events_purge()


@shared_task(name=task_names.PURGE_TRAIL, soft_time_limit=1800, time_limit=1900)
def purge_trail() -> None:
    """Daily: runs past their window (into the aggregate), then logs past theirs, then the audit trail's
    old entries (core's table, which no app's beat entry would otherwise reach)."""
    retention.sync_runs_purge()
    retention.sync_logs_purge()
    audit_purge()
