"""The sync controls service: what each control changes, and what it refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.management import CommandError, call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.errors import InvalidInput
from fakejira import Fault
from sync import task_names as sync_task_names
from sync.models import Issue, JiraUser, ProjectTrackedUser, SyncJob, SyncLog, SyncRun
from sync.permissions import can_operate_sync
from sync.services import controls, runs, schedules
from tests.fixtures.sync import register

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def job_of(project) -> SyncJob:
    return SyncJob.objects.select_related("periodic_task__crontab").get(project=project)


def entry_of(project) -> PeriodicTask:
    task = job_of(project).periodic_task
    assert task is not None and task.crontab is not None
    return task


def test_pause_disables_the_beat_entry_and_records_who_and_why(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])

    paused = controls.sync_pause(project=alpha, note="Jira migration tonight", actor="ops@example.com")

    assert paused.action == "pause" and paused.job.status == "PAUSED" and paused.run is None
    job = job_of(alpha)
    assert job.status == "PAUSED" and job.paused_note == "Jira migration tonight"
    assert job.paused_by == "ops@example.com" and job.paused_at is not None
    assert entry_of(alpha).enabled is False and job.next_run_at is None
    assert SyncLog.objects.filter(project=alpha, message__contains="paused by ops@example.com").exists()


def test_resume_reenables_the_entry_without_a_run_and_anchors_it_now(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    controls.sync_pause(project=alpha, actor="ops")
    before = entry_of(alpha).start_time
    assert before is not None

    controls.sync_resume(project=alpha, actor="ops")

    job = job_of(alpha)
    assert job.status == "ACTIVE" and job.paused_by == "" and job.paused_at is None
    assert entry_of(alpha).enabled is True
    assert entry_of(alpha).start_time > before  # beat fires no slot that passed while paused
    assert job.next_run_at == schedules.cron_next_fire(expression=job.cron, after=entry_of(alpha).start_time)
    assert not SyncRun.objects.filter(project=alpha).exists()


def test_reschedule_updates_the_projects_own_crontab_in_place(fake_jira):
    alpha, beta = register(fake_jira, ["ALPHA", "BETA"])
    crontab_id = entry_of(alpha).crontab_id
    task_id = job_of(alpha).periodic_task_id

    controls.sync_reschedule(project=alpha, cron="5 */2 * * MON-fri", actor="ops")

    job = job_of(alpha)
    assert job.cron == "5 */2 * * mon-fri"
    assert (job.periodic_task_id, entry_of(alpha).crontab_id) == (task_id, crontab_id)
    crontab = CrontabSchedule.objects.get(id=crontab_id)
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("5", "*/2", "mon-fri")
    assert entry_of(beta).crontab.minute == "*/15"  # the other project's clock is untouched
    assert PeriodicTask.objects.filter(task=sync_task_names.SCHEDULED_TICK).count() == 2


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("61 * * * *", "minute field '61' is out of range 0-59"),
        ("0 24 * * *", "hour field '24' is out of range 0-23"),
        ("* * * *", "a cron expression has 5 fields"),
        ("*/0 * * * *", "minute field '*/0' has a zero step"),
    ],
)
def test_reschedule_refuses_an_invalid_cron_naming_the_field_and_changes_nothing(fake_jira, cron, message):
    (alpha,) = register(fake_jira, ["ALPHA"])
    before = job_of(alpha)
    before_entry = entry_of(alpha)

    with pytest.raises(InvalidInput) as refused:
        controls.sync_reschedule(project=alpha, cron=cron)

    assert message in refused.value.message and refused.value.field == "cron"
    after = job_of(alpha)
    assert after.cron == before.cron and entry_of(alpha).crontab.minute == "*/15"
    assert entry_of(alpha).start_time == before_entry.start_time


def test_start_resumes_the_schedule_and_requests_a_run(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    controls.sync_pause(project=alpha)

    request = controls.sync_start(project=alpha, full=True, actor="ops")

    assert request.run is not None
    assert request.run_created and request.run.full and request.run.status == "QUEUED"
    assert job_of(alpha).status == "ACTIVE" and entry_of(alpha).enabled


def test_trigger_works_while_paused_and_coalesces_with_the_active_run(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    controls.sync_pause(project=alpha)

    first = controls.sync_trigger(project=alpha)
    second = controls.sync_trigger(project=alpha, full=True)

    assert first.run is not None and second.run is not None
    assert first.run_created and not second.run_created and second.run.id == first.run.id
    assert SyncRun.objects.get(id=first.run.id).coalesced == 1
    assert job_of(alpha).status == "PAUSED"


def test_a_control_on_a_site_with_broken_credentials_is_refused_and_changes_nothing(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    controls.sync_pause(project=alpha, note="before the token expired")
    fake_jira.add_fault(Fault(kind="expired_token", times=None))

    for control in (controls.sync_start, controls.sync_resume, controls.sync_trigger):
        with pytest.raises(controls.SiteUnavailable) as refused:
            control(project=alpha)
        assert refused.value.code == "TOKEN_EXPIRED" and refused.value.field == "site"
        assert "fake" in refused.value.message and refused.value.advice
    with pytest.raises(controls.SiteUnavailable):
        controls.tracked_users_add(project=alpha, account_ids=["acc-new"])

    job = job_of(alpha)
    assert job.status == "PAUSED" and job.paused_note == "before the token expired"
    assert not SyncRun.objects.filter(project=alpha).exists()
    assert not ProjectTrackedUser.objects.filter(project=alpha).exists()
    # Controls that need no Jira still work, so an operator can steer a broken project.
    controls.sync_reschedule(project=alpha, cron="0 3 * * *")
    assert job_of(alpha).cron == "0 3 * * *"


def test_the_sync_project_command_is_refused_on_a_broken_site_like_every_face(fake_jira):
    register(fake_jira, ["ALPHA"])
    fake_jira.add_fault(Fault(kind="expired_token", times=None))

    with pytest.raises(CommandError, match="TOKEN_EXPIRED"):
        call_command("sync_project", "ALPHA")
    assert not SyncRun.objects.exists()


def test_effective_cron_overrides_the_beat_entry_and_none_restores_the_operators(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])

    controls.effective_cron_set(project=alpha, cron="0 * * * *", reason="RATE_LIMIT three times")
    job = job_of(alpha)
    assert job.cron == "*/15 * * * *" and job.effective_cron == "0 * * * *"
    assert (entry_of(alpha).crontab.minute, entry_of(alpha).crontab.hour) == ("0", "*")

    controls.effective_cron_set(project=alpha, cron=None, reason="recovered")
    job = job_of(alpha)
    assert job.effective_cron == "" and entry_of(alpha).crontab.minute == "*/15"


def test_tracked_users_add_requests_a_backfill_limited_to_the_new_accounts(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"], track=["acc-old"])

    request = controls.tracked_users_add(project=alpha, account_ids=["acc-new", "acc-old", " acc-new "])

    assert request.run is not None and request.run_created and request.added == ("acc-new",)
    run = request.run
    assert run.full and run.account_ids == ["acc-new"] and run.trigger == "backfill"
    assert set(
        ProjectTrackedUser.objects.filter(project=alpha, is_tracked=True).values_list(
            "user__account_id", flat=True
        )
    ) == {"acc-old", "acc-new"}
    # Nothing new to track: no run.
    runs.fail(run, None, code="TEST", message="closed by the test", details={})
    again = controls.tracked_users_add(project=alpha, account_ids=["acc-old"])
    assert again.run is None and again.run_created is None and again.added == ()


def test_tracked_users_set_untracks_the_others_then_backfills_only_the_new(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"], track=["acc-old", "acc-gone"])

    result = controls.tracked_users_set(project=alpha, account_ids=["acc-old", "acc-new"], actor="ops")

    assert result.action == "set_tracked" and result.project_key == "ALPHA"
    assert result.removed == 1 and result.added == ("acc-new",)
    assert result.run is not None and result.run_created and result.run.account_ids == ["acc-new"]
    tracked = ProjectTrackedUser.objects.filter(project=alpha, is_tracked=True)
    assert set(tracked.values_list("user__account_id", flat=True)) == {"acc-old", "acc-new"}
    unchanged = controls.tracked_users_set(project=alpha, account_ids=["acc-new", "acc-old"])
    assert (unchanged.removed, unchanged.added, unchanged.run) == (0, (), None)


def test_tracked_users_add_is_refused_while_a_run_is_open(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    controls.sync_trigger(project=alpha)

    with pytest.raises(controls.Busy):
        controls.tracked_users_add(project=alpha, account_ids=["acc-new"])
    assert not ProjectTrackedUser.objects.filter(project=alpha).exists()


def test_tracked_users_remove_keeps_rows_unless_purged_and_spares_issues_still_in_scope(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"], track=["acc-a", "acc-b"])
    a = JiraUser.objects.get(account_id="acc-a")
    b = JiraUser.objects.get(account_id="acc-b")
    times = {"created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}
    only_a = Issue.objects.create(
        site=alpha.site, project=alpha, jira_id=1, key="ALPHA-1", assignee=a, **times
    )
    shared = Issue.objects.create(
        site=alpha.site, project=alpha, jira_id=2, key="ALPHA-2", assignee=a, reporter=b, **times
    )

    assert controls.tracked_users_remove(project=alpha, account_ids=["acc-a"]).removed == 1
    assert Issue.objects.filter(project=alpha).count() == 2
    assert not ProjectTrackedUser.objects.get(project=alpha, user=a).is_tracked

    controls.tracked_users_remove(project=alpha, account_ids=["acc-a"], purge=True)
    assert set(Issue.objects.filter(project=alpha).values_list("id", flat=True)) == {shared.id}
    assert not Issue.objects.filter(id=only_a.id).exists()


def test_only_staff_and_sync_operators_may_operate_syncs():
    plain = User.objects.create_user("plain", password="x")
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    operator = User.objects.create_user("operator", password="x")
    operator.groups.add(Group.objects.get(name="Sync operators"))
    inactive = User.objects.create_user("gone", password="x", is_staff=True, is_active=False)

    assert can_operate_sync(staff) and can_operate_sync(User.objects.get(id=operator.id))
    assert not can_operate_sync(plain) and not can_operate_sync(inactive)
    assert not can_operate_sync(AnonymousUser()) and not can_operate_sync(None)


def test_a_tick_is_admitted_once_per_slot_skipped_on_overlap_and_dropped_when_stale(fake_jira):
    (alpha,) = register(fake_jira, ["ALPHA"])
    controls.sync_reschedule(project=alpha, cron="* * * * *")
    anchor = entry_of(alpha).start_time
    assert anchor is not None
    slot = schedules.cron_next_fire(expression="* * * * *", after=anchor)

    assert (
        schedules.tick_admit(project_id=alpha.id, nominal=slot - timedelta(minutes=1)) is None
    )  # before the change
    assert (
        schedules.tick_admit(project_id=alpha.id, nominal=slot + timedelta(seconds=30)) is None
    )  # not a slot
    run = schedules.tick_admit(project_id=alpha.id, nominal=slot)
    assert run is not None and run.trigger == "schedule" and run.status == "QUEUED"
    assert schedules.tick_admit(project_id=alpha.id, nominal=slot) is None  # a second beat's copy
    skipped = schedules.tick_admit(project_id=alpha.id, nominal=slot + timedelta(minutes=1))
    assert skipped is not None and (skipped.status, skipped.error_code) == ("CANCELLED", "SKIPPED_OVERLAP")
    assert schedules.tick_admit(project_id=alpha.id, nominal=slot + timedelta(minutes=1)) is None
    assert SyncRun.objects.filter(project=alpha).count() == 2

    controls.sync_pause(project=alpha)
    assert schedules.tick_admit(project_id=alpha.id, nominal=slot + timedelta(minutes=2)) is None
