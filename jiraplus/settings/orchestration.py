"""Orchestration: agents per phase, gates, retry policies, leases, commands."""

from __future__ import annotations

import json

from jiraplus.env import env_bool, env_float, env_int, env_list, env_str
from jiraplus.settings.base import VAR_DIR

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

# Days the events of a finished orchestration are kept (its row stays; its history goes with them).
ORCHESTRATION_EVENT_RETENTION_DAYS = env_int("ORCHESTRATION_EVENT_RETENTION_DAYS", 90)
