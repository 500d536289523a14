"""The six-phase workflow end to end: PostgreSQL, Redis, one real Celery worker shared by the module,
real subprocess commands for CODE/TEST/FIX and the fake Jira over HTTP for the synced issue and DOCUMENT.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from core.errors import Conflict
from fakejira import FakeJira
from notifications.models import Notification
from notifications.services import route_defaults_install
from orchestration import task_names as orchestration_task_names
from orchestration.agents.explore import ExploreAgent
from orchestration.agents.noop import NoopAgent
from orchestration.models import AgentExecution, Approval, Event, Orchestration
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
from tests.fixtures.processes import Processes

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SUCCEEDED = "SUCCEEDED"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("orchestrations")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeJira]:
    with FakeJira(config=FAKE_CONFIG) as fake:
        yield fake


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, root, tmp_path_factory):
    """One worker for the whole module (starting one costs seconds); every test uses its own issue."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    processes = Processes(tmp_path_factory.mktemp("celery"))
    worker = processes.worker(
        ORCHESTRATION_JIRA_COMMENT="true",
        ORCHESTRATION_JIRA_TRANSITION="In Review",
        # Two agents side by side in EXPLORE; a short start-to-close timeout for FIX.
        ORCHESTRATION_AGENTS_EXPLORE=f"{ExploreAgent.__module__}.ExploreAgent,{NoopAgent.__module__}.NoopAgent",
        ORCHESTRATION_PHASE_POLICIES=json.dumps({"FIX": {"timeout": 6}}),
        **worker_env(root),
    )
    yield worker
    processes.stop_all()


@pytest.fixture
def issues(worker, fake):
    assert connection.vendor == "postgresql"
    route_defaults_install()  # the routes' migration rows do not survive the per-test flush
    return synced_issues(fake)


def notified(orchestration: Orchestration, category: str) -> int:
    return Notification.objects.filter(
        category=category, idempotency_key__startswith=f"orchestration:{orchestration.id}:"
    ).count()


def test_happy_path_runs_every_phase_once_and_documents_in_jira(issues, root, fake):
    issue = issues[0]
    home = script_behaviour(root, issue)

    orchestration = controls.orchestration_start(
        issue_key=issue.key, auto_proceed=True, actor="alice"
    ).orchestration
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")

    assert done.status == SUCCEEDED, done.error_message
    assert phase_trail(done) == [(p, SUCCEEDED) for p in ("EXPLORE", "PLAN", "CODE", "TEST", "DOCUMENT")]
    outputs = {p.phase: p.output for p in done.phases.all()}
    assert issue.key in outputs["EXPLORE"]["brief"] and issue.summary in outputs["EXPLORE"]["brief"]
    assert outputs["EXPLORE"]["noop"] is True  # both EXPLORE agents' outputs, merged
    explore_agents = AgentExecution.objects.filter(
        phase_execution__orchestration=done, phase_execution__phase="EXPLORE"
    )
    assert sorted(explore_agents.values_list("agent", "status")) == [
        ("explore", SUCCEEDED),
        ("noop", SUCCEEDED),
    ]
    assert outputs["PLAN"]["steps"] and outputs["PLAN"]["acceptance_criteria"]
    assert outputs["TEST"]["junit"] == {"tests": 2, "failed": 0, "skipped": 0, "failed_tests": []}
    assert "| TEST | 1 | SUCCEEDED 2 tests, 0 failed |" in outputs["DOCUMENT"]["report"]
    assert [line.split()[0] for line in calls(home)] == ["CODE", "TEST"]
    assert not (home / "secrets-visible").exists()  # commands never see the worker's secrets
    assert done.approvals.count() == 0  # auto_proceed skips the PLAN gate
    # DOCUMENT posted the report to the fake Jira and moved the issue.
    jira_issue = fake.data.find_issue(issue.jira_id)
    assert jira_issue is not None and jira_issue.status == "In Review"
    comment_id = outputs["DOCUMENT"]["jira_comment_id"]
    assert [c.id for c in jira_issue.comments if str(c.id) == comment_id]
    assert AgentExecution.objects.filter(phase_execution__orchestration=done).count() == 6
    assert done.started_at and done.finished_at and done.lease_token == ""
    assert notified(done, "ORCHESTRATION_SUCCEEDED") == 1
    assert_history_rebuilds_state(done)


def test_test_failing_twice_passes_after_two_fixes(issues, root):
    issue = issues[1]
    home = script_behaviour(root, issue, TEST={"fail_times": 2})

    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")

    assert done.status == SUCCEEDED, done.error_message
    assert [p for p, _ in phase_trail(done)] == [
        "EXPLORE", "PLAN", "CODE", "TEST", "FIX", "TEST", "FIX", "TEST", "DOCUMENT",
    ]  # fmt: skip
    tests = done.phases.filter(phase="TEST").order_by("id")
    assert [t.state for t in tests] == ["FAILED", "FAILED", SUCCEEDED]
    assert tests[0].error_code == "TESTS_FAILED"
    assert tests[0].output["junit"]["failed_tests"] == ["t.test_feature"]
    assert [t.iteration for t in tests] == [1, 2, 3]
    assert done.fix_attempts == 2
    assert len(calls(home, "FIX")) == 2
    assert_history_rebuilds_state(done)


