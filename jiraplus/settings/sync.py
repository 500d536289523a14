"""Sync: the Jira client, runs, webhooks and schedules."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from jiraplus.env import env_bool, env_float, env_int, env_str
from jiraplus.settings.data import REDIS_URL

# --- Jira client ----------------------------------------------------------------------------------
JIRA_CONNECT_TIMEOUT = env_float("JIRA_CONNECT_TIMEOUT", 5.0)
JIRA_READ_TIMEOUT = env_float("JIRA_READ_TIMEOUT", 30.0)
JIRA_MAX_ATTEMPTS = env_int("JIRA_MAX_ATTEMPTS", 3)
JIRA_BACKOFF_BASE = env_float("JIRA_BACKOFF_BASE", 0.5)
JIRA_BACKOFF_MAX = env_float("JIRA_BACKOFF_MAX", 30.0)
JIRA_RETRY_AFTER_MAX = env_float("JIRA_RETRY_AFTER_MAX", 120.0)
JIRA_SITE_RATE = env_float("JIRA_SITE_RATE", 20.0)  # requests per second per site, all workers
JIRA_SITE_BURST = env_int("JIRA_SITE_BURST", 40)
JIRA_SITE_CONCURRENCY = env_int(
    "JIRA_SITE_CONCURRENCY", 8
)  # requests in flight per site, all workers; 0: no cap
# A held slot's lease, renewed by its holder every third of it: how soon a killed worker's slots come back.
JIRA_SLOT_LEASE_SECONDS = env_float("JIRA_SLOT_LEASE_SECONDS", 15.0)
JIRA_MAX_RESPONSE_BYTES = env_int("JIRA_MAX_RESPONSE_BYTES", 64 * 1024 * 1024)
# Admit http:// and private, loopback or link-local Jira addresses (on-prem Data Center, demo, tests).
JIRAPLUS_ALLOW_PRIVATE_JIRA = env_bool("JIRAPLUS_ALLOW_PRIVATE_JIRA", default=False)
JIRA_BUDGET_BACKEND = env_str("JIRA_BUDGET_BACKEND") or ("redis" if REDIS_URL else "file")

# --- Sync -----------------------------------------------------------------------------------------
SYNC_DEFAULT_CRON = env_str("SYNC_DEFAULT_CRON") or "*/15 * * * *"
SYNC_PAGE_SIZE = env_int("SYNC_PAGE_SIZE", 100)
# Disjoint id ranges a run's issue pages are read in side by side (sync/services/steps/ranges.py); 1: one.
SYNC_ISSUE_RANGES = env_int("SYNC_ISSUE_RANGES", 4)
# An issues step reads rounds of pages for this long before the next step takes over; 0: one round.
SYNC_ISSUE_STEP_SECONDS = env_float("SYNC_ISSUE_STEP_SECONDS", 20.0)
# The later steps' reads sent together by the start step (sync/services/steps/prefetch.py); 0: off.
SYNC_PREFETCH_THREADS = env_int("SYNC_PREFETCH_THREADS", 4)
SYNC_PREFETCH_WAIT_SECONDS = env_float("SYNC_PREFETCH_WAIT_SECONDS", 30.0)
SYNC_OVERLAP_MINUTES = env_int("SYNC_OVERLAP_MINUTES", 5)
SYNC_RUN_MAX_ATTEMPTS = env_int("SYNC_RUN_MAX_ATTEMPTS", 5)
SYNC_LEASE_SECONDS = env_int("SYNC_LEASE_SECONDS", 120)

# --- Sync: Jira webhooks -------------------------------------------------------------------------
WEBHOOK_COALESCE_SECONDS = env_float("WEBHOOK_COALESCE_SECONDS", 1.0)  # events within this share a read
WEBHOOK_REFRESH_MAX_ATTEMPTS = env_int("WEBHOOK_REFRESH_MAX_ATTEMPTS", 3)
WEBHOOK_EVENT_RETENTION_DAYS = env_int("WEBHOOK_EVENT_RETENTION_DAYS", 7)  # deduplication memory

# Lowest SyncLog level written (DEBUG, INFO, WARNING, ERROR). DEBUG adds a line per step: its cursor,
# Jira requests, time in Jira and wall time; INFO (the default) writes the run summaries and problems.
SYNC_LOG_LEVEL = (env_str("SYNC_LOG_LEVEL") or "INFO").upper()
if SYNC_LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR"):
    raise ImproperlyConfigured(
        f"SYNC_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {SYNC_LOG_LEVEL!r}"
    )

# Retention of the trail, in days. Runs older than the window leave a daily per-project aggregate
# (SyncRunDaily) behind, so telemetry's totals still count them; a run in flight is never purged.
SYNC_LOG_RETENTION_DAYS = env_int("SYNC_LOG_RETENTION_DAYS", 30)
SYNC_RUN_RETENTION_DAYS = env_int("SYNC_RUN_RETENTION_DAYS", 90)

# Seconds between reaper passes over stalled runs (beat).
SYNC_REAPER_INTERVAL = env_float("SYNC_REAPER_INTERVAL", 30.0)

# --- Schedules and controls (sync) ----------------------------------------------------------------
# Seconds field appended to every project's cron by beat. "0" (the only production value) keeps crons
# minute-granular; tests set e.g. "*/3" so "* * * * *" ticks every 3 seconds.
SYNC_CRON_SECONDS = env_str("SYNC_CRON_SECONDS") or "0"
