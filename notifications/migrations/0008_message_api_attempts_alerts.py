"""Messages through the API (sender, payload digest, the send_message permission and its "Message senders"
group), one row per delivery attempt, and the failing-channel alert (its episode flag and default routes)."""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.permissions import operators_group

# The routes of services.DEFAULT_ROUTES this migration adds (frozen here: a migration must not move).
ALERT_ROUTES = [
    (category, channel)
    for category in ("CHANNEL_FAILING", "CHANNEL_RECOVERED")
    for channel in ("email", "slack")
]


def routes_add(apps: Any, schema_editor: Any) -> None:
    routes = apps.get_model("notifications", "Route").objects
    for category, channel in ALERT_ROUTES:
        routes.get_or_create(category=category, channel=channel)


def routes_remove(apps: Any, schema_editor: Any) -> None:
    routes = apps.get_model("notifications", "Route").objects
    for category, channel in ALERT_ROUTES:
        routes.filter(category=category, channel=channel).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0007_spec_error_codes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="notification",
            options={"ordering": ["-created_at"], "permissions": [("send_message", "Can send messages")]},
        ),
        migrations.AddField(
            model_name="channelconfig",
            name="alert_raised_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Set while a failing-channel alert is open (one alert per episode); cleared by a delivery.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="payload_digest",
            field=models.CharField(
                blank=True,
                help_text="SHA-256 of an API request: the same key must mean the same message.",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="notification",
            name="sender",
            field=models.ForeignKey(
                blank=True,
                help_text="Who asked for it through the API; empty for the product's own messages.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.CreateModel(
            name="Attempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveSmallIntegerField()),
                ("at", models.DateTimeField()),
                (
                    "outcome",
                    models.CharField(
                        choices=[("SENT", "Sent"), ("RETRYING", "Failed, will retry"), ("FAILED", "Failed")],
                        max_length=16,
                    ),
                ),
                ("code", models.CharField(blank=True, max_length=64)),
                ("message", models.TextField(blank=True)),
                ("retryable", models.BooleanField(default=False)),
                (
                    "notification",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attempt_rows",
                        to="notifications.notification",
                    ),
                ),
            ],
            options={
                "ordering": ["notification", "number"],
                "constraints": [
                    models.UniqueConstraint(fields=("notification", "number"), name="attempt_unique_number")
                ],
            },
        ),
        operators_group(
            group="Message senders",
            app_label="notifications",
            model="notification",
            codename="send_message",
            permission_name="Can send messages",
        ),
        migrations.RunPython(routes_add, routes_remove),
    ]
