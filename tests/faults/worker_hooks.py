"""Fault points inside a worker process, armed by the test through environment variables and marker files.

``FAULTS_KILL_AFTER_COMMIT``: the pool process SIGKILLs itself right after a sync step returned (its batch
committed, the next step published) and before the worker acknowledged the message, once per marker.
``FAULTS_KILL_AFTER_PAGE``: the whole worker (main process and pool children) is SIGKILLed right after an
issues step committed a page and before the step's next page, once per marker: a machine lost between the
transactions of one step.
``FAULTS_POISON_ISSUES``: every issues step kills its process midway (after claiming the run), like a
payload that makes the worker run out of memory each time: a poison message.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from celery.signals import task_postrun

from sync import task_names as sync_task_names


def _marker(name: str) -> Path | None:
    path = os.environ.get(name)
    return Path(path) if path else None


def _due(marker: Path | None) -> bool:
    """Count the marker's number down; True (once, the marker removed) when it reaches the last one."""
    if marker is None:
        return False
    try:
        remaining = int(marker.read_text() or "1")
    except FileNotFoundError:
        return False
    if remaining > 1:  # let this many through before dying
        marker.write_text(str(remaining - 1))
        return False
    marker.unlink()
    return True


@task_postrun.connect
def kill_after_commit(sender: Any = None, args: Any = None, **_: Any) -> None:
    if (
        sender is not None
        and sender.name == sync_task_names.RUN_STEP
        and _due(_marker("FAULTS_KILL_AFTER_COMMIT"))
    ):
        os.kill(os.getpid(), signal.SIGKILL)


def _kill_worker_after_page() -> None:
    from django.db import transaction

    from sync.services.steps.context import StepContext

    checkpoint = StepContext.checkpoint

    def dying_checkpoint(self: StepContext, **changes: Any) -> None:
        checkpoint(self, **changes)
        if _due(_marker("FAULTS_KILL_AFTER_PAGE")):
            transaction.on_commit(lambda: os.killpg(os.getpgrp(), signal.SIGKILL))

    StepContext.checkpoint = dying_checkpoint  # type: ignore[method-assign]


if os.environ.get("FAULTS_KILL_AFTER_PAGE"):
    _kill_worker_after_page()


def _poisoned_issues_step(ctx: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if os.environ.get("FAULTS_POISON_ISSUES"):
    from sync.services import engine

    engine.STEPS["issues"] = _poisoned_issues_step
