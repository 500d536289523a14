"""Rebuild an orchestration's state from its events alone (Temporal's replay, in miniature).

``replay`` is pure: it reads only the event list. ``stored_state`` reads the rows the engine keeps. A test
proves the two agree, which is what makes the event log a faithful history rather than a diary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orchestration.models import Approval, Orchestration


def replay(events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """State after applying ``events`` (dicts with ``type`` and ``payload``) in order."""
    state: dict[str, Any] = {
        "status": "",
        "current_phase": "",
        "fix_attempts": 0,
        "error_code": "",
        "cancel_requested": False,
        "pause_requested": False,
        "phases": {},
        "approvals": [],
    }
    phases: dict[str, dict[str, Any]] = state["phases"]
    for event in events:
        kind, data = event["type"], event["payload"]
        key = data.get("key", "")
        if kind == "CREATED":
            state["status"] = "PENDING"
        elif kind == "PHASE_SCHEDULED":
            phases[key] = {
                "phase": data["phase"],
                "iteration": data["iteration"],
                "state": "PENDING",
                "attempt": 0,
                "agents": [],
            }
            state["current_phase"] = data["phase"]
            state["fix_attempts"] = data["fix_attempts"]
        elif kind == "PHASE_STARTED":
            phases[key].update(state="RUNNING", attempt=data["attempt"])
            state["status"] = "RUNNING"
        elif kind == "AGENT_FINISHED":
            phases[key]["agents"].append((data["agent"], data["attempt"], data["status"]))
        elif kind == "PHASE_RETRY_SCHEDULED":
            phases[key]["state"] = "RETRY_WAIT"
        elif kind in ("PHASE_SUCCEEDED", "PHASE_FAILED", "PHASE_CANCELLED"):
            phases[key]["state"] = kind.removeprefix("PHASE_")
        elif kind == "APPROVAL_REQUESTED":
            state["status"] = "AWAITING_APPROVAL"
            state["approvals"].append({"phase": data["phase"], "decision": "PENDING"})
        elif kind in ("APPROVED", "REJECTED"):
            state["approvals"][-1]["decision"] = kind
            if kind == "APPROVED":
                state["status"] = "RUNNING"
        elif kind == "CANCEL_REQUESTED":
            state["cancel_requested"] = True
        elif kind == "PAUSE_REQUESTED":
            state["pause_requested"] = True
        elif kind == "PAUSED":
            state.update(status="PAUSED", pause_requested=False)
        elif kind == "RESUMED":
            state.update(status=data["status"], pause_requested=False)
        elif kind == "RETRY_REQUESTED":
            state.update(status="RUNNING", error_code="", cancel_requested=False)
        elif kind in ("SUCCEEDED", "FAILED", "CANCELLED"):
            state.update(status=kind, error_code=data.get("error_code", ""))
    return state


def stored_state(orchestration: Orchestration) -> dict[str, Any]:
    """The same shape as ``replay``'s, read from the engine's rows."""
    phases = {}
    for execution in orchestration.phases.prefetch_related("agents").order_by("id"):
        phases[execution.idempotency_key] = {
            "phase": execution.phase,
            "iteration": execution.iteration,
            "state": execution.state,
            "attempt": execution.attempt,
            "agents": [(a.agent, a.attempt, a.status) for a in execution.agents.order_by("id")],
        }
    approvals: list[Approval] = list(orchestration.approvals.order_by("id"))
    return {
        "status": orchestration.status,
        "current_phase": orchestration.current_phase,
        "fix_attempts": orchestration.fix_attempts,
        "error_code": orchestration.error_code,
        "cancel_requested": orchestration.cancel_requested,
        "pause_requested": orchestration.pause_requested,
        "phases": phases,
        "approvals": [{"phase": a.phase, "decision": a.decision} for a in approvals],
    }


def rebuild(orchestration: Orchestration) -> dict[str, Any]:
    return replay(orchestration.events.order_by("seq").values("type", "payload"))


def describe(kind: str, payload: Mapping[str, Any]) -> str:
    """One line for a person; empty for events too fine-grained for a timeline."""
    key = str(payload.get("key", "")).split(":", 1)[-1].replace(":", " #")
    lines = {
        "CREATED": f"created for {payload.get('issue')} (auto-proceed {payload.get('auto_proceed')})",
        "PHASE_SCHEDULED": f"{key} scheduled",
        "PHASE_STARTED": f"{key} started, attempt {payload.get('attempt')}"
        + (" (took over from a lost worker)" if payload.get("takeover") else ""),
        "AGENT_FINISHED": f"{key} agent {payload.get('agent')} {payload.get('status')} "
        f"in {payload.get('duration_ms')} ms {payload.get('error_code') or ''}".rstrip(),
        "PHASE_RETRY_SCHEDULED": f"{key} retry at {payload.get('next_attempt_at')} "
        f"({payload.get('error_code')})",
        "PHASE_SUCCEEDED": f"{key} succeeded",
        "PHASE_FAILED": f"{key} failed ({payload.get('error_code')})",
        "PHASE_CANCELLED": f"{key} cancelled",
        "APPROVAL_REQUESTED": f"{payload.get('phase')} awaits approval",
        "APPROVED": f"{payload.get('phase')} approved {payload.get('comment') or ''}".rstrip(),
        "REJECTED": f"{payload.get('phase')} rejected {payload.get('comment') or ''}".rstrip(),
        "CANCEL_REQUESTED": "cancel requested (seen at the next checkpoint)",
        "PAUSE_REQUESTED": "pause requested (after the running phase)",
        "PAUSED": "paused",
        "RESUMED": "resumed",
        "RETRY_REQUESTED": f"retry from {payload.get('phase')}",
        "SUCCEEDED": "SUCCEEDED",
        "FAILED": f"FAILED {payload.get('error_code')}: {payload.get('message')}",
        "CANCELLED": f"CANCELLED {payload.get('error_code') or ''}".rstrip(),
    }
    return lines.get(kind, kind)
