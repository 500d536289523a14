from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

# What GraphQL's READ_CACHE_POLICY and the cached REST reads are made of (sync/graphql/).
JIRA_DATA_MODELS = (
    "JiraSite Project JiraUser ProjectTrackedUser Sprint Issue IssueSprint Comment Worklog IssueChange"
)


class SyncConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sync"

    def ready(self) -> None:
        post_migrate.connect(_operators_group, sender=self)
        _watch_synced_data(self)
        _register_purges()
        _register_tenancy(self)


def _register_tenancy(app: AppConfig) -> None:
    from django.db.models.signals import post_delete, post_save

    from core import tenancy
    from sync.tenancy import site_access_changed, visible_site_ids

    tenancy.register(visible_site_ids)
    for signal in (post_save, post_delete):
        signal.connect(site_access_changed, sender=app.get_model("SiteAccess"))


def _register_purges() -> None:
    from core.retention import Purge, register
    from sync.services import retention, webhooks

    register(Purge("sync runs", "SYNC_RUN_RETENTION_DAYS", retention.sync_runs_purge))
    register(Purge("sync logs", "SYNC_LOG_RETENTION_DAYS", retention.sync_logs_purge))
    register(Purge("webhook events", "WEBHOOK_EVENT_RETENTION_DAYS", webhooks.webhook_events_purge))


def _watch_synced_data(app: AppConfig) -> None:
    """Committed writes to the Jira data the read APIs serve start a new read-cache version."""
    from core import read_cache

    read_cache.watch(app.get_model(name) for name in JIRA_DATA_MODELS.split())
    connection_created.connect(read_cache.install)
    for connection in connections.all(initialized_only=True):
        read_cache.install(connection)


def _operators_group(**kwargs: Any) -> None:
    # The data migration creates the group once; this keeps it after a flush (which re-emits post_migrate).
    from sync.permissions import ensure_operators_group

    ensure_operators_group(using=kwargs.get("using", "default"))
