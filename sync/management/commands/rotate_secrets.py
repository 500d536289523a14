from typing import Any

from django.core.management.base import BaseCommand

from core.audit.trail import record
from core.crypto import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (Jira tokens, channel secrets, webhook secrets) with the newest key "
        "of JIRAPLUS_SECRET_KEYS. Rotation: put a new key first, run this, then remove the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = rotate_all()
        record("secrets.rotate", "every encrypted field", detail={"rows": sum(rotated.values())})
        for label, count in sorted(rotated.items()):
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(f"Rotated {sum(rotated.values())} secrets to the newest key.")
