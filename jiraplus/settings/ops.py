"""Ops: the system status behind /readyz and `manage.py doctor`."""

from __future__ import annotations

from jiraplus.env import env_float
from jiraplus.settings.telemetry import TELEMETRY_ANALYSE_INTERVAL

# --- Ops (docs/deploy.md, "Readiness and doctor") --------------------------------------------------
# Seconds the workers get to answer "which queues do you consume?".
OPS_INSPECT_TIMEOUT = env_float("OPS_INSPECT_TIMEOUT", 1.0)
# Beat records a heartbeat every few seconds while it runs.
OPS_BEAT_STALE_SECONDS = env_float("OPS_BEAT_STALE_SECONDS", 120.0)
OPS_TELEMETRY_STALE_SECONDS = env_float("OPS_TELEMETRY_STALE_SECONDS", 5 * TELEMETRY_ANALYSE_INTERVAL)
# A message queued, or overdue for its retry, this long means delivery is not keeping up.
OPS_NOTIFY_BACKLOG_MINUTES = env_float("OPS_NOTIFY_BACKLOG_MINUTES", 15.0)
# /readyz is public: answer repeated probes from one computation this many seconds old at most.
OPS_READYZ_CACHE_SECONDS = env_float("OPS_READYZ_CACHE_SECONDS", 5.0)
