"""Benchmark: one day's retention purge of a steady-state trail, on PostgreSQL.

Writes 90 days of 100 projects x 96 runs a day (every 15 minutes; 5 % failed), 3 logs each, into its own
database (SQL ``generate_series``: this measures the purge, not the writes). Then purges twice:

1. the backlog at "now": the logs past their 30 days (60 days of logs) -- what the first purge after an
   upgrade does;
2. one day later (``now`` + 1 day): the steady state every daily purge meets -- a day of runs past 90 days
   (folded into the daily aggregate) and a day of logs past 30 days.

Prints each purge's duration and the tables' rows and sizes before and after.

    .venv/bin/python -m bench.retention                       # 100 projects x 96 runs/day x 90 days
    .venv/bin/python -m bench.retention --projects 10         # a quick look
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

from bench.environment import prepare

TABLES = ("sync_syncrun", "sync_synclog", "sync_syncrundaily")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--runs-per-day", type=int, default=96)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--logs-per-run", type=int, default=3)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/retention_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    prepare(args.database, args.redis)

    from django.db import connection
    from django.utils import timezone

    from sync.models import JiraSite, Project
    from sync.services.retention import sync_logs_purge, sync_runs_purge

    site = JiraSite.objects.create(name="bench", base_url="https://bench.example", api_token="x")
    Project.objects.bulk_create(
        Project(site=site, key=f"P{i}", jira_id=i, name=f"P{i}") for i in range(1, args.projects + 1)
    )
    now = timezone.now()
    slot = 86400 / args.runs_per_day
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Runs oldest first (ids grow with time, as in production), one every `slot` seconds per project.
        cursor.execute(
            """
            INSERT INTO sync_syncrun (project_id, trigger, "full", account_ids, status, step, seq, cursor,
                counts, http_requests, request_total, jira_ms, issues_done, coalesced, attempt, lease_token,
                error_code, error_message, created_at, started_at, finished_at, duration_ms, nominal_time)
            SELECT p.id, 'schedule', false, '[]', CASE WHEN n %% 20 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END,
                'done', 5, '{}', '{"issues_upserted": 12}', '{}', 12, 800, 12, 0, 1, '',
                CASE WHEN n %% 20 = 0 THEN 'NETWORK_GLITCH' ELSE '' END, '',
                t, t, t + interval '2 seconds', 2000, t
            FROM generate_series(1, %s) AS n
            CROSS JOIN LATERAL (SELECT %s - n * %s * interval '1 second' AS t) AS at
            CROSS JOIN sync_project AS p
            ORDER BY t, p.id
            """,
            [args.days * args.runs_per_day, now, slot],
        )
        cursor.execute(
            """
            INSERT INTO sync_synclog (project_id, run_id, level, message, details, created_at)
            SELECT r.project_id, r.id, 'INFO', 'step ' || k || ' committed', '{"issues": 12}',
                r.created_at + k * interval '1 second'
            FROM sync_syncrun AS r CROSS JOIN generate_series(1, %s) AS k ORDER BY r.id, k
            """,
            [args.logs_per_run],
        )
        cursor.execute("ANALYZE")
    print(
        f"wrote {args.days} days x {args.projects} projects x {args.runs_per_day} runs/day "
        f"({args.logs_per_run} logs each) in {time.perf_counter() - started:.1f}s"
    )
    _sizes("written")

    for label, at in (
        ("backlog purge at now", now),
        ("one day's purge at now + 1 day", now + timedelta(days=1)),
    ):
        started = time.perf_counter()
        runs = sync_runs_purge(now=at)
        middle = time.perf_counter()
        logs = sync_logs_purge(now=at)
        done = time.perf_counter()
        print(
            f"{label}: {done - started:.2f}s total; runs {runs} in {middle - started:.2f}s, "
            f"logs {logs} in {done - middle:.2f}s"
        )
        _sizes("after")
    return 0


def _sizes(label: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT count(*), pg_total_relation_size(%s) FROM {table}", [table])  # noqa: S608
            rows, size = cursor.fetchone()
            print(f"  {label}: {table}: {rows:,} rows, {size / 2**20:.0f} MiB")


if __name__ == "__main__":
    raise SystemExit(main())
