from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.interfaces.cli import service_errors
from sync.services.api_tokens import api_token_issue


class Command(BaseCommand):
    help = "Print the API token of a user (created on first use): send it as `Authorization: Token <key>`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true", help="Replace the existing token")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            key = api_token_issue(username=options["username"], rotate=options["rotate"])
        self.stdout.write(key)
