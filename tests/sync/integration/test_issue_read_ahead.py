"""Issue pages read ahead (``sync.services.steps.issues``), end to end: real PostgreSQL, Redis, a Celery
worker process and the fake Jira over HTTP. Each page is searched once, a retried step stores the page it was
given, and nothing read ahead is left behind."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from fakejira import FakeDataConfig, FakeJira, Fault
from sync.models import SyncLog
from tests.fixtures.sync import assert_same, register, sync_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def config() -> FakeDataConfig:
    """Four issue pages (350 issues), some overflowing comments on every page."""
    return FakeDataConfig(
        seed=11, projects={"ALPHA": 350}, heavy_comment_ratio=0.05, worklog_feed_lag_seconds=0
    )


def searches(fake: FakeJira) -> int:
    return fake.stats()["by_endpoint"].get("search_jql", 0)


def pages_left_in_the_cache() -> list[bytes]:
    return list(redis.Redis.from_url(settings.REDIS_URL).scan_iter("*jiraplus:sync:page:*"))


def test_every_page_is_searched_once_and_none_is_left_read_ahead(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(config())
    (alpha,) = register(fake, ["ALPHA"])
    fake.reset_counters()

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert_same(alpha, fake.data.export("ALPHA"))
    assert searches(fake) == 4 + 1  # four pages, each read once (three of them ahead), and the reconcile
    assert run.issues_done == 350 and run.counts["issues_upserted"] == 350
    assert pages_left_in_the_cache() == []


def test_a_step_retried_after_a_failure_stores_the_page_read_ahead_for_it(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(config())
    (alpha,) = register(fake, ["ALPHA"])
    expected = fake.data.export("ALPHA")
    on_page_two = sorted(expected, key=lambda i: int(i["id"]))[100:200]
    heavy = next(i["id"] for i in on_page_two if len(i["comments"]) > 20)
    # Every attempt of the client fails on one comment list of page two: that step fails and is retried.
    fake.add_fault(
        Fault(kind="server_error", path=f"/issue/{heavy}/comment", times=settings.JIRA_MAX_ATTEMPTS)
    )
    fake.reset_counters()

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert SyncLog.objects.filter(run=run, level="WARNING", message__contains="retry 1").exists()
    assert_same(alpha, expected)
    # Neither page two (read ahead by step one) nor page three (read ahead by the failed try) is read again.
    assert searches(fake) == 4 + 1
    assert run.issues_done == 350 and run.counts["issues_upserted"] == 350
    assert pages_left_in_the_cache() == []


@pytest.mark.parametrize(
    "env",
    [
        {"SYNC_ISSUE_STEP_SECONDS": "0"},  # a step per round: each round's next pages pass through the cache
        {"SYNC_ISSUE_STEP_SECONDS": "0", "SYNC_ISSUE_RANGES": "1"},  # one chain, a step per page
        {},  # the default: every round in one step, the next pages handed over in memory
    ],
    ids=["round-per-step", "one-chain", "rounds-in-one-step"],
)
def test_pages_read_ahead_across_steps_or_rounds_are_searched_once(env, fake_jira_factory, celery_processes):
    celery_processes.worker(**env)
    fake = fake_jira_factory(
        FakeDataConfig(
            seed=11, projects={"ALPHA": 1000}, heavy_comment_ratio=0.05, worklog_feed_lag_seconds=0
        )
    )
    (alpha,) = register(fake, ["ALPHA"])
    fake.reset_counters()

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert_same(alpha, fake.data.export("ALPHA"))
    assert searches(fake) == 10 + 1  # ten pages, each searched once, and the reconcile
    assert run.issues_done == 1000 and run.counts["issues_upserted"] == 1000
    assert len(run.cursor["ranges"]) == (1 if env.get("SYNC_ISSUE_RANGES") == "1" else 4)
    assert pages_left_in_the_cache() == []
