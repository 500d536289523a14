"""The later steps' reads sent together at the start of a run (``sync.services.steps.prefetch``), end to
end: real PostgreSQL, Redis, a Celery worker process and a fake Jira answering with latency. Each read is
still sent once, they are in flight together, nothing is left in the cache, a read failing at the start is
read again by its step, and ids read at the start spare issues created since."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from fakejira import FakeDataConfig, FakeJira, Fault
from sync.models import Issue
from sync.services import store
from tests.fixtures.sync import assert_same, register, sync_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def config() -> FakeDataConfig:
    return FakeDataConfig(seed=23, projects={"ALPHA": 150}, worklog_feed_lag_seconds=0)


def reads(fake: FakeJira) -> dict[str, int]:
    return dict(fake.stats()["by_endpoint"])


def left_in_the_cache() -> list[bytes]:
    return list(redis.Redis.from_url(settings.REDIS_URL).scan_iter("*jiraplus:sync:prefetch:*"))


def test_each_read_is_sent_once_and_together_at_the_start(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(config(), latency_ms=150, search_latency_ms=150)
    (alpha,) = register(fake, ["ALPHA"])
    fake.reset_counters()

    full = sync_and_wait(alpha, full=True)

    assert full.status == "SUCCEEDED", full.error_message
    assert_same(alpha, fake.data.export("ALPHA"))
    sent = reads(fake)
    assert sent["search_jql"] == 2 + 1  # two issue pages and the reconciliation's ids, each once
    # One users page and the empty one that ends a bare list; one boards page.
    assert sent["users_search"] == 2 and sent["boards"] == 1
    # Users, boards, the first page, the ids and the count went out together (each taking a site slot).
    assert fake.max_in_flight() >= 5
    assert left_in_the_cache() == []

    issues = sorted(fake.data.export("ALPHA"), key=lambda i: int(i["id"]))
    fake.data.update_issue(issues[0]["id"], summary="Changed since the full run")
    fake.data.add_worklog(issues[1]["id"], 600)
    fake.reset_counters()

    incremental = sync_and_wait(alpha)

    assert incremental.status == "SUCCEEDED", incremental.error_message
    assert_same(alpha, fake.data.export("ALPHA"))
    sent = reads(fake)
    assert sent["search_jql"] == 1 + 1  # the changed issues' page and the ids
    assert sent["worklog_updated"] == 1 and sent["worklog_deleted"] == 1 and sent["worklog_list"] == 1
    assert sent["users_search"] == 2 and sent["boards"] == 1
    assert fake.max_in_flight() >= 5
    assert incremental.counts["worklogs_upserted"] >= 1
    assert left_in_the_cache() == []


def test_a_read_failing_at_the_start_is_read_again_by_its_step(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(config())
    (alpha,) = register(fake, ["ALPHA"])
    # Every attempt of the start's users read fails; the users step then reads them itself.
    fake.add_fault(Fault(kind="server_error", path="users/search", times=settings.JIRA_MAX_ATTEMPTS))
    fake.reset_counters()

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert_same(alpha, fake.data.export("ALPHA"))
    assert reads(fake)["users_search"] == settings.JIRA_MAX_ATTEMPTS + 2  # then a page and the empty end
    assert run.counts["users_upserted"] > 0
    assert left_in_the_cache() == []


def test_ids_read_at_the_start_spare_issues_updated_after_the_window(fake_jira_factory):
    fake = fake_jira_factory(config())
    (alpha,) = register(fake, ["ALPHA"])
    now = timezone.now()
    older, newer = (
        Issue.objects.create(
            site=alpha.site, project=alpha, jira_id=n, key=f"ALPHA-{n}", created=now, updated=now + ago
        )
        for n, ago in [(1, -timedelta(hours=1)), (2, timedelta(minutes=1))]
    )

    deleted = store.mark_issues_deleted(project=alpha, live_ids=set(), account_ids=[], updated_before=now)

    assert deleted == 1
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.deleted_at is not None and newer.deleted_at is None
