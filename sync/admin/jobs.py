"""Sync jobs in the admin: their schedule, the run controls, and the reschedule page."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.errors import ServiceError
from core.interfaces.fields import serializer_fields
from sync import fieldmaps, selectors
from sync.admin.console import actor, cancel_run, cron_html, operate
from sync.models import Project, SyncJob, SyncRun
from sync.permissions import can_operate_sync
from sync.services import controls, schedules


def _records(counts: dict[str, int] | None) -> int:
    return sum(v for k, v in (counts or {}).items() if k.endswith(("_upserted", "_deleted")))


SCHEDULES_NOTE = (
    "Schedules change only through these controls: the actions and each job's schedule page (the link "
    "in its row). Beat's own task tables are not editable in the admin."
)


class RescheduleForm(forms.Form):
    cron = forms.CharField(
        max_length=128,
        help_text="5 fields: minute hour day-of-month month day-of-week, e.g. */30 * * * *",
    )

    def clean_cron(self) -> str:
        try:
            return schedules.cron_validate(expression=self.cleaned_data["cron"])
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None


@admin.register(SyncJob)
class SyncJobAdmin(admin.ModelAdmin):
    list_display = [
        "project_link",
        "site",
        "status",
        "schedule",
        "next_run_at",
        "last_run_at",
        "last_result",
        "records_synced",
        "reschedule_link",
    ]
    list_filter = ["status", "project__site"]
    list_select_related = ["project__site"]
    # What REST shows of a job, by the same names (each a model attribute), but the ids.
    readonly_fields = [
        name
        for name in serializer_fields(fieldmaps.SYNC_JOB)
        if name not in ("id", "workflow_id", "workflow_run_id", "schedule_id", "periodic_task_id")
    ]
    exclude = ["periodic_task"]
    actions = ["start", "start_full", "pause", "resume", "trigger", "cancel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_status=selectors.run_last_value(column="status", project_ref="project"),
                last_counts=selectors.run_last_value(column="counts", project_ref="project"),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a job is created by registering its project

    # Read-only rows: a hand-edited cron or status would drift from beat's task; the controls keep the two
    # in step (the actions and the reschedule page, which check the operate permission themselves).
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {"subtitle": SCHEDULES_NOTE, **(extra_context or {})})

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return can_operate_sync(request.user)

    @admin.display(description="project", ordering="project__key")
    def project_link(self, job: SyncJob) -> SafeString:
        url = reverse("admin:sync_project_change", args=[job.project_id])
        return format_html('<a href="{}">{}</a>', url, job.project.key)

    @admin.display(description="site", ordering="project__site__name")
    def site(self, job: SyncJob) -> str:
        return job.project.site.name

    @admin.display(description="cron")
    def schedule(self, job: SyncJob) -> SafeString:
        return cron_html(job)

    @admin.display(description="last result")
    def last_result(self, job: SyncJob) -> str:
        return getattr(job, "last_status", None) or "-"

    @admin.display(description="records synced")
    def records_synced(self, job: SyncJob) -> int:
        return _records(getattr(job, "last_counts", None))

    @admin.display(description="")
    def reschedule_link(self, job: SyncJob) -> SafeString:
        return format_html(
            '<a href="{}">Reschedule</a>', reverse("admin:sync_syncjob_reschedule", args=[job.pk])
        )

    def _each(
        self, request: HttpRequest, queryset: QuerySet[SyncJob], control: Callable[[Project], str]
    ) -> None:
        for job in queryset.select_related("project__site"):
            operate(request, partial(control, job.project))

    @admin.action(description="Start (resume and sync now)", permissions=["operate"])
    def start(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request,
            queryset,
            lambda p: self._started(p, controls.sync_start(project=p, actor=actor(request))),
        )

    @admin.action(description="Start a full sync (resume and re-read everything)", permissions=["operate"])
    def start_full(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request,
            queryset,
            lambda p: self._started(p, controls.sync_start(project=p, full=True, actor=actor(request))),
        )

    @admin.action(description="Pause scheduled runs", permissions=["operate"])
    def pause(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request, queryset, lambda p: f"{controls.sync_pause(project=p, actor=actor(request)).job}: paused"
        )

    @admin.action(description="Resume scheduled runs (no run now)", permissions=["operate"])
    def resume(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request,
            queryset,
            lambda p: f"{controls.sync_resume(project=p, actor=actor(request)).job}: resumed",
        )

    @admin.action(description="Trigger one run now", permissions=["operate"])
    def trigger(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request,
            queryset,
            lambda p: self._started(
                p, controls.sync_trigger(project=p, actor=actor(request), trigger=SyncRun.Trigger.ADMIN)
            ),
        )

    @admin.action(description="Cancel the running sync", permissions=["operate"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(request, queryset, lambda p: cancel_run(request, project=p))

    @staticmethod
    def _reschedule(project: Project, cron: str, actor: str) -> str:
        result = controls.sync_reschedule(project=project, cron=cron, actor=actor)
        return f"{result.project_key}: schedule is now '{result.job.cron}'"

    @staticmethod
    def _started(project: Project, result: controls.SyncControlResult) -> str:
        verb = "started" if result.run_created else "joined the active"
        return f"{result.project_key}: {verb} run {result.run_id}"

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/reschedule/",
                self.admin_site.admin_view(self.reschedule_view),
                name="sync_syncjob_reschedule",
            ),
            *super().get_urls(),
        ]

    def reschedule_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = get_object_or_404(SyncJob.objects.select_related("project__site"), pk=pk)
        form = RescheduleForm(request.POST or None, initial={"cron": job.cron})
        preview: list[Any] = []
        if request.method == "POST" and form.is_valid():
            cron = form.cleaned_data["cron"]
            if "save" in request.POST and operate(
                request,
                partial(self._reschedule, job.project, cron, actor(request)),
            ):
                return HttpResponseRedirect(reverse("admin:sync_syncjob_changelist"))
            preview = schedules.cron_upcoming(expression=cron, count=5, time_zone=job.time_zone)
        elif request.method == "GET":
            preview = schedules.cron_upcoming(expression=job.active_cron, count=5, time_zone=job.time_zone)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reschedule {job.project.key}",
            "job": job,
            "schedule": cron_html(job),
            "form": form,
            "preview": preview,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sync/syncjob/reschedule.html", context)
