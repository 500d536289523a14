"""Routes and messages categorised by a renamed classifier code take the spec's name (RATE_LIMITED ->
RATE_LIMIT, NETWORK -> NETWORK_GLITCH). Notification.error_code is the channel's own delivery code (a Slack
429 is RATE_LIMITED there) and is left alone. Reversible."""

from django.db import migrations, models

from core.codes import SPEC_RENAMES, codes_rename, codes_rename_by


def _routes(apps, mapping):
    # (category, channel) is unique: where an operator already made the new-named route, it wins and the
    # old-named one goes (its messages keep their rows; their route link is cleared).
    Route = apps.get_model("notifications", "Route")
    for old, new in mapping.items():
        for route in Route.objects.filter(category=old):
            if Route.objects.filter(category=new, channel=route.channel).exists():
                route.delete()
            else:
                route.category = new
                route.save(update_fields=["category"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0006_catch_all_route")]
    operations = [
        migrations.AlterField(
            model_name="route",
            name="category",
            field=models.CharField(
                help_text="e.g. TOKEN_EXPIRED, SUSPENDED_PAYMENT, RATE_LIMIT, SLOW_SYNC, RECOVERED, "
                "ORCHESTRATION_FAILED; * is the catch-all: every category without an enabled route of its own. "
                "Old code names (RATE_LIMITED, NETWORK) are saved as their new ones.",
                max_length=64,
            ),
        ),
        codes_rename_by(renames=SPEC_RENAMES, apply=_routes),
        codes_rename(renames=SPEC_RENAMES, columns=[("notifications", "Notification", "category")]),
    ]
