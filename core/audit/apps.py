from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "core.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.audit import trail
        from core.retention import Purge, register

        register(Purge("audit entries", "AUDIT_RETENTION_DAYS", trail.audit_purge))
