"""The "Orchestration operators" group, holding orchestration.operate_orchestration (checked by every
interface before start/approve/reject/cancel/retry/pause/resume)."""

from django.db import migrations

from core.permissions import operators_group


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orchestration", "0001_orchestration_workflow"),
    ]

    operations = [
        operators_group(
            group="Orchestration operators",
            app_label="orchestration",
            model="orchestration",
            codename="operate_orchestration",
            permission_name="Can start, approve, reject, cancel and retry orchestrations",
        )
    ]
