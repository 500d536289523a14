"""Cancelling a sync run: it stops at a step boundary, keeps what it committed and moves no cursor; every
face (service, admin, command) reaches the same control. GraphQL and REST: tests/sync/integration/api."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.errors import Conflict
from fakejira import FakeDataConfig
from sync.models import Issue, SyncJob, SyncLog, SyncRun, SyncState
from sync.services import controls, engine, runs
from tests.fixtures.sync import assert_same, register, sync_and_wait, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def data(issues: int) -> FakeDataConfig:
    return FakeDataConfig(seed=13, projects={"ALPHA": issues}, worklog_feed_lag_seconds=0)


def cursors(project) -> dict[str, object]:
    return dict(SyncState.objects.filter(project=project).values_list("entity", "last_sync_time"))


def wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_cancel_mid_run_keeps_the_committed_batches_moves_no_cursor_and_the_next_run_completes(
    fake_jira_factory, celery_worker
):
    fake = fake_jira_factory(data(600), search_latency_ms=400)  # three ranges of two pages
    (alpha,) = register(fake, ["ALPHA"])
    first = runs.request_sync(project=alpha, full=True).run
    wait_until(lambda: SyncRun.objects.get(id=first.id).issues_done >= 100, "the first page never committed")

    result = controls.sync_cancel(project=alpha, actor="ops@example.com", note="wrong project")
    cancelled = wait_for_run(first.id)

    assert result.action == "cancel" and result.run is not None and result.run.id == first.id
    assert (cancelled.status, cancelled.error_code) == ("CANCELLED", "CANCELLED")
    assert cancelled.cancelled_by == "ops@example.com" and cancelled.cancel_note == "wrong project"
    assert cancelled.cancel_requested_at is not None and cancelled.finished_at is not None
    assert cancelled.lease_token == ""  # released: the next run is admitted normally
    assert 100 <= cancelled.issues_done < 600 and cancelled.issues_done % 100 == 0  # whole pages only
    assert Issue.live.filter(project=alpha).count() == cancelled.issues_done  # committed batches stay
    assert set(cursors(alpha).values()) == {None}  # a never-synced project stays never-synced
    assert set(SyncState.objects.filter(project=alpha).values_list("status", flat=True)) == {"IDLE"}
    searches = fake.request_count("/rest/api/3/search/jql")
    time.sleep(1)
    assert fake.request_count("/rest/api/3/search/jql") == searches  # it really stopped
    job = SyncJob.objects.get(project=alpha)
    assert job.status == "ACTIVE" and job.last_error_code == ""  # not a failure
    assert SyncLog.objects.filter(
        run=cancelled, message__startswith="Cancelled by ops@example.com: wrong project"
    ).exists()

    fake.latency.set(search_ms=0)
    following = sync_and_wait(alpha)  # no cursor: a full read from the start

    assert following.status == "SUCCEEDED", following.error_message
    assert following.window_start is None
    assert_same(alpha, fake.data.export("ALPHA"))


def test_a_cancelled_incremental_run_leaves_the_cursors_of_the_last_success(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(data(120))
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    before = cursors(alpha)
    assert None not in before.values()
    fake.latency.set(other_ms=300, search_ms=300)

    run = runs.request_sync(project=alpha).run
    wait_until(lambda: SyncRun.objects.get(id=run.id).status == "RUNNING", "the run never started")
    controls.sync_cancel(project=alpha, actor="ops")
    cancelled = wait_for_run(run.id)

    assert (cancelled.status, cancelled.cancelled_by) == ("CANCELLED", "ops")
    assert cursors(alpha) == before  # the next incremental run reads from the same instant
    fake.latency.set(other_ms=0, search_ms=0)
    following = sync_and_wait(alpha)
    assert following.status == "SUCCEEDED" and following.window_start is not None
    assert_same(alpha, fake.data.export("ALPHA"))


def test_a_queued_run_is_cancelled_at_once_and_its_message_does_nothing(fake_jira, celery_processes):
    (alpha,) = register(fake_jira, ["ALPHA"])
    queued = runs.request_sync(project=alpha, full=True).run  # no worker yet: it stays QUEUED

    result = controls.sync_cancel(project=alpha, actor="ops")

    assert result.run is not None and result.run.is_terminal
    run = SyncRun.objects.get(id=queued.id)
    assert (run.status, run.cancelled_by, run.started_at) == ("CANCELLED", "ops", None)
    celery_processes.worker()
    time.sleep(1.5)  # the step-0 message is delivered now, and finds the run over
    assert SyncRun.objects.get(id=queued.id).seq == 0 and not Issue.objects.filter(project=alpha).exists()
    following = sync_and_wait(alpha, full=True)
    assert following.status == "SUCCEEDED", following.error_message


def test_cancelling_a_project_with_no_open_run_is_a_conflict_naming_it(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])

    with pytest.raises(Conflict) as refused:
        controls.sync_cancel(project=alpha, actor="ops")

    assert refused.value.code == "NO_ACTIVE_RUN" and refused.value.field == "project"
    assert "ALPHA" in refused.value.message and refused.value.advice
    finished = SyncRun.objects.create(project=alpha, status="SUCCEEDED")
    with pytest.raises(Conflict) as by_run:
        controls.sync_cancel(run=finished, actor="ops")
    assert by_run.value.field == "run" and f"Run {finished.id}" in by_run.value.message
    assert SyncRun.objects.get(id=finished.id).cancelled_by == ""


def test_cancelling_twice_keeps_the_first_request(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    run = runs.request_sync(project=alpha).run
    SyncRun.objects.filter(id=run.id).update(status="RUNNING", lease_token="held-by-a-worker")

    controls.sync_cancel(project=alpha, actor="first")
    again = controls.sync_cancel(project=alpha, actor="second")

    assert again.run is not None and not again.run.is_terminal  # waits for the worker's step boundary
    assert SyncRun.objects.get(id=run.id).cancelled_by == "first"


def test_a_run_a_pause_parked_is_cancelled_so_resuming_does_not_continue_it(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    parked = SyncRun.objects.create(project=alpha, status="CANCELLED", error_code=runs.PAUSED, step="issues")
    controls.sync_pause(project=alpha, actor="ops")

    controls.sync_cancel(project=alpha, actor="ops")
    controls.sync_resume(project=alpha, actor="ops")

    assert SyncRun.objects.get(id=parked.id).error_code == "CANCELLED"
    assert list(SyncRun.objects.filter(project=alpha)) == [parked]  # no continuation


def test_the_sync_cancel_command(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    run = runs.request_sync(project=alpha).run

    call_command("sync_cancel", "ALPHA", "--note", "by hand")

    cancelled = SyncRun.objects.get(id=run.id)
    assert (cancelled.status, cancelled.cancelled_by, cancelled.cancel_note) == (
        "CANCELLED",
        "manage.py",
        "by hand",
    )
    with pytest.raises(CommandError, match="NO_ACTIVE_RUN: Project ALPHA has no queued or running sync"):
        call_command("sync_cancel", "ALPHA")


def test_the_admin_actions_cancel_from_the_job_the_project_and_the_run(admin_client, fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    pages = [
        ("/admin/sync/syncjob/", lambda run: SyncJob.objects.get(project=alpha).id, "cancel"),
        ("/admin/sync/project/", lambda run: alpha.id, "cancel_sync"),
        ("/admin/sync/syncrun/", lambda run: run.id, "cancel"),
    ]
    for url, selected, action in pages:
        run = runs.request_sync(project=alpha).run

        page = admin_client.post(url, {"action": action, "_selected_action": [selected(run)]}, follow=True)

        assert f"ALPHA: run {run.id} cancelled" in page.content.decode(), url
        assert SyncRun.objects.get(id=run.id).cancelled_by == "admin"

    idle = admin_client.post(
        "/admin/sync/syncjob/",
        {"action": "cancel", "_selected_action": [SyncJob.objects.get(project=alpha).id]},
        follow=True,
    )
    assert "NO_ACTIVE_RUN: Project ALPHA has no queued or running sync" in idle.content.decode()


def test_a_cancel_requested_run_ends_cancelled_at_its_next_claim_even_past_the_attempt_cap(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    run = runs.request_sync(project=alpha).run
    # As a worker that died mid-step leaves it after a cancel: flagged, still open, many attempts spent.
    SyncRun.objects.filter(id=run.id).update(
        status="RUNNING", attempt=99, cancel_requested_at=timezone.now(), cancelled_by="ops"
    )

    engine.execute_step(run.id, 0)  # the takeover's delivery, run in this process

    ended = SyncRun.objects.get(id=run.id)
    assert (ended.status, ended.error_code, ended.lease_token) == ("CANCELLED", "CANCELLED", "")
    assert not Issue.objects.filter(project=alpha).exists()  # no step ran
