"""Advancing an orchestration: claim, run the current phase's agents, commit the outcome, publish the next.

A Celery message only says "advance orchestration X at step N". ``advance`` claims the row with one
conditional UPDATE (step N, runnable, unleased or lease expired, retry timer due) and a fresh lease token;
zero rows means a duplicate or stale message, which is a no-op. While agents run, a keeper thread renews
the lease and notices cancel requests and the phase timeout. The outcome commits in one transaction that
first re-checks the lease token (fencing): a worker that lost its lease writes nothing. The next phase is
published after that commit. The reaper re-publishes orchestrations whose lease expired (dead worker),
whose message was lost, or whose durable retry timer is due.

The claim and the outcome commit without waiting for the WAL flush (``step_transaction``, as sync steps do):
a PostgreSQL crash may forget the last of them, state and events together. Nothing acts on a forgotten
transition (the next claim is fenced on the stored step), so the phase simply runs again under the same
idempotency key. Operators' decisions (approve, reject, cancel, ...) always commit durably.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from orchestration import agents as agent_api
from orchestration import selectors
from orchestration.agents import Agent, AgentError, AgentTask, Cancelled, PhaseResult
from orchestration.models import (
    RUNNABLE_STATUSES,
    AgentExecution,
    Approval,
    Orchestration,
    Phase,
    PhaseExecution,
    Status,
)
from orchestration.policy import PhasePolicy, next_after, policy_for
from orchestration.services import announce
from orchestration.services.state import bump, current_execution, enqueue, finish, locked, record, schedule
from sync.services.runs import step_transaction

logger = logging.getLogger(__name__)

# Retries further away than this wait for the reaper instead of a countdown message, because Redis
# redelivers unacked countdown messages older than its visibility timeout (a second, early delivery).
MAX_COUNTDOWN = 60.0


@dataclass
class Outcome:
    agent: str
    status: str
    duration_ms: int
    result: PhaseResult | None = None
    error_code: str = ""
    error_type: str = ""
    message: str = ""
    transient: bool = False


@dataclass
class Claimed:
    orchestration: Orchestration
    execution: PhaseExecution
    token: str
    policy: PhasePolicy
    outcomes: list[Outcome] = field(default_factory=list)


def lease_delta() -> timedelta:
    return timedelta(seconds=settings.ORCHESTRATION_LEASE_SECONDS)


def advance(orchestration_id: int, step: int, *, worker: str = "") -> str:
    """Run step ``step`` of the orchestration if this delivery wins the claim; returns what happened."""
    claimed = _claim(orchestration_id, step, worker)
    if claimed is None:
        logger.info("orchestration %s step %s: duplicate or stale message, no-op", orchestration_id, step)
        return "noop"
    if isinstance(claimed, str):
        return claimed
    lease = Lease(claimed)
    try:
        claimed.outcomes = _run_agents(claimed, lease)
    finally:
        lease.stop()
    return _commit(claimed, lease)


def _claim(orchestration_id: int, step: int, worker: str) -> Claimed | str | None:
    now = timezone.now()
    token = uuid.uuid4().hex
    with step_transaction():
        won = (
            Orchestration.objects.filter(id=orchestration_id, step=step, status__in=RUNNABLE_STATUSES)
            .filter(Q(lease_token="") | Q(lease_expires_at__lt=now))
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .update(lease_token=token, lease_expires_at=now + lease_delta(), worker=worker, heartbeat_at=now)
        )
        if not won:
            return None
        orchestration = locked(orchestration_id)
        assert orchestration is not None
        execution = current_execution(orchestration)
        # Checkpoint: requests made while no phase was running take effect here.
        if orchestration.cancel_requested:
            finish(orchestration, Status.CANCELLED, actor="system")
            return "cancelled"
        if orchestration.deadline_at and orchestration.deadline_at < now:
            finish(orchestration, Status.FAILED, error_code="DEADLINE_EXCEEDED", message="Deadline passed")
            return "deadline"
        if orchestration.pause_requested:
            bump(orchestration, status=Status.PAUSED, pause_requested=False)
            record(orchestration, "PAUSED", actor="system")
            return "paused"
        if execution is None or execution.state not in (
            PhaseExecution.State.PENDING,
            PhaseExecution.State.RETRY_WAIT,
            PhaseExecution.State.RUNNING,
        ):
            logger.error("orchestration %s step %s has no runnable phase", orchestration_id, step)
            Orchestration.objects.filter(id=orchestration_id).update(lease_token="", lease_expires_at=None)
            return "nothing-to-run"
        policy = policy_for(execution.phase)
        if execution.state == PhaseExecution.State.RUNNING:
            # Takeover: the previous holder's lease expired, so its worker died (or was killed by a time
            # limit). Each takeover counts as an attempt, which stops a poison phase from looping forever.
            logger.warning(
                "orchestration %s: taking over %s after a lost worker", orchestration_id, execution
            )
            if execution.attempt >= policy.max_attempts:
                _fail_phase(orchestration, execution, "WORKER_LOST", "The worker died on every attempt")
                return "failed"
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
        mine = Orchestration.objects.filter(id=self.orchestration_id, lease_token=self.token, step=self.step)
        if not mine.update(lease_expires_at=now + lease_delta(), heartbeat_at=now):
            self.lost.set()
            return
        PhaseExecution.objects.filter(id=self.execution_id).update(lease_expires_at=now + lease_delta())
        if mine.filter(cancel_requested=True).exists():
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


def _task_for(claimed: Claimed) -> AgentTask:
    orchestration, execution = claimed.orchestration, claimed.execution
    earlier = list(orchestration.phases.exclude(id=execution.id).order_by("id"))
    history = [
        {"phase": p.phase, "iteration": p.iteration, "state": p.state, "output": p.output} for p in earlier
    ]
    return AgentTask(
        orchestration_id=orchestration.id,
        phase=execution.phase,
        iteration=execution.iteration,
        attempt=execution.attempt,
        idempotency_key=execution.idempotency_key,
        issue=selectors.issue_context(orchestration.issue),
        previous=selectors.latest_outputs(earlier),
        history=history,
    )


def _run_agents(claimed: Claimed, lease: Lease) -> list[Outcome]:
    try:
        agents = agent_api.agents_for(claimed.execution.phase)
        task = _task_for(claimed)
    except AgentError as error:
        return [
            Outcome("engine", AgentExecution.Status.ERROR, 0, error_code=error.code, message=error.message)
        ]
    if len(agents) == 1:
        return [_run_one(agents[0], task, lease)]
    # Several agents run side by side in this task, under its one lease; see docs/orchestration.md.
    with ThreadPoolExecutor(max_workers=len(agents), thread_name_prefix="agent") as pool:
        return list(pool.map(lambda agent: _run_in_thread(agent, task, lease), agents))


def _run_in_thread(agent: Agent, task: AgentTask, lease: Lease) -> Outcome:
    try:
        return _run_one(agent, task, lease)
    finally:
        connection.close()


def _run_one(agent: Agent, task: AgentTask, lease: Lease) -> Outcome:
    started = time.monotonic()

    def outcome(status: str, **details: Any) -> Outcome:
        return Outcome(agent.name, status, round((time.monotonic() - started) * 1000), **details)

    try:
        result = agent.run(task, lease)
    except Cancelled as stop:
        if lease.timed_out.is_set():
            return outcome(
                "ERROR", error_code="PHASE_TIMEOUT", error_type="Timeout", message=str(stop), transient=True
            )
        return outcome("ERROR", error_code="CANCELLED", error_type="Cancelled", message=str(stop))
    except AgentError as error:
        return outcome(
            "ERROR",
            error_code=error.code,
            error_type=type(error).__name__,
            message=error.message,
            transient=error.transient,
        )
    except DatabaseError as error:
        return outcome(
            "ERROR",
            error_code="DATABASE",
            error_type=type(error).__name__,
            message=str(error),
            transient=True,
        )
    except Exception as error:
        logger.exception("agent %s crashed in %s", agent.name, task.idempotency_key)
        return outcome(
            "ERROR", error_code="AGENT_CRASHED", error_type=type(error).__name__, message=repr(error)
        )
    return outcome("SUCCEEDED" if result.success else "FAILED", result=result)


def _commit(claimed: Claimed, lease: Lease) -> str:
    execution = claimed.execution
    with step_transaction():
        orchestration = locked(
            claimed.orchestration.id, lease_token=claimed.token, step=claimed.orchestration.step
        )
        if orchestration is None:
            logger.warning(
                "orchestration %s lost its lease during %s; outcome dropped",
                claimed.orchestration.id,
                execution,
            )
            return "lease-lost"
        for o in claimed.outcomes:
            _record_agent(orchestration, execution, o)
        errors = [o for o in claimed.outcomes if o.status == "ERROR"]
        if errors:
            return _on_errors(orchestration, execution, claimed.policy, errors)
        return _on_results(orchestration, execution, [o.result for o in claimed.outcomes if o.result])


def _record_agent(orchestration: Orchestration, execution: PhaseExecution, o: Outcome) -> None:
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
        status=o.status,
        duration_ms=o.duration_ms,
        error_code=o.error_code,
    )


def _on_errors(
    orchestration: Orchestration, execution: PhaseExecution, policy: PhasePolicy, errors: Sequence[Outcome]
) -> str:
    first = errors[0]
    if orchestration.cancel_requested and any(o.error_code == "CANCELLED" for o in errors):
        finish(orchestration, Status.CANCELLED, actor="system")
        return "cancelled"
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
        return "retry-wait"
    code = first.error_code if not first.transient else f"{first.error_code}_RETRIES_EXHAUSTED"
    _fail_phase(orchestration, execution, code, f"{first.agent}: {first.message}")
    return "failed"


def _fail_phase(orchestration: Orchestration, execution: PhaseExecution, code: str, message: str) -> None:
    PhaseExecution.objects.filter(id=execution.id).update(
        state=PhaseExecution.State.FAILED,
        error_code=code,
        error_message=message[:2000],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    record(orchestration, "PHASE_FAILED", key=execution.idempotency_key, error_code=code)
    finish(orchestration, Status.FAILED, error_code=code, message=f"{execution.phase}: {message}")


def _on_results(
    orchestration: Orchestration, execution: PhaseExecution, results: Sequence[PhaseResult]
) -> str:
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
        return "failed"
    if orchestration.cancel_requested:
        finish(orchestration, Status.CANCELLED, actor="system")
        return "cancelled"
    if following.done:
        finish(orchestration, Status.SUCCEEDED)
        return "succeeded"
    if success and execution.phase in orchestration.gates and not orchestration.auto_proceed:
        Approval.objects.create(orchestration=orchestration, phase=execution.phase)
        bump(orchestration, status=Status.AWAITING_APPROVAL)
        event = record(orchestration, "APPROVAL_REQUESTED", phase=execution.phase)
        announce.orchestration_event(orchestration, "ORCHESTRATION_APPROVAL_NEEDED", event.seq)
        return "awaiting-approval"
    assert following.phase is not None
    if orchestration.pause_requested:
        schedule(orchestration, following.phase, run=False)
        bump(orchestration, status=Status.PAUSED, pause_requested=False)
        record(orchestration, "PAUSED", actor="system")
        return "paused"
    schedule(orchestration, following.phase)
    return "advanced"


def reap(*, now: datetime | None = None) -> list[int]:
    """Re-publish orchestrations nobody is advancing; fail those past their deadline.

    Expired lease: the worker died (the claim takes over). Unleased and quiet for two leases: the message
    was lost. Unleased with a due retry timer: the durable timer fires. Duplicates are harmless.
    """
    now = now or timezone.now()
    quiet = now - 2 * lease_delta()
    grace = now - timedelta(seconds=1)  # let a countdown message win the race to a due timer
    candidates = Orchestration.objects.filter(status__in=RUNNABLE_STATUSES).filter(
        Q(lease_token="", heartbeat_at__lt=quiet)
        | Q(lease_token="", next_attempt_at__lt=grace, heartbeat_at__lt=F("next_attempt_at"))
        | Q(lease_expires_at__lt=now)
    )
    revived = []
    for orchestration_id, step in candidates.values_list("id", "step"):
        with transaction.atomic():
            Orchestration.objects.filter(id=orchestration_id, step=step).update(heartbeat_at=now)
            enqueue(orchestration_id, step)
        revived.append(orchestration_id)
    overdue = Orchestration.objects.filter(
        deadline_at__lt=now, status__in=[Status.AWAITING_APPROVAL, Status.PAUSED]
    )
    for orchestration_id in overdue.values_list("id", flat=True):
        with transaction.atomic():
            orchestration = locked(orchestration_id, status__in=[Status.AWAITING_APPROVAL, Status.PAUSED])
            if orchestration is not None:
                finish(
                    orchestration, Status.FAILED, error_code="DEADLINE_EXCEEDED", message="Deadline passed"
                )
    if revived:
        logger.warning("reaper re-published %d orchestrations: %s", len(revived), revived)
    return revived
