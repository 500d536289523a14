"""One settings module for both runtime profiles.

Embedded default (nothing set): SQLite in WAL mode and a server-less filesystem broker under ``var/``.
Production: ``DATABASE_URL=postgres://...`` and ``CELERY_BROKER_URL=redis://...`` (``REDIS_URL`` for the
cache and the per-site Jira request budget). Every variable is listed in docs/configuration.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from jiraplus.env import env_bool, env_float, env_int, env_list, env_prefixed, env_str
from notifications import task_names as notifications_task_names
from orchestration import task_names as orchestration_task_names
from sync import task_names as sync_task_names
from telemetry import task_names as telemetry_task_names

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("JIRAPLUS_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", default=False)
_DEV_SECRET = "insecure-dev-key-only-for-the-embedded-profile"  # noqa: S105
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or _DEV_SECRET
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "graphene_django",
    "rest_framework",
    "rest_framework.authtoken",
    "sync",
    "orchestration",
    "notifications",
    "telemetry",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jiraplus.urls"
WSGI_APPLICATION = "jiraplus.wsgi.application"
ASGI_APPLICATION = "jiraplus.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    # WAL lets the web server, worker and beat read while one of them writes; IMMEDIATE transactions
    # plus the busy timeout make concurrent writers queue instead of failing with "database is locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH") or str(VAR_DIR / "jiraplus.sqlite3"),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_EMBEDDED = not DATABASE_URL

# --- Cache and Redis ------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
FORMS_URLFIELD_ASSUME_HTTPS = True

# --- Secrets at rest ------------------------------------------------------------------------------
# Comma-separated Fernet keys, newest first: the first encrypts, all decrypt (rotation).
JIRAPLUS_SECRET_KEYS = env_list("JIRAPLUS_SECRET_KEYS")
if not JIRAPLUS_SECRET_KEYS:
    if not IS_EMBEDDED and not DEBUG:
        raise ImproperlyConfigured(
            "JIRAPLUS_SECRET_KEYS is required outside the embedded profile: generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        )
    # Embedded profile only: a key derived from SECRET_KEY so `make demo` needs no setup.
    JIRAPLUS_SECRET_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(f"jiraplus:{SECRET_KEY}".encode()).digest()).decode()
    ]

# --- Jira client ----------------------------------------------------------------------------------
JIRA_CONNECT_TIMEOUT = env_float("JIRA_CONNECT_TIMEOUT", 5.0)
JIRA_READ_TIMEOUT = env_float("JIRA_READ_TIMEOUT", 30.0)
JIRA_MAX_ATTEMPTS = env_int("JIRA_MAX_ATTEMPTS", 3)
JIRA_BACKOFF_BASE = env_float("JIRA_BACKOFF_BASE", 0.5)
JIRA_BACKOFF_MAX = env_float("JIRA_BACKOFF_MAX", 30.0)
JIRA_RETRY_AFTER_MAX = env_float("JIRA_RETRY_AFTER_MAX", 120.0)
JIRA_SITE_RATE = env_float("JIRA_SITE_RATE", 20.0)  # requests per second per site, all workers
JIRA_SITE_BURST = env_int("JIRA_SITE_BURST", 40)
JIRA_MAX_RESPONSE_BYTES = env_int("JIRA_MAX_RESPONSE_BYTES", 64 * 1024 * 1024)
# Admit http:// and private, loopback or link-local Jira addresses (on-prem Data Center, demo, tests).
JIRAPLUS_ALLOW_PRIVATE_JIRA = env_bool("JIRAPLUS_ALLOW_PRIVATE_JIRA", default=False)
JIRA_BUDGET_BACKEND = env_str("JIRA_BUDGET_BACKEND") or ("redis" if REDIS_URL else "file")

# --- Sync -----------------------------------------------------------------------------------------
SYNC_DEFAULT_CRON = env_str("SYNC_DEFAULT_CRON") or "*/15 * * * *"
SYNC_PAGE_SIZE = env_int("SYNC_PAGE_SIZE", 100)
SYNC_OVERLAP_MINUTES = env_int("SYNC_OVERLAP_MINUTES", 5)
SYNC_RUN_MAX_ATTEMPTS = env_int("SYNC_RUN_MAX_ATTEMPTS", 5)
SYNC_LEASE_SECONDS = env_int("SYNC_LEASE_SECONDS", 120)

# --- Sync: Jira webhooks -------------------------------------------------------------------------
WEBHOOK_COALESCE_SECONDS = env_float("WEBHOOK_COALESCE_SECONDS", 1.0)  # events within this share a read
WEBHOOK_REFRESH_MAX_ATTEMPTS = env_int("WEBHOOK_REFRESH_MAX_ATTEMPTS", 3)
WEBHOOK_EVENT_RETENTION_DAYS = env_int("WEBHOOK_EVENT_RETENTION_DAYS", 7)  # deduplication memory

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
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "sync.beat:SyncScheduler"  # django-celery-beat, with real nominal fire times
SYNC_REAPER_INTERVAL = env_float("SYNC_REAPER_INTERVAL", 30.0)
CELERY_BEAT_SCHEDULE = {
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
}

# --- Telemetry ------------------------------------------------------------------------------------
# Run-history analysis, the back-off ladder and alerts: see docs/telemetry.md.
TELEMETRY_ANALYSE_INTERVAL = env_float("TELEMETRY_ANALYSE_INTERVAL", 60.0)
# Rungs of the back-off ladder, slowest last; ";" separates crons (a cron may contain commas).
TELEMETRY_BACKOFF_LADDER = [
    cron.strip()
    for cron in (
        env_str("TELEMETRY_BACKOFF_LADDER") or "*/30 * * * *;0 * * * *;0 */3 * * *;0 */6 * * *;0 0 * * *"
    ).split(";")
    if cron.strip()
]
TELEMETRY_FAILURE_THRESHOLD = env_int("TELEMETRY_FAILURE_THRESHOLD", 3)
# Codes a retry cannot fix (a person must act) alert and back off on their first failure.
TELEMETRY_FAILURE_THRESHOLDS = env_list(
    "TELEMETRY_FAILURE_THRESHOLDS",
    [
        "SUSPENDED_PAYMENT=1",
        "SUSPENDED_INACTIVITY=1",
        "SITE_DEACTIVATED=1",
        "TOKEN_EXPIRED=1",
        "AUTH_FAILED=1",
    ],
)
TELEMETRY_REMINDER_HOURS = env_float("TELEMETRY_REMINDER_HOURS", 24.0)
TELEMETRY_SLOW_FACTOR = env_float("TELEMETRY_SLOW_FACTOR", 3.0)
TELEMETRY_SLOW_WINDOW = env_int("TELEMETRY_SLOW_WINDOW", 20)
TELEMETRY_SLOW_MIN_RUNS = env_int("TELEMETRY_SLOW_MIN_RUNS", 5)
TELEMETRY_SLOW_MIN_MS = env_int("TELEMETRY_SLOW_MIN_MS", 1000)
# A successful run whose Jira answers took longer than this on average is SLOW_SYNC too (Jira is slow).
TELEMETRY_SLOW_JIRA_MS = env_int("TELEMETRY_SLOW_JIRA_MS", 2000)
TELEMETRY_SLOW_ALERTS = env_bool("TELEMETRY_SLOW_ALERTS", default=True)
TELEMETRY_METRICS_TOKEN = env_str("TELEMETRY_METRICS_TOKEN")
# Absolute base of links in alerts (the admin page of the project), e.g. https://jiraplus.example.com
TELEMETRY_ADMIN_BASE_URL = env_str("TELEMETRY_ADMIN_BASE_URL") or "http://127.0.0.1:8000"
CELERY_BEAT_SCHEDULE["telemetry-analyse-runs"] = {
    "task": telemetry_task_names.ANALYSE_RUNS,
    "schedule": TELEMETRY_ANALYSE_INTERVAL,
    "options": {"queue": "telemetry", "expires": TELEMETRY_ANALYSE_INTERVAL},
}

# --- APIs -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}
GRAPHENE = {"SCHEMA": "jiraplus.schema.schema"}

# --- Read and control APIs -----------------------------------------------------------------------
REST_FRAMEWORK.update(
    {
        "EXCEPTION_HANDLER": "core.interfaces.errors.rest_exception_handler",
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "DEFAULT_THROTTLE_CLASSES": [
            "rest_framework.throttling.AnonRateThrottle",
            "rest_framework.throttling.UserRateThrottle",
        ],
        "DEFAULT_THROTTLE_RATES": {
            "anon": env_str("API_THROTTLE_ANON_RATE") or "60/min",
            "user": env_str("API_THROTTLE_USER_RATE") or "1200/min",
        },
    }
)
INSTALLED_APPS.append("drf_spectacular")
SPECTACULAR_SETTINGS = {
    "TITLE": "Jira++ Data Integrator API",
    "DESCRIPTION": "Synced Jira data and the controls of its sync. Authenticate with "
    "`Authorization: Token <key>` (`python manage.py create_api_token USERNAME`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}
GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 10)
GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES", 20)
# Rendered reads are shared through the cache until synced data changes (core/read_cache.py).
READ_CACHE_SECONDS = env_int("READ_CACHE_SECONDS", 300)

# --- Logging and Sentry ---------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL") or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.redaction.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "urllib3": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
    },
}

SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from jiraplus.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT") or "production",
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )

DEMO_USERNAME = env_str("DEMO_USERNAME") or "demo"
DEMO_PASSWORD = env_str("DEMO_PASSWORD") or "demo-password"

# --- Orchestration --------------------------------------------------------------------------------
# Agents per phase by dotted path (comma-separated: several run side by side within the phase).
_ORCHESTRATION_DEFAULT_AGENTS = {
    "EXPLORE": "orchestration.agents.explore.ExploreAgent",
    "PLAN": "orchestration.agents.planner.PlannerAgent",
    "CODE": "orchestration.agents.command.CommandAgent",
    "TEST": "orchestration.agents.command.CommandAgent",
    "FIX": "orchestration.agents.command.CommandAgent",
    "DOCUMENT": "orchestration.agents.document.DocumentAgent",
}
ORCHESTRATION_AGENTS = {
    phase: env_list(f"ORCHESTRATION_AGENTS_{phase}", [default])
    for phase, default in _ORCHESTRATION_DEFAULT_AGENTS.items()
}
ORCHESTRATION_GATES = env_list("ORCHESTRATION_GATES", ["PLAN"])  # approval needed after these phases
ORCHESTRATION_MAX_FIX_ATTEMPTS = env_int("ORCHESTRATION_MAX_FIX_ATTEMPTS", 3)
ORCHESTRATION_RETRY_POLICY = {
    "max_attempts": env_int("ORCHESTRATION_RETRY_MAX_ATTEMPTS", 3),
    "initial_interval": env_float("ORCHESTRATION_RETRY_INITIAL_INTERVAL", 1.0),
    "backoff_coefficient": env_float("ORCHESTRATION_RETRY_BACKOFF_COEFFICIENT", 2.0),
    "max_interval": env_float("ORCHESTRATION_RETRY_MAX_INTERVAL", 100.0),
    "timeout": env_float("ORCHESTRATION_PHASE_TIMEOUT", 900.0),
}
# Per-phase overrides of the policy above, as JSON: {"CODE": {"max_attempts": 5, "timeout": 3600}}.
ORCHESTRATION_PHASE_POLICIES: dict[str, dict[str, float]] = json.loads(
    env_str("ORCHESTRATION_PHASE_POLICIES") or "{}"
)
ORCHESTRATION_LEASE_SECONDS = env_int("ORCHESTRATION_LEASE_SECONDS", 60)
ORCHESTRATION_REAPER_INTERVAL = env_float("ORCHESTRATION_REAPER_INTERVAL", 15.0)
ORCHESTRATION_DEADLINE_HOURS = env_float("ORCHESTRATION_DEADLINE_HOURS", 168.0)
ORCHESTRATION_WORKDIR = env_str("ORCHESTRATION_WORKDIR") or str(VAR_DIR / "orchestrations" / "{issue_key}")
ORCHESTRATION_COMMANDS = {
    phase: env_str(f"ORCHESTRATION_{phase}_COMMAND") for phase in ("CODE", "TEST", "FIX")
}
ORCHESTRATION_COMMAND_TIMEOUT = env_float("ORCHESTRATION_COMMAND_TIMEOUT", 600.0)
# Worker environment variables passed on to commands besides PATH, HOME, LANG, LC_ALL, TMPDIR.
ORCHESTRATION_COMMAND_ENV = env_list("ORCHESTRATION_COMMAND_ENV")
ORCHESTRATION_TEST_JUNIT_XML = env_str("ORCHESTRATION_TEST_JUNIT_XML") or "junit.xml"
ORCHESTRATION_TRANSIENT_EXIT_CODES = [int(c) for c in env_list("ORCHESTRATION_TRANSIENT_EXIT_CODES", ["75"])]
ORCHESTRATION_JIRA_COMMENT = env_bool("ORCHESTRATION_JIRA_COMMENT", default=False)
ORCHESTRATION_JIRA_TRANSITION = env_str("ORCHESTRATION_JIRA_TRANSITION")  # e.g. "In Review"; empty: none
ORCHESTRATION_LINK_BASE = env_str("ORCHESTRATION_LINK_BASE") or "http://localhost:8000"
CELERY_BEAT_SCHEDULE["orchestration-reap"] = {
    "task": orchestration_task_names.REAP,
    "schedule": ORCHESTRATION_REAPER_INTERVAL,
    "options": {"queue": "orchestration", "expires": ORCHESTRATION_REAPER_INTERVAL},
}

# --- Notifications (docs/notifications.md) ---------------------------------------------------------
# Email goes through Django's email framework: SMTP by default, or a django-anymail provider, e.g.
# EMAIL_BACKEND=anymail.backends.postmark.EmailBackend with ANYMAIL_POSTMARK_SERVER_TOKEN=... set.
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "jiraplus@localhost"
ANYMAIL = env_prefixed("ANYMAIL_")
NOTIFY_EMAIL_FROM = env_str("NOTIFY_EMAIL_FROM") or DEFAULT_FROM_EMAIL
NOTIFY_EMAIL_TO = env_list("NOTIFY_EMAIL_TO")  # default recipients of email routes
NOTIFY_SLACK_CHANNEL = env_str("NOTIFY_SLACK_CHANNEL") or "#jiraplus-alerts"
NOTIFY_WHATSAPP_TO = env_list("NOTIFY_WHATSAPP_TO")  # E.164 numbers
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 5)
NOTIFY_BACKOFF_BASE = env_float("NOTIFY_BACKOFF_BASE", 30.0)
# Below the Redis visibility timeout, or a waiting retry is handed to a second worker (harmless, wasteful).
NOTIFY_BACKOFF_MAX = env_float("NOTIFY_BACKOFF_MAX", 600.0)
NOTIFY_HTTP_TIMEOUT = env_float("NOTIFY_HTTP_TIMEOUT", 10.0)
# This many failed messages in a row switch a channel off.
NOTIFY_DISABLE_AFTER = env_int("NOTIFY_DISABLE_AFTER", 5)
# Seconds between beat passes that re-publish messages whose task went missing.
NOTIFY_SWEEP_INTERVAL = env_float("NOTIFY_SWEEP_INTERVAL", 60.0)
CELERY_BEAT_SCHEDULE["notifications-requeue-due"] = {
    "task": notifications_task_names.REQUEUE_DUE,
    "schedule": NOTIFY_SWEEP_INTERVAL,
    "options": {"queue": "notifications", "expires": NOTIFY_SWEEP_INTERVAL},
}

# --- Schedules and controls (sync) ----------------------------------------------------------------
# Seconds field appended to every project's cron by beat. "0" (the only production value) keeps crons
# minute-granular; tests set e.g. "*/3" so "* * * * *" ticks every 3 seconds.
SYNC_CRON_SECONDS = env_str("SYNC_CRON_SECONDS") or "0"
# One OpenAPI enum per orchestration choice set (they share field names with sync's).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "OrchestrationStatusEnum": "orchestration.models.Status",
    "OrchestrationPhaseEnum": "orchestration.models.Phase",
    "PhaseExecutionStateEnum": "orchestration.models.PhaseExecution.State",
    "AgentExecutionStatusEnum": "orchestration.models.AgentExecution.Status",
}
