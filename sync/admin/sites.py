"""Jira sites in the admin. Tokens and webhook secrets are write-only and never rendered."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from core.interfaces.errors import error_text
from sync import selectors
from sync.jira.errors import JiraError
from sync.models import JiraSite
from sync.services import sites
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
    actions = ["test_connection"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[JiraSite]:
        return selectors.webhook_status(sites=super().get_queryset(request))

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
