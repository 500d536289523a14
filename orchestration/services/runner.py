"""Running a claimed phase with its agents, under the claim's one lease; every ending becomes an Outcome.

An agent never takes the engine down with it: its errors, a cancel, the phase timeout and even a crash are
recorded as outcomes, for the outcome rules to judge.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import DatabaseError, connection

from orchestration import agents as agent_api
from orchestration import selectors
from orchestration.agents import Agent, AgentError, AgentTask, Cancelled
from orchestration.services.lease import Claimed, Lease
from orchestration.services.outcomes import AgentStatus, Outcome

logger = logging.getLogger(__name__)


def task_for(claimed: Claimed) -> AgentTask:
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
        issue=selectors.issue_context(issue=orchestration.issue),
        previous=selectors.phase_outputs_latest(executions=earlier),
        history=history,
    )


def run_agents(claimed: Claimed, lease: Lease) -> list[Outcome]:
    try:
        agents = agent_api.agents_for(claimed.execution.phase)
        task = task_for(claimed)
    except AgentError as error:
        return [Outcome("engine", AgentStatus.ERROR, 0, error_code=error.code, message=error.message)]
    if len(agents) == 1:
        return [run_one(agents[0], task, lease)]
    # Several agents run side by side in this task, under its one lease; see docs/orchestration.md.
    with ThreadPoolExecutor(max_workers=len(agents), thread_name_prefix="agent") as pool:
        return list(pool.map(lambda agent: _run_in_thread(agent, task, lease), agents))


def _run_in_thread(agent: Agent, task: AgentTask, lease: Lease) -> Outcome:
    try:
        return run_one(agent, task, lease)
    finally:
        connection.close()


def run_one(agent: Agent, task: AgentTask, lease: Lease) -> Outcome:
    started = time.monotonic()

    def outcome(status: AgentStatus, **details: Any) -> Outcome:
        return Outcome(agent.name, status, round((time.monotonic() - started) * 1000), **details)

    try:
        result = agent.run(task, lease)
    except Cancelled as stop:
        if lease.timed_out.is_set():
            return outcome(
                AgentStatus.ERROR,
                error_code="PHASE_TIMEOUT",
                error_type="Timeout",
                message=str(stop),
                transient=True,
            )
        return outcome(AgentStatus.ERROR, error_code="CANCELLED", error_type="Cancelled", message=str(stop))
    except AgentError as error:
        return outcome(
            AgentStatus.ERROR,
            error_code=error.code,
            error_type=type(error).__name__,
            message=error.message,
            transient=error.transient,
        )
    except DatabaseError as error:
        return outcome(
            AgentStatus.ERROR,
            error_code="DATABASE",
            error_type=type(error).__name__,
            message=str(error),
            transient=True,
        )
    except Exception as error:
        logger.exception("agent %s crashed in %s", agent.name, task.idempotency_key)
        return outcome(
            AgentStatus.ERROR,
            error_code="AGENT_CRASHED",
            error_type=type(error).__name__,
            message=repr(error),
        )
    return outcome(AgentStatus.SUCCEEDED if result.success else AgentStatus.FAILED, result=result)
