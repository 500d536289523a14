"""The operators' admin: every control goes through the service; errors are the service's."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django_celery_beat.models import PeriodicTask

from fakejira import Fault
from sync import task_names as sync_task_names
from sync.models import ProjectTrackedUser, SyncJob, SyncRun
from telemetry.models import BackoffState
from tests.fixtures.sync import register

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alpha(fake_jira):
    (project,) = register(fake_jira, ["ALPHA"])
    return project


def job_id(project) -> int:
    return SyncJob.objects.get(project=project).id


def test_the_job_list_shows_site_status_cron_in_words_next_run_and_last_result(admin_client, alpha):
    SyncRun.objects.create(
        project=alpha, status="SUCCEEDED", counts={"issues_upserted": 7, "comments_upserted": 3}
    )

    page = admin_client.get("/admin/sync/syncjob/").content.decode()

    assert "ALPHA" in page and "fake" in page and "ACTIVE" in page
    assert "*/15 * * * *" in page and "Every 15 minutes" in page
    assert "SUCCEEDED" in page and ">10<" in page  # records synced by the last run
    assert "Reschedule" in page


def test_actions_pause_resume_and_trigger_go_through_the_service(admin_client, alpha):
    url = "/admin/sync/syncjob/"
    admin_client.post(url, {"action": "pause", "_selected_action": [job_id(alpha)]})
    job = SyncJob.objects.get(project=alpha)
    assert job.status == "PAUSED" and job.paused_by == "admin"

    response = admin_client.post(url, {"action": "trigger", "_selected_action": [job_id(alpha)]}, follow=True)
    run = SyncRun.objects.get(project=alpha)
    assert run.trigger == "admin" and f"started run {run.id}" in response.content.decode()

    admin_client.post(url, {"action": "resume", "_selected_action": [job_id(alpha)]})
    assert SyncJob.objects.get(project=alpha).status == "ACTIVE"


def test_reschedule_refuses_an_invalid_cron_naming_the_field_then_previews_and_saves_a_valid_one(
    admin_client, alpha
):
    url = f"/admin/sync/syncjob/{job_id(alpha)}/reschedule/"

    refused = admin_client.post(url, {"cron": "61 * * * *", "save": "Save"})
    assert refused.status_code == 200
    assert "minute field &#x27;61&#x27; is out of range 0-59" in refused.content.decode()
    assert SyncJob.objects.get(project=alpha).cron == "*/15 * * * *"

    preview = admin_client.post(url, {"cron": "30 2 * * *", "preview": "Preview"}).content.decode()
    assert preview.count(":30:00") == 5 and SyncJob.objects.get(project=alpha).cron == "*/15 * * * *"

    saved = admin_client.post(url, {"cron": "30 2 * * *", "save": "Save"})
    assert saved.status_code == 302
    assert SyncJob.objects.get(project=alpha).cron == "30 2 * * *"


def test_the_project_page_shows_states_runs_with_logs_and_picks_tracked_users_live(
    admin_client, alpha, fake_jira
):
    page = admin_client.get(f"/admin/sync/project/{alpha.id}/change/").content.decode()
    assert "Sync state per entity" in page and "<td>issue</td>" in page and "Choose tracked users" in page

    fake_jira.reset_counters()
    picker = admin_client.get(f"/admin/sync/project/{alpha.id}/tracked-users/").content.decode()
    assert 'name="accounts"' in picker and picker.count('type="checkbox" name="accounts"') >= 2
    assert fake_jira.request_count("/rest/api/3/user/assignable/search") >= 1  # fetched live
    account_id = picker.split('name="accounts" value="')[1].split('"')[0]

    response = admin_client.post(f"/admin/sync/project/{alpha.id}/tracked-users/", {"accounts": [account_id]})
    assert response.status_code == 302
    assert list(
        ProjectTrackedUser.objects.filter(project=alpha, is_tracked=True).values_list(
            "user__account_id", flat=True
        )
    ) == [account_id]
    backfill = SyncRun.objects.get(project=alpha, trigger="backfill")
    assert backfill.account_ids == [account_id] and backfill.full


def test_test_connection_shows_the_classified_result(admin_client, alpha, fake_jira):
    url = "/admin/sync/jirasite/"
    ok = admin_client.post(
        url, {"action": "test_connection", "_selected_action": [alpha.site_id]}, follow=True
    )
    assert "fake: connected as api user (time zone utc" in ok.content.decode().lower()

    fake_jira.add_fault(Fault(kind="expired_token", times=None))
    broken = admin_client.post(
        url, {"action": "test_connection", "_selected_action": [alpha.site_id]}, follow=True
    )
    assert "fake: token_expired:" in broken.content.decode().lower()


def test_beats_own_tables_are_not_in_the_admin_for_anyone(client, admin_client, alpha):
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="django_celery_beat"))
    client.force_login(staff)
    task_id = PeriodicTask.objects.get(task=sync_task_names.SCHEDULED_TICK).id

    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 404
    assert client.get(f"/admin/django_celery_beat/periodictask/{task_id}/change/").status_code == 404
    assert admin_client.get("/admin/django_celery_beat/periodictask/").status_code == 404
    page = admin_client.get("/admin/sync/syncjob/").content.decode()
    assert "Schedules change only through these controls" in page


def test_the_admin_index_opens_on_the_operators_overview(client, admin_client, alpha):
    SyncRun.objects.create(project=alpha, status="FAILED", error_code="NETWORK_GLITCH")
    BackoffState.objects.create(project=alpha, level=2, category="NETWORK_GLITCH")

    page = admin_client.get("/admin/").content.decode()
    row = page.split('data-project="ALPHA"')[1].split("</tr>")[0]
    assert "ACTIVE" in row and "*/15 * * * *" in row and "fake" in row
    assert "FAILED" in row and "level 2" in row and "NETWORK_GLITCH" in row
    assert 'value="pause"' in row and 'value="trigger"' in row
    assert 'name="csrfmiddlewaretoken" value=""' not in row and 'name="csrfmiddlewaretoken"' in row
    assert f"/admin/sync/syncjob/{job_id(alpha)}/reschedule/" in row

    # The overview's buttons post the SyncJob changelist actions.
    admin_client.post("/admin/sync/syncjob/", {"action": "pause", "_selected_action": [job_id(alpha)]})
    row = admin_client.get("/admin/").content.decode().split('data-project="ALPHA"')[1].split("</tr>")[0]
    assert "PAUSED" in row and 'value="resume"' in row and 'value="pause"' not in row

    # Staff may operate syncs, so a plain staff account gets the overview and its buttons too.
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert 'value="trigger"' in client.get("/admin/").content.decode().split('data-project="ALPHA"')[1]
