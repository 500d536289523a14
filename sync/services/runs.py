"""SyncRun lifecycle: admission (one active run per project), leases that fence duplicate task
messages, the terminal transitions, and the reaper that revives runs whose worker died.

The database is the memory: a Celery message only says "do step ``seq`` of run X". A message whose
``seq`` was already committed, or whose run is leased by a live worker, is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DateTimeField, F, PositiveIntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from core import leases
from core.errors import Conflict
from core.publish import publish_after_commit
from sync import task_names
from sync.models import (
    ACTIVE_RUN_STATUSES,
    Project,
    RunStatus,
    SyncEntity,
    SyncJob,
    SyncLog,
    SyncRun,
    SyncState,
)

logger = logging.getLogger(__name__)

RUN_STEP_TASK = task_names.RUN_STEP
POISON = "POISON"
INTERNAL_ERROR = "INTERNAL_ERROR"


class LeaseLost(Exception):
    """Another delivery of the same step took the run over; this one must stop without writing."""


@dataclass(frozen=True)
class SyncRequest:
    run: SyncRun
    created: bool  # False: coalesced into the project's active run


@contextmanager
def step_transaction() -> Iterator[None]:
    """A transaction for a step's own bookkeeping and batch writes, committed without waiting for the
    WAL flush on PostgreSQL (``synchronous_commit`` off for this transaction only).

    A server crash can then forget the last few hundred milliseconds of such commits, never corrupt
    them: a batch and its cursor are forgotten together, the next step's message finds a stale ``seq``
    and the reaper re-publishes the forgotten step, which re-reads Jira. The synced data is a copy of
    Jira, so this trades nothing that cannot be fetched again for a flush per step (~15 ms here).
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def enqueue_step(run_id: int, seq: int, *, countdown: float = 0) -> None:
    """Publish "do step ``seq``" once the surrounding transaction commits (never before)."""
    publish_after_commit(RUN_STEP_TASK, args=[run_id, seq], queue="sync", countdown=countdown)


def request_sync(
    *,
    project: Project,
    full: bool = False,
    account_ids: Sequence[str] = (),
    trigger: str = SyncRun.Trigger.MANUAL,
    nominal_time: datetime | None = None,
) -> SyncRequest:
    """The one entry point every interface uses to ask for a sync of a project."""
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                project=project,
                full=full,
                account_ids=sorted(set(account_ids)),
                trigger=trigger,
                nominal_time=nominal_time,
                heartbeat_at=timezone.now(),
            )
            enqueue_step(run.id, 0)
    except IntegrityError:
        # Either a run is active (coalesce into it) or this scheduled tick was already admitted.
        active = SyncRun.objects.filter(project=project, status__in=ACTIVE_RUN_STATUSES).first()
        if active is not None:
            SyncRun.objects.filter(id=active.id).update(coalesced=F("coalesced") + 1)
            active.refresh_from_db()
            return SyncRequest(run=active, created=False)
        existing = SyncRun.objects.filter(project=project, nominal_time=nominal_time).first()
        if existing is None:  # the active run finished between our insert and this read
            return request_sync(
                project=project,
                full=full,
                account_ids=account_ids,
                trigger=trigger,
                nominal_time=nominal_time,
            )
        return SyncRequest(run=existing, created=False)
    return SyncRequest(run=run, created=True)


def _lease() -> timedelta:
    return timedelta(seconds=settings.SYNC_LEASE_SECONDS)


def claim(run_id: int, seq: int) -> tuple[SyncRun, str] | None:
    """Take the run's lease for step ``seq``; None when this delivery is a duplicate or stale."""
    now = timezone.now()
    with step_transaction():
        token = leases.claim(
            SyncRun.objects.filter(id=run_id, seq=seq, status__in=ACTIVE_RUN_STATUSES),
            duration=_lease(),
            now=now,
            status=RunStatus.RUNNING,
            heartbeat_at=now,
            started_at=Case(
                When(started_at__isnull=True, then=Value(now)),
                default=F("started_at"),
                output_field=DateTimeField(),
            ),
            # A new attempt is a first start or a takeover from a worker whose lease expired.
            attempt=Case(
                When(status=RunStatus.QUEUED, then=Value(1)),
                When(lease_token="", then=F("attempt")),
                default=F("attempt") + 1,
                output_field=PositiveIntegerField(),
            ),
        )
    if token is None:
        return None
    return SyncRun.objects.select_related("project__site", "project__sync_job").get(id=run_id), token


