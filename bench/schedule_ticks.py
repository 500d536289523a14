"""Benchmark: the schedule layer at N projects — reschedule (CrontabSchedule + PeriodicTask edit), tick
admission (first copy, duplicate copy from a second beat, overlap skip), and beat loading and checking N
project entries with our cron clock. PostgreSQL and Redis, no Jira (nothing here talks to it).

    .venv/bin/python -m bench.schedule_ticks --projects 500
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta

BENCH_KEY = "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMzI="


def timed(label: str, count: int, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f}s for {count} ({elapsed / count * 1000:.2f} ms each)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/jiraplus_bench_schedules")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.redis,
        JIRAPLUS_SECRET_KEYS=os.environ.get("JIRAPLUS_SECRET_KEYS", BENCH_KEY),
        DJANGO_SETTINGS_MODULE="jiraplus.settings",
    )
    name = args.database.rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=False)

    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.utils import timezone

    from jiraplus.celery import app
    from sync.beat import SyncScheduler
    from sync.models import JiraSite, Project, SyncJob, SyncRun
    from sync.services import controls, schedules

    call_command("migrate", verbosity=0)
    call_command("flush", "--noinput", verbosity=0)
    redis.Redis.from_url(args.redis).flushdb()
    n = args.projects
    site = JiraSite.objects.create(name="bench", base_url="https://bench.example", api_token="unused")
    projects = Project.objects.bulk_create(
        [Project(site=site, key=f"P{i}", jira_id=i + 1, name=f"P{i}") for i in range(n)]
    )
    jobs = SyncJob.objects.bulk_create([SyncJob(project=p, cron="* * * * *") for p in projects])
    for job in jobs:
        schedules.schedule_install(job=job)

    timed(
        "reschedule (validate, edit own crontab + beat entry, audit line)",
        n,
        lambda: [controls.sync_reschedule(project=p, cron="*/5 * * * *") for p in projects],
    )
    slot = schedules.cron_next_fire(expression="*/5 * * * *", after=timezone.now())
    timed(
        "tick admitted (a run created)",
        n,
        lambda: [schedules.tick_admit(project_id=p.id, nominal=slot) for p in projects],
    )
    timed(
        "duplicate tick refused (second beat)",
        n,
        lambda: [schedules.tick_admit(project_id=p.id, nominal=slot) for p in projects],
    )
    timed(
        "overlapping tick recorded as SKIPPED_OVERLAP",
        n,
        lambda: [
            schedules.tick_admit(project_id=p.id, nominal=slot + timedelta(minutes=5)) for p in projects
        ],
    )
    runs = SyncRun.objects.filter(trigger="schedule")
    assert runs.filter(status="QUEUED").count() == n, "one run per project and slot"
    assert runs.filter(error_code="SKIPPED_OVERLAP").count() == n, "one skip record per project"

    scheduler = SyncScheduler(app=app, lazy=True)
    timed("beat loads its entries", n, scheduler.all_as_schedule)
    entries = list(scheduler.all_as_schedule().values())
    timed("beat checks every entry once (is_due)", len(entries), lambda: [e.is_due() for e in entries])
    redis.Redis.from_url(args.redis).flushdb()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
