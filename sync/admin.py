"""Operators' view of sites, projects and the sync trail. Tokens are write-only and never rendered."""

from django import forms
from django.contrib import admin

from sync.models import JiraSite, Project, SyncJob, SyncLog, SyncRun, SyncState


class JiraSiteForm(forms.ModelForm):
    api_token = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Leave empty to keep the stored token. Stored encrypted; never displayed.",
    )

    class Meta:
        model = JiraSite
        fields = ["name", "base_url", "deployment", "auth_kind", "email", "api_token"]

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
    list_display = ["name", "base_url", "deployment", "time_zone", "verified_at"]
    readonly_fields = ["account_id", "time_zone", "sprint_field", "story_points_field", "verified_at"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "site", "jira_id"]
    list_select_related = ["site"]


@admin.register(SyncJob)
class SyncJobAdmin(admin.ModelAdmin):
    list_display = [
        "project",
        "status",
        "cron",
        "effective_cron",
        "last_run_at",
        "next_run_at",
        "last_error_code",
    ]
    list_select_related = ["project"]


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
