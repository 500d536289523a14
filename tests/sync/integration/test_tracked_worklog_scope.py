"""A tracked account's worklog on someone else's issue puts that issue in scope: stored, updated and removed
when deleted, by full and incremental runs and by webhook (real worker, fake Jira over HTTP)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakejira import FakeDataConfig, FakeJira
from sync.models import Issue, Project, Worklog
from sync.services import webhooks
from tests.fixtures.processes import CeleryProcess, module_worker
from tests.fixtures.sync import register, sync_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET = "a-webhook-secret-for-tests-0123456789"


@pytest.fixture(scope="module")
def worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryProcess]:
    yield from module_worker(tmp_path_factory, WEBHOOK_COALESCE_SECONDS="0.3")


def setup(fake_jira_factory: Callable[..., FakeJira]) -> tuple[FakeJira, Project, str, int]:
    """A project tracking one account, and an issue of the project that account has nothing to do with."""
    fake = fake_jira_factory(FakeDataConfig(seed=13, projects={"ALPHA": 40}, worklog_feed_lag_seconds=0))
    issues = fake.data.project_issues("ALPHA")
    tracked = sorted({i.assignee for i in issues if i.assignee})[0]
    other = next(
        i
        for i in issues
        if tracked not in (i.assignee, i.reporter) and all(w.author != tracked for w in i.worklogs)
    )
    (alpha,) = register(fake, ["ALPHA"], track=[tracked])
    return fake, alpha, tracked, other.id


def stored_worklog(jira_id: str) -> Worklog | None:
    return Worklog.objects.filter(jira_id=int(jira_id), issue__deleted_at__isnull=True).first()


def succeeded(project: Project, *, full: bool) -> None:
    run = sync_and_wait(project, full=full)
    assert run.status == "SUCCEEDED", run.error_message


def test_full_and_incremental_runs_store_update_and_remove_a_tracked_worklog_elsewhere(
    fake_jira_factory: Callable[..., FakeJira], worker: CeleryProcess
) -> None:
    fake, alpha, tracked, other = setup(fake_jira_factory)
    data = fake.data
    succeeded(alpha, full=True)
    assert not Issue.live.filter(jira_id=other).exists()

    first = data.add_worklog(other, 1800, author=tracked)
    data.advance(120)
    succeeded(alpha, full=False)  # incremental: the worklog moved the issue's `updated`
    issue = Issue.live.get(jira_id=other)
    assert {w.jira_id for w in issue.worklogs.all()} == {int(w.id) for w in data.issues[other].worklogs}
    assert stored_worklog(first) is not None

    data.edit_worklog(first, 5400)
    data.advance(120)
    succeeded(alpha, full=False)
    worklog = stored_worklog(first)
    assert worklog is not None and worklog.time_spent_seconds == 5400

    second = data.add_worklog(other, 600, author=tracked)
    data.delete_worklog(first)
    data.advance(120)
    succeeded(alpha, full=False)
    assert Issue.live.filter(jira_id=other).exists()  # still in scope through the second worklog
    assert stored_worklog(first) is None and stored_worklog(second) is not None

    data.delete_worklog(second)
    data.advance(120)
    run = sync_and_wait(alpha)
    assert run.status == "SUCCEEDED" and run.counts["issues_deleted"] == 1
    assert not Worklog.objects.filter(jira_id=int(second)).exists()  # the deletion feed removed it
    assert not Issue.live.filter(jira_id=other).exists()  # and reconcile dropped the issue it kept

    # A full run alone: stored with the worklog, then dropped once the worklog is gone.
    third = data.add_worklog(other, 300, author=tracked)
    succeeded(alpha, full=True)
    assert stored_worklog(third) is not None
    data.delete_worklog(third)
    succeeded(alpha, full=True)
    assert stored_worklog(third) is None and not Issue.live.filter(jira_id=other).exists()


def test_webhooks_judge_a_tracked_worklog_as_the_search_does(
    fake_jira_factory: Callable[..., FakeJira], worker: CeleryProcess, live_server: Any
) -> None:
    fake, alpha, tracked, other = setup(fake_jira_factory)
    succeeded(alpha, full=True)
    webhooks.webhook_secret_set(site=alpha.site, secret=SECRET)
    fake.webhooks.register(f"{live_server.url}/webhooks/jira/{alpha.site.id}/", SECRET)
    data = fake.data

    worklog = data.add_worklog(other, 1200, author=tracked)
    wait_until(lambda: stored_worklog(worklog) is not None, "the new worklog")

    data.edit_worklog(worklog, 2400)
    wait_until(lambda: getattr(stored_worklog(worklog), "time_spent_seconds", 0) == 2400, "the edit")

    data.delete_worklog(worklog)
    wait_until(lambda: not Issue.live.filter(jira_id=other).exists(), "the issue leaving the scope")
    assert stored_worklog(worklog) is None

    # Someone else's worklog on an issue out of scope is no reason to store it.
    outsider = next(a for a in sorted(data.users) if a != tracked)
    data.add_worklog(other, 60, author=outsider)
    assert fake.webhooks.wait_idle(10)
    time.sleep(1.0)  # past the coalescing delay and one refresh
    assert not Issue.live.filter(jira_id=other).exists()


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.05)
