"""The sync engine end to end: real PostgreSQL, Redis, a Celery worker process and the fake Jira over HTTP."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from celery import current_app
from django.conf import settings

from fakejira import FakeDataConfig, Fault
from sync import task_names as sync_task_names
from sync.models import Comment, Issue, SyncJob, SyncLog, SyncRun, SyncState, Worklog
from sync.services import controls, runs
from tests.fixtures.sync import assert_same, register, stored, sync_and_wait, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def small(**overrides):
    """A small data set that still exercises comment and worklog overflow; no worklog-feed lag."""
    base = {
        "seed": 11,
        "projects": {"ALPHA": 140, "BETA": 20},
        "heavy_comment_ratio": 0.05,
        "heavy_worklog_ratio": 0.03,
        "worklog_feed_lag_seconds": 0,
    }
    return FakeDataConfig(**{**base, **overrides})


def test_full_sync_stores_exactly_what_jira_holds(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small())
    alpha, beta = register(fake, ["ALPHA", "BETA"])
    fake.reset_counters()

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    expected = fake.data.export("ALPHA")
    assert sum(len(i["comments"]) > 20 for i in expected) > 0, "the data set must exercise comment overflow"
    assert_same(alpha, expected)
    assert run.counts["issues_upserted"] == len(expected)
    assert run.request_total == fake.request_count()  # every request is counted on the run
    assert Issue.objects.filter(project=beta).count() == 0
    states = SyncState.objects.filter(project=alpha)
    assert {s.status for s in states} == {"SUCCESS"}
    assert {s.last_sync_time for s in states} == {run.window_end}
    job = SyncJob.objects.get(project=alpha)
    assert job.status == "ACTIVE" and job.last_run_at is not None
    assert SyncLog.objects.filter(run=run, level="INFO", message__contains="succeeded").count() == 1


def test_incremental_sync_follows_every_kind_of_change(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small())
    alpha, beta = register(fake, ["ALPHA", "BETA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    assert sync_and_wait(beta, full=True).status == "SUCCEEDED"
    data = fake.data
    issues = data.export("ALPHA")
    with_comments = [i for i in issues if len(i["comments"]) >= 2]
    with_worklogs = [i for i in issues if len(i["worklogs"]) >= 2]

    data.update_issue(issues[0]["id"], summary="Renamed by a person", labels=["changed"])
    new_id = data.add_issue("ALPHA", summary="Brand new")
    data.add_comment(with_comments[0]["id"], "A new comment")
    data.edit_comment(with_comments[1]["comments"][0]["id"], "Edited text")
    data.delete_comment(with_comments[2]["comments"][1]["id"])
    data.add_worklog(with_worklogs[0]["id"], 1800)
    data.edit_worklog(with_worklogs[1]["worklogs"][0]["id"], 7200)
    data.delete_worklog(with_worklogs[2]["worklogs"][1]["id"])
    data.delete_issue(issues[3]["id"])
    moved = issues[4]["id"]
    data.move_issue(moved, "BETA")
    fake.reset_counters()

    run = sync_and_wait(alpha)
    assert run.status == "SUCCEEDED", run.error_message
    assert not run.full and run.window_start is not None
    assert_same(alpha, data.export("ALPHA"))
    assert new_id in {i["id"] for i in stored(alpha)}
    assert run.counts["issues_deleted"] == 2  # one deleted, one moved away
    assert sync_and_wait(beta).status == "SUCCEEDED"
    assert_same(beta, data.export("BETA"))
    moved_row = Issue.objects.get(jira_id=int(moved))
    assert moved_row.project_id == beta.id and moved_row.deleted_at is None
    assert Issue.objects.filter(jira_id=int(moved)).count() == 1


@pytest.mark.parametrize(
    ("zone", "clock"),
    [
        ("Pacific/Chatham", None),
        # 01:20 EDT on the night clocks fall back: the same wall-clock hour happens twice.
        ("America/New_York", datetime(2024, 11, 3, 5, 20, tzinfo=UTC)),
        # 01:50 EST just before spring-forward: 02:00-03:00 local does not exist.
        ("America/New_York", datetime(2024, 3, 10, 6, 50, tzinfo=UTC)),
    ],
)
def test_incremental_sync_misses_nothing_in_any_time_zone(fake_jira_factory, celery_worker, zone, clock):
    fake = fake_jira_factory(small(time_zone=zone, projects={"ALPHA": 60}))
    if clock is not None:
        fake.data.advance((clock - fake.data.now()).total_seconds())
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    fake.data.advance(3600)  # across the DST change
    issues = fake.data.export("ALPHA")
    for issue in issues[:5]:
        fake.data.update_issue(issue["id"], summary=f"changed {issue['id']}")
    fake.data.add_comment(issues[6]["id"], "late comment")

    run = sync_and_wait(alpha)

    assert run.status == "SUCCEEDED", run.error_message
    assert_same(alpha, fake.data.export("ALPHA"))


def test_tracked_users_limit_the_project_to_their_issues(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small(projects={"ALPHA": 80}))
    everything = fake.data.export("ALPHA")
    tracked = sorted({i["assignee"] for i in everything if i["assignee"]})[:2]
    (alpha,) = register(fake, ["ALPHA"], track=tracked)

    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"

    expected = [
        i
        for i in everything
        if i["assignee"] in tracked
        or i["reporter"] in tracked
        or any(w["author"] in tracked for w in i["worklogs"])
    ]
    assert 0 < len(expected) < len(everything)
    assert_same(alpha, expected)


def test_concurrent_requests_coalesce_into_one_run(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small(projects={"ALPHA": 30}))
    (alpha,) = register(fake, ["ALPHA"])
    results = []
    barrier = threading.Barrier(6)

    def request():
        barrier.wait()
        results.append(runs.request_sync(project=alpha, full=True))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len({r.run.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    run = wait_for_run(results[0].run.id)
    assert run.status == "SUCCEEDED" and run.coalesced == 5
    assert SyncRun.objects.filter(project=alpha).count() == 1


def test_the_same_step_delivered_twice_is_applied_once(fake_jira_factory, celery_processes):
    celery_processes.worker(concurrency=2)
    fake = fake_jira_factory(small(projects={"ALPHA": 60}))
    (alpha,) = register(fake, ["ALPHA"])
    # Slow search pages make the duplicates overlap with the original delivery.
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.3, times=None))
    request = runs.request_sync(project=alpha, full=True)
    for _ in range(3):
        current_app.send_task(sync_task_names.RUN_STEP, args=[request.run.id, 0], queue="sync")

    run = wait_for_run(request.run.id)

    assert run.status == "SUCCEEDED"
    assert run.attempt == 1
    assert_same(alpha, fake.data.export("ALPHA"))
    assert SyncLog.objects.filter(run=run, level="INFO").count() == 1
    assert Comment.objects.values("jira_id").distinct().count() == Comment.objects.count()


def test_worker_killed_mid_run_resumes_from_the_last_batch(fake_jira_factory, celery_processes):
    celery_processes.beat()  # the reaper revives the run once the dead worker's lease expires
    worker = celery_processes.worker()
    fake = fake_jira_factory(small(projects={"ALPHA": 500}, heavy_comment_ratio=0.01))
    (alpha,) = register(fake, ["ALPHA"])
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.4, times=None))
    request = runs.request_sync(project=alpha, full=True)
    while SyncRun.objects.get(id=request.run.id).issues_done < 200:
        pass
    worker.kill()
    committed = SyncRun.objects.get(id=request.run.id).issues_done
    assert 0 < committed < 500
    fake.clear_faults()
    celery_processes.worker()

    run = wait_for_run(request.run.id, timeout=90)

    assert run.status == "SUCCEEDED", run.error_message
    assert run.attempt in (1, 2)  # 2 when the kill hit a step in flight, 1 when it fell between steps
    assert_same(alpha, fake.data.export("ALPHA"))
    assert Issue.objects.count() == 500


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("expired_token", "TOKEN_EXPIRED"),
        ("suspended_payment", "SUSPENDED_PAYMENT"),
        ("suspended_inactivity", "SUSPENDED_INACTIVITY"),
        ("deactivated", "SITE_DEACTIVATED"),
    ],
)
def test_a_failing_site_fails_the_run_classified_and_loses_nothing(
    fake_jira_factory, celery_worker, fault, code
):
    fake = fake_jira_factory(small(projects={"ALPHA": 40}))
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    before = stored(alpha)
    cursors = dict(SyncState.objects.filter(project=alpha).values_list("entity", "last_sync_time"))
    fake.add_fault(Fault(kind=fault, times=None))

    run = sync_and_wait(alpha, timeout=90)

    assert run.status == "FAILED" and run.error_code == code
    assert stored(alpha) == before
    assert dict(SyncState.objects.filter(project=alpha).values_list("entity", "last_sync_time")) == cursors
    assert set(SyncState.objects.filter(project=alpha).values_list("status", "last_error_code")) == {
        ("FAILED", code)
    }
    job = SyncJob.objects.get(project=alpha)
    assert job.status == "ERROR" and job.last_error_code == code
    error = SyncLog.objects.get(run=run, level="ERROR")
    assert error.details["code"] == code and error.details["advice"]
    assert fake.api_token not in str(error.details) + error.message


def test_transient_faults_are_retried_and_the_run_ends_exact(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small(projects={"ALPHA": 60}))
    (alpha,) = register(fake, ["ALPHA"])
    fake.add_fault(Fault(kind="rate_limit", path="/search/jql", retry_after=1, times=1))
    fake.add_fault(Fault(kind="server_error", path="/comment", times=2))
    fake.add_fault(Fault(kind="truncate", path="/search/jql", after=1, times=1))

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert_same(alpha, fake.data.export("ALPHA"))
    assert any(" 429" in key for key in run.http_requests)


def test_a_step_retried_after_a_jira_error_counts_its_items_once(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small(projects={"ALPHA": 50}, heavy_comment_ratio=0.3))
    (alpha,) = register(fake, ["ALPHA"])
    issues = fake.data.export("ALPHA")
    fake.data.corrupt_issue(issues[0]["id"], "bad_date")  # counted before the page's comments are read
    # Every attempt of the client fails on one overflowing comment list (the page's overflow is read
    # concurrently, so the fault names the issue): the step itself retries.
    heavy = next(i["id"] for i in issues if len(i["comments"]) > 20)
    fake.add_fault(
        Fault(kind="server_error", path=f"/issue/{heavy}/comment", times=settings.JIRA_MAX_ATTEMPTS)
    )

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert SyncLog.objects.filter(run=run, level="WARNING", message__contains="retry 1").exists()
    assert run.counts["issues_malformed"] == 1
    assert run.counts["issues_upserted"] == len(issues) - 1
    assert [i["id"] for i in stored(alpha)] == [i["id"] for i in issues[1:]]


def test_a_malformed_issue_is_skipped_and_logged_while_the_rest_lands(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small(projects={"ALPHA": 50}))
    (alpha,) = register(fake, ["ALPHA"])
    issues = fake.data.export("ALPHA")
    broken, reshaped = issues[10]["id"], issues[20]["id"]
    fake.data.corrupt_issue(broken, "bad_date")
    fake.data.corrupt_issue(reshaped, "status_shape")

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED"
    assert run.counts["issues_malformed"] == 1
    skipped = SyncLog.objects.get(run=run, details__code="MALFORMED_RESPONSE")
    assert skipped.details["issue_id"] == broken and "not a Jira timestamp" in skipped.message
    assert SyncLog.objects.filter(run=run, details__code="SCHEMA_CHANGED").count() == 1
    assert [i["id"] for i in stored(alpha)] == [i["id"] for i in issues if i["id"] != broken]
    assert Issue.objects.get(jira_id=int(reshaped)).status == issues[20]["status"]
    assert Worklog.objects.filter(issue__jira_id=int(broken)).count() == 0


def test_a_batch_is_queryable_as_soon_as_it_commits(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small(projects={"ALPHA": 600}))
    (alpha,) = register(fake, ["ALPHA"])
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.5, times=None))
    request = runs.request_sync(project=alpha, full=True)
    deadline = time.monotonic() + 30
    while not Issue.live.filter(project=alpha).exists():
        assert time.monotonic() < deadline, "no batch was committed in 30 s"
        time.sleep(0.02)
    visible = stored(alpha)
    run = SyncRun.objects.get(id=request.run.id)

    assert not run.is_terminal, "the first page should be readable while later pages are still syncing"
    expected = {i["id"]: i for i in fake.data.export("ALPHA")}
    assert 0 < len(visible) < 600
    assert all(issue == expected[issue["id"]] for issue in visible)
    assert wait_for_run(run.id).status == "SUCCEEDED"


def test_pause_stops_a_run_at_the_next_batch_and_resume_continues_it_without_refetching(
    fake_jira_factory, celery_worker
):
    fake = fake_jira_factory(small(projects={"ALPHA": 600}))
    (alpha,) = register(fake, ["ALPHA"])
    fake.add_fault(Fault(kind="slow", path="/search/jql", delay=0.4, times=None))
    first = runs.request_sync(project=alpha, full=True).run
    deadline = time.monotonic() + 30
    while SyncRun.objects.get(id=first.id).issues_done < 100:
        assert time.monotonic() < deadline, "the first page never committed"
        time.sleep(0.02)

    controls.sync_pause(project=alpha, note="maintenance", actor="ops")
    parked = wait_for_run(first.id)

    assert (parked.status, parked.error_code) == ("CANCELLED", "PAUSED")
    # Three ranges of 200 ids: the first step stores a page of each, the pause stops the run before the next.
    assert 100 <= parked.issues_done < 600 and parked.issues_done % 100 == 0
    assert Issue.live.filter(project=alpha).count() == parked.issues_done  # committed batches stay
    assert SyncState.objects.get(project=alpha, entity="issue").last_sync_time is None  # no cursor moved
    requests_when_parked = fake.request_count("/rest/api/3/search/jql")
    time.sleep(1)
    assert fake.request_count("/rest/api/3/search/jql") == requests_when_parked  # it really stopped

    controls.sync_resume(project=alpha, actor="ops")
    continuation = SyncRun.objects.exclude(id=first.id).get(project=alpha)
    done = wait_for_run(continuation.id)

    assert done.status == "SUCCEEDED", done.error_message
    assert done.cursor["continues_run"] == first.id and done.issues_done == 600
    assert fake.request_count("/rest/api/3/search/jql") == 7  # 6 pages + the reconcile: none read twice
    assert_same(alpha, fake.data.export("ALPHA"))


def test_a_manual_trigger_while_paused_runs_to_the_end(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(small(projects={"ALPHA": 150}))
    (alpha,) = register(fake, ["ALPHA"])
    controls.sync_pause(project=alpha, actor="ops")

    triggered = controls.sync_trigger(project=alpha, full=True).run
    assert triggered is not None
    run = wait_for_run(triggered.id)

    assert run.status == "SUCCEEDED", run.error_message
    assert_same(alpha, fake.data.export("ALPHA"))
