"""The sync engine: a run is a sequence of steps, each one Celery task that commits its work and its
cursor in one transaction, then enqueues the next step.

    start -> users -> sprints -> issues (rounds of a page of <=100 of each id range, keyset on the Jira id)
          -> worklog_feed (incremental only) -> reconcile (id-only search: deletions) -> done

This module is the driver (claim the run, run its current step, record a retry or a failure); the
steps live in ``sync.services.steps``. Their names are re-exported here for the modules that use them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection, transaction

from sync.jira.errors import JiraError
from sync.models import SyncLog
from sync.services import runs
from sync.services.sites import site_client
from sync.services.steps.context import PROGRESS_FIELDS, StepContext
from sync.services.steps.issues import ISSUE_EXPAND, complete_overflow, step_issues
from sync.services.steps.reconcile import step_finish, step_reconcile
from sync.services.steps.sprints import step_sprints
from sync.services.steps.start import step_start
from sync.services.steps.users import step_users
from sync.services.steps.worklogs import step_worklog_feed

__all__ = [
    "DATABASE_ERROR",
    "ISSUE_EXPAND",
    "PROGRESS_FIELDS",
    "STEPS",
    "STEP_RETRY_LIMIT",
    "StepContext",
    "complete_overflow",
    "execute_step",
    "step_finish",
    "step_issues",
    "step_reconcile",
    "step_sprints",
    "step_start",
    "step_users",
    "step_worklog_feed",
]

logger = logging.getLogger(__name__)

STEP_RETRY_LIMIT = 3
DATABASE_ERROR = "DATABASE_ERROR"

# Looked up at every step (not bound at import), so a test worker can swap one in.
STEPS: dict[str, Callable[[StepContext], None]] = {
    "start": step_start,
    "users": step_users,
    "sprints": step_sprints,
    "issues": step_issues,
    "worklog_feed": step_worklog_feed,
    "reconcile": step_reconcile,
    "finish": step_finish,
}


def execute_step(run_id: int, seq: int) -> None:
    """Run one step of a run; every outcome is recorded on the run row."""
    claimed = runs.claim(run_id, seq)
    if claimed is None:
        logger.info("sync run %s step %s: duplicate or stale delivery, nothing to do", run_id, seq)
        return
    run, token = claimed
    # Checked before the step starts, so no batch is ever cut in half; the operator's cancel wins over a
    # pause and over the poison verdict.
    if runs.cancel_requested(run):
        if not runs.cancel(run, token):
            logger.warning("sync run %s lost its lease before it could be cancelled", run_id)
        return
    if run.attempt > settings.SYNC_RUN_MAX_ATTEMPTS:
        runs.fail(
            run,
            token,
            code=runs.POISON,
            message=f"Run abandoned after {run.attempt - 1} attempts that never finished step '{run.step}'",
            details={
                "step": run.step,
                "advice": "Look at the worker's logs for crashes (memory, time limit).",
            },
        )
        return
    if runs.paused_since_start(run):
        runs.park(run, token)
        return
    client = site_client(site=run.project.site)
    ctx = StepContext(run=run, token=token, client=client)
    # For the DEBUG trail: where the step starts and what the run had spent before it.
    step, cursor, started = run.step, dict(run.cursor), time.monotonic()
    requests_before, jira_ms_before = run.request_total, run.jira_ms
    try:
        STEPS[step](ctx)
    except runs.LeaseLost:
        logger.warning("sync run %s lost its lease during step %s; the other delivery continues", run_id, seq)
    except JiraError as error:
        ctx.discard_uncommitted()
        _on_jira_error(ctx, error)
    except (DatabaseError, InterfaceError) as error:
        # The batch rolled back whole. A terminated backend leaves the connection unusable (Django then
        # raises InterfaceError, which is not a DatabaseError): reconnect so the retry can be recorded;
        # if the database is gone, the lease expires and the reaper takes over instead.
        connection.close()
        ctx.discard_uncommitted()
        _retry_or_fail(ctx, code=DATABASE_ERROR, message=f"Database error: {error}", retry_after=None)
    except Exception as error:
        logger.exception("sync run %s: unexpected error in step %s", run_id, run.step)
        ctx.discard_uncommitted()
        ctx.flush_counters()
        runs.fail(run, token, code=runs.INTERNAL_ERROR, message=f"Internal error: {error!r}", details={})
    else:
        # After the step's commit, outside the handlers: a trail line must never turn into a retry.
        runs.log_step(
            run,
            step=step,
            cursor=cursor,
            # Flushed onto the run at the step's commit, plus any a step that did not commit left counted.
            requests=run.request_total - requests_before + client.counter.total,
            jira_ms=run.jira_ms - jira_ms_before + client.counter.elapsed_ms,
            wall_ms=int((time.monotonic() - started) * 1000),
        )
    finally:
        client.close()


def _on_jira_error(ctx: StepContext, error: JiraError) -> None:
    if error.retryable:
        _retry_or_fail(
            ctx,
            code=str(error.code),
            message=str(error),
            retry_after=error.retry_after,
            details=error.to_dict(),
        )
        return
    ctx.flush_counters()
    runs.fail(ctx.run, ctx.token, code=str(error.code), message=str(error), details=error.to_dict())


def _retry_or_fail(
    ctx: StepContext,
    *,
    code: str,
    message: str,
    retry_after: float | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Transient trouble: retry the same step later (durably, from its committed cursor), a few times."""
    ctx.flush_counters()
    run = ctx.run
    retries = int(run.cursor.get("retries", 0)) + 1
    if retries > STEP_RETRY_LIMIT:
        runs.fail(
            run,
            ctx.token,
            code=code,
            message=f"{message} (gave up after {retries - 1} retries)",
            details=details or {},
        )
        return
    delay = max(retry_after or 0.0, min(2.0**retries, 60.0))
    with transaction.atomic():
        runs.release(
            run,
            ctx.token,
            cursor={**run.cursor, "retries": retries},
            counts=run.counts,
            http_requests=run.http_requests,
            request_total=run.request_total,
            jira_ms=run.jira_ms,
        )
        runs.log(run, SyncLog.Level.WARNING, f"{message}; retry {retries} in {delay:.0f}s", code=code)
        runs.enqueue_step(run.id, run.seq, countdown=delay)
