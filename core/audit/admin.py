from django.contrib import admin

from core.audit.models import AuditEntry
from core.interfaces.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "target", "actor", "token", "address", "via"]
    list_filter = ["action", "via"]
    search_fields = ["action", "target", "actor", "token", "address"]
    date_hierarchy = "at"
    fields = readonly_fields = ("at", "action", "target", "actor", "token", "address", "via", "detail")
