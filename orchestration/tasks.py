"""Thin Celery tasks: "advance orchestration X at step N" and the reaper. The database holds the state."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from orchestration import task_names
from orchestration.services import engine, retention

# The hard limit backs up phase timeouts for in-process agents that never heartbeat.
_HARD_LIMIT = int(
    max(
        [settings.ORCHESTRATION_RETRY_POLICY["timeout"]]
        + [p.get("timeout", 0) for p in settings.ORCHESTRATION_PHASE_POLICIES.values()]
    )
    + 60
)


@shared_task(bind=True, name=task_names.ADVANCE, time_limit=_HARD_LIMIT)
def advance(self: Task, orchestration_id: int, step: int) -> None:
    engine.advance(orchestration_id, step, worker=self.request.hostname or "")


@shared_task(name=task_names.REAP, soft_time_limit=30, time_limit=60)
def reap() -> None:
    engine.reap()


@shared_task(name=task_names.PURGE_EVENTS, soft_time_limit=1800, time_limit=1900)
def purge_events() -> None:
    retention.orchestration_events_purge()
