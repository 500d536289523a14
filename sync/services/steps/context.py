"""What every step gets: its run, its lease token, a Jira client, and how it commits its progress."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.conf import settings

from sync.jira.client import JiraClient
from sync.jira.dates import jql_datetime
from sync.models import Project, SyncRun
from sync.services import runs
from sync.services.scope import issue_scope_jql

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
        requests = self.client.counter.take()  # the step's lanes may still be sending
        run.http_requests = dict(Counter(run.http_requests) + requests.by_endpoint)
        run.request_total += requests.total
        run.jira_ms += requests.elapsed_ms
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

    def checkpoint(self, *, cursor: dict[str, Any], **changes: Any) -> None:
        """Inside ``batch()``, for a step that commits several batches: record this one's progress and
        request counts, keeping the lease and the step (a crash resumes from here)."""
        runs.renew(self.run, self.token, cursor=cursor, **self._flushed(), **changes)
        self.run.cursor = cursor
        for name, value in changes.items():
            setattr(self.run, name, value)
        self._last_renewal = time.monotonic()

    def commit(self, *, step: str, cursor: dict[str, Any] | None = None, **changes: Any) -> None:
        """Last call inside ``batch()``: record progress and request counts, release the lease and
        enqueue the next step (published after commit)."""
        run = self.run
        runs.advance(
            run,
            self.token,
            step=step,
            cursor=run.cursor if cursor is None else cursor,
            **self._flushed(),
            **changes,
        )
        run.step = step
        if cursor is not None:
            run.cursor = cursor
        if step != "done":
            runs.enqueue_step(run.id, run.seq)

    def _flushed(self) -> dict[str, Any]:
        """The run's totals with this step's counts moved onto them, as a commit writes them."""
        self.flush_counters()
        run = self.run
        return {
            "counts": run.counts,
            "http_requests": run.http_requests,
            "request_total": run.request_total,
            "jira_ms": run.jira_ms,
        }


def window_label(run: SyncRun) -> str:
    """The run's window end as a cache key part: in UTC, so the start step (holding Jira's answer, in
    the site's offset) and later steps (reading the database) name it alike."""
    return run.window_end.astimezone(UTC).isoformat() if run.window_end else f"run {run.id}"


def scope_jql(run: SyncRun, *, windowed: bool) -> str:
    """The run's issue scope; ``windowed`` limits it to issues updated since the run's window start."""
    since = None
    if windowed and run.window_start is not None:
        since = jql_datetime(run.window_start, run.project.site.time_zone)
    return issue_scope_jql(
        project_key=run.project.key,
        account_ids=run.cursor.get("accounts", []),
        updated_since=since,
    )
