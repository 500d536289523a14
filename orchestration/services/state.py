"""Transitions shared by the engine and the operator controls. Callers hold the orchestration's row lock
(``locked``) inside one transaction, so event numbers and state changes are serialised per orchestration.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import F, Max
from django.utils import timezone

from core import leases
from core.publish import publish_after_commit
from orchestration import task_names
from orchestration.models import Event, Orchestration, Phase, PhaseExecution, Status
from orchestration.services import announce

logger = logging.getLogger(__name__)

ADVANCE_TASK = task_names.ADVANCE


def locked(orchestration_id: int, **conditions: Any) -> Orchestration | None:
    """The orchestration's row, locked until the transaction ends; None when ``conditions`` don't hold."""
    return Orchestration.objects.select_for_update().filter(id=orchestration_id, **conditions).first()


def record(orchestration: Orchestration, kind: str, *, actor: str = "", **payload: Any) -> Event:
    # The row lock serialises writers, so the last number read once per locked instance stays ours.
    last = getattr(orchestration, "_last_event_seq", None)
    if last is None:
        last = orchestration.events.aggregate(last=Max("seq"))["last"] or 0
    orchestration._last_event_seq = last + 1  # type: ignore[attr-defined]
    return Event.objects.create(
        orchestration=orchestration,
        seq=last + 1,
        type=kind,
        payload=payload,
        actor=actor,
        correlation_id=orchestration.correlation_id,
    )


def enqueue(orchestration_id: int, step: int, *, countdown: float = 0) -> None:
    """Publish "advance X at step N" once the transaction commits (never before)."""
    publish_after_commit(
        ADVANCE_TASK, args=[orchestration_id, step], queue="orchestration", countdown=countdown
    )


def bump(orchestration: Orchestration, **changes: Any) -> None:
    """Save ``changes``, release any lease and move ``step`` on, so older messages become no-ops."""
    changes.update(**leases.LEASE.released(), heartbeat_at=timezone.now())
    Orchestration.objects.filter(id=orchestration.id).update(step=F("step") + 1, **changes)
    for name, value in changes.items():  # the row is locked: what we wrote is what it holds
        setattr(orchestration, name, value)
    orchestration.step += 1


def schedule(
    orchestration: Orchestration, phase: str, *, actor: str = "", run: bool = True
) -> PhaseExecution:
    """Create the next execution of ``phase`` (its idempotency key is fixed here) and, unless the
    orchestration is to stay put (paused), publish it."""
    iteration = orchestration.phases.filter(phase=phase).count() + 1
    execution = PhaseExecution.objects.create(
        orchestration=orchestration,
        phase=phase,
        iteration=iteration,
        idempotency_key=f"orch-{orchestration.id}:{phase}:{iteration}",
    )
    fix_attempts = orchestration.fix_attempts + (1 if phase == Phase.FIX else 0)
    bump(orchestration, current_phase=phase, fix_attempts=fix_attempts, next_attempt_at=None)
    record(
        orchestration,
        "PHASE_SCHEDULED",
        actor=actor,
        key=execution.idempotency_key,
        phase=phase,
        iteration=iteration,
        fix_attempts=fix_attempts,
    )
    if run:
        enqueue(orchestration.id, orchestration.step)
    return execution


def current_execution(orchestration: Orchestration) -> PhaseExecution | None:
    return orchestration.phases.order_by("-id").first()


def finish(
    orchestration: Orchestration, status: str, *, error_code: str = "", message: str = "", actor: str = ""
) -> None:
    """Terminal transition: the unfinished phase execution is cancelled, a pending approval closed."""
    now = timezone.now()
    execution = current_execution(orchestration)
    open_states = [
        PhaseExecution.State.PENDING,
        PhaseExecution.State.RUNNING,
        PhaseExecution.State.RETRY_WAIT,
    ]
    if execution is not None and execution.state in open_states:
        PhaseExecution.objects.filter(id=execution.id).update(
            state=PhaseExecution.State.CANCELLED, finished_at=now, lease_expires_at=None, next_attempt_at=None
        )
        record(orchestration, "PHASE_CANCELLED", actor=actor, key=execution.idempotency_key)
    if orchestration.approvals.filter(decision="PENDING").update(
        decision="REJECTED", decided_by=actor or "system", decided_at=now, comment=f"Closed: {status}"
    ):
        record(orchestration, "REJECTED", actor=actor or "system", phase=orchestration.current_phase)
    bump(
        orchestration,
        status=status,
        error_code=error_code,
        error_message=message[:2000],
        finished_at=now,
        next_attempt_at=None,
        worker="",
    )
    event = record(orchestration, status, actor=actor, error_code=error_code, message=message[:500])
    if status == Status.SUCCEEDED:
        announce.orchestration_event(orchestration, "ORCHESTRATION_SUCCEEDED", event.seq)
    elif status == Status.FAILED:
        announce.orchestration_event(orchestration, "ORCHESTRATION_FAILED", event.seq)
