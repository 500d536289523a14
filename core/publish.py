"""Publishing a Celery task only once the surrounding transaction has committed.

A task message names a row; a worker that received it before the commit would not find the row (or would
find its old state), so nothing is published before the commit, and nothing at all when the transaction
rolls back. Outside any transaction (autocommit) the message goes out at once, as Django runs on-commit
callbacks immediately there. A failed publish is logged and never raised into the code that committed:
the data is already durable, and the reapers and sweeps re-publish whatever was not sent.

A task name goes through ``send_task`` (the publisher need not import the task's module, which keeps apps
apart). A ``Signature`` goes through ``apply_async`` and so honours ``task_always_eager``; ``send_task``
never runs a task eagerly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Signature, current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def publish_after_commit(
    task: str | Signature,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    queue: str | None = None,
    countdown: float = 0,
    using: str | None = None,
    **options: Any,
) -> None:
    """Publish ``task`` once the transaction on ``using`` commits (at once in autocommit).

    ``countdown`` is only passed when positive, so a zero delay publishes a plain message.
    """
    if queue is not None:
        options["queue"] = queue
    if countdown > 0:
        options["countdown"] = countdown
    name = task if isinstance(task, str) else task.name

    def publish() -> None:
        try:
            if isinstance(task, str):
                current_app.send_task(task, args=list(args), kwargs=dict(kwargs or {}), **options)
            else:
                task.apply_async(args=tuple(args), kwargs=dict(kwargs or {}), **options)
        except Exception:
            logger.exception("publishing %s (args %s) after commit failed", name, list(args))

    publish.__qualname__ = f"publish_after_commit[{name}]"  # what Django names if it logs the callback
    transaction.on_commit(publish, using=using, robust=True)
