from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.interfaces.cli import service_errors
from sync.models import SyncRun
from sync.services import controls, schedules, sites


class Command(BaseCommand):
    help = "Steer a project's schedule: pause, resume, start (run now), or change its cron."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("key", help="Project key or Jira id")
        parser.add_argument("--site", help="Site id or name, when the key is registered on several sites")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--pause", action="store_true", help="Stop scheduled runs (triggers still work)")
        action.add_argument("--resume", action="store_true", help="Scheduled runs again, none now")
        action.add_argument("--start", action="store_true", help="Resume and run a sync now")
        action.add_argument("--cron", help="New schedule, 5 fields, e.g. '*/30 * * * *'")
        parser.add_argument("--note", default="", help="Why the schedule is paused (with --pause)")
        parser.add_argument("--full", action="store_true", help="With --start: ignore cursors, re-read all")
        parser.add_argument("--actor", default="manage.py", help="Who is recorded as having done it")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = options["actor"]
        with service_errors():
            project = sites.project_get(key_or_id=options["key"], site=options["site"])
            if options["pause"]:
                result = controls.sync_pause(project=project, note=options["note"], actor=actor)
            elif options["resume"]:
                result = controls.sync_resume(project=project, actor=actor)
            elif options["start"]:
                result = controls.sync_start(
                    project=project, full=options["full"], actor=actor, trigger=SyncRun.Trigger.COMMAND
                )
                verb = "Started" if result.run_created else "Joined the active"
                self.stdout.write(f"{verb} sync run {result.run_id} of {project.key}")
            else:
                result = controls.sync_reschedule(project=project, cron=options["cron"], actor=actor)
        job = result.job
        cron = job.active_cron
        next_run = job.next_run_at.isoformat() if job.next_run_at else "-"
        described = schedules.cron_describe(expression=cron)
        self.stdout.write(f"{project.key}: {job.status}, cron '{job.cron}' ({described}), next {next_run}")
