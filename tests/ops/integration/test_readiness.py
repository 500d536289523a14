"""System status against real services: /readyz, `manage.py doctor`, and a waiting command that notices
no worker consumes its queue. Real worker and beat processes on the test database and broker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from ops import status as ops_status
from sync.models import Issue, JiraSite, Project
from tests.fixtures.processes import Processes
from tests.fixtures.sync import register

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
QUEUE_CHECKS = {"queue:sync", "queue:orchestration", "queue:notifications", "queue:telemetry"}


@pytest.fixture(autouse=True)
def fresh_status() -> Iterator[None]:
    ops_status._recent.clear()  # every request of a test computes the status anew
    yield
    ops_status._recent.clear()


def readyz() -> tuple[int, dict[str, Any]]:
    ops_status._recent.clear()
    response = Client().get("/readyz")
    return response.status_code, response.json()


def test_without_a_worker_readyz_is_503_naming_each_queue_and_reveals_no_detail(celery_processes):
    status, body = readyz()
    assert status == 503 and body["status"] == "fail"
    assert set(body["failing"]) >= QUEUE_CHECKS
    assert body["checks"]["database"] == body["checks"]["broker"] == body["checks"]["cache"] == "ok"
    assert set(body["checks"].values()) == {"ok", "fail"}, "names and ok/fail only, no detail"
    assert "redis" not in str(body)


def test_doctor_prints_every_check_and_exits_with_the_number_failing(celery_processes, capsys):
    with pytest.raises(SystemExit) as exited:
        call_command("doctor")
    out = capsys.readouterr().out
    failing = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert exited.value.code == len(failing) >= len(QUEUE_CHECKS)
    assert "queue:sync" in out and "celery -A jiraplus worker" in out
    assert "ok   database" in out


def test_with_a_worker_on_every_queue_and_beat_every_check_passes(celery_processes: Processes):
    celery_processes.worker()
    celery_processes.beat(TELEMETRY_ANALYSE_INTERVAL="1")
    deadline = time.monotonic() + 60
    while True:
        status, body = readyz()
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (status, body["failing"]) == (200, []), body
    assert body["status"] == "ok" and QUEUE_CHECKS | {"beat", "telemetry", "notifications"} <= set(
        body["checks"]
    )


def test_sync_project_wait_without_a_worker_exits_within_15s_naming_the_queue(celery_processes, fake_jira):
    register(fake_jira, ["ALPHA"])
    started = time.monotonic()
    with pytest.raises(CommandError) as raised:
        call_command("sync_project", "ALPHA", "--wait")
    assert time.monotonic() - started < 15
    assert "NO_WORKER" in str(raised.value)
    assert "queue 'sync'" in str(raised.value) and "celery -A jiraplus worker" in str(raised.value)


def test_orchestrate_wait_without_a_worker_exits_within_15s_naming_the_queue(celery_processes):
    site = JiraSite.objects.create(name="s", base_url="https://s.example", email="a@s.example", api_token="t")
    project = Project.objects.create(site=site, key="ORC", jira_id=1)
    when = timezone.now()
    Issue.objects.create(site=site, project=project, jira_id=5, key="ORC-1", created=when, updated=when)
    started = time.monotonic()
    with pytest.raises(CommandError) as raised:
        call_command("orchestrate", "ORC-1", "--auto-proceed", "--wait")
    assert time.monotonic() - started < 15
    assert "NO_WORKER" in str(raised.value)
    assert "queue 'orchestration'" in str(raised.value) and "celery -A jiraplus worker" in str(raised.value)
