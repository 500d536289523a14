"""Change tracking and webhooks end to end: PostgreSQL, Redis, one real Celery worker shared by the module,
the fake Jira over HTTP, and (for webhooks) the fake POSTing signed events to a live Django server."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.management import call_command

from fakejira import FakeDataConfig, FakeJira
from sync import selectors
from sync.models import Issue, JiraSite, PendingRefresh, Project, Sprint, WebhookEvent
from sync.services import webhooks
from tests.fixtures.processes import Processes
from tests.fixtures.sync import register, sync_and_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET = "a-webhook-secret-for-tests-0123456789"
TARGET_SECONDS = 5.0


@pytest.fixture(scope="module")
def worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Processes]:
    """One worker for the whole module (starting one costs seconds); the database is emptied per test."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    processes = Processes(Path(tmp_path_factory.mktemp("celery")))
    processes.worker(WEBHOOK_COALESCE_SECONDS="0.5")
    yield processes
    processes.stop_all()


def config(**overrides: Any) -> FakeDataConfig:
    """Small, with histories embedded only up to 3 so that changelog overflow is exercised."""
    base: dict[str, Any] = {
        "seed": 5,
        "projects": {"ALPHA": 60, "BETA": 10},
        "changelog_embedded_limit": 3,
        "worklog_feed_lag_seconds": 0,
    }
    return FakeDataConfig(**{**base, **overrides})


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> float:
    """Seconds it took for ``condition`` to hold; fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} did not happen within {timeout}s"
        time.sleep(0.02)
    return time.monotonic() - started


def assert_history_matches(project: Project, fake: FakeJira) -> None:
    expected = fake.data.export_history(project.key)
    actual = list(selectors.history_export(project=project))
    assert len(actual) == len(expected)
    for mine, theirs in zip(actual, expected, strict=True):
        assert mine == theirs, f"change {theirs['history_id']} of issue {theirs['issue_id']} differs"


def test_history_equals_the_changelog_after_full_and_incremental_runs(fake_jira_factory, worker, tmp_path):
    fake = fake_jira_factory(config())
    alpha, _ = register(fake, ["ALPHA", "BETA"])
    overflowing = sum(len(i.changelog) > 3 for i in fake.data.project_issues("ALPHA"))
    assert overflowing > 0, "the data set must exercise changelog overflow"
    fake.reset_counters()

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert_history_matches(alpha, fake)
    # Histories ride on the search pages; the truncated ones of a page come in one bulk request.
    by_endpoint = fake.stats()["by_endpoint"]
    assert by_endpoint["changelog_bulkfetch"] == 1 and "issue_changelog" not in by_endpoint
    assert run.counts["changelog_overflow_issues"] == overflowing

    data = fake.data
    issues = data.project_issues("ALPHA")
    humans = [u.account_id for u in data.users.values() if u.active and u.account_type == "atlassian"]
    target = issues[0]
    data.update_issue(target.id, status="In Review" if target.status != "In Review" else "Done")
    data.update_issue(issues[1].id, assignee=next(h for h in humans if h != issues[1].assignee))
    data.update_issue(issues[2].id, summary="Renamed", labels=["history"], story_points=8)
    scrum = next(s for s in data.sprints.values() if data.boards[s.board_id].project_key == "ALPHA")
    data.update_issue(issues[3].id, sprint_ids=[*issues[3].sprint_ids, scrum.id])
    data.move_issue(issues[4].id, "BETA")
    for _ in range(4):  # pushes one issue's changelog past what the search embeds
        data.update_issue(issues[5].id, summary=f"Edited {time.monotonic()}")

    run = sync_and_wait(alpha)

    assert run.status == "SUCCEEDED", run.error_message
    assert not run.full
    assert_history_matches(alpha, fake)
    assert str(issues[4].id) not in {row["issue_id"] for row in selectors.history_export(project=alpha)}
    exported = tmp_path / "history.jsonl"
    call_command("export_project", "ALPHA", "--entity", "history", "--output", str(exported))
    lines = exported.read_text().splitlines()
    assert [json.loads(line) for line in lines] == data.export_history("ALPHA")
    assert json.loads(lines[0])["created"].endswith("Z")


def test_time_in_status_adds_up_to_the_issues_age(fake_jira_factory, worker):
    fake = fake_jira_factory(config(projects={"ALPHA": 40}))
    (alpha,) = register(fake, ["ALPHA"])
    data = fake.data
    new_id = data.add_issue("ALPHA", summary="Walks the workflow")
    data.advance(3600)
    data.update_issue(new_id, status="In Progress")
    data.advance(1800)
    data.update_issue(new_id, status="Done")
    data.advance(600)
    as_of = data.now()

    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"

    issues = selectors.issues_with_details(
        issues=Issue.live.filter(project=alpha), includes=selectors.IssueIncludes(history=True)
    )
    for issue in issues:
        spent = selectors.issue_time_in_status(issue=issue, as_of=as_of)
        age = (as_of - issue.created).total_seconds()
        assert sum(s.seconds for s in spent) == pytest.approx(age, abs=1e-3), issue.key
        assert all(s.seconds >= 0 for s in spent)
        assert spent[-1].status == issue.status  # the clock is still running in the current status
    walked = next(i for i in issues if i.jira_id == int(new_id))
    by_status = {s.status: s.seconds for s in selectors.issue_time_in_status(issue=walked, as_of=as_of)}
    fake_issue = data.issues[int(new_id)]
    started, finished = (h.created for h in fake_issue.changelog)  # the fake's clock also ran for real
    assert by_status == pytest.approx(
        {
            "To Do": (started - fake_issue.created).total_seconds(),
            "In Progress": (finished - started).total_seconds(),
            "Done": (as_of - finished).total_seconds(),
        },
        abs=1e-3,
    )
    assert by_status == pytest.approx({"To Do": 3600, "In Progress": 1800, "Done": 600}, abs=1.0)


def test_sprint_scope_changes_and_assignee_handoffs_come_from_the_history(fake_jira_factory, worker):
    fake = fake_jira_factory(config(projects={"ALPHA": 40}))
    (alpha,) = register(fake, ["ALPHA"])
    data = fake.data
    active = next(
        s
        for s in data.sprints.values()
        if s.state == "active" and data.boards[s.board_id].project_key == "ALPHA"
    )
    outside = [i for i in data.project_issues("ALPHA") if active.id not in i.sprint_ids and not i.parent_id]
    inside = [i for i in data.project_issues("ALPHA") if i.sprint_ids == [active.id]]
    added, removed = outside[0], inside[0]
    data.update_issue(added.id, sprint_ids=[*added.sprint_ids, active.id])
    data.update_issue(removed.id, sprint_ids=[])
    humans = [u.account_id for u in data.users.values() if u.active and u.account_type == "atlassian"]
    handed = outside[1]
    first, second = [h for h in humans if h != handed.assignee][:2]
    data.update_issue(handed.id, assignee=first)
    data.update_issue(handed.id, assignee=second)

    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"

    sprint = Sprint.objects.get(jira_id=active.id)
    assert sprint.start_date is not None
    scope = selectors.sprint_scope_changes(sprint=sprint)
    mine = [(c.issue.jira_id, c.change) for c in scope if c.issue.jira_id in (added.id, removed.id)]
    assert mine == [(added.id, "added"), (removed.id, "removed")]
    assert all(c.at > sprint.start_date for c in scope)
    handoffs = [
        (c.from_value, c.to_value)
        for c in selectors.assignee_handoffs(project=alpha)
        if c.issue.jira_id == handed.id
    ]
    assert handoffs[-1] == (first, second)


# --- Webhooks -----------------------------------------------------------------------------------------


def _enable_webhooks(fake: FakeJira, live_server: Any, project: Project) -> JiraSite:
    site = project.site
    webhooks.webhook_secret_set(site=site, secret=SECRET)
    fake.webhooks.register(f"{live_server.url}/webhooks/jira/{site.id}/", SECRET)
    return site


def test_a_signed_webhook_brings_each_kind_of_change_within_the_target(
    fake_jira_factory, worker, live_server
):
    fake = fake_jira_factory(config(projects={"ALPHA": 30}))
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    site = _enable_webhooks(fake, live_server, alpha)
    data = fake.data
    issue, doomed = data.project_issues("ALPHA")[:2]

    data.update_issue(issue.id, summary="Changed in Jira", status="In Review")
    took = wait_until(
        lambda: Issue.objects.get(jira_id=issue.id).summary == "Changed in Jira", TARGET_SECONDS, "the update"
    )
    assert took <= TARGET_SECONDS
    stored = Issue.objects.get(jira_id=issue.id)
    assert stored.status == "In Review"
    assert_history_matches(alpha, fake)  # the refresh stored the new history too

    new_id = data.add_issue("ALPHA", summary="Born after the sync")
    wait_until(lambda: Issue.live.filter(jira_id=int(new_id)).exists(), TARGET_SECONDS, "the new issue")
    data.add_comment(issue.id, "A comment sent by webhook")
    wait_until(
        lambda: (
            Issue.objects.get(jira_id=issue.id).comments.filter(body_text__contains="by webhook").exists()
        ),
        TARGET_SECONDS,
        "the comment",
    )
    data.delete_issue(doomed.id)
    wait_until(lambda: not Issue.live.filter(jira_id=doomed.id).exists(), TARGET_SECONDS, "the deletion")
    sprint = Sprint.objects.filter(project=alpha).first()
    assert sprint is not None
    data.update_sprint(sprint.jira_id, name="Renamed sprint")
    wait_until(
        lambda: Sprint.objects.get(id=sprint.id).name == "Renamed sprint", TARGET_SECONDS, "the sprint rename"
    )
    assert all(d.status == 202 for d in fake.webhooks.deliveries())
    assert WebhookEvent.objects.filter(site=site).count() == len(fake.webhooks.deliveries())
    status: Any = selectors.webhook_status(sites=JiraSite.objects.filter(id=site.id)).get()  # annotated
    assert status.webhook_events_today == 5 and status.webhook_last_event is not None


def _post(client: Any, site_id: int, body: bytes, *, secret: str = SECRET, identifier: str = "id-1") -> Any:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/webhooks/jira/{site_id}/",
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature": signature, "X-Atlassian-Webhook-Identifier": identifier},
    )


def test_bad_signatures_replays_and_unknown_sites_are_refused_without_side_effects(
    fake_jira_factory, worker, client
):
    fake = fake_jira_factory(config(projects={"ALPHA": 20}))
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    site = alpha.site
    webhooks.webhook_secret_set(site=site, secret=SECRET)
    issue = fake.data.project_issues("ALPHA")[0]
    fake.data.update_issue(issue.id, summary="Only a verified webhook may bring this")
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": str(issue.id)}}).encode()
    fake.reset_counters()

    forged = _post(client, site.id, body, secret="not-the-secret-at-all-0000")
    unsigned = client.post(f"/webhooks/jira/{site.id}/", data=body, content_type="application/json")
    unknown = _post(client, site.id + 1000, body)

    assert [r.status_code for r in (forged, unsigned, unknown)] == [401, 401, 404]
    assert forged.json()["error"]["code"] == "NOT_AUTHENTICATED"
    assert WebhookEvent.objects.count() == 0 and PendingRefresh.objects.count() == 0
    assert fake.request_count() == 0
    assert Issue.objects.get(jira_id=issue.id).summary != "Only a verified webhook may bring this"
    site.refresh_from_db()
    assert site.webhook_rejected == 2 and site.webhook_rejected_at is not None  # the admin shows it

    accepted = _post(client, site.id, body)
    assert accepted.status_code == 202 and accepted.json()["status"] == "accepted"
    wait_until(
        lambda: (
            Issue.objects.get(jira_id=issue.id).summary == "Only a verified webhook may bring this"
            and not PendingRefresh.objects.filter(queued=True).exists()
        ),
        TARGET_SECONDS,
        "the accepted event's refresh",
    )
    refreshed = PendingRefresh.objects.get()
    requests_after_first = fake.request_count()

    replay = _post(client, site.id, body)

    assert replay.status_code == 202 and replay.json()["status"] == "duplicate"
    assert WebhookEvent.objects.count() == 1
    again = PendingRefresh.objects.get()
    assert (again.generation, again.queued) == (refreshed.generation, False)  # nothing was enqueued
    assert fake.request_count() == requests_after_first


def test_a_burst_of_fifty_events_for_one_issue_costs_a_few_jira_reads(fake_jira_factory, worker, live_server):
    fake = fake_jira_factory(config(projects={"ALPHA": 20}))
    (alpha,) = register(fake, ["ALPHA"])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    _enable_webhooks(fake, live_server, alpha)
    issue = next(
        i for i in fake.data.project_issues("ALPHA") if len(i.comments) <= 20 and len(i.worklogs) <= 20
    )
    fake.reset_counters()

    for n in range(50):
        fake.data.update_issue(issue.id, summary=f"Burst {n}")
    assert fake.webhooks.wait_idle(30), "the fake did not deliver its webhooks"
    wait_until(
        lambda: (
            Issue.objects.get(jira_id=issue.id).summary == "Burst 49"
            and not PendingRefresh.objects.filter(queued=True).exists()
        ),
        TARGET_SECONDS + 5,
        "the last state of the burst",
    )

    assert sum(d.status == 202 for d in fake.webhooks.deliveries()) == 50
    assert WebhookEvent.objects.filter(issue_jira_id=issue.id).count() == 50
    by_endpoint = fake.stats()["by_endpoint"]
    reads = by_endpoint.get("search_jql", 0) + by_endpoint.get("issue", 0)  # the issue, read fresh
    assert 1 <= reads <= 4, by_endpoint
    # Besides the issue itself, a read pages only its changelog (50 new histories: one bulk request).
    assert fake.request_count() == reads + by_endpoint.get("changelog_bulkfetch", 0), by_endpoint
    assert by_endpoint.get("changelog_bulkfetch", 0) <= reads
    stored = Issue.objects.get(jira_id=issue.id)
    assert stored.changes.filter(field="summary").count() == sum(
        1 for h in fake.data.issues[issue.id].changelog for i in h.items if i.field == "summary"
    )
