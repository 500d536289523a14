"""The "Sync operators" group, holding sync.operate_sync (what interfaces check before a control)."""

from typing import Any

from django.db import migrations

PERMISSION_NAME = "Can start, pause, resume, reschedule and trigger syncs"


def create_group(apps: Any, schema_editor: Any) -> None:
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    # Permissions are normally created after all migrations (post_migrate); create this one now.
    content_type, _ = content_type_model.objects.get_or_create(app_label="sync", model="syncjob")
    permission, _ = permission_model.objects.get_or_create(
        content_type=content_type, codename="operate_sync", defaults={"name": PERMISSION_NAME}
    )
    group, _ = group_model.objects.get_or_create(name="Sync operators")
    group.permissions.add(permission)


def delete_group(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name="Sync operators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sync", "0002_sync_job_operate_permission"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
