"""The sync trail in the admin (read-only), and beat's own tables kept to superusers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.interfaces.fields import model_fields
from sync import fieldmaps
from sync.models import SyncLog, SyncRun, SyncState


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
    readonly_fields = ["project", *(name for name in model_fields(fieldmaps.SYNC_LOG) if name != "id")]


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