def test_exceeding_fix_attempts_fails_the_orchestration(issues, root):
    issue = issues[2]
    script_behaviour(root, issue, TEST={"fail_times": 100})

    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")

    assert done.status == "FAILED"
    assert done.error_code == "FIX_ATTEMPTS_EXHAUSTED"
    assert done.phases.filter(phase="FIX").count() == 3  # the default budget
    assert done.phases.filter(phase="TEST").count() == 4
    assert not done.phases.filter(phase="DOCUMENT").exists()
    assert notified(done, "ORCHESTRATION_FAILED") == 1
    assert_history_rebuilds_state(done)


def test_transient_errors_retry_with_backoff_and_retry_resumes_from_the_failed_phase(issues, root):
    issue = issues[3]
    home = script_behaviour(root, issue, CODE={"transient_times": 3})

    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    failed = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")

    assert failed.status == "FAILED"
    assert failed.error_code == "COMMAND_TRANSIENT_RETRIES_EXHAUSTED"
    code = failed.phases.get(phase="CODE")
    assert code.attempt == 3 and code.state == "FAILED"
    retries = list(Event.objects.filter(orchestration=failed, type="PHASE_RETRY_SCHEDULED").order_by("seq"))
    assert len(retries) == 2  # attempts 1 and 2 waited; attempt 3 was the last
    # The durable timers grew by the coefficient: 0.2 s, then 0.4 s.
    assert [e.payload["delay_s"] for e in retries] == [0.2, 0.4]
    dues = [datetime.fromisoformat(e.payload["next_attempt_at"]) for e in retries]
    assert dues[0] < dues[1]

    retried = controls.orchestration_retry(orchestration_id=failed.id, actor="bob").orchestration
    assert retried.status == "RUNNING"
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")

    assert done.status == SUCCEEDED, done.error_message
    assert [p for p, _ in phase_trail(done)] == ["EXPLORE", "PLAN", "CODE", "CODE", "TEST", "DOCUMENT"]
    assert done.phases.filter(phase="EXPLORE").get().attempt == 1  # completed phases did not run again
    assert len(calls(home, "CODE")) == 4
    with pytest.raises(Conflict):
        controls.orchestration_retry(orchestration_id=done.id, actor="bob")
    assert_history_rebuilds_state(done)


def test_approval_gate_holds_no_worker_and_a_double_approve_continues_once(issues, root):
    gated, other = issues[4], issues[5]
    home = script_behaviour(root, gated)
    script_behaviour(root, other)

    orchestration = controls.orchestration_start(
        issue_key=gated.key, auto_proceed=False, actor="alice"
    ).orchestration
    waiting = wait_status(orchestration.id, "AWAITING_APPROVAL")
    assert waiting.lease_token == "" and waiting.current_phase == "PLAN"
    assert Approval.objects.get(orchestration=waiting).decision == "PENDING"
    assert notified(waiting, "ORCHESTRATION_APPROVAL_NEEDED") == 1
    # The only worker process is free: another orchestration runs to the end meanwhile.
    second = controls.orchestration_start(issue_key=other.key, auto_proceed=True).orchestration
    assert wait_status(second.id, SUCCEEDED, "FAILED").status == SUCCEEDED
    assert Orchestration.objects.get(id=orchestration.id).status == "AWAITING_APPROVAL"
    assert calls(home) == []

    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def approve(who: str) -> None:
        try:
            barrier.wait()
            controls.phase_approve(orchestration_id=orchestration.id, actor=who, comment="ship it")
            outcomes.append("approved")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(who,)) for who in ("carol", "dave")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["approved", "conflict"]
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")
    assert done.status == SUCCEEDED, done.error_message
    assert done.phases.filter(phase="CODE").count() == 1 and len(calls(home, "CODE")) == 1
    assert Event.objects.filter(orchestration=done, type="APPROVED").count() == 1
    approval = Approval.objects.get(orchestration=done)
    assert approval.decision == "APPROVED" and approval.decided_by in ("carol", "dave")
    assert_history_rebuilds_state(done)


def test_reject_ends_the_orchestration_without_running_code(issues, root):
    issue = issues[6]
    home = script_behaviour(root, issue)
    orchestration = controls.orchestration_start(issue_key=issue.key).orchestration
    wait_status(orchestration.id, "AWAITING_APPROVAL")

    rejected = controls.phase_reject(
        orchestration_id=orchestration.id, actor="erin", comment="wrong approach"
    ).orchestration

    assert rejected.status == "CANCELLED" and rejected.error_code == "REJECTED"
    assert "wrong approach" in rejected.error_message
    approval = Approval.objects.get(orchestration=rejected)
    assert (approval.decision, approval.comment, approval.decided_by) == (
        "REJECTED",
        "wrong approach",
        "erin",
    )
    with pytest.raises(Conflict):
        controls.phase_approve(orchestration_id=orchestration.id, actor="frank")
    assert not rejected.phases.filter(phase="CODE").exists() and calls(home) == []
    assert_history_rebuilds_state(rejected)


