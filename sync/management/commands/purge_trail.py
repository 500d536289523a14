"""Purge every app's trail past its retention now (the daily beat tasks do the same)."""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from core import retention


class Command(BaseCommand):
    help = "Delete trail rows (runs, logs, events, notifications) older than their retention windows."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        verb = "would delete" if dry_run else "deleted"
        for purge in retention.registered():
            days = getattr(settings, purge.setting)
            count = purge.purge(dry_run=dry_run)
            self.stdout.write(f"{purge.kind}: {verb} {count} older than {days} days ({purge.setting})")
