from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sync"

    def ready(self) -> None:
        post_migrate.connect(_operators_group, sender=self)


def _operators_group(**kwargs: Any) -> None:
    # The data migration creates the group once; this keeps it after a flush (which re-emits post_migrate).
    from sync.permissions import ensure_operators_group

    ensure_operators_group(using=kwargs.get("using", "default"))
