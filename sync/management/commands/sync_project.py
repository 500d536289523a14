import json
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.interfaces.cli import service_errors
from core.workers import QueueWatch
from sync.models import SyncLog, SyncRun
from sync.selectors import run_summary
from sync.services import controls, sites


class Command(BaseCommand):
    help = "Request a sync of a project; it runs on the Celery workers. --wait follows it to the end."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("key", help="Project key or Jira id")
        parser.add_argument("--site", help="Site id or name, when the key is registered on several sites")
        parser.add_argument("--full", action="store_true", help="Ignore cursors and re-read everything")
        parser.add_argument(
            "--account-id",
            action="append",
            default=[],
            dest="account_ids",
            help="Only issues this account is assigned to, reported or logged work on (repeatable)",
        )
        parser.add_argument("--wait", action="store_true", help="Follow the run with a progress bar")
        parser.add_argument("--json", action="store_true", help="End with the summary as one JSON line")
        parser.add_argument("--timeout", type=float, default=3600, help="Seconds --wait waits at most")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            project = sites.project_get(key_or_id=options["key"], site=options["site"])
            # Through the controls, so a site refusing our credentials is refused here as everywhere.
            result = controls.sync_trigger(
                project=project,
                full=options["full"],
                account_ids=options["account_ids"],
                actor="manage.py",
                trigger=SyncRun.Trigger.COMMAND,
            )
        run = result.run
        assert run is not None  # a trigger always starts or joins a run
        verb = "Started" if result.run_created else "Joined the active"
        self.stderr.write(f"{verb} sync run {run.id} of {project.key}")
        if not options["wait"]:
            if options["json"]:
                self.stdout.write(json.dumps(run_summary(run=run)))
            return
        with service_errors():
            run = self._follow(run, options["timeout"])
        summary = run_summary(run=run)
        self._print(summary)
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        if run.status != "SUCCEEDED":
            advice = (
                SyncLog.objects.filter(run=run, level=SyncLog.Level.ERROR)
                .values_list("details", flat=True)
                .last()
                or {}
            ).get("advice", "")
            raise CommandError(f"{run.error_code}: {run.error_message}" + (f" — {advice}" if advice else ""))

    def _follow(self, run: SyncRun, timeout: float) -> SyncRun:
        deadline = time.monotonic() + timeout
        # The run only moves if a worker consumes the sync queue: say so instead of waiting in silence.
        watch = QueueWatch("sync", f"Sync run {run.id}")
        with tqdm(total=None, unit="issue", desc=run.project.key, file=self.stderr._out, leave=True) as bar:
            while True:
                run.refresh_from_db()
                if run.approx_total is not None and bar.total != run.approx_total:
                    bar.total = run.approx_total
                bar.update(run.issues_done - bar.n)
                if run.is_terminal:
                    return run
                if time.monotonic() > deadline:
                    raise CommandError(f"Run {run.id} still {run.status} after {timeout:.0f}s (it goes on)")
                watch.check()
                time.sleep(0.25)

    def _print(self, s: dict[str, Any]) -> None:
        self.stdout.write(
            f"{s['status']}: {s['issues']} issues ({s['issues_deleted']} deleted), "
            f"{s['comments']} comments ({s['comments_deleted']} deleted), "
            f"{s['worklogs']} worklogs ({s['worklogs_deleted']} deleted), {s['sprints']} sprints, "
            f"{s['users']} users; {s['http_requests']} Jira requests in {s['duration_s']}s"
        )
