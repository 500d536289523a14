"""Telemetry: run-history analysis, the back-off ladder and alerts."""

from __future__ import annotations

from jiraplus.env import env_bool, env_float, env_int, env_list, env_str

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
