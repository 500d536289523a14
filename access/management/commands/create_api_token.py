from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from access import tokens
from core import scopes
from core.interfaces.cli import service_errors
from sync.selectors import site_by_ref


class Command(BaseCommand):
    help = (
        "Issue an API token and print its secret, once (only a digest is stored). Send it as "
        "`Authorization: Bearer <secret>`."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="What uses the token, e.g. 'dashboards'")
        parser.add_argument(
            "--user", required=True, help="The owner; the token never exceeds their permissions"
        )
        parser.add_argument(
            "--scope",
            action="append",
            required=True,
            choices=scopes.SCOPES,
            help="Repeat for several: read, operate, notify, admin",
        )
        parser.add_argument(
            "--site",
            action="append",
            default=[],
            help="Limit it to this Jira site (name or id); repeat for several. Default: every site",
        )
        parser.add_argument("--expires", default="90d", help="Lifetime: 90d (default), 12h, 2w, or never")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            issued = tokens.token_create(
                name=options["name"],
                username=options["user"],
                scope_names=options["scope"],
                expires_at=tokens.expiry_parse(options["expires"]),
                site_ids=[site_by_ref(ref=ref, field="site").id for ref in options["site"]],
            )
        self.stdout.write(issued.secret)
        expires = issued.token.expires_at.isoformat() if issued.token.expires_at else "never"
        self.stderr.write(
            f"{issued.token.prefix} ({issued.token.name}): scopes {', '.join(issued.token.scopes)}, "
            f"expires {expires}. Store the secret now: it cannot be shown again."
        )
