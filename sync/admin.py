"""Operators' view of sites, projects and the sync trail. Tokens are write-only and never rendered.

Every control here (actions, reschedule, tracked users, test connection) parses input, checks
``can_operate_sync`` and calls the service (sync.services.controls / sites); errors are the service's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.errors import ServiceError
from core.interfaces.errors import error_text
from sync import selectors
from sync.jira.errors import JiraError
from sync.models import JiraSite, Project, ProjectTrackedUser, SyncJob, SyncLog, SyncRun, SyncState
from sync.permissions import can_operate_sync
from sync.services import controls, schedules, sites
from sync.services.webhooks import MIN_SECRET_LENGTH

RECENT_RUNS = 10


def _operate(request: HttpRequest, control: Callable[[], str]) -> bool:
    """Run one control and report it as an admin message; True when it succeeded."""
    if not can_operate_sync(request.user):
        messages.error(request, "You may not operate syncs (staff or the 'Sync operators' group only).")
        return False
    try:
        messages.success(request, control())
    except ServiceError as error:
        messages.error(request, error_text(error))
        return False
    return True


def _actor(request: HttpRequest) -> str:
    return str(request.user.get_username())


# --- Sites ----------------------------------------------------------------------------------------


class JiraSiteForm(forms.ModelForm):
    api_token = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty to keep the stored token. Stored encrypted; never displayed.",
    )

    webhook_secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        min_length=MIN_SECRET_LENGTH,
        help_text="Signs Jira's webhooks. Leave empty to keep the stored one. Stored encrypted.",
    )

    class Meta:
        model = JiraSite
        fields = ["name", "base_url", "deployment", "auth_kind", "email", "api_token", "webhook_secret"]

    def clean_webhook_secret(self) -> str:
        return self.cleaned_data.get("webhook_secret") or str(self.instance.webhook_secret or "")

    def clean_api_token(self) -> str:
        token: str = self.cleaned_data.get("api_token") or ""
        if not token and self.instance.pk:
            return str(self.instance.api_token)
        if not token:
            raise forms.ValidationError("A new site needs an API token")
        return token


@admin.register(JiraSite)
class JiraSiteAdmin(admin.ModelAdmin):
    form = JiraSiteForm
    list_display = [
        "name",
        "base_url",
        "deployment",
        "time_zone",
        "verified_at",
        "webhook_last_event",
        "webhook_events_today",
        "webhook_rejected",
    ]
    readonly_fields = [
        "account_id",
        "time_zone",
        "sprint_field",
        "story_points_field",
        "verified_at",
        "webhook_url",
        "webhook_last_event",
        "webhook_events_today",
        "webhook_rejected",
        "webhook_rejected_at",
    ]
    actions = ["test_connection"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[JiraSite]:
        return selectors.webhook_status(super().get_queryset(request))

    @admin.display(description="Webhook URL (register it in Jira)")
    def webhook_url(self, site: JiraSite) -> str:
        return reverse("jira-webhook", args=[site.pk]) if site.pk else "-"

    @admin.display(description="Last webhook", ordering="webhook_last_event")
    def webhook_last_event(self, site: JiraSite) -> datetime | None:
        return getattr(site, "webhook_last_event", None)

    @admin.display(description="Webhooks today")
    def webhook_events_today(self, site: JiraSite) -> int:
        return int(getattr(site, "webhook_events_today", 0))

    @admin.action(description="Test connection (shows Jira's classified answer)")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[JiraSite]) -> None:
        for site in queryset:
            try:
                me = sites.site_test_connection(site=site)
            except JiraError as error:
                messages.error(request, f"{site.name}: {error_text(error)}")
            else:
                messages.success(
                    request,
                    f"{site.name}: connected as {me.display_name or me.account_id} "
                    f"(time zone {me.time_zone}, {me.deployment_type} {me.version})",
                )


# --- Schedules ------------------------------------------------------------------------------------


def _last_runs(field: str) -> Subquery:
    runs = (
        SyncRun.objects.filter(project=OuterRef("project"))
        .exclude(error_code=schedules.SKIPPED_OVERLAP)
        .order_by("-created_at")
    )
    return Subquery(runs.values(field)[:1], output_field=JSONField() if field == "counts" else None)


def _records(counts: dict[str, int] | None) -> int:
    return sum(v for k, v in (counts or {}).items() if k.endswith(("_upserted", "_deleted")))


def _cron_html(job: SyncJob) -> SafeString:
    effective = job.effective_cron or job.cron
    backed_off = (
        format_html(" <b>backed off to</b> <code>{}</code>", job.effective_cron) if job.effective_cron else ""
    )
    return format_html(
        "<code>{}</code>{}<br><small>{}</small>", job.cron, backed_off, schedules.describe(effective)
    )


class RescheduleForm(forms.Form):
    cron = forms.CharField(
        max_length=128,
        help_text="5 fields: minute hour day-of-month month day-of-week, e.g. */30 * * * *",
    )

    def clean_cron(self) -> str:
        try:
            return schedules.validate_cron(self.cleaned_data["cron"])
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
    readonly_fields = [
        "project",
        "status",
        "cron",
        "effective_cron",
        "time_zone",
        "paused_note",
        "paused_by",
        "paused_at",
        "last_run_at",
        "next_run_at",
        "last_error_code",
    ]
    exclude = ["periodic_task"]
    actions = ["start", "start_full", "pause", "resume", "trigger"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        return (
            super()
            .get_queryset(request)
            .annotate(last_status=_last_runs("status"), last_counts=_last_runs("counts"))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a job is created by registering its project

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
        return _cron_html(job)

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
            _operate(request, partial(control, job.project))

    @admin.action(description="Start (resume and sync now)", permissions=["operate"])
    def start(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request,
            queryset,
            lambda p: self._started(p, controls.sync_start(project=p, actor=_actor(request))),
        )

    @admin.action(description="Start a full sync (resume and re-read everything)", permissions=["operate"])
    def start_full(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request,
            queryset,
            lambda p: self._started(p, controls.sync_start(project=p, full=True, actor=_actor(request))),
        )

    @admin.action(description="Pause scheduled runs", permissions=["operate"])
    def pause(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request, queryset, lambda p: f"{controls.sync_pause(project=p, actor=_actor(request))}: paused"
        )

    @admin.action(description="Resume scheduled runs (no run now)", permissions=["operate"])
    def resume(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request, queryset, lambda p: f"{controls.sync_resume(project=p, actor=_actor(request))}: resumed"
        )

    @admin.action(description="Trigger one run now", permissions=["operate"])
    def trigger(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        self._each(
            request,
            queryset,
            lambda p: self._started(
                p, controls.sync_trigger(project=p, actor=_actor(request), trigger=SyncRun.Trigger.ADMIN)
            ),
        )

    @staticmethod
    def _reschedule(project: Project, cron: str, actor: str) -> str:
        job = controls.sync_reschedule(project=project, cron=cron, actor=actor)
        return f"{project.key}: schedule is now '{job.cron}'"

    @staticmethod
    def _started(project: Project, request: Any) -> str:
        verb = "started" if request.created else "joined the active"
        return f"{project.key}: {verb} run {request.run.id}"

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
            if "save" in request.POST and _operate(
                request,
                partial(self._reschedule, job.project, cron, _actor(request)),
            ):
                return HttpResponseRedirect(reverse("admin:sync_syncjob_changelist"))
            preview = schedules.upcoming(cron, 5, time_zone=job.time_zone)
        elif request.method == "GET":
            preview = schedules.upcoming(job.effective_cron or job.cron, 5, time_zone=job.time_zone)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reschedule {job.project.key}",
            "job": job,
            "schedule": _cron_html(job),
            "form": form,
            "preview": preview,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sync/syncjob/reschedule.html", context)


# --- Projects -------------------------------------------------------------------------------------


class TrackedUsersForm(forms.Form):
    accounts = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    purge = forms.BooleanField(
        required=False, help_text="Also delete the stored issues of accounts you stop tracking."
    )


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "site", "jira_id", "status", "cron", "next_run"]
    list_select_related = ["site", "sync_job"]
    fields = ["site", "key", "jira_id", "name", "schedule", "tracked", "states", "recent_runs"]
    readonly_fields = ["site", "key", "jira_id", "name", "schedule", "tracked", "states", "recent_runs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # registering checks the key against Jira: `manage.py jira_project add`

    @admin.display(description="status")
    def status(self, project: Project) -> str:
        return project.sync_job.status

    @admin.display(description="cron")
    def cron(self, project: Project) -> SafeString:
        return _cron_html(project.sync_job)

    @admin.display(description="next run")
    def next_run(self, project: Project) -> Any:
        return project.sync_job.next_run_at

    @admin.display(description="schedule")
    def schedule(self, project: Project) -> SafeString:
        job = project.sync_job
        paused = (
            format_html(" — paused by {} at {}: {}", job.paused_by or "?", job.paused_at, job.paused_note)
            if job.status == SyncJob.Status.PAUSED
            else ""
        )
        return format_html(
            '{}{}<br>{} — next run {}, last run {} <a href="{}">Reschedule</a>',
            job.status,
            paused,
            _cron_html(job),
            job.next_run_at or "-",
            job.last_run_at or "-",
            reverse("admin:sync_syncjob_reschedule", args=[job.pk]),
        )

    @admin.display(description="tracked users")
    def tracked(self, project: Project) -> SafeString:
        users = ProjectTrackedUser.objects.filter(project=project, is_tracked=True).select_related("user")
        listed = format_html_join(
            ", ", "{} <code>{}</code>", ((t.user.display_name, t.user.account_id) for t in users)
        )
        url = reverse("admin:sync_project_tracked_users", args=[project.pk])
        return format_html(
            '{} <a href="{}">Choose tracked users</a>', listed or "none: every issue is synced", url
        )

    @admin.display(description="sync state per entity")
    def states(self, project: Project) -> SafeString:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (s.entity, s.status, s.last_sync_time or "-", s.last_error_code or "")
                for s in SyncState.objects.filter(project=project).order_by("entity")
            ),
        )
        return format_html(
            "<table><tr><th>entity</th><th>status</th><th>synced up to</th><th>error</th></tr>{}</table>",
            rows,
        )

    @admin.display(description=f"last {RECENT_RUNS} runs")
    def recent_runs(self, project: Project) -> SafeString:
        runs = list(SyncRun.objects.filter(project=project).order_by("-created_at")[:RECENT_RUNS])
        logs: dict[int, list[SyncLog]] = {}
        for line in SyncLog.objects.filter(run__in=runs).order_by("created_at"):
            logs.setdefault(line.run_id or 0, []).append(line)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    run.id,
                    run.created_at,
                    run.trigger + (" full" if run.full else ""),
                    run.status + (f" {run.error_code}" if run.error_code else ""),
                    ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()) if v) or "-",
                    run.request_total,
                    f"{run.duration_ms / 1000:.1f}s" if run.duration_ms is not None else "-",
                    format_html_join(
                        "",
                        "<div><b>{}</b> {}</div>",
                        ((log.level, log.message) for log in logs.get(run.id, [])),
                    ),
                )
                for run in runs
            ),
        )
        return format_html(
            "<table><tr><th>run</th><th>created</th><th>trigger</th><th>result</th><th>counts</th>"
            "<th>requests</th><th>duration</th><th>log</th></tr>{}</table>",
            rows,
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/tracked-users/",
                self.admin_site.admin_view(self.tracked_users_view),
                name="sync_project_tracked_users",
            ),
            *super().get_urls(),
        ]

    def tracked_users_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        project = get_object_or_404(Project.objects.select_related("site"), pk=pk)
        tracked = {
            t.user.account_id: t.user.display_name
            for t in ProjectTrackedUser.objects.filter(project=project, is_tracked=True).select_related(
                "user"
            )
        }
        choices: dict[str, str] = dict(tracked)
        try:
            choices.update(
                {a.account_id: a.display_name for a in sites.project_assignable_users(project=project)}
            )
        except JiraError as error:
            messages.error(request, f"Could not fetch the project's assignable users: {error_text(error)}")
        form = TrackedUsersForm(request.POST or None, initial={"accounts": list(tracked)})
        accounts = form.fields["accounts"]
        assert isinstance(accounts, forms.MultipleChoiceField)
        labels: dict[str, str] = {
            account_id: f"{name or '?'} ({account_id})" for account_id, name in choices.items()
        }
        order = sorted(labels, key=lambda account_id: labels[account_id].lower())
        accounts.choices = [(account_id, labels[account_id]) for account_id in order]
        if request.method == "POST" and form.is_valid():
            wanted = set(form.cleaned_data["accounts"])
            added, removed = sorted(wanted - set(tracked)), sorted(set(tracked) - wanted)
            ok = True
            if removed:
                ok = _operate(
                    request,
                    lambda: "{}: stopped tracking {} account(s)".format(
                        project.key,
                        controls.tracked_users_remove(
                            project=project,
                            account_ids=removed,
                            purge=form.cleaned_data["purge"],
                            actor=_actor(request),
                        ),
                    ),
                )
            if added and ok:
                ok = _operate(request, lambda: self._backfill(project, added, _actor(request)))
            if ok:
                return HttpResponseRedirect(reverse("admin:sync_project_change", args=[project.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Tracked users of {project.key}",
            "project": project,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sync/project/tracked_users.html", context)

    @staticmethod
    def _backfill(project: Project, added: list[str], actor: str) -> str:
        request = controls.tracked_users_add(project=project, account_ids=added, actor=actor)
        run = f"backfill run {request.run.id}" if request else "nothing to backfill"
        return f"{project.key}: tracking {', '.join(added)}; {run}"


# --- The trail ------------------------------------------------------------------------------------


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = ["project", "entity", "status", "last_sync_time", "last_error_code"]
    list_filter = ["entity", "status"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
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
    list_filter = ["status", "trigger"]
    list_select_related = ["project"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(SyncLog)
class SyncLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "project", "run", "level", "message"]
    list_filter = ["level"]
    list_select_related = ["project"]
    readonly_fields = ["project", "run", "level", "message", "details", "created_at"]


# --- Beat's own tables: superusers only (editing them bypasses the schedule service) ----------------


class SuperuserOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    has_add_permission = has_module_permission

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


for _model, _model_admin in list(admin.site._registry.items()):
    if _model._meta.app_label in ("django_celery_beat", "django_celery_results"):
        admin.site.unregister(_model)
        admin.site.register(
            _model,
            type(f"SuperuserOnly{type(_model_admin).__name__}", (SuperuserOnly, type(_model_admin)), {}),
        )
