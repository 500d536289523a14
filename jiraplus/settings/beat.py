"""The beat schedule: every periodic task, named by its app's task-name constant, on its app's queue.

Project sync ticks are not here: they are django-celery-beat rows the schedule service writes.
"""

from __future__ import annotations

from typing import Any

from jiraplus.settings.data import RETENTION_INTERVAL
from jiraplus.settings.notifications import NOTIFY_SWEEP_INTERVAL
from jiraplus.settings.orchestration import ORCHESTRATION_REAPER_INTERVAL
from jiraplus.settings.sync import SYNC_REAPER_INTERVAL
from jiraplus.settings.telemetry import TELEMETRY_ANALYSE_INTERVAL
from notifications import task_names as notifications_task_names
from orchestration import task_names as orchestration_task_names
from sync import task_names as sync_task_names
from telemetry import task_names as telemetry_task_names

CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "sync-reap-stalled-runs": {
        "task": sync_task_names.REAP_RUNS,
        "schedule": SYNC_REAPER_INTERVAL,
        "options": {"queue": "sync", "expires": SYNC_REAPER_INTERVAL},
    },
    "sync-purge-webhook-events": {
        "task": sync_task_names.PURGE_WEBHOOK_EVENTS,
        "schedule": 3600.0,
        "options": {"queue": "sync", "expires": 3600},
    },
    "telemetry-analyse-runs": {
        "task": telemetry_task_names.ANALYSE_RUNS,
        "schedule": TELEMETRY_ANALYSE_INTERVAL,
        "options": {"queue": "telemetry", "expires": TELEMETRY_ANALYSE_INTERVAL},
    },
    "orchestration-reap": {
        "task": orchestration_task_names.REAP,
        "schedule": ORCHESTRATION_REAPER_INTERVAL,
        "options": {"queue": "orchestration", "expires": ORCHESTRATION_REAPER_INTERVAL},
    },
    "notifications-requeue-due": {
        "task": notifications_task_names.REQUEUE_DUE,
        "schedule": NOTIFY_SWEEP_INTERVAL,
        "options": {"queue": "notifications", "expires": NOTIFY_SWEEP_INTERVAL},
    },
    # Retention: each app purges its own trail once a day, in small batches.
    "sync-purge-trail": {
        "task": sync_task_names.PURGE_TRAIL,
        "schedule": RETENTION_INTERVAL,
        "options": {"queue": "sync", "expires": RETENTION_INTERVAL},
    },
    "orchestration-purge-events": {
        "task": orchestration_task_names.PURGE_EVENTS,
        "schedule": RETENTION_INTERVAL,
        "options": {"queue": "orchestration", "expires": RETENTION_INTERVAL},
    },
    "notifications-purge": {
        "task": notifications_task_names.PURGE,
        "schedule": RETENTION_INTERVAL,
        "options": {"queue": "notifications", "expires": RETENTION_INTERVAL},
    },
}
