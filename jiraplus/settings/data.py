"""Where data lives: the database (SQLite embedded, PostgreSQL in production), the cache, secrets at rest."""

from __future__ import annotations

import base64
import hashlib

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from jiraplus.env import env_float, env_int, env_list, env_str
from jiraplus.settings.base import DEBUG, SECRET_KEY, VAR_DIR

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

# --- Retention (each app's windows are with its settings) ------------------------------------------
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)  # who did what: kept a year
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 1000)  # ids per DELETE, each its own transaction
RETENTION_INTERVAL = env_float("RETENTION_INTERVAL", 86400.0)  # seconds between purges (beat)
