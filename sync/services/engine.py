"""The sync engine: a run is a sequence of steps, each one Celery task that commits its work and its
cursor in one transaction, then enqueues the next step.

    start -> users -> sprints -> issues (one page of <=100 per step, keyset on the Jira id)
          -> worklog_feed (incremental only) -> reconcile (id-only search: deletions) -> done

Issue pages use ``<scope> AND id > <last id> ORDER BY id``: the cursor is a Jira id, so a resumed run
continues exactly after the last committed page, and issues created, updated or deleted while the run
pages cannot shift a position-based page window.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection, transaction
from django.utils import timezone

from sync.jira.client import JiraClient, RequestCounter
from sync.jira.dates import epoch_ms, jql_datetime
from sync.jira.errors import JiraError, JiraErrorCode
from sync.jira.mapping import (
    IssueRecord,
    MalformedPayload,
    SprintRecord,
    map_changelog,
    map_comment,
    map_issue,
    map_sprint,
    map_user,
    map_worklog,
    search_fields,
)
from sync.models import Project, SyncEntity, SyncLog, SyncRun, SyncState
from sync.services import runs, store
from sync.services.scope import issue_scope_jql, run_account_ids
from sync.services.sites import client_for

logger = logging.getLogger(__name__)

STEP_RETRY_LIMIT = 3
# The changelog rides along with the issue pages: bytes, not requests (only long ones are paged).
ISSUE_EXPAND = ("changelog",)
DATABASE_ERROR = "DATABASE_ERROR"


# What a step moves on the run, in memory before its commit (``StepContext.commit``, the plan step).
PROGRESS_FIELDS = [
    "seq",
    "step",
    "cursor",
    "counts",
    "issues_done",
    "window_start",
    "window_end",
    "approx_total",
]


@dataclass
class StepContext:
    run: SyncRun
    token: str
    client: JiraClient
    counts: Counter[str] = field(default_factory=Counter)
    _last_renewal: float = field(default_factory=time.monotonic)

    @property
    def project(self) -> Project:
        return self.run.project

    def heartbeat(self) -> None:
        if time.monotonic() - self._last_renewal > settings.SYNC_LEASE_SECONDS / 4:
            runs.renew(self.run, self.token)
            self._last_renewal = time.monotonic()

    def flush_counters(self) -> None:
        """Move this step's counts and Jira request counts onto the run (saved by the caller)."""
        run = self.run
        run.counts = dict(Counter(run.counts) + self.counts)
        by_endpoint = Counter(self.client.counter.as_dict()["by_endpoint"])
        run.http_requests = dict(Counter(run.http_requests) + by_endpoint)
        run.request_total += self.client.counter.total
        run.jira_ms += self.client.counter.elapsed_ms
        self.client.counter = RequestCounter()
        self.counts = Counter()

    def discard_uncommitted(self) -> None:
        """After a failed step: forget what its rolled-back work did in memory (item counts, progress a
        cut-off commit advanced), so the retry or failure is recorded from what the database holds. Jira
        request counters stay: those requests were made."""
        self.counts = Counter()
        self.run.refresh_from_db(fields=PROGRESS_FIELDS)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for a step's writes and its progress; fenced by the lease."""
        with runs.step_transaction():
            runs.fence(self.run, self.token)
            yield

    def commit(self, *, step: str, cursor: dict[str, Any] | None = None, **changes: Any) -> None:
        """Last call inside ``batch()``: record progress and request counts, release the lease and
        enqueue the next step (published after commit)."""
        run = self.run
        self.flush_counters()
        runs.advance(
            run,
            self.token,
            step=step,
            cursor=run.cursor if cursor is None else cursor,
            counts=run.counts,
            http_requests=run.http_requests,
            request_total=run.request_total,
            jira_ms=run.jira_ms,
            **changes,
        )
        run.step = step
        if cursor is not None:
            run.cursor = cursor
        if step != "done":
            runs.enqueue_step(run.id, run.seq)


def execute_step(run_id: int, seq: int) -> None:
    """Run one step of a run; every outcome is recorded on the run row."""
    claimed = runs.claim(run_id, seq)
    if claimed is None:
        logger.info("sync run %s step %s: duplicate or stale delivery, nothing to do", run_id, seq)
        return
    run, token = claimed
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
    client = client_for(run.project.site)
    ctx = StepContext(run=run, token=token, client=client)
    try:
        STEPS[run.step](ctx)
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


# --- Steps ------------------------------------------------------------------------------------------


