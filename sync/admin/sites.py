"""Jira sites in the admin. Tokens and webhook secrets are write-only and never rendered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from core.errors import ServiceError
from core.interfaces.errors import error_text
from sync import selectors
from sync.admin.console import actor
from sync.jira.errors import JiraError
from sync.models import AuthKind, JiraSite, SiteAccess, SyncRun
from sync.permissions import ADD_PROJECT, ADD_SITE, OPERATE_SYNC_DENIED, can_administer, can_operate_sync
from sync.services import controls, discovery, sites
from sync.services.webhooks import MIN_SECRET_LENGTH

# The service's field names for the form's (an error on the URL belongs under the URL).
_FORM_FIELDS = {"url": "base_url", "token": "api_token", "email": "email", "name": "name"}


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

    verified: JiraSite | None = None

    def clean(self) -> dict[str, Any]:
        """A new site is stored only once Jira accepts its credentials (``verified``, with what the sync
        learns from Jira), or Jira's classified error and advice say what is wrong."""
        data: dict[str, Any] = super().clean() or {}
        if self.instance.pk or self.errors:
            return data
        try:
            self.verified = sites.site_verified(
                name=data.get("name", ""),
                url=data.get("base_url", ""),
                email=data.get("email", ""),
                token=data.get("api_token", ""),
                auth_kind=data.get("auth_kind", AuthKind.BASIC),
            )
        except ServiceError as error:
            field = _FORM_FIELDS.get(error.field)
            self.add_error(field if field in self.fields else None, error_text(error))
        return data


# What a verified site learned from Jira, copied onto the form's new site when it is saved.
_VERIFIED = [
    "base_url",
    "deployment",
    "account_id",
    "time_zone",
    "sprint_field",
    "story_points_field",
    "verified_at",
]


@admin.register(JiraSite)
class JiraSiteAdmin(admin.ModelAdmin):
    form = JiraSiteForm
    list_display = [
        "name",
        "jira_projects",
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
    change_form_template = "admin/sync/jirasite/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[JiraSite]:
        return selectors.webhook_status(sites=super().get_queryset(request))

    def save_model(self, request: HttpRequest, obj: JiraSite, form: Any, change: bool) -> None:
        if not change and form.verified is not None:
            for name in _VERIFIED:
                setattr(obj, name, getattr(form.verified, name))
        super().save_model(request, obj, form, change)

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

    @admin.display(description="Jira projects")
    def jira_projects(self, site: JiraSite) -> SafeString:
        url = reverse("admin:sync_jirasite_jira_projects", args=[site.pk])
        return format_html('<a href="{}">Register projects</a>', url)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("check/", view(self.check_view), name="sync_jirasite_check"),
            path(
                "<int:pk>/jira-projects/", view(self.jira_projects_view), name="sync_jirasite_jira_projects"
            ),
            *super().get_urls(),
        ]

    def check_view(self, request: HttpRequest) -> JsonResponse:
        """*Test connection* on the add and change forms: the credentials as typed (a blank token on a
        stored site means the stored one), proved against Jira; nothing is saved."""
        return _check(request)

    def jira_projects_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The site's projects as Jira lists them now; the chosen ones registered in one step."""
        if not can_administer(request.user, ADD_PROJECT):
            raise PermissionDenied
        site = get_object_or_404(JiraSite, pk=pk)
        form = RegisterProjectsForm(request.POST or None)
        try:
            options = discovery.jira_project_options(site=site)
        except JiraError as error:
            messages.error(request, f"Could not list the site's projects: {error_text(error)}")
            options = []
        keys = form.fields["keys"]
        assert isinstance(keys, forms.MultipleChoiceField)
        keys.choices = [(o.key, f"{o.key} — {o.name}") for o in options if not o.registered]
        if request.method == "POST" and form.is_valid():
            registered = _register(request, site, form.cleaned_data)
            if registered:
                return HttpResponseRedirect(reverse("admin:sync_project_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Register projects of {site.name}",
            "site": site,
            "form": form,
            "registered": [o for o in options if o.registered],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/sync/jirasite/jira_projects.html", context)


class RegisterProjectsForm(forms.Form):
    keys = forms.MultipleChoiceField(
        label="Projects", widget=forms.CheckboxSelectMultiple, help_text="Registered together, all or none."
    )
    cron = forms.CharField(
        initial=settings.SYNC_DEFAULT_CRON,
        help_text="When they sync: 5 cron fields in UTC (minute hour day-of-month month day-of-week).",
    )
    accounts = forms.CharField(
        required=False,
        label="Tracked accounts",
        help_text="Jira account ids, separated by spaces or commas. Empty: every issue syncs.",
    )
    sync_now = forms.BooleanField(required=False, initial=True, help_text="Start a first sync of each now.")


def _register(request: HttpRequest, site: JiraSite, data: dict[str, Any]) -> bool:
    try:
        projects = sites.projects_register(
            site=site,
            keys=data["keys"],
            track=data["accounts"].replace(",", " ").split(),
            cron=data["cron"],
            actor=actor(request),
        )
    except ServiceError as error:
        messages.error(request, error_text(error))
        return False
    keys = ", ".join(p.key for p in projects)
    messages.success(request, f"Registered {keys} on {site.name} (cron {data['cron']})")
    if not data["sync_now"]:
        return True
    if not can_operate_sync(request.user):
        messages.warning(request, f"No first sync started: {OPERATE_SYNC_DENIED}")
        return True
    for project in projects:
        try:
            result = controls.sync_trigger(
                project=project, actor=actor(request), trigger=SyncRun.Trigger.MANUAL
            )
        except ServiceError as error:
            messages.error(request, f"{project.key}: {error_text(error)}")
        else:
            messages.info(request, f"{project.key}: first sync, run {result.run_id}, started")
    return True


@require_POST
def _check(request: HttpRequest) -> JsonResponse:
    if not can_administer(request.user, ADD_SITE):
        return JsonResponse({"ok": False, "message": "You may not add or change Jira sites"}, status=403)
    form = request.POST
    token = form.get("api_token", "")
    stored = form.get("site", "")
    if not token and stored.isdigit():
        token = str(get_object_or_404(JiraSite, pk=int(stored)).api_token)
    try:
        me = sites.site_check(
            url=form.get("base_url", ""),
            email=form.get("email", ""),
            token=token,
            auth_kind=form.get("auth_kind", AuthKind.BASIC),
        )
    except ServiceError as error:
        return JsonResponse({"ok": False, "message": error_text(error)})
    return JsonResponse(
        {
            "ok": True,
            "message": f"Connected as {me.display_name or me.account_id} "
            f"(time zone {me.time_zone}, {me.deployment_type} {me.version})",
        }
    )


@admin.register(SiteAccess)
class SiteAccessAdmin(admin.ModelAdmin):
    """Which sites a user who is not staff may see through the APIs (none listed: every site)."""

    list_display = ["user", "site"]
    list_filter = ["site"]
    search_fields = ["user__username", "site__name"]
    autocomplete_fields = ["user"]
