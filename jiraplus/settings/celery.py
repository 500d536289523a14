"""Celery: the broker (filesystem embedded, Redis in production), acknowledgement, routing, beat."""

from __future__ import annotations

from kombu import Exchange, Queue

from jiraplus.env import env_int, env_str
from jiraplus.settings.base import VAR_DIR

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,  # the default 1 s poll would add a second to every sync step
    }
else:
    # Unacked messages come back after the visibility timeout: keep it well above the longest hard limit.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT + 60}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # capped by attempt counters in the database
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 10.0  # a warm shutdown gives running steps time to commit
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "sync"
CELERY_TASK_ROUTES = {
    "sync.*": {"queue": "sync"},
    "orchestration.*": {"queue": "orchestration"},
    "notifications.*": {"queue": "notifications"},
    "telemetry.*": {"queue": "telemetry"},
}
CELERY_QUEUES_ALL = ["sync", "orchestration", "notifications", "telemetry"]
# Declared queues are what a worker started without -Q consumes (Celery otherwise consumes only the default
# queue, and orchestration, notification and telemetry tasks would wait forever); `-Q x` still restricts.
# Each is declared exactly as Celery auto-created it before (an exchange and routing key of its own name, as
# the Redis transport needs), so messages already queued keep their bindings.
CELERY_TASK_QUEUES = tuple(Queue(name, Exchange(name), routing_key=name) for name in CELERY_QUEUES_ALL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "sync.beat:SyncScheduler"  # django-celery-beat, with real nominal fire times
