"""The partitioned issue read under faults: a project's id ranges are read side by side, each page stored
in its own transaction with its range's cursor. A whole worker killed between two of those transactions
and a storm of 429s both end with the data equal to Jira's, every page stored once, no cursor moving
backwards and the site's limits obeyed."""

from __future__ import annotations

import time

import pytest

from fakejira import FakeDataConfig, Fault
from sync.models import Issue, SyncRun
from sync.services import runs
from tests.faults.invariants import assert_invariants, cursors, wait_until_quiet
from tests.fixtures.sync import register, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

HOOKED = {"DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings"}


def data(**projects: int) -> FakeDataConfig:
    return FakeDataConfig(
        seed=17,
        projects=projects,
        heavy_comment_ratio=0.03,
        heavy_worklog_ratio=0.03,
        worklog_feed_lag_seconds=0,
    )


def _wait(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.05)


def test_a_whole_worker_killed_between_the_pages_of_a_step_resumes_every_range_after_its_last_page(
    tmp_path, fake_jira_factory, celery_processes
):
    marker = tmp_path / "kill-after-page"
    marker.write_text("2")  # the first issues step commits two of its four pages, then the machine is gone
    celery_processes.beat()  # the reaper hands the dead worker's run to the next one
    worker = celery_processes.worker(**HOOKED, FAULTS_KILL_AFTER_PAGE=str(marker))
    fake = fake_jira_factory(data(ALPHA=1000), search_latency_ms=100)
    (alpha,) = register(fake, ["ALPHA"])
    run = runs.request_sync(project=alpha, full=True).run

    _wait(lambda: worker.proc.poll() is not None, "the worker did not die")

    assert not marker.exists()
    at_kill = SyncRun.objects.get(id=run.id)
    ranges = at_kill.cursor["ranges"]  # [last id committed, bound, done] per range
    lows = [0] + [upto for _, upto, _ in ranges[:-1]]
    # 1,000 ids cut into ranges of 300, 300, 300 and 100, stored as their pages came: two pages committed,
    # each range holding exactly the whole pages up to its cursor and nothing beyond it.
    assert len(ranges) == 4 and ranges[-1][1] is None
    stored = Issue.live.filter(project=alpha)
    for (after, upto, _), low in zip(ranges, lows, strict=True):
        in_range = (
            stored.filter(jira_id__gt=low)
            if upto is None
            else stored.filter(jira_id__gt=low, jira_id__lte=upto)
        )
        assert in_range.count() == in_range.filter(jira_id__lte=after).count()
        assert in_range.count() % 100 == 0
    assert at_kill.issues_done == 200 == stored.count()
    assert sum(after > low for (after, _, _), low in zip(ranges, lows, strict=True)) in (1, 2)

    celery_processes.worker(**HOOKED)  # the machine is back
    done = wait_for_run(run.id, timeout=120)

    assert done.status == "SUCCEEDED", done.error_message
    assert done.attempt == 2  # one takeover
    assert done.issues_done == 1000  # every page stored once: the two committed were not read again
    for (after, upto, finished), (after_then, upto_then, _) in zip(
        done.cursor["ranges"], ranges, strict=True
    ):
        assert finished and upto == upto_then and after >= after_then  # the same ranges, each moved on
    assert_invariants([alpha], fake)


def test_a_429_storm_during_a_partitioned_read_holds_the_whole_site_and_ends_exact(
    fake_jira_factory, celery_processes
):
    celery_processes.worker(concurrency=2, JIRA_SITE_CONCURRENCY="8")
    fake = fake_jira_factory(data(ALPHA=1000, BETA=600), search_latency_ms=150, latency_ms=30)
    projects = register(fake, ["ALPHA", "BETA"])
    before = cursors(projects)
    run_ids = [runs.request_sync(project=p, full=True).run.id for p in projects]
    # Once both runs read issue pages, every request is answered 429 "retry after 1 s" for 2.5 s.
    _wait(
        lambda: fake.request_count("/rest/api/3/search/jql") >= 6, "the runs never reached their issue pages"
    )
    fake.add_fault(Fault(kind="rate_limit", path="/rest/", retry_after=1, times=None))
    time.sleep(2.5)
    fake.clear_faults()

    wait_until_quiet(projects, timeout=120)

    finished = {r.project.key: r for r in SyncRun.objects.filter(id__in=run_ids).select_related("project")}
    assert {key: r.status for key, r in finished.items()} == {"ALPHA": "SUCCEEDED", "BETA": "SUCCEEDED"}
    assert (finished["ALPHA"].issues_done, finished["BETA"].issues_done) == (1000, 600)  # no page twice
    assert all(len(r.cursor["ranges"]) > 1 for r in finished.values())  # the reads were partitioned
    records = sorted(fake.requests, key=lambda r: r.received)
    limited = [r for r in records if r.status == 429]
    assert limited, "the storm never hit a request"
    # Every 429 held the whole site, both pool processes and all their threads: nothing was sent while
    # its Retry-After ran (a request sent just as the answer came back may arrive a moment later).
    for answer in limited:
        inside = [r for r in records if answer.answered + 0.1 < r.received < answer.answered + 0.9]
        assert not inside, f"{len(inside)} requests arrived within a 429's Retry-After"
    assert fake.max_in_flight(fake.email.lower()) <= 8
    assert_invariants(projects, fake, before=before)
