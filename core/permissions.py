"""Operator groups: a group holding one app's "operate" permission, created by that app's data migration."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def operators_group(
    *, group: str, app_label: str, model: str, codename: str, permission_name: str
) -> migrations.RunPython:
    """A migration operation creating ``group`` with the permission ``app_label.codename`` (and deleting
    the group when unapplied)."""

    def create(apps: Any, schema_editor: Any) -> None:
        content_types = apps.get_model("contenttypes", "ContentType").objects
        # Permissions are normally created after all migrations (post_migrate); create this one now.
        content_type, _ = content_types.get_or_create(app_label=app_label, model=model)
        permission, _ = apps.get_model("auth", "Permission").objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": permission_name}
        )
        operators, _ = apps.get_model("auth", "Group").objects.get_or_create(name=group)
        operators.permissions.add(permission)

    def delete(apps: Any, schema_editor: Any) -> None:
        apps.get_model("auth", "Group").objects.filter(name=group).delete()

    return migrations.RunPython(create, delete)
