import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.interfaces.cli import service_errors
from sync import selectors
from sync.services import sites

EXPORTERS = {
    "history": selectors.history_export,
    "issues": selectors.issues_export,
    "sprints": selectors.sprints_export,
    "users": selectors.users_export,
}


class Command(BaseCommand):
    help = "Write what is stored for a project as JSON Lines (sorted by id), for backups and diffs."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("key", help="Project key or Jira id")
        parser.add_argument("--site", help="Site id or name, when the key is registered on several sites")
        parser.add_argument("--entity", choices=sorted(EXPORTERS), default="issues")
        parser.add_argument("--output", default="-", help="File to write, '-' for stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            project = sites.project_get(key_or_id=options["key"], site=options["site"])
        rows = EXPORTERS[options["entity"]](project=project)
        out = sys.stdout if options["output"] == "-" else open(options["output"], "w", encoding="utf-8")  # noqa: SIM115
        try:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        finally:
            if out is not sys.stdout:
                out.close()
