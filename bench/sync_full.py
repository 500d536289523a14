"""Benchmark: full sync of 2 projects x 1,000 issues against the fake Jira, on PostgreSQL, Redis and one
Celery worker process. Prints wall time, Jira requests and whether the stored data equals Jira's.

    make bench            # or: .venv/bin/python -m bench.sync_full --issues 1000 --projects 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMzI="


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=1000, help="issues per project")
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="worker pool processes (one worker)")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/jiraplus_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.redis,
        JIRAPLUS_SECRET_KEYS=os.environ.get("JIRAPLUS_SECRET_KEYS", BENCH_KEY),
        DJANGO_SETTINGS_MODULE="jiraplus.settings",
        JIRA_SITE_RATE="1000",
        JIRA_SITE_BURST="1000",
    )
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", "jiraplus_bench"], capture_output=True, check=False
    )

    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from sync.jira.fake import FakeDataConfig, FakeJira
    from sync.selectors import export_issues
    from sync.services import runs, sites

    call_command("migrate", verbosity=0)
    call_command("flush", "--noinput", verbosity=0)
    redis.Redis.from_url(args.redis).flushdb()
    keys = [f"P{n}" for n in range(args.projects)]
    config = FakeDataConfig(seed=2024, projects=dict.fromkeys(keys, args.issues))
    with FakeJira(config=config).start() as fake:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "jiraplus",
                "worker",
                "-Q",
                "sync",
                "-c",
                str(args.concurrency),
                "-l",
                "ERROR",
            ],
            cwd=ROOT,
            env=dict(os.environ),
        )
        try:
            time.sleep(4)  # worker start-up, not measured
            site = sites.site_add(name="bench", url=fake.base_url, email=fake.email, token=fake.api_token)
            projects = [sites.project_add(site=site, key=k) for k in keys]
            fake.reset_counters()
            started = time.monotonic()
            run_ids = [runs.request_sync(project=p, full=True).run.id for p in projects]
            finished: dict[int, runs.SyncRun] = {}
            while len(finished) < len(run_ids):
                for run in runs.SyncRun.objects.filter(id__in=run_ids):
                    if run.is_terminal and run.id not in finished:
                        finished[run.id] = run
                time.sleep(0.05)
            wall = time.monotonic() - started
            exact = all(list(export_issues(p)) == fake.data.export(p.key) for p in projects)
            comments = sum(len(i["comments"]) for k in keys for i in fake.data.export(k))
            worklogs = sum(len(i["worklogs"]) for k in keys for i in fake.data.export(k))
            statuses = {r.status for r in finished.values()}
            print(
                f"full sync {args.projects} x {args.issues} issues "
                f"({comments} comments, {worklogs} worklogs): "
                f"{wall:.2f}s wall, {fake.request_count()} Jira requests, runs {sorted(statuses)}, "
                f"exact={exact}"
            )
            return 0 if exact and statuses == {"SUCCEEDED"} else 1
        finally:
            worker.terminate()
            worker.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
