"""Cancelling a run whose worker was killed in the middle of a step: the dead worker's lease still holds
the run, so the cancel waits for the takeover, which then ends the run instead of continuing it."""

from __future__ import annotations

import time

import pytest

from fakejira import FakeDataConfig
from sync.models import Issue, SyncRun, SyncState
from sync.services import controls, runs
from tests.fixtures.sync import assert_same, register, sync_and_wait, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def test_a_cancel_while_the_runs_worker_is_dead_ends_the_run_at_the_takeover(
    fake_jira_factory, celery_processes
):
    celery_processes.beat()  # the reaper re-publishes the step once the dead worker's lease expires
    fake = fake_jira_factory(
        FakeDataConfig(seed=21, projects={"ALPHA": 300}, worklog_feed_lag_seconds=0), search_latency_ms=500
    )
    (alpha,) = register(fake, ["ALPHA"])
    worker = celery_processes.worker()
    run = runs.request_sync(project=alpha, full=True).run
    deadline = time.monotonic() + 30
    while not SyncRun.objects.filter(id=run.id, issues_done__gte=100).exclude(lease_token="").exists():
        assert time.monotonic() < deadline, "the run never got past its first page"
        time.sleep(0.02)

    worker.kill()  # mid-step: its uncommitted page is lost, its lease stays until it expires
    held = SyncRun.objects.get(id=run.id).lease_token != ""
    result = controls.sync_cancel(project=alpha, actor="ops")
    assert result.run is not None
    if held:  # the usual case; a kill that landed between two steps is cancelled at once instead
        assert not result.run.is_terminal
    celery_processes.worker()
    cancelled = wait_for_run(run.id, timeout=60)

    assert (cancelled.status, cancelled.error_code, cancelled.cancelled_by) == (
        "CANCELLED",
        "CANCELLED",
        "ops",
    )
    assert cancelled.issues_done % 100 == 0 and cancelled.issues_done < 300
    assert Issue.live.filter(project=alpha).count() == cancelled.issues_done  # only whole committed pages
    assert set(SyncState.objects.filter(project=alpha).values_list("last_sync_time", flat=True)) == {None}

    fake.latency.set(search_ms=0)
    assert sync_and_wait(alpha).status == "SUCCEEDED"
    assert_same(alpha, fake.data.export("ALPHA"))
