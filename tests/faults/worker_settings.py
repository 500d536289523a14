"""Settings for worker processes of the fault suite: the test settings plus the fault hooks."""

from tests.settings import *  # noqa: F403

CELERY_IMPORTS = ["tests.faults.worker_hooks"]