def _scope_jql(run: SyncRun, *, windowed: bool) -> str:
    since = None
    if windowed and run.window_start is not None:
        since = jql_datetime(run.window_start, run.project.site.time_zone)
    return issue_scope_jql(
        project_key=run.project.key,
        account_ids=run.cursor.get("accounts", []),
        updated_since=since,
    )


def step_start(ctx: StepContext) -> None:
    run, site = ctx.run, ctx.project.site
    # An empty 200 from a revoked token would read as "nothing changed": check who we are first.
    identity = ctx.client.verify()
    if identity.time_zone and identity.time_zone != site.time_zone:
        site.time_zone = identity.time_zone
        site.save(update_fields=["time_zone", "updated_at"])
    # Jira's clock, not ours: cursors compared with Jira's `updated` must not drift with clock skew.
    window_end = identity.server_time or timezone.now()
    window_start = None
    if not run.full:
        cursors = [
            state.last_sync_time
            for state in SyncState.objects.filter(
                project=ctx.project,
                entity__in=[SyncEntity.ISSUE, SyncEntity.COMMENT, SyncEntity.WORKLOG],
            )
        ]
        # Incremental from the oldest cursor; a never-synced entity makes this run a full one.
        if cursors and None not in cursors:
            window_start = min(c for c in cursors if c) - timedelta(minutes=settings.SYNC_OVERLAP_MINUTES)
    run.window_start = window_start
    cursor = {"accounts": run_account_ids(ctx.project, run.account_ids), "last_id": 0}
    run.cursor = cursor
    approx = ctx.client.approximate_count(_scope_jql(run, windowed=True))
    with ctx.batch():
        SyncState.objects.filter(project=ctx.project).update(status=SyncState.Status.RUNNING)
        ctx.commit(
            step="users",
            cursor=cursor,
            window_start=window_start,
            window_end=window_end,
            approx_total=approx,
        )


def step_users(ctx: StepContext) -> None:
    users = [u for page in ctx.client.iter_user_pages() for u in (map_user(p) for p in page) if u]
    with ctx.batch():
        ctx.counts["users_upserted"] += len(store.upsert_users(ctx.project.site, users, with_email=True))
        ctx.commit(step="sprints")


def step_sprints(ctx: StepContext) -> None:
    sprints: list[SprintRecord] = []
    for boards in ctx.client.iter_board_pages(ctx.project.key):
        for board in boards:
            if board.get("type") == "kanban":  # kanban boards have no sprints; asking costs a 400
                continue
            for page in ctx.client.iter_sprint_pages(int(board["id"])):
                sprints.extend(
                    map_sprint({**s, "boardId": s.get("originBoardId", board["id"])}) for s in page
                )
    with ctx.batch():
        ctx.counts["sprints_upserted"] += len(
            store.upsert_sprints(ctx.project.site, sprints, board_project=ctx.project)
        )
        ctx.commit(step="issues")


def complete_overflow(
    client: JiraClient,
    record: IssueRecord,
    counts: Counter[str],
    heartbeat: Callable[[], None] = lambda: None,
) -> None:
    """Page what the search page (or issue read) embedded only in part: comments, worklogs, changelog."""
    if not record.comments_complete:
        record.comments = [
            map_comment(c) for page in client.iter_comment_pages(str(record.jira_id)) for c in page
        ]
        counts["comment_overflow_issues"] += 1
        heartbeat()
    if not record.worklogs_complete:
        record.worklogs = [
            map_worklog(w) for page in client.iter_worklog_pages(str(record.jira_id)) for w in page
        ]
        counts["worklog_overflow_issues"] += 1
        heartbeat()
    if not record.changelog_complete:
        histories = [h for page in client.iter_changelog_pages(str(record.jira_id)) for h in page]
        record.changes, authors = map_changelog(histories)
        record.users.extend(authors)
        record.history_count = record.history_total = len(histories)
        counts["changelog_overflow_issues"] += 1
        heartbeat()