def test_cancel_during_fix_is_seen_at_the_next_checkpoint(issues, root):
    issue = issues[7]
    home = script_behaviour(root, issue, TEST={"fail_times": 1}, FIX={"sleep": 60})
    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    wait_until(lambda: calls(home, "FIX"), timeout=60, message="FIX to start")

    requested = controls.orchestration_cancel(orchestration_id=orchestration.id, actor="gina").orchestration
    assert requested.status == "RUNNING" and requested.cancel_requested  # a phase is running: checkpoint
    done = wait_status(orchestration.id, "CANCELLED", SUCCEEDED, "FAILED", timeout=20)

    assert done.status == "CANCELLED"
    fix = done.phases.get(phase="FIX")
    assert fix.state == "CANCELLED"
    assert AgentExecution.objects.get(phase_execution=fix).error_code == "CANCELLED"
    assert not done.phases.filter(phase="DOCUMENT").exists()
    pid = int(calls(home, "FIX")[0].split()[-1])
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert_history_rebuilds_state(done)


def test_duplicate_test_message_is_a_noop(issues, root, worker):
    issue = issues[8]
    home = script_behaviour(root, issue, TEST={"sleep": 2})
    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    wait_until(lambda: calls(home, "TEST"), message="TEST to start")
    step = Orchestration.objects.get(id=orchestration.id).step

    current_app.send_task(
        orchestration_task_names.ADVANCE, args=[orchestration.id, step], queue="orchestration"
    )
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")
    current_app.send_task(
        orchestration_task_names.ADVANCE, args=[orchestration.id, step], queue="orchestration"
    )
    wait_until(lambda: worker.log().count(f"orchestration {orchestration.id} step {step}: duplicate") >= 2)

    assert done.status == SUCCEEDED
    test = done.phases.get(phase="TEST")
    assert test.attempt == 1 and AgentExecution.objects.filter(phase_execution=test).count() == 1
    assert len(calls(home, "TEST")) == 1
    assert_history_rebuilds_state(done)


def test_pause_holds_the_next_phase_until_resume(issues, root):
    issue = issues[9]
    home = script_behaviour(root, issue, CODE={"sleep": 3})
    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    wait_until(lambda: calls(home, "CODE"), message="CODE to start")

    controls.orchestration_pause(orchestration_id=orchestration.id, actor="hal")
    paused = wait_status(orchestration.id, "PAUSED")
    assert paused.phases.get(phase="CODE").state == SUCCEEDED
    assert paused.phases.get(phase="TEST").state == "PENDING"
    assert calls(home, "TEST") == []

    controls.orchestration_resume(orchestration_id=orchestration.id, actor="hal")
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")
    assert done.status == SUCCEEDED
    assert_history_rebuilds_state(done)


def test_orchestrate_command_follows_the_phases_live(issues, root, capsys):
    issue = issues[10]
    script_behaviour(root, issue)

    call_command("orchestrate", issue.key, "--auto-proceed", "--wait", "--timeout", "60")

    out = capsys.readouterr().out
    for line in ("EXPLORE #1 started", "CODE #1 succeeded", "TEST #1 succeeded", "DOCUMENT #1 succeeded"):
        assert line in out
    assert out.rstrip().endswith("SUCCEEDED")


def test_a_failing_code_command_fails_the_phase_without_retrying(issues, root):
    issue = issues[11]
    home = script_behaviour(root, issue, CODE={"exit": 3})

    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED")

    assert (done.status, done.error_code) == ("FAILED", "PHASE_FAILED")
    code = done.phases.get(phase="CODE")
    assert (code.state, code.attempt, code.output["exit_code"]) == ("FAILED", 1, 3)
    assert len(calls(home, "CODE")) == 1 and calls(home, "TEST") == []
    assert_history_rebuilds_state(done)


def test_a_phase_over_its_timeout_is_stopped_and_retried(issues, root):
    issue = issues[12]
    home = script_behaviour(root, issue, TEST={"fail_times": 1}, FIX={"sleep_first": 60})

    orchestration = controls.orchestration_start(issue_key=issue.key, auto_proceed=True).orchestration
    done = wait_status(orchestration.id, SUCCEEDED, "FAILED", "CANCELLED", timeout=90)

    assert done.status == SUCCEEDED, done.error_message
    fix = done.phases.get(phase="FIX")
    assert fix.attempt == 2
    outcomes = list(AgentExecution.objects.filter(phase_execution=fix).values_list("status", "error_code"))
    assert outcomes == [("ERROR", "PHASE_TIMEOUT"), (SUCCEEDED, "")]
    first_pid = int(calls(home, "FIX")[0].split()[-1])
    assert (
        not Path(f"/proc/{first_pid}").exists() or "zombie" in Path(f"/proc/{first_pid}/status").read_text()
    )
    assert_history_rebuilds_state(done)
