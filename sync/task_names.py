"""The Celery task names of sync, as plain constants: settings, beat and services name tasks without
importing the task modules (and without importing Django models)."""

RUN_STEP = "sync.run_step"
SCHEDULED_TICK = "sync.scheduled_tick"
REAP_RUNS = "sync.reap_runs"
REFRESH_FROM_WEBHOOK = "sync.refresh_from_webhook"
PURGE_WEBHOOK_EVENTS = "sync.purge_webhook_events"
PURGE_TRAIL = "sync.purge_trail"
