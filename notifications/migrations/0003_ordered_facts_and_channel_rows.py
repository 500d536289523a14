"""Facts keep their order (a list of pairs in the column)."""

from django.db import migrations, models


def facts_to_pairs(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    for notification in Notification.objects.exclude(facts=[]).iterator():
        if isinstance(notification.facts, dict):
            notification.facts = [[k, v] for k, v in notification.facts.items()]
            notification.save(update_fields=["facts"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_default_routes")]
    operations = [
        migrations.AlterField(
            model_name="notification",
            name="facts",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(facts_to_pairs, migrations.RunPython.noop),
    ]
