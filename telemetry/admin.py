"""Operators' view of telemetry: back-off states, the append-only schedule changes, slow runs, a
dashboard of per-project charts (server-side SVG), and the operators' overview the admin index opens on
(telemetry/console.py, shown by templates/admin/telemetry/index.html)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from core.interfaces.admin import ReadOnlyAdmin
from notifications import selectors as notifications
from telemetry import charts, selectors
from telemetry.models import BackoffState, ScheduleChange, SlowRun

# Telemetry rows are derived from the sync trail: the analyser writes them, people read them (ReadOnlyAdmin).

admin.site.index_template = "admin/telemetry/index.html"


@admin.register(BackoffState)
class BackoffStateAdmin(ReadOnlyAdmin):
    list_display = [
        "project",
        "level",
        "category",
        "consecutive_failures",
        "episode_started_at",
        "last_failure_at",
        "last_alert_at",
        "last_run_id",
    ]
    list_filter = ["level", "category"]
    list_select_related = ["project"]
    change_list_template = "admin/telemetry/backoffstate_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        dashboard = path(
            "dashboard/", self.admin_site.admin_view(self.dashboard_view), name="telemetry_dashboard"
        )
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        figures = selectors.project_figures()
        failures: dict[str, int] = {}
        for item in figures:
            for code, count in item.failures.items():
                failures[code] = failures.get(code, 0) + count
        context = {
            **self.admin_site.each_context(request),
            "title": "Sync telemetry",
            "projects": [(item, charts.run_durations(item.recent)) for item in figures],
            "failures_chart": charts.counts_by_label(failures),
            "changes": selectors.schedule_changes(),
            "channels": notification_channels(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/telemetry/dashboard.html", context)


def notification_channels() -> list[dict[str, object]]:
    """Delivered / failed / pending messages per channel, for the dashboard's notifications panel."""
    counts = notifications.message_outcome_counts()
    health = {config.channel: config for config in notifications.channel_health()}
    rows = []
    for channel in sorted({channel for channel, _ in counts} | set(health)):
        by_status = {status: count for (kind, status), count in counts.items() if kind == channel}
        delivered = by_status.pop("SENT", 0)
        failed = by_status.pop("FAILED", 0)
        total = delivered + failed or 1
        config = health.get(channel)
        rows.append(
            {
                "channel": channel,
                "delivered": delivered,
                "failed": failed,
                "pending": sum(by_status.values()),
                "delivered_width": round(delivered / total * 200),
                "failed_width": round(failed / total * 200),
                "streak": config.consecutive_failures if config else 0,
                "alerting": bool(config and config.alert_raised_at),
            }
        )
    return rows


@admin.register(ScheduleChange)
class ScheduleChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "project", "level", "cron", "category", "reason", "run"]
    list_filter = ["level", "category"]
    list_select_related = ["project"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScheduleChange]:
        return super().get_queryset(request).order_by("-created_at")


@admin.register(SlowRun)
class SlowRunAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "project", "run", "duration_ms", "median_ms"]
    list_select_related = ["project"]
