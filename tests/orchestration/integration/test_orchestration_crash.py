"""A worker SIGKILLed in the middle of CODE: the reaper revives the orchestration once the lease expires,
a new worker resumes CODE under the same idempotency key, and nothing that finished runs again."""

from __future__ import annotations

import pytest

from orchestration.models import AgentExecution, Event
from orchestration.services import controls
from tests.fixtures.orchestration import (
    FAKE_CONFIG,
    assert_history_rebuilds_state,
    calls,
    phase_trail,
    script_behaviour,
    synced_issues,
    wait_status,
    wait_until,
    worker_env,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_sigkill_during_code_resumes_code_without_rerunning_finished_phases(
    celery_processes, fake_jira_factory, tmp_path
):
    env = worker_env(tmp_path)
    first = celery_processes.worker(**env)
    celery_processes.beat(**env)  # runs the reaper every second
    issue = synced_issues(fake_jira_factory(FAKE_CONFIG))[0]
    home = script_behaviour(tmp_path, issue, CODE={"sleep_first": 30})
    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    wait_until(lambda: calls(home, "CODE"), message="CODE to start")

    first.kill()  # SIGKILL to the worker's process group, mid-command
    celery_processes.worker(**env)
    done = wait_status(orchestration.id, "SUCCEEDED", "FAILED", "CANCELLED", timeout=90)

    assert done.status == "SUCCEEDED", done.error_message
    assert [p for p, _ in phase_trail(done)] == ["EXPLORE", "PLAN", "CODE", "TEST", "DOCUMENT"]
    attempts = dict(done.phases.values_list("phase", "attempt"))
    assert attempts == {"EXPLORE": 1, "PLAN": 1, "CODE": 2, "TEST": 1, "DOCUMENT": 1}
    code = done.phases.get(phase="CODE")
    # Both runs of the command had the same key; its side effect happened once.
    assert {line.split()[3] for line in calls(home, "CODE")} == {code.idempotency_key}
    assert len(calls(home, "CODE")) == 2
    assert (home / "effects.log").read_text().splitlines().count(code.idempotency_key) == 1
    starts = Event.objects.filter(orchestration=done, type="PHASE_STARTED", payload__key=code.idempotency_key)
    assert [e.payload["takeover"] for e in starts.order_by("seq")] == [False, True]
    assert (
        AgentExecution.objects.filter(
            phase_execution__phase__in=["EXPLORE", "PLAN"], phase_execution__orchestration=done
        ).count()
        == 2
    )
    assert_history_rebuilds_state(done)
