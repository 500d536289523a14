"""The sync trail in the admin, read-only: runs, logs, per-entity state, the mirrored issue history and
the webhook deliveries we accepted are what the sync wrote; an edited row would misreport what happened.

Beat's own tables (django-celery-beat's periodic tasks and schedules) are not in the admin at all: the
sync schedule service owns them, and a task edited there would drift from its SyncJob. Schedules change
through the controls only (the SyncJob actions and the reschedule page, GraphQL, REST, manage.py).
"""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_celery_beat import admin as beat_admin  # registers beat's admins first, whatever the app order
from django_celery_beat import models as beat

from core.interfaces.admin import ReadOnlyAdmin
from core.interfaces.fields import model_fields
from sync import fieldmaps
from sync.admin.console import cancel_run, operate
from sync.models import IssueChange, SyncLog, SyncRun, SyncState, WebhookEvent
from sync.permissions import can_operate_sync


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    list_display = ["project", "entity", "status", "last_sync_time", "last_error_code"]
    list_filter = ["entity", "status"]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "project",
        "trigger",
        "full",
        "status",
        "step",
        "nominal_time",
        "issues_done",
        "request_total",
        "duration_ms",
        "error_code",
        "created_at",
    ]
    list_filter = ["status", "trigger", "error_code"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]
    actions = ["cancel"]

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return can_operate_sync(request.user)

    @admin.action(description="Cancel the running sync", permissions=["operate"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[SyncRun]) -> None:
        for run in queryset.select_related("project__site"):
            operate(request, partial(cancel_run, request, run=run), prefix=f"Run {run.id}: ")


@admin.register(SyncLog)
class SyncLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "project", "run", "level", "message"]
    list_filter = ["level"]
    list_select_related = ["project"]
    readonly_fields = ["project", *(name for name in model_fields(fieldmaps.SYNC_LOG) if name != "id")]


@admin.register(IssueChange)
class IssueChangeAdmin(ReadOnlyAdmin):
    list_display = ["created", "issue", "field", "from_string", "to_string", "author"]
    list_filter = ["field"]
    list_select_related = ["issue", "author"]
    search_fields = ["issue__key", "field"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "site", "event", "identifier", "issue_jira_id", "sprint_jira_id"]
    list_filter = ["event", "site"]
    list_select_related = ["site"]
    search_fields = ["identifier"]


for _model in (
    beat.PeriodicTask,
    beat.CrontabSchedule,
    beat.IntervalSchedule,
    beat.ClockedSchedule,
    beat.SolarSchedule,
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
del beat_admin
