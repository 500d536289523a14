"""Operators' view of sites, projects and the sync trail. Tokens are write-only and never rendered."""

from datetime import datetime

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from sync import selectors
from sync.models import JiraSite, Project, SyncJob, SyncLog, SyncRun, SyncState
from sync.services.webhooks import MIN_SECRET_LENGTH


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
