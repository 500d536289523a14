"""The Celery task names of orchestration, as plain constants (no Django import, settings use them)."""

ADVANCE = "orchestration.advance"
REAP = "orchestration.reap"
PURGE_EVENTS = "orchestration.purge_events"