def renew(run: SyncRun, token: str, **changes: Any) -> None:
    """Heartbeat inside a long step, writing ``changes`` with it (inside a step's transaction: the
    progress of a step that commits several batches); raises LeaseLost when a takeover happened."""
    now = timezone.now()
    if not leases.renew(
        SyncRun.objects.filter(id=run.id), token, duration=_lease(), now=now, heartbeat_at=now, **changes
    ):
        raise LeaseLost(run.id)


def fence(run: SyncRun, token: str) -> None:
    """First statement of a step's transaction: lock the run row and check the lease is still ours,
    so a delivery that lost its lease writes nothing."""
    if not SyncRun.objects.select_for_update().filter(id=run.id, lease_token=token, seq=run.seq).exists():
        raise LeaseLost(run.id)


def advance(run: SyncRun, token: str, **changes: Any) -> None:
    """Last statement of a step's transaction: release the lease, move ``seq`` on, store progress."""
    changes.setdefault("http_requests", run.http_requests)
    changes.setdefault("request_total", run.request_total)
    changes.setdefault("jira_ms", run.jira_ms)
    updated = leases.release(
        SyncRun.objects.filter(id=run.id, seq=run.seq),
        token,
        seq=F("seq") + 1,
        heartbeat_at=timezone.now(),
        **changes,
    )
    if not updated:
        raise LeaseLost(run.id)
    run.seq += 1


def release(run: SyncRun, token: str, **changes: Any) -> None:
    """Give the lease back without moving on (the same step will be retried)."""
    leases.release(SyncRun.objects.filter(id=run.id), token, **changes)


# Lowest first: a line is written when its level is at or above SYNC_LOG_LEVEL.
LOG_LEVELS = [SyncLog.Level.DEBUG, SyncLog.Level.INFO, SyncLog.Level.WARNING, SyncLog.Level.ERROR]


def log_enabled(level: str) -> bool:
    return LOG_LEVELS.index(SyncLog.Level(level)) >= LOG_LEVELS.index(SyncLog.Level(settings.SYNC_LOG_LEVEL))


def log(run: SyncRun, level: str, message: str, /, **details: Any) -> None:
    if log_enabled(level):
        SyncLog.objects.create(
            project_id=run.project_id, run=run, level=level, message=message, details=details
        )


def log_step(
    run: SyncRun, *, step: str, cursor: dict[str, Any], requests: int, jira_ms: int, wall_ms: int
) -> None:
    """The DEBUG trail of one step (written only when SYNC_LOG_LEVEL is DEBUG): where it started from
    and what it cost, so a slow or chatty step can be found without a profiler."""
    if not log_enabled(SyncLog.Level.DEBUG):
        return
    log(
        run,
        SyncLog.Level.DEBUG,
        f"step {step}: {requests} Jira requests, {jira_ms} ms in Jira, {wall_ms} ms wall",
        step=step,
        cursor=cursor,
        requests=requests,
        jira_ms=jira_ms,
        wall_ms=wall_ms,
    )


def _duration_ms(run: SyncRun, now: datetime) -> int:
    return int((now - (run.started_at or run.created_at)).total_seconds() * 1000)


def succeed(run: SyncRun, token: str, *, summary: str) -> None:
    """Terminal success: cursors advance to the run's window end, the job records the run."""
    now = timezone.now()
    with transaction.atomic():
        advance(
            run,
            token,
            status=RunStatus.SUCCEEDED,
            step="done",
            finished_at=now,
            duration_ms=_duration_ms(run, now),
            counts=run.counts,
        )
        states = SyncState.objects.filter(project_id=run.project_id)
        if run.account_ids:
            # A run narrowed to some accounts did not cover the project: only users and sprints advance.
            states = states.filter(entity__in=[SyncEntity.USER, SyncEntity.SPRINT])
        states.update(last_sync_time=run.window_end, status=SyncState.Status.SUCCESS, last_error_code="")
        _job_after_run(run, now, error_code="")
        log(run, SyncLog.Level.INFO, summary, counts=run.counts, http_requests=run.request_total)


