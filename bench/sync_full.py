"""Benchmark: sync against the fake Jira on PostgreSQL, Redis and one real Celery worker process.

    make bench                                                    # full sync, 2 projects x 1,000 issues
    .venv/bin/python -m bench.sync_full --issues 10000            # 20,000 issues: wall time and worker RSS
    .venv/bin/python -m bench.sync_full --changes 100             # then an incremental run after 100 changes
    .venv/bin/python -m bench.sync_full --profile var/sync.prof   # worker in a solo pool under cProfile
    .venv/bin/python -m bench.sync_full --concurrency 2 --search-latency-ms 1000 --latency-ms 250  # slow Jira

Prints wall time, Jira requests, the worker's peak RSS and whether the stored data (issues with their
comments, worklogs and sprint links, and their change history) equals Jira's. Against a slow fake
(``--latency-ms``, ``--search-latency-ms``) it also prints the most requests the API user had in flight
at once and when each project's run started and finished, to show whether projects overlap. It always
prints the most requests that arrived within any one second (to check ``JIRA_SITE_RATE`` against):

    JIRA_SITE_RATE=5 JIRA_SITE_BURST=1 .venv/bin/python -m bench.sync_full --concurrency 2
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.environment import prepare

ROOT = Path(__file__).resolve().parent.parent


def worker_command(args: argparse.Namespace) -> list[str]:
    celery = ["-m", "celery", "-A", "jiraplus", "worker", "-Q", "sync", "-l", "ERROR", "--without-gossip"]
    if args.profile:
        # A solo pool runs tasks in the main process, which is the one cProfile sees.
        return [sys.executable, "-m", "cProfile", "-o", args.profile, *celery, "-P", "solo"]
    return [sys.executable, *celery, "-c", str(args.concurrency)]


def worker_usage(root_pid: int) -> tuple[float, float]:
    """The worker's processes: the largest peak resident set (VmHWM, MB) and their CPU seconds in all."""
    pids = [root_pid]
    children = Path(f"/proc/{root_pid}/task/{root_pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    peak, cpu = 0.0, 0.0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
        cpu += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return peak, cpu


def make_changes(data: Any, keys: Sequence[str], count: int, seed: int = 11) -> dict[str, int]:
    """``count`` changes of every kind the sync follows, spread over the projects."""
    rng = random.Random(seed)
    issues = [i for k in keys for i in data.export(k)]
    kinds: list[tuple[str, Callable[[], object]]] = [
        ("update", lambda: data.update_issue(rng.choice(issues)["id"], summary=f"Edited {rng.random()}")),
        ("new_issue", lambda: data.add_issue(rng.choice(keys), summary="Created during the benchmark")),
        ("comment", lambda: data.add_comment(rng.choice(issues)["id"], "A comment from the benchmark")),
        ("worklog", lambda: data.add_worklog(rng.choice(issues)["id"], 900)),
        ("edit_worklog", lambda: _edit_worklog(data, rng, issues)),
        ("delete_issue", lambda: data.delete_issue(issues.pop(rng.randrange(len(issues)))["id"])),
    ]
    done: dict[str, int] = {}
    for n in range(count):
        name, change = kinds[n % len(kinds)]
        change()
        done[name] = done.get(name, 0) + 1
    return done


def _edit_worklog(data: Any, rng: random.Random, issues: list[dict[str, Any]]) -> object:
    with_worklogs = [i for i in issues if i["worklogs"]]
    worklog = rng.choice(rng.choice(with_worklogs)["worklogs"])
    return data.edit_worklog(worklog["id"], 4500)


def run_all(projects: Sequence[Any], *, full: bool) -> tuple[float, list[Any]]:
    from sync.services import runs

    started = time.monotonic()
    run_ids = [runs.request_sync(project=p, full=full).run.id for p in projects]
    while True:
        finished = list(runs.SyncRun.objects.filter(id__in=run_ids))
        if all(r.is_terminal for r in finished):
            return time.monotonic() - started, finished
        time.sleep(0.02)


def timeline(finished: Sequence[Any], requested: float) -> str:
    """Each run's start and end in seconds after the runs were requested: do the projects overlap?"""
    spans = [
        f"{run.project.key} {run.started_at.timestamp() - requested:.1f}"
        f"-{run.finished_at.timestamp() - requested:.1f}s"
        for run in sorted(finished, key=lambda r: r.started_at)
        if run.started_at and run.finished_at
    ]
    return "runs (start-end after request): " + ", ".join(spans)


def write_requests(path: Path, records: Sequence[Any]) -> None:
    """One line per request, seconds from the first arrival: to see when Jira was idle."""
    start = min(r.received for r in records)
    lines = ["received,answered,endpoint,status"]
    lines += [f"{r.received - start:.3f},{r.answered - start:.3f},{r.endpoint},{r.status}" for r in records]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--issues", type=int, default=1000, help="issues per project")
    parser.add_argument("--projects", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="worker pool processes (one worker)")
    parser.add_argument("--changes", type=int, default=0, help="then an incremental run after N changes")
    parser.add_argument("--profile", help="write a cProfile of the worker (solo pool) to this file")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the fake's latency per request")
    parser.add_argument(
        "--search-latency-ms", type=float, default=0.0, help="the fake's latency per search request instead"
    )
    parser.add_argument(
        "--requests-csv", help="write the full sync's requests (arrival, answer, endpoint) here"
    )
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/jiraplus_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    prepare(args.database, args.redis)

    from fakejira import FakeDataConfig, FakeJira
    from fakejira.latency import SEARCH_ENDPOINTS
    from sync.selectors import history_export, issues_export
    from sync.services import sites

    keys = [f"P{n}" for n in range(args.projects)]
    config = FakeDataConfig(seed=2024, projects=dict.fromkeys(keys, args.issues))
    fake_jira = FakeJira(config=config, latency_ms=args.latency_ms, search_latency_ms=args.search_latency_ms)
    with fake_jira.start() as fake:
        worker = subprocess.Popen(worker_command(args), cwd=ROOT, env=dict(os.environ))
        try:
            time.sleep(4)  # worker start-up, not measured
            site = sites.site_add(name="bench", url=fake.base_url, email=fake.email, token=fake.api_token)
            projects = [sites.project_add(site=site, key=k) for k in keys]

            def exact() -> bool:
                return all(
                    list(issues_export(project=p)) == fake.data.export(p.key)
                    and list(history_export(project=p)) == fake.data.export_history(p.key)
                    for p in projects
                )

            fake.reset_counters()
            _, cpu_before = worker_usage(worker.pid)
            own_cpu = time.process_time()
            requested = time.time()
            wall, finished = run_all(projects, full=True)
            own_cpu = time.process_time() - own_cpu
            in_flight = fake.max_in_flight(fake.email.lower())
            busiest = fake.most_requests_within(1.0)
            busy = sum(r.answered - r.received for r in fake.requests) / wall  # mean requests in flight
            if args.requests_csv:
                write_requests(Path(args.requests_csv), fake.requests)
            searches = sum(1 for r in fake.requests if r.endpoint in SEARCH_ENDPOINTS)
            peak, cpu = worker_usage(worker.pid)
            comments = sum(len(i["comments"]) for k in keys for i in fake.data.export(k))
            worklogs = sum(len(i["worklogs"]) for k in keys for i in fake.data.export(k))
            statuses = {r.status for r in finished}
            ok = exact() and statuses == {"SUCCEEDED"}
            print(
                f"full sync {args.projects} x {args.issues} issues "
                f"({comments} comments, {worklogs} worklogs): "
                f"{wall:.2f}s wall, {fake.request_count()} Jira requests, runs {sorted(statuses)}, "
                f"exact={ok}\n  worker: peak RSS {peak:.0f} MB, {cpu - cpu_before:.2f} s CPU; "
                f"fake Jira (benchmark process): {own_cpu:.2f} s CPU\n"
                f"  {searches} of the requests were searches; max in flight for the API user: {in_flight}; "
                f"on average {busy:.1f} in flight; most arriving within one second: {busiest}; "
                f"{timeline(finished, requested)}\n"
                f"  requests by endpoint: {dict(sorted(fake.stats()['by_endpoint'].items()))}"
            )
            if args.changes:
                fake.reset_counters()
                idle_wall, idle = run_all(projects, full=False)
                fixed = fake.request_count()
                done = make_changes(fake.data, keys, args.changes)
                fake.reset_counters()
                wall, finished = run_all(projects, full=False)
                statuses = {r.status for r in [*idle, *finished]}
                ok = ok and exact() and statuses == {"SUCCEEDED"}
                print(
                    f"incremental sync of {args.projects} projects after {args.changes} changes {done}: "
                    f"{wall:.2f}s wall, {fake.request_count()} Jira requests "
                    f"({fake.request_count() - fixed} beyond the {fixed} of a run with no changes, "
                    f"which took {idle_wall:.2f}s), runs {sorted(statuses)}, exact={ok}\n"
                    f"  requests by endpoint: {dict(sorted(fake.stats()['by_endpoint'].items()))}"
                )
            return 0 if ok else 1
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
