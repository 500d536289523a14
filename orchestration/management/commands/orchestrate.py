import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.interfaces.cli import service_errors
from core.workers import QueueWatch
from orchestration.history import describe
from orchestration.models import Event, Orchestration
from orchestration.services import controls


class Command(BaseCommand):
    help = "Start the six-phase workflow on a synced issue; --wait follows its phases live to the end."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("issue_key", help="Jira issue key, e.g. ALPHA-12")
        parser.add_argument("--site", help="Site id or name, when several sites hold the key")
        parser.add_argument("--auto-proceed", action="store_true", help="Skip the approval gates")
        parser.add_argument("--wait", action="store_true", help="Print each transition until it ends")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds --wait waits at most")
        parser.add_argument("--actor", default="manage.py", help="Recorded as who started it")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            orchestration = controls.orchestration_start(
                issue_key=options["issue_key"],
                site=options["site"],
                auto_proceed=options["auto_proceed"],
                actor=options["actor"],
            ).orchestration
        self.stderr.write(f"Started orchestration {orchestration.id} of {orchestration.issue_key}")
        if not options["wait"]:
            self.stdout.write(str(orchestration.id))
            return
        with service_errors():
            orchestration = self._follow(orchestration, options["timeout"])
        if orchestration.status != "SUCCEEDED":
            raise CommandError(
                f"Orchestration {orchestration.id} {orchestration.status}: "
                f"{orchestration.error_code} {orchestration.error_message}".strip()
            )

    def _follow(self, orchestration: Orchestration, timeout: float) -> Orchestration:
        deadline = time.monotonic() + timeout
        seen = 0
        # Phases only advance if a worker consumes the orchestration queue: say so instead of hanging.
        watch = QueueWatch("orchestration", f"Orchestration {orchestration.id}")
        while True:
            for event in Event.objects.filter(orchestration=orchestration, seq__gt=seen).order_by("seq"):
                seen = event.seq
                line = describe(event.type, event.payload)
                if line:
                    self.stdout.write(f"{event.created_at:%H:%M:%S} {line}")
                    self.stdout.flush()
            orchestration.refresh_from_db()
            if orchestration.is_terminal:
                return orchestration
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Orchestration {orchestration.id} still {orchestration.status} after {timeout:.0f}s"
                )
            watch.check()
            time.sleep(0.25)
