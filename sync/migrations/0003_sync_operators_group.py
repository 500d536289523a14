"""The "Sync operators" group, holding sync.operate_sync (what interfaces check before a control)."""

from django.db import migrations

from core.permissions import operators_group


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sync", "0002_sync_job_operate_permission"),
    ]

    operations = [
        operators_group(
            group="Sync operators",
            app_label="sync",
            model="syncjob",
            codename="operate_sync",
            permission_name="Can start, pause, resume, reschedule and trigger syncs",
        )
    ]
