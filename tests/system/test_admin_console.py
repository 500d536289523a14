"""The admin cannot be used to corrupt the trail: every trail model refuses add, change and delete (to a
superuser too) while its operator actions keep working; beat's tables are not in the admin at all."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from notifications.models import Notification
from orchestration.services import controls
from sync.models import IssueChange, SyncJob, SyncLog, SyncRun, SyncState, WebhookEvent
from telemetry.models import BackoffState
from tests.fixtures.orchestration import stored_issue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def trail() -> dict[str, Any]:
    """One row of every trail model, written straight to the tables as the services would."""
    issue = stored_issue()
    project, site = issue.project, issue.site
    run = SyncRun.objects.create(project=project, status="FAILED", error_code="NETWORK_GLITCH")
    now = timezone.now()
    return {
        "sync/syncrun": run,
        "sync/synclog": SyncLog.objects.create(project=project, run=run, message="failed"),
        "sync/syncstate": SyncState.objects.create(project=project, entity="issue"),
        "sync/issuechange": IssueChange.objects.create(
            site=site, issue=issue, history_id=1, item_index=0, created=now, field="status"
        ),
        "sync/webhookevent": WebhookEvent.objects.create(
            site=site, identifier="w-1", event="jira:issue_updated"
        ),
        "sync/syncjob": SyncJob.objects.create(project=project),
        "orchestration/orchestration": controls.orchestration_start(
            issue_key=issue.key, actor="alice"
        ).orchestration,
        "notifications/notification": Notification.objects.create(
            channel="email", recipient="ops@example.com", subject="s", idempotency_key="k-1", status="FAILED"
        ),
        "telemetry/backoffstate": BackoffState.objects.create(
            project=project, level=2, category="NETWORK_GLITCH"
        ),
    }


def test_every_trail_model_refuses_add_change_and_delete_but_can_be_read(admin_client, trail):
    for name, row in trail.items():
        base = f"/admin/{name}/"
        pk = row.pk
        listing = admin_client.get(base)
        assert listing.status_code == 200, name
        page = listing.content.decode()
        assert f'href="{base}add/"' not in page and "delete_selected" not in page, name
        assert admin_client.get(f"{base}add/").status_code == 403, name

        detail = admin_client.get(f"{base}{pk}/change/")
        assert detail.status_code == 200, name  # read, as a view
        assert 'name="_save"' not in detail.content.decode(), name
        assert admin_client.post(f"{base}{pk}/change/", {}).status_code == 403, name
        assert admin_client.get(f"{base}{pk}/delete/").status_code == 403, name
        assert admin_client.post(f"{base}{pk}/delete/", {"post": "yes"}).status_code == 403, name
        assert type(row).objects.filter(pk=pk).exists(), name
        assert admin_client.post(
            base, {"action": "delete_selected", "_selected_action": [pk]}
        ).status_code in (
            200,
            302,
        )
        assert type(row).objects.filter(pk=pk).exists(), name


def test_orchestration_events_have_no_admin_of_their_own(admin_client, trail):
    assert admin_client.get("/admin/orchestration/event/").status_code == 404


def test_operator_actions_on_read_only_models_still_work(admin_client, trail):
    job = trail["sync/syncjob"]
    admin_client.post("/admin/sync/syncjob/", {"action": "pause", "_selected_action": [job.pk]})
    assert SyncJob.objects.get(pk=job.pk).status == "PAUSED"

    notification = trail["notifications/notification"]
    response = admin_client.post(
        "/admin/notifications/notification/",
        {"action": "retry", "_selected_action": [notification.pk]},
        follow=True,
    )
    assert "queued again" in response.content.decode()

    orchestration = trail["orchestration/orchestration"]
    admin_client.post(
        "/admin/orchestration/orchestration/",
        {"action": "cancel", "_selected_action": [orchestration.pk]},
    )
    assert type(orchestration).objects.get(pk=orchestration.pk).status == "CANCELLED"


def test_retry_needs_the_change_permission_it_always_needed(client, trail):
    notification = trail["notifications/notification"]
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(viewer)
    assert '"retry"' not in client.get("/admin/notifications/notification/").content.decode()

    viewer.user_permissions.add(Permission.objects.get(codename="change_notification"))
    assert 'value="retry"' in client.get("/admin/notifications/notification/").content.decode()
    assert client.get(f"/admin/notifications/notification/{notification.pk}/change/").status_code == 200


@pytest.mark.parametrize(
    "model", ["periodictask", "crontabschedule", "intervalschedule", "clockedschedule", "solarschedule"]
)
def test_beats_tables_are_not_in_the_admin(admin_client, model):
    assert admin_client.get(f"/admin/django_celery_beat/{model}/").status_code == 404
    assert "django_celery_beat" not in admin_client.get("/admin/").content.decode()
