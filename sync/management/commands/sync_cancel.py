from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.interfaces.cli import service_errors
from sync.services import controls, sites


class Command(BaseCommand):
    help = (
        "Cancel a project's queued or running sync: it ends CANCELLED at its next step boundary, "
        "keeping the batches it committed; no cursor moves."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("key", help="Project key or Jira id")
        parser.add_argument("--site", help="Site id or name, when the key is registered on several sites")
        parser.add_argument("--note", default="", help="Why, for the trail")
        parser.add_argument("--actor", default="manage.py", help="Who is recorded as having cancelled it")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            project = sites.project_get(key_or_id=options["key"], site=options["site"])
            result = controls.sync_cancel(project=project, actor=options["actor"], note=options["note"])
        run = result.run
        assert run is not None  # a cancel always names the run it cancelled
        if run.is_terminal:
            self.stdout.write(f"Cancelled sync run {run.id} of {project.key}")
        else:
            self.stdout.write(f"Sync run {run.id} of {project.key} stops after its current step '{run.step}'")
