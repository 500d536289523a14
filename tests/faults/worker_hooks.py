"""Fault points inside a worker process, armed by the test through marker files.

``KILL_AFTER_COMMIT``: the pool process SIGKILLs itself right after a sync step returned (its batch
committed, the next step published) and before the worker acknowledged the message, once per marker.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from celery.signals import task_postrun


def _marker() -> Path | None:
    path = os.environ.get("FAULTS_KILL_AFTER_COMMIT")
    return Path(path) if path else None


@task_postrun.connect
def kill_after_commit(sender: Any = None, args: Any = None, **_: Any) -> None:
    marker = _marker()
    if sender is None or sender.name != "sync.run_step" or marker is None:
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
