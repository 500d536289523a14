"""A channel switched off after repeated failures is announced by email (route CHANNEL_DISABLED)."""

from django.db import migrations


def add_route(apps, schema_editor):
    Route = apps.get_model("notifications", "Route")
    Route.objects.get_or_create(category="CHANNEL_DISABLED", channel="email")


def remove_route(apps, schema_editor):
    Route = apps.get_model("notifications", "Route")
    Route.objects.filter(category="CHANNEL_DISABLED", channel="email", recipients="").delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0004_facts_ordered_dict_field")]
    operations = [migrations.RunPython(add_route, remove_route)]
