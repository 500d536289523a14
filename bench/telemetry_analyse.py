"""Benchmark: the telemetry analyser and /metrics over many projects' run history, on PostgreSQL.

Writes N projects x M terminal runs (bulk rows: this measures the analyser, not the sync), then times
the first pass (reads each project's latest 100 runs), an idle pass (nothing new: the every-minute steady
state), a pass after one new run per project, and one /metrics exposition.

    .venv/bin/python -m bench.telemetry_analyse --projects 500 --runs 100
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import time
from datetime import timedelta

BENCH_KEY = "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMzI="


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--runs", type=int, default=100, help="terminal runs per project")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/telemetry_bench")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database,
        JIRAPLUS_SECRET_KEYS=os.environ.get("JIRAPLUS_SECRET_KEYS", BENCH_KEY),
        DJANGO_SETTINGS_MODULE="jiraplus.settings",
        # Codes below every threshold: the passes read and judge history without touching schedules.
        TELEMETRY_FAILURE_THRESHOLD="1000",
    )
    name = args.database.rsplit("/", 1)[1]
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], capture_output=True, check=False)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from sync.models import JiraSite, Project, SyncRun
    from telemetry import metrics, services
    from telemetry.models import BackoffState

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE sync_jirasite, telemetry_backoffstate CASCADE")
    site = JiraSite.objects.create(name="bench", base_url="https://bench.example", api_token="x")
    projects = Project.objects.bulk_create(
        Project(site=site, key=f"P{i}", jira_id=i) for i in range(1, args.projects + 1)
    )
    rng = random.Random(7)
    start = timezone.now() - timedelta(days=30)

    def run_rows(project: Project, count: int, offset: int) -> list[SyncRun]:
        rows = []
        for n in range(count):
            failed = rng.random() < 0.1
            moment = start + timedelta(minutes=15 * (offset + n))
            rows.append(
                SyncRun(
                    project=project,
                    status="FAILED" if failed else "SUCCEEDED",
                    error_code="TIMEOUT" if failed else "",
                    created_at=moment,
                    finished_at=moment + timedelta(seconds=5),
                    duration_ms=rng.randint(800, 1500),
                    request_total=rng.randint(3, 30),
                    counts={"issues_upserted": rng.randint(0, 200), "comments_upserted": rng.randint(0, 300)},
                )
            )
        return rows

    for project in projects:
        SyncRun.objects.bulk_create(run_rows(project, args.runs, 0))
    total = SyncRun.objects.count()

    def timed(label: str, action: object) -> None:
        began = time.perf_counter()
        result = action()  # type: ignore[operator]
        print(f"{label}: {time.perf_counter() - began:.2f}s  {result}")

    timed(f"first pass ({args.projects} projects, {total} runs)", services.runs_analyse)
    timed("idle pass (nothing new)", services.runs_analyse)
    for project in projects:
        SyncRun.objects.bulk_create(run_rows(project, 1, args.runs))
    timed("pass after one new run per project", services.runs_analyse)
    timed("/metrics exposition", lambda: f"{len(metrics.exposition())} bytes")
    assert BackoffState.objects.count() == args.projects
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