def fail(run: SyncRun, token: str | None, *, code: str, message: str, details: dict[str, Any]) -> None:
    """Terminal failure: nothing committed is undone and no cursor moves."""
    now = timezone.now()
    with transaction.atomic():
        if not _end(
            SyncRun.objects.filter(id=run.id, status__in=ACTIVE_RUN_STATUSES),
            run,
            token,
            now,
            status=RunStatus.FAILED,
            error_code=code,
            error_message=message[:2000],
            counts=run.counts,
            http_requests=run.http_requests,
            request_total=run.request_total,
            jira_ms=run.jira_ms,
        ):
            return
        SyncState.objects.filter(project_id=run.project_id).update(
            status=SyncState.Status.FAILED, last_error_code=code
        )
        _job_after_run(run, now, error_code=code)
        log(run, SyncLog.Level.ERROR, message, **{**details, "code": code})


def _end(query: QuerySet[SyncRun], run: SyncRun, token: str | None, now: datetime, **changes: Any) -> bool:
    """The terminal UPDATE: lease released, finish time and duration set, fenced on ``token`` if given."""
    if token is not None:
        query = query.filter(lease_token=token)
    return bool(
        query.update(
            lease_token="",
            lease_expires_at=None,
            finished_at=now,
            duration_ms=_duration_ms(run, now),
            **changes,
        )
    )


def _states_idle(run: SyncRun) -> None:
    SyncState.objects.filter(project_id=run.project_id, status=SyncState.Status.RUNNING).update(
        status=SyncState.Status.IDLE
    )


PAUSED = "PAUSED"


def paused_since_start(run: SyncRun) -> bool:
    """The project's schedule was paused after this run began: it stops at this step boundary."""
    job = getattr(run.project, "sync_job", None)
    return bool(
        job is not None
        and job.status == SyncJob.Status.PAUSED
        and job.paused_at is not None
        and job.paused_at > run.created_at
    )


def park(run: SyncRun, token: str) -> None:
    """Stop a run cleanly between steps because its project was paused: every committed batch stays,
    no cursor moves, and ``continue_parked`` picks the work up where it stopped when the project resumes."""
    now = timezone.now()
    with transaction.atomic():
        release(run, token, status=RunStatus.CANCELLED, error_code=PAUSED, finished_at=now)
        _states_idle(run)
        log(
            run,
            SyncLog.Level.INFO,
            f"Paused before step '{run.step}' ({run.issues_done} issues done); "
            "the run continues from here when the project is resumed",
            code=PAUSED,
            step=run.step,
        )


def continue_parked(*, project: Project) -> SyncRun | None:
    """If the project's latest run was parked by a pause, start its continuation: a new run at the same
    step, cursor and window, so nothing already committed is fetched again. Call inside a transaction."""
    parked = SyncRun.objects.filter(project=project).order_by("-id").first()
    if parked is None or parked.status != RunStatus.CANCELLED or parked.error_code != PAUSED:
        return None
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                project=project,
                trigger=parked.trigger,
                full=parked.full,
                account_ids=parked.account_ids,
                step=parked.step,
                cursor={**parked.cursor, "continues_run": parked.id},
                window_start=parked.window_start,
                window_end=parked.window_end,
                counts=parked.counts,
                http_requests=parked.http_requests,
                request_total=parked.request_total,
                jira_ms=parked.jira_ms,
                approx_total=parked.approx_total,
                issues_done=parked.issues_done,
                heartbeat_at=timezone.now(),
            )
            log(
                run,
                SyncLog.Level.INFO,
                f"Continues run {parked.id} from step '{parked.step}'",
                parked=parked.id,
            )
            enqueue_step(run.id, 0)
    except IntegrityError:  # a run is already active (a manual trigger): it covers the window instead
        return None
    return run


CANCELLED = "CANCELLED"


