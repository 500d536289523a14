"""Thin Celery tasks: unpack ids, call a service. The services record every outcome in the database."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from sync.services import engine, runs, schedules


@shared_task(name="sync.run_step", soft_time_limit=240, time_limit=300)
def run_step(run_id: int, seq: int) -> None:
    engine.execute_step(run_id, seq)


@shared_task(name="sync.scheduled_tick", soft_time_limit=30, time_limit=60)
def scheduled_tick(project_id: int, nominal: str | None = None) -> None:
    """One beat tick; ``nominal`` is the slot's fire time (sync.beat sends it)."""
    schedules.tick_admit(project_id=project_id, nominal=datetime.fromisoformat(nominal) if nominal else None)


@shared_task(name="sync.reap_runs", soft_time_limit=30, time_limit=60)
def reap_runs() -> None:
    runs.reap()
