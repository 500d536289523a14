from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from access import tokens
from access.models import ApiToken
from core.interfaces.cli import service_errors


class Command(BaseCommand):
    help = "List, revoke or rotate API tokens (create them with create_api_token)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser(
            "list", help="Every token: prefix, name, owner, scopes, sites, expiry, last use"
        )
        listing.add_argument("--user", help="Only this owner's")
        revoke = sub.add_parser("revoke", help="Stop a token at once")
        revoke.add_argument("prefix", help="e.g. jpp_ab12cd34")
        rotate = sub.add_parser(
            "rotate", help="A new secret with the same name and scopes; the old one stops"
        )
        rotate.add_argument("prefix")
        rotate.add_argument("--expires", help="Lifetime of the new secret; default: as long as the old one's")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            rows = ApiToken.objects.select_related("user").order_by("user__username", "name")
            if options["user"]:
                rows = rows.filter(user__username=options["user"])
            for t in rows:
                state = "revoked" if t.revoked_at else f"expires {t.expires_at or 'never'}"
                self.stdout.write(
                    f"{t.prefix}\t{t.name}\t{t.user.get_username()}\t{','.join(t.scopes)}\t"
                    f"sites {','.join(map(str, t.site_ids)) or 'all'}\t{state}\t"
                    f"last used {t.last_used_at or 'never'}"
                )
            return
        with service_errors():
            if action == "revoke":
                token = tokens.token_revoke(prefix=options["prefix"])
                self.stdout.write(f"Revoked {token.prefix} ({token.name})")
                return
            expires = tokens.expiry_parse(options["expires"]) if options["expires"] else None
            issued = tokens.token_rotate(prefix=options["prefix"], expires_at=expires)
        self.stdout.write(issued.secret)
        self.stderr.write(
            f"{options['prefix']} revoked; {issued.token.prefix} replaces it. Store the secret now."
        )
