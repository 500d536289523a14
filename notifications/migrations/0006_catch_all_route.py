"""The catch-all route: a category without an enabled route of its own (NETWORK, POISON, ...) reaches the
operators by email (NOTIFY_EMAIL_TO) instead of being dropped with a warning. Editable in the admin."""

from django.db import migrations, models

CATCH_ALL = "*"


def add_route(apps, schema_editor):
    Route = apps.get_model("notifications", "Route")
    Route.objects.get_or_create(category=CATCH_ALL, channel="email")


def remove_route(apps, schema_editor):
    Route = apps.get_model("notifications", "Route")
    Route.objects.filter(category=CATCH_ALL, channel="email", recipients="").delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_channel_disabled_route")]
    operations = [
        migrations.AlterField(
            model_name="route",
            name="category",
            field=models.CharField(
                help_text="e.g. TOKEN_EXPIRED, SUSPENDED_PAYMENT, RATE_LIMITED, SLOW_SYNC, RECOVERED, "
                "ORCHESTRATION_FAILED; * is the catch-all: every category without an enabled route of its own.",
                max_length=64,
            ),
        ),
        migrations.RunPython(add_route, remove_route),
    ]
