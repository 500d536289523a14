"""The rename of the classifier's codes to the spec's names (RATE_LIMITED -> RATE_LIMIT, NETWORK ->
NETWORK_GLITCH) reaches every stored row, forward and back: runs, jobs, states, logs, daily aggregates,
back-off states, schedule changes, routes, messages and orchestrations; a unique group or route that
already exists under the target name is merged, never duplicated. Driven by Django's MigrationExecutor on
the real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BEFORE = [
    ("sync", "0006_run_retention"),
    ("telemetry", "0003_slow_run_outlives_its_run"),
    ("notifications", "0006_catch_all_route"),
    ("orchestration", "0002_orchestration_operators_group"),
]
AFTER = [
    ("sync", "0007_spec_error_codes"),
    ("telemetry", "0004_spec_error_codes"),
    ("notifications", "0007_spec_error_codes"),
    ("orchestration", "0003_spec_error_codes"),
]

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RENAMED_NAMES = ["RATE_LIMITED", "RATE_LIMIT", "NETWORK", "NETWORK_GLITCH"]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_latest_afterwards() -> Iterator[None]:
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def seed(apps) -> dict[str, int]:
    site = apps.get_model("sync", "JiraSite").objects.create(
        name="acme", base_url="https://acme.atlassian.net", api_token="t"
    )
    project = apps.get_model("sync", "Project").objects.create(site=site, key="ALPHA", jira_id=1)
    run = apps.get_model("sync", "SyncRun").objects.create(
        project=project, status="FAILED", error_code="RATE_LIMITED"
    )
    other = apps.get_model("sync", "SyncRun").objects.create(
        project=project, status="FAILED", error_code="TOKEN_EXPIRED"
    )
    apps.get_model("sync", "SyncJob").objects.create(project=project, last_error_code="NETWORK")
    apps.get_model("sync", "SyncState").objects.create(
        project=project, entity="issue", status="FAILED", last_error_code="RATE_LIMITED"
    )
    log = apps.get_model("sync", "SyncLog")
    log.objects.create(project=project, run=run, level="ERROR", message="m", details={"code": "RATE_LIMITED"})
    log.objects.create(project=project, run=other, level="ERROR", message="m", details={"code": "FORBIDDEN"})
    log.objects.create(project=project, level="INFO", message="m", details={"issues": 3})
    apps.get_model("sync", "SyncRunDaily").objects.create(
        project=project, day=date(2026, 1, 1), status="FAILED", error_code="NETWORK", runs=2, duration_ms=10
    )
    apps.get_model("telemetry", "BackoffState").objects.create(
        project=project, level=1, category="RATE_LIMITED", last_error_code="RATE_LIMITED"
    )
    apps.get_model("telemetry", "ScheduleChange").objects.create(
        project=project, level=1, category="NETWORK", reason="3 consecutive NETWORK failures"
    )
    apps.get_model("notifications", "Notification").objects.create(
        channel="slack",
        recipient="#ops",
        category="RATE_LIMITED",
        subject="s",
        idempotency_key="k1",
        error_code="RATE_LIMITED",  # the channel's own delivery code: not the classifier's
    )
    route = apps.get_model("notifications", "Route").objects
    route.create(category="NETWORK", channel="slack")
    route.get_or_create(category="RATE_LIMITED", channel="slack")  # 0002's default (a flush removes it)
    issue = apps.get_model("sync", "Issue").objects.create(
        site=site, project=project, jira_id=7, key="ALPHA-1", created=NOW, updated=NOW
    )
    orchestration = apps.get_model("orchestration", "Orchestration").objects.create(
        issue=issue, issue_key=issue.key, project=project, status="FAILED", error_code="JIRA_RATE_LIMITED"
    )
    apps.get_model("orchestration", "Event").objects.create(
        orchestration=orchestration,
        seq=1,
        type="FAILED",
        payload={"error_code": "JIRA_NETWORK"},
        correlation_id=orchestration.correlation_id,
    )
    return {"project": project.id}


def stored(apps) -> dict[str, object]:
    def model(label: str):
        return apps.get_model(*label.split("."))

    return {
        "runs": sorted(model("sync.SyncRun").objects.values_list("error_code", flat=True)),
        "job": model("sync.SyncJob").objects.get().last_error_code,
        "state": model("sync.SyncState").objects.get().last_error_code,
        "logs": sorted(str(d) for d in model("sync.SyncLog").objects.values_list("details", flat=True)),
        "daily": sorted(model("sync.SyncRunDaily").objects.values_list("error_code", "runs", "duration_ms")),
        "backoff": model("telemetry.BackoffState").objects.values_list("category", "last_error_code").get(),
        "change": model("telemetry.ScheduleChange").objects.values_list("category", "reason").get(),
        "message": model("notifications.Notification").objects.values_list("category", "error_code").get(),
        "orchestration": model("orchestration.Orchestration").objects.get().error_code,
        "event": model("orchestration.Event").objects.get().payload,
        "routes": sorted(
            model("notifications.Route")
            .objects.filter(channel="slack", category__in=RENAMED_NAMES)
            .values_list("category", flat=True)
        ),
    }


def test_stored_codes_take_the_spec_names_and_get_the_old_ones_back(at_latest_afterwards):
    old = migrate(BEFORE)
    seed(old)
    before = stored(old)
    assert before["routes"] == ["NETWORK", "RATE_LIMITED"]

    new = stored(migrate(AFTER))
    assert new == {
        "runs": ["RATE_LIMIT", "TOKEN_EXPIRED"],
        "job": "NETWORK_GLITCH",
        "state": "RATE_LIMIT",
        "logs": sorted(str(d) for d in ({"code": "RATE_LIMIT"}, {"code": "FORBIDDEN"}, {"issues": 3})),
        "daily": [("NETWORK_GLITCH", 2, 10)],
        "backoff": ("RATE_LIMIT", "RATE_LIMIT"),
        "change": ("NETWORK_GLITCH", "3 consecutive NETWORK failures"),  # prose stays as written
        "message": ("RATE_LIMIT", "RATE_LIMITED"),
        "orchestration": "JIRA_RATE_LIMIT",
        "event": {"error_code": "JIRA_NETWORK_GLITCH"},
        "routes": ["NETWORK_GLITCH", "RATE_LIMIT"],
    }

    assert stored(migrate(BEFORE)) == before


def test_a_group_or_route_already_under_the_target_name_is_merged_not_duplicated(at_latest_afterwards):
    old = migrate(BEFORE)
    ids = seed(old)
    daily = old.get_model("sync", "SyncRunDaily")
    daily.objects.create(
        project_id=ids["project"],
        day=date(2026, 1, 1),
        status="FAILED",
        error_code="NETWORK_GLITCH",
        runs=3,
        duration_ms=5,
    )
    old.get_model("notifications", "Route").objects.create(category="RATE_LIMIT", channel="slack")

    new = migrate(AFTER)
    assert stored(new)["daily"] == [("NETWORK_GLITCH", 5, 15)]
    assert stored(new)["routes"] == ["NETWORK_GLITCH", "RATE_LIMIT"]
