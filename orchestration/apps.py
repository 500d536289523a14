from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orchestration"

    def ready(self) -> None:
        from core.retention import Purge, register
        from orchestration.services import retention

        register(
            Purge(
                "orchestration events",
                "ORCHESTRATION_EVENT_RETENTION_DAYS",
                retention.orchestration_events_purge,
            )
        )
