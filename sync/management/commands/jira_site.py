import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.interfaces.cli import service_errors
from sync.models import AuthKind, JiraSite
from sync.services import sites, webhooks


class Command(BaseCommand):
    help = "Register Jira sites (credentials are checked against Jira before anything is saved)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Register a site")
        add.add_argument("--name", required=True)
        add.add_argument("--url", required=True, help="e.g. https://your-site.atlassian.net")
        add.add_argument("--email", default="", help="Owner of the API token (Cloud)")
        source = add.add_mutually_exclusive_group()
        source.add_argument("--token-stdin", action="store_true", help="Read the Cloud API token from stdin")
        source.add_argument(
            "--pat-stdin",
            action="store_true",
            help="Read a Data Center personal access token from stdin",
        )
        sub.add_parser("list", help="List registered sites")
        secret = sub.add_parser(
            "webhook-secret", help="Set the secret Jira signs this site's webhooks with (stored encrypted)"
        )
        secret.add_argument("--name", required=True, help="The site's name")
        secret.add_argument(
            "--secret-stdin", action="store_true", help="Read the secret from stdin (else one is generated)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "webhook-secret":
            self._webhook_secret(options)
            return
        if options["action"] == "list":
            for site in JiraSite.objects.order_by("name"):
                self.stdout.write(f"{site.name}\t{site.base_url}\t{site.deployment}\t{site.time_zone}")
            return
        if options["token_stdin"] or options["pat_stdin"]:
            token = sys.stdin.readline().strip()
        else:
            token = os.environ.get("JIRA_API_TOKEN", "").strip()
        if not token:
            raise CommandError(
                "No API token: set JIRA_API_TOKEN or pass --token-stdin (--pat-stdin for Data Center)"
            )
        with service_errors():
            site = sites.site_add(
                name=options["name"],
                url=options["url"],
                email=options["email"],
                token=token,
                auth_kind=AuthKind.BEARER if options["pat_stdin"] else AuthKind.BASIC,
            )
        self.stdout.write(
            f"Registered site {site.name}: {site.get_deployment_display()} at {site.base_url}, "
            f"API user time zone {site.time_zone}"
        )

    def _webhook_secret(self, options: dict[str, Any]) -> None:
        given = sys.stdin.readline().strip() if options["secret_stdin"] else None
        with service_errors():
            site = sites.site_get(name=options["name"])
            secret = webhooks.webhook_secret_set(site=site, secret=given)
        self.stdout.write(
            f"Webhook URL for {site.name}: /webhooks/jira/{site.pk}/ (prefix it with this server's URL)"
        )
        if given is None:  # shown once, to be pasted into Jira's webhook form; never stored in clear
            self.stdout.write(f"Generated secret: {secret}")
        else:
            self.stdout.write("Secret stored.")
