"""Benchmark: the orchestration engine itself, with instant (noop) agents on real Celery workers.

1. Latency: one orchestration end to end (EXPLORE → DOCUMENT, auto-proceed) on one worker process, repeated.
2. Load: N orchestrations on two worker processes; all must finish with zero duplicate phase executions.
3. Idle: CPU used by the workers while nothing is queued (no busy polling), read from /proc.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m bench.orchestration
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEY = "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMzI="
PHASES = ("EXPLORE", "PLAN", "CODE", "TEST", "FIX", "DOCUMENT")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def start_worker(name: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "jiraplus", "worker", "-Q", "orchestration"]
    command += ["-c", "1", "-l", "ERROR", "-n", f"{name}@%h", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(command, cwd=ROOT, env=dict(os.environ))


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            pids += process_tree(int(child))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / CLOCK_TICKS


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10, help="single orchestrations for the latency figure")
    parser.add_argument("--load", type=int, default=200, help="orchestrations for the load figure")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    database, broker = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database or not broker:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: the benchmark flushes both")
    os.environ.update(
        CELERY_BROKER_URL=broker,
        JIRAPLUS_SECRET_KEYS=os.environ.get("JIRAPLUS_SECRET_KEYS", BENCH_KEY),
        DJANGO_SETTINGS_MODULE="jiraplus.settings",
        **{f"ORCHESTRATION_AGENTS_{phase}": "orchestration.agents.noop.NoopAgent" for phase in PHASES},
    )
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.utils import timezone

    from orchestration.models import AgentExecution, Event, Orchestration, PhaseExecution
    from orchestration.services import controls
    from sync.models import Issue, JiraSite, Project

    call_command("migrate", verbosity=0)
    call_command("flush", "--noinput", verbosity=0)
    redis.Redis.from_url(broker).flushdb()
    site = JiraSite.objects.create(
        name="bench", base_url="https://bench.example", email="b@e.x", api_token="t"
    )
    project = Project.objects.create(site=site, key="BENCH", jira_id=1)
    now = timezone.now()
    total = args.runs + 1 + args.load
    Issue.objects.bulk_create(
        Issue(
            site=site,
            project=project,
            jira_id=n,
            key=f"BENCH-{n}",
            summary=f"Issue {n}",
            created=now,
            updated=now,
        )
        for n in range(1, total + 1)
    )
    keys = [f"BENCH-{n}" for n in range(1, total + 1)]

    def run_to_end(key: str) -> float:
        started = time.perf_counter()
        orchestration = controls.orchestration_start(
            issue_key=key, auto_proceed=True, actor="bench"
        ).orchestration
        while not Orchestration.objects.filter(id=orchestration.id, status="SUCCEEDED").exists():
            time.sleep(0.005)
        return time.perf_counter() - started

    workers = [start_worker("bench1")]
    try:
        time.sleep(5)  # worker start-up, not measured
        run_to_end(keys.pop())  # warm-up: imports, connections
        latencies = sorted(run_to_end(keys.pop()) for _ in range(args.runs))
        print(
            f"1 worker, one orchestration end to end (6 transitions, noop agents), {args.runs} runs: "
            f"median {statistics.median(latencies):.3f}s, mean {statistics.mean(latencies):.3f}s, "
            f"max {latencies[-1]:.3f}s"
        )

        workers.append(start_worker("bench2"))
        time.sleep(5)
        load_keys = keys[: args.load]
        started = time.perf_counter()
        ids = [
            controls.orchestration_start(issue_key=k, auto_proceed=True).orchestration.id for k in load_keys
        ]
        deadline = time.monotonic() + 600
        while Orchestration.objects.filter(id__in=ids, status__in=["PENDING", "RUNNING"]).exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        statuses = Counter(Orchestration.objects.filter(id__in=ids).values_list("status", flat=True))
        executions = PhaseExecution.objects.filter(orchestration_id__in=ids)
        per_phase = Counter(executions.values_list("orchestration_id", "phase"))
        duplicates = sum(n - 1 for n in per_phase.values() if n > 1)
        multi_attempt = executions.exclude(attempt=1).count()
        agent_runs = AgentExecution.objects.filter(phase_execution__orchestration_id__in=ids).count()
        starts = Counter(
            Event.objects.filter(orchestration_id__in=ids, type="PHASE_STARTED").values_list(
                "payload__key", flat=True
            )
        )
        double_starts = sum(n - 1 for n in starts.values() if n > 1)
        by_worker = Counter(executions.values_list("worker", flat=True))
        print(
            f"2 workers, {args.load} orchestrations: {wall:.2f}s wall, "
            f"{args.load / wall:.1f} orchestrations/s ({5 * args.load / wall:.0f} phases/s); "
            f"statuses {dict(statuses)}; duplicate phase executions {duplicates}, "
            f"executions with more than one attempt {multi_attempt}, "
            f"phases started twice {double_starts}, agent runs {agent_runs} (expected {5 * args.load}); "
            f"phases by worker {sorted(by_worker.values())}"
        )

        time.sleep(2)  # let the last acks settle
        trees = [process_tree(w.pid) for w in workers]
        before = [cpu_seconds(t) for t in trees]
        time.sleep(args.idle_seconds)
        after = [cpu_seconds(t) for t in trees]
        idle = [100 * (b - a) / args.idle_seconds for a, b in zip(before, after, strict=True)]
        print(
            f"idle over {args.idle_seconds:.0f}s: worker CPU "
            + ", ".join(f"{p:.1f}%" for p in idle)
            + " of one core (main process + pool child each)"
        )
        ok = statuses == Counter({"SUCCEEDED": args.load}) and duplicates == 0 and double_starts == 0
        return 0 if ok else 1
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
