from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orchestration.history import describe, rebuild, stored_state
from orchestration.models import Orchestration


class Command(BaseCommand):
    help = "Print an orchestration's timeline of events and check that they rebuild its stored state."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("id", type=int)
        parser.add_argument("--raw", action="store_true", help="Every event with its full payload")

    def handle(self, *args: Any, **options: Any) -> None:
        orchestration = Orchestration.objects.filter(id=options["id"]).first()
        if orchestration is None:
            raise CommandError(f"NOT_FOUND: No orchestration {options['id']}")
        self.stdout.write(
            f"Orchestration {orchestration.id} of {orchestration.issue_key}: {orchestration.status}"
            + (f" ({orchestration.error_code})" if orchestration.error_code else "")
        )
        for event in orchestration.events.order_by("seq"):
            text = (
                describe(event.type, event.payload) if not options["raw"] else f"{event.type} {event.payload}"
            )
            if text:
                actor = f" [{event.actor}]" if event.actor else ""
                self.stdout.write(
                    f"{event.seq:4d} {event.created_at:%Y-%m-%d %H:%M:%S.%f}"[:-3] + f" {text}{actor}"
                )
        consistent = rebuild(orchestration) == stored_state(orchestration)
        self.stdout.write(
            "History rebuilds the stored state." if consistent else "WARNING: history and state differ!"
        )
