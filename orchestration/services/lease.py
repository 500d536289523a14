"""The orchestration's lease: the claim that admits one delivery of a step, the keeper that renews it
while agents run, and the fenced commit of the outcome.

The claim and the outcome commit without waiting for the WAL flush (``step_transaction``, as sync steps do):
a PostgreSQL crash may forget the last of them, state and events together. Nothing acts on a forgotten
transition (the next claim is fenced on the stored step), so the phase simply runs again under the same
idempotency key.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from core import leases
from orchestration.agents import Cancelled
from orchestration.models import RUNNABLE_STATUSES, Orchestration, PhaseExecution, Status
from orchestration.policy import PhasePolicy, policy_for
from orchestration.services import outcomes
from orchestration.services.outcomes import Outcome, StepOutcome
from orchestration.services.state import bump, current_execution, finish, locked, record
from sync.services.runs import step_transaction

logger = logging.getLogger(__name__)


@dataclass
class Claimed:
    orchestration: Orchestration
    execution: PhaseExecution
    token: str
    policy: PhasePolicy
    outcomes: list[Outcome] = field(default_factory=list)


def lease_delta() -> timedelta:
    return timedelta(seconds=settings.ORCHESTRATION_LEASE_SECONDS)


def claim(orchestration_id: int, step: int, worker: str) -> Claimed | StepOutcome | None:
    """Win step ``step`` (None: a duplicate or stale delivery), or settle it at its checkpoint."""
    now = timezone.now()
    with step_transaction():
        token = leases.claim(
            Orchestration.objects.filter(id=orchestration_id, step=step, status__in=RUNNABLE_STATUSES).filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
            ),
            duration=lease_delta(),
            now=now,
            worker=worker,
            heartbeat_at=now,
        )
        if token is None:
            return None
        orchestration = locked(orchestration_id)
        assert orchestration is not None
        execution = current_execution(orchestration)
        # Checkpoint: requests made while no phase was running take effect here.
        if orchestration.cancel_requested:
            finish(orchestration, Status.CANCELLED, actor="system")
            return StepOutcome.CANCELLED
        if orchestration.deadline_at and orchestration.deadline_at < now:
            finish(orchestration, Status.FAILED, error_code="DEADLINE_EXCEEDED", message="Deadline passed")
            return StepOutcome.DEADLINE
        if orchestration.pause_requested:
            bump(orchestration, status=Status.PAUSED, pause_requested=False)
            record(orchestration, "PAUSED", actor="system")
            return StepOutcome.PAUSED
        if execution is None or execution.state not in (
            PhaseExecution.State.PENDING,
            PhaseExecution.State.RETRY_WAIT,
            PhaseExecution.State.RUNNING,
        ):
            logger.error("orchestration %s step %s has no runnable phase", orchestration_id, step)
            Orchestration.objects.filter(id=orchestration_id).update(**leases.LEASE.released())
            return StepOutcome.NOTHING_TO_RUN
        policy = policy_for(execution.phase)
        if execution.state == PhaseExecution.State.RUNNING:
            # Takeover: the previous holder's lease expired, so its worker died (or was killed by a time
            # limit). Each takeover counts as an attempt, which stops a poison phase from looping forever.
            logger.warning(
                "orchestration %s: taking over %s after a lost worker", orchestration_id, execution
            )
            if execution.attempt >= policy.max_attempts:
                outcomes.fail_phase(
                    orchestration, execution, "WORKER_LOST", "The worker died on every attempt"
                )
                return StepOutcome.FAILED
        takeover = execution.state == PhaseExecution.State.RUNNING
        started = {
            "state": PhaseExecution.State.RUNNING,
            "attempt": execution.attempt + 1,
            "worker": worker,
            "started_at": execution.started_at or now,
            "lease_expires_at": now + lease_delta(),
            "next_attempt_at": None,
        }
        PhaseExecution.objects.filter(id=execution.id).update(**started)
        running = {
            "status": Status.RUNNING,
            "started_at": orchestration.started_at or now,
            "next_attempt_at": None,
        }
        Orchestration.objects.filter(id=orchestration_id).update(**running)
        record(
            orchestration,
            "PHASE_STARTED",
            actor=worker,
            key=execution.idempotency_key,
            attempt=execution.attempt + 1,
            takeover=takeover,
        )
        for name, value in started.items():
            setattr(execution, name, value)
        for name, value in running.items():
            setattr(orchestration, name, value)
    return Claimed(orchestration, execution, token, policy)


class Lease:
    """Keeps the claim alive while agents run; it is also the ``AgentContext`` agents see."""

    def __init__(self, claimed: Claimed) -> None:
        self.orchestration_id = claimed.orchestration.id
        self.execution_id = claimed.execution.id
        self.step = claimed.orchestration.step
        self.token = claimed.token
        self._deadline = timezone.now() + timedelta(seconds=claimed.policy.timeout)
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self.timed_out = threading.Event()
        self._stop = threading.Event()
        interval = max(0.2, min(settings.ORCHESTRATION_LEASE_SECONDS / 4, 2.0))
        self._thread = threading.Thread(target=self._keep, args=(interval,), daemon=True, name="lease")
        self._thread.start()

    @property
    def deadline(self) -> datetime:
        return self._deadline

    def _keep(self, interval: float) -> None:
        try:
            while not self._stop.wait(interval):
                self._renew()
        except DatabaseError:
            logger.exception("lease keeper of orchestration %s stopped", self.orchestration_id)
            self.lost.set()
        finally:
            connection.close()  # this thread's own connection

    def _renew(self) -> None:
        now = timezone.now()
        if now > self._deadline:
            self.timed_out.set()
        this_step = Orchestration.objects.filter(id=self.orchestration_id, step=self.step)
        if not leases.renew(this_step, self.token, duration=lease_delta(), now=now, heartbeat_at=now):
            self.lost.set()
            return
        PhaseExecution.objects.filter(id=self.execution_id).update(lease_expires_at=now + lease_delta())
        if this_step.filter(**leases.LEASE.held(self.token), cancel_requested=True).exists():
            self.cancelled.set()

    def heartbeat(self, checkpoint: dict[str, Any] | None = None) -> None:
        if checkpoint is not None:
            PhaseExecution.objects.filter(id=self.execution_id).update(checkpoint=checkpoint)
        if timezone.now() > self._deadline:
            self.timed_out.set()
        for flag, reason in (
            (self.lost, "lease lost"),
            (self.cancelled, "cancelled"),
            (self.timed_out, "timeout"),
        ):
            if flag.is_set():
                raise Cancelled(reason)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def commit(claimed: Claimed) -> StepOutcome:
    """Commit the agents' outcomes, fenced: a holder that lost its lease writes nothing."""
    execution = claimed.execution
    with step_transaction():
        orchestration = locked(
            claimed.orchestration.id, **leases.LEASE.held(claimed.token), step=claimed.orchestration.step
        )
        if orchestration is None:
            logger.warning(
                "orchestration %s lost its lease during %s; outcome dropped",
                claimed.orchestration.id,
                execution,
            )
            return StepOutcome.LEASE_LOST
        return outcomes.apply(orchestration, execution, claimed.policy, claimed.outcomes)
