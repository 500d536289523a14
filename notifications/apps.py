from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        from core.retention import Purge, register
        from notifications import retention

        register(Purge("notifications", "NOTIFICATION_RETENTION_DAYS", retention.notifications_purge))
