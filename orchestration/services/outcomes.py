"""The outcome rules: what a phase's agent outcomes make of the orchestration (retry, fail, approve, next).

Callers hold the orchestration's row lock and have fenced on their lease token, inside the transaction
that commits the outcome; the next phase is published after that commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils import timezone

from orchestration.agents import PhaseResult
from orchestration.models import AgentExecution, Approval, Orchestration, Phase, PhaseExecution, Status
from orchestration.policy import PhasePolicy, next_after
from orchestration.services import announce
from orchestration.services.state import bump, enqueue, finish, record, schedule

# Retries further away than this wait for the reaper instead of a countdown message, because Redis
# redelivers unacked countdown messages older than its visibility timeout (a second, early delivery).
MAX_COUNTDOWN = 60.0

AgentStatus = AgentExecution.Status


class StepOutcome(StrEnum):
    """What one delivery of "advance X at step N" did (logged by callers, compared by tests)."""

    NOOP = "noop"  # a duplicate or stale message: someone else holds or moved the step
    CANCELLED = "cancelled"
    DEADLINE = "deadline"
    PAUSED = "paused"
    NOTHING_TO_RUN = "nothing-to-run"
    FAILED = "failed"
    LEASE_LOST = "lease-lost"  # the lease was taken over while agents ran: the outcome was dropped
    RETRY_WAIT = "retry-wait"
    SUCCEEDED = "succeeded"
    AWAITING_APPROVAL = "awaiting-approval"
    ADVANCED = "advanced"


@dataclass
class Outcome:
    """One agent's run of the phase."""

    agent: str
    status: AgentStatus
    duration_ms: int
    result: PhaseResult | None = None
    error_code: str = ""
    error_type: str = ""
    message: str = ""
    transient: bool = False


def apply(
    orchestration: Orchestration,
    execution: PhaseExecution,
    policy: PhasePolicy,
    outcomes: Sequence[Outcome],
) -> StepOutcome:
    """Record every agent's outcome, then move the orchestration on by the rules below."""
    for o in outcomes:
        record_agent(orchestration, execution, o)
    errors = [o for o in outcomes if o.status == AgentStatus.ERROR]
    if errors:
        return on_errors(orchestration, execution, policy, errors)
    return on_results(orchestration, execution, [o.result for o in outcomes if o.result])


def record_agent(orchestration: Orchestration, execution: PhaseExecution, o: Outcome) -> None:
    result = o.result
    AgentExecution.objects.create(
        phase_execution=execution,
        agent=o.agent,
        attempt=execution.attempt,
        status=o.status,
        duration_ms=o.duration_ms,
        result={"outputs": result.outputs, "summary": result.summary, "artifacts": len(result.artifacts)}
        if result
        else {},
        error_code=o.error_code,
        error_type=o.error_type,
        error_message=o.message[:2000],
        input_tokens=result.input_tokens if result else None,
        output_tokens=result.output_tokens if result else None,
        cost_usd=result.cost_usd if result else None,
        finished_at=timezone.now(),
    )
    record(
        orchestration,
        "AGENT_FINISHED",
        key=execution.idempotency_key,
        agent=o.agent,
        attempt=execution.attempt,
        status=str(o.status),
        duration_ms=o.duration_ms,
        error_code=o.error_code,
    )


