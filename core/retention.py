"""Retention: delete old trail rows in small batches, each batch its own short transaction.

A single ``DELETE ... WHERE created_at < cutoff`` over a day of a busy trail holds its row locks and its
snapshot for as long as it runs; batches of a thousand ids keep every transaction short, so syncs writing
the same tables never wait long. Each app owns the purges of its own tables and registers them here
(from its ``AppConfig.ready``), so the ``purge_trail`` command walks them without importing the apps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone


class PurgeFunction(Protocol):
    def __call__(self, *, dry_run: bool = False, now: datetime | None = None) -> int: ...


@dataclass(frozen=True)
class Purge:
    kind: str  # what the rows are, for people: "sync logs"
    setting: str  # the setting naming its window in days
    purge: PurgeFunction


_PURGES: dict[str, Purge] = {}


def register(purge: Purge) -> None:
    _PURGES[purge.kind] = purge


def registered() -> list[Purge]:
    return list(_PURGES.values())


def cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def purge_in_batches(
    candidates: Callable[[], QuerySet[Any]],
    delete: Callable[[list[int]], object],
    *,
    dry_run: bool = False,
    batch_size: int | None = None,
) -> int:
    """Delete what ``candidates()`` selects, ``batch_size`` ids at a time; return how many rows went.

    Each batch locks its ids (skipping rows another purge holds, so two purges never handle the same
    row), hands them to ``delete`` and commits. ``dry_run`` only counts.
    """
    if dry_run:
        return candidates().count()
    size = batch_size or settings.RETENTION_BATCH_SIZE
    total, after = 0, 0
    while True:
        with transaction.atomic():
            # Each batch starts past the last id deleted (ids grow with age): without that, every batch
            # would walk again the index entries of the rows the previous batches deleted (dead until
            # vacuum), and a day's purge would slow down batch by batch. A row skipped because another
            # transaction held it waits for the next purge.
            ids = list(
                candidates()
                .filter(pk__gt=after)
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:size]
            )
            if not ids:
                return total
            delete(ids)
        total += len(ids)
        after = ids[-1]
        if len(ids) < size:
            return total
