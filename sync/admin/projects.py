"""Projects in the admin: schedule, sync state and recent runs at a glance, and the tracked-users page."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.errors import ServiceError
from core.interfaces.errors import error_text
from sync.admin.console import actor, cancel_run, cron_html, operate
from sync.jira.errors import JiraError
from sync.models import Issue, JiraSite, Project, ProjectTrackedUser, SyncJob, SyncLog, SyncRun, SyncState
from sync.permissions import ADD_PROJECT, DELETE_PROJECT, can_administer, can_operate_sync
from sync.services import controls, sites

RECENT_RUNS = 10
_FIELDS = ("site", "key", "jira_id", "name", "schedule", "tracked", "states", "recent_runs", "registration")


class TrackedUsersForm(forms.Form):
    accounts = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    purge = forms.BooleanField(
        required=False, help_text="Also delete the stored issues of accounts you stop tracking."
    )


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "site", "jira_id", "status", "cron", "next_run"]
    list_select_related = ["site", "sync_job"]
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = ["cancel_sync"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_administer(request.user, ADD_PROJECT)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Registering starts from a site's list of Jira projects (the keys are checked against Jira)."""
        only = list(JiraSite.objects.order_by("id").values_list("id", flat=True)[:2])
        if len(only) == 1:
            return HttpResponseRedirect(reverse("admin:sync_jirasite_jira_projects", args=only))
        messages.info(request, "Choose the site whose projects to register (its 'Register projects' link)")
        return HttpResponseRedirect(reverse("admin:sync_jirasite_changelist"))

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return can_operate_sync(request.user)

    @admin.action(description="Cancel the running sync", permissions=["operate"])
    def cancel_sync(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset.select_related("site"):
            operate(request, partial(cancel_run, request, project=project))

    @admin.display(description="status")
    def status(self, project: Project) -> str:
        return project.sync_job.status

    @admin.display(description="cron")
    def cron(self, project: Project) -> SafeString:
        return cron_html(project.sync_job)

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
            cron_html(job),
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

    @admin.display(description="registration")
    def registration(self, project: Project) -> SafeString:
        if sites.is_unregistered(project):
            return format_html(
                "Unregistered: its data is kept and nothing syncs it. Register {} again to resume.",
                project.key,
            )
        url = reverse("admin:sync_project_unregister", args=[project.pk])
        return format_html('<a href="{}">Unregister…</a> (keeping or deleting its data)', url)

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
            path(
                "<int:pk>/unregister/",
                self.admin_site.admin_view(self.unregister_view),
                name="sync_project_unregister",
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
            ok = operate(
                request,
                lambda: self._tracked_message(
                    controls.tracked_users_set(
                        project=project,
                        account_ids=form.cleaned_data["accounts"],
                        purge=form.cleaned_data["purge"],
                        actor=actor(request),
                    )
                ),
            )
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
    def _tracked_message(result: controls.SyncControlResult) -> str:
        done = []
        if result.removed:
            done.append(f"stopped tracking {result.removed} account(s)")
        if result.added:
            run = f"backfill run {result.run_id}" if result.run else "nothing to backfill"
            done.append(f"tracking {', '.join(result.added)}; {run}")
        return f"{result.project_key}: {'; '.join(done) or 'tracked users unchanged'}"

    def unregister_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Unregister, keeping or purging the data: what each choice does is said before it is done."""
        if not can_administer(request.user, DELETE_PROJECT):
            raise PermissionDenied
        project = get_object_or_404(Project.objects.select_related("site"), pk=pk)
        form = UnregisterForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            purge = form.cleaned_data["keep_or_purge"] == "purge"
            try:
                gone = sites.project_unregister(project=project, purge=purge, actor=actor(request))
            except ServiceError as error:
                messages.error(request, error_text(error))
            else:
                what = "deleted" if gone.purged else "kept"
                messages.success(
                    request, f"Unregistered {gone.project_key}: its {gone.issues} issue(s) {what}"
                )
                if gone.purged:
                    return HttpResponseRedirect(reverse("admin:sync_project_changelist"))
                return HttpResponseRedirect(reverse("admin:sync_project_change", args=[project.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Unregister {project.key}",
            "project": project,
            "issues": Issue.objects.filter(project=project).count(),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sync/project/unregister.html", context)


class UnregisterForm(forms.Form):
    keep_or_purge = forms.ChoiceField(
        label="Its data",
        widget=forms.RadioSelect,
        choices=[
            (
                "keep",
                "Keep it: issues, comments, worklogs, history and the sync trail stay readable; "
                "nothing syncs them any more; registering the project again resumes it with a full sync.",
            ),
            (
                "purge",
                "Delete it: the project's issues with their comments, worklogs and history, and its sync "
                "trail are deleted for good. This cannot be undone.",
            ),
        ],
    )