def on_errors(
    orchestration: Orchestration, execution: PhaseExecution, policy: PhasePolicy, errors: Sequence[Outcome]
) -> StepOutcome:
    """Agents raised: a cancel wins; all transient with attempts left waits for a retry; else it fails."""
    first = errors[0]
    if orchestration.cancel_requested and any(o.error_code == "CANCELLED" for o in errors):
        finish(orchestration, Status.CANCELLED, actor="system")
        return StepOutcome.CANCELLED
    if all(o.transient for o in errors) and execution.attempt < policy.max_attempts:
        delay = policy.delay_after(execution.attempt)
        due = timezone.now() + delay
        PhaseExecution.objects.filter(id=execution.id).update(
            state=PhaseExecution.State.RETRY_WAIT,
            next_attempt_at=due,
            lease_expires_at=None,
            error_code=first.error_code,
            error_message=first.message[:2000],
        )
        bump(orchestration, next_attempt_at=due)
        record(
            orchestration,
            "PHASE_RETRY_SCHEDULED",
            key=execution.idempotency_key,
            attempt=execution.attempt,
            next_attempt_at=due.isoformat(),
            delay_s=delay.total_seconds(),
            error_code=first.error_code,
        )
        if delay.total_seconds() <= MAX_COUNTDOWN:
            enqueue(orchestration.id, orchestration.step, countdown=delay.total_seconds() + 0.05)
        return StepOutcome.RETRY_WAIT
    code = first.error_code if not first.transient else f"{first.error_code}_RETRIES_EXHAUSTED"
    fail_phase(orchestration, execution, code, f"{first.agent}: {first.message}")
    return StepOutcome.FAILED


def fail_phase(orchestration: Orchestration, execution: PhaseExecution, code: str, message: str) -> None:
    PhaseExecution.objects.filter(id=execution.id).update(
        state=PhaseExecution.State.FAILED,
        error_code=code,
        error_message=message[:2000],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    record(orchestration, "PHASE_FAILED", key=execution.idempotency_key, error_code=code)
    finish(orchestration, Status.FAILED, error_code=code, message=f"{execution.phase}: {message}")


def on_results(
    orchestration: Orchestration, execution: PhaseExecution, results: Sequence[PhaseResult]
) -> StepOutcome:
    """Every agent reported: store the merged outputs, then fail, finish, ask for approval or go on."""
    success = all(r.success for r in results)
    outputs: dict[str, Any] = {}
    for r in results:
        outputs.update(r.outputs)
    artifacts = [a for r in results for a in r.artifacts]
    error_code = "" if success else ("TESTS_FAILED" if execution.phase == Phase.TEST else "PHASE_FAILED")
    summary = "; ".join(r.summary for r in results if r.summary)
    PhaseExecution.objects.filter(id=execution.id).update(
        state=PhaseExecution.State.SUCCEEDED if success else PhaseExecution.State.FAILED,
        output=outputs,
        artifacts=artifacts,
        error_code=error_code,
        error_message="" if success else summary[:2000],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    record(
        orchestration,
        "PHASE_SUCCEEDED" if success else "PHASE_FAILED",
        key=execution.idempotency_key,
        error_code=error_code,
    )
    following = next_after(
        execution.phase,
        success=success,
        fix_attempts=orchestration.fix_attempts,
        max_fix_attempts=orchestration.max_fix_attempts,
    )
    if following.error_code:
        finish(
            orchestration,
            Status.FAILED,
            error_code=following.error_code,
            message=f"{execution.phase}: {summary}",
        )
        return StepOutcome.FAILED
    if orchestration.cancel_requested:
        finish(orchestration, Status.CANCELLED, actor="system")
        return StepOutcome.CANCELLED
    if following.done:
        finish(orchestration, Status.SUCCEEDED)
        return StepOutcome.SUCCEEDED
    if success and execution.phase in orchestration.gates and not orchestration.auto_proceed:
        Approval.objects.create(orchestration=orchestration, phase=execution.phase)
        bump(orchestration, status=Status.AWAITING_APPROVAL)
        event = record(orchestration, "APPROVAL_REQUESTED", phase=execution.phase)
        announce.orchestration_event(orchestration, "ORCHESTRATION_APPROVAL_NEEDED", event.seq)
        return StepOutcome.AWAITING_APPROVAL
    assert following.phase is not None
    if orchestration.pause_requested:
        schedule(orchestration, following.phase, run=False)
        bump(orchestration, status=Status.PAUSED, pause_requested=False)
        record(orchestration, "PAUSED", actor="system")
        return StepOutcome.PAUSED
    schedule(orchestration, following.phase)
    return StepOutcome.ADVANCED
