"""Fault points inside a worker process, armed by the test through environment variables and marker files.

``FAULTS_KILL_AFTER_COMMIT``: the pool process SIGKILLs itself right after a sync step returned (its batch
committed, the next step published) and before the worker acknowledged the message, once per marker.
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


def _marker() -> Path | None:
    path = os.environ.get("FAULTS_KILL_AFTER_COMMIT")
    return Path(path) if path else None


@task_postrun.connect
def kill_after_commit(sender: Any = None, args: Any = None, **_: Any) -> None:
    marker = _marker()
    if sender is None or sender.name != sync_task_names.RUN_STEP or marker is None:
        return
    try:
        steps = int(marker.read_text() or "1")
    except FileNotFoundError:
        return
    if steps > 1:  # let this many steps through before dying
        marker.write_text(str(steps - 1))
        return
    marker.unlink()
    os.kill(os.getpid(), signal.SIGKILL)


def _poisoned_issues_step(ctx: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


if os.environ.get("FAULTS_POISON_ISSUES"):
    from sync.services import engine

    engine.STEPS["issues"] = _poisoned_issues_step
