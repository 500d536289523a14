"""The reaper: re-publishes orchestrations nobody is advancing and fails those past their deadline."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core import leases
from orchestration.models import RUNNABLE_STATUSES, Orchestration, Status
from orchestration.services.lease import lease_delta
from orchestration.services.state import enqueue, finish, locked

logger = logging.getLogger(__name__)


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
        | leases.LEASE.expired(now)
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
