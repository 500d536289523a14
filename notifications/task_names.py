"""The Celery task names of notifications, as plain constants (no Django import, settings use them)."""

DELIVER = "notifications.deliver"
REQUEUE_DUE = "notifications.requeue_due"
PURGE = "notifications.purge"