def step_issues(ctx: StepContext) -> None:
    run, site = ctx.run, ctx.project.site
    last_id = int(run.cursor.get("last_id", 0))
    jql = _scope_jql(run, windowed=True) + (f" AND id > {last_id}" if last_id else "") + " ORDER BY id ASC"
    page = ctx.client.search_page(
        jql,
        fields=search_fields(sprint_field=site.sprint_field, story_points_field=site.story_points_field),
        expand=ISSUE_EXPAND,
        max_results=settings.SYNC_PAGE_SIZE,
    )
    records: list[IssueRecord] = []
    schema_logged = bool(run.cursor.get("schema_logged"))
    warnings: list[tuple[str, str]] = []
    for payload in page.issues:
        issue_id = payload.get("id") if isinstance(payload, dict) else None
        if str(issue_id or "").isdigit():
            last_id = max(last_id, int(str(issue_id)))
        try:
            record = map_issue(
                payload, sprint_field=site.sprint_field, story_points_field=site.story_points_field
            )
            complete_overflow(ctx.client, record, ctx.counts, ctx.heartbeat)
        except MalformedPayload as problem:
            ctx.counts["issues_malformed"] += 1
            warnings.append((str(issue_id), str(problem)))
            continue
        if record.schema_warnings and not schema_logged:
            runs.log(
                run,
                SyncLog.Level.WARNING,
                f"Jira changed a field's shape: {record.schema_warnings[0]}",
                code=JiraErrorCode.SCHEMA_CHANGED,
                issue_id=str(record.jira_id),
                problems=record.schema_warnings,
            )
            schema_logged = True
        records.append(record)
    projects = dict(Project.objects.filter(site=site).values_list("jira_id", "id"))
    done = not page.issues or page.is_last
    next_step = "issues" if not done else ("worklog_feed" if run.window_start else "reconcile")
    with ctx.batch():
        ctx.counts.update(
            store.apply_issue_batch(
                site=site, project=ctx.project, records=records, projects_by_jira_id=projects
            )
        )
        for skipped_id, reason in warnings:
            runs.log(
                run,
                SyncLog.Level.WARNING,
                f"Skipped issue {skipped_id}: {reason}",
                code=JiraErrorCode.MALFORMED_RESPONSE,
                issue_id=skipped_id,
            )
        ctx.commit(
            step=next_step,
            cursor={**run.cursor, "last_id": last_id, "retries": 0, "schema_logged": schema_logged},
            issues_done=run.issues_done + len(page.issues),
        )


def step_worklog_feed(ctx: StepContext) -> None:
    """Worklogs changed or deleted without a re-read of their issue come from Jira's change feeds."""
    run = ctx.run
    assert run.window_start is not None
    since = epoch_ms(run.window_start)
    changed = [int(v["worklogId"]) for page in ctx.client.iter_worklog_updated(since) for v in page.values]
    deleted = [int(v["worklogId"]) for page in ctx.client.iter_worklog_deleted(since) for v in page.values]
    worklogs = [map_worklog(w) for w in ctx.client.worklog_list(changed)] if changed else []
    with ctx.batch():
        ctx.counts["worklogs_upserted"] += store.apply_worklog_changes(
            site=ctx.project.site, project=ctx.project, worklogs=worklogs
        )
        ctx.counts["worklogs_deleted"] += store.delete_worklogs(project=ctx.project, jira_ids=deleted)
        ctx.commit(step="reconcile")


def step_reconcile(ctx: StepContext) -> None:
    """Issues Jira no longer lists (deleted, moved away, out of scope) disappear from the synced data."""
    live: set[int] = set()
    for ids in ctx.client.iter_issue_ids(_scope_jql(ctx.run, windowed=False) + " ORDER BY id ASC"):
        live.update(int(i) for i in ids)
        ctx.heartbeat()
    with ctx.batch():
        ctx.counts["issues_deleted"] += store.mark_issues_deleted(
            project=ctx.project, live_ids=live, account_ids=ctx.run.cursor.get("accounts", [])
        )
        ctx.commit(step="finish")


def step_finish(ctx: StepContext) -> None:
    run = ctx.run
    counts = Counter(run.counts)
    summary = (
        f"{'Full' if run.full else 'Incremental'} sync of {ctx.project.key} succeeded: "
        f"{counts['issues_upserted']} issues, {counts['comments_upserted']} comments, "
        f"{counts['worklogs_upserted']} worklogs, {counts['changes_upserted']} history items upserted; "
        f"{counts['issues_deleted']} issues deleted; "
        f"{run.request_total} Jira requests"
    )
    runs.succeed(run, ctx.token, summary=summary)


STEPS: dict[str, Callable[[StepContext], None]] = {
    "start": step_start,
    "users": step_users,
    "sprints": step_sprints,
    "issues": step_issues,
    "worklog_feed": step_worklog_feed,
    "reconcile": step_reconcile,
    "finish": step_finish,
}
