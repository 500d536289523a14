"""The classifier's codes take the spec's names (RATE_LIMITED -> RATE_LIMIT, NETWORK -> NETWORK_GLITCH) in
every row that stores one: runs, jobs, per-entity states, the ERROR/WARNING logs' details and the daily
aggregates purged runs left. Reversible: unapplied, the old names come back."""

from django.db import migrations
from django.db.models import F

from core.codes import SPEC_RENAMES, codes_rename, codes_rename_by

SUMMED = ("runs", "duration_ms", "request_total", "jira_ms")


def _daily(apps, mapping):
    # (project, day, status, error_code) is unique: a group whose new name exists already is added into it.
    Daily = apps.get_model("sync", "SyncRunDaily")
    for old, new in mapping.items():
        for row in Daily.objects.filter(error_code=old):
            target = Daily.objects.filter(
                project_id=row.project_id, day=row.day, status=row.status, error_code=new
            )
            if target.update(**{name: F(name) + getattr(row, name) for name in SUMMED}):
                row.delete()
            else:
                row.error_code = new
                row.save(update_fields=["error_code"])


class Migration(migrations.Migration):
    dependencies = [("sync", "0006_run_retention")]
    operations = [
        codes_rename(
            renames=SPEC_RENAMES,
            columns=[
                ("sync", "SyncRun", "error_code"),
                ("sync", "SyncJob", "last_error_code"),
                ("sync", "SyncState", "last_error_code"),
            ],
            json_keys=[("sync", "SyncLog", "details", "code")],
        ),
        codes_rename_by(renames=SPEC_RENAMES, apply=_daily),
    ]
