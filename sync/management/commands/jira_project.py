from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core.interfaces.cli import service_errors
from sync.models import Project
from sync.services import controls, sites


class Command(BaseCommand):
    help = "Register Jira projects to sync (the key is checked against Jira first)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Register projects (all or none)")
        add.add_argument("--site", required=True, help="Site name (see `jira_site list`)")
        add.add_argument("--key", required=True, nargs="+", metavar="KEY")
        add.add_argument(
            "--track",
            nargs="*",
            default=[],
            metavar="ACCOUNT_ID",
            help="Only sync issues these accounts are assigned to, reported or logged work on",
        )
        add.add_argument("--cron", default=None, help="Schedule, default SYNC_DEFAULT_CRON")
        sub.add_parser("list", help="List registered projects")
        remove = sub.add_parser(
            "remove", help="Unregister a project: nothing syncs it; its data is kept unless --purge"
        )
        remove.add_argument("key", help="Project key or Jira id")
        remove.add_argument("--site", help="Site id or name, when the key is registered on several sites")
        remove.add_argument(
            "--purge", action="store_true", help="Also delete its issues, comments, worklogs and trail"
        )
        track = sub.add_parser("track", help="Track accounts and backfill their issues (full history)")
        track.add_argument("key", help="Project key or Jira id")
        track.add_argument("--site", help="Site id or name, when the key is registered on several sites")
        track.add_argument("account_ids", nargs="+", metavar="ACCOUNT_ID")
        untrack = sub.add_parser("untrack", help="Stop syncing these accounts' issues")
        untrack.add_argument("key", help="Project key or Jira id")
        untrack.add_argument("--site", help="Site id or name, when the key is registered on several sites")
        untrack.add_argument("account_ids", nargs="+", metavar="ACCOUNT_ID")
        untrack.add_argument("--purge", action="store_true", help="Also delete their stored issues")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for project in Project.objects.select_related("site", "sync_job").order_by("key"):
                job = project.sync_job
                self.stdout.write(f"{project.key}\t{project.site}\t{job.cron}\t{job.status}")
            return
        if options["action"] in ("track", "untrack"):
            self._tracking(options)
            return
        if options["action"] == "remove":
            with service_errors():
                project = sites.project_get(key_or_id=options["key"], site=options["site"])
                gone = sites.project_unregister(project=project, purge=options["purge"], actor="manage.py")
            if gone.purged:
                self.stdout.write(f"Unregistered {gone.project_key}; deleted its {gone.issues} issue(s)")
            else:
                self.stdout.write(
                    f"Unregistered {gone.project_key}; its {gone.issues} issue(s) are kept "
                    "(register it again to resume, or remove --purge to delete them)"
                )
            return
        with service_errors():
            site = sites.site_get(name=options["site"])
            projects = sites.projects_register(
                site=site,
                keys=options["key"],
                track=options["track"],
                cron=options["cron"],
                actor="manage.py",
            )
        for project in projects:
            self.stdout.write(f"Registered project {project.key} ({project.name}) on {site.name}")

    def _tracking(self, options: dict[str, Any]) -> None:
        with service_errors():
            project = sites.project_get(key_or_id=options["key"], site=options["site"])
            if options["action"] == "untrack":
                result = controls.tracked_users_remove(
                    project=project,
                    account_ids=options["account_ids"],
                    purge=options["purge"],
                    actor="manage.py",
                )
                self.stdout.write(f"Stopped tracking {result.removed} account(s) in {project.key}")
                return
            result = controls.tracked_users_add(
                project=project, account_ids=options["account_ids"], actor="manage.py"
            )
        if result.run is None:
            self.stdout.write(f"Every account was already tracked in {project.key}; nothing to backfill")
        else:
            self.stdout.write(f"Backfill run {result.run_id} of {project.key} requested")
