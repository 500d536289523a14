"""The DEBUG trail on demand: a worker started with SYNC_LOG_LEVEL=DEBUG writes one DEBUG line per step,
and the level filter of syncLogs and the REST logs endpoint returns only those lines."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from fakejira import FakeDataConfig
from sync.models import SyncLog, SyncRun
from tests.fixtures.sync import register, sync_and_wait
from tests.fixtures.tokens import bearer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DATA = FakeDataConfig(seed=5, projects={"ALPHA": 500}, worklog_feed_lag_seconds=0)
STEP_FIELDS = {"step", "cursor", "requests", "jira_ms", "wall_ms"}


def _client() -> Client:
    return Client(HTTP_AUTHORIZATION=bearer(User.objects.create(username="reader")))


def _graphql_logs(client: Client, project_id: int, level: str) -> list[dict[str, object]]:
    response = client.post(
        "/graphql",
        json.dumps(
            {
                "query": "query($p: ID!, $l: String) { syncLogs(projectId: $p, limit: 100, level: $l) "
                "{ level message details } }",
                "variables": {"p": str(project_id), "l": level},
            }
        ),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )
    body = response.json()
    assert "errors" not in body, body
    logs: list[dict[str, object]] = body["data"]["syncLogs"]
    return logs


def test_debug_level_writes_a_line_per_step_and_the_filter_returns_only_them(
    fake_jira_factory, celery_processes
):
    # Each step ends after its first page, storing only the pages whose search had answered by then.
    celery_processes.worker(SYNC_LOG_LEVEL="DEBUG", SYNC_ISSUE_STEP_SECONDS="0")
    fake = fake_jira_factory(DATA, search_latency_ms=200)
    (alpha,) = register(fake, ["ALPHA"])

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    debug = list(SyncLog.objects.filter(run=run, level="DEBUG").order_by("id"))
    steps = [line.details["step"] for line in debug]
    # Every step of a full run, the issues step more than once (500 issues: ranges of 200, 200 and 100
    # ids; the first step stores the page the start read, the searches it sent go to the next step).
    assert steps[:3] == ["start", "users", "sprints"]
    assert steps.count("issues") >= 2
    assert steps[-2:] == ["reconcile", "finish"]
    for line in debug:
        assert set(line.details) == STEP_FIELDS, line.details
        assert isinstance(line.details["cursor"], dict)
        assert line.details["wall_ms"] >= 0 and line.details["jira_ms"] >= 0
        assert line.message.startswith(f"step {line.details['step']}:")
    # The steps' requests add up to the run's: every request is in some step's line.
    assert sum(line.details["requests"] for line in debug) == run.request_total > 0
    # Consecutive issues pages start from different cursors (the keyset moves on).
    pages = [
        json.dumps(line.details["cursor"], sort_keys=True)
        for line in debug
        if line.details["step"] == "issues"
    ]
    assert len(set(pages)) == len(pages)
    # The INFO lines are still written alongside.
    assert SyncLog.objects.filter(run=run, level="INFO", message__contains="succeeded").count() == 1

    client = _client()
    by_graphql = _graphql_logs(client, alpha.jira_id, "DEBUG")
    assert [(log["level"], log["message"]) for log in by_graphql] == [
        ("DEBUG", line.message) for line in reversed(debug)
    ]
    assert {log["level"] for log in _graphql_logs(client, alpha.jira_id, "INFO")} == {"INFO"}
    unknown = client.post(
        "/graphql",
        json.dumps(
            {
                "query": 'query($p: ID!) { syncLogs(projectId: $p, level: "LOUD") { level } }',
                "variables": {"p": str(alpha.jira_id)},
            }
        ),
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    ).json()
    assert unknown["errors"][0]["extensions"]["code"] == "INVALID_INPUT", unknown
    assert unknown["errors"][0]["extensions"]["field"] == "level"
    rest = client.get(f"/api/projects/{alpha.key}/logs/?level=DEBUG&limit=100")
    assert rest.status_code == 200, rest.content
    assert [log["message"] for log in rest.json()] == [line.message for line in reversed(debug)]


def test_info_level_writes_no_debug_line(fake_jira_factory, celery_worker):
    fake = fake_jira_factory(DATA)
    (alpha,) = register(fake, ["ALPHA"])

    run = sync_and_wait(alpha, full=True)

    assert run.status == "SUCCEEDED", run.error_message
    assert not SyncLog.objects.filter(level="DEBUG").exists()
    assert SyncLog.objects.filter(run=run, level="INFO").exists()
    assert SyncRun.objects.filter(project=alpha).count() == 1
