"""Operators' view: the delivery log, editable routes, channel configurations with write-only secrets and
their health. Actions call the services and show their typed errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.http import HttpRequest

from core.codes import code_canonical
from core.errors import ServiceError
from core.interfaces.admin import ReadOnlyAdmin
from notifications import services
from notifications.models import Attempt, ChannelConfig, Notification, Route


def _each(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, call: Callable[[Any], str]
) -> None:
    """Run a service per selected row; report each success or typed error."""
    for row in queryset:
        try:
            modeladmin.message_user(request, call(row), messages.SUCCESS)
        except ServiceError as error:
            modeladmin.message_user(request, f"{row}: {error}", messages.ERROR)


class AttemptInline(admin.TabularInline):
    """Each try with the transport's reason, as the workers recorded it (read-only, like the log)."""

    model = Attempt
    fields = readonly_fields = ("number", "at", "outcome", "code", "message", "retryable")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The delivery log, read-only: messages come from send_message/notify, which validate them, and the
    workers record each attempt. Sending again is the one operator action, for whoever may change
    notifications (the permission it always needed)."""

    list_display = [
        "created_at",
        "status",
        "channel",
        "category",
        "recipient",
        "subject",
        "attempts",
        "error_code",
        "sent_at",
    ]
    list_filter = ["status", "channel", "category", "error_code"]
    search_fields = ["subject", "recipient", "idempotency_key", "provider_id"]
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [AttemptInline]
    actions = ["retry"]

    def has_retry_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return bool(request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}"))

    @admin.action(description="Send the selected failed messages again", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        _each(
            self,
            request,
            queryset,
            lambda n: f"{services.notification_retry(notification_id=n.id)} queued again",
        )


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ["category", "channel", "recipients", "enabled"]
    list_editable = ["recipients", "enabled"]
    list_filter = ["channel", "enabled"]
    search_fields = ["category"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Route], search_term: str
    ) -> tuple[QuerySet[Route], bool]:
        # An old code name (RATE_LIMITED) finds the routes saved under its new one.
        return super().get_search_results(request, queryset, code_canonical(search_term.strip()))


class ChannelConfigForm(forms.ModelForm):
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=f"{ChannelConfig._meta.get_field('secret').help_text} Leave empty to keep the stored one.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = ChannelConfig
        fields = ["channel", "enabled", "options", "secret"]

    def clean_secret(self) -> str:
        secret: str = (self.cleaned_data.get("secret") or "").strip()
        if not secret and self.instance.pk:
            return str(self.instance.secret or "")
        return secret

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("clear_secret"):  # runs after clean_secret, which kept the stored one
            cleaned["secret"] = ""
        return cleaned

    def clean_options(self) -> dict[str, Any]:
        options = self.cleaned_data.get("options") or {}
        if not isinstance(options, dict):
            raise forms.ValidationError('Options are a JSON object, e.g. {"host": "smtp.example.com"}')
        secretish = [key for key in options if any(s in key.lower() for s in ("token", "password", "secret"))]
        if secretish:
            raise forms.ValidationError(
                f"{', '.join(secretish)} looks like a secret: put it in the encrypted secret field, "
                "options are stored and shown in clear"
            )
        return options


@admin.register(ChannelConfig)
class ChannelConfigAdmin(admin.ModelAdmin):
    form = ChannelConfigForm
    list_display = [
        "channel",
        "enabled",
        "healthy",
        "has_secret",
        "consecutive_failures",
        "last_error_code",
        "last_failure_at",
        "last_success_at",
    ]
    readonly_fields = [
        "consecutive_failures",
        "last_error_code",
        "last_error_message",
        "last_failure_at",
        "last_success_at",
        "disabled_reason",
        "options_help",
    ]
    fields = [
        "channel",
        "enabled",
        "options",
        "options_help",
        "secret",
        "clear_secret",
        *readonly_fields[:-1],
    ]
    actions = ["send_test_message", "enable"]

    @admin.display(boolean=True, description="healthy")
    def healthy(self, config: ChannelConfig) -> bool:
        return config.healthy

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelConfig]:
        # The list never decrypts: it only says whether a secret is set (and works when a key was lost).
        return (
            super()
            .get_queryset(request)
            .defer("secret")
            .annotate(secret_set=ExpressionWrapper(~Q(secret=""), output_field=BooleanField()))
        )

    @admin.display(boolean=True, description="secret set")
    def has_secret(self, config: ChannelConfig) -> bool:
        return bool(getattr(config, "secret_set", False))

    @admin.display(description="options in use")
    def options_help(self, config: ChannelConfig) -> str:
        return json.dumps(config.options, sort_keys=True) if config.options else "(none: defaults apply)"

    @admin.action(description="Send a test message to the default recipients", permissions=["change"])
    def send_test_message(self, request: HttpRequest, queryset: QuerySet[ChannelConfig]) -> None:
        actor = request.user.get_username()
        _each(
            self,
            request,
            queryset,
            lambda c: (
                f"Test message {services.channel_send_test(channel=c.channel, actor=actor).id} queued on {c}"
            ),
        )

    @admin.action(description="Enable again and reset the failure count", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[ChannelConfig]) -> None:
        _each(self, request, queryset, lambda c: f"{services.channel_enable(channel=c.channel)} enabled")
