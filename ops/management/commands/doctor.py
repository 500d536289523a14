import sys
from typing import Any

from django.core.management.base import BaseCommand

from ops.status import system_status

MAX_EXIT = 100  # exit statuses above 125 mean "killed by a signal" to shells


class Command(BaseCommand):
    help = "Check every part the service needs; the exit status is the number of failing checks."

    def handle(self, *args: Any, **options: Any) -> None:
        checks = system_status()
        width = max(len(check.name) for check in checks)
        for check in checks:
            mark = self.style.SUCCESS("ok  ") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {check.name:<{width}}  {check.detail}")
        failing = sum(not check.ok for check in checks)
        self.stdout.write(f"{len(checks) - failing} of {len(checks)} checks ok")
        if failing:
            self.stdout.flush()
            sys.exit(min(failing, MAX_EXIT))