def cancel_request(*, project: Project, run_id: int | None, actor: str, note: str) -> SyncRun:
    """Ask the project's active run (or run ``run_id``) to stop; call inside a transaction.

    The run row is locked, so no step can claim it meanwhile. A run no worker holds (queued, between
    steps, waiting for a retry, or whose worker died) ends CANCELLED at once; its pending message then
    finds it terminal and does nothing. A run a worker is in lets that step commit whole, and the engine
    ends it at the next step boundary (``cancel_requested``). A run a pause parked is cancelled too, so
    resuming does not continue it. Conflict when there is nothing to cancel.
    """
    runs = SyncRun.objects.select_for_update().filter(project=project)
    if run_id is not None:
        runs = runs.filter(id=run_id)
    run = runs.filter(status__in=ACTIVE_RUN_STATUSES).first()
    if run is None:
        latest = runs.order_by("-id").first()
        if latest is not None and latest.status == RunStatus.CANCELLED and latest.error_code == PAUSED:
            run = latest
    if run is None:
        subject = f"Run {run_id} of project {project.key}" if run_id is not None else f"Project {project.key}"
        raise Conflict(
            f"{subject} has no queued or running sync to cancel",
            code="NO_ACTIVE_RUN",
            field="run" if run_id is not None else "project",
            advice="Only a queued or running sync (or one a pause stopped) can be cancelled.",
        )
    if run.cancel_requested_at is not None and not run.is_terminal:
        return run  # asked already; the first request's actor stays on record
    now = timezone.now()
    run.cancel_requested_at, run.cancelled_by, run.cancel_note = now, actor, note
    run.save(update_fields=["cancel_requested_at", "cancelled_by", "cancel_note"])
    if run.is_terminal or not run.lease_token or (run.lease_expires_at and run.lease_expires_at < now):
        cancel(run, None)
    else:
        log(
            run,
            SyncLog.Level.INFO,
            f"Cancel requested by {actor or 'unknown'}; the run stops after step '{run.step}'",
            code=CANCELLED,
            actor=actor,
        )
    run.refresh_from_db()
    return run


def cancel_requested(run: SyncRun) -> bool:
    return run.cancel_requested_at is not None


def stop_requested(run: SyncRun) -> bool:
    """A cancel or a pause asked for since the run's step began (read afresh): a step that commits
    several batches ends at the next one, so the following step's start stops the run."""
    return (
        SyncRun.objects.filter(id=run.id, cancel_requested_at__isnull=False).exists()
        or SyncJob.objects.filter(
            project_id=run.project_id, status=SyncJob.Status.PAUSED, paused_at__gt=run.created_at
        ).exists()
    )


def cancel(run: SyncRun, token: str | None) -> bool:
    """End a run CANCELLED between steps: every committed batch stays and no cursor moves (only a run's
    success moves them). Neither a failure nor a success for the job or telemetry's back-off. False when
    ``token`` no longer holds the run (another delivery took it over and will cancel it)."""
    now = timezone.now()
    who = run.cancelled_by or "unknown"
    message = f"Cancelled by {who}" + (f": {run.cancel_note}" if run.cancel_note else "")
    with transaction.atomic():
        query = SyncRun.objects.filter(id=run.id)
        if not _end(
            query, run, token, now, status=RunStatus.CANCELLED, error_code=CANCELLED, error_message=message
        ):
            return False
        _states_idle(run)
        log(
            run,
            SyncLog.Level.INFO,
            f"{message}, before step '{run.step}' ({run.issues_done} issues done); "
            "committed batches stay, no cursor moved",
            code=CANCELLED,
            actor=run.cancelled_by,
            step=run.step,
        )
    return True


def _job_after_run(run: SyncRun, now: datetime, *, error_code: str) -> None:
    job = SyncJob.objects.filter(project_id=run.project_id)
    job.update(last_run_at=now, last_error_code=error_code)
    status = SyncJob.Status.ERROR if error_code else SyncJob.Status.ACTIVE
    job.exclude(status=SyncJob.Status.PAUSED).update(status=status)


def reap(*, stale_after: timedelta | None = None) -> list[int]:
    """Re-publish the current step of runs nobody is working on (worker died, message lost).

    A lease that expired means the worker holding it is gone; an unleased active run whose heartbeat is
    older than ``stale_after`` lost its message. Duplicates are harmless: claim() lets one through.
    """
    now = timezone.now()
    stale_after = stale_after or timedelta(seconds=2 * settings.SYNC_LEASE_SECONDS)
    revived = []
    for run_id, seq in (
        SyncRun.objects.filter(status__in=ACTIVE_RUN_STATUSES)
        .filter(leases.LEASE.expired(now) | Q(lease_token="", heartbeat_at__lt=now - stale_after))
        .values_list("id", "seq")
    ):
        with transaction.atomic():
            SyncRun.objects.filter(id=run_id).update(heartbeat_at=now)
            enqueue_step(run_id, seq)
        revived.append(run_id)
    if revived:
        logger.warning("reaper re-published %d stalled sync runs: %s", len(revived), revived)
    return revived
