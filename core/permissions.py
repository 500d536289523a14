"""Who may operate an app, and the operator groups holding each app's "operate" permission.

Every app's permission module asks ``can_operate`` so admin, GraphQL, REST and commands apply one rule.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def can_operate(user: Any, permission: str) -> bool:
    """An authenticated, active user who is staff, a superuser, or holds ``permission`` ("app.codename").

    Inactive accounts are refused even when staff: deactivating someone must stop them at once.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return bool(user.is_staff or user.is_superuser or user.has_perm(permission))


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
