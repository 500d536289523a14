"""Pure rules of the workflow: phase order, the FIX loop, back-off, history replay, JUnit parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestration.agents.command import junit_summary
from orchestration.history import replay
from orchestration.policy import PhasePolicy, next_after


@pytest.mark.parametrize(
    ("phase", "success", "fixes", "expected"),
    [
        ("EXPLORE", True, 0, "PLAN"),
        ("PLAN", True, 0, "CODE"),
        ("CODE", True, 0, "TEST"),
        ("TEST", True, 0, "DOCUMENT"),
        ("TEST", False, 0, "FIX"),
        ("TEST", False, 2, "FIX"),
        ("FIX", True, 1, "TEST"),
    ],
)
def test_each_phase_leads_to_the_next(phase, success, fixes, expected):
    assert next_after(phase, success=success, fix_attempts=fixes, max_fix_attempts=3).phase == expected


def test_a_failed_test_after_the_last_fix_fails_the_run():
    following = next_after("TEST", success=False, fix_attempts=3, max_fix_attempts=3)
    assert following.phase is None and following.error_code == "FIX_ATTEMPTS_EXHAUSTED"


def test_a_failed_phase_other_than_test_fails_the_run_and_document_ends_it():
    assert next_after("CODE", success=False, fix_attempts=0, max_fix_attempts=3).error_code == "PHASE_FAILED"
    assert next_after("DOCUMENT", success=True, fix_attempts=0, max_fix_attempts=3).done


def test_backoff_grows_by_the_coefficient_and_stops_at_the_maximum():
    policy = PhasePolicy(initial_interval=1.0, backoff_coefficient=3.0, max_interval=20.0)
    assert [policy.delay_after(n) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=1),
        timedelta(seconds=3),
        timedelta(seconds=9),
        timedelta(seconds=20),
    ]


def test_replay_follows_a_fix_loop_an_approval_and_a_retry():
    def event(kind, **payload):
        return {"type": kind, "payload": payload}

    events = [
        event("CREATED"),
        event("PHASE_SCHEDULED", key="k:PLAN:1", phase="PLAN", iteration=1, fix_attempts=0),
        event("PHASE_STARTED", key="k:PLAN:1", attempt=1),
        event("AGENT_FINISHED", key="k:PLAN:1", agent="planner", attempt=1, status="SUCCEEDED"),
        event("PHASE_SUCCEEDED", key="k:PLAN:1"),
        event("APPROVAL_REQUESTED", phase="PLAN"),
        event("APPROVED", phase="PLAN"),
        event("PHASE_SCHEDULED", key="k:FIX:1", phase="FIX", iteration=1, fix_attempts=1),
        event("PHASE_STARTED", key="k:FIX:1", attempt=1),
        event("PHASE_RETRY_SCHEDULED", key="k:FIX:1"),
        event("PHASE_STARTED", key="k:FIX:1", attempt=2),
        event("PHASE_FAILED", key="k:FIX:1", error_code="X"),
        event("FAILED", error_code="X"),
        event("RETRY_REQUESTED", phase="FIX"),
        event("PHASE_SCHEDULED", key="k:FIX:2", phase="FIX", iteration=2, fix_attempts=1),
    ]
    state = replay(events)
    assert state["status"] == "RUNNING" and state["error_code"] == "" and state["current_phase"] == "FIX"
    assert state["approvals"] == [{"phase": "PLAN", "decision": "APPROVED"}]
    assert state["phases"]["k:FIX:1"]["state"] == "FAILED" and state["phases"]["k:FIX:1"]["attempt"] == 2
    assert state["phases"]["k:FIX:2"]["state"] == "PENDING"
    assert state["phases"]["k:PLAN:1"]["agents"] == [("planner", 1, "SUCCEEDED")]


def test_junit_reports_count_failures_and_errors(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuite tests="3" skipped="1"><testcase classname="a" name="ok"/>'
        '<testcase classname="a" name="bad"><failure/></testcase>'
        '<testcase classname="b" name="boom"><error/></testcase></testsuite>'
    )
    assert junit_summary(report) == {
        "tests": 3,
        "failed": 2,
        "skipped": 1,
        "failed_tests": ["a.bad", "b.boom"],
    }
