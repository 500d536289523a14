"""Default routing: billing and access problems reach people by email and WhatsApp, latency goes to Slack,
recoveries to email and Slack, orchestration events by email. Editable in the admin afterwards; recipients
stay empty so the NOTIFY_* settings apply (docs/notifications.md)."""

from django.db import migrations

DEFAULT_ROUTES = {
    "SUSPENDED_PAYMENT": ["email", "whatsapp"],
    "SITE_DEACTIVATED": ["email", "whatsapp"],
    "TOKEN_EXPIRED": ["email", "whatsapp"],
    "RATE_LIMITED": ["slack"],
    "SLOW_SYNC": ["slack"],
    "RECOVERED": ["email", "slack"],
    "ORCHESTRATION_APPROVAL_NEEDED": ["email"],
    "ORCHESTRATION_FAILED": ["email"],
    "ORCHESTRATION_SUCCEEDED": ["email"],
}


def add_routes(apps, schema_editor):
    Route = apps.get_model("notifications", "Route")
    for category, channels in DEFAULT_ROUTES.items():
        for channel in channels:
            Route.objects.get_or_create(category=category, channel=channel)


def remove_routes(apps, schema_editor):
    Route = apps.get_model("notifications", "Route")
    for category, channels in DEFAULT_ROUTES.items():
        Route.objects.filter(category=category, channel__in=channels, recipients="").delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_notification_route_channelconfig")]
    operations = [migrations.RunPython(add_routes, remove_routes)]
