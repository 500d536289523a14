"""Advancing an orchestration: claim, run the current phase's agents, commit the outcome, publish the next.

A Celery message only says "advance orchestration X at step N". ``advance`` claims the row with one
conditional UPDATE (step N, runnable, unleased or lease expired, retry timer due) and a fresh lease token;
zero rows means a duplicate or stale message, which is a no-op. While agents run, a keeper thread renews
the lease and notices cancel requests and the phase timeout. The outcome commits in one transaction that
first re-checks the lease token (fencing): a worker that lost its lease writes nothing. The next phase is
published after that commit. The reaper re-publishes orchestrations whose lease expired (dead worker),
whose message was lost, or whose durable retry timer is due. Operators' decisions (approve, reject,
cancel, ...) always commit durably.

The parts: ``lease`` (claim, keeper, fenced commit), ``runner`` (the agents), ``outcomes`` (the rules),
``reaper``. This module is the entry point the tasks call.
"""

from __future__ import annotations

import logging

from orchestration.services.lease import Claimed, Lease, claim, commit, lease_delta
from orchestration.services.outcomes import MAX_COUNTDOWN, Outcome, StepOutcome
from orchestration.services.reaper import reap
from orchestration.services.runner import run_agents

__all__ = ["MAX_COUNTDOWN", "Claimed", "Lease", "Outcome", "StepOutcome", "advance", "lease_delta", "reap"]

logger = logging.getLogger(__name__)


def advance(orchestration_id: int, step: int, *, worker: str = "") -> StepOutcome:
    """Run step ``step`` of the orchestration if this delivery wins the claim; returns what happened."""
    claimed = claim(orchestration_id, step, worker)
    if claimed is None:
        logger.info("orchestration %s step %s: duplicate or stale message, no-op", orchestration_id, step)
        return StepOutcome.NOOP
    if isinstance(claimed, StepOutcome):
        return claimed
    lease = Lease(claimed)
    try:
        claimed.outcomes = run_agents(claimed, lease)
    finally:
        lease.stop()
    return commit(claimed)
