"""Operators' command line for the communication service: channel health, a test message, default routes."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.interfaces.cli import service_errors
from notifications import services
from notifications.models import ChannelConfig, Route
from notifications.transports import TRANSPORTS


class Command(BaseCommand):
    help = "Channel health, test messages and default routes of the notifications service."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="Each channel's configuration and health, and the routes")
        test = sub.add_parser("test", help="Queue a test message on a channel")
        test.add_argument("--channel", required=True, choices=list(TRANSPORTS))
        test.add_argument("--to", default="", help="Recipient; default: the channel's NOTIFY_* default")
        sub.add_parser("install-default-routes", help="Create the default routes that are missing")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "status":
            configs = {c.channel: c for c in ChannelConfig.objects.all()}
            for channel in TRANSPORTS:
                config = configs.get(channel)
                if config is None:
                    self.stdout.write(f"{channel}\tnot configured")
                    continue
                state = "healthy" if config.healthy else ("DISABLED" if not config.enabled else "failing")
                self.stdout.write(
                    f"{channel}\t{state}\tsecret {'set' if config.secret else 'missing'}\t"
                    f"failures in a row {config.consecutive_failures}\t{config.last_error_code or '-'}"
                )
            for route in Route.objects.all():
                recipients = route.recipients or "(defaults)"
                self.stdout.write(f"route\t{route}\t{recipients}\t{'on' if route.enabled else 'off'}")
            return
        with service_errors():
            if action == "test":
                notification = services.channel_send_test(
                    channel=options["channel"], recipient=options["to"], actor="manage.py"
                )
                self.stdout.write(f"Queued test message {notification.id} to {notification.recipient}")
            else:
                routes = services.route_defaults_install()
                self.stdout.write(f"{len(routes)} default routes present")
