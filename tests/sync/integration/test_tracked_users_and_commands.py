"""Tracked-user backfill on a real worker, and the schedule commands rendering the service's errors."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from fakejira import FakeDataConfig
from sync.models import Issue, ProjectTrackedUser, SyncJob
from sync.services import controls
from tests.fixtures.processes import ROOT, process_env
from tests.fixtures.sync import register, sync_and_wait, wait_for_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def involved(issues, accounts) -> set[str]:
    """The issues in scope for ``accounts``: assignee, reporter or the author of any worklog."""
    return {
        i["id"]
        for i in issues
        if i["assignee"] in accounts
        or i["reporter"] in accounts
        or any(w["author"] in accounts for w in i["worklogs"])
    }


def test_adding_a_tracked_user_backfills_only_that_account_and_their_issues_appear(
    fake_jira_factory, celery_worker
):
    fake = fake_jira_factory(
        FakeDataConfig(seed=9, projects={"ALPHA": 60}, users=6, worklog_feed_lag_seconds=0)
    )
    issues = fake.data.export("ALPHA")
    busiest = [a for a, _ in Counter(i["assignee"] for i in issues if i["assignee"]).most_common(2)]
    first, second = busiest
    (alpha,) = register(fake, ["ALPHA"], track=[first])
    assert sync_and_wait(alpha, full=True).status == "SUCCEEDED"
    only_first = {str(i) for i in Issue.live.filter(project=alpha).values_list("jira_id", flat=True)}
    assert only_first == involved(issues, {first})
    new_for_second = involved(issues, {second}) - only_first
    assert new_for_second

    request = controls.tracked_users_add(project=alpha, account_ids=[second], actor="tester")

    assert request.run is not None
    run = wait_for_run(request.run.id, 60)
    assert run.status == "SUCCEEDED" and run.full and run.account_ids == [second]
    assert run.counts["issues_upserted"] == len(involved(issues, {second}))  # that account's history only
    stored = {str(i) for i in Issue.live.filter(project=alpha).values_list("jira_id", flat=True)}
    assert stored == involved(issues, {first, second})


def test_sync_schedule_command_steers_through_the_service_and_renders_its_errors(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])

    call_command("sync_schedule", "ALPHA", "--pause", "--note", "maintenance", "--actor", "ops")
    job = SyncJob.objects.get(project=alpha)
    assert (job.status, job.paused_note, job.paused_by) == ("PAUSED", "maintenance", "ops")
    call_command("sync_schedule", "alpha", "--cron", "0 */6 * * *")
    assert SyncJob.objects.get(project=alpha).cron == "0 */6 * * *"
    with pytest.raises(CommandError, match="minute field '61' is out of range 0-59"):
        call_command("sync_schedule", "ALPHA", "--cron", "61 * * * *")
    assert SyncJob.objects.get(project=alpha).cron == "0 */6 * * *"
    call_command("sync_schedule", "ALPHA", "--resume")
    assert SyncJob.objects.get(project=alpha).status == "ACTIVE"


def test_jira_project_track_and_untrack_commands_use_the_service(fake_jira):
    register(fake_jira, ["ALPHA"])

    call_command("jira_project", "track", "ALPHA", "acc-1", "acc-2")
    assert set(
        ProjectTrackedUser.objects.filter(is_tracked=True).values_list("user__account_id", flat=True)
    ) == {
        "acc-1",
        "acc-2",
    }
    with pytest.raises(CommandError, match="RUN_IN_PROGRESS"):  # the backfill above is still queued
        call_command("jira_project", "track", "ALPHA", "acc-3")
    call_command("jira_project", "untrack", "ALPHA", "acc-1")
    assert list(
        ProjectTrackedUser.objects.filter(is_tracked=True).values_list("user__account_id", flat=True)
    ) == ["acc-2"]


def test_bad_input_to_the_commands_exits_1_with_the_services_message():
    result = subprocess.run(
        [sys.executable, "manage.py", "sync_schedule", "NOPE", "--pause"],
        cwd=ROOT,
        env=process_env(DJANGO_SETTINGS_MODULE="tests.settings"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "NOT_FOUND: No registered project 'NOPE'" in result.stderr
