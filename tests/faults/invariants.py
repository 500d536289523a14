"""What must hold after any fault, however it was injected (checked after the system went quiet)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Count

from sync.models import ACTIVE_RUN_STATUSES, Comment, Issue, Project, SyncRun, SyncState, Worklog
from tests.fixtures.sync import assert_same


def cursors(projects: Sequence[Project]) -> dict[tuple[int, str], datetime | None]:
    return {
        (s.project_id, s.entity): s.last_sync_time for s in SyncState.objects.filter(project__in=projects)
    }


def wait_until_quiet(projects: Sequence[Project], *, timeout: float, context: str = "") -> None:
    """Every run of these projects reaches a terminal state (none hangs)."""
    deadline = time.monotonic() + timeout
    while SyncRun.objects.filter(project__in=projects, status__in=ACTIVE_RUN_STATUSES).exists():
        if time.monotonic() > deadline:
            stuck = list(
                SyncRun.objects.filter(project__in=projects, status__in=ACTIVE_RUN_STATUSES).values(
                    "id", "project__key", "status", "step", "seq", "attempt", "lease_expires_at"
                )
            )
            raise AssertionError(f"runs still open after {timeout}s {context}: {stuck}")
        time.sleep(0.1)


def assert_invariants(
    projects: Sequence[Project],
    fake: Any,
    *,
    before: dict[tuple[int, str], datetime | None] | None = None,
    context: str = "",
) -> None:
    """Synced data equals Jira's; no duplicate rows; no open run; cursors never moved backwards."""
    for project in projects:
        assert_same(project, fake.data.export(project.key))
    for model in (Issue, Comment, Worklog):
        doubled = model.objects.values("site_id", "jira_id").annotate(n=Count("id")).filter(n__gt=1)
        assert not doubled.exists(), f"duplicate {model.__name__} rows {context}: {list(doubled[:5])}"
    assert not SyncRun.objects.filter(project__in=projects, status__in=ACTIVE_RUN_STATUSES).exists()
    for key, previous in (before or {}).items():
        now = cursors(projects).get(key)
        assert previous is None or (now is not None and now >= previous), (
            f"cursor {key} moved backwards {context}: {previous} -> {now}"
        )
