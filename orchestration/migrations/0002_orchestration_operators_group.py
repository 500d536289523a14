"""The "Orchestration operators" group, holding orchestration.operate_orchestration (checked by every
interface before start/approve/reject/cancel/retry/pause/resume)."""

from typing import Any

from django.db import migrations

PERMISSION_NAME = "Can start, approve, reject, cancel and retry orchestrations"


def create_group(apps: Any, schema_editor: Any) -> None:
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    # Permissions are normally created after all migrations (post_migrate); create this one now.
    content_type, _ = content_type_model.objects.get_or_create(app_label="orchestration", model="orchestration")
    permission, _ = permission_model.objects.get_or_create(
        content_type=content_type, codename="operate_orchestration", defaults={"name": PERMISSION_NAME}
    )
    group, _ = group_model.objects.get_or_create(name="Orchestration operators")
    group.permissions.add(permission)


def delete_group(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name="Orchestration operators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orchestration", "0001_orchestration_workflow"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
