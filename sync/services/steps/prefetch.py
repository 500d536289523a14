"""The later steps' reads, sent together at the start of a run.

Each step of a run reads Jira, then commits: run one after the other, a slow site makes a run the sum of
its latencies. The reads that need no other step's answer (the site's users, the project's boards and
sprints, the first issue page, the ids Jira lists for reconciliation and, on incremental runs, the
worklog change feeds) only depend on the run's window and scope, fixed by the start step. So once it
has fixed them, the start step sends them at once on a small pool (``SYNC_PREFETCH_THREADS``; each
request still takes a site slot, so the site's budget holds), waits for them (at most
``SYNC_PREFETCH_WAIT_SECONDS``, renewing its lease) and keeps their answers in the cache under the run's
project, window and scope. The step that needs an answer takes it from there and drops it when it
commits; an answer that is missing (a failed read, an expired entry, the cache down) only means the step
reads Jira itself, as it always did, failures handled the same way.

No read outlives the start step: a read still running when the wait ends stops at its next page and
is left to its step, so every request is counted on the run that sent it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from sync.jira.errors import JiraError
from sync.services.steps.context import StepContext, scope_jql, window_label

logger = logging.getLogger(__name__)

USERS, SPRINTS, FIRST_PAGE = "users", "sprints", "first_page"
LIVE_IDS, WORKLOG_CHANGES = "live_ids", "worklog_changes"
KEEP_SECONDS = 600  # an answer waits this long for its step (a redelivery included)

T = TypeVar("T")
Read = Callable[[Callable[[], None]], Any]  # called with a check to run between pages


class Stopped(Exception):
    """The start step stopped waiting: the read is left to its own step."""


def key(ctx: StepContext, name: str) -> str:
    run = ctx.run
    start = run.window_start.isoformat() if run.window_start else "full"
    label = json.dumps([window_label(run), start, name, scope_jql(run, windowed=False)])
    return f"jiraplus:sync:prefetch:{run.project_id}:{hashlib.sha256(label.encode()).hexdigest()[:32]}"


def send(ctx: StepContext, reads: dict[str, Read], meanwhile: Callable[[], T]) -> T:
    """Run ``reads`` (name -> read) on the pool and ``meanwhile`` on this thread, keep what the
    reads answered in time, and return what ``meanwhile`` returned."""
    threads = int(settings.SYNC_PREFETCH_THREADS)
    if threads <= 0 or not reads:
        return meanwhile()
    stop = threading.Event()

    def check() -> None:
        if stop.is_set():
            raise Stopped

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jira-prefetch")
    futures: dict[Future[Any], str] = {pool.submit(read, check): name for name, read in reads.items()}
    try:
        result = meanwhile()
        deadline = time.monotonic() + float(settings.SYNC_PREFETCH_WAIT_SECONDS)
        pending = set(futures)
        while pending and time.monotonic() < deadline:
            _, pending = wait(pending, timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            ctx.heartbeat()
    finally:
        stop.set()  # what still runs stops at its next page
        pool.shutdown(wait=True, cancel_futures=True)
    answers: dict[str, Any] = {}
    for future, name in futures.items():
        if future.cancelled():
            continue
        problem = future.exception()
        if problem is None:
            answers[key(ctx, name)] = future.result()
        elif not isinstance(problem, Stopped):
            code = problem.code if isinstance(problem, JiraError) else type(problem).__name__
            logger.info("reading %s at the start failed (%s); its step reads it itself", name, code)
    try:  # pickled by the cache, as the pages read ahead are
        cache.set_many(answers, KEEP_SECONDS)
    except Exception as exc:  # the cache is an optimisation: without it each step reads Jira
        logger.warning("could not keep the reads sent at the start (%s)", type(exc).__name__)
    return result


def take(ctx: StepContext, name: str) -> Any | None:
    """The answer read at the start for this step, or None (then the step reads Jira itself)."""
    try:
        return cache.get(key(ctx, name))
    except Exception as exc:
        logger.warning("could not read what the start read (%s)", type(exc).__name__)
        return None


def drop_on_commit(ctx: StepContext, name: str) -> None:
    """Inside the consuming step's batch: the answer goes once the step's work is committed."""
    cache_key = key(ctx, name)

    def drop() -> None:
        try:
            cache.delete(cache_key)
        except Exception as exc:  # it expires by itself
            logger.warning("could not drop what the start read (%s)", type(exc).__name__)

    transaction.on_commit(drop)
