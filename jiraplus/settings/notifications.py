"""Notifications: email and the other channels, retries, channel health."""

from __future__ import annotations

from jiraplus.env import env_bool, env_float, env_int, env_list, env_prefixed, env_str

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
# Final failures in a row that raise one ops alert on the other channels (before the channel is switched off).
NOTIFY_ALERT_AFTER = env_int("NOTIFY_ALERT_AFTER", 3)
# Seconds between beat passes that re-publish messages whose task went missing.
NOTIFY_SWEEP_INTERVAL = env_float("NOTIFY_SWEEP_INTERVAL", 60.0)
# Days a sent or failed notification is kept; queued and retrying ones stay until they finish.
NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 90)
