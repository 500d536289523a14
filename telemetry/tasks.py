"""Thin Celery task: the analysis itself lives in telemetry.services."""

from __future__ import annotations

import logging

from celery import shared_task

from core import heartbeat
from telemetry import services, task_names

logger = logging.getLogger(__name__)
HEARTBEAT = "telemetry"  # recorded after every pass, read by the system status


@shared_task(name=task_names.ANALYSE_RUNS, soft_time_limit=50, time_limit=60)
def analyse_runs() -> None:
    summary = services.runs_analyse()
    heartbeat.record(HEARTBEAT)
    if summary.runs or summary.reminders:
        logger.info("telemetry: %s", summary)
